"""Gate library: every named gate, its arity, its kind and its small matrix.

Conventions (the same as PennyLane's): wire 0 is the most significant bit of a
basis index, so for a two-wire gate on ``(a, b)`` the 4x4 matrix is written in
the basis ``|q_a q_b⟩ = |00⟩, |01⟩, |10⟩, |11⟩``; controlled gates take the
control first. Rotations are ``R_P(θ) = exp(-i θ P / 2)``; ``PHASE(φ) =
diag(1, e^{iφ})``.

Each gate has a *kind*, which the simulator uses to fuse runs of gates:

- ``dense``: a general matrix (RX, RY, H, CRX, RXX, ...);
- ``diag``: diagonal, ``diag(exp(i φ))`` with ``φ = θ·a + b`` linear in the angle
  (RZ, PHASE, CZ, CRZ, CPHASE, RZZ, Z, S, T);
- ``perm``: a permutation of basis states (X, CNOT, SWAP, CCX).

Matrices are built in torch from an angle tensor of shape ``()`` or ``(B,)``
and come back with shape ``(d, d)`` or ``(B, d, d)``, so gradients flow to the
angles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["GATES", "GateSpec", "gate_matrix", "known_gates"]


@dataclass(frozen=True, slots=True)
class GateSpec:
    """What the simulator needs to know about one named gate."""

    name: str
    n_wires: int
    n_params: int
    kind: str
    """``"dense"``, ``"diag"`` or ``"perm"``."""
    dense: Callable[[torch.Tensor | None, torch.dtype], torch.Tensor] | None = None
    """Matrix builder ``(theta, dtype) -> (..., d, d)``; None for ``diag``/``perm`` (derived)."""
    phase_coef: tuple[float, ...] | None = None
    """``diag``: the ``a`` of ``φ = θ·a + b`` over the ``2^k`` local basis states."""
    phase_const: tuple[float, ...] | None = None
    """``diag``: the ``b`` of ``φ = θ·a + b``."""
    perm: tuple[int, ...] | None = None
    """``perm``: ``out[i] = in[perm[i]]`` over the local basis."""


def _cs(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.cos(theta / 2), torch.sin(theta / 2)


def _mat(rows: list[list[torch.Tensor]], dtype: torch.dtype) -> torch.Tensor:
    """Stack a nested list of broadcastable complex tensors into ``(..., d, d)``."""
    flat = [x for row in rows for x in row]
    shape = torch.broadcast_shapes(*(x.shape for x in flat))
    flat = [x.to(dtype).expand(shape) for x in flat]
    d = len(rows)
    return torch.stack(flat, dim=-1).reshape(*shape, d, d)


def _rx(theta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    c, s = _cs(theta)
    mis = torch.complex(torch.zeros_like(s), -s)
    return _mat([[c, mis], [mis, c]], dtype)


def _ry(theta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    c, s = _cs(theta)
    return _mat([[c, -s], [s, c]], dtype)


def _controlled(u: torch.Tensor) -> torch.Tensor:
    """``|0⟩⟨0| ⊗ I + |1⟩⟨1| ⊗ u`` for ``u`` of shape ``(..., 2, 2)``."""
    out = torch.zeros(*u.shape[:-2], 4, 4, dtype=u.dtype, device=u.device)
    out[..., 0, 0] = 1
    out[..., 1, 1] = 1
    out[..., 2:, 2:] = u
    return out


def _two_pauli_rot(pauli: str) -> Callable[[torch.Tensor, torch.dtype], torch.Tensor]:
    p = {"X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]])}[pauli]
    pp = np.kron(p, p)

    def build(theta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        c, s = _cs(theta)
        eye = torch.eye(4, dtype=dtype, device=theta.device)
        gen = torch.as_tensor(pp, dtype=dtype, device=theta.device)
        return c.to(dtype)[..., None, None] * eye - 1j * s.to(dtype)[..., None, None] * gen

    return build


def _fixed(matrix: np.ndarray) -> Callable[[torch.Tensor | None, torch.dtype], torch.Tensor]:
    def build(theta: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(matrix, dtype=dtype)

    return build


_SQ2 = 1 / math.sqrt(2)
_H = np.array([[_SQ2, _SQ2], [_SQ2, -_SQ2]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]])
_SX = 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]])
_ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
_CY = np.eye(4, dtype=complex)
_CY[2:, 2:] = _Y
_PI = math.pi

GATES: dict[str, GateSpec] = {
    s.name: s
    for s in (
        # one wire, dense
        GateSpec("H", 1, 0, "dense", _fixed(_H)),
        GateSpec("Y", 1, 0, "dense", _fixed(_Y)),
        GateSpec("SX", 1, 0, "dense", _fixed(_SX)),
        GateSpec("RX", 1, 1, "dense", _rx),
        GateSpec("RY", 1, 1, "dense", _ry),
        # one wire, diagonal / permutation
        GateSpec("X", 1, 0, "perm", perm=(1, 0)),
        GateSpec("Z", 1, 0, "diag", phase_coef=(0, 0), phase_const=(0, _PI)),
        GateSpec("S", 1, 0, "diag", phase_coef=(0, 0), phase_const=(0, _PI / 2)),
        GateSpec("SDG", 1, 0, "diag", phase_coef=(0, 0), phase_const=(0, -_PI / 2)),
        GateSpec("T", 1, 0, "diag", phase_coef=(0, 0), phase_const=(0, _PI / 4)),
        GateSpec("TDG", 1, 0, "diag", phase_coef=(0, 0), phase_const=(0, -_PI / 4)),
        GateSpec("RZ", 1, 1, "diag", phase_coef=(-0.5, 0.5), phase_const=(0, 0)),
        GateSpec("PHASE", 1, 1, "diag", phase_coef=(0, 1), phase_const=(0, 0)),
        # two wires
        GateSpec("CNOT", 2, 0, "perm", perm=(0, 1, 3, 2)),
        GateSpec("SWAP", 2, 0, "perm", perm=(0, 2, 1, 3)),
        GateSpec("CZ", 2, 0, "diag", phase_coef=(0, 0, 0, 0), phase_const=(0, 0, 0, _PI)),
        GateSpec("CRZ", 2, 1, "diag", phase_coef=(0, 0, -0.5, 0.5), phase_const=(0, 0, 0, 0)),
        GateSpec("CPHASE", 2, 1, "diag", phase_coef=(0, 0, 0, 1), phase_const=(0, 0, 0, 0)),
        GateSpec("RZZ", 2, 1, "diag", phase_coef=(-0.5, 0.5, 0.5, -0.5), phase_const=(0, 0, 0, 0)),
        GateSpec("CY", 2, 0, "dense", _fixed(_CY)),
        GateSpec("ISWAP", 2, 0, "dense", _fixed(_ISWAP)),
        GateSpec("CRX", 2, 1, "dense", lambda t, dt: _controlled(_rx(t, dt))),
        GateSpec("CRY", 2, 1, "dense", lambda t, dt: _controlled(_ry(t, dt))),
        GateSpec("RXX", 2, 1, "dense", _two_pauli_rot("X")),
        GateSpec("RYY", 2, 1, "dense", _two_pauli_rot("Y")),
        # three wires
        GateSpec("CCX", 3, 0, "perm", perm=(0, 1, 2, 3, 4, 5, 7, 6)),
    )
}
"""Every named gate probe simulates, by upper-case name."""


def known_gates() -> list[str]:
    return sorted(GATES)


def gate_matrix(name: str, theta: torch.Tensor | float | None = None, *,
                dtype: torch.dtype = torch.complex128) -> torch.Tensor:
    """The matrix of a named gate, shape ``(d, d)`` or ``(B, d, d)`` for a batch of angles.

    Parameters
    ----------
    name : str
        A key of :data:`GATES` (case-insensitive).
    theta : tensor or float, optional
        The angle in radians, shape ``()`` or ``(B,)``; required for parametric gates.
    dtype : torch.dtype, default complex128

    Examples
    --------
    >>> gate_matrix("CNOT").real.int().tolist()
    [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]
    """
    spec = GATES[name.upper()]
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    t = None if theta is None else torch.as_tensor(theta, dtype=real)
    if spec.n_params and t is None:
        raise ValueError(f"gate {spec.name} needs an angle")
    if spec.kind == "dense":
        assert spec.dense is not None
        return spec.dense(t, dtype)
    d = 2**spec.n_wires
    if spec.kind == "perm":
        assert spec.perm is not None
        return torch.eye(d, dtype=dtype)[list(spec.perm)]
    assert spec.phase_coef is not None and spec.phase_const is not None
    a = torch.tensor(spec.phase_coef, dtype=real)
    b = torch.tensor(spec.phase_const, dtype=real)
    phi = b if t is None else t[..., None] * a + b
    return torch.diag_embed(torch.polar(torch.ones_like(phi), phi)).to(dtype)
