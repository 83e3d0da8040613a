"""Entropies, Meyer–Wallach Q and concurrence: closed forms, and qutip / quimb on the same states."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from probe.qsim import Circuit, statevector
from probe.qsim.measures import (
    concurrence,
    entanglement_entropy,
    linear_entropy,
    meyer_wallach,
    renyi_entropy,
    schmidt_coefficients,
)

qutip = pytest.importorskip("qutip")
quimb = pytest.importorskip("quimb")


def haar_states(count: int, n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=(count, 2**n)) + 1j * rng.normal(size=(count, 2**n))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def ghz(n: int) -> np.ndarray:
    c = Circuit(n).h(0)
    for w in range(n - 1):
        c.cnot(w, w + 1)
    return statevector(c).numpy()


def w_state(n: int) -> np.ndarray:
    v = np.zeros(2**n, dtype=complex)
    for k in range(n):
        v[1 << k] = 1 / math.sqrt(n)
    return v


def test_closed_forms():
    bell = ghz(2)
    assert entanglement_entropy(bell, [0]) == pytest.approx(1.0, abs=1e-12)
    assert linear_entropy(bell, 1) == pytest.approx(0.5, abs=1e-12)
    assert concurrence(bell) == pytest.approx(1.0, abs=1e-12)
    product = np.kron([math.cos(0.3), math.sin(0.3)], [1, 1j]) / math.sqrt(2)
    assert entanglement_entropy(product, [0]) == pytest.approx(0.0, abs=1e-12)
    assert concurrence(product) == pytest.approx(0.0, abs=1e-12)
    for n in (2, 3, 5, 7):
        assert meyer_wallach(ghz(n)) == pytest.approx(1.0, abs=1e-12)
        assert meyer_wallach(w_state(n)) == pytest.approx(4 * (n - 1) / n**2, abs=1e-12)
        prod = np.zeros(2**n)
        prod[5 % 2**n] = 1
        assert meyer_wallach(prod) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_haar_average_of_q(n):
    rng = np.random.default_rng(n)
    q = np.asarray(meyer_wallach(haar_states(4000, n, rng)))
    d = 2**n
    assert abs(q.mean() - (d - 2) / (d + 1)) < 4 * q.std() / math.sqrt(q.size)


def test_entropies_match_qutip_and_quimb(rng):
    n = 5
    for psi in haar_states(6, n, rng):
        ket = qutip.Qobj(psi.reshape(-1, 1), dims=[[2] * n, [1] * n])
        for keep in ([0], [1, 3], [0, 2, 4], [4, 1]):
            rho = ket.ptrace(sorted(keep))
            assert entanglement_entropy(psi, keep) == pytest.approx(qutip.entropy_vn(rho, base=2), abs=1e-10)
            assert linear_entropy(psi, keep) == pytest.approx(qutip.entropy_linear(rho), abs=1e-10)
            assert entanglement_entropy(psi, keep) == pytest.approx(
                quimb.entropy_subsys(psi, [2] * n, sorted(keep)), abs=1e-10)
            lam = np.linalg.eigvalsh(rho.full())
            lam = lam[lam > 1e-15]
            assert renyi_entropy(psi, keep, alpha=2) == pytest.approx(-np.log2((lam**2).sum()), abs=1e-10)
        assert renyi_entropy(psi, [0], alpha=1) == pytest.approx(entanglement_entropy(psi, [0]))
        lam = schmidt_coefficients(psi, 2)
        assert lam.sum() == pytest.approx(1.0, abs=1e-12)


def test_meyer_wallach_matches_qutip_purities(rng):
    n = 4
    for psi in haar_states(5, n, rng):
        ket = qutip.Qobj(psi.reshape(-1, 1), dims=[[2] * n, [1] * n])
        purity = np.mean([(ket.ptrace(k) ** 2).tr().real for k in range(n)])
        assert meyer_wallach(psi) == pytest.approx(2 * (1 - purity), abs=1e-12)


def test_concurrence_matches_qutip(rng):
    for psi in haar_states(8, 2, rng):
        ket = qutip.Qobj(psi.reshape(-1, 1), dims=[[2, 2], [1, 1]])
        # qutip takes square roots of eigenvalues, good to ~1e-8; the closed form C = 2 sqrt(det rho_A) is exact
        assert concurrence(psi) == pytest.approx(qutip.concurrence(ket), abs=1e-7)
        rho_a = ket.ptrace(0).full()
        assert concurrence(psi) == pytest.approx(2 * math.sqrt(abs(np.linalg.det(rho_a))), abs=1e-12)
        mixed = 0.7 * ket * ket.dag() + 0.3 * qutip.Qobj(np.eye(4) / 4, dims=[[2, 2], [2, 2]])
        assert concurrence(mixed.full(), density=True) == pytest.approx(qutip.concurrence(mixed), abs=1e-8)


def test_torch_inputs_stay_differentiable():
    theta = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)
    psi = statevector(Circuit(2).ry(0).cnot(0, 1), theta)
    s = entanglement_entropy(psi, [0], base=math.e)
    (g,) = torch.autograd.grad(s, theta)
    # S(θ) = h(cos²(θ/2)) in nats; dS/dθ = sin θ / 2 · ln(cot²(θ/2)) ... check by finite differences
    def s_of(t):
        p = math.cos(t / 2) ** 2
        return -(p * math.log(p) + (1 - p) * math.log(1 - p))
    fd = (s_of(0.7 + 1e-6) - s_of(0.7 - 1e-6)) / 2e-6
    assert float(g) == pytest.approx(fd, rel=1e-6)
