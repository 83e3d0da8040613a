"""Data encodings: angle (one rotation per feature), amplitude, and the ZZ feature map.

Angle and ZZ encodings are circuits whose first angle slots take the data, so
they compose with an ansatz: ``statevector(angle_encoding(n) + ring_vqc(n, 2), x, w)``.
Amplitude encoding is a normalised initial state passed as ``state=``.
"""

from __future__ import annotations

from typing import Any

import torch

from probe.errors import DataError
from probe.qsim.circuit import Circuit

__all__ = ["amplitude_encoding", "angle_encoding", "zz_angles", "zz_feature_map"]


def angle_encoding(n: int, *, rotation: str = "RY", hadamard: bool = False) -> Circuit:
    """One rotation per feature: feature ``i`` is the angle of ``rotation`` on wire ``i``.

    ``hadamard=True`` puts H on every wire first (useful with RZ). The features are
    used as given (radians); scale them first, e.g. to [0, π].
    """
    if rotation.upper() not in ("RX", "RY", "RZ"):
        raise DataError(f"angle encoding rotation must be RX, RY or RZ; got {rotation!r}")
    c = Circuit(n)
    if hadamard:
        for w in range(n):
            c.h(w)
    for w in range(n):
        c.gate(rotation, w)
    return c


def amplitude_encoding(x: Any, *, n_qubits: int | None = None, dtype: torch.dtype = torch.complex128) -> torch.Tensor:
    """Features as amplitudes: ``x / ‖x‖``, zero-padded to ``2^n`` entries.

    Parameters
    ----------
    x : array-like of shape (F,) or (B, F)
        Real or complex features. Differentiable if ``x`` is a tensor requiring grad.
    n_qubits : int, optional
        Default: the smallest n with 2^n ≥ F.

    Returns
    -------
    torch.Tensor of shape (2^n,) or (B, 2^n)
    """
    t = torch.as_tensor(x)
    if t.dim() not in (1, 2) or t.shape[-1] == 0:
        raise DataError(f"amplitude encoding needs features of shape (F,) or (B, F); got {tuple(t.shape)}")
    f = t.shape[-1]
    need = max(1, (f - 1).bit_length())
    n = need if n_qubits is None else n_qubits
    if 2**n < f:
        raise DataError(f"{f} features do not fit in {n} qubits (2^{n} = {2**n} amplitudes)",
                        hint=f"use at least {need} qubits")
    t = t.to(dtype) if t.is_complex() else t.to(torch.float64 if dtype == torch.complex128 else torch.float32).to(dtype)
    if 2**n > f:
        t = torch.nn.functional.pad(t, (0, 2**n - f))
    norm = torch.linalg.vector_norm(t, dim=-1, keepdim=True)
    if bool((norm == 0).any()):
        raise DataError("amplitude encoding of an all-zero feature vector is undefined",
                        hint="drop or shift the zero rows")
    return t / norm


def zz_feature_map(n: int, reps: int = 2) -> Circuit:
    """Havlíček et al. (2019, arXiv:1804.11326) ZZ feature map, as in qiskit's ``ZZFeatureMap``.

    Per repetition: H on every wire, PHASE(φ_i) on wire i, then for each pair
    i < j: CNOT(i, j), PHASE(φ_ij) on j, CNOT(i, j). The angle slots are filled
    by :func:`zz_angles` with φ_i = 2 x_i and φ_ij = 2 (π − x_i)(π − x_j).
    """
    if reps < 1:
        raise DataError(f"reps must be >= 1; got {reps}")
    c = Circuit(n)
    for _ in range(reps):
        for w in range(n):
            c.h(w)
        for w in range(n):
            c.gate("PHASE", w)
        for i in range(n):
            for j in range(i + 1, n):
                c.cnot(i, j)
                c.gate("PHASE", j)
                c.cnot(i, j)
    return c


def zz_angles(x: Any, reps: int = 2) -> torch.Tensor:
    """The angle vector of :func:`zz_feature_map` for features ``x`` of shape (F,) or (B, F)."""
    t = torch.as_tensor(x, dtype=torch.float64)
    n = t.shape[-1]
    per = [2 * t]
    pair = [2 * (torch.pi - t[..., i]) * (torch.pi - t[..., j]) for i in range(n) for j in range(i + 1, n)]
    block = torch.cat([per[0], torch.stack(pair, -1)], -1) if pair else per[0]
    return torch.cat([block] * reps, -1)
