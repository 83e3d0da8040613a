"""The spacing exponent d of E_i = (i - 1)^d: known answers, the paper's published numbers, ties."""

from __future__ import annotations

import numpy as np
import pytest

from probe.analysis.words.exponent import fit_energy_exponent, profile_loglik
from probe.analysis.words.fits import (
    Levels,
    bose_einstein,
    energy_levels,
    fit_occupation,
    maxwell_boltzmann,
    rank_energies,
)
from probe.analysis.words.solvers import newton_from_stats
from probe.analysis.words.verdict import analyze_counts
from probe.errors import ConfigError


@pytest.mark.parametrize("d", [0.5, 0.8, 1.0, 1.3, 2.0])
@pytest.mark.parametrize("model", ["be", "mb"])
def test_exact_occupations_on_power_spaced_levels_are_recovered(d: float, model: str) -> None:
    E = rank_energies(600, energy_exponent=d)
    A, B = (1.002, 0.15 * E[-1]) if model == "be" else (0.01, 0.2 * E[-1])
    law = bose_einstein if model == "be" else maxwell_boltzmann
    fit = fit_occupation(Levels.from_energies(E, law(E, A, B)), model)  # type: ignore[arg-type]
    assert fit.converged, fit.message
    assert fit.A == pytest.approx(A, rel=1e-8) and fit.B == pytest.approx(B, rel=1e-8)


def test_energy_levels_with_an_exponent_and_every_tie_rule() -> None:
    counts = [2, 7, 2, 5, 0, 2]
    d = 0.8
    ordinal = energy_levels(counts, energy_exponent=d)
    assert np.allclose(ordinal.energy, np.arange(5) ** d) and ordinal.counts.tolist() == [7, 5, 2, 2, 2]
    average = energy_levels(counts, ties="average", energy_exponent=d)
    assert np.allclose(average.energy, [0, 1, (2**d + 3**d + 4**d) / 3]) and average.weight.tolist() == [1, 1, 3]
    dense = energy_levels(counts, ties="dense", energy_exponent=d, first_level=1)
    assert np.allclose(dense.energy, 1 + np.arange(3) ** d)
    assert ordinal.energy_exponent == d


def test_alphabetical_ties_order_the_words_but_leave_every_fit_unchanged() -> None:
    from probe.analysis.words.fits import rank_order

    words = ["the", "cat", "and", "sat", "mat", "a"]
    counts = [5, 2, 5, 2, 1, 2]
    order = rank_order(counts, ties="alphabetical", words=words)
    assert [words[i] for i in order] == ["and", "the", "a", "cat", "sat", "mat"]
    assert [words[i] for i in rank_order(counts)] == ["the", "and", "cat", "sat", "a", "mat"]
    rng = np.random.default_rng(0)
    n = rng.geometric(1 / (1 + bose_einstein(np.arange(300.0), 1.01, 60.0))) - 1
    names = [f"w{rng.integers(10**6)}x{i}" for i in range(n.size)]
    a = analyze_counts(n, ties="alphabetical", words=names, n_resamples=0, compare=())
    o = analyze_counts(n, ties="ordinal", n_resamples=0, compare=())
    assert a.be.A == o.be.A and a.be.B == o.be.B and a.mb.B == o.mb.B
    assert a.to_dict()["energy"]["mapping"].endswith("ties broken alphabetically; dimensionless)")
    with pytest.raises(ConfigError, match="needs the words"):
        energy_levels(n, ties="alphabetical")


def test_reproduces_table_4_of_aerts_2026_from_its_printed_totals() -> None:
    # Aerts et al. (2026), Entropy 28(6):622, section 3 and Table 4: Gemini story, N = 2861 words,
    # V = 822 distinct words, E_i = (i - 1)^0.8, total energy E = 145 694.86; printed BE occupations
    # N(E_1) = 185.36 ("A"), N(E_2) = 103.39 ("The"), N(E_79) = 6.46 ("Not"); MB about 23 at rank 1
    # and 10.8 at rank 79. The constraint method needs only N, E and the levels.
    E = rank_energies(822, energy_exponent=0.8)
    a, b, ok, *_ = newton_from_stats(E, None, 2861.0, 145_694.86, 132.0, "be", tol=1e-12, max_iter=200)
    be = bose_einstein(E, np.exp(a), 1 / b)
    assert ok and be[[0, 1, 78]] == pytest.approx([185.36, 103.39, 6.46], abs=0.006)
    a, b, ok, *_ = newton_from_stats(E, None, 2861.0, 145_694.86, 132.0, "mb", tol=1e-12, max_iter=200)
    mb = maxwell_boltzmann(E, np.exp(a), 1 / b)
    assert ok and mb[0] == pytest.approx(23.2, abs=0.05) and mb[78] == pytest.approx(10.8, abs=0.05)


@pytest.mark.parametrize("d_true", [0.7, 1.0, 1.4])
def test_profile_likelihood_recovers_d_and_its_interval_covers_it(d_true: float) -> None:
    rng = np.random.default_rng(int(d_true * 10))
    E = rank_energies(20_000, energy_exponent=d_true)
    B = float(np.quantile(E, 0.02))
    counts = rng.geometric(1 / (1 + bose_einstein(E, 1.001, B))) - 1
    fit = fit_energy_exponent(counts)
    lo, hi = fit.ci
    assert fit.converged and lo is not None and hi is not None and lo < fit.d < hi
    assert abs(fit.d - d_true) < 0.15 * d_true
    # the interval is where the profile has fallen by chi2_1(0.95)/2 = 1.92
    for end in (lo, hi):
        assert fit.loglik - profile_loglik(counts, end) == pytest.approx(1.920729, abs=1e-4)


def test_fit_is_reported_in_the_analysis() -> None:
    rng = np.random.default_rng(0)
    counts = rng.geometric(1 / (1 + bose_einstein(rank_energies(5000, energy_exponent=1.3), 1.001, 900.0))) - 1
    res = analyze_counts(counts, energy_exponent="fit", n_resamples=0, compare=())
    energy = res.to_dict()["energy"]
    lo, hi = energy["exponent_fit"]["ci"]
    assert energy["exponent_chosen_by"] == "profile likelihood" and lo < 1.3 < hi
    assert res.be.energy_exponent == energy["exponent"] and f"^{energy['exponent']:.4g}" in energy["mapping"]
    with pytest.raises(ConfigError, match="energy_exponent"):
        analyze_counts(counts, energy_exponent=-1.0, n_resamples=0, compare=())


def test_zipf_laws_are_fitted_on_the_rank_whatever_the_exponent() -> None:
    from probe.analysis.words.compare import fit_rank_models

    rng = np.random.default_rng(9)
    p = 1 / np.arange(1, 3001)
    counts = rng.multinomial(50_000, p / p.sum())
    zipf = [fit_rank_models(energy_levels(counts, energy_exponent=d), ["zipf", "zipf-mandelbrot"]) for d in (1, 0.6)]
    for a, b in zip(*zipf, strict=True):  # the energy spacing cannot change a law of the rank
        assert a.loglik == pytest.approx(b.loglik, rel=1e-9)
        assert a.params == pytest.approx(b.params, rel=1e-6)
    assert zipf[0][0].params["s"] == pytest.approx(1.0, abs=0.03)
