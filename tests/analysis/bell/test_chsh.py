"""Closed-form known answers for the CHSH analysis (methods note bell.md section 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from probe.analysis.bell.chsh import (
    CONTEXTS,
    TSIRELSON,
    chsh,
    chsh_within,
    correlators,
    delta,
    deterministic_strategies,
    s_odd,
    s_signed,
)
from probe.analysis.bell.exact import chsh_exact
from probe.errors import DataError
from probe.providers.sim import SimProvider, projector, werner_state

ANGLES = {"A": 0.0, "A'": math.pi / 2, "B": 3 * math.pi / 4, "B'": math.pi / 4}


def quantum_table(state: np.ndarray) -> np.ndarray:
    """(4, 2, 2) probabilities of projective measurements at the optimal angles."""
    table = np.zeros((4, 2, 2))
    for c, ctx in enumerate(CONTEXTS):
        x = "A'" if ctx.startswith("A'") else "A"
        y = ctx[len(x):]
        for i, a in enumerate((1, -1)):
            for j, b in enumerate((1, -1)):
                op = np.kron(projector(ANGLES[x], a), projector(ANGLES[y], b))
                table[c, i, j] = np.real(np.trace(state @ op))
    return table


def test_singlet_gives_tsirelson_exactly():
    psi = np.array([0, 1, -1, 0]) / np.sqrt(2)
    table = quantum_table(np.outer(psi, psi))
    r = chsh_exact(table)
    assert r.S == pytest.approx(2 * math.sqrt(2), abs=1e-12)
    assert r.S_signed == pytest.approx(-2 * math.sqrt(2), abs=1e-12)  # singlet flips every sign
    assert r.delta == pytest.approx(0, abs=1e-12)
    assert r.cnt1 == pytest.approx(2 * math.sqrt(2) - 2, abs=1e-12)
    assert r.contextual
    np.testing.assert_allclose(sorted(set(np.round(table.ravel(), 9))),
                               sorted({round((1 - 1 / math.sqrt(2)) / 4, 9), round((1 + 1 / math.sqrt(2)) / 4, 9)}))


def test_phi_plus_against_qutip():
    qutip = pytest.importorskip("qutip")
    phi = (qutip.tensor(qutip.basis(2, 0), qutip.basis(2, 0)) + qutip.tensor(qutip.basis(2, 1), qutip.basis(2, 1)))
    rho = (phi * phi.dag()).unit()

    def obs(theta):
        return math.cos(theta) * qutip.sigmaz() + math.sin(theta) * qutip.sigmax()

    e_qutip = []
    for ctx in CONTEXTS:
        x = "A'" if ctx.startswith("A'") else "A"
        y = ctx[len(x):]
        e_qutip.append(qutip.expect(qutip.tensor(obs(ANGLES[x]), obs(ANGLES[y])), rho))
    ours = correlators(quantum_table(werner_state(1.0, "phi+")))
    np.testing.assert_allclose(ours, e_qutip, atol=1e-12)
    assert s_signed(ours) == pytest.approx(2 * math.sqrt(2), abs=1e-12)


def test_maximally_mixed_state_gives_zero():
    r = chsh_exact(quantum_table(np.eye(4) / 4))
    assert r.S == pytest.approx(0, abs=1e-12)


def test_product_state_factorises_and_is_local():
    rng = np.random.default_rng(3)
    for _ in range(20):
        def rand_rho():
            m = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
            r = m @ m.conj().T
            return np.real_if_close(r / np.trace(r))
        ra, rb = rand_rho(), rand_rho()
        rho = np.kron(ra, rb)
        table = quantum_table(rho)
        e = correlators(table)
        for c, ctx in enumerate(CONTEXTS):
            x = "A'" if ctx.startswith("A'") else "A"
            y = ctx[len(x):]
            ex = np.real(np.trace(ra @ (2 * projector(ANGLES[x], 1) - np.eye(2))))
            ey = np.real(np.trace(rb @ (2 * projector(ANGLES[y], 1) - np.eye(2))))
            assert e[c] == pytest.approx(ex * ey, abs=1e-12)
        assert abs(s_signed(e)) <= 2 + 1e-12


def test_deterministic_local_strategies_are_bounded_by_two():
    tables = deterministic_strategies()
    assert len(tables) == 16
    values = [s_signed(correlators(t)) for t in tables]
    assert set(np.round(values, 12)) == {-2.0, 2.0}
    assert all(delta(t) == 0 for t in tables)
    rng = np.random.default_rng(0)
    stack = np.stack(tables)
    for _ in range(500):
        w = rng.dirichlet(np.ones(16))
        mix = np.tensordot(w, stack, axes=1)
        assert abs(s_signed(correlators(mix))) <= 2 + 1e-12
        assert s_odd(correlators(mix)) <= 2 + 1e-12


def test_pr_box_gives_four_with_consistent_marginals():
    anti = [[0, 0.5], [0.5, 0]]
    corr = [[0.5, 0], [0, 0.5]]
    r = chsh_exact(np.array([anti, corr, corr, corr]))
    assert r.S == pytest.approx(4)
    assert r.delta == pytest.approx(0)
    assert r.category == "algebraic"


def test_signalling_deterministic_data_is_four_but_not_contextual():
    # Horse Whinnies, Horse Snorts, Tiger Growls, Cat Meows (section 6.4)
    counts = np.zeros((4, 2, 2))
    counts[0, 0, 1] = counts[1, 0, 0] = counts[2, 0, 0] = counts[3, 1, 1] = 81
    r = chsh(counts, n_boot=300, n_post=300)
    assert r.S == pytest.approx(4)
    assert r.delta == pytest.approx(6)
    assert r.cnt1 == pytest.approx(-4)
    assert not r.contextual
    assert r.p_value is None and r.z is None  # no z = infinity
    assert not r.marginals_consistent
    assert any("deterministic" in w for w in r.warnings)


def test_s_odd_invariant_to_relabelling_one_concept():
    rng = np.random.default_rng(1)
    for _ in range(50):
        p = rng.dirichlet(np.ones(4), size=4).reshape(4, 2, 2)
        swapped = p.copy()
        swapped[[0, 1]] = p[[0, 1]][:, ::-1, :]  # swap + and - of A (contexts AB, AB')
        assert s_odd(correlators(p)) == pytest.approx(s_odd(correlators(swapped)), abs=1e-12)
        swapped_b = p.copy()
        swapped_b[[1, 3]] = p[[1, 3]][:, :, ::-1]  # swap + and - of B'
        assert s_odd(correlators(p)) == pytest.approx(s_odd(correlators(swapped_b)), abs=1e-12)
        # the Brussels S is not invariant in general, S_odd >= it always
        assert s_odd(correlators(p)) >= abs(s_signed(correlators(p))) - 1e-12


def test_standard_error_matches_bootstrap_sd():
    # all E = 0, N per context: SE = 2 / sqrt(N)
    n = 400
    counts = np.full((4, 2, 2), n / 4)
    r = chsh(counts, n_boot=10_000, n_post=1000, seed=5)
    assert r.S_se == pytest.approx(2 / math.sqrt(n), rel=1e-12)
    rng = np.random.default_rng(11)
    boot = np.stack([rng.multinomial(n, [0.25] * 4, size=10_000) for _ in range(4)], axis=1)
    sd = np.std(s_signed(correlators(boot.reshape(-1, 4, 2, 2))))
    assert sd == pytest.approx(r.S_se, rel=0.02)


def test_marginal_selectivity_uses_the_factor_two():
    # A is + in 80% of AB and 50% of AB': Delta counts 2 * 0.3 = 0.6 for A
    p = np.full((4, 2, 2), 0.25)
    p[0] = [[0.4, 0.4], [0.1, 0.1]]
    assert delta(p) == pytest.approx(0.6)


def test_within_subject_t_test():
    rng = np.random.default_rng(2)
    products = rng.choice([-1, 1], size=(81, 4))
    r = chsh_within(products)
    w = np.array([-1, 1, 1, 1])
    s_i = products @ w
    assert r.S == pytest.approx(abs(s_i.mean()))
    from scipy import stats

    sign = 1 if s_i.mean() >= 0 else -1
    expected = stats.ttest_1samp(sign * s_i, 2, alternative="greater")
    assert r.p_value == pytest.approx(expected.pvalue)


def test_counts_validation_messages():
    with pytest.raises(DataError, match="shape"):
        chsh(np.zeros((3, 4)))
    with pytest.raises(DataError, match="no valid answers in context"):
        chsh(np.zeros((4, 4)))
    with pytest.raises(DataError, match="whole numbers"):
        chsh(np.full((4, 4), 1.5))


@pytest.mark.slow
def test_interval_coverage_for_the_singlet():
    """95% intervals contain 2 sqrt 2 in about 95% of replications (N = 200 per context)."""
    sim = SimProvider("quantum")
    table = np.array([[[sim.joint(x, y, a, b) for b in (1, -1)] for a in (1, -1)]
                      for x, y in (("A", "B"), ("A", "B'"), ("A'", "B"), ("A'", "B'"))])
    rng = np.random.default_rng(42)
    hits_boot = hits_post = 0
    reps = 300
    for i in range(reps):
        counts = np.stack([rng.multinomial(200, table[c].ravel()) for c in range(4)]).reshape(4, 2, 2)
        r = chsh(counts, n_boot=1000, n_post=1000, seed=i)
        hits_boot += r.S_ci95_boot[0] <= TSIRELSON <= r.S_ci95_boot[1]
        hits_post += r.S_ci95[0] <= TSIRELSON <= r.S_ci95[1]
    # binomial sd at 95% over 300 reps is 1.3%; S sits at the upper edge of its range, so allow 5 points
    assert 0.88 <= hits_boot / reps <= 0.99
    assert 0.88 <= hits_post / reps <= 0.995
