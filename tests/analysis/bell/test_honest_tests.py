"""Bootstrap-under-H0 p-values: calibrated where the z-test over-rejects, and with power where it should."""

from __future__ import annotations

import math

import numpy as np
import pytest

from probe.analysis.bell.honest_tests import honest_p_values, null_tables
from probe.analysis.bell.system import chsh_system, cyclic_system

# A = B = B' = +1, A' a fair coin: a local model with two sign placements tied at the bound 2,
# so S_odd_hat = 2 + |E3_hat - E4_hat| >= 2 in every sample.
TIED = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [.5, 0, .5, 0], [.5, 0, .5, 0]])


def simulate(p, n, reps, seed):
    rng = np.random.default_rng(seed)
    for r in range(reps):
        yield r, np.stack([rng.multinomial(n, row) for row in p])


@pytest.mark.slow
def test_false_positive_rate_under_a_classical_model():
    """Nominal 5 %: the bootstrap stays within MC error of it, the z-test on S_odd does not (about 10 %)."""
    reps = 400
    z_rej = boot_rej = cnt1_rej = 0
    for r, counts in simulate(TIED, 100, reps, seed=11):
        h = honest_p_values(counts, chsh_system(), n_boot=400, seed=r)
        z_rej += h.p_z is not None and h.p_z < 0.05
        boot_rej += h.p_s_odd < 0.05
        cnt1_rej += h.p_cnt1 < 0.05
    mc = math.sqrt(0.05 * 0.95 / reps)
    assert boot_rej / reps <= 0.05 + 2 * mc
    assert cnt1_rej / reps <= 0.05 + 2 * mc
    assert z_rej / reps > 0.05 + 2 * mc  # theory: P(|Z| > 1.645) = 0.10


def test_the_tied_model_makes_every_sample_reach_the_bound():
    for _, counts in simulate(TIED, 100, 20, seed=1):
        h = honest_p_values(counts, chsh_system(), n_boot=100)
        assert h.s_odd >= 2 - 1e-12


def test_power_against_the_singlet():
    a, b = (1 + 1 / math.sqrt(2)) / 4, (1 - 1 / math.sqrt(2)) / 4
    singlet = np.array([[b, a, a, b], [a, b, b, a], [a, b, b, a], [a, b, b, a]])
    rejections = sum(honest_p_values(c, chsh_system(), n_boot=400, seed=r).p_s_odd < 0.05
                     for r, c in simulate(singlet, 100, 30, seed=2))
    assert rejections >= 27


def test_signalling_beyond_the_bound_is_not_called_contextual():
    """Direct influences push S_odd up (bell.md 6.4, softened); CNT1's null keeps the marginals and does not reject."""
    p = np.array([[0.05, 0.85, 0.05, 0.05], [0.85, 0.05, 0.05, 0.05], [0.85, 0.05, 0.05, 0.05],
                  [0.05, 0.05, 0.05, 0.85]])
    counts = np.round(p * 200)
    h = honest_p_values(counts, chsh_system(), n_boot=500)
    assert h.s_odd > 2.5 and h.p_s_odd < 0.01  # not Bell/Fine-noncontextual...
    assert h.p_cnt1 > 0.05 and h.cnt1 < 0      # ...but CbD-noncontextual
    assert "direct influences" in h.verdict


def test_null_models_are_noncontextual():
    rng = np.random.default_rng(3)
    system = cyclic_system(6)
    counts = rng.integers(1, 50, size=(6, 4))
    counts[0] = [40, 2, 2, 40]
    fine, cbd, _, _ = null_tables(counts, system)
    from probe.analysis.bell import cyclic

    assert float(cyclic.s_odd(cyclic.correlators(fine))) <= 4 + 1e-7
    assert float(cyclic.cnt1(cbd, system)) <= 1e-7
