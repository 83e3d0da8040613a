"""The index page: every run and study under the folder, sortable and filterable in the browser.

The table is plain HTML (it reads without a script); ``assets/view.js`` sorts it by the
``data-sort`` value of a column and filters it by experiment, state and free text.
"""

from __future__ import annotations

from collections.abc import Sequence

from probe.view.html import esc, link, num, page, table, tag, td, td_text
from probe.view.scan import StudyEntry
from probe.view.summary import RunSummary, estimate_html

HEADER = ["folder", "kind", "experiment", "model", "reported version", "date", "settings", "main estimate",
          "P(S > 2)", "CNT1", "verdict", "invalid", "calls", "cost (USD)", "cassette"]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def run_row(s: RunSummary, href: str | None) -> list[str]:
    est = s.estimate
    name = link(href, s.rel) if href else esc(s.rel)
    if s.state != "done":
        note = s.error or ("no result.json yet (running or stopped)" if s.state == "incomplete" else "")
        return [td(name, s.rel), td_text(s.state, s.state), td_text("–", ""), td_text("–", ""), td_text("–", ""),
                td_text("–", ""), td(tag("small", esc(note)), note), *[td_text("–", "") for _ in range(8)]]
    calls = "–" if s.calls is None else f"{s.calls}" + (f" ({s.cached} replayed)" if s.cached else "")
    return [
        td(name, s.rel),
        td_text("cell" if s.study else "run", "cell" if s.study else "run"),
        td_text(s.experiment, s.experiment),
        td_text(s.subject, s.subject),
        td_text(s.model_version or "–", s.model_version or ""),
        td_text((s.created or "–")[:16].replace("T", " "), s.created or "", class_="date"),
        td(tag("small", esc(s.settings)), s.settings, class_="settings"),
        td(estimate_html(est), est.value if est else None),
        td_text(num(s.p_s_gt_2), s.p_s_gt_2),
        td_text(num(s.cnt1), s.cnt1),
        td_text(s.verdict or "–", s.verdict or ""),
        td_text(_pct(s.invalid_rate), s.invalid_rate),
        td_text(calls, s.calls),
        td_text(num(s.cost_usd, 4), s.cost_usd),
        td(tag("code", esc(s.cassette_hash or "–")), s.cassette_hash or ""),
    ]


def study_row(study: StudyEntry, href: str, cells: Sequence[RunSummary]) -> list[str]:
    meta = study.meta
    experiments = sorted({c.experiment for c in cells if c.experiment})
    states = {}
    for c in cells:
        states[c.state] = states.get(c.state, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(states.items())) or "no cells yet"
    calls = sum(c.calls or 0 for c in cells)
    cost = sum(c.cost_usd for c in cells if c.cost_usd is not None) if any(c.cost_usd is not None for c in cells) else None
    name = meta.get("name") or meta.get("title") or study.rel
    return [
        td(link(href, study.rel), study.rel), td_text("study", "study"),
        td_text(", ".join(experiments) or meta.get("kind") or "–", ", ".join(experiments)),
        td_text(f"{len(cells)} cells: {name}", name), td_text("–", ""),
        td_text(str(meta.get("created") or "–")[:16].replace("T", " "), meta.get("created") or ""),
        td(tag("small", esc(summary if not study.error else study.error)), summary),
        td_text("see the study page", None), td_text("–", None), td_text("–", None), td_text("–", ""),
        td_text("–", None), td_text(calls, calls), td_text(num(cost, 4), cost),
        td(tag("code", esc(str(meta.get("manifest_sha256") or meta.get("hash") or "–")[:12])), ""),
    ]


def index_page(runs: Sequence[tuple[RunSummary, str | None]], studies: Sequence[tuple[StudyEntry, str, list[RunSummary]]],
               *, title: str, built: str) -> str:
    """The whole index page (``runs``: summaries with the href of their page)."""
    rows, extra = [], []
    for study, href, cells in studies:
        rows.append(study_row(study, href, cells))
        extra.append({"data_experiment": "study", "data_state": "study", "class_": "study"})
    for s, href in runs:
        rows.append(run_row(s, href))
        extra.append({"data_experiment": s.experiment or "", "data_state": s.state,
                      "class_": None if s.state == "done" else s.state})
    experiments = sorted({s.experiment for s, _ in runs if s.experiment} | ({"study"} if studies else set()))
    states = sorted({s.state for s, _ in runs} | ({"study"} if studies else set()))

    def select(name: str, values: list[str]) -> str:
        opts = tag("option", "all", value="") + "".join(tag("option", esc(v), value=v) for v in values)
        return tag("label", f"{esc(name)} " + tag("select", opts, data_filter=name, data_table="runs"))

    filters = tag("div", select("experiment", experiments) + select("state", states)
                  + tag("label", "text " + tag("input", type="search", data_filter="text", data_table="runs",
                                               placeholder="model, setting, verdict…"))
                  + tag("span", "", class_="count", data_count_for="runs"), class_="filters")
    n_runs = sum(1 for s, _ in runs if s.state == "done")
    intro = tag("p", f"{n_runs} finished runs, {len(runs) - n_runs} others, {len(studies)} studies; built {esc(built)}. "
                     "Click a column header to sort; the main estimate sorts by its value.")
    body = tag("h1", esc(title)) + intro + filters + table(HEADER, rows, id_="runs", row_attrs=extra, class_="index")
    return page(title=title, body=body, up="", kind="index")


__all__ = ["HEADER", "index_page", "run_row", "study_row"]
