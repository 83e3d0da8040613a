"""The study table: one row per cell, built from the cells' run folders alone (and ``study.json``).

Columns: ``cell``, ``experiment``, ``model``, ``state``, the axis values, then the cell's main
estimate under common names (``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``, ``invalid_rate``,
``estimand``), the study's own headline numbers (``S``, ``S_odd``, ``CNT1``, ``B``, ``valley_depth``
...), ``model_version``, ``created``, ``calls`` and ``cost_usd``. Written as ``study.parquet`` and
``study.csv`` in the study folder.

Main estimates (what the forest plot shows):

========================  =========================================================  =============
experiment                estimate (uncertainty)                                     N
========================  =========================================================  =============
bell, bell-counts         CHSH S (SE, 95% interval; exact mode: none)                 valid answers
words, words-generate     Bose-Einstein B, bias-corrected (bootstrap 95% interval;    tokens
                          column B: the constraint fit, the papers' estimate)
entangle-*                mean valley depth over layers (SE)                          layers
quantum-classify          the first model's mean metric over splits (Nadeau-Bengio    splits
                          corrected SE)
quantum-*                 the first of accuracy / power / expressibility ... found    --
========================  =========================================================  =============
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from probe.errors import ConfigError, ProbeError
from probe.io import atomic_write_bytes, atomic_write_text
from probe.runs import read_document

SCHEMA = "probe-study/1"


def read_study(study_dir: str | Path) -> dict[str, Any]:
    """``study.json`` of a study folder."""
    path = Path(study_dir) / "study.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable study file ({exc})", hint="give a folder made by probe study") \
            from exc
    if doc.get("schema") != SCHEMA:
        raise ConfigError(f"{path}: schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    return doc


def _short(value: Any) -> Any:
    """A table-friendly setting: file paths by their name, lists joined."""
    if isinstance(value, list):
        return ",".join(str(_short(v)) for v in value)
    if isinstance(value, str) and value.startswith("/"):
        return value.rsplit("/", 1)[-1]
    return value


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x) if math.isfinite(float(x)) else None


def _ci(ci: Any) -> tuple[float | None, float | None]:
    if isinstance(ci, list | tuple) and len(ci) == 2:
        return _num(ci[0]), _num(ci[1])
    return None, None


def main_estimate(experiment: str, result: dict[str, Any]) -> dict[str, Any]:
    """The cell's main estimate with its uncertainty and N (see the module docstring)."""
    row: dict[str, Any] = {"estimand": None, "estimate": None, "se": None, "ci_low": None, "ci_high": None,
                           "n": None, "invalid_rate": None}
    if experiment in ("bell", "bell-counts"):
        lo, hi = _ci(result.get("S_ci95"))
        n = result.get("n_total")
        if n is None and isinstance(result.get("n"), dict):
            n = sum(v for v in result["n"].values() if isinstance(v, int))
        invalid = result.get("invalid")
        rate = None
        if isinstance(invalid, dict) and isinstance(result.get("n"), dict):
            bad = sum(v for v in invalid.values() if isinstance(v, int))
            good = sum(v for v in result["n"].values() if isinstance(v, int))
            rate = bad / (bad + good) if bad + good else None
        cbd = result.get("cbd") or {}
        row.update(estimand="S", estimate=_num(result.get("S")), se=_num(result.get("S_se")), ci_low=lo,
                   ci_high=hi, n=n, invalid_rate=rate, S=_num(result.get("S")), S_odd=_num(result.get("S_odd")),
                   CNT1=_num(cbd.get("cnt1")), p_S_gt_2=_num(result.get("p_s_gt_2")),
                   category=result.get("category"))
    elif experiment in ("words", "words-generate"):
        be = (result.get("fits") or {}).get("be") or {}
        lo, hi = _ci(be.get("B_ci95"))
        corrected = _num(be.get("B_bias_corrected"))  # the interval is built around it, not around B
        row.update(estimand="B" if corrected is None else "B (bias-corrected)",
                   estimate=_num(be.get("B")) if corrected is None else corrected, ci_low=lo, ci_high=hi,
                   n=result.get("n_tokens"), B=_num(be.get("B")), B_bias_corrected=corrected, A=_num(be.get("A")),
                   energy_exponent=_num((result.get("energy") or {}).get("exponent")),
                   preferred=result.get("preferred"), n_types=result.get("n_types"))
    elif experiment.startswith("entangle-"):
        summary = result.get("summary") or {}
        row.update(estimand="valley depth", estimate=_num(summary.get("valley_depth_mean")),
                   se=_num(summary.get("valley_depth_se")), n=summary.get("n_layers"),
                   valley_depth=_num(summary.get("valley_depth_mean")),
                   n_with_valley=summary.get("n_with_valley"),
                   peak_over_page=_num(summary.get("peak_over_page_mean")))
    elif experiment == "quantum-classify" and result.get("summary"):
        metric = result.get("metric") or "accuracy"
        first = result["summary"][0]  # the first model of the cell's list (every model is in paired.csv)
        row.update(estimand=f"{metric} ({first.get('model')})", estimate=_num(first.get(metric)),
                   se=_num(first.get(f"{metric}_se_corrected")), n=first.get("n_splits"))
    else:
        for key in ("accuracy", "mean_accuracy", "power", "entangling_power", "expressibility", "capability",
                    "mie", "mean"):
            value = _num(result.get(key))
            if value is not None:
                lo, hi = _ci(result.get(f"{key}_ci95"))
                row.update(estimand=key, estimate=value, se=_num(result.get(f"{key}_se")), ci_low=lo, ci_high=hi)
                break
    return row


def study_axes(doc: dict[str, Any]) -> list[str]:
    """The axes of a study.json's cells, in order of first appearance."""
    axes: list[str] = []
    for c in doc["cells"]:
        axes += [k for k in c.get("axes") or {} if k not in axes]
    return axes


def study_rows(study_dir: str | Path) -> list[dict[str, Any]]:
    """One dict per cell (see module docstring); cells without a result have only their settings."""
    study_dir = Path(study_dir)
    doc = read_study(study_dir)
    axes = study_axes(doc)
    rows = []
    for c in doc["cells"]:
        folder = study_dir / c["folder"]
        settings = c.get("settings") or {}
        model = settings.get("model") or (f"counts:{settings.get('label', 'human')}"
                                          if c["experiment"] == "bell-counts" else "")
        row: dict[str, Any] = {"cell": c["id"], "experiment": c["experiment"], "model": model,
                               "state": c.get("state")}
        for k in axes:  # the axis value, else the cell's own setting of that name (extra cells)
            if k in (c.get("axes") or {}):
                row[k] = c["axes"][k]
            elif k not in row:
                row[k] = _short(settings.get(k))
        for k in ("temperature", "prompt", "mode", "seed", "trials"):
            if k in settings and k not in row:
                row[k] = settings[k] if k != "prompt" else str(settings[k]).rsplit("/", 1)[-1]
        result: dict[str, Any] = {}
        try:
            rdoc = read_document(folder) if (folder / "result.json").is_file() else None
        except ProbeError:
            rdoc = None
        if rdoc is not None:
            result = rdoc.get("result") or {}
            run = rdoc.get("run") or {}
            row["model_version"] = result.get("model_version")
            row["created"] = rdoc.get("created")
            row["calls"] = run.get("calls")
            row["cost_usd"] = run.get("cost_usd")
        row.update(main_estimate(c["experiment"], result))
        rows.append(row)
    return rows


def study_frame(study_dir: str | Path) -> Any:
    """The study table as a pandas DataFrame (one row per cell)."""
    import pandas as pd

    return pd.DataFrame(study_rows(study_dir))


def write_tables(study_dir: str | Path) -> list[Path]:
    """``study.parquet`` and ``study.csv`` (atomic writes); returns their paths."""
    import io

    study_dir = Path(study_dir)
    frame = study_frame(study_dir)
    for col in frame.columns:  # mixed-type object columns (e.g. an axis of numbers and strings) as text
        if frame[col].dtype == object:
            values = frame[col].dropna()
            if len({type(v) for v in values}) > 1:
                frame[col] = frame[col].map(lambda v: None if v is None else str(v))
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    parquet = atomic_write_bytes(study_dir / "study.parquet", buf.getvalue())
    csv = atomic_write_text(study_dir / "study.csv", frame.to_csv(index=False))
    return [parquet, csv]


__all__ = ["SCHEMA", "main_estimate", "read_study", "study_frame", "study_rows", "write_tables"]
