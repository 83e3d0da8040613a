"""Daskin's quantum LSTM cell for time-series regression, rebuilt from the paper's simulation code.

Daskin (2025), *Quantum RNNs and LSTMs Through Entangling and Disentangling Power of
Unitary Transformations*, arXiv:2505.06774; the author's simulation code is
github.com/adaskin/quantum-lstm ("the simulation code used to generate the figures in the
paper", conference version). This module is probe's own implementation of that model,
checked against the code line by line (choices listed in :class:`DaskinQLSTM`).

Cell (one time step; an input register I of ``n_input`` qubits, wires 0.., and a memory
register M of ``n_memory`` qubits after it):

1. ``v = Linear(1 → 2^n_input)(x_t)``, normalised to a unit vector;
2. amplitude embedding of ``v ⊗ h_{t−1}`` (renormalised) on I ⊗ M;
3. the "entangling" unitary U then the separately trained "disentangling" unitary V, both
   :func:`probe.qsim.ansatz.basic_entangler_layers` (RY on every wire, then a CNOT ring),
   2 layers each; V's weight rows are applied in reverse layer order (the author's
   ``torch.flip``, a relabelling of its parameters);
4. the output ``y_t = ⟨Z⟩`` of the last input wire (``n_input − 1``);
5. the new memory ``h_t``: ``"collapse"`` (``quantum_lstm_collapsed_state.py``): the memory
   branch of the most probable input outcome, normalised; ``"probabilities"``
   (``quantum_lstm_density_matrix.py``): the diagonal of the memory's reduced density
   matrix, used as the next amplitude vector.

The prediction for a window is ``y_T`` of its last step; the memory starts in |0…0⟩ for
every window. All amplitudes are real (RY, CNOT, real embedding), so the simulation runs
in float64.

Retention and forgetting (the paper's reading, after Linden, Smolin & Winter 2009): the
paper defines the entangling and disentangling power of a unitary as the maximum increase
and decrease of the I|M entanglement it can cause. :func:`cell_powers` reports, across the
I|M cut, the LSW capacities of U (entangling) and V (disentangling), Zanardi's averaged
e_p of U, V and VU, and the entanglement U actually creates and V actually removes on the
training windows ("in use").
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
from probe.qsim import statevector
from probe.qsim.ansatz import basic_entangler_layers

__all__ = [
    "HIDDEN_MODES",
    "ClassicalLSTMRegressor",
    "DaskinQLSTM",
    "SeriesResult",
    "cell_powers",
    "elnino_series",
    "noisy_sine",
    "train_series",
    "windows",
]

HIDDEN_MODES = ("collapse", "probabilities")


# --------------------------------------------------------------------------- data


def noisy_sine(n_points: int = 100, *, noise: float = 0.1, draws: int = 2, seed: int = 123) -> np.ndarray:
    """``sin(x) + noise`` on ``x = linspace(0, 8π, n_points)`` (the author's series).

    ``draws`` independent N(0, noise²) terms are added: the author's ``quantum_lstm_*.py``
    scripts add two (their ``f`` adds one, the caller another; total SD ``noise·√2``),
    ``run_tests.py`` one. The noise comes from ``np.random.RandomState(seed)``, the legacy
    stream that the author's ``np.random.seed(123)`` drives.
    """
    if n_points < 2 or draws < 0 or noise < 0:
        raise DataError("noisy_sine needs n_points >= 2, draws >= 0 and noise >= 0")
    rs = np.random.RandomState(seed)
    x = np.linspace(0, 8 * math.pi, n_points)
    y = np.sin(x)
    for _ in range(draws):
        y = y + noise * rs.randn(n_points)
    return y


def elnino_series() -> np.ndarray:
    """Monthly sea-surface temperatures (°C) of the El Niño region, 1950–2010 (732 values).

    Shipped with statsmodels (``statsmodels.datasets.elnino``; NOAA Climate Prediction
    Center), so it needs no network: probe's stand-in for the paper's weather series.
    """
    from statsmodels.datasets import elnino

    frame = elnino.load_pandas().data
    months = [c for c in frame.columns if c != "YEAR"]
    return frame.sort_values("YEAR")[months].to_numpy(dtype=np.float64).ravel()


def windows(series: Any, *, seq_len: int = 10, train_fraction: float = 0.8, order: str = "window-then-split",
            scale: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sliding windows ``x_t..x_{t+L−1} → x_{t+L}`` split into train and test.

    Parameters
    ----------
    order : ``"window-then-split"`` (windows over the whole series, the first
        ``train_fraction`` of them train; the author's weather/stock code and, judging by
        its 18 test points, the sine figure of the paper) or ``"split-then-window"`` (split
        the raw series, window each part; the author's current sine script).
    scale : min–max to [0, 1] with the range of the training part of the raw series (the
        author's weather code); test values may fall outside [0, 1].

    Returns
    -------
    x_train (N, L, 1), y_train (N,), x_test (M, L, 1), y_test (M,), float64 tensors.
    """
    s = np.asarray(series, dtype=np.float64).ravel()
    if s.size <= seq_len + 2 or seq_len < 1 or not 0 < train_fraction < 1:
        raise DataError(f"need more than seq_len + 2 = {seq_len + 2} values and 0 < train_fraction < 1")
    if order not in ("window-then-split", "split-then-window"):
        raise DataError(f"order must be 'window-then-split' or 'split-then-window'; got {order!r}")
    cut = int(train_fraction * s.size)
    if scale:
        lo, hi = s[:cut].min(), s[:cut].max()
        s = (s - lo) / (hi - lo)

    def make(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(part.size - seq_len)
        return part[idx[:, None] + np.arange(seq_len)], part[idx + seq_len]

    if order == "split-then-window":
        (xa, ya), (xb, yb) = make(s[:cut]), make(s[cut:])
    else:
        x, y = make(s)
        k = int(train_fraction * len(y))
        xa, ya, xb, yb = x[:k], y[:k], x[k:], y[k:]
    t = torch.as_tensor
    return t(xa)[..., None], t(ya), t(xb)[..., None], t(yb)


# --------------------------------------------------------------------------- models


class DaskinQLSTM(torch.nn.Module):
    """The paper's QLSTM cell (module notes), unrolled over a window; ``forward`` gives (B,) predictions.

    Parameters
    ----------
    n_input, n_memory : qubits of the input and memory registers (paper: 2 and 2)
    layers : BasicEntanglerLayers depth of U and of V (paper: 2)
    hidden : ``"collapse"`` or ``"probabilities"`` (the two scripts of the author's code)
    gen : torch generator for the initial weights

    Notes
    -----
    Checked against the author's code: U and V weights start uniform in [0, 1)
    (``torch.rand``); the input layer has PyTorch's default init; the author's unused
    ``output_proj`` layer is left out (it never receives a gradient), so probe counts 24
    trainable parameters where the author's module holds 29. The author normalises with
    ``v / ‖v + 1e-12‖``; probe uses ``v / max(‖v‖, 1e-12)``. The author loops over the
    windows of a batch; probe runs them as one batch (same arithmetic).
    """

    def __init__(self, n_input: int = 2, n_memory: int = 2, *, layers: int = 2, hidden: str = "collapse",
                 gen: torch.Generator) -> None:
        super().__init__()
        if hidden not in HIDDEN_MODES:
            raise DataError(f"hidden must be one of {', '.join(HIDDEN_MODES)}; got {hidden!r}")
        if n_input < 1 or n_memory < 1 or n_input + n_memory > 10:
            raise DataError(f"need n_input, n_memory >= 1 and n_input + n_memory <= 10; got {n_input} + {n_memory}")
        self.n_input, self.n_memory, self.layers, self.hidden = n_input, n_memory, layers, hidden
        n = n_input + n_memory
        self.circuit = basic_entangler_layers(n, layers)
        self.u_weights = torch.nn.Parameter(torch.rand(layers, n, generator=gen, dtype=torch.float64))
        self.v_weights = torch.nn.Parameter(torch.rand(layers, n, generator=gen, dtype=torch.float64))
        self.input_proj = seeded_linear(1, 2**n_input, gen)

    @property
    def dims(self) -> tuple[int, int]:
        """(d_I, d_M): the cut at which entanglement is measured."""
        return 2**self.n_input, 2**self.n_memory

    def _matrix(self, weights: torch.Tensor) -> torch.Tensor:
        """The BasicEntanglerLayers unitary as a real matrix: Π_l (CNOT ring) · ⊗_i RY(w[l, i]).

        Built directly (a Kronecker product per layer and a fixed permutation), which is far
        cheaper than simulating 2^n basis states per minibatch; equal to
        :meth:`circuit_matrix` (checked in the tests).
        """
        n = self.n_input + self.n_memory
        ring = self._ring_permutation()
        out = torch.eye(2**n, dtype=torch.float64)
        for layer in weights:
            c, s = torch.cos(layer / 2), torch.sin(layer / 2)
            rot = torch.ones(1, 1, dtype=torch.float64)
            for i in range(n):
                ry = torch.stack([torch.stack([c[i], -s[i]]), torch.stack([s[i], c[i]])])
                rot = torch.kron(rot, ry)
            out = ring @ rot @ out
        return out

    def _ring_permutation(self) -> torch.Tensor:
        n = self.n_input + self.n_memory
        if not hasattr(self, "_ring"):
            eye = torch.eye(2**n, dtype=torch.complex128)
            ring = basic_entangler_layers(n, 1)
            ops = [op for op in ring.ops if op.name == "CNOT"]
            from probe.qsim import Circuit

            cnots = Circuit(n)
            for op in ops:
                cnots.cnot(*op.wires)
            self._ring = statevector(cnots, state=eye).T.real.contiguous()
        return self._ring

    def circuit_matrix(self, weights: torch.Tensor) -> torch.Tensor:
        """The same unitary from probe's simulator (for checks)."""
        dim = 2 ** (self.n_input + self.n_memory)
        eye = torch.eye(dim, dtype=torch.complex128)
        return statevector(self.circuit, weights.reshape(-1), state=eye).T.real

    def unitaries(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(U, V) as real (2^n, 2^n) matrices, V with its layers in the author's flipped order."""
        return self._matrix(self.u_weights), self._matrix(torch.flip(self.v_weights, dims=[0]))

    def run(self, x: torch.Tensor, *, keep_states: bool = True) -> dict[str, torch.Tensor]:
        """Unroll over windows ``x`` (B, T, 1): outputs (B, T) and, with ``keep_states``, per step the I|M
        states after the embedding, after U and after V (B, T, 2^n), for the power diagnostics."""
        b, t_len, _ = x.shape
        d_i, d_m = self.dims
        u, v = self.unitaries()
        w_t = (v @ u).T
        sign = self._z_last_input()
        proj = self.input_proj(x)  # (B, T, d_I): every step's input layer at once
        proj = proj / torch.linalg.vector_norm(proj, dim=-1, keepdim=True).clamp_min(1e-12)
        h = torch.zeros(b, d_m, dtype=torch.float64)
        h[:, 0] = 1.0
        outs, embedded, after_u, after_v = [], [], [], []
        rows_index = torch.arange(b)
        for t in range(t_len):
            joint = (proj[:, t, :, None] * h[:, None, :]).reshape(b, d_i * d_m)
            joint = joint / torch.linalg.vector_norm(joint, dim=-1, keepdim=True).clamp_min(1e-12)
            psi = joint @ w_t
            rows = psi.reshape(b, d_i, d_m)
            sq = rows * rows
            p_input = sq.sum(-1)  # (B, d_I): probabilities of the input register's outcomes
            outs.append(p_input @ sign)
            if self.hidden == "collapse":
                branch = rows[rows_index, p_input.argmax(-1)]
                h = branch / torch.linalg.vector_norm(branch, dim=-1, keepdim=True).clamp_min(1e-12)
            else:
                h = sq.sum(1)
            if keep_states:
                embedded.append(joint)
                after_u.append(joint @ u.T)
                after_v.append(psi)
        out = {"outputs": torch.stack(outs, 1)}
        if keep_states:
            out.update(embedded=torch.stack(embedded, 1), after_u=torch.stack(after_u, 1),
                       after_v=torch.stack(after_v, 1))
        return out

    def _z_last_input(self) -> torch.Tensor:
        """Z eigenvalue of input wire ``n_input − 1`` (the least significant input bit) per input outcome."""
        return 1.0 - 2.0 * (torch.arange(2**self.n_input) & 1).to(torch.float64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x, keep_states=False)["outputs"][:, -1]


class ClassicalLSTMRegressor(torch.nn.Module):
    """``nn.LSTM(1, hidden)`` + ``Linear(hidden, 1)`` on the last step: the author's classical twin (hidden 4)."""

    def __init__(self, hidden: int = 4, *, gen: torch.Generator) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(1, hidden, batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            bound = 1 / math.sqrt(hidden)
            for p in self.lstm.parameters():
                p.uniform_(-bound, bound, generator=gen)
        self.head = seeded_linear(hidden, 1, gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1]).squeeze(-1)


# --------------------------------------------------------------------------- powers


def _entropy_bits(states: torch.Tensor, d_left: int) -> torch.Tensor:
    """Entanglement entropy (bits) of real or complex pure states (…, d_left · d_right)."""
    mat = states.reshape(*states.shape[:-1], d_left, -1)
    s2 = torch.linalg.svdvals(mat) ** 2
    return (-torch.xlogy(s2, s2).sum(-1) / math.log(2)).clamp_min(0)


def cell_powers(model: DaskinQLSTM, x: torch.Tensor | None = None, *, capacity_starts: int = 4,
                seed: int = 0) -> dict[str, float]:
    """Entangling / disentangling power of the cell's unitaries across the input|memory cut.

    Returns a flat dict: ``ep_U``, ``ep_V``, ``ep_VU`` (Zanardi, linear entropy; averaged
    over product inputs, so e_p(X†) = e_p(X)); with ``capacity_starts > 0`` the LSW
    capacities in ebits ``cap_entangle_U`` = max_ψ S(Uψ) − S(ψ) (retention) and
    ``cap_disentangle_V`` = max_ψ S(ψ) − S(Vψ) (forgetting), plus ``cap_disentangle_U``
    and ``cap_entangle_V`` for the symmetry check; with windows ``x``: ``inuse_created_U``,
    the mean S(Uψ) over all steps (the embedded state is a product, S = 0), and
    ``inuse_removed_V`` = mean [S(Uψ) − S(VUψ)], both in bits.
    """
    from probe.qsim.entangling_power import entangling_capacity, entangling_power

    dims = model.dims
    with torch.no_grad():
        u, v = (m.numpy() for m in model.unitaries())
    row: dict[str, float] = {"ep_U": entangling_power(u, dims), "ep_V": entangling_power(v, dims),
                             "ep_VU": entangling_power(v @ u, dims)}
    if capacity_starts:
        for name, mat in (("U", u), ("V", v)):
            for direction in ("entangle", "disentangle"):
                row[f"cap_{direction}_{name}"] = entangling_capacity(mat, dims, direction=direction,
                                                                     starts=capacity_starts, seed=seed)[0]
    if x is not None:
        with torch.no_grad():
            trace = model.run(x)
        s_u = _entropy_bits(trace["after_u"], dims[0])
        s_v = _entropy_bits(trace["after_v"], dims[0])
        row["inuse_created_U"] = float(s_u.mean())
        row["inuse_removed_V"] = float((s_u - s_v).mean())
        row["inuse_left_after_V"] = float(s_v.mean())
    return row


# --------------------------------------------------------------------------- training


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """One training run on a series: losses per epoch, test MSE, and the tracked powers.

    ``track`` rows: ``epoch`` and, for the quantum cell, the keys of :func:`cell_powers`.
    """

    model: str
    series: str
    n_params: int
    train_loss: tuple[float, ...]
    """Mean MSE over the epoch's minibatches, weighted by batch size (the author's number)."""
    train_mse: float
    test_mse: float
    test_predictions: tuple[float, ...]
    test_targets: tuple[float, ...]
    track: tuple[dict[str, Any], ...]
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"epoch": np.arange(1, len(self.train_loss) + 1), "train_loss": self.train_loss})


def train_series(model: torch.nn.Module, data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], *,
                 series: str = "series", epochs: int = 150, batch_size: int = 5, lr: float = 0.01, seed: int = 0,
                 track_every: int = 10, capacity_starts: int = 4, track_windows: int = 32) -> SeriesResult:
    """Adam on MSE with shuffled minibatches (the author's loop), tracking the cell's powers.

    Parameters
    ----------
    data : (x_train, y_train, x_test, y_test) from :func:`windows`
    track_every : epochs between power measurements (0: never; epoch 0 and the last are always
        recorded when > 0)
    capacity_starts : L-BFGS starts per capacity, computed at epoch 0 and at the end only (0 skips them)
    track_windows : training windows used for the in-use entanglement
    """
    x_tr, y_tr, x_te, y_te = data
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise DataError("epochs and batch_size must be >= 1 and lr > 0")
    gen = seeded_generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    quantum = isinstance(model, DaskinQLSTM)
    probe_x = x_tr[:track_windows]
    track: list[dict[str, Any]] = []

    def record(epoch: int) -> None:
        # the capacities (slow, L-BFGS) at the first and last record only; e_p and in-use entanglement every time
        if quantum and track_every:
            starts = capacity_starts if epoch in (0, epochs) else 0
            track.append({"epoch": epoch, **cell_powers(model, probe_x, capacity_starts=starts, seed=seed)})

    record(0)
    losses = []
    n = x_tr.shape[0]
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = torch.nn.functional.mse_loss(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        losses.append(total / n)
        if track_every and (epoch % track_every == 0 or epoch == epochs):
            record(epoch)
    with torch.no_grad():
        pred_tr, pred_te = model(x_tr), model(x_te)
    name = f"qlstm-{model.hidden}" if quantum else "lstm"
    return SeriesResult(model=name, series=series, n_params=parameter_count(model), train_loss=tuple(losses),
                        train_mse=float(((pred_tr - y_tr) ** 2).mean()), test_mse=float(((pred_te - y_te) ** 2).mean()),
                        test_predictions=tuple(pred_te.tolist()), test_targets=tuple(y_te.tolist()),
                        track=tuple(track), seed=seed,
                        settings={"epochs": epochs, "batch_size": batch_size, "lr": lr,
                                  "train_windows": int(n), "test_windows": int(x_te.shape[0])})
