"""Quantum recurrent cells: the density-matrix step equals a purified pure-state circuit; tasks; tracking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from probe.qml.recurrent import (
    QuantumRecurrent,
    lstm_hidden_for,
    sequence_task,
    train_recurrent,
)
from probe.qsim import Circuit, expval_z, statevector
from probe.qsim.measures import entanglement_entropy


def test_tasks_have_the_right_labels() -> None:
    x, y = sequence_task("parity", n_sequences=50, length=5, seed=1)
    np.testing.assert_array_equal(y, np.round(x[..., 0] / np.pi).sum(1) % 2)
    x, y = sequence_task("recall", n_sequences=50, length=4, seed=2)
    flags = np.round(x[..., 1] / np.pi)
    assert (flags.sum(1) == 1).all()
    np.testing.assert_array_equal(y, np.round(x[..., 0] / np.pi)[flags == 1])


@pytest.mark.parametrize("cell", ["qrnn", "qlstm"])
def test_density_matrix_cell_equals_purified_circuit(cell: str) -> None:
    """Discarding the data register each step = keeping fresh data qubits per step and ignoring old ones."""
    gen = torch.Generator().manual_seed(0)
    n_data, n_memory, steps = 2, 1, 3
    model = QuantumRecurrent(n_data, n_memory, cell=cell, layers=2, gen=gen)
    x = torch.as_tensor(np.random.default_rng(0).uniform(0, np.pi, (4, steps, n_data)))
    with torch.no_grad():
        z, entropy = model.run(x)
        units = [u.numpy() for u in model.unitaries()]
    n = steps * n_data + n_memory
    memory = list(range(steps * n_data, n))
    circuit = Circuit(n)
    for t in range(steps):
        block = list(range(t * n_data, (t + 1) * n_data))
        for w in block:
            circuit.ry(w)
        for u in units:
            circuit.unitary(u, *block, *memory)
    angles = x.reshape(4, -1)  # slot order = step by step, data qubit by data qubit
    psi = statevector(circuit, angles)
    last = list(range((steps - 1) * n_data, steps * n_data))
    np.testing.assert_allclose(z[:, -1].numpy(), expval_z(psi, last).numpy(), atol=1e-12)
    s_mem = np.array([float(entanglement_entropy(p, memory)) for p in psi])
    np.testing.assert_allclose(entropy[:, -1].numpy(), s_mem, atol=1e-8)


def test_cell_unitaries_are_unitary_and_memory_stays_a_state() -> None:
    model = QuantumRecurrent(1, 2, cell="qlstm", layers=1, gen=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for u in model.unitaries():
            np.testing.assert_allclose((u @ u.mH).numpy(), np.eye(8), atol=1e-12)
        z, ent = model.run(torch.rand(3, 5, 1, dtype=torch.float64))
    assert z.abs().max() <= 1 + 1e-12
    assert (ent >= -1e-12).all() and (ent <= 2 + 1e-9).all()  # at most log2 d_M bits


def test_parity_qrnn_learns_a_cnot_like_cell() -> None:
    res = train_recurrent("parity", "qrnn", length=4, epochs=40, track_every=40, n_test=128, seed=0)
    assert res.final_test_accuracy >= 0.95
    # a perfect entangler across the data|memory cut: e_p = 2/9, like CNOT
    assert res.track[-1]["ep_0"] == pytest.approx(2 / 9, abs=0.01)
    assert res.track[0]["epoch"] == 0 and res.track[-1]["epoch"] == 40
    assert len(res.track[-1]["memory_entropy"]) == 4


def test_lstm_twin_is_parameter_matched() -> None:
    q = train_recurrent("parity", "qrnn", length=3, epochs=1, track_every=1, n_train=16, n_test=16)
    c = train_recurrent("parity", "lstm", length=3, epochs=1, track_every=1, n_train=16, n_test=16)
    assert abs(q.n_params - c.n_params) <= 16
    assert lstm_hidden_for(20, 1, 2) == 1
