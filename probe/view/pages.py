"""The page of one run: its report (tables, figures, methods paragraph), result.json, trials and files.

A page is a mapping ``{file name: content}`` for its folder in the site: ``str`` for pages
written here, a :class:`~pathlib.Path` for a run-folder file copied as it is (text files
pass through the redaction of :mod:`probe.view.build`). Figures are the report's own
matplotlib figures (SVG where the renderer wrote one, else PNG), never redrawn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from probe.view.html import clean, esc, link, markdown, num, page, pretty_json, tag
from probe.view.scan import RunEntry, page_dir
from probe.view.summary import RunSummary, cassette_path, estimate_text
from probe.view.trials import cassette_page_body, read_trials, trials_section

FIGURE_SUFFIXES = (".svg", ".png", ".pdf")
TABLE_SUFFIXES = (".csv", ".tex")
COPIED = ("report.md", "run.json", "trials.jsonl", "stories.jsonl")


def figures(run_dir: Path) -> list[tuple[str, list[Path]]]:
    """(stem, files) of every figure: the report's SVG/PNG/PDF of one stem, SVG first."""
    stems: dict[str, list[Path]] = {}
    for p in sorted(run_dir.iterdir()):
        if p.is_file() and p.suffix in FIGURE_SUFFIXES:
            stems.setdefault(p.stem, []).append(p)
    out = []
    for stem, files in stems.items():
        files.sort(key=lambda p: FIGURE_SUFFIXES.index(p.suffix))
        if files[0].suffix != ".pdf":
            out.append((stem, files))
    return out


def _facts(s: RunSummary, doc: dict[str, Any]) -> str:
    host = doc.get("host") or {}
    rows = [("estimate", estimate_text(s.estimate)), ("verdict", s.verdict),
            ("P(S > 2 | data)", s.p_s_gt_2), ("CNT1", s.cnt1),
            ("invalid answers", None if s.invalid_rate is None else f"{100 * s.invalid_rate:.1f}%"),
            ("model", s.subject), ("reported version", s.model_version), ("created", s.created),
            ("probe", doc.get("probe_version")), ("elapsed (s)", doc.get("elapsed_s")),
            ("model calls", None if s.calls is None else f"{s.calls} ({s.cached or 0} replayed)"),
            ("cost (USD, est.)", s.cost_usd), ("cassette SHA-256", s.cassette_hash),
            ("host", ", ".join(f"{k} {v}" for k, v in host.items()) if host else None), ("folder", s.rel)]
    return tag("dl", "".join(tag("dt", esc(k)) + tag("dd", esc(num(v) if isinstance(v, float) else v))
                             for k, v in rows if v not in (None, "")), class_="facts")


def run_page(entry: RunEntry, summary: RunSummary, *, up: str) -> dict[str, str | Path]:
    """Every file of a run's folder in the site (``index.html`` first)."""
    assert entry.doc is not None
    doc = entry.doc
    files: dict[str, str | Path] = {}
    sections = [tag("h1", esc(f"{summary.experiment}: {summary.subject}")), _facts(summary, doc)]
    for warning in doc.get("warnings") or []:
        sections.append(tag("p", "<b>Caution:</b> " + esc(warning), class_="warning"))
    nav = [("report", "Report"), ("figures", "Figures"), ("trials", "Trials"), ("result", "result.json"),
           ("files", "Files")]
    report = entry.path / "report.md"
    if report.is_file():
        sections.append(tag("section", tag("h2", "Report") + tag("div", markdown(report.read_text(errors="replace")),
                                                                 class_="report"), id="report"))
    else:
        sections.append(tag("section", tag("h2", "Report") + tag(
            "p", f"No report.md in this folder; <code>probe report {esc(entry.path)}</code> rebuilds it."),
            id="report"))
    figs = figures(entry.path)
    if figs:
        items = []
        for stem, paths in figs:
            for p in paths:
                files[p.name] = p
            others = " ".join(link(p.name, p.suffix.lstrip(".").upper()) for p in paths)
            items.append(tag("figure", tag("img", src=paths[0].name, alt=f"figure {stem}", loading="lazy")
                             + tag("figcaption", f"{esc(stem)} · {others}")))
        sections.append(tag("section", tag("h2", "Figures") + "".join(items), id="figures"))
    trials = read_trials(entry.path, cassette_path(entry))
    if trials is not None and trials.rows:
        sections.append(tag("section", tag("h2", "Trials") + trials_section(trials), id="trials-section"))
        if trials.calls:
            files["cassette.html"] = page(
                title=f"cassette: {summary.rel}", up=up + "", kind="cassette",
                body=tag("h1", esc(f"Cassette lines of {summary.rel}")) + cassette_page_body(trials),
                crumbs=[("index.html", summary.rel), ("", "cassette")])
    else:
        nav.remove(("trials", "Trials"))
    sections.append(tag("section", tag("h2", "result.json") + tag("p", link("result.json", "raw file"))
                        + pretty_json(doc), id="result"))
    files["result.json"] = json.dumps(clean(doc), indent=2, ensure_ascii=False, default=str) + "\n"
    for p in sorted(entry.path.iterdir()):
        if p.is_file() and (p.suffix in TABLE_SUFFIXES or p.name in COPIED):
            files[p.name] = p
    listing = "".join(tag("li", link(name, name)) for name in sorted(files) if name != "index.html")
    sections.append(tag("section", tag("h2", "Files") + tag("ul", listing), id="files"))
    if not figs:
        nav.remove(("figures", "Figures"))
    menu = tag("nav", " · ".join(link(f"#{'trials-section' if a == 'trials' else a}", t) for a, t in nav),
               class_="sections")
    crumbs = [("", summary.rel)] if summary.study is None else [
        (f"{up}studies/{page_dir(summary.study)}/index.html", summary.study), ("", summary.rel)]
    files = {"index.html": page(title=f"{summary.experiment} {summary.subject} — {summary.rel}", up=up, kind="run",
                                body=menu + "".join(sections), crumbs=crumbs), **files}
    return files


__all__ = ["FIGURE_SUFFIXES", "figures", "run_page"]
