"""The blocked engine's in-kernel gate building and analytic angle gradients, and its caches.

Gate matrices, phases and their angle derivatives are computed by the kernel module
from the raw angle columns (one autograd Function per call); these tests hold them to
the torch engine (``PROBE_QSIM_ENGINE=torch``) and to PennyLane at 1e-10, for shared,
per-sample and mixed angle pieces, and check that the lowering is cached.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

from probe.qsim import (
    Circuit,
    angle_encoding,
    blocked,
    expval_z,
    fusion,
    parameter_shift,
    ring_vqc,
    statevector,
)

qml = pytest.importorskip("pennylane")
pytest.importorskip("numba")

from tests.qsim.test_blocked import _pl_batched  # noqa: E402  (PennyLane states, ⟨Z⟩ and gradients)

N = 4


def mixed_circuit() -> Circuit:
    """RX/RY/RZ/PHASE runs (real and complex fused products, a diagonal inside a run), CNOT and CZ,
    fixed gates (H, S), and one angle slot used by two gates; slots 0..N-1 are the 'inputs'."""
    c = Circuit(N)
    for w in range(N):
        c.rx(w)
    c.gate("PHASE", 0)
    c.cz(0, 1)
    for _ in range(2):
        for w in range(N):
            c.ry(w).rz(w)
        c.rz(1).ry(1).gate("PHASE", 2).rx(2)
        for w in range(N):
            c.cnot(w, (w + 1) % N)
        c.cz(1, 3)
    c.ry(2, param=5).h(0).gate("S", 1).rx(3).gate("PHASE", 3)
    return c


def _run(c: Circuit, pieces: list[np.ndarray], state: np.ndarray | None = None):
    """States, ⟨Z⟩ and the gradient of Σ coef·⟨Z⟩ (+ Re ψ, to reach every amplitude) w.r.t. every piece."""
    ts = [torch.tensor(p, requires_grad=True) for p in pieces]
    psi = statevector(c, *ts, state=state)
    ez = expval_z(psi)
    loss = (ez * torch.linspace(0.5, 1.5, N, dtype=torch.float64)).sum() + 0.3 * psi.real.sum()
    grads = torch.autograd.grad(loss, ts)
    return [psi.detach().numpy(), ez.detach().numpy(), *[g.numpy() for g in grads]]


CASES = {
    "batch 1, one shared piece": lambda c, rng: [rng.uniform(0, 2 * np.pi, c.n_params)],
    "batch 1, (1, P) pieces": lambda c, rng: [rng.uniform(0, np.pi, (1, N)),
                                              rng.uniform(0, 2 * np.pi, (1, c.n_params - N))],
    "per-sample inputs, shared weights": lambda c, rng: [rng.uniform(0, np.pi, (5, N)),
                                                         rng.uniform(0, 2 * np.pi, c.n_params - N)],
    "everything per sample": lambda c, rng: [rng.uniform(0, 2 * np.pi, (5, c.n_params))],
    "shared inputs, per-sample weights, a (1, P) piece": lambda c, rng: [
        rng.uniform(0, np.pi, N - 1), rng.uniform(0, np.pi, (1, 1)), rng.uniform(0, 2 * np.pi, (5, c.n_params - N))],
}


@pytest.mark.parametrize("case", list(CASES))
def test_in_kernel_gates_match_the_torch_engine(case, rng, monkeypatch):
    monkeypatch.delenv("PROBE_QSIM_ENGINE", raising=False)
    c = mixed_circuit()
    assert blocked.supports(c, torch.complex128, None, True)
    pieces = CASES[case](c, rng)
    ours = _run(c, pieces)
    monkeypatch.setenv("PROBE_QSIM_ENGINE", "torch")
    ref = _run(c, pieces)
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("batch", [1, 6])
def test_in_kernel_gradients_match_pennylane_for_shared_and_per_sample_angles(batch, rng, monkeypatch):
    monkeypatch.delenv("PROBE_QSIM_ENGINE", raising=False)
    c = mixed_circuit()
    x = rng.uniform(0, np.pi, (batch, N))
    w = rng.uniform(0, 2 * np.pi, c.n_params - N)
    coef = rng.normal(size=N)
    psi_pl, ez_pl, g_pl = _pl_batched(c, np.concatenate([x, np.broadcast_to(w, (batch, w.size))], 1), coef)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    psi = statevector(c, xt, wt)
    ez = expval_z(psi)
    gx, gw = torch.autograd.grad((ez * torch.as_tensor(coef)).sum(), [xt, wt])
    np.testing.assert_allclose(psi.detach().numpy(), psi_pl, atol=1e-10)
    np.testing.assert_allclose(ez.detach().numpy(), ez_pl, atol=1e-10)
    np.testing.assert_allclose(gx.numpy(), g_pl[:, :N], atol=1e-10)  # per sample
    np.testing.assert_allclose(gw.numpy(), g_pl[:, N:].sum(0), atol=1e-10)  # shared: summed over the batch


def test_in_kernel_gradients_with_an_initial_state_match_the_torch_engine(rng, monkeypatch):
    monkeypatch.delenv("PROBE_QSIM_ENGINE", raising=False)
    c = Circuit(N).gate("PHASE", 0).cz(0, 1) + mixed_circuit()  # no product start: the state goes in
    psi0 = rng.normal(size=(3, 2**N)) + 1j * rng.normal(size=(3, 2**N))
    psi0 /= np.linalg.norm(psi0, axis=1, keepdims=True)
    pieces = [rng.uniform(0, np.pi, (3, N + 1)), rng.uniform(0, 2 * np.pi, c.n_params - N - 1)]
    ours = _run(c, pieces, state=torch.tensor(psi0))
    monkeypatch.setenv("PROBE_QSIM_ENGINE", "torch")
    ref = _run(c, pieces, state=torch.tensor(psi0))
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_parameter_shift_agrees_with_the_in_kernel_gradient(rng, monkeypatch):
    monkeypatch.delenv("PROBE_QSIM_ENGINE", raising=False)
    c = mixed_circuit()
    theta = torch.as_tensor(rng.uniform(0, 2 * np.pi, c.n_params))
    coef = torch.tensor([0.3, -1.0, 2.0, 0.7], dtype=torch.float64)
    ps = parameter_shift(c, theta, lambda s: (expval_z(s) * coef).sum())
    th = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((expval_z(statevector(c, th)) * coef).sum(), th)
    np.testing.assert_allclose(ps.numpy(), g.numpy(), atol=1e-10)


def test_lowering_is_cached_across_calls_and_rebuilt_circuits(rng, monkeypatch):
    monkeypatch.delenv("PROBE_QSIM_ENGINE", raising=False)
    monkeypatch.setattr(fusion, "_PLANS", OrderedDict())
    lowered = []
    real = blocked._program
    monkeypatch.setattr(blocked, "_program", lambda low, colb: lowered.append(colb.copy()) or real(low, colb))

    def build() -> Circuit:
        return angle_encoding(N) + ring_vqc(N, 2)

    c = build()
    w = torch.tensor(rng.uniform(0, 2 * np.pi, c.n_params - N), requires_grad=True)
    for _ in range(5):  # a training loop: new inputs and weights every call
        x = torch.as_tensor(rng.uniform(0, np.pi, (1, N)))
        expval_z(statevector(c, x, w)).sum().backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    assert len(lowered) == 1
    again = build()  # the same gates, a new Circuit object: the plan is found by structure
    assert again is not c
    plan = fusion.compile_circuit(c, start_zero=True, split_diagonals=True)
    assert fusion.compile_circuit(again, start_zero=True, split_diagonals=True) is plan
    expval_z(statevector(again, torch.zeros(1, N), w)).sum().backward()
    assert len(lowered) == 1
    expval_z(statevector(again, torch.zeros(7, N), w)).sum().backward()  # inputs now per sample: one new program
    expval_z(statevector(again, torch.zeros(3, N), w)).sum().backward()
    assert len(lowered) == 2
    assert lowered[1][:N].tolist() == [1] * N and lowered[1][N:].tolist() == [0] * (c.n_params - N)
    other = build().ry(0)  # a different structure is compiled on its own
    assert fusion.compile_circuit(other, start_zero=True, split_diagonals=True) is not plan
