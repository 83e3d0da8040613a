"""The simulator against PennyLane default.qubit (states, gradients), parameter shift, and itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from probe.errors import DataError
from probe.qsim import (
    Circuit,
    angle_encoding,
    expval_pauli,
    expval_z,
    measure,
    parameter_shift,
    probabilities,
    ring_vqc,
    run,
    sample,
    statevector,
)
from probe.qsim.simulator import apply_matrix

qml = pytest.importorskip("pennylane")

PL = {"RX": "RX", "RY": "RY", "RZ": "RZ", "PHASE": "PhaseShift", "H": "Hadamard", "X": "PauliX", "Y": "PauliY",
      "Z": "PauliZ", "S": "S", "T": "T", "SX": "SX", "CNOT": "CNOT", "CZ": "CZ", "SWAP": "SWAP", "CRX": "CRX",
      "CRY": "CRY", "CRZ": "CRZ", "CPHASE": "ControlledPhaseShift", "RZZ": "IsingZZ", "RXX": "IsingXX",
      "RYY": "IsingYY", "ISWAP": "ISWAP", "CY": "CY", "CCX": "Toffoli"}


def _pl_ops(c: Circuit, theta):
    for op in c.ops:
        g = getattr(qml, PL[op.name])
        if op.param is None:
            g(wires=list(op.wires))
        else:
            g(theta[..., op.param], wires=list(op.wires))


def pl_state(c: Circuit, theta: np.ndarray) -> np.ndarray:
    dev = qml.device("default.qubit", wires=c.n_qubits)

    @qml.qnode(dev)
    def f():
        _pl_ops(c, theta)
        return qml.state()

    return np.asarray(f())


@pytest.mark.parametrize("n", [1, 3, 5])
def test_states_match_pennylane_on_random_circuits(n, rng, make_circuit):
    for _ in range(6):
        c = make_circuit(n, 40, rng)
        theta = rng.uniform(0, 2 * np.pi, c.n_params)
        ours = statevector(c, torch.as_tensor(theta)).numpy()
        np.testing.assert_allclose(ours, pl_state(c, theta), atol=1e-10)


def test_batched_pieces_equal_row_by_row(rng, make_circuit):
    c = make_circuit(4, 50, rng)
    k = c.n_params // 2
    x = torch.as_tensor(rng.uniform(0, 2 * np.pi, (5, k)))
    w = torch.as_tensor(rng.uniform(0, 2 * np.pi, c.n_params - k))
    batch = statevector(c, x, w)
    assert batch.shape == (5, 16)
    for b in range(5):
        np.testing.assert_allclose(batch[b].numpy(), statevector(c, torch.cat([x[b], w])).numpy(), atol=1e-12)


def test_gradients_match_pennylane_backprop_and_parameter_shift(rng, make_circuit):
    n = 4
    c = angle_encoding(n) + ring_vqc(n, 2, rotations=("RY", "RZ"))
    c = c + make_circuit(n, 15, rng)  # adds CRX/CRY/CRZ/diagonal gates with angles
    x = torch.as_tensor(rng.uniform(0, np.pi, (3, n)))
    w0 = rng.uniform(0, 2 * np.pi, c.n_params - n)
    weights = torch.tensor(w0, requires_grad=True)
    coef = torch.arange(1.0, n + 1, dtype=torch.float64)
    loss = (expval_z(statevector(c, x, weights)) * coef).sum()
    (g_ours,) = torch.autograd.grad(loss, weights)

    loss_bp = (expval_z(statevector(c, x, weights, method="backprop")) * coef).sum()
    (g_bp,) = torch.autograd.grad(loss_bp, weights)
    np.testing.assert_allclose(g_ours.numpy(), g_bp.numpy(), atol=1e-12)

    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def f(theta):
        _pl_ops(c, theta)
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    wp = torch.tensor(w0, requires_grad=True)
    total = 0
    for b in range(3):
        total = total + (torch.stack(f(torch.cat([x[b], wp]))) * coef).sum()
    (g_pl,) = torch.autograd.grad(total, wp)
    np.testing.assert_allclose(g_ours.numpy(), g_pl.numpy(), atol=1e-10)

    for b in range(2):  # parameter shift is exact for these gates
        theta = torch.cat([x[b], weights.detach()])
        ps = parameter_shift(c, theta, lambda s: (expval_z(s) * coef).sum())
        th = theta.clone().requires_grad_(True)
        (g_one,) = torch.autograd.grad((expval_z(statevector(c, th)) * coef).sum(), th)
        np.testing.assert_allclose(ps.numpy(), g_one.numpy(), atol=1e-10)


def test_gradient_flows_to_initial_state_and_shared_slots(rng):
    c = Circuit(3).ry(0).cnot(0, 1).rz(1, param=0).gate("CRX", 1, 2).ry(2, param=0)
    psi0 = torch.as_tensor(rng.normal(size=8) + 1j * rng.normal(size=8))
    psi0 = (psi0 / psi0.norm()).requires_grad_(True)
    theta = torch.tensor([0.3, 1.1], dtype=torch.float64, requires_grad=True)
    out = statevector(c, theta, state=psi0)
    loss = expval_pauli(out, "XZY") + expval_z(out, [2])[0]
    g1 = torch.autograd.grad(loss, [theta, psi0])
    out2 = statevector(c, theta, state=psi0, method="backprop")
    loss2 = expval_pauli(out2, "XZY") + expval_z(out2, [2])[0]
    g2 = torch.autograd.grad(loss2, [theta, psi0])
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)
    ps = parameter_shift(c, theta.detach(), lambda s: expval_z(s, [2])[0])
    t = theta.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(expval_z(statevector(c, t), [2])[0], t)
    np.testing.assert_allclose(ps.numpy(), g.numpy(), atol=1e-10)


def test_wide_circuit_uses_little_memory_and_matches_backprop(rng):
    # 10 qubits x 12 layers: the reversible backward never stores the intermediate states
    c = angle_encoding(10) + ring_vqc(10, 12)
    x = torch.as_tensor(rng.uniform(0, np.pi, (8, 10)))
    w = torch.tensor(rng.uniform(0, 2 * np.pi, c.n_params - 10), requires_grad=True)
    g1 = torch.autograd.grad(expval_z(statevector(c, x, w)).sum(), w)[0]
    g2 = torch.autograd.grad(expval_z(statevector(c, x, w, method="backprop")).sum(), w)[0]
    np.testing.assert_allclose(g1.numpy(), g2.numpy(), atol=1e-10)


def test_complex64_is_close_to_complex128(rng):
    c = ring_vqc(5, 3)
    theta = torch.as_tensor(rng.uniform(0, 2 * np.pi, c.n_params))
    a = statevector(c, theta, dtype=torch.complex64)
    assert a.dtype == torch.complex64
    np.testing.assert_allclose(a.numpy(), statevector(c, theta).numpy(), atol=1e-5)


def test_bell_state_probabilities_and_sampling_are_seeded():
    bell = statevector(Circuit(2).h(0).cnot(0, 1))
    np.testing.assert_allclose(probabilities(bell).numpy(), [0.5, 0, 0, 0.5], atol=1e-15)
    s1, s2 = sample(bell, 1000, seed=7), sample(bell, 1000, seed=7)
    assert torch.equal(s1, s2)
    assert set(s1.tolist()) <= {0, 3}
    assert 400 < int((s1 == 0).sum()) < 600


def test_measurement_projects_and_run_records_outcomes():
    c = Circuit(3).h(0).cnot(0, 1).cnot(1, 2).measure(0).h(2)
    res = run(c, seed=3)
    (wires, bits), = res.outcomes
    assert wires == (0,)
    b = int(bits[0])
    # after measuring qubit 0 the GHZ collapses to |bbb>, then H on qubit 2
    expected = np.zeros(8, dtype=complex)
    expected[(b << 2) | (b << 1)] = 1 / np.sqrt(2)
    expected[(b << 2) | (b << 1) | 1] = (1 - 2 * b) / np.sqrt(2)
    np.testing.assert_allclose(res.state.numpy(), expected, atol=1e-12)
    assert torch.equal(run(c, seed=3).records(), res.records())
    # batched measurement: outcome frequencies follow the Born rule
    psi = statevector(Circuit(1).ry(0), torch.full((4000, 1), 2 * np.arccos(np.sqrt(0.3))))
    out, post = measure(psi, [0], seed=1)
    assert abs(out.float().mean().item() - 0.7) < 0.03
    np.testing.assert_allclose(post.abs().numpy() ** 2, np.eye(2)[out[:, 0].numpy()], atol=1e-12)


def test_apply_matrix_matches_circuit_gate(rng):
    psi = torch.as_tensor(rng.normal(size=16) + 1j * rng.normal(size=16))
    psi = psi / psi.norm()
    cnot = torch.eye(4, dtype=torch.complex128)[[0, 1, 3, 2]]
    ours = apply_matrix(psi, cnot, (3, 1))
    ref = statevector(Circuit(4).cnot(3, 1), state=psi)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-14)


def test_errors_are_clear():
    with pytest.raises(DataError, match=r"max \|U†U − I\| = 1"):
        Circuit(2).unitary(np.array([[1, 1], [0, 1]]), 0)
    with pytest.raises(DataError, match="not a power of two"):
        statevector(Circuit(2).h(0), state=np.ones(3) / np.sqrt(3))
    with pytest.raises(DataError, match=r"needs about .* of memory"):
        statevector(Circuit(40).h(0))
    with pytest.raises(DataError, match="2 angle slot"):
        statevector(Circuit(1).rx(0).ry(0), torch.zeros(3))
    with pytest.raises(DataError, match=r"outside 0\.\.1"):
        Circuit(2).cnot(0, 2)
    with pytest.raises(DataError, match="unknown gate"):
        Circuit(2).gate("FOO", 0)
