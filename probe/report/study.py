"""The study report (``probe study``, ``probe report STUDY_DIR``), built from the study folder alone.

Writes ``study.parquet`` / ``study.csv`` (one row per cell, :mod:`probe.report.study_table`), ``report.md``
and, as PNG + SVG through :func:`probe.report.format.save_figures`:

* ``forest``: the main estimate of every cell with its 95% interval (SE x 1.96 where only an SE
  is known; exact values have none), grouped by experiment; for Bell, lines at the local bound
  2 and Tsirelson's 2*sqrt(2);
* ``bell_temperature`` (when Bell cells vary in temperature): S against temperature, one line per
  model, with the same two bounds.

Paired comparisons (:mod:`probe.report.study_pairs`): cells that share their units (Bell answers
asked the same trials; quantum-classify cells on the same folds; entangle cells over the same tensors)
are compared unit by unit with the two-sided paired tests of :func:`probe.analysis.paired.paired_compare`,
Holm-adjusted across each family within each test, and written to ``paired.csv`` / ``paired.json``
beside the study table.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from probe.io import atomic_write_text
from probe.report.format import fmt, fmt_p, markdown_table, new_figure, save_figures

TSIRELSON = 2 * math.sqrt(2)


def _interval(row: dict[str, Any]) -> tuple[float | None, float | None]:
    if row.get("ci_low") is not None and row.get("ci_high") is not None:
        return row["ci_low"], row["ci_high"]
    if row.get("se") is not None and row.get("estimate") is not None:
        return row["estimate"] - 1.96 * row["se"], row["estimate"] + 1.96 * row["se"]
    return None, None


def _label(row: dict[str, Any], axes: list[str]) -> str:
    parts = [f"{k}={str(row[k]).removesuffix('.toml')}" for k in axes if row.get(k) is not None]
    return ", ".join(parts) if parts else row["cell"]


def _tick_labels(group: list[dict[str, Any]], axes: list[str]) -> list[str]:
    """``model | axis=value, ...`` per row, naming only the axes that vary among the rows of the same model
    (a people row or a cell of its own is named by its model alone; cells are told apart by what differs)."""
    others = [a for a in axes if a != "model"]
    by_model: dict[str, list[dict[str, Any]]] = {}
    for r in group:
        by_model.setdefault(r.get("model") or "", []).append(r)
    varying = {m: [a for a in others if len({str(r.get(a)) for r in rs}) > 1] for m, rs in by_model.items()}
    labels = []
    for r in group:
        model = r.get("model") or ""
        parts = [f"{k}={str(r[k]).removesuffix('.toml')}" for k in varying[model] if r.get(k) is not None]
        labels.append(" | ".join(x for x in (model, ", ".join(parts)) if x) or r["cell"])
    return labels


def forest(rows: list[dict[str, Any]], axes: list[str], stem: Path) -> list[Path]:
    """Forest plot of the main estimate per cell with 95% intervals: one panel per estimand (S, B, ...)."""
    shown = [r for r in rows if r.get("estimate") is not None]
    if not shown:
        return []
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(shown, key=lambda r: (r["experiment"], r.get("model") or "", _label(r, axes))):
        groups.setdefault(r.get("estimand") or "estimate", []).append(r)
    heights = [len(g) + 1.2 for g in groups.values()]
    ticks = {k: _tick_labels(g, axes) for k, g in groups.items()}
    longest = max(len(t) for ts in ticks.values() for t in ts)
    fig, axs = new_figure(len(groups), 1, figsize=(4.5 + 0.055 * longest, 0.42 * sum(heights) + 0.9),
                          squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, (estimand, group) in zip(axs[:, 0], groups.items(), strict=True):
        ys = list(range(len(group)))[::-1]
        for y, r in zip(ys, group, strict=True):
            lo, hi = _interval(r)
            if lo is not None:
                ax.plot([lo, hi], [y, y], color="tab:blue", lw=1.6)
            ax.plot([r["estimate"]], [y], "o", color="tab:blue" if lo is not None else "tab:gray", ms=5)
        ax.set_yticks(ys, ticks[estimand], fontsize=7)
        ax.set_ylim(-0.7, len(group) - 0.3)
        if estimand == "S":
            for x, name, ls in ((2.0, "local bound 2", "--"), (TSIRELSON, "Tsirelson 2√2", ":")):
                ax.axvline(x, color="gray", ls=ls, lw=0.9, label=name)
            ax.legend(fontsize=7, loc="best")
        ax.set_xlabel(f"{estimand} (95% interval, else ±1.96 SE; a dot alone: no uncertainty)", fontsize=8)
    fig.tight_layout()
    return save_figures(fig, stem)


def bell_temperature(rows: list[dict[str, Any]], stem: Path) -> list[Path]:
    """S against temperature, one line per model (and prompt), with the bounds 2 and 2√2."""
    bell = [r for r in rows if r["experiment"] == "bell" and r.get("estimate") is not None
            and r.get("temperature") is not None]
    if len({r["temperature"] for r in bell}) < 2:
        return []
    fig, ax = new_figure(figsize=(6.0, 4.0))
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in bell:
        groups.setdefault(f"{r['model']} {r.get('prompt') or ''}".strip(), []).append(r)
    for name, rs in sorted(groups.items()):
        rs.sort(key=lambda r: r["temperature"])
        t = [r["temperature"] for r in rs]
        s = [r["estimate"] for r in rs]
        err = [[r["estimate"] - (_interval(r)[0] or r["estimate"]) for r in rs],
               [(_interval(r)[1] or r["estimate"]) - r["estimate"] for r in rs]]
        ax.errorbar(t, s, yerr=err, marker="o", capsize=3, label=name)
    ax.axhline(2.0, color="gray", ls="--", lw=0.8, label="local bound 2")
    ax.axhline(TSIRELSON, color="gray", ls=":", lw=0.8, label="Tsirelson 2√2")
    ax.set_xlabel("temperature")
    ax.set_ylabel("S")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figures(fig, stem)


def paired_comparisons(study_dir: Path, rows: list[dict[str, Any]], doc: dict[str, Any]) -> tuple[Any, list[str]]:
    """Every paired comparison between cells that share trials, folds or layers
    (:func:`probe.report.study_pairs.paired_table`): the tidy table and one note per pair that shares a
    design but could not be compared, with the reason (a pair is never dropped silently)."""
    from probe.report.study_pairs import paired_table

    return paired_table(study_dir, rows, doc)


def methods(doc: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """One paragraph: the design, then every cell with its model version and date."""
    done = [r for r in rows if r.get("state") == "done"]
    axes = sorted({k for c in doc["cells"] for k in (c.get("axes") or {})})
    parts = [f"Study {doc['name']!r} ({doc['experiment']}; manifest sha256 {doc['manifest_sha256'][:12]}) has "
             f"{len(rows)} cells over {', '.join(axes) or 'no axes'}; {len(done)} finished."]
    for r in rows:
        version = r.get("model_version") or r.get("model") or "no model"
        parts.append(f"{r['cell']}: {r['experiment']}, {r.get('model') or '-'} (version {version}), "
                     f"{(r.get('created') or 'not run')[:10]}, state {r.get('state')}.")
    return " ".join(parts)


def render_study(study_dir: str | Path) -> list[Path]:
    """Rebuild tables, figures and report.md of a study folder; returns the files written."""
    from probe.report.study_table import read_study, study_axes, study_rows, write_tables

    study_dir = Path(study_dir)
    doc = read_study(study_dir)
    rows = study_rows(study_dir)
    written = write_tables(study_dir)
    axes = study_axes(doc)
    written += forest(rows, axes, study_dir / "forest")
    temperature = bell_temperature(rows, study_dir / "bell_temperature")
    written += temperature
    header = ["cell", "model", *[a for a in axes if a != "model"], "estimand", "estimate", "SE", "95% interval",
              "N", "invalid", "state", "cost $"]
    table = []
    for r in rows:
        lo, hi = _interval(r)
        table.append([r["cell"], r.get("model") or "–", *[r.get(a) for a in axes if a != "model"],
                      r.get("estimand") or "–", fmt(r.get("estimate")), fmt(r.get("se")),
                      f"[{fmt(lo)}, {fmt(hi)}]" if lo is not None else "–", r.get("n") or "–",
                      fmt(r.get("invalid_rate")) if r.get("invalid_rate") is not None else "–", r.get("state"),
                      fmt(r.get("cost_usd"), 4) if r.get("cost_usd") else "–"])
    lines = [f"# Study {doc['name']}", "", f"{len(rows)} cells of `{doc['experiment']}` from "
             f"`{Path(doc['manifest_path']).name}`; one run folder per cell under `cells/`. Table: "
             "`study.parquet`, `study.csv`.", "", markdown_table(header, table), ""]
    if any(r.get("estimate") is not None for r in rows):
        lines += ["![forest plot](forest.png)", ""]
    if temperature:
        lines += ["![S against temperature](bell_temperature.png)", ""]
    pairs, pair_notes = paired_comparisons(study_dir, rows, doc)
    from probe.report.study_pairs import write_paired

    written += write_paired(study_dir, pairs, pair_notes)
    lines += ["## Paired comparisons", ""]
    if len(pairs):
        lines += ["Cells that share their units, compared unit by unit (`paired.csv`, `paired.json`): Bell answers "
                  "to the same trials (context, trial, option order; paired score 4·s·a·b, whose mean is the signed "
                  "S), classifiers on the same folds, entanglement profiles of the same tensors (valley depth). "
                  "Estimate: mean difference A − B with a Student-t 95% interval; two-sided tests, Holm-adjusted "
                  "across each family within each test.", "",
                  markdown_table(["family", "A", "B", "n", "A − B", "95% interval", "test", "p", "p (Holm)", "d_z"],
                                 [[p["family"], p["a"], p["b"], p["n"], fmt(p["estimate"]),
                                   f"[{fmt(p['ci_low'])}, {fmt(p['ci_high'])}]", p["test"], fmt_p(p["p_value"]),
                                   fmt_p(p["p_holm"]), fmt(p["d_z"])]
                                  for p in pairs.to_dict("records")]), ""]
    elif not pair_notes:
        lines += ["No two cells share units (paired tests need Bell cells in sample mode with the same prompt, "
                  "seed, trials, option order and answers per request; classify cells on the same folds; or "
                  "entangle cells over the same tensors).", ""]
    lines += [f"- {note}" for note in pair_notes] + ([""] if pair_notes else [])
    lines += ["## Methods", "", methods(doc, rows), ""]
    written.append(atomic_write_text(study_dir / "report.md", "\n".join(lines)))
    return written


__all__ = ["bell_temperature", "forest", "methods", "paired_comparisons", "render_study"]
