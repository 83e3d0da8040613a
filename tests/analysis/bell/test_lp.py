"""LP measures: known answers (PR box, products, the singlet, Peres-Mermin), CbD identities, the `contextuality` package."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from probe.analysis.bell import cyclic, lp
from probe.analysis.bell.system import chsh_system, cyclic_system, make_system

PR = np.array([[0, .5, .5, 0], [.5, 0, 0, .5], [.5, 0, 0, .5], [.5, 0, 0, .5]])


def singlet_box(angles=(0.0, math.pi / 2, 3 * math.pi / 4, math.pi / 4)):
    """P(a, b | x, y) of the singlet from projectors, contexts AB, AB', A'B, A'B' (a numeric state, not a formula)."""
    def proj(theta, s):
        obs = np.array([[math.cos(theta), math.sin(theta)], [math.sin(theta), -math.cos(theta)]])
        return (np.eye(2) + s * obs) / 2
    psi = np.array([0, 1, -1, 0]) / math.sqrt(2)
    rho = np.outer(psi, psi)
    th = dict(zip(("A", "A'", "B", "B'"), angles, strict=True))
    out = []
    for x, y in (("A", "B"), ("A", "B'"), ("A'", "B"), ("A'", "B'")):
        out.append([np.trace(rho @ np.kron(proj(th[x], a), proj(th[y], b))).real for a in (1, -1) for b in (1, -1)])
    return np.array(out)


def test_pr_box():
    s = chsh_system()
    assert lp.contextual_fraction(PR, s).value == pytest.approx(1.0, abs=1e-9)
    assert lp.signalling_fraction(PR, s).value == pytest.approx(0.0, abs=1e-9)
    r = lp.cbd_lp(PR, s)
    assert r.cnt2 == pytest.approx(0.5) and r.cnt1 == pytest.approx(0.5) and r.ncnt2 == 0


def test_products_of_marginals_are_noncontextual():
    rng = np.random.default_rng(0)
    for system in (chsh_system(), cyclic_system(5)):
        for _ in range(4):
            plus = rng.uniform(0, 1, size=len(system.contents))
            p = np.array([[plus[u] * plus[v], plus[u] * (1 - plus[v]), (1 - plus[u]) * plus[v],
                           (1 - plus[u]) * (1 - plus[v])] for u, v in system.contexts])
            assert lp.contextual_fraction(p, system).value == pytest.approx(0, abs=1e-9)
            assert lp.signalling_fraction(p, system).value == pytest.approx(0, abs=1e-9)
            assert lp.closest_noncontextual(p, system).noncontextual
            r = lp.cbd_lp(p, system)
            assert r.cnt2 == 0 and not r.contextual and r.ncnt2 >= 0


def test_singlet_at_optimal_angles():
    """CF = (S - 2)/2 = sqrt 2 - 1 (Abramsky, Barbosa & Mansfield 2017); CNT2 = (2 sqrt 2 - 2)/4."""
    p = singlet_box()
    assert float(cyclic.s_odd(cyclic.correlators(p))) == pytest.approx(2 * math.sqrt(2))
    s = chsh_system()
    assert lp.contextual_fraction(p, s).value == pytest.approx(math.sqrt(2) - 1, abs=1e-9)
    assert lp.signalling_fraction(p, s).value == pytest.approx(0, abs=1e-9)
    assert lp.cbd_lp(p, s).cnt2 == pytest.approx((2 * math.sqrt(2) - 2) / 4, abs=1e-9)


def test_cf_of_no_signalling_chsh_boxes_is_half_the_violation():
    """In the no-signalling CHSH polytope every box is a mixture of one PR box and local boxes: CF = max(0, (s_odd - 2)/2)."""
    rng = np.random.default_rng(1)
    s = chsh_system()
    for _ in range(40):
        local = lp.global_incidence(s).toarray() @ rng.dirichlet(np.ones(16) * 0.3)
        t = rng.uniform()
        p = t * PR + (1 - t) * local.reshape(4, 4)
        expected = max(0.0, (float(cyclic.s_odd(cyclic.correlators(p))) - 2) / 2)
        assert lp.contextual_fraction(p, s).value == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_cyclic_lp_measures_equal_cnt1_over_four(n):
    """Dzhafarov, Kujala & Cervantes 2020: in cyclic systems CNT1 = CNT2 (here in probability units: CNT1_cyclic / 4)."""
    rng = np.random.default_rng(n)
    system = cyclic_system(n)
    for _ in range(15):
        p = rng.dirichlet(np.ones(4) * 0.5, size=n)
        closed = float(cyclic.cnt1(p, system))
        problem = lp.coupling_problem(p, system)
        if closed > 1e-9:
            assert lp.cnt1_lp(problem) == pytest.approx(closed / 4, abs=1e-7)
            assert lp.cnt2(problem) == pytest.approx(closed / 4, abs=1e-7)
            assert lp.cnt3(problem) > 0
        else:
            assert lp.cnt2(problem) == 0 and lp.cnt1_lp(problem) == 0 and lp.cnt3(problem) == 0


def test_ncnt2_is_positive_inside_and_zero_on_the_boundary():
    s = chsh_system()
    assert lp.cbd_lp(np.full((4, 4), 0.25), s).ncnt2 > 0.1
    deterministic = np.array([[1.0, 0, 0, 0]] * 4)  # a vertex of the polytope
    assert lp.cbd_lp(deterministic, s).ncnt2 == 0


def test_peres_mermin_quantum_model_is_strongly_contextual():
    """Rows multiply to +1, columns to +1 except the last (-1): no global assignment, CF = 1."""
    names = [f"A{i}{j}" for i in range(1, 4) for j in range(1, 4)]
    rows = [[f"A{i}{j}" for j in range(1, 4)] for i in range(1, 4)]
    cols = [[f"A{i}{j}" for i in range(1, 4)] for j in range(1, 4)]
    system = make_system(names, rows + cols)
    outcomes = np.array(list(itertools.product((1, -1), repeat=3)))
    tables = []
    for k in range(6):
        parity = -1 if k == 5 else 1
        ok = outcomes.prod(axis=1) == parity
        tables.append(ok / ok.sum())
    assert lp.contextual_fraction(tables, system).value == pytest.approx(1.0, abs=1e-9)
    assert lp.signalling_fraction(tables, system).value == pytest.approx(0.0, abs=1e-9)
    assert system.n_variables == 18  # its coupling LPs (2**18 columns) are left to the benchmark


def test_closest_noncontextual_fit_is_local_and_zero_for_local_data():
    s = chsh_system()
    fit = lp.closest_noncontextual(PR, s)
    assert not fit.noncontextual and fit.distance > 0
    assert lp.contextual_fraction(np.stack(fit.fitted), s).value == pytest.approx(0, abs=1e-9)
    assert float(cyclic.s_odd(cyclic.correlators(np.stack(fit.fitted)))) <= 2 + 1e-9


def test_batched_cf_equals_one_lp_per_system():
    rng = np.random.default_rng(4)
    s = cyclic_system(6)
    p = rng.dirichlet(np.ones(4), size=(30, 6))
    batched = lp.contextual_fraction_batch(p.reshape(30, -1), s, chunk=7)
    single = [lp.contextual_fraction(x, s).value for x in p]
    np.testing.assert_allclose(batched, single, atol=1e-8)


def test_too_large_systems_are_refused_in_one_line():
    from probe.errors import DataError

    with pytest.raises(DataError, match="coupling LP needs 2"):
        lp.coupling_problem(np.full((11, 4), 0.25), cyclic_system(11))


def test_agrees_with_the_contextuality_package_on_random_systems():
    """CF and SF against `contextuality` (PyPI; Vallée & Sohbi), which solves the same LPs with cvxpy."""
    ctx = pytest.importorskip("contextuality")
    pytest.importorskip("cvxpy")
    rng = np.random.default_rng(5)
    for system in (chsh_system(), cyclic_system(6)):
        scenario = ctx.MeasurementScenario(list(range(len(system.contents))), [list(c) for c in system.contexts], [0, 1])
        for _ in range(8):
            p = rng.dirichlet(np.ones(4), size=system.n_contexts)
            model = ctx.EmpiricalModel(scenario, p.ravel())
            assert lp.contextual_fraction(p, system).value == pytest.approx(model.compute_cf(solver="HIGHS")["CF"],
                                                                            abs=1e-7)
            assert lp.signalling_fraction(p, system).value == pytest.approx(model.compute_sf(solver="HIGHS")["SF"],
                                                                            abs=1e-7)


def test_vectorised_cf_from_dual_vertices_equals_the_lp():
    pytest.importorskip("cdd")
    from probe.analysis.bell.fraction_vertices import contextual_fraction_vectorised, dual_vertices

    rng = np.random.default_rng(6)
    for system, n_vertices in ((chsh_system(), 132), (cyclic_system(5), None)):
        verts = dual_vertices(system)
        if n_vertices:
            assert len(verts) == n_vertices
        p = rng.dirichlet(np.ones(4), size=(40, system.n_contexts))
        p[:20] = 0.5 * p[:20] + 0.5 * np.array([[0.5, 0, 0, 0.5]] * (system.n_contexts - 1) + [[0, 0.5, 0.5, 0]])
        fast = contextual_fraction_vectorised(p.reshape(40, -1), verts)
        np.testing.assert_allclose(fast, [lp.contextual_fraction(x, system).value for x in p], atol=1e-9)


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_published_identities_of_cyclic_systems(n):
    """Cervantes 2023 (J. Math. Psych. 112, 102726): CF = 2 CNT2 in (consistently connected) cyclic systems;
    Camillo & Cervantes 2023 (arXiv:2305.16574): CNT3 is proportional to CNT2 in cyclic systems (here 2/(n-1))."""
    rng = np.random.default_rng(10 + n)
    system = cyclic_system(n)
    pr = np.array([[0.5, 0, 0, 0.5]] * (n - 1) + [[0, 0.5, 0.5, 0]])
    incidence = lp.global_incidence(system)
    ratios = []
    for _ in range(6):
        w = rng.uniform()
        consistent = w * pr + (1 - w) * (incidence @ rng.dirichlet(np.ones(2**n) * 0.3)).reshape(n, 4)
        assert lp.contextual_fraction(consistent, system).value == pytest.approx(
            2 * lp.cnt2(lp.coupling_problem(consistent, system)), abs=1e-8)
        w = rng.uniform(0.5, 1)
        signalling = w * pr + (1 - w) * rng.dirichlet(np.ones(4), size=n)
        problem = lp.coupling_problem(signalling, system)
        c2 = lp.cnt2(problem)
        if c2 > 1e-6:
            ratios.append(lp.cnt3(problem) / c2)
    assert ratios and np.allclose(ratios, 2 / (n - 1), atol=1e-7)


@pytest.mark.parametrize("system", [chsh_system(), cyclic_system(6)], ids=["chsh", "cyclic6"])
def test_signalling_fraction_batch_equals_one_lp_per_system(system):
    rng = np.random.default_rng(4)
    k = system.n_contexts
    base = rng.dirichlet(np.ones(4), size=k)
    boot = [rng.multinomial(60, base[c], size=40) / 60 for c in range(k)]
    one_by_one = np.array([lp.signalling_fraction([b[i] for b in boot], system).value for i in range(40)])
    batch = lp.signalling_fraction_batch(np.concatenate(boot, axis=1), system, chunk=15)  # blocks of 15, 15, 10
    assert np.abs(batch - one_by_one).max() < 1e-9
    assert one_by_one.std() > 0.01  # the replicates really differ


def test_signalling_fraction_batch_known_answers():
    sig = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], float)  # bell.md section 6.4: SF = 1
    out = lp.signalling_fraction_batch(np.stack([PR.ravel(), sig.ravel(), singlet_box().ravel()]), chsh_system())
    assert out == pytest.approx([0.0, 1.0, 0.0], abs=1e-9)
