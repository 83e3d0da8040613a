"""Model versus human: log-likelihood, the multinomial ceiling, KL, G²."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from probe.analysis.bell.system import chsh_system, cyclic_system
from probe.analysis.bell.versus_human import versus_human
from probe.errors import DataError

HUMAN = np.array([[30, 10, 10, 50], [45, 5, 20, 30], [12, 38, 30, 20], [25, 25, 25, 25]])


def test_the_human_distribution_itself_reaches_the_ceiling():
    r = versus_human(HUMAN, HUMAN / HUMAN.sum(axis=1, keepdims=True), chsh_system(), n_boot=200)
    assert r.gap_total == pytest.approx(0, abs=1e-9) and r.skill == pytest.approx(1)
    assert r.p_value == pytest.approx(1)


def test_a_uniform_model_has_no_skill():
    r = versus_human(HUMAN, np.full((4, 4), 0.25), chsh_system(), n_boot=200)
    assert r.skill == pytest.approx(0, abs=1e-12)
    assert r.loglik_total == pytest.approx(-HUMAN.sum() * np.log(4))


def test_g2_and_kl_match_scipy():
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(4), size=4)
    r = versus_human(HUMAN, q, chsh_system(), n_boot=200)
    g2 = sum(stats.power_divergence(HUMAN[c], q[c] * HUMAN[c].sum(), lambda_="log-likelihood").statistic
             for c in range(4))
    assert r.g2 == pytest.approx(g2)
    p_hat = HUMAN / HUMAN.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(r.kl_human_model, [stats.entropy(p_hat[c], q[c]) for c in range(4)], atol=1e-12)
    assert r.df == 12 and r.ceiling_expected == pytest.approx(r.ceiling_total - 6)
    lo, hi = r.loglik_total_ci95
    assert lo < r.loglik_total < hi


def test_zero_model_probabilities_are_floored_and_counted():
    q = np.array([[1, 0, 0, 0]] * 6, dtype=float)
    r = versus_human(np.full((6, 4), 5), q, cyclic_system(6), n_boot=50)
    assert r.floored_cells == 18 and np.isfinite(r.loglik_total)


def test_bad_shapes():
    with pytest.raises(DataError):
        versus_human(HUMAN, np.full((3, 4), 0.25), chsh_system())
