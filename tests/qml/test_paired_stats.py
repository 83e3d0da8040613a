"""Paired statistics: closed forms (1/32, Holm by hand) and agreement with scipy and pingouin."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from probe.analysis import paired
from probe.errors import DataError


def test_five_all_positive_pairs_give_one_over_32() -> None:
    a = np.array([0.865, 0.870, 0.861, 0.872, 0.866])
    b = a - np.array([0.02, 0.01, 0.03, 0.015, 0.025])
    res = paired.wilcoxon_signed_rank(a, b, alternative="greater")
    assert res.statistic == 15.0
    assert res.p_value == 1 / 32
    assert res.min_attainable_p == 1 / 32
    two = paired.wilcoxon_signed_rank(a, b, alternative="two-sided")
    assert two.p_value == pytest.approx(2 / 32)
    assert two.min_attainable_p == pytest.approx(0.0625)
    # a tie is dropped: four pairs, one-sided floor 1/16
    b_tie = b.copy()
    b_tie[0] = a[0]
    assert paired.wilcoxon_signed_rank(a, b_tie, alternative="greater").p_value == pytest.approx(1 / 16)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("n", [5, 8, 13, 30])
def test_wilcoxon_matches_scipy_and_pingouin_without_ties(n: int, alternative: str) -> None:
    rng = np.random.default_rng(n)
    a = rng.normal(0.3, 1.0, n)
    b = rng.normal(0.0, 1.0, n)
    ours = paired.wilcoxon_signed_rank(a, b, alternative=alternative)
    ref = stats.wilcoxon(a, b, alternative=alternative, method="exact")
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-15)
    pg_res = pg.wilcoxon(a, b, alternative=alternative)
    assert ours.p_value == pytest.approx(float(pg_res["p_val"].iloc[0]), rel=1e-10)
    if alternative != "two-sided":  # scipy reports W+ for one-sided, min(W+, W-) for two-sided
        assert ours.statistic == pytest.approx(ref.statistic)


def test_wilcoxon_exact_with_ties_equals_brute_force_enumeration() -> None:
    d = np.array([1.0, 1.0, -2.0, 3.0, 3.0, 3.0, 0.5, -0.5])
    res = paired.wilcoxon_signed_rank(d, alternative="greater")
    ranks = stats.rankdata(np.abs(d))
    w_obs = ranks[d > 0].sum()
    count = sum(1 for signs in itertools.product([0, 1], repeat=d.size)
                if np.dot(signs, ranks) >= w_obs - 1e-9)
    assert res.p_value == pytest.approx(count / 2**d.size, rel=1e-12)
    assert "ties" in res.method
    # the same null as a sign-flip permutation test with the W+ statistic
    perm = stats.permutation_test((d,), lambda x: stats.rankdata(np.abs(x))[x > 0].sum(),
                                  permutation_type="samples", alternative="greater", n_resamples=np.inf)
    assert res.p_value == pytest.approx(perm.pvalue, rel=1e-12)


def test_wilcoxon_normal_approximation_matches_scipy_for_large_n() -> None:
    rng = np.random.default_rng(7)
    d = rng.normal(0.1, 1, 400)
    ours = paired.wilcoxon_signed_rank(d, alternative="greater")
    ref = stats.wilcoxon(d, alternative="greater", method="asymptotic", correction=False)
    assert ours.method == "normal approximation"
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_sign_test_and_paired_t_match_scipy(alternative: str) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(1, 1, 12), rng.normal(0.5, 1, 12)
    t = paired.paired_t(a, b, alternative=alternative)
    ref = stats.ttest_rel(a, b, alternative=alternative)
    assert t.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert t.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    pg_t = pg.ttest(a, b, paired=True, alternative=alternative)
    assert t.p_value == pytest.approx(float(pg_t["p_val"].iloc[0]), rel=1e-8)
    s = paired.sign_test(a, b, alternative=alternative)
    k = int((a - b > 0).sum())
    assert s.p_value == pytest.approx(stats.binomtest(k, 12, 0.5, alternative=alternative).pvalue)


def test_effect_sizes_match_pingouin_and_closed_forms() -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(0.85, 0.02, 10)
    b = a - rng.normal(0.01, 0.01, 10)
    eff = paired.effect_size(a, b)
    assert eff.d_z == pytest.approx(pg.compute_effsize(a, b, paired=True, eftype="cohen_dz"), rel=1e-12)
    assert eff.d_av == pytest.approx(pg.compute_effsize(a, b, paired=True, eftype="cohen"), rel=1e-12)
    assert eff.g_z == pytest.approx(eff.d_z * paired.hedges_correction(9))
    # exact J against the textbook approximation 1 - 3/(4 df - 1)
    for df in (4, 9, 30):
        assert paired.hedges_correction(df) == pytest.approx(1 - 3 / (4 * df - 1), rel=3e-3)
    # the CI ends are where the noncentral t puts the observed t at the 2.5% / 97.5% tails
    t_obs = eff.d_z * math.sqrt(10)
    assert stats.nct.cdf(t_obs, 9, eff.ci_low * math.sqrt(10)) == pytest.approx(0.975, abs=1e-9)
    assert stats.nct.cdf(t_obs, 9, eff.ci_high * math.sqrt(10)) == pytest.approx(0.025, abs=1e-9)
    assert eff.ci_low < eff.d_z < eff.ci_high
    # and agrees roughly with pingouin's normal-theory CI
    lo, hi = pg.compute_esci(stat=eff.d_z, nx=10, ny=10, paired=True, eftype="cohen", decimals=6)
    assert eff.ci_low == pytest.approx(lo, abs=0.35)
    assert eff.ci_high == pytest.approx(hi, abs=0.35)


def test_ci_covers_true_effect_at_nominal_rate() -> None:
    rng = np.random.default_rng(5)
    hits, trials, n, delta = 0, 300, 8, 0.8
    for _ in range(trials):
        d = rng.normal(delta, 1.0, n)
        eff = paired.effect_size(d, np.zeros(n))
        hits += eff.ci_low <= delta <= eff.ci_high
    assert 0.91 <= hits / trials <= 0.99


def test_corrected_resampled_t_closed_form_and_limit() -> None:
    d = np.array([0.02, 0.01, 0.03, 0.00, 0.02, 0.04, 0.01, 0.02, 0.03, 0.01])
    res = paired.corrected_resampled_t(d, n_train=90, n_test=10, alternative="greater")
    expected_t = d.mean() / math.sqrt((1 / 10 + 10 / 90) * d.var(ddof=1))
    assert res.statistic == pytest.approx(expected_t, rel=1e-12)
    assert res.p_value == pytest.approx(stats.t.sf(expected_t, 9), rel=1e-12)
    naive = paired.corrected_resampled_t(d, n_train=10**12, n_test=1)
    assert naive.statistic == pytest.approx(stats.ttest_1samp(d, 0).statistic, rel=1e-9)
    assert res.statistic < naive.statistic  # the correction can only widen the variance


def test_holm_by_hand_and_against_pingouin() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)=0.06
    np.testing.assert_allclose(paired.holm(p), [0.03, 0.06, 0.06, 0.02])
    _, ref = pg.multicomp(p, method="holm")
    np.testing.assert_allclose(paired.holm(p), ref)
    rng = np.random.default_rng(2)
    q = rng.uniform(0, 0.2, 25)
    np.testing.assert_allclose(paired.holm(q), pg.multicomp(q, method="holm")[1])


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
@pytest.mark.parametrize("d", [0.3, 0.8, 1.5])
def test_power_matches_pingouin(d: float, alternative: str) -> None:
    for n in (5, 12, 40):
        ours = paired.paired_t_power(d, n, alpha=0.05, alternative=alternative)
        ref = pg.power_ttest(d=d, n=n, contrast="paired", alternative=alternative)
        assert ours == pytest.approx(ref, rel=1e-6)
    n_req = paired.required_pairs(d, power=0.8, alternative=alternative)
    n_pg = pg.power_ttest(d=d, power=0.8, contrast="paired", alternative=alternative)
    assert n_req == math.ceil(n_pg)


def test_min_pairs_wilcoxon() -> None:
    assert paired.min_pairs_wilcoxon(0.05, "greater") == 5
    assert paired.min_pairs_wilcoxon(0.05, "two-sided") == 6
    assert paired.min_pairs_wilcoxon(0.01, "greater") == 7  # 1/128 < 0.01 < 1/64


def test_paired_compare_collects_everything_and_warns() -> None:
    a = [0.865, 0.871, 0.860, 0.873, 0.866]
    b = [0.842, 0.845, 0.846, 0.838, 0.840]
    res = paired.paired_compare(a, b, alternative="two-sided", name_a="qcnn", name_b="cnn")
    names = [t.test for t in res.tests]
    assert names == ["wilcoxon", "sign", "paired-t"]
    assert res.tests[0].p_value == pytest.approx(0.0625)
    assert any("cannot reach p < 0.05" in w for w in res.warnings)
    assert res.min_pairs_wilcoxon == 6
    frame = res.to_frame()
    assert set(frame["test"]) == set(names)
    assert res.to_dict()["effect"]["d_z"] == pytest.approx(res.effect.d_z)
    with_cv = paired.paired_compare(a, b, n_train=80, n_test=20)
    assert with_cv.tests[-1].test == "corrected-resampled-t"
    table = paired.comparisons_frame([res, with_cv])
    assert (table["p_holm"] >= table["p_value"] - 1e-15).all()


def test_pair_scores_aligns_on_fold_and_seed() -> None:
    a = pd.DataFrame({"fold": [0, 1, 0, 1], "seed": [0, 0, 1, 1], "accuracy": [0.9, 0.8, 0.85, 0.95]})
    b = pd.DataFrame({"fold": [1, 0, 1, 0], "seed": [1, 1, 0, 0], "accuracy": [0.9, 0.8, 0.7, 0.88]})
    xa, xb, _ = paired.pair_scores(a, b, metric="accuracy")
    np.testing.assert_allclose(xa - xb, [0.02, 0.1, 0.05, 0.05])
    with pytest.raises(DataError, match="lack column"):
        paired.pair_scores(a, b.drop(columns="seed"), metric="accuracy")


def test_bad_input_is_a_data_error() -> None:
    with pytest.raises(DataError, match="equal lengths"):
        paired.paired_t([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match="all paired differences are zero"):
        paired.wilcoxon_signed_rank([1, 2, 3], [1, 2, 3])
    with pytest.raises(DataError, match="alternative"):
        paired.sign_test([1, 2], [0, 0], alternative="bigger")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="NaN"):
        paired.paired_compare([1, np.nan, 3], [0, 0, 0])


def test_effect_size_interval_survives_a_huge_standardised_difference():
    """Far in the tails scipy's nct.cdf is NaN; the interval must still be finite, ordered and contain d_z·√n's ncp."""
    import math

    import numpy as np

    from probe.analysis.paired import effect_size

    x = np.r_[0.9, 0.91, 0.92, 0.93, 0.9, 0.91]
    y = np.r_[0.1, 0.12, 0.1, 0.11, 0.1, 0.12]
    e = effect_size(x, y)
    assert math.isfinite(e.ci_low) and math.isfinite(e.ci_high)
    assert 0 < e.ci_low < e.d_z < e.ci_high
    small = effect_size(x[:5] + np.r_[0.0, 0.3, -0.2, 0.1, -0.1], y[:5])  # an ordinary case still inverts nct
    assert small.ci_low < small.d_z < small.ci_high
