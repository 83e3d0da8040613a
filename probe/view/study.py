"""The page of one study folder: the study table, forest plot, comparisons between cells, links to each cell.

What it reads (issue 15's study folder): ``study.json`` (the manifest, its hash, the cells
and their states), ``study.csv`` (or ``study.parquet``: one row per cell, settings as
columns, every estimate with its uncertainty and N), the study report (``report.md``
and figures) when one has been written, and one run folder per cell. Each of them may
be missing: without ``study.csv`` the table is built from the cells' results; without a
figure the forest plot is drawn here; without the study's own comparisons the cells
that report one kind of estimate are compared pairwise as independent samples
(:func:`probe.analysis.differences.independent_differences`, Holm over the family).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from probe.analysis.differences import independent_differences
from probe.view.figures import forest_svg
from probe.view.html import esc, link, markdown, num, page, pretty_json, table, tag, td, td_text
from probe.view.pages import figures
from probe.view.scan import StudyEntry
from probe.view.summary import RunSummary, estimate_html, estimate_text

MAX_ALL_PAIRS = 12
"""Up to this many cells every pair is compared; beyond, each cell against the first."""

_CELL_COLUMNS = ("cell", "run", "path", "folder", "dir", "out", "id", "name")


def _cell_list(meta: dict[str, Any]) -> list[dict[str, Any]]:
    cells = meta.get("cells")
    if isinstance(cells, dict):
        return [{"id": k, **(v if isinstance(v, dict) else {"state": v})} for k, v in cells.items()]
    return [c for c in cells or [] if isinstance(c, dict)]


def _cell_key(cell: dict[str, Any]) -> str | None:
    for key in _CELL_COLUMNS:
        if cell.get(key):
            return str(cell[key]).rstrip("/").rsplit("/", 1)[-1]
    return None


def _read_table(path: Path) -> tuple[list[str], list[list[Any]]] | None:
    import pandas as pd

    try:
        if (path / "study.csv").is_file():
            frame = pd.read_csv(path / "study.csv")
        elif (path / "study.parquet").is_file():
            frame = pd.read_parquet(path / "study.parquet")
        else:
            return None
    except (OSError, ValueError, ImportError):
        return None
    frame = frame.astype(object).where(frame.notna(), None)
    return [str(c) for c in frame.columns], frame.values.tolist()


def _varying(cells: Sequence[RunSummary], docs: dict[str, dict[str, Any]]) -> list[str]:
    keys: dict[str, set[str]] = {}
    for c in cells:
        for k, v in ((docs.get(c.rel) or {}).get("settings") or {}).items():
            keys.setdefault(k, set()).add(repr(v))
    return [k for k, vals in keys.items() if len(vals) > 1]


def _study_table(study: StudyEntry, cells: Sequence[RunSummary], hrefs: dict[str, str],
                 docs: dict[str, dict[str, Any]]) -> str:
    read = _read_table(study.path)
    by_name = {c.rel.rsplit("/", 1)[-1]: c.rel for c in cells}
    if read is not None:
        header, rows = read
        link_col = next((i for i, h in enumerate(header) if h.lower() in _CELL_COLUMNS), None)
        html_rows = []
        for row in rows:
            cells_html = []
            for i, v in enumerate(row):
                name = str(v).rstrip("/").rsplit("/", 1)[-1] if v is not None else ""
                if i == link_col and name in by_name and by_name[name] in hrefs:
                    cells_html.append(td(link(hrefs[by_name[name]], v), v))
                else:
                    shown = num(v) if isinstance(v, float) else ("–" if v is None else v)
                    cells_html.append(td_text(shown, v))
            html_rows.append(cells_html)
        source = "study.csv" if (study.path / "study.csv").is_file() else "study.parquet"
        return tag("p", f"From <code>{source}</code>: one row per cell.") + table(header, html_rows, id_="study")
    varying = _varying(cells, docs)
    header = ["cell", *varying, "experiment", "model", "main estimate", "P(S > 2)", "CNT1", "verdict", "invalid",
              "calls"]
    html_rows = []
    for c in cells:
        settings = (docs.get(c.rel) or {}).get("settings") or {}
        est = c.estimate
        html_rows.append([td(link(hrefs[c.rel], c.rel.rsplit("/", 1)[-1]) if c.rel in hrefs else esc(c.rel), c.rel),
                          *[td_text(settings.get(k), settings.get(k)) for k in varying],
                          td_text(c.experiment, c.experiment), td_text(c.subject, c.subject),
                          td(estimate_html(est), est.value if est else None),
                          td_text(num(c.p_s_gt_2), c.p_s_gt_2), td_text(num(c.cnt1), c.cnt1),
                          td_text(c.verdict or "–", c.verdict or ""),
                          td_text("–" if c.invalid_rate is None else f"{100 * c.invalid_rate:.1f}%", c.invalid_rate),
                          td_text(c.calls, c.calls)])
    return (tag("p", "No study.csv yet: the table is built from the cells' result.json files.")
            + table(header, html_rows, id_="study"))


def _comparisons(meta: dict[str, Any], cells: Sequence[RunSummary]) -> str:
    given = meta.get("comparisons")
    if isinstance(given, list) and given and all(isinstance(g, dict) for g in given):
        header = list(dict.fromkeys(k for g in given for k in g))
        rows = [[td_text(num(g.get(k)) if isinstance(g.get(k), float) else g.get(k), g.get(k)) for k in header]
                for g in given]
        return tag("p", "The study's paired comparisons (study.json).") + table(header, rows, id_="comparisons")
    usable = [c for c in cells if c.estimate is not None and c.estimate.value is not None and c.estimate.se is not None
              and math.isfinite(c.estimate.se)]
    labels = {c.estimate.label for c in usable if c.estimate}
    if len(usable) < 2 or len(labels) != 1:
        return tag("p", "No comparison: fewer than two cells report one kind of estimate with a standard error.")
    names = [c.rel.rsplit("/", 1)[-1] for c in usable]
    values = [c.estimate.value for c in usable if c.estimate and c.estimate.value is not None]
    ses = [c.estimate.se for c in usable if c.estimate and c.estimate.se is not None]
    pairs = None if len(usable) <= MAX_ALL_PAIRS else [(i, 0) for i in range(1, len(usable))]
    diffs = independent_differences(names, values, ses, pairs=pairs)
    label = labels.pop()
    rows = [[td_text(d.first, d.first), td_text(d.second, d.second), td_text(num(d.difference), d.difference),
             td_text(num(d.se), d.se), td_text(f"[{num(d.ci95[0])}, {num(d.ci95[1])}]", d.ci95[0]),
             td_text(num(d.z), d.z), td_text(num(d.p_value, 4), d.p_value), td_text(num(d.p_holm, 4), d.p_holm)]
            for d in diffs]
    scope = "every pair of cells" if pairs is None else "each cell against the first"
    note = (f"Differences of {esc(label)} between cells ({scope}): independent-samples z on the difference, "
            "SE = √(SE₁² + SE₂²), two-sided p-values, Holm-adjusted over the family. The cells are treated as "
            "independent samples; cells that share trials, folds or seeds need the paired tests of the study report.")
    return tag("p", note) + table(["first", "second", f"Δ{label}", "SE", "95% interval", "z", "p-value",
                                   "p (Holm)"], rows, id_="comparisons")


def study_page(study: StudyEntry, cells: Sequence[RunSummary], *, hrefs: dict[str, str],
               docs: dict[str, dict[str, Any]], up: str) -> dict[str, str | bytes | Path]:
    """Every file of a study's folder in the site (``index.html`` first)."""
    meta = study.meta
    files: dict[str, str | bytes | Path] = {}
    name = str(meta.get("name") or meta.get("title") or study.rel)
    states = {}
    for cell in _cell_list(meta):
        states[str(cell.get("state") or cell.get("status") or "?")] = states.get(
            str(cell.get("state") or cell.get("status") or "?"), 0) + 1
    manifest = meta.get("manifest")
    manifest_path = meta.get("manifest_path") or meta.get("path") or (
        manifest.get("path") if isinstance(manifest, dict) else manifest if isinstance(manifest, str) else None)
    facts = [("manifest", manifest_path),
             ("manifest SHA-256", meta.get("manifest_sha256") or meta.get("hash")),
             ("kind", meta.get("kind") or meta.get("experiment")), ("created", meta.get("created")),
             ("cells", f"{len(cells)} run folders" + (f"; study.json: {', '.join(f'{n} {k}' for k, n in states.items())}"
                                                      if states else "")), ("folder", study.rel)]
    sections = [tag("h1", esc(f"Study: {name}")),
                tag("dl", "".join(tag("dt", esc(k)) + tag("dd", esc(v)) for k, v in facts if v), class_="facts")]
    if study.error:
        sections.append(tag("p", esc(study.error), class_="warning"))
    sections.append(tag("section", tag("h2", "Study table") + _study_table(study, cells, hrefs, docs), id="table"))
    figs = figures(study.path)
    items = []
    for stem, paths in figs:
        for p in paths:
            files[p.name] = p
        items.append(tag("figure", tag("img", src=paths[0].name, alt=f"figure {stem}")
                         + tag("figcaption", esc(stem))))
    if not figs:
        svg = forest_svg(cells, title=f"{name}: main estimate per cell")
        if svg is not None:
            files["forest.svg"] = svg
            items.append(tag("figure", tag("img", src="forest.svg", alt="forest plot")
                             + tag("figcaption", "forest plot of the cells' main estimates (95% intervals)")))
    if items:
        sections.append(tag("section", tag("h2", "Figures") + "".join(items), id="figures"))
    if (study.path / "report.md").is_file():
        sections.append(tag("section", tag("h2", "Study report") + tag(
            "div", markdown((study.path / "report.md").read_text(errors="replace")), class_="report"), id="report"))
    sections.append(tag("section", tag("h2", "Comparisons between cells") + _comparisons(meta, cells),
                        id="comparisons-section"))
    cell_states = {_cell_key(c): str(c.get("state") or c.get("status") or "") for c in _cell_list(meta)}
    items = [tag("li", (link(hrefs[c.rel], c.rel) if c.rel in hrefs else esc(c.rel))
                 + f" — {esc(c.state)}" + (f" (study.json: {esc(cell_states[k])})"
                                          if (k := c.rel.rsplit('/', 1)[-1]) in cell_states else "")
                 + (f": {esc(estimate_text(c.estimate))}" if c.estimate else "")) for c in cells]
    missing = [k for k in cell_states if k and k not in {c.rel.rsplit('/', 1)[-1] for c in cells}]
    items += [tag("li", f"{esc(k)} — no folder yet (study.json: {esc(cell_states[k])})") for k in missing]
    sections.append(tag("section", tag("h2", "Cells") + tag("ul", "".join(items)), id="cells"))
    sections.append(tag("section", tag("h2", "study.json") + pretty_json(meta), id="study-json"))
    for fname in ("study.csv", "report.md"):
        if (study.path / fname).is_file():
            files[fname] = study.path / fname
    files = {"index.html": page(title=f"study {name}", up=up, kind="study", body="".join(sections),
                                crumbs=[("", study.rel)]), **files}
    return files


__all__ = ["MAX_ALL_PAIRS", "study_page"]
