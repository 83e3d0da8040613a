"""BE/MB fits, levels, likelihoods: closed-form answers and library cross-checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from probe.analysis.words.fits import (
    METHODS,
    Levels,
    bose_einstein,
    energy_levels,
    fit_occupation,
    maxwell_boltzmann,
    modes_loglik_terms,
)
from probe.errors import DataError


@pytest.mark.parametrize(("model", "A", "B"), [("be", 1.002, 80.0), ("mb", 0.001, 60.0), ("be", 1.3, 500.0)])
@pytest.mark.parametrize("method", METHODS)
def test_exact_occupations_are_recovered_by_every_method(model: str, A: float, B: float, method: str) -> None:
    E = np.arange(400.0)
    law = bose_einstein if model == "be" else maxwell_boltzmann
    fit = fit_occupation(Levels.from_energies(E, law(E, A, B)), model, method=method)  # type: ignore[arg-type]
    assert fit.converged, fit.message
    tol = 1e-8 if method == "constraint" else 1e-5
    assert fit.A == pytest.approx(A, rel=tol)
    assert fit.B == pytest.approx(B, rel=tol)
    assert fit.r2 == pytest.approx(1.0, abs=1e-9) and fit.r2_log == pytest.approx(1.0, abs=1e-9)


def test_constraint_solution_meets_the_published_constraints() -> None:
    rng = np.random.default_rng(1)
    counts = rng.multinomial(200_000, 1 / np.arange(1, 5001) / np.sum(1 / np.arange(1, 5001)))
    lv = energy_levels(counts)
    for model in ("be", "mb"):
        fit = fit_occupation(lv, model)  # type: ignore[arg-type]
        m = fit.predict(lv.energy)
        assert m.sum() == pytest.approx(lv.counts.sum(), rel=1e-9)                      # total words
        assert (lv.energy * m).sum() == pytest.approx((lv.energy * lv.counts).sum(), rel=1e-9)  # total energy


def test_mb_constraint_has_the_closed_form() -> None:
    # MB: B is fixed by the mean energy alone, then A = sum exp(-E/B) / N.
    rng = np.random.default_rng(2)
    lv = energy_levels(rng.poisson(maxwell_boltzmann(np.arange(300.0), 0.01, 40.0)))
    fit = fit_occupation(lv, "mb")
    mean_e = (lv.energy * lv.counts).sum() / lv.counts.sum()
    B = optimize.brentq(lambda b: np.average(lv.energy, weights=np.exp(-lv.energy / b)) - mean_e, 1e-3, 1e6)
    assert fit.B == pytest.approx(B, rel=1e-8)
    assert fit.A == pytest.approx(np.exp(-lv.energy / B).sum() / lv.counts.sum(), rel=1e-8)


def test_constraint_equals_general_ml_and_agrees_with_least_squares_on_clean_data() -> None:
    rng = np.random.default_rng(3)
    E = np.arange(400.0)
    for _ in range(5):
        n = rng.geometric(1 / (1 + bose_einstein(E, 1.002, 80.0))) - 1
        lv = Levels.from_energies(E, n)
        c, m = fit_occupation(lv, "be"), fit_occupation(lv, "be", method="ml")
        assert c.A == pytest.approx(m.A, rel=1e-6) and c.B == pytest.approx(m.B, rel=1e-5)
    # Clean data (Poisson noise on large MB counts): constraint and log least squares agree.
    lv = Levels.from_energies(E[:150], rng.poisson(maxwell_boltzmann(E[:150], 1e-5, 30.0)))
    c, q = fit_occupation(lv, "mb"), fit_occupation(lv, "mb", method="lsq-log")
    assert q.B == pytest.approx(c.B, rel=0.02) and q.A == pytest.approx(c.A, rel=0.05)


def test_modes_likelihood_matches_scipy_distributions() -> None:
    n = np.array([0.0, 1, 5, 40])
    m = np.array([0.3, 2.0, 4.5, 50.0])
    geometric = stats.geom.logpmf(n + 1, 1 / (1 + m))  # scipy counts trials, support >= 1
    assert modes_loglik_terms("be", n, m) == pytest.approx(geometric)
    assert modes_loglik_terms("mb", n, m) == pytest.approx(stats.poisson.logpmf(n, m))
    lv = Levels.from_energies(np.arange(50.0), np.arange(50.0)[::-1] + 1)
    fit = fit_occupation(lv, "be")
    m = fit.predict(lv.energy)
    ll = stats.geom.logpmf(lv.counts + 1, 1 / (1 + m)).sum()
    assert fit.loglik == pytest.approx(ll) and fit.aic == pytest.approx(4 - 2 * ll)
    assert fit.bic == pytest.approx(2 * np.log(50) - 2 * ll)


def test_rank_bias_is_upward_and_true_levels_are_unbiased() -> None:
    # Method note KAT-2/KAT-3: BE(A=1.002, B=80) on 400 levels, geometric occupations.
    rng = np.random.default_rng(4)
    E = np.arange(400.0)
    mean = bose_einstein(E, 1.002, 80.0)
    true_levels, reranked = [], []
    for _ in range(100):
        n = rng.geometric(1 / (1 + mean)) - 1
        true_levels.append(fit_occupation(Levels.from_energies(E, n), "be").B)
        reranked.append(fit_occupation(energy_levels(n), "be").B)
    se = np.std(true_levels) / 10
    assert abs(np.mean(true_levels) - 80.0) < 2.5 * se
    assert np.mean(reranked) > np.mean(true_levels) + 2 * se


def test_energy_levels_tie_rules() -> None:
    counts = [2, 7, 2, 5, 0, 2]
    ordinal = energy_levels(counts)
    assert ordinal.energy.tolist() == [0, 1, 2, 3, 4] and ordinal.counts.tolist() == [7, 5, 2, 2, 2]
    average = energy_levels(counts, ties="average", first_level=1)
    assert average.energy.tolist() == [1, 2, 4] and average.weight.tolist() == [1, 1, 3]
    dense = energy_levels(counts, ties="dense")
    assert dense.energy.tolist() == [0, 1, 2] and dense.counts.tolist() == [7, 5, 2]
    assert ordinal.n_tokens == average.n_tokens == dense.n_tokens == 18 and dense.n_types == 5


def test_too_short_text_says_how_many_words_are_needed() -> None:
    with pytest.raises(DataError, match="at least 10 needed"):
        fit_occupation(energy_levels([5, 3, 2, 1]), "be")


def test_fit_result_serialises() -> None:
    fit = fit_occupation(energy_levels(np.arange(1, 60)[::-1]), "mb")
    d = fit.to_dict()
    assert d["model"] == "mb" and d["method"] == "constraint" and d["n_types"] == 59
    frame = fit.to_frame()
    assert list(frame["B"]) == [fit.B]
