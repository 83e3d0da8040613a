"""Differences of independent estimates: closed-form cases, Holm over the family, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from probe.analysis.differences import independent_differences
from probe.analysis.multiple_comparisons import holm
from probe.errors import DataError


def test_closed_form_three_four_five():
    d = independent_differences(["a", "b"], [2.5, 2.0], [0.3, 0.4])[0]
    assert d.difference == pytest.approx(0.5) and d.se == pytest.approx(0.5)  # sqrt(0.09 + 0.16)
    assert d.z == pytest.approx(1.0)
    assert d.p_value == pytest.approx(2 * (1 - stats.norm.cdf(1.0)))
    assert d.ci95 == pytest.approx((0.5 - 1.959964 * 0.5, 0.5 + 1.959964 * 0.5), abs=1e-6)
    assert d.p_holm == d.p_value  # a family of one


def test_all_pairs_are_holm_adjusted_together():
    values, ses = [2.9, 2.4, 2.0, 2.05], [0.1, 0.15, 0.12, 0.2]
    diffs = independent_differences(list("abcd"), values, ses)
    assert [(d.first, d.second) for d in diffs] == [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"),
                                                    ("c", "d")]
    raw = np.array([d.p_value for d in diffs])
    assert np.allclose([d.p_holm for d in diffs], holm(raw))
    # a simulated check of the SE: the spread of simulated differences matches sqrt(se1² + se2²)
    rng = np.random.default_rng(0)
    sims = rng.normal(values[0], ses[0], 200_000) - rng.normal(values[1], ses[1], 200_000)
    assert sims.std() == pytest.approx(diffs[0].se, rel=0.01)


def test_chosen_pairs_and_exact_values():
    diffs = independent_differences(["x", "y", "z"], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0], pairs=[(0, 1), (2, 0)])
    assert diffs[0].z == 0 and diffs[0].p_value == 1.0
    assert diffs[1].z == math.inf and diffs[1].p_value == 0.0


@pytest.mark.parametrize("bad", [([1.0], [0.1, 0.2]), ([float("nan"), 1.0], [0.1, 0.1]), ([1.0, 2.0], [-0.1, 0.1])])
def test_bad_input_names_the_problem(bad):
    values, ses = bad
    with pytest.raises(DataError, match="difference"):
        independent_differences(["a", "b"], values, ses)
