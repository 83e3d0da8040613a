"""Exact-mode CHSH: signed between-ordering uncertainty, top-k bounds, marginal verdicts (known answers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from probe.analysis.bell.exact import chsh_exact, correlator_bounds
from probe.errors import DataError


def cells(e: float) -> list[float]:
    """A context whose correlator is e (mass on ++ and +- only)."""
    return [(1 + e) / 2, (1 - e) / 2, 0.0, 0.0]


def table_with_signed_s(s: float) -> list[list[float]]:
    """One ordering whose signed Brussels S is s: E = (-s/4, s/4, s/4, s/4)."""
    return [cells(-s / 4), cells(s / 4), cells(s / 4), cells(s / 4)]


def test_signed_values_carry_the_uncertainty_not_their_absolute_values():
    r = chsh_exact([table_with_signed_s(1.0), table_with_signed_s(-1.0)])
    assert r.per_order_S == pytest.approx((1.0, -1.0))
    assert r.S == pytest.approx(0.0, abs=1e-12)
    assert r.S_se == pytest.approx(1.0)  # SD([1, -1]) / sqrt(2); abs() would give 0
    assert r.S_ci95[0] == 0.0 and r.S_ci95[1] == pytest.approx(stats.t.ppf(0.975, 1) * 1.0)


def test_se_equals_the_standard_error_of_the_signed_mean():
    rng = np.random.default_rng(1)
    s_k = rng.normal(0.3, 0.8, size=6)
    r = chsh_exact([table_with_signed_s(s) for s in s_k])
    assert r.S_signed == pytest.approx(s_k.mean(), abs=1e-12)
    assert r.S_se == pytest.approx(stats.sem(s_k), rel=1e-12)
    assert r.S_order_sd == pytest.approx(np.std(s_k, ddof=1), rel=1e-12)
    assert r.S_se_fpc == pytest.approx(stats.sem(s_k) * math.sqrt(18 / 23), rel=1e-12)


def test_all_orderings_scored_make_the_uniform_mixture_exact():
    rng = np.random.default_rng(2)
    r = chsh_exact([table_with_signed_s(s) for s in rng.uniform(-2, 2, size=24)])
    assert r.S_se > 0 and r.S_se_fpc == 0.0


def test_interval_covers_the_true_mean_of_the_ordering_population():
    """Truth known: per-ordering S ~ Normal(mu, sigma); the 95% t interval covers mu about 95% of the time."""
    rng = np.random.default_rng(3)
    mu, sigma, k, reps = 1.2, 0.6, 8, 2000
    hits = 0
    for _ in range(reps):
        r = chsh_exact([table_with_signed_s(s) for s in rng.normal(mu, sigma, size=k)])
        hits += r.S_ci95[0] <= mu <= r.S_ci95[1]
    assert abs(hits / reps - 0.95) < 0.02


def test_correlator_bounds_are_attained_and_never_exceeded():
    rng = np.random.default_rng(4)
    sigma = np.array([1, -1, -1, 1])
    for _ in range(200):
        seen = rng.dirichlet(np.ones(4)) * rng.uniform(0.05, 0.9)
        seen[rng.random(4) < 0.3] = 0.0
        r = rng.uniform(0, 1 - seen.sum())
        lo, hi = correlator_bounds(seen, r)
        for _ in range(50):  # any split of at most R over the four cells
            x = rng.dirichlet(np.ones(4)) * r * rng.random()
            m = seen + x
            if m.sum() > 0:
                e = (sigma * m).sum() / m.sum()
                assert lo - 1e-12 <= e <= hi + 1e-12
        for sign, target in ((1, hi), (-1, lo)):  # all of R on one +1 (or -1) cell attains the bound
            m = seen.copy()
            m[0 if sign == 1 else 1] += r
            if m.sum() > 0:
                assert (sigma * m).sum() / m.sum() == pytest.approx(target, abs=1e-12)


def test_a_label_missing_from_top_k_refuses_the_point_s():
    # the llama.cpp case: only label "1" (cell ++) in the top-20, logprob -3.63; renormalising gives S = 2
    seen = np.zeros((1, 4, 4))
    seen[0, :, 0] = math.exp(-3.63)
    seen[0, 0] = [0, math.exp(-3.63), 0, 0]  # in AB label "1" sat on the +- cell
    missing = seen == 0
    unseen = np.full((1, 4), 0.05)  # 1 - sum(top-20)
    renormalised = chsh_exact(np.where(missing, 0, seen))
    assert renormalised.S == pytest.approx(4.0)  # what silent renormalisation would claim (E = -1, +1, +1, +1)
    r = chsh_exact(seen, unseen=unseen, missing=missing)
    assert r.S is None and r.S_se is None and r.category is None and not r.exact
    lo, hi = r.S_bounds
    assert lo < 1.0 and hi == pytest.approx(4.0)
    assert any("no point S" in w for w in r.warnings)


def test_full_softmax_bounds_collapse_to_the_point():
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(4), size=(3, 4))
    r = chsh_exact(p, unseen=np.zeros((3, 4)))
    assert r.exact and r.S_bounds[0] == pytest.approx(r.S) and r.S_bounds[1] == pytest.approx(r.S)


def test_bounds_contain_the_truth_when_mass_is_hidden():
    rng = np.random.default_rng(6)
    for _ in range(100):
        true = rng.dirichlet(np.ones(4), size=(4, 4)) * 0.8  # K = 4 orderings; 0.2 goes to non-label tokens
        hide = rng.random((4, 4, 4)) < 0.25
        seen = np.where(hide, 0.0, true)
        unseen = 1 - seen.sum(axis=2)  # everything not listed
        r = chsh_exact(seen, unseen=unseen, missing=hide)
        s_true = chsh_exact(true).S
        assert r.S_bounds[0] - 1e-12 <= s_true <= r.S_bounds[1] + 1e-12


def test_missing_labels_need_the_unseen_mass():
    with pytest.raises(DataError, match="unseen"):
        chsh_exact(np.full((4, 4), 0.25), missing=np.eye(4, dtype=bool))


def test_marginal_selectivity_has_no_verdict_without_a_stated_tolerance():
    p = np.array([cells(0.2), cells(0.3), cells(0.1), cells(0.0)])  # P(first = +) = 1 everywhere; B shifts
    r = chsh_exact(p)
    assert r.marginals_consistent is None and r.delta > 0
    summary = r.summary()["marginal_selectivity"]
    assert summary["consistent"] is None and "not judged" in summary["rule"]
    assert chsh_exact(p, marginal_tol=0.2).marginals_consistent is True
    assert chsh_exact(p, marginal_tol=0.01).marginals_consistent is False
