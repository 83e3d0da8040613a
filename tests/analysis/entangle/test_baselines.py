"""Page curve, Gaussian baselines, valley metrics, scaling-law fits, Marchenko–Pastur, no-hair."""

from __future__ import annotations

import numpy as np
import pytest

from probe.analysis.entangle.baselines import gaussian_baseline, valley_metrics
from probe.analysis.entangle.laws import compare_laws, law_design
from probe.analysis.entangle.lowrank import lora_profile
from probe.analysis.entangle.nohair import attention_kl, no_hair
from probe.analysis.entangle.profile import entanglement_profile
from probe.analysis.entangle.random_matrix import (
    marchenko_pastur_cdf,
    marchenko_pastur_compare,
    marchenko_pastur_pdf,
)
from probe.analysis.entropy import page_entropy, page_profile


@pytest.mark.parametrize(("m", "n", "value"), [(2, 2, 1 / 3), (2, 4, 0.5095), (2, 8, 0.6004), (4, 4, 0.9224),
                                                (8, 8, 1.5885), (16, 16, 2.2749), (32, 32, 2.9663)])
def test_page_exact_values(m, n, value):
    # the finite sum of Page (1993) written out, against the digamma form
    direct = sum(1.0 / k for k in range(n + 1, m * n + 1)) - (m - 1) / (2 * n)
    assert page_entropy(m, n) == pytest.approx(direct, abs=1e-12)
    assert page_entropy(m, n) == pytest.approx(value, abs=1e-4)
    assert page_entropy(n, m) == page_entropy(m, n)


def test_page_asymptotics():
    m, n = 2**10, 2**12
    assert page_entropy(m, n) == pytest.approx(np.log(m) - m / (2 * n), abs=1e-3)


def test_complex_gaussian_states_follow_page_within_derived_tolerance():
    base = gaussian_baseline((8, 8), samples=400, kind="complex", rng=11)
    page = np.array(page_profile((2,) * 6))
    # 4 standard errors of the Monte Carlo mean, per cut
    assert np.all(np.abs(np.array(base.mean) - page) < 4 * np.array(base.se))


@pytest.mark.slow
def test_real_gaussian_states_sit_below_page():
    base = gaussian_baseline((4, 4), samples=1500, kind="real", rng=12)
    page = np.array(page_profile((2,) * 4))
    assert np.all(np.array(base.mean) < page - 4 * np.array(base.se))
    # and the measured profile of one large real Gaussian matrix tracks the real baseline
    rng = np.random.default_rng(13)
    prof = entanglement_profile(rng.normal(size=(64, 64)))
    ref = gaussian_baseline((64, 64), samples=8, kind="real", rng=14)
    assert np.max(np.abs(np.array(prof.entropy) - ref.mean)) < 0.05


def test_gaussian_baseline_is_reproducible():
    a = gaussian_baseline((8, 16), samples=3, rng=5)
    b = gaussian_baseline((8, 16), samples=3, rng=5)
    assert a.mean == b.mean and a.seed == 5


def test_valley_of_a_lora_update_sits_at_the_row_column_cut():
    rng = np.random.default_rng(6)
    prof = lora_profile(rng.normal(size=(8, 2048)), rng.normal(size=(512, 8)))
    v = valley_metrics(prof.entropy, prof.page, boundary_cut=prof.boundary_cut)
    assert v.position == prof.boundary_cut == 9
    assert prof.entropy[8] <= np.log(8) + 1e-12
    assert v.depth > 1.0 and 0 < v.suppression < 0.5
    # a full-rank Gaussian matrix of the same shape follows Page: no valley
    full = entanglement_profile(rng.normal(size=(512, 2048)))
    vf = valley_metrics(full.entropy, full.page)
    assert vf.depth < 0.01
    assert np.max(np.abs(np.array(full.entropy) - full.page)) < 0.1


def test_valley_known_answer():
    v = valley_metrics([1.0, 2.0, 0.5, 2.5, 1.0], [1, 2, 3, 2, 1])
    assert (v.position, v.depth, v.relative_depth) == (3, 1.5, 0.75)
    assert v.suppression == pytest.approx(0.5 / 3)
    assert valley_metrics([1, 2, 3, 2, 1], [1, 2, 3, 2, 1]).position is None


@pytest.mark.parametrize("law", ["area", "log", "volume"])
def test_laws_recover_their_own_curves(law):
    n_sites = 20
    coef = np.array([0.3, 0.7]) if law != "area" else np.array([1.2])
    y = law_design(law, n_sites) @ coef
    rng = np.random.default_rng(7)
    noisy = y + rng.normal(0, 0.01, size=(30, y.size))
    res = compare_laws(noisy, rng=8)
    assert res.best == law
    fit = next(f for f in res.fits if f.law == law)
    assert np.allclose(fit.coef, coef, atol=0.01)
    if law == "log":
        lo, hi = res.log_coef_ci
        assert lo < 0.7 < hi
        assert res.central_charge == pytest.approx(6 * res.log_coef)


def test_law_aic_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(9)
    y = np.log(np.arange(1, 16) + 1.0) + rng.normal(0, 0.1, 15)
    res = compare_laws(y)
    for f in res.fits:
        ols = sm.OLS(y, law_design(f.law, 16)).fit()
        assert f.aic == pytest.approx(ols.aic, rel=1e-10)
        assert f.rss == pytest.approx(ols.ssr, rel=1e-10)
    assert sum(f.weight for f in res.fits) == pytest.approx(1.0)


def test_marchenko_pastur_density_moments():
    from scipy.integrate import quad

    q, s2 = 0.3, 2.0
    lo, hi = s2 * (1 - np.sqrt(q)) ** 2, s2 * (1 + np.sqrt(q)) ** 2
    mass = quad(marchenko_pastur_pdf, lo, hi, args=(q, s2))[0]
    mean = quad(lambda x: x * marchenko_pastur_pdf(x, q, s2), lo, hi)[0]
    second = quad(lambda x: x * x * marchenko_pastur_pdf(x, q, s2), lo, hi)[0]
    assert (mass, mean, second) == pytest.approx((1.0, s2, s2**2 * (1 + q)), rel=1e-6)
    assert marchenko_pastur_cdf([lo, hi], q, s2) == pytest.approx([0.0, 1.0])


def test_marchenko_pastur_gaussian_fits_and_spike_is_found():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(300, 900))
    res = marchenko_pastur_compare(x)
    assert res.n_outliers == 0
    # KS distance of 300 eigenvalues: well under the 1.63/sqrt(n) 1% critical value
    assert res.ks_distance < 1.63 / np.sqrt(300)
    u, v = rng.normal(size=300), rng.normal(size=900)
    spiked = x + 4.0 * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v)) * np.sqrt(900)
    assert marchenko_pastur_compare(spiked).n_outliers == 1
    # a rank-8 product: 8 eigenvalues carry everything
    low = marchenko_pastur_compare(rng.normal(size=(300, 8)) @ rng.normal(size=(8, 900)))
    assert low.n_outliers == 8 and low.outlier_mass == pytest.approx(1.0)


def test_no_hair_and_attention_kl():
    rng = np.random.default_rng(11)
    internal_a, internal_b = rng.normal(3, 1, (4, 15)), rng.normal(3, 1, (4, 15))
    ext = rng.normal(1, 0.2, (20, 6, 15))
    same = no_hair(internal_a, internal_b, ext, ext.copy(), rng=1)
    assert same.external_max_diff == 0.0 and same.external_p is None and same.ratio == 0.0
    shifted = no_hair(internal_a, internal_b, ext, ext + 0.1 + rng.normal(0, 0.01, ext.shape), rng=1)
    assert shifted.external_mean_diff == pytest.approx(-0.1, abs=0.01)
    assert shifted.external_p < 1e-3 and shifted.external_ci[1] < 0
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    q = np.array([[0.25, 0.75], [1.0, 0.0]])
    expected = (0.5 * np.log(2) + 0.5 * np.log(0.5 / 0.75)) / 2
    assert attention_kl(p, q) == pytest.approx(expected)
    from scipy.special import rel_entr

    assert attention_kl(p, q) == pytest.approx(rel_entr(p, q).sum(-1).mean())
