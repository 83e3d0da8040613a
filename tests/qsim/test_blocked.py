"""The sample-blocked (numba) engine against PennyLane default.qubit and against the torch engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from probe.qsim import Circuit, angle_encoding, blocked, expval_z, parameter_shift, ring_vqc, statevector

qml = pytest.importorskip("pennylane")
pytest.importorskip("numba")

from tests.qsim.test_simulator import _pl_ops  # noqa: E402  (PennyLane gate names)

ONE = ["RX", "RY", "RZ", "PHASE", "H", "X", "Y", "Z", "S", "T", "SX"]
TWO = ["CNOT", "CZ", "SWAP", "CRZ", "CPHASE", "RZZ"]  # the kinds the blocked engine takes: diagonal, permutation


def supported_circuit(n: int, gates: int, rng: np.random.Generator) -> Circuit:
    c = Circuit(n)
    for _ in range(gates):
        if rng.random() < 0.6 or n == 1:
            c.gate(str(rng.choice(ONE)), int(rng.integers(n)))
        elif rng.random() < 0.9 or n < 3:
            a, b = rng.choice(n, 2, replace=False)
            c.gate(str(rng.choice(TWO)), int(a), int(b))
        else:
            a, b, t = rng.choice(n, 3, replace=False)
            c.gate("CCX", int(a), int(b), int(t))
    return c


@pytest.fixture(autouse=True)
def _blocked_on(monkeypatch):
    monkeypatch.delenv("PROBE_QSIM_ENGINE", raising=False)


def _pl_batched(c: Circuit, theta: np.ndarray, coef: np.ndarray, state=None):
    """PennyLane: states, ⟨Z_i⟩ and d(Σ coef·⟨Z⟩)/dθ summed over the batch (torch backprop, broadcast)."""
    n = c.n_qubits
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def f(th):
        if state is not None:
            qml.StatePrep(torch.as_tensor(state), wires=range(n))
        _pl_ops(c, th)
        return qml.state()

    th = torch.tensor(theta, requires_grad=True)
    psi = f(th)
    ez = expval_z(psi.detach())
    probs = psi.real**2 + psi.imag**2
    idx = torch.arange(2**n)
    signs = torch.stack([1 - 2 * ((idx >> (n - 1 - w)) & 1) for w in range(n)], -1).to(torch.float64)
    loss = (probs @ signs * torch.as_tensor(coef)).sum()
    (g,) = torch.autograd.grad(loss, th)
    return psi.detach().numpy(), ez.numpy(), g.numpy()


@pytest.mark.parametrize("n", [1, 2, 4, 6])
def test_states_expvals_gradients_match_pennylane(n, rng):
    for _ in range(3):
        c = supported_circuit(n, 30, rng)
        if c.n_params == 0:
            c.ry(0)
        assert blocked.supports(c, torch.complex128, None, True)
        theta = rng.uniform(0, 2 * np.pi, (5, c.n_params))
        coef = rng.normal(size=n)
        psi_pl, ez_pl, g_pl = _pl_batched(c, theta, coef)
        th = torch.tensor(theta, requires_grad=True)
        psi = statevector(c, th)
        ez = expval_z(psi)
        (g,) = torch.autograd.grad((ez * torch.as_tensor(coef)).sum(), th)
        np.testing.assert_allclose(psi.detach().numpy(), psi_pl, atol=1e-10)
        np.testing.assert_allclose(ez.detach().numpy(), ez_pl, atol=1e-10)
        np.testing.assert_allclose(g.numpy(), g_pl, atol=1e-10)


def test_ring_vqc_with_shared_weights_and_batched_inputs_matches_pennylane(rng):
    n, layers = 5, 3
    c = angle_encoding(n) + ring_vqc(n, layers)
    x = rng.uniform(0, np.pi, (7, n))
    w = rng.uniform(0, 2 * np.pi, c.n_params - n)
    coef = np.linspace(0.5, 1.5, n)
    theta = np.concatenate([x, np.broadcast_to(w, (7, w.size))], 1)
    psi_pl, ez_pl, g_pl = _pl_batched(c, theta, coef)
    wt = torch.tensor(w, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    psi = statevector(c, xt, wt)
    ez = expval_z(psi)
    gx, gw = torch.autograd.grad((ez * torch.as_tensor(coef)).sum(), [xt, wt])
    np.testing.assert_allclose(psi.detach().numpy(), psi_pl, atol=1e-10)
    np.testing.assert_allclose(ez.detach().numpy(), ez_pl, atol=1e-10)
    np.testing.assert_allclose(gx.numpy(), g_pl[:, :n], atol=1e-10)
    np.testing.assert_allclose(gw.numpy(), g_pl[:, n:].sum(0), atol=1e-10)


def test_initial_state_gradient_matches_the_torch_engine(rng, monkeypatch):
    n = 4
    c = supported_circuit(n, 25, rng).ry(1)
    psi0 = rng.normal(size=(3, 2**n)) + 1j * rng.normal(size=(3, 2**n))
    psi0 /= np.linalg.norm(psi0, axis=1, keepdims=True)
    theta = rng.uniform(0, 2 * np.pi, c.n_params)

    def grads():
        s = torch.tensor(psi0, requires_grad=True)
        th = torch.tensor(theta, requires_grad=True)
        out = statevector(c, th, state=s)
        loss = (expval_z(out) * torch.arange(1.0, n + 1)).sum() + out.real.sum()
        return [out.detach(), *torch.autograd.grad(loss, [s, th])]

    ours = grads()
    monkeypatch.setenv("PROBE_QSIM_ENGINE", "torch")
    ref = grads()
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)
    psi_pl, _, _ = _pl_batched(c, np.broadcast_to(theta, (3, theta.size)), np.ones(n), state=psi0)
    np.testing.assert_allclose(ours[0].numpy(), psi_pl, atol=1e-10)


def test_parameter_shift_agrees_with_the_blocked_gradient(rng):
    c = angle_encoding(3) + ring_vqc(3, 2) + Circuit(3).gate("CRZ", 0, 2).gate("RZZ", 1, 2).gate("PHASE", 0)
    assert blocked.supports(c, torch.complex128, None, True)
    theta = torch.as_tensor(rng.uniform(0, 2 * np.pi, c.n_params))
    coef = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    ps = parameter_shift(c, theta, lambda s: (expval_z(s) * coef).sum())
    th = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((expval_z(statevector(c, th)) * coef).sum(), th)
    np.testing.assert_allclose(ps.numpy(), g.numpy(), atol=1e-10)


def test_dense_two_qubit_gates_and_complex64_use_the_torch_engine():
    assert not blocked.supports(Circuit(2).gate("CRX", 0, 1), torch.complex128, None, True)
    assert not blocked.supports(Circuit(2).ry(0), torch.complex64, None, True)
