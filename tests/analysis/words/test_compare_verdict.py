"""Bootstrap, model comparison and verdict on texts with a known generating law."""

from __future__ import annotations

import numpy as np
import powerlaw
import pytest
from scipy import optimize, stats

from probe.analysis.words.bootstrap import with_bootstrap
from probe.analysis.words.compare import fit_rank_models, powerlaw_compare, rank_vuong, vuong
from probe.analysis.words.fits import Levels, bose_einstein, energy_levels, fit_occupation, maxwell_boltzmann
from probe.analysis.words.verdict import analyze_counts, split_compare
from probe.errors import ConfigError
from probe.experiments.words.counting import count_text


def _word(i: int) -> str:
    """A distinct letters-only word per index (the default tokenizer drops digits)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = "w"
    while True:
        out += letters[i % 26]
        i //= 26
        if i == 0:
            return out


def _be_text(rng: np.random.Generator, A: float, B: float, n_levels: int) -> tuple[str, np.ndarray]:
    """Method note KAT-8: word i written n_i ~ Geometric(mean BE(i)) times, shuffled."""
    n = rng.geometric(1 / (1 + bose_einstein(np.arange(float(n_levels)), A, B))) - 1
    tokens = np.repeat([_word(i) for i in range(n_levels)], n)
    return " ".join(rng.permutation(tokens)), n


def test_vuong_matches_the_powerlaw_package() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(-2.0, 1.0, 500), rng.normal(-2.1, 1.2, 500)
    ours = vuong(a, b, np.ones(500), a="a", b="b", likelihood="x")
    R, p = powerlaw.loglikelihood_ratio(a, b, normalized_ratio=True)
    assert ours.z == pytest.approx(R) and ours.p == pytest.approx(p)
    grouped = vuong(a[:10], b[:10], np.arange(1, 11), a="a", b="b", likelihood="x")
    expanded = vuong(np.repeat(a[:10], np.arange(1, 11)), np.repeat(b[:10], np.arange(1, 11)),
                     np.ones(55), a="a", b="b", likelihood="x")
    assert grouped.z == pytest.approx(expanded.z) and grouped.n == 55


def test_zipf_fit_is_the_scipy_zipfian_mle() -> None:
    rng = np.random.default_rng(1)
    V = 300
    ranks = stats.zipfian.rvs(1.1, V, size=20_000, random_state=rng)
    counts = np.bincount(ranks, minlength=V + 1)[1:]
    lv = Levels.from_energies(np.arange(float(V)), counts)  # true ranks, so the MLE is scipy's
    zipf = fit_rank_models(lv, ["zipf"])[0]
    nll = lambda s: -stats.zipfian.logpmf(np.arange(1, V + 1), s, V) @ counts  # noqa: E731
    s_hat = optimize.minimize_scalar(nll, bounds=(0.5, 2.0), method="bounded", options={"xatol": 1e-9}).x
    assert zipf.params["s"] == pytest.approx(s_hat, abs=1e-5)
    assert zipf.loglik == pytest.approx(-nll(s_hat), rel=1e-9)
    assert zipf.params["s"] == pytest.approx(1.1, abs=0.03)


def test_powerlaw_exponent_of_a_zipf_text_is_two() -> None:
    # Zipf s = 1 in rank <=> frequency distribution P(n) ~ n^-(1 + 1/s) = n^-2.
    rng = np.random.default_rng(2)
    p = 1 / np.arange(1, 20_001)
    counts = rng.multinomial(1_000_000, p / p.sum())
    result = powerlaw_compare(counts, ["lognormal", "exponential"])
    assert result.error is None and result.alpha == pytest.approx(2.0, abs=0.1)
    exp_row = next(r for r in result.comparisons if r["alternative"] == "exponential")
    assert exp_row["favours"] == "power_law" and exp_row["p"] < 0.01


def test_bootstrap_intervals_cover_the_truth_on_true_levels() -> None:
    rng = np.random.default_rng(3)
    E = np.arange(400.0)
    covered_a = covered_b = 0
    for rep in range(20):
        n = rng.geometric(1 / (1 + bose_einstein(E, 1.002, 80.0))) - 1
        lv = Levels.from_energies(E, n)
        fit = with_bootstrap(lv, fit_occupation(lv, "be"), n_resamples=200, rng=rep)
        covered_a += fit.A_ci95[0] <= 1.002 <= fit.A_ci95[1]
        covered_b += fit.B_ci95[0] <= 80.0 <= fit.B_ci95[1]
    assert covered_a >= 16 and covered_b >= 16  # nominal 95%: 19 of 20 expected


def test_basic_interval_corrects_rank_bias_better_than_percentile() -> None:
    rng = np.random.default_rng(4)
    E = np.arange(4000.0)
    mean = bose_einstein(E, 1.0005, 600.0)
    hits = {"basic": 0, "percentile": 0}
    for rep in range(12):
        lv = energy_levels(rng.geometric(1 / (1 + mean)) - 1)
        fit = fit_occupation(lv, "be")
        for ci in hits:
            b = with_bootstrap(lv, fit, n_resamples=150, ci=ci, rng=rep).B_ci95  # type: ignore[arg-type]
            hits[ci] += b[0] <= 600.0 <= b[1]
    assert hits["basic"] >= 8 and hits["basic"] > hits["percentile"]


def test_synthetic_be_text_recovers_A_B_and_prefers_be() -> None:
    rng = np.random.default_rng(5)
    text, _ = _be_text(rng, 1.001, 300.0, 3000)
    counts = count_text(text)
    result = analyze_counts(np.array(list(counts.values())), n_resamples=300, rng=7)
    be = result.be
    assert be.A_ci95[0] <= 1.001 <= be.A_ci95[1]
    assert be.B_ci95[0] <= 300.0 <= be.B_ci95[1]
    assert result.preferred == "be"
    assert result.to_dict()["fits"]["be"]["B_ci95"] == list(be.B_ci95)


def test_mb_text_is_not_called_be() -> None:
    rng = np.random.default_rng(6)
    for seed in range(3):
        n = rng.poisson(maxwell_boltzmann(np.arange(1500.0), 0.002, 150.0))
        result = analyze_counts(n, n_resamples=100, rng=seed, compare=["zipf-mandelbrot"])
        assert result.preferred != "be"
        assert result.mb.B == pytest.approx(150.0, rel=0.1)
    assert result.preferred == "mb"


def test_zipf_text_beats_mb_but_the_verdict_names_the_baseline() -> None:
    # Method note KAT-5: BE >> MB for any Zipf-like text, so the caveats must discuss Zipf-type models.
    rng = np.random.default_rng(7)
    p = 1 / np.arange(1, 3001)
    result = analyze_counts(rng.multinomial(50_000, p / p.sum()), n_resamples=50, rng=1)
    assert result.preferred == "be"
    be_mb = next(t for t in result.tests if t.likelihood == "multinomial" and t.b == "mb")
    assert be_mb.favours == "be" and be_mb.p < 1e-6
    text = " ".join(result.verdict.evidence + result.verdict.caveats)
    assert "zipf-mandelbrot" in text


def test_rank_models_share_one_likelihood() -> None:
    rng = np.random.default_rng(8)
    p = np.arange(1, 501) ** -0.8
    lv = energy_levels(rng.multinomial(20_000, p / p.sum()))
    fits = {f.name: f for f in fit_rank_models(lv)}
    assert fits["zipf-mandelbrot"].loglik >= fits["zipf"].loglik - 1e-6  # nested: q = 0 is Zipf
    assert fits["be"].k == 2 and fits["mb"].k == 1
    t = rank_vuong(fits["be"], fits["mb"], lv)
    assert t.n == 20_000 and t.log_ratio == pytest.approx(fits["be"].loglik - fits["mb"].loglik, abs=1e-6)


def test_split_compare_validates() -> None:
    assert split_compare(["Zipf", "zipf_mandelbrot", "truncated-power-law", "lognormal"]) == (
        ["zipf", "zipf-mandelbrot"], ["truncated_power_law", "lognormal"])
    with pytest.raises(ConfigError, match="unknown model 'gamma'"):
        split_compare(["gamma"])


def test_non_convergence_is_reported_with_the_fits_that_did() -> None:
    from probe.analysis.words.verdict import verdict

    rng = np.random.default_rng(9)
    p = 1 / np.arange(1, 2001)
    lv = energy_levels(rng.multinomial(30_000, p / p.sum()))
    stuck = fit_occupation(lv, "be", max_iter=1)
    assert not stuck.converged and "no convergence in 1 Newton steps" in stuck.message
    others = [fit_occupation(lv, "be", method=m) for m in ("ml", "lsq-log")]
    mb = fit_occupation(lv, "mb")
    v = verdict(stuck, mb, fit_rank_models(lv, ["be", "mb"]), [], fits_all=[stuck, *others, mb])
    assert v.preferred == "inconclusive"
    assert "did not converge" in v.evidence[0] and "converged: ml, lsq-log" in v.evidence[0]
