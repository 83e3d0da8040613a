"""The Nadeau-Bengio corrected standard error and the per-model score summary (closed forms)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from probe.analysis.cross_validation import corrected_se, corrected_variance_factor, summarize_scores
from probe.analysis.paired import corrected_resampled_t
from probe.errors import DataError


def test_factor_and_se_closed_form():
    assert corrected_variance_factor(10, n_train=120, n_test=30) == pytest.approx(0.1 + 0.25)
    v = np.array([0.8, 0.9, 1.0])
    assert corrected_se(v, n_train=2, n_test=1) == pytest.approx(0.1 * math.sqrt(1 / 3 + 1 / 2))
    assert math.isnan(corrected_se([0.9], n_train=2, n_test=1))
    # with a vanishing test share it is the naive standard error
    assert corrected_se(v, n_train=1e12, n_test=1) == pytest.approx(0.1 / math.sqrt(3))
    with pytest.raises(DataError):
        corrected_variance_factor(3, n_train=0, n_test=1)


def test_corrected_t_is_mean_over_the_corrected_se():
    d = np.array([0.02, 0.01, 0.03, -0.01, 0.02, 0.04])
    t = corrected_resampled_t(d, n_train=80, n_test=20)
    assert t.statistic == pytest.approx(d.mean() / corrected_se(d, n_train=80, n_test=20))


def test_summary_per_model_keeps_order_and_uses_mean_sizes():
    scores = pd.DataFrame({"model": ["b", "b", "b", "a", "a", "a"], "accuracy": [0.7, 0.8, 0.9, 0.5, 0.5, 0.8],
                           "f1": [0.6, 0.7, 0.8, 0.4, 0.5, 0.6], "n_train": [100, 101, 100, 100, 101, 100],
                           "n_test": [51, 50, 51, 51, 50, 51]})
    rows = summarize_scores(scores)
    assert [r["model"] for r in rows] == ["b", "a"]
    b = rows[0]
    assert b["n_splits"] == 3 and b["accuracy"] == pytest.approx(0.8) and b["accuracy_sd"] == pytest.approx(0.1)
    assert b["accuracy_se"] == pytest.approx(0.1 / math.sqrt(3))
    ratio = (152 / 3) / (301 / 3)
    assert b["accuracy_se_corrected"] == pytest.approx(0.1 * math.sqrt(1 / 3 + ratio))
    assert b["f1_se_corrected"] == pytest.approx(0.1 * math.sqrt(1 / 3 + ratio))
    with pytest.raises(DataError, match="no column"):
        summarize_scores(scores.drop(columns=["n_test"]))
