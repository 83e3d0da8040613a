"""Reading states: probabilities, expectation values, sampling, projective measurement, reductions.

All functions take torch state tensors of shape ``(2^n,)`` or ``(B, 2^n)`` (wire 0
is the most significant bit) and keep the batch axis. Sampling takes a
``torch.Generator`` or an int seed; it never touches the global RNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from probe.errors import DataError
from probe.qsim import blocked
from probe.qsim.circuit import Circuit, Op
from probe.qsim.fusion import apply_chunk
from probe.qsim.simulator import statevector, threads_for
from probe.qsim.validation import check_power_of_two

__all__ = [
    "RunResult",
    "as_generator",
    "expval_pauli",
    "expval_z",
    "measure",
    "n_qubits_of",
    "probabilities",
    "reduced_density_matrix",
    "run",
    "sample",
]

_PAULI = {
    "X": torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128),
    "Y": torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex128),
    "Z": torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128),
}


def as_generator(seed: int | torch.Generator | None) -> torch.Generator:
    """A torch generator from an int seed (or a fresh random one for ``None``)."""
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator()
    g.manual_seed(int(seed) if seed is not None else int(np.random.default_rng().integers(2**62)))
    return g


def n_qubits_of(state: torch.Tensor) -> int:
    return check_power_of_two(int(state.shape[-1]), name="state")


def _wires(wires: Sequence[int] | None, n: int) -> tuple[int, ...]:
    if wires is None:
        return tuple(range(n))
    out = tuple(int(w) for w in wires)
    if len(set(out)) != len(out) or any(not 0 <= w < n for w in out):
        raise DataError(f"wires {out} must be distinct and in 0..{n - 1}")
    return out


def split_wires(x: torch.Tensor, wires: tuple[int, ...], n: int) -> torch.Tensor:
    """(…, 2^n) → (…, 2^k, 2^(n-k)) with ``wires`` (in that order) as the first factor."""
    lead = x.shape[:-1]
    y = x.reshape(*lead, *([2] * n))
    rest = [w for w in range(n) if w not in wires]
    perm = list(range(len(lead))) + [len(lead) + w for w in (*wires, *rest)]
    return y.permute(perm).reshape(*lead, 2 ** len(wires), 2 ** len(rest))


def probabilities(state: torch.Tensor, wires: Sequence[int] | None = None) -> torch.Tensor:
    """Born probabilities of the computational basis on ``wires`` (all by default), shape (…, 2^k)."""
    n = n_qubits_of(state)
    w = _wires(wires, n)
    p = state.real**2 + state.imag**2
    if w == tuple(range(n)):
        return p
    return split_wires(p, w, n).sum(-1)


def expval_z(state: torch.Tensor, wires: Sequence[int] | None = None) -> torch.Tensor:
    """``⟨Z_w⟩`` for each wire in ``wires`` (all by default); shape (…, k). Differentiable.

    One pass over the state: Born probabilities times a (2^n, k) matrix of ±1 signs.
    """
    n = n_qubits_of(state)
    w = _wires(wires, n)
    fast = blocked.expval_z(state if state.dim() != 1 else state[None], w)
    if fast is not None:
        return fast if state.dim() != 1 else fast[0]
    with threads_for(state.numel()):
        p = torch.view_as_real(state).square().sum(-1) if state.is_complex() else state.square()
        return p @ _z_signs(n, w, p.dtype, p.device)


_SIGNS: dict[tuple[int, tuple[int, ...], torch.dtype, Any], torch.Tensor] = {}


def _z_signs(n: int, wires: tuple[int, ...], dtype: torch.dtype, device: Any) -> torch.Tensor:
    key = (n, wires, dtype, device)
    if key not in _SIGNS:
        idx = torch.arange(2**n, device=device)
        bits = torch.stack([(idx >> (n - 1 - w)) & 1 for w in wires], -1)
        _SIGNS[key] = (1 - 2 * bits).to(dtype)
    return _SIGNS[key]


def expval_pauli(state: torch.Tensor, pauli: str) -> torch.Tensor:
    """``⟨ψ|P|ψ⟩`` for a Pauli string such as ``"XIZY"`` (one letter per wire), shape (…,)."""
    n = n_qubits_of(state)
    p = pauli.upper()
    if len(p) != n or set(p) - set("IXYZ"):
        raise DataError(f"Pauli string {pauli!r} must have {n} letters from I, X, Y, Z")
    phi = state
    for w, letter in enumerate(p):
        if letter != "I":
            phi = apply_chunk(phi, _PAULI[letter].to(state.dtype), w, 1, n)
    return (state.conj() * phi).sum(-1).real


def reduced_density_matrix(state: torch.Tensor, keep: Sequence[int]) -> torch.Tensor:
    """Partial trace of a pure state over every wire not in ``keep``: shape (…, 2^k, 2^k).

    ``keep`` order sets the tensor order of the result (first wire most significant).
    """
    n = n_qubits_of(state)
    w = _wires(keep, n)
    a = split_wires(state, w, n)
    return a @ a.mH


def sample(state: torch.Tensor, shots: int, *, wires: Sequence[int] | None = None,
           seed: int | torch.Generator | None = None) -> torch.Tensor:
    """``shots`` basis-state outcomes on ``wires``, as integers (first wire most significant), shape (…, shots)."""
    if shots < 1:
        raise DataError(f"shots must be >= 1; got {shots}")
    p = probabilities(state.detach(), wires)
    flat = p.reshape(-1, p.shape[-1]).clamp_min(0)
    idx = torch.multinomial(flat.to(torch.float64), shots, replacement=True, generator=as_generator(seed))
    return idx.reshape(*p.shape[:-1], shots)


def measure(state: torch.Tensor, wires: Sequence[int], *,
            seed: int | torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Projective Z-basis measurement of ``wires`` with a sampled outcome per batch element.

    Returns
    -------
    outcomes : torch.Tensor of int64, shape (…, k)
        Measured bits (0/1), in the order of ``wires``.
    post : torch.Tensor, same shape as ``state``
        The normalised post-measurement state ``Π_m ψ / ‖Π_m ψ‖`` (still on n qubits).
    """
    n = n_qubits_of(state)
    w = _wires(wires, n)
    squeeze = state.dim() == 1
    psi = state[None] if squeeze else state
    p = probabilities(psi.detach(), w).clamp_min(0)
    k = len(w)
    idx = torch.multinomial(p.to(torch.float64), 1, generator=as_generator(seed))[:, 0]
    bits = ((idx[:, None] >> torch.arange(k - 1, -1, -1)) & 1).to(torch.int64)
    basis = torch.arange(2**n)
    local = torch.zeros(2**n, dtype=torch.int64)
    for q in w:
        local = (local << 1) | ((basis >> (n - 1 - q)) & 1)
    mask = (local[None, :] == idx[:, None]).to(psi.real.dtype)
    post = psi * mask
    norm = torch.sqrt((post.real**2 + post.imag**2).sum(-1, keepdim=True))
    post = post / norm
    return (bits[0], post[0]) if squeeze else (bits, post)


@dataclass(frozen=True, slots=True)
class RunResult:
    """Final state of a circuit with mid-circuit measurements, and the sampled outcomes."""

    state: torch.Tensor
    """Shape (2^n,) or (B, 2^n)."""
    outcomes: tuple[tuple[tuple[int, ...], torch.Tensor], ...]
    """One ``(wires, bits)`` pair per MEASURE op, in circuit order; bits shape (…, k)."""

    def records(self) -> torch.Tensor:
        """All measured bits side by side, shape (…, total measured)."""
        return torch.cat([b for _, b in self.outcomes], dim=-1) if self.outcomes else torch.empty(0)


def run(circuit: Circuit, *params: Any, state: Any = None, seed: int | torch.Generator | None = None,
        dtype: torch.dtype = torch.complex128) -> RunResult:
    """Simulate a circuit that may contain mid-circuit measurements (``Circuit.measure``).

    Unitary segments are simulated by :func:`statevector` (differentiable); each
    MEASURE samples one outcome per batch element from the Born rule using
    ``seed`` and projects.
    """
    gen = as_generator(seed)
    segments: list[Circuit | Op] = []
    current = Circuit(circuit.n_qubits)
    for op in circuit.ops:
        if op.is_measure:
            segments += [current, op]
            current = Circuit(circuit.n_qubits)
        else:
            current.ops.append(op)
    segments.append(current)
    psi = None if state is None else torch.as_tensor(state)
    outcomes = []
    for seg in segments:
        if isinstance(seg, Op):
            if psi is None:
                from probe.qsim.simulator import zero_state

                psi = zero_state(circuit.n_qubits, dtype=dtype)
            bits, psi = measure(psi, seg.wires, seed=gen)
            outcomes.append((seg.wires, bits))
        elif seg.ops:
            seg.n_params = circuit.n_params
            psi = statevector(seg, *params, state=psi, dtype=dtype)
    if psi is None:
        psi = statevector(circuit, *params, dtype=dtype)
    return RunResult(psi, tuple(outcomes))
