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


@pytest.mark.slow
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


# --------------------------------------------------------------------------- Daskin's cell (probe.qml.daskin_qlstm)


def test_basic_entangler_layers_match_pennylane():
    qml = pytest.importorskip("pennylane")
    from probe.qsim.ansatz import basic_entangler_layers

    w = np.random.default_rng(0).uniform(0, 2 * np.pi, (2, 4))
    ours = statevector(basic_entangler_layers(4, 2), torch.as_tensor(w.ravel()),
                       state=torch.eye(16, dtype=torch.complex128)).T.numpy()
    ref = qml.matrix(qml.BasicEntanglerLayers(w, wires=range(4), rotation=qml.RY), wire_order=range(4))
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert basic_entangler_layers(2, 1).ops[-1].wires == (0, 1) and len(basic_entangler_layers(2, 1).ops) == 3


def _pennylane_window(qml, model, window: np.ndarray) -> float:
    """The author's loop written with PennyLane: embed kron(v, h), U, flipped V, ⟨Z_1⟩, update h."""
    dev = qml.device("default.qubit", wires=4)
    u_w = model.u_weights.detach().numpy()
    v_w = model.v_weights.detach().numpy()[::-1]

    @qml.qnode(dev)
    def cell(joint):
        qml.AmplitudeEmbedding(joint, wires=range(4), normalize=True)
        qml.BasicEntanglerLayers(u_w, wires=range(4), rotation=qml.RY)
        qml.BasicEntanglerLayers(v_w, wires=range(4), rotation=qml.RY)
        return qml.state()

    w = model.input_proj.weight.detach().numpy()[:, 0]
    b = model.input_proj.bias.detach().numpy()
    h = np.array([1.0, 0, 0, 0])
    out = None
    for x in window:
        v = w * x + b
        v = v / np.linalg.norm(v)
        psi = np.real(np.asarray(cell(np.kron(v, h)))).reshape(4, 4)
        probs = (psi**2).sum(1)
        out = float(probs @ np.array([1, -1, 1, -1]))  # ⟨Z⟩ of wire 1
        if model.hidden == "collapse":
            row = psi[int(np.argmax(probs))]
            h = row / np.linalg.norm(row)
        else:
            h = (psi**2).sum(0)
    return out


@pytest.mark.parametrize("hidden", ["collapse", "probabilities"])
def test_daskin_cell_matches_a_pennylane_rebuild_of_the_authors_loop(hidden):
    qml = pytest.importorskip("pennylane")
    from probe.qml.daskin_qlstm import DaskinQLSTM

    model = DaskinQLSTM(hidden=hidden, gen=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for w in (model.u_weights, model.v_weights):
            np.testing.assert_allclose(model._matrix(w).numpy(), model.circuit_matrix(w).numpy(), atol=1e-12)
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(3, 5, 1)))
    with torch.no_grad():
        ours = model(x).numpy()
    ref = [_pennylane_window(qml, model, x[i, :, 0].numpy()) for i in range(3)]
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_daskin_windows_and_series():
    from probe.qml.daskin_qlstm import elnino_series, noisy_sine, windows

    y = noisy_sine(100)
    assert y.shape == (100,) and np.array_equal(y, noisy_sine(100))
    resid = noisy_sine(20000, draws=2, seed=1) - np.sin(np.linspace(0, 8 * np.pi, 20000))
    assert resid.std() == pytest.approx(0.1 * np.sqrt(2), rel=0.03)  # two noise draws, as in the author's script
    x_tr, y_tr, _, y_te = windows(y, seq_len=10)
    assert (len(y_tr), len(y_te)) == (72, 18)  # the paper's sine figure shows 18 test points
    assert torch.equal(x_tr[1, :, 0], torch.as_tensor(y[1:11])) and float(y_tr[1]) == y[11]
    _, y_tr, _, y_te = windows(y, seq_len=10, order="split-then-window")
    assert (len(y_tr), len(y_te)) == (70, 10)
    sst = elnino_series()
    assert sst.shape == (732,) and 18 < sst.min() < sst.max() < 30
    _, y_tr, _, _ = windows(sst, scale=True)
    assert float(y_tr.min()) >= 0 and float(y_tr.max()) <= 1


def test_daskin_training_is_seeded_and_tracks_the_powers():
    from probe.qml.daskin_qlstm import ClassicalLSTMRegressor, DaskinQLSTM, noisy_sine, train_series, windows

    data = windows(noisy_sine(30), seq_len=4)
    runs = [train_series(DaskinQLSTM(gen=torch.Generator().manual_seed(0)), data, epochs=3, track_every=2,
                         capacity_starts=1, track_windows=4, seed=0) for _ in range(2)]
    a, b = runs
    assert a.train_loss == b.train_loss and a.n_params == 24
    assert [row["epoch"] for row in a.track] == [0, 2, 3]
    assert "cap_entangle_U" not in a.track[1]  # capacities only at the first and last record
    for row in a.track:
        assert 0 <= row["ep_U"] <= 1
        if "cap_entangle_U" in row:
            assert 0 <= row["cap_entangle_U"] <= 2 + 1e-9 and row["cap_disentangle_V"] >= -1e-9  # <= log2(4)
        assert row["inuse_created_U"] >= 0 and row["inuse_left_after_V"] >= -1e-12
        assert row["inuse_created_U"] - row["inuse_removed_V"] == pytest.approx(row["inuse_left_after_V"])
    lstm = train_series(ClassicalLSTMRegressor(gen=torch.Generator().manual_seed(0)), data, epochs=2)
    assert lstm.track == () and lstm.n_params == 4 * 4 * (1 + 4 + 2) + 5


def test_identity_cell_entangles_nothing():
    """U = V = I (zero angles would still leave the CNOT rings): with a product embedding S stays 0."""
    from probe.qml.daskin_qlstm import DaskinQLSTM, cell_powers

    model = DaskinQLSTM(gen=torch.Generator().manual_seed(0))
    model.unitaries = lambda: (torch.eye(16, dtype=torch.float64), torch.eye(16, dtype=torch.float64))
    row = cell_powers(model, torch.rand(2, 3, 1, dtype=torch.float64), capacity_starts=0)
    assert row["ep_U"] == pytest.approx(0, abs=1e-12) and row["inuse_created_U"] == pytest.approx(0, abs=1e-9)
