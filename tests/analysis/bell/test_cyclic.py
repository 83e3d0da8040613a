"""CbD for cyclic systems of rank n: closed forms against enumeration, the rank-4 module and known cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from probe.analysis.bell import chsh, cyclic
from probe.analysis.bell.system import chsh_system, cyclic_system, make_system
from probe.errors import DataError


def s_odd_by_enumeration(x):
    best = -np.inf
    for signs in itertools.product((1, -1), repeat=len(x)):
        if signs.count(-1) % 2 == 1:
            best = max(best, float(np.dot(signs, x)))
    return best


@pytest.mark.parametrize("n", [3, 4, 5, 6, 8])
def test_s_odd_closed_form_equals_enumeration(n):
    rng = np.random.default_rng(n)
    x = rng.uniform(-1, 1, size=(200, n))
    x[:20, 0] = 0.0  # zeros can take either sign
    expected = np.array([s_odd_by_enumeration(row) for row in x])
    np.testing.assert_allclose(cyclic.s_odd(x), expected, atol=1e-12)


def test_rank_4_matches_the_chsh_module():
    rng = np.random.default_rng(0)
    system = chsh_system()
    for _ in range(50):
        counts = rng.integers(0, 40, size=(4, 4)) + 1
        p = counts / counts.sum(axis=1, keepdims=True)
        assert cyclic.s_odd(cyclic.correlators(p)) == pytest.approx(float(chsh.s_odd(chsh.correlators(p.reshape(4, 2, 2)))), abs=1e-12)
        assert cyclic.delta(p, system) == pytest.approx(float(chsh.delta(p.reshape(4, 2, 2))), abs=1e-12)
        r = cyclic.cbd_cyclic(counts, system, n_boot=50, n_post=50)
        c = chsh.chsh(counts, n_boot=50, n_post=50)
        assert r.cnt1 == pytest.approx(c.cnt1, abs=1e-12)


def test_pr_type_box_of_every_rank_has_cnt1_two():
    """n - 1 perfectly correlated contexts and one anticorrelated: s_odd = n, Delta = 0, CNT1 = 2."""
    for n in range(3, 11):
        p = np.array([[0.5, 0, 0, 0.5]] * (n - 1) + [[0, 0.5, 0.5, 0]])
        system = cyclic_system(n)
        assert float(cyclic.s_odd(cyclic.correlators(p))) == pytest.approx(n)
        assert float(cyclic.cnt1(p, system)) == pytest.approx(2.0)


def test_signalling_deterministic_data_are_not_contextual():
    """bell.md section 6.4: S = 4 with Delta = 6, CNT1 = -4."""
    p = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    system = chsh_system()
    assert float(cyclic.s_odd(cyclic.correlators(p))) == 4
    assert float(cyclic.delta(p, system)) == 6
    assert float(cyclic.cnt1(p, system)) == -4


@pytest.mark.parametrize("n", [3, 5, 6])
def test_deterministic_global_assignments_are_never_contextual(n):
    system = cyclic_system(n)
    for values in itertools.product((1, -1), repeat=n):
        p = np.zeros((n, 4))
        for c, (u, v) in enumerate(system.contexts):
            p[c, (0 if values[u] == 1 else 2) + (0 if values[v] == 1 else 1)] = 1
        assert float(cyclic.cnt1(p, system)) <= 1e-12
        assert float(cyclic.s_odd(cyclic.correlators(p))) == pytest.approx(n - 2)


def test_contexts_in_either_order_give_the_same_delta():
    """A context may list its two contents in either order; the table axes follow the listing."""
    a = make_system(["A", "B", "C"], [["A", "B"], ["B", "C"], ["C", "A"]])
    b = make_system(["A", "B", "C"], [["A", "B"], ["C", "B"], ["C", "A"]])
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(4), size=3)
    q = p.copy()
    q[1] = p[1][[0, 2, 1, 3]]  # transpose the 2x2 table of context BC
    assert float(cyclic.delta(p, a)) == pytest.approx(float(cyclic.delta(q, b)))


def test_bootstrap_interval_and_posterior_cover_the_singlet():
    a, b = (1 + 1 / math.sqrt(2)) / 4, (1 - 1 / math.sqrt(2)) / 4
    counts = np.round(np.array([[b, a, a, b], [a, b, b, a], [a, b, b, a], [a, b, b, a]]) * 400)
    r = cyclic.cbd_cyclic(counts, chsh_system(), n_boot=2000, n_post=2000)
    lo, hi = r.s_odd_ci95_boot
    assert lo < 2 * math.sqrt(2) < hi
    assert r.p_cnt1_gt_0_post > 0.99 and r.contextual


def test_non_cyclic_systems_are_refused():
    chain = make_system(["A", "B", "C", "D"], [["A", "B"], ["B", "C"], ["C", "D"], ["A", "C"]])
    with pytest.raises(DataError, match="not cyclic"):
        cyclic.cbd_cyclic(np.ones((4, 4)), chain)
    with pytest.raises(DataError, match="integer >= 3"):
        cyclic_system(2)
