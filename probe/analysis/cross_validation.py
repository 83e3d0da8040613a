"""Cross-validation summaries: the Nadeau-Bengio corrected standard error, in one place.

Scores from (repeated) k-fold cross-validation share training data between
splits, so the J per-split scores are positively correlated and the naive
standard error ``sd / sqrt(J)`` is too small. Nadeau & Bengio (2003) correct the
variance of the mean by the test/train size ratio::

    se_corrected = sd * sqrt(1/J + n_test/n_train)

This module holds that formula (:func:`corrected_variance_factor`,
:func:`corrected_se`) and the per-model summary of a score table
(:func:`summarize_scores`); :func:`probe.analysis.paired.corrected_resampled_t`
uses the same factor for paired differences. Everything here is pure.

References
----------
Nadeau, C. & Bengio, Y. (2003). Inference for the generalization error. Machine
Learning 52, 239-281. Bouckaert, R. R. & Frank, E. (2004). Evaluating the
replicability of significance tests for comparing learning algorithms. PAKDD, 3-12.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from probe._types import ArrayLike
from probe.errors import DataError

__all__ = ["corrected_se", "corrected_variance_factor", "summarize_scores"]


def corrected_variance_factor(n_splits: int, *, n_train: float, n_test: float) -> float:
    """``1/J + n_test/n_train``: the Nadeau-Bengio factor that multiplies the sample variance.

    Parameters
    ----------
    n_splits : int
        J, the number of train/test splits (k folds x r repeats).
    n_train, n_test : float
        Sizes (samples) of each training and test set; means over splits when
        k-fold sizes differ by a row.

    Examples
    --------
    >>> round(corrected_variance_factor(10, n_train=120, n_test=30), 6)
    0.35
    """
    if n_splits < 1:
        raise DataError(f"n_splits must be at least 1, got {n_splits}")
    if not (n_train > 0 and n_test > 0):
        raise DataError(f"n_train and n_test must be positive, got {n_train} and {n_test}")
    return 1.0 / n_splits + float(n_test) / float(n_train)


def corrected_se(values: ArrayLike, *, n_train: float, n_test: float) -> float:
    """Nadeau-Bengio corrected standard error of the mean of J resampled scores (or differences).

    ``sd(values, ddof=1) * sqrt(1/J + n_test/n_train)``; NaN for J < 2.

    Examples
    --------
    >>> round(corrected_se([0.8, 0.9, 1.0], n_train=2, n_test=1), 6)  # sd 0.1, factor 1/3 + 1/2
    0.091287
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    factor = corrected_variance_factor(max(v.size, 1), n_train=n_train, n_test=n_test)
    if v.size < 2:
        return float("nan")
    return float(v.std(ddof=1)) * math.sqrt(factor)


def summarize_scores(scores: Any, *, metrics: Sequence[str] = ("accuracy", "f1"), by: str = "model",
                     n_train: str = "n_train", n_test: str = "n_test") -> list[dict[str, Any]]:
    """Mean, SD, naive and corrected standard error of each metric, per model.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per (model, split): columns ``by``, the ``metrics``, and the split
        sizes ``n_train`` / ``n_test``.
    metrics : sequence of str
    by : str
        Column that names the model; groups keep their order of first appearance.

    Returns
    -------
    list of dict
        Per model: ``{by: name, "n_splits": J, m: mean, m_sd, m_se (sd/sqrt J),
        m_se_corrected (Nadeau-Bengio)}`` for each metric ``m``. The ratio
        n_test/n_train is the ratio of the mean sizes over the model's splits.
    """
    missing = [c for c in (by, n_train, n_test, *metrics) if c not in scores.columns]
    if missing:
        raise DataError(f"score table has no column(s) {', '.join(missing)}",
                        hint=f"columns: {', '.join(map(str, scores.columns))}")
    out = []
    for name, group in scores.groupby(by, sort=False):
        j = len(group)
        mean_train, mean_test = float(group[n_train].mean()), float(group[n_test].mean())
        row: dict[str, Any] = {by: name, "n_splits": j}
        for metric in metrics:
            values = group[metric].to_numpy(np.float64)
            sd = float(values.std(ddof=1)) if j > 1 else float("nan")
            row[metric] = float(values.mean())
            row[f"{metric}_sd"] = sd
            row[f"{metric}_se"] = sd / math.sqrt(j)
            row[f"{metric}_se_corrected"] = corrected_se(values, n_train=mean_train, n_test=mean_test)
        out.append(row)
    return out
