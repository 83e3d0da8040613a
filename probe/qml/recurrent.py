"""Quantum recurrent cells (QRNN, QLSTM) whose entangling and disentangling power is tracked in training.

Daskin (2025, arXiv:2505.06774) reads the entangling power of a unitary as an
RNN/LSTM's "retention" and its disentangling power as "forgetting", following
Linden, Smolin & Winter (2009, arXiv:quant-ph/0511217). **This module is probe's own
variant, not the paper's cell**: the paper's cell (amplitude embedding, a collapsed
or probability-vector memory, regression on a noisy sine and a weather series) is
:mod:`probe.qml.daskin_qlstm`. Here the data register is angle-encoded and discarded
by a partial trace each step, and the tasks are binary classifications.

Cell (one time step), on a data register D (``n_data`` qubits, fresh each step)
and a memory register M (``n_memory`` qubits, carried between steps):

1. D is prepared in RY(x_t,i)|0⟩ (the input features as angles) and joined to
   the memory state: ρ = |x_t⟩⟨x_t| ⊗ ρ_M;
2. ``qrnn``: one trainable unitary U acts on D ⊗ M (ρ → U ρ U†);
   ``qlstm``: two, U_write then U_read ("retain" then "forget/emit");
3. ⟨Z⟩ of every data qubit is the step's output; D is then discarded
   (partial trace), leaving the new memory state ρ_M.

The unitaries are ``ansatz`` circuits (ring VQC by default) simulated with
:mod:`probe.quantum`, as full 2^n x 2^n matrices (n = n_data + n_memory is
small), on density matrices so that discarding D is exact. During training
:func:`train_recurrent` records, every ``track_every`` epochs, the Zanardi
entangling power e_p and the disentangling power e_p(U†) of each unitary across
the D|M cut (:mod:`probe.qsim.entangling_power`), optionally the Linden-Smolin-Winter
capacities, and the memory's von Neumann entropy per time step.

Sequence tasks the project generates (:func:`sequence_task`):

- ``parity``: bits x_t ∈ {0, 1} (angle π x_t); label = XOR of all bits. Needs
  exact retention of one bit; solvable with CNOT-type cells (e_p = 2/9).
- ``recall``: two inputs per step, (value, flag); exactly one step is flagged;
  label = the value at the flagged step. Needs "write when flagged, keep otherwise".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from probe._results import jsonable
from probe.errors import DataError
from probe.qml.training import parameter_count, seeded_generator, seeded_linear
from probe.qsim import angle_encoding, build_ansatz, statevector

CELLS = ("qrnn", "qlstm", "lstm")
TASKS = ("parity", "recall")


# --------------------------------------------------------------------------- data


def sequence_task(kind: str, *, n_sequences: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generated sequences (n, length, features) of angles in {0, π} and binary labels (n,).

    Examples
    --------
    >>> x, y = sequence_task("parity", n_sequences=4, length=3, seed=0)
    >>> x.shape, bool(np.all(y == (np.round(x[:, :, 0] / np.pi).sum(1) % 2)))
    ((4, 3, 1), True)
    """
    if kind not in TASKS:
        raise DataError(f"unknown sequence task {kind!r}", hint=f"use one of {', '.join(TASKS)}")
    if length < 1 or n_sequences < 1:
        raise DataError("length and n_sequences must be >= 1")
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n_sequences, length))
    if kind == "parity":
        return np.pi * bits[:, :, None].astype(np.float64), (bits.sum(1) % 2).astype(np.int64)
    flag_at = rng.integers(0, length, n_sequences)
    flags = np.zeros((n_sequences, length))
    flags[np.arange(n_sequences), flag_at] = 1
    x = np.pi * np.stack([bits, flags], axis=-1).astype(np.float64)
    return x, bits[np.arange(n_sequences), flag_at].astype(np.int64)


# --------------------------------------------------------------------------- cells


def _von_neumann_bits(rho: torch.Tensor) -> torch.Tensor:
    ev = torch.linalg.eigvalsh(rho).clamp_min(1e-300)
    return -(ev * torch.log2(ev)).sum(-1)


class QuantumRecurrent(torch.nn.Module):
    """QRNN / QLSTM on density matrices (see module notes); ``forward`` gives class logits."""

    def __init__(self, n_data: int, n_memory: int, *, cell: str = "qrnn", ansatz: str = "ring", layers: int = 2,
                 n_classes: int = 2, gen: torch.Generator) -> None:
        super().__init__()
        if cell not in ("qrnn", "qlstm"):
            raise DataError(f"quantum cell must be 'qrnn' or 'qlstm', got {cell!r}")
        if n_data < 1 or n_memory < 1 or n_data + n_memory > 8:
            raise DataError(f"need n_data, n_memory >= 1 and n_data + n_memory <= 8, got {n_data} + {n_memory}")
        self.n_data, self.n_memory, self.cell = n_data, n_memory, cell
        self.circuit = build_ansatz(ansatz, n_data + n_memory, layers)
        self.encoder = angle_encoding(n_data)
        n_units = 2 if cell == "qlstm" else 1
        angles = 2 * math.pi * torch.rand(n_units, self.circuit.n_params, generator=gen, dtype=torch.float64)
        self.weights = torch.nn.ParameterList([torch.nn.Parameter(a) for a in angles])
        self.readout = seeded_linear(n_data, n_classes, gen)

    @property
    def dims(self) -> tuple[int, int]:
        """(d_D, d_M): the bipartition at which entangling power is measured."""
        return 2**self.n_data, 2**self.n_memory

    def unitaries(self) -> list[torch.Tensor]:
        """The cell's unitaries as (2^n, 2^n) matrices (differentiable), in the order they act."""
        dim = 2 ** (self.n_data + self.n_memory)
        eye = torch.eye(dim, dtype=torch.complex128)
        return [statevector(self.circuit, w, state=eye).T for w in self.weights]

    def run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """⟨Z⟩ of the data qubits after every step (B, T, n_data) and memory entropy in bits (B, T)."""
        b, t_len, _ = x.shape
        d_d, d_m = self.dims
        units = self.unitaries()
        rho_m = torch.zeros(b, d_m, d_m, dtype=torch.complex128)
        rho_m[:, 0, 0] = 1.0
        z_sign = 1.0 - 2.0 * ((torch.arange(d_d)[:, None] >> torch.arange(self.n_data - 1, -1, -1)) & 1)
        outputs, entropies = [], []
        for t in range(t_len):
            psi = statevector(self.encoder, x[:, t, :])
            rho_d = psi[:, :, None] * psi.conj()[:, None, :]
            rho = (rho_d[:, :, None, :, None] * rho_m[:, None, :, None, :]).reshape(b, d_d * d_m, d_d * d_m)
            for u in units:
                rho = u @ rho @ u.mH
            blocks = rho.reshape(b, d_d, d_m, d_d, d_m)
            p_data = torch.einsum("bikik->bi", blocks).real
            outputs.append(p_data @ z_sign.to(torch.float64))
            rho_m = torch.einsum("bikil->bkl", blocks)
            entropies.append(_von_neumann_bits(rho_m.detach()))
        return torch.stack(outputs, 1), torch.stack(entropies, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, _ = self.run(x)
        return self.readout(z[:, -1])


class ClassicalLSTM(torch.nn.Module):
    """torch LSTM + linear readout of the last hidden state (the classical twin)."""

    def __init__(self, n_inputs: int, hidden: int, n_classes: int, gen: torch.Generator) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(n_inputs, hidden, batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            bound = 1 / math.sqrt(hidden)
            for p in self.lstm.parameters():
                p.uniform_(-bound, bound, generator=gen)
        self.readout = seeded_linear(hidden, n_classes, gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.readout(out[:, -1])


def lstm_hidden_for(n_params: int, n_inputs: int, n_classes: int) -> int:
    """LSTM width whose parameter count 4h(n_inputs + h + 2) + (h + 1) n_classes is closest to ``n_params``."""
    def count(h: int) -> int:
        return 4 * h * (n_inputs + h + 2) + (h + 1) * n_classes

    return min(range(1, 65), key=lambda h: abs(count(h) - n_params))


# --------------------------------------------------------------------------- training with tracking


@dataclass(frozen=True, slots=True)
class RecurrentResult:
    """Training trace of one recurrent model.

    ``track`` rows: epoch, loss, train/test accuracy, and for quantum cells
    ``ep_<k>`` / ``dp_<k>`` (entangling / disentangling power of unitary k across
    the D|M cut, normalised so CNOT = 2/9), optional capacities in ebits, and the
    mean memory entropy per step ``memory_entropy`` (bits).
    """

    cell: str
    task: str
    n_params: int
    track: tuple[dict[str, Any], ...]
    final_test_accuracy: float
    seed: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.track))


def _powers(model: QuantumRecurrent, capacity_starts: int, seed: int) -> dict[str, Any]:
    from probe.qsim.entangling_power import disentangling_power, entangling_capacity, entangling_power

    row: dict[str, Any] = {}
    with torch.no_grad():
        mats = [u.numpy() for u in model.unitaries()]
    for k, u in enumerate(mats):
        row[f"ep_{k}"] = entangling_power(u, model.dims)
        row[f"dp_{k}"] = disentangling_power(u, model.dims)
        if capacity_starts:
            row[f"cap_entangle_{k}"] = entangling_capacity(u, model.dims, direction="entangle",
                                                           starts=capacity_starts, seed=seed)[0]
            row[f"cap_disentangle_{k}"] = entangling_capacity(u, model.dims, direction="disentangle",
                                                              starts=capacity_starts, seed=seed)[0]
    return row


def train_recurrent(task: str = "parity", cell: str = "qrnn", *, length: int = 4, n_memory: int = 1,
                    layers: int = 2, ansatz: str = "ring", epochs: int = 60, lr: float = 0.05, n_train: int = 256,
                    n_test: int = 256, batch_size: int = 64, track_every: int = 5, capacity_starts: int = 0,
                    seed: int = 0) -> RecurrentResult:
    """Train a QRNN, QLSTM or classical LSTM on a generated task, tracking its entangling power.

    The classical LSTM's width is chosen so its parameter count matches the QRNN
    of the same settings (± the step of one hidden unit).
    """
    if cell not in CELLS:
        raise DataError(f"unknown cell {cell!r}", hint=f"use one of {', '.join(CELLS)}")
    x_all, y_all = sequence_task(task, n_sequences=n_train + n_test, length=length, seed=seed)
    x = torch.as_tensor(x_all)
    y = torch.as_tensor(y_all)
    gen = seeded_generator(seed)
    n_data = x.shape[-1]
    if cell == "lstm":
        reference = QuantumRecurrent(n_data, n_memory, cell="qrnn", ansatz=ansatz, layers=layers,
                                     gen=seeded_generator(seed))
        model: torch.nn.Module = ClassicalLSTM(n_data, lstm_hidden_for(parameter_count(reference), n_data, 2), 2, gen)
    else:
        model = QuantumRecurrent(n_data, n_memory, cell=cell, ansatz=ansatz, layers=layers, gen=gen)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    track = []
    for epoch in range(epochs + 1):
        if epoch % track_every == 0 or epoch == epochs:
            with torch.no_grad():
                logits = model(x)
                acc = (logits.argmax(1) == y).double()
                row: dict[str, Any] = {"epoch": epoch,
                                       "loss": float(torch.nn.functional.cross_entropy(logits[:n_train], y[:n_train])),
                                       "train_accuracy": float(acc[:n_train].mean()),
                                       "test_accuracy": float(acc[n_train:].mean())}
                if isinstance(model, QuantumRecurrent):
                    _, ent = model.run(x[n_train:])
                    row["memory_entropy"] = ent.mean(0).tolist()
            if isinstance(model, QuantumRecurrent):
                row.update(_powers(model, capacity_starts, seed))
            track.append(row)
        if epoch == epochs:
            break
        order = torch.randperm(n_train, generator=gen)
        for start in range(0, n_train, batch_size):
            idx = order[start : start + batch_size]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return RecurrentResult(cell, task, parameter_count(model), tuple(track), track[-1]["test_accuracy"], seed)
