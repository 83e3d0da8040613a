"""Paired comparisons between the cells of a study that share their units (``paired.csv``, ``paired.json``).

Two cells are paired when each unit of one has the same unit in the other; the difference of their
scores unit by unit is then free of the between-unit spread. Three families:

===================  ======================================================  ==============================
family               unit (cells must share the design keys given)           score per unit
===================  ======================================================  ==============================
``bell answers``     (context, trial, answer index, option order); Bell       ``4 s_c a b`` (``s_c`` = -1 on
                     sample mode, same prompt, seed, trials, order,           the minus context): its mean
                     n_per_call                                               is the signed S
``classify folds``   (fold, seed) of the same model name; quantum-classify    the cell's metric (accuracy
                     cells with the same data, classes, folds, seeds, seed     or F1) on that split
``entangle layers``  tensor name; entangle cells of one kind with the same     valley depth (nats) of that
                     layer selection, site order and factor order              tensor's entanglement profile
===================  ======================================================  ==============================

Each pair gets the two-sided tests of :func:`probe.analysis.paired.paired_compare` (exact Wilcoxon
signed-rank, sign, paired t; for folds also the Nadeau-Bengio corrected resampled t, since k-fold
splits share training data). ``estimate`` is the mean paired difference A - B (for Bell answers:
S_A - S_B when contexts are balanced) with a Student-t 95% interval, ``mean(d) ± t_{0.975, n-1}
sd(d) / sqrt(n)``. Holm's step-down adjustment (``p_holm``) runs across the comparisons of one
family within each test. Cells whose differences are all zero (the same answers) get ``p = 1`` in
every test and the estimate 0 [0, 0]: no test can see a difference that is not there.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from probe.io import atomic_write_text

BELL_KEYS = ("prompt", "seed", "trials", "order", "n_per_call", "mode")
CLASSIFY_KEYS = ("data", "classes", "label_column", "folds", "seeds", "seed", "metric")
ENTANGLE_KEYS = ("layers", "order", "factors", "base")
MIN_PAIRS = 3
"""Fewest shared units a comparison needs (paired_compare's minimum)."""

COLUMNS = ("family", "unit", "a", "b", "n", "test", "statistic", "df", "p_value", "p_holm", "estimate",
           "ci_low", "ci_high", "mean_a", "mean_b", "d_z", "d_z_ci_low", "d_z_ci_high", "alternative", "note")


def _result(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "result.json").read_text())["result"]


def bell_scores(folder: Path) -> dict[tuple[Any, ...], float]:
    """Valid answers of a Bell cell as (context, trial, answer index, order) -> 4 s_c a b."""
    from probe.io import read_jsonl

    minus = _result(folder).get("minus_on", "AB")
    out = {}
    for row in read_jsonl(folder / "trials.jsonl").records:
        if row.get("kind") != "answer" or not row.get("valid") or row.get("a") is None:
            continue
        sign = -1.0 if row["context"] == minus else 1.0
        out[(row["context"], row.get("trial"), row.get("answer_index"), tuple(row.get("order") or ()))] = \
            4.0 * sign * row["a"] * row["b"]
    return out


def classify_scores(folder: Path, metric: str) -> dict[str, dict[tuple[Any, ...], tuple[float, float, float]]]:
    """A quantum-classify cell's score rows as model -> (fold, seed) -> (metric, n_train, n_test)."""
    out: dict[str, dict[tuple[Any, ...], tuple[float, float, float]]] = {}
    for row in _result(folder).get("scores") or []:
        value = row.get(metric)
        if isinstance(value, int | float) and math.isfinite(float(value)):
            out.setdefault(str(row["model"]), {})[(row.get("fold"), row.get("seed"))] = (
                float(value), float(row.get("n_train") or math.nan), float(row.get("n_test") or math.nan))
    return out


def entangle_scores(folder: Path) -> dict[str, float]:
    """An entangle cell's layers as tensor name -> valley depth (nats)."""
    out = {}
    for layer in _result(folder).get("layers") or []:
        depth = (layer.get("valley") or {}).get("depth")
        if isinstance(depth, int | float) and math.isfinite(float(depth)):
            out[str(layer["name"])] = float(depth)
    return out


def _same(sa: dict[str, Any], sb: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return all(sa.get(k) == sb.get(k) for k in keys)


def _candidates(study_dir: Path, rows: list[dict[str, Any]], doc: dict[str, Any]
                ) -> Iterator[tuple[str, str, str, str, list[float], list[float], dict[str, float]]]:
    """(family, unit, a, b, scores a, scores b, extra) for every pair of cells that share units."""
    settings = {c["id"]: c.get("settings") or {} for c in doc["cells"]}
    done = [r for r in rows if r.get("state") == "done" and (study_dir / "cells" / r["cell"] / "result.json").is_file()]
    bell = [r for r in done if r["experiment"] == "bell" and settings[r["cell"]].get("mode") == "sample"]
    for a, b in itertools.combinations(bell, 2):
        if not _same(settings[a["cell"]], settings[b["cell"]], BELL_KEYS):
            continue
        xa, xb = bell_scores(study_dir / "cells" / a["cell"]), bell_scores(study_dir / "cells" / b["cell"])
        keys = sorted(set(xa) & set(xb), key=str)
        yield ("bell answers", "answer (context, trial, option order)", a["cell"], b["cell"],
               [xa[k] for k in keys], [xb[k] for k in keys], {})
    classify = [r for r in done if r["experiment"] == "quantum-classify"]
    for a, b in itertools.combinations(classify, 2):
        sa, sb = settings[a["cell"]], settings[b["cell"]]
        if not _same(sa, sb, CLASSIFY_KEYS):
            continue
        metric = sa.get("metric") or "accuracy"
        xa = classify_scores(study_dir / "cells" / a["cell"], metric)
        xb = classify_scores(study_dir / "cells" / b["cell"], metric)
        common = [m for m in xa if m in xb]
        if not common:
            yield ("classify folds", "no model in common", a["cell"], b["cell"], [], [], {})
        for model in common:
            keys = sorted(set(xa[model]) & set(xb[model]), key=str)
            n_train = [xa[model][k][1] for k in keys]
            n_test = [xa[model][k][2] for k in keys]
            extra = ({"n_train": sum(n_train) / len(n_train), "n_test": sum(n_test) / len(n_test)}
                     if keys and all(math.isfinite(v) for v in (*n_train, *n_test)) else {})
            yield ("classify folds", f"{metric} per (fold, seed)", f"{a['cell']}:{model}", f"{b['cell']}:{model}",
                   [xa[model][k][0] for k in keys], [xb[model][k][0] for k in keys], extra)
    entangle = [r for r in done if r["experiment"].startswith("entangle-") and r["experiment"] != "entangle-random"]
    for a, b in itertools.combinations(entangle, 2):
        if a["experiment"] != b["experiment"] or not _same(settings[a["cell"]], settings[b["cell"]], ENTANGLE_KEYS):
            continue
        xa, xb = entangle_scores(study_dir / "cells" / a["cell"]), entangle_scores(study_dir / "cells" / b["cell"])
        keys = sorted(set(xa) & set(xb))
        yield ("entangle layers", "valley depth (nats) per tensor", a["cell"], b["cell"],
               [xa[k] for k in keys], [xb[k] for k in keys], {})


def _mean_interval(d: Any) -> tuple[float, float, float]:
    """Mean of the differences with a Student-t 95% interval (n >= 2)."""
    import numpy as np
    from scipy import stats

    mean = float(np.mean(d))
    sd = float(np.std(d, ddof=1))
    half = float(stats.t.ppf(0.975, d.size - 1)) * sd / math.sqrt(d.size)
    return mean, mean - half, mean + half


def paired_table(study_dir: str | Path, rows: list[dict[str, Any]], doc: dict[str, Any]) -> tuple[Any, list[str]]:
    """Every paired comparison of the study (module docstring): a tidy frame with :data:`COLUMNS`, one row
    per (comparison, test), and one note per pair of cells that share a design but could not be compared."""
    import numpy as np
    import pandas as pd

    from probe.analysis.multiple_comparisons import holm
    from probe.analysis.paired import paired_compare
    from probe.errors import DataError

    out: list[dict[str, Any]] = []
    notes: list[str] = []
    for family, unit, a, b, xa, xb, extra in _candidates(Path(study_dir), rows, doc):
        if unit == "no model in common":
            notes.append(f"{a} vs {b}: same folds, but no model name in common: not compared")
            continue
        if len(xa) < MIN_PAIRS:
            notes.append(f"{a} vs {b}: {len(xa)} shared unit(s), fewer than {MIN_PAIRS}: not compared")
            continue
        va, vb = np.asarray(xa, float), np.asarray(xb, float)
        d = va - vb
        base = {"family": family, "unit": unit, "a": a, "b": b, "n": int(d.size), "mean_a": float(va.mean()),
                "mean_b": float(vb.mean()), "alternative": "two-sided"}
        if not np.any(d):
            for test in ("wilcoxon", "sign", "paired-t"):
                out.append({**base, "test": test, "statistic": 0.0, "df": math.nan, "p_value": 1.0, "estimate": 0.0,
                            "ci_low": 0.0, "ci_high": 0.0, "d_z": math.nan, "d_z_ci_low": math.nan,
                            "d_z_ci_high": math.nan, "note": "every paired difference is zero"})
            continue
        try:
            c = paired_compare(va, vb, alternative="two-sided", name_a=a, name_b=b,
                               n_train=round(extra["n_train"]) if "n_train" in extra else None,
                               n_test=round(extra["n_test"]) if "n_test" in extra else None)
        except (DataError, ValueError, FloatingPointError) as exc:
            notes.append(f"{a} vs {b} ({d.size} pairs): not compared ({exc})")
            continue
        mean, lo, hi = _mean_interval(d)
        note = "; ".join(c.warnings)
        for t in c.tests:
            out.append({**base, "test": t.test, "statistic": t.statistic, "df": t.df, "p_value": t.p_value,
                        "estimate": mean, "ci_low": lo, "ci_high": hi, "d_z": c.effect.d_z,
                        "d_z_ci_low": c.effect.ci_low, "d_z_ci_high": c.effect.ci_high, "note": note})
    frame = pd.DataFrame(out, columns=list(COLUMNS))
    if not frame.empty:
        frame["p_holm"] = frame["p_value"]
        for _, idx in frame.groupby(["family", "test"]).groups.items():
            frame.loc[idx, "p_holm"] = holm(frame.loc[idx, "p_value"].to_numpy(np.float64))
    return frame, notes


def write_paired(study_dir: str | Path, frame: Any, notes: list[str]) -> list[Path]:
    """``paired.csv`` (the frame) and ``paired.json`` (``{"schema", "comparisons": [...], "notes": [...]}``)."""
    from probe._results import jsonable

    study_dir = Path(study_dir)
    records = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
               for r in frame.to_dict("records")]
    doc = {"schema": "probe-study-paired/1", "alternative": "two-sided",
           "adjustment": "Holm within each family and test", "comparisons": jsonable(records), "notes": notes}
    return [atomic_write_text(study_dir / "paired.csv", frame.to_csv(index=False)),
            atomic_write_text(study_dir / "paired.json", json.dumps(doc, indent=2) + "\n")]


__all__ = ["BELL_KEYS", "CLASSIFY_KEYS", "COLUMNS", "ENTANGLE_KEYS", "bell_scores", "classify_scores",
           "entangle_scores", "paired_table", "write_paired"]
