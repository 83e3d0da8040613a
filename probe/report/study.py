"""The study report (``probe study``, ``probe report STUDY_DIR``), built from the study folder alone.

Writes ``study.parquet`` / ``study.csv`` (one row per cell, :mod:`probe.report.study_table`), ``report.md``
and, as PNG + SVG through :func:`probe.report.format.save_figures`:

* ``forest``: the main estimate of every cell with its 95% interval (SE x 1.96 where only an SE
  is known; exact values have none), grouped by experiment; for Bell, lines at the local bound
  2 and Tsirelson's 2*sqrt(2);
* ``bell_temperature`` (when Bell cells vary in temperature): S against temperature, one line per
  model, with the same two bounds.

Paired comparisons: Bell cells in sample mode that share their trial design (prompt, seed, trials,
option order, answers per request) asked the same trials (context, trial index, option order); each
valid answer pair gives the paired score ``4 s_c a b`` (``s_c`` = -1 on the minus context), whose
mean over a cell is its signed S when contexts are balanced. Wilcoxon signed-rank, sign and paired
t tests (:func:`probe.analysis.paired.paired_compare`, two-sided) with Holm's adjustment across the
family of comparisons (within each test).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from probe.io import atomic_write_text
from probe.report.format import fmt, fmt_p, markdown_table, new_figure, save_figures

TSIRELSON = 2 * math.sqrt(2)
PAIR_KEYS = ("prompt", "seed", "trials", "order", "n_per_call", "mode")


def _interval(row: dict[str, Any]) -> tuple[float | None, float | None]:
    if row.get("ci_low") is not None and row.get("ci_high") is not None:
        return row["ci_low"], row["ci_high"]
    if row.get("se") is not None and row.get("estimate") is not None:
        return row["estimate"] - 1.96 * row["se"], row["estimate"] + 1.96 * row["se"]
    return None, None


def _label(row: dict[str, Any], axes: list[str]) -> str:
    parts = [f"{k}={str(row[k]).removesuffix('.toml')}" for k in axes if row.get(k) is not None]
    return ", ".join(parts) if parts else row["cell"]


def forest(rows: list[dict[str, Any]], axes: list[str], stem: Path) -> list[Path]:
    """Forest plot of the main estimate per cell with 95% intervals: one panel per estimand (S, B, ...)."""
    shown = [r for r in rows if r.get("estimate") is not None]
    if not shown:
        return []
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(shown, key=lambda r: (r["experiment"], r.get("model") or "", _label(r, axes))):
        groups.setdefault(r.get("estimand") or "estimate", []).append(r)
    heights = [len(g) + 1.2 for g in groups.values()]
    fig, axs = new_figure(len(groups), 1, figsize=(7.0, 0.42 * sum(heights) + 0.6), squeeze=False,
                          gridspec_kw={"height_ratios": heights})
    for ax, (estimand, group) in zip(axs[:, 0], groups.items(), strict=True):
        ys = list(range(len(group)))[::-1]
        for y, r in zip(ys, group, strict=True):
            lo, hi = _interval(r)
            if lo is not None:
                ax.plot([lo, hi], [y, y], color="tab:blue", lw=1.6)
            ax.plot([r["estimate"]], [y], "o", color="tab:blue" if lo is not None else "tab:gray", ms=5)
        others = [a for a in axes if a != "model"]
        ax.set_yticks(ys, [(f"{r['model']} | " if r.get("model") else "") + _label(r, others) for r in group],
                      fontsize=7)
        ax.set_ylim(-0.7, len(group) - 0.3)
        if estimand == "S":
            for x, name in ((2.0, "local bound 2"), (TSIRELSON, "Tsirelson 2√2")):
                ax.axvline(x, color="gray", ls="--", lw=0.8)
                ax.text(x, 1.01, name, fontsize=7, ha="center", va="bottom", color="gray",
                        transform=ax.get_xaxis_transform())
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


def _paired_scores(folder: Path) -> dict[tuple[Any, ...], float]:
    """Valid answers of a Bell cell as (context, trial, answer index, order) -> 4 s_c a b."""
    from probe.io import read_jsonl

    result = json.loads((folder / "result.json").read_text())["result"]
    minus = result.get("minus_on", "AB")
    out = {}
    for row in read_jsonl(folder / "trials.jsonl").records:
        if row.get("kind") != "answer" or not row.get("valid") or row.get("a") is None:
            continue
        sign = -1.0 if row["context"] == minus else 1.0
        out[(row["context"], row.get("trial"), row.get("answer_index"), tuple(row.get("order") or ()))] = \
            4.0 * sign * row["a"] * row["b"]
    return out


def paired_comparisons(study_dir: Path, rows: list[dict[str, Any]], doc: dict[str, Any]) -> tuple[Any, list[str]]:
    """Paired tests between Bell sample-mode cells that asked the same trials (module docstring).

    Returns the tidy table (:func:`probe.analysis.paired.comparisons_frame`) and one note per pair that
    could not be compared, with the reason (a pair is never dropped silently)."""
    import numpy as np
    import pandas as pd

    from probe.analysis.paired import comparisons_frame, paired_compare
    from probe.errors import DataError

    settings = {c["id"]: c.get("settings") or {} for c in doc["cells"]}
    cells = [r for r in rows if r["experiment"] == "bell" and r.get("state") == "done"
             and settings[r["cell"]].get("mode") == "sample"]
    comparisons = []
    notes: list[str] = []
    for a, b in itertools.combinations(cells, 2):
        sa, sb = settings[a["cell"]], settings[b["cell"]]
        if any(sa.get(k) != sb.get(k) for k in PAIR_KEYS):
            continue
        xa = _paired_scores(study_dir / "cells" / a["cell"])
        xb = _paired_scores(study_dir / "cells" / b["cell"])
        keys = sorted(set(xa) & set(xb), key=str)
        if len(keys) < 5:
            continue
        try:
            comparisons.append(paired_compare(np.array([xa[k] for k in keys]), np.array([xb[k] for k in keys]),
                                              alternative="two-sided", name_a=a["cell"], name_b=b["cell"]))
        except (DataError, ValueError, FloatingPointError) as exc:  # e.g. every difference is zero
            notes.append(f"{a['cell']} vs {b['cell']} ({len(keys)} pairs): not compared ({exc})")
    return (comparisons_frame(comparisons) if comparisons else pd.DataFrame()), notes


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
    from probe.report.study_table import read_study, study_rows, write_tables

    study_dir = Path(study_dir)
    doc = read_study(study_dir)
    rows = study_rows(study_dir)
    written = write_tables(study_dir)
    axes = []
    for c in doc["cells"]:
        for k in c.get("axes") or {}:
            if k not in axes:
                axes.append(k)
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
    lines += ["## Paired comparisons", ""]
    if len(pairs):
        lines += ["Cells that asked the same trials (same context, trial and option order), paired score "
                  "4·s·a·b per answer; two-sided tests, Holm-adjusted across the family within each test.", "",
                  markdown_table(["A", "B", "n", "test", "p", "p (Holm)", "mean A", "mean B", "d_z"],
                                 [[p["a"], p["b"], p["n"], p["test"], fmt_p(p["p_value"]), fmt_p(p["p_holm"]),
                                   fmt(p["mean_a"]), fmt(p["mean_b"]), fmt(p["d_z"])]
                                  for p in pairs.to_dict("records")]), ""]
    elif not pair_notes:
        lines += ["No two cells share trials (paired tests need Bell cells in sample mode with the same prompt, "
                  "seed, trials, option order and answers per request).", ""]
    lines += [f"- {note}" for note in pair_notes] + ([""] if pair_notes else [])
    lines += ["## Methods", "", methods(doc, rows), ""]
    written.append(atomic_write_text(study_dir / "report.md", "\n".join(lines)))
    return written


__all__ = ["bell_temperature", "forest", "methods", "paired_comparisons", "render_study"]
