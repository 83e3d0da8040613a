"""Measurement-induced entanglement (MIE) of random circuits, and a record-only learner of it.

Qian & Wang (2025), "Data-Driven Learnability Transition of Measurement-Induced
Entanglement", arXiv:2512.01317. Set-up: a random circuit of depth t on n qubits of
Haar-random two-qubit gates, on one of :data:`GEOMETRIES`: the paper's 1-D all-to-all
random pairings (``all``) and 2-D nearest-neighbour brickwork on a grid (``2d-nn``), or
probe's extra 1-D nearest-neighbour ``chain``; every qubit except two, A and B, is
measured in the computational basis; MIE is the Born-averaged entanglement of the
post-measurement state of A∪B::

    MIE = Σ_m p(m) S(ρ_A | m),   S in bits.

:func:`mie_exact` enumerates all 2^(n−2) outcomes of a state vector exactly (no
sampling). Optional mid-circuit measurements (probability ``rate`` per qubit and
layer, sampled outcomes) give the monitored-circuit variant; MIE is then averaged
over trajectories.

Learnability (probe's construction: the paper's bound formulas could not be read
here, so these are our own rigorous, post-selection-free bounds of the kind it
describes). A learner sees only records ``(m, basis_A, basis_B, o_A, o_B)``:
outcomes m of the measured qubits and one random-Pauli snapshot of A and B. A
small MLP maps m to a two-qubit pure state φ(m), trained by maximum likelihood of
the snapshots (self-supervised; no knowledge of the circuit). On held-out records,
with σ_A(m) = Tr_B |φ(m)⟩⟨φ(m)|, σ̃ = (1−ε)σ_A + ε I/2 and the unbiased classical
shadows ``ρ̂_A = 3 R†|o⟩⟨o|R − I`` (likewise ρ̂_B):

- upper bound (Klein's inequality ``S(ρ) ≤ −tr ρ log σ``, the quantum-classical
  cross entropy of Garratt & Altman 2023, arXiv:2305.20092):
  ``U = E_m[−tr ρ̂_A log₂ σ̃_A(m)] ≥ MIE``; ε is picked from a small grid on the
  training records by the smallest mean + 2 SE (it trades variance against tightness);
- lower bound (relative-entropy continuity; probe's derivation). For the pure
  post-measurement state ψ_m, ``S(ρ_A) = −tr ρ_A log σ̃ − D(ρ_A ‖ σ̃)`` exactly, and by
  Uhlmann ``F(ψ_m, φ(m)) ≤ F_U(ρ_A, σ_A)``, so for any slope c ≥ 0
  ``S(ρ_A) ≥ −tr ρ_A log₂ σ̃ − c [1 − F(ψ_m, φ(m))] − κ(λ, ε, c)`` with
  ``κ = sup_ρ [D(ρ ‖ σ̃) − c (1 − F_U(ρ, σ_A))]``, a function of φ(m)'s largest Schmidt
  coefficient λ only (tabulated once per ε). The right side is linear in ψ_mψ_m†, so
  ``L = E_m[−tr ρ̂_A log₂ σ̃ − c_m (1 − F̂_m) − κ_m] ≤ MIE`` with the two-qubit shadow
  fidelity ``F̂_m = ⟨φ|ρ̂_A ⊗ ρ̂_B|φ⟩``; c_m minimises the cost ``c (1 − F*) + κ`` at an
  anchor fidelity F* picked on the training records, and a record whose model state
  has less entanglement than that cost uses the trivial S ≥ 0. The gap is then
  ``U − L ≈ E[c_m (1 − F_m) + κ_m]``: a weighted infidelity of the learner, linear in
  1 − F (c ≈ 3–8, κ ≲ 0.01 bit), so L is informative once F̄ ≳ 0.9. The earlier
  Audenaert–Fannes bound ``max(0, E S(σ_A) − h₂(√(1 − F̄)))``, whose deficit scales as
  √(1 − F̄) log(1/(1 − F̄)), is kept as ``lower_fannes`` for comparison.

The uncertainty metric is the gap ``U − L`` (≥ 0 up to sampling error): near 0
when the learner has captured the post-measurement states, large when it cannot.
Bootstrap standard errors over held-out records are reported.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.spatial import ConvexHull, QhullError

from probe._results import jsonable
from probe.errors import DataError
from probe.qsim.simulator import apply_matrix, threads_for, zero_state
from probe.qsim.states import as_generator, split_wires

__all__ = [
    "GEOMETRIES",
    "LearnResult",
    "MieScan",
    "grid_pairs",
    "grid_shape",
    "haar_unitary",
    "learn_bounds",
    "mie_exact",
    "mie_scan",
    "post_measurement_states",
    "random_layers",
    "simulate",
]

_H = np.array([[1, 1], [1, -1]]) / math.sqrt(2)
_SDG = np.diag([1, -1j])
_ROT = {0: _H, 1: _H @ _SDG, 2: np.eye(2)}  # X, Y, Z measurement: rotate into Z
_EPS_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.2)


def haar_unitary(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random d x d unitary (QR of a complex Ginibre matrix with the phase fix of Mezzadri 2007)."""
    z = (rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))) / math.sqrt(2)
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


GEOMETRIES = ("all", "chain", "2d-nn")
"""Circuit geometries: ``all`` (1-D all-to-all, a fresh random pairing per layer), ``chain`` (1-D
nearest-neighbour brickwork) and ``2d-nn`` (2-D nearest-neighbour brickwork on a grid)."""


def grid_shape(n: int) -> tuple[int, int]:
    """The most nearly square ``(rows, cols)`` grid with ``rows · cols = n`` and ``rows ≤ cols``, rows ≥ 2."""
    rows = max((r for r in range(2, math.isqrt(n) + 1) if n % r == 0), default=0)
    if rows == 0:
        raise DataError(f"{n} qubits do not fill a 2-D grid with at least 2 rows",
                        hint="use a qubit count with a factor >= 2, e.g. 6, 9, 12 or 16")
    return rows, n // rows


def grid_pairs(rows: int, cols: int, step: int) -> list[tuple[int, int]]:
    """The nearest-neighbour pairs of layer ``step`` on a rows × cols grid (wire = r · cols + c).

    Layers cycle through four brickwork patterns: horizontal bonds starting at even
    columns, at odd columns, vertical bonds starting at even rows, at odd rows, so
    that every bond of the grid is used once every four layers (the ABCD pattern of
    2-D random-circuit experiments). probe's choice; the paper's 2-D pattern was not
    readable here.
    """
    kind = step % 4
    if kind < 2:
        return [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(kind, cols - 1, 2)]
    return [(r * cols + c, (r + 1) * cols + c) for r in range(kind - 2, rows - 1, 2) for c in range(cols)]


def random_layers(n: int, depth: int, *, geometry: str = "all", rng: np.random.Generator,
                  grid: tuple[int, int] | None = None) -> list[list[tuple[tuple[int, int], np.ndarray]]]:
    """``depth`` layers of Haar two-qubit gates on a geometry (see :data:`GEOMETRIES`).

    ``all``: random pairings of all qubits; ``chain``: brickwork on a line; ``2d-nn``:
    brickwork on a ``grid`` (default :func:`grid_shape`), see :func:`grid_pairs`.
    Qian & Wang (2025, arXiv:2512.01317) study ``all`` and ``2d-nn``.
    """
    if geometry not in GEOMETRIES:
        raise DataError(f"geometry must be one of {', '.join(GEOMETRIES)}; got {geometry!r}")
    if geometry == "2d-nn":
        rows, cols = grid or grid_shape(n)
        if rows * cols != n or rows < 1 or cols < 1:
            raise DataError(f"grid {grid} does not hold {n} qubits", hint="rows × cols must equal the qubit count")
    layers = []
    for t in range(depth):
        if geometry == "all":
            perm = rng.permutation(n)
            pairs = [(int(perm[2 * i]), int(perm[2 * i + 1])) for i in range(n // 2)]
        elif geometry == "chain":
            pairs = [(i, i + 1) for i in range(t % 2, n - 1, 2)]
        else:
            pairs = grid_pairs(rows, cols, t)
        layers.append([(p, haar_unitary(4, rng)) for p in pairs])
    return layers


def _measure_masked(psi: torch.Tensor, q: int, mask: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Z-measure qubit q in the rows where ``mask`` is true; returns (outcomes with −1 = unmeasured, states)."""
    n = int(psi.shape[-1]).bit_length() - 1
    v = psi.reshape(psi.shape[0], 2**q, 2, 2 ** (n - q - 1))
    p = torch.view_as_real(v).square().sum((1, 3, 4))  # (rows, 2): Born probabilities of 0 and 1
    p1 = p[:, 1].clamp(0, 1)
    bit = (torch.rand(psi.shape[0], generator=gen, dtype=torch.float64) < p1).to(torch.int64)
    # one pass: zero the other outcome's half and renormalise by 1/sqrt(p(outcome)) in the measured rows
    scale = torch.where(mask, torch.where(bit == 1, p[:, 1], p[:, 0]).rsqrt(), torch.ones_like(p1))
    factor = torch.stack([torch.where(mask & (bit == 1), 0.0, scale), torch.where(mask & (bit == 0), 0.0, scale)], -1)
    out = (v * factor[:, None, :, None]).reshape(psi.shape)
    return torch.where(mask, bit, torch.full_like(bit, -1)), out


def simulate(n: int, layers: Sequence[Sequence[tuple[tuple[int, int], np.ndarray]]], *, rate: float = 0.0,
             trajectories: int = 1, seed: int | torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``layers`` from |0…0⟩ with mid-circuit Z measurements at ``rate``.

    Returns
    -------
    states : (trajectories, 2^n) complex128
    records : (trajectories, depth · n) int64, the mid-circuit outcomes (−1 where not measured)
    """
    gen = as_generator(seed)
    psi = zero_state(n, batch=trajectories)
    recs = []
    for layer in layers:
        for (a, b), u in layer:
            psi = apply_matrix(psi, u, (a, b))
        if rate > 0:
            for q in range(n):
                mask = torch.rand(trajectories, generator=gen, dtype=torch.float64) < rate
                bits, psi = _measure_masked(psi, q, mask, gen)
                recs.append(bits)
    records = torch.stack(recs, -1) if recs else torch.empty(trajectories, 0, dtype=torch.int64)
    return psi, records


def post_measurement_states(state: Any, pair: tuple[int, int], *, basis: str = "Z") -> tuple[np.ndarray, np.ndarray]:
    """Outcome probabilities p(m) and normalised A∪B states after measuring every other qubit.

    Parameters
    ----------
    state : (2^n,) state vector
    pair : the unmeasured qubits (A, B)
    basis : "Z" (default), "X", or one letter per measured qubit in increasing wire order

    Returns
    -------
    p : (2^(n−2),) Born probabilities of the outcomes m (measured wires in increasing order)
    ab : (2^(n−2), 4) normalised post-measurement states of (A, B) (zero rows where p = 0)
    """
    psi = torch.as_tensor(np.asarray(state, dtype=np.complex128))
    n = int(psi.shape[-1]).bit_length() - 1
    rest = [w for w in range(n) if w not in pair]
    letters = basis * len(rest) if len(basis) == 1 else basis
    if len(letters) != len(rest) or set(letters) - set("XYZ"):
        raise DataError(f"basis {basis!r}: give one letter X/Y/Z or one per measured qubit ({len(rest)})")
    for w, b in zip(rest, letters, strict=True):
        if b != "Z":
            psi = apply_matrix(psi, _ROT[{"X": 0, "Y": 1}[b]], (w,))
    rows = split_wires(psi, tuple(pair), n).T  # (2^(n-2), 4)
    p = (rows.abs() ** 2).sum(-1)
    ab = torch.where(p[:, None] > 1e-300, rows / p.clamp_min(1e-300).sqrt()[:, None], torch.zeros_like(rows))
    return p.numpy(), ab.numpy()


def _ent_pure2(ab: np.ndarray, base: float = 2) -> np.ndarray:
    """Entanglement entropy of two-qubit pure states (…, 4)."""
    s = np.linalg.svd(ab.reshape(*ab.shape[:-1], 2, 2), compute_uv=False) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(s > 0, s * np.log(np.where(s > 0, s, 1)), 0).sum(-1)
    return np.clip(h / math.log(base), 0.0, None)  # clip −1e-17 rounding


def mie_exact(state: Any, pair: tuple[int, int], *, basis: str = "Z", base: float = 2) -> tuple[float, np.ndarray, np.ndarray]:
    """Exact MIE ``Σ_m p(m) S(ρ_A|m)`` of one state by enumerating all outcomes.

    Returns (MIE, p, S) with p and S per outcome m. Known answers: a product state
    gives 0; the 1-D cluster state with all middle qubits measured in X gives 1 bit
    (Z: 0); GHZ measured in X gives 1 bit (Z: 0); a Haar-random state gives on
    average Page(2, 2) = 1/3 nat.
    """
    p, ab = post_measurement_states(state, pair, basis=basis)
    s = _ent_pure2(ab, base)
    return float((p * s).sum()), p, s


# --------------------------------------------------------------------------- learner


def _records(n: int, layers: Any, pair: tuple[int, int], rate: float, count: int, rng: np.random.Generator,
             gen: torch.Generator) -> dict[str, np.ndarray]:
    """``count`` measurement records of one circuit: features, bases, outcomes, true A∪B states."""
    feats, abs_ = [], []
    if rate == 0:
        psi, _ = simulate(n, layers, seed=gen)
        p, ab = post_measurement_states(psi[0].numpy(), pair)
        m = rng.choice(p.size, size=count, p=p / p.sum())
        k = n - 2
        bits = ((m[:, None] >> np.arange(k - 1, -1, -1)) & 1) * 2 - 1
        feats.append(bits.astype(np.float64))
        abs_.append(ab[m])
    else:
        for start in range(0, count, 512):
            t = min(512, count - start)
            psi, rec = simulate(n, layers, rate=rate, trajectories=t, seed=gen)
            rows = []
            bits_all = []
            for i in range(t):
                p, ab = post_measurement_states(psi[i].numpy(), pair)
                j = rng.choice(p.size, p=p / p.sum())
                rows.append(ab[j])
                bits_all.append(((j >> np.arange(n - 3, -1, -1)) & 1) * 2 - 1)
            r = rec.numpy()
            mid = np.concatenate([(r >= 0).astype(float), np.where(r >= 0, 2 * r - 1, 0)], axis=1)
            feats.append(np.concatenate([np.array(bits_all, dtype=float), mid], axis=1))
            abs_.append(np.array(rows))
    x = np.concatenate(feats)
    ab = np.concatenate(abs_)
    bases = rng.integers(0, 3, size=(count, 2))
    rot = np.stack([np.kron(_ROT[int(i)], _ROT[int(j)]) for i, j in bases])
    amp = np.einsum("sij,sj->si", rot, ab)
    prob = np.abs(amp) ** 2
    prob /= prob.sum(1, keepdims=True)
    u = rng.random(count)
    outcome = (prob.cumsum(1) < u[:, None]).sum(1).clip(0, 3)
    return {"x": x, "bases": bases, "outcome": outcome, "ab": ab}


def _model_states(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = net(x)
    phi = torch.complex(out[:, :4], out[:, 4:])
    return phi / torch.linalg.vector_norm(phi, dim=-1, keepdim=True)


_ROT_T = torch.as_tensor(np.stack([np.kron(_ROT[i], _ROT[j]) for i in range(3) for j in range(3)]))


def _born(phi: torch.Tensor, bases: torch.Tensor, outcome: torch.Tensor) -> torch.Tensor:
    rot = _ROT_T[bases[:, 0] * 3 + bases[:, 1]]
    amp = torch.einsum("sij,sj->si", rot, phi)
    return amp.gather(1, outcome[:, None]).squeeze(1).abs() ** 2


def _h2(t: float) -> float:
    t = min(max(t, 0.0), 0.5)
    return 0.0 if t <= 0 else float(-(t * math.log2(t) + (1 - t) * math.log2(1 - t)))


@dataclass(frozen=True, slots=True)
class LearnResult:
    """Bounds on MIE (bits) from a learner trained on measurement records only."""

    upper: float
    upper_se: float
    lower: float
    lower_se: float
    gap: float
    gap_se: float
    exact: float
    """Exact MIE of the held-out records' true states (reference; the learner never sees it)."""
    exact_se: float
    fidelity: float
    """Mean shadow fidelity F̄ of the learner's states with the true A∪B states."""
    epsilon: float
    """The ε of the upper bound, chosen on the training records."""
    records: int
    test_records: int
    lower_fannes: float = float("nan")
    """The earlier, looser lower bound ``max(0, E S(σ_A) − h₂(√(1 − F̄)))`` (Audenaert–Fannes), for comparison."""
    fidelity_anchor: float = float("nan")
    """F* of the fidelity lower bound (the point where its per-record lines touch the envelope), chosen on
    the training records."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def learn_bounds(n: int, layers: Any, pair: tuple[int, int], *, rate: float = 0.0, records: int = 4000,
                 epochs: int = 60, hidden: int = 64, test_fraction: float = 0.25, bootstrap: int = 200,
                 seed: int | np.random.Generator | None = None) -> LearnResult:
    """Train the record-only learner on one circuit and return the upper/lower bounds and their gap."""
    with threads_for(0):  # many tiny tensors: one thread is faster
        return _learn_bounds(n, layers, pair, rate, records, epochs, hidden, test_fraction, bootstrap, seed)


def _learn_bounds(n: int, layers: Any, pair: tuple[int, int], rate: float, records: int, epochs: int, hidden: int,
                  test_fraction: float, bootstrap: int, seed: int | np.random.Generator | None) -> LearnResult:
    rng = np.random.default_rng(seed)
    gen = as_generator(int(rng.integers(2**62)))
    data = _records(n, layers, pair, rate, records, rng, gen)
    n_test = max(20, round(test_fraction * records))
    idx = rng.permutation(records)
    test, train = idx[:n_test], idx[n_test:]
    x = torch.as_tensor(data["x"])
    bases = torch.as_tensor(data["bases"])
    outcome = torch.as_tensor(data["outcome"])
    torch_gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden),
                              torch.nn.Tanh(), torch.nn.Linear(hidden, 8)).to(torch.float64)
    with torch.no_grad():
        for p in net.parameters():  # seeded initialisation, independent of the global RNG
            p.copy_(torch.randn(p.shape, generator=torch_gen, dtype=torch.float64) / math.sqrt(max(p.shape[-1], 1)))
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    tr = torch.as_tensor(train)
    for _ in range(epochs):
        order = tr[torch.randperm(tr.numel(), generator=torch_gen)]
        for start in range(0, order.numel(), 256):
            b = order[start:start + 256]
            loss = -torch.log(_born(_model_states(net, x[b]), bases[b], outcome[b]) + 1e-12).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        phi_tr = _model_states(net, x[tr]).numpy()
        phi = _model_states(net, x[torch.as_tensor(test)]).numpy()
    # ε of the upper bound is picked on the training records only (smallest mean + 2 SE, which
    # penalises the shadow variance that a tiny ε brings), then applied to the held-out ones.
    def score(e: float) -> float:
        t = _upper_terms(phi_tr, data["bases"][train], data["outcome"][train], e)
        return float(t.mean() + 2 * t.std(ddof=1) / math.sqrt(t.size))

    eps = min(_EPS_GRID, key=score)
    # F* of the lower bound likewise: the largest training mean − 2 SE.
    f_tr = _fidelity_terms(phi_tr, data["bases"][train], data["outcome"][train])
    up_tr = _upper_terms(phi_tr, data["bases"][train], data["outcome"][train], eps)

    def lower_score(f_star: float) -> float:
        t = _lower_terms(phi_tr, up_tr, f_tr, eps, f_star)
        return float(t.mean() - 2 * t.std(ddof=1) / math.sqrt(t.size))

    anchor = max(_ANCHORS, key=lower_score)
    return _bounds(phi, data["bases"][test], data["outcome"][test], data["ab"][test], records, bootstrap, rng, eps,
                   anchor)


def _shadows(bases: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Single-qubit classical shadows ``3 R†|o⟩⟨o|R − I`` of A and B, each (s, 2, 2)."""
    rots = np.stack([_ROT[i] for i in range(3)])
    o_a, o_b = outcome // 2, outcome % 2
    ket_a = rots[bases[:, 0]].conj().transpose(0, 2, 1)[np.arange(len(o_a)), :, o_a]
    ket_b = rots[bases[:, 1]].conj().transpose(0, 2, 1)[np.arange(len(o_b)), :, o_b]
    sh_a = 3 * np.einsum("si,sj->sij", ket_a, ket_a.conj()) - np.eye(2)
    sh_b = 3 * np.einsum("si,sj->sij", ket_b, ket_b.conj()) - np.eye(2)
    return sh_a, sh_b


def _upper_terms(phi: np.ndarray, bases: np.ndarray, outcome: np.ndarray, eps: float) -> np.ndarray:
    """Per-record ``−tr ρ̂_A log₂ σ̃_A`` with ``σ̃ = (1−ε)σ_A + ε I/2`` (bits)."""
    m = phi.reshape(-1, 2, 2)
    sig_t = (1 - eps) * (m @ m.conj().transpose(0, 2, 1)) + eps * np.eye(2) / 2
    ev, vec = np.linalg.eigh(sig_t)
    log_sig = vec @ (np.log2(ev)[:, :, None] * vec.conj().transpose(0, 2, 1))
    sh_a, _ = _shadows(bases, outcome)
    return -np.einsum("sij,sji->s", sh_a, log_sig).real


# The lower bound's constants: a grid over the largest Schmidt coefficient λ of the learner's state, the
# slopes c, and (r, z) = (Bloch length, z component) of the qubit states ρ over which κ is a supremum.
_LAMBDA_GRID = np.unique(np.concatenate([np.linspace(0.5, 0.99, 99), 1 - np.geomspace(1e-2, 1e-9, 40), [1.0]]))
_C_GRID = np.linspace(0.0, 40.0, 161)
_KAPPA_MARGIN = 2e-3
"""Added to every tabulated κ: covers the grid's error in the supremum over ρ (checked in the tests)."""
_ANCHORS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


@functools.lru_cache(maxsize=8)
def _kappa_table(eps: float) -> np.ndarray:
    """``κ[i, k] = sup_ρ [D(ρ ‖ σ̃) − c_k (1 − F_U(ρ, σ))]`` (bits) for σ = diag(λ_i, 1 − λ_i).

    σ̃ = (1 − ε)σ + ε I/2 is the upper bound's regularised model marginal and F_U the
    Uhlmann fidelity, ``tr ρσ + 2 √(det ρ det σ)`` for qubits. D and F_U depend on ρ only
    through its Bloch length r and z component (σ is diagonal), so the supremum is over
    |z| ≤ r ≤ 1, on a grid dense near the pure states.
    """
    r = 1 - (1 - np.linspace(0.0, 1.0, 160)) ** 2
    u = np.linspace(-1.0, 1.0, 161)
    big_r, big_u = (a.ravel() for a in np.meshgrid(r, u, indexing="ij"))
    z = big_r * big_u
    p_hi, p_lo = (1 + big_r) / 2, (1 - big_r) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        neg_s = np.where(p_hi > 0, p_hi * np.log2(p_hi), 0.0) + np.where(p_lo > 0, p_lo * np.log2(p_lo), 0.0)
    r00 = (1 + z) / 2
    out = np.empty((_LAMBDA_GRID.size, _C_GRID.size))
    for i, lam in enumerate(_LAMBDA_GRID):
        lt = (1 - eps) * lam + eps / 2
        d = neg_s - r00 * np.log2(lt) - (1 - r00) * np.log2(1 - lt)
        f_u = r00 * lam + (1 - r00) * (1 - lam) + 2 * np.sqrt(np.clip((1 - big_r**2) / 4 * lam * (1 - lam), 0, None))
        infidelity = np.clip(1 - f_u, 0.0, None)
        points = np.stack([infidelity, d], 1)
        # a linear objective peaks at a vertex of the convex hull: the same max, far fewer points
        # (a degenerate, collinear point set keeps them all)
        with contextlib.suppress(QhullError):
            points = points[ConvexHull(points).vertices]
        out[i] = (points[None, :, 1] - _C_GRID[:, None] * points[None, :, 0]).max(1)
    return out + _KAPPA_MARGIN


def _fidelity_terms(phi: np.ndarray, bases: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Per-record unbiased shadow estimates ``F̂ = ⟨φ(m)| ρ̂_A ⊗ ρ̂_B |φ(m)⟩`` of the learner's fidelity."""
    sh_a, sh_b = _shadows(bases, outcome)
    phi_t = phi.reshape(-1, 2, 2)
    return np.einsum("sab,sac,sbd,scd->s", phi_t.conj(), sh_a, sh_b, phi_t).real


def _lower_terms(phi: np.ndarray, upper_terms: np.ndarray, f_hat: np.ndarray, eps: float,
                 anchor: float) -> np.ndarray:
    """Per-record ``−tr ρ̂_A log₂ σ̃_A − c_m (1 − F̂_m) − κ_m`` or 0 (bits); their mean is ≤ MIE in expectation.

    κ_m is the tabulated κ at the grid λ next to φ(m)'s largest Schmidt coefficient on either
    side (the larger of the two), c_m the slope minimising ``c (1 − anchor) + κ``: the line
    that costs least when the learner's fidelity is ``anchor``. Records whose model state has
    less entanglement than that cost use the trivial line S ≥ 0 instead.
    """
    lam = (np.linalg.svd(phi.reshape(-1, 2, 2), compute_uv=False) ** 2).max(1)
    table = _kappa_table(float(eps))
    hi = np.clip(np.searchsorted(_LAMBDA_GRID, lam), 0, _LAMBDA_GRID.size - 1)
    lo = np.clip(hi - 1, 0, None)
    kappa = np.maximum(table[hi], table[lo])
    k = np.argmin(_C_GRID[None, :] * (1 - anchor) + kappa, axis=1)
    cost = _C_GRID[k] * (1 - anchor) + kappa[np.arange(len(k)), k]
    terms = upper_terms - _C_GRID[k] * (1 - f_hat) - kappa[np.arange(len(k)), k]
    # S ≥ 0 is the better line where the learner's own state is expected to lose to the penalty
    # (a choice made from φ(m) alone, so the mean stays a valid bound).
    use = _ent_pure2(phi) > cost
    return np.where(use, terms, 0.0)


def _bounds(phi: np.ndarray, bases: np.ndarray, outcome: np.ndarray, ab_true: np.ndarray, records: int,
            bootstrap: int, rng: np.random.Generator, eps: float, anchor: float = 0.9) -> LearnResult:
    upper_terms = _upper_terms(phi, bases, outcome, eps)
    s_model = _ent_pure2(phi)
    f_terms = _fidelity_terms(phi, bases, outcome)
    lower_terms = _lower_terms(phi, upper_terms, f_terms, eps, anchor)
    s_true = _ent_pure2(ab_true)

    def stats(ix: np.ndarray) -> tuple[float, float, float, float]:
        up = float(upper_terms[ix].mean())
        lo = max(0.0, float(lower_terms[ix].mean()))  # MIE >= 0 is also a bound
        fbar = float(np.clip(f_terms[ix].mean(), 0.0, 1.0))
        fannes = max(0.0, float(s_model[ix].mean()) - _h2(math.sqrt(1 - fbar)))
        return up, lo, up - lo, fannes

    full = np.arange(len(phi))
    up, lo, gap, fannes = stats(full)
    boot = np.array([stats(rng.integers(0, len(phi), len(phi))) for _ in range(bootstrap)])
    se = boot.std(0, ddof=1) if bootstrap > 1 else np.zeros(4)
    return LearnResult(upper=up, upper_se=float(se[0]), lower=lo, lower_se=float(se[1]), gap=gap,
                       gap_se=float(se[2]), exact=float(s_true.mean()),
                       exact_se=float(s_true.std(ddof=1) / math.sqrt(len(s_true))),
                       fidelity=float(f_terms.mean()), epsilon=eps, records=records, test_records=len(phi),
                       lower_fannes=fannes, fidelity_anchor=anchor)


# --------------------------------------------------------------------------- scan


@dataclass(frozen=True, slots=True)
class MieScan:
    """MIE (bits) per (depth, rate), and the learner's bound gap where requested."""

    qubits: int
    pair: tuple[int, int]
    geometry: str
    table: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.table))


def mie_scan(n: int, depths: Sequence[int], rates: Sequence[float], *, pair: tuple[int, int] = (0, -1),
             geometry: str = "all", circuits: int = 10, trajectories: int = 16, learn: bool = False,
             records: int = 4000, epochs: int = 60, hidden: int = 64, learn_circuits: int = 2,
             seed: int | np.random.Generator | None = None, progress: Callable[[], None] | None = None) -> MieScan:
    """MIE of random circuits over a grid of depths and mid-circuit measurement rates.

    Each row: ``depth``, ``rate``, ``mie`` (mean over circuits of the trajectory-averaged
    exact MIE), ``mie_se`` (over circuits), ``mie_q10/q50/q90`` (spread over circuits),
    ``circuits``, ``trajectories``; with ``learn``: ``upper``, ``lower``, ``gap`` (± se,
    averaged over ``learn_circuits`` learners) and ``exact_learn`` (the same circuits' MIE).
    """
    if geometry not in GEOMETRIES:
        raise DataError(f"geometry must be one of {', '.join(GEOMETRIES)}; got {geometry!r}")
    if geometry == "2d-nn":
        grid_shape(n)  # a clear error for a prime number of qubits, before any work
    with threads_for(trajectories * 2**n):
        return _mie_scan(n, depths, rates, pair, geometry, circuits, trajectories, learn, records, epochs, hidden,
                         learn_circuits, seed, progress)


def _mie_scan(n: int, depths: Sequence[int], rates: Sequence[float], pair: tuple[int, int], geometry: str,
              circuits: int, trajectories: int, learn: bool, records: int, epochs: int, hidden: int,
              learn_circuits: int, seed: int | np.random.Generator | None,
              progress: Callable[[], None] | None) -> MieScan:
    a, b = pair[0] % n, pair[1] % n
    rng = np.random.default_rng(seed)
    rows = []
    for depth in depths:
        for rate in rates:
            vals = []
            for _ in range(circuits):
                layers = random_layers(n, depth, geometry=geometry, rng=rng)
                t = trajectories if rate > 0 else 1
                psi, _ = simulate(n, layers, rate=rate, trajectories=t, seed=int(rng.integers(2**62)))
                vals.append(float(np.mean([mie_exact(psi[i].numpy(), (a, b))[0] for i in range(t)])))
                if progress:
                    progress()
            v = np.array(vals)
            row: dict[str, Any] = {"depth": int(depth), "rate": float(rate), "mie": float(v.mean()),
                                   "mie_se": float(v.std(ddof=1) / math.sqrt(v.size)),
                                   "mie_q10": float(np.quantile(v, 0.1)), "mie_q50": float(np.median(v)),
                                   "mie_q90": float(np.quantile(v, 0.9)), "circuits": circuits,
                                   "trajectories": trajectories if rate > 0 else 1}
            if learn:
                res = []
                for _ in range(learn_circuits):
                    layers = random_layers(n, depth, geometry=geometry, rng=rng)
                    res.append(learn_bounds(n, layers, (a, b), rate=rate, records=records, epochs=epochs,
                                            hidden=hidden, seed=rng))
                    if progress:
                        progress()
                k = len(res)
                for key in ("upper", "lower", "gap", "exact", "fidelity"):
                    row[key if key != "exact" else "exact_learn"] = float(np.mean([getattr(r, key) for r in res]))
                for key in ("upper_se", "lower_se", "gap_se"):
                    row[key] = float(math.sqrt(sum(getattr(r, key) ** 2 for r in res)) / k)
                row["records"] = records
                row["learn_circuits"] = k
            rows.append(row)
    return MieScan(n, (a, b), geometry, tuple(rows))
