"""Entanglement of pure states: entropies of a bipartition, Meyer–Wallach Q, concurrence.

Every function accepts numpy arrays or torch tensors of shape ``(2^n,)`` or
``(B, 2^n)`` (wire 0 most significant). Torch in → torch out (differentiable);
anything else → numpy out. Entropies are in bits by default (``base=2``; pass
``base=math.e`` for nats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from probe.analysis.entropy import von_neumann
from probe.errors import DataError
from probe.qsim.states import n_qubits_of, reduced_density_matrix, split_wires

__all__ = [
    "concurrence",
    "entanglement_entropy",
    "linear_entropy",
    "meyer_wallach",
    "renyi_entropy",
    "schmidt_coefficients",
    "von_neumann",
]


def _tensor(x: Any) -> tuple[torch.Tensor, bool]:
    if isinstance(x, torch.Tensor):
        return (x if x.is_complex() else x.to(torch.complex128)), True
    a = np.asarray(x)
    return torch.as_tensor(a.astype(np.complex128)), False


def _out(t: torch.Tensor, was_torch: bool) -> Any:
    if was_torch:
        return t
    a = t.detach().cpu().numpy()
    return float(a) if a.ndim == 0 else a


def _cut(state: torch.Tensor, subsystem: Sequence[int] | int) -> tuple[int, tuple[int, ...]]:
    n = n_qubits_of(state)
    wires = tuple(range(subsystem)) if isinstance(subsystem, int) else tuple(int(w) for w in subsystem)
    if not wires or len(set(wires)) != len(wires) or any(not 0 <= w < n for w in wires):
        raise DataError(f"subsystem {subsystem!r} must name distinct wires in 0..{n - 1} (or a count 1..{n - 1})")
    return n, wires


def schmidt_coefficients(state: Any, subsystem: Sequence[int] | int) -> Any:
    """Schmidt coefficients λ_i (squared singular values, summing to 1) of A = ``subsystem`` vs the rest.

    ``subsystem`` is a list of wires or an int k meaning wires 0..k-1. Shape (…, min(d_A, d_B)).
    """
    psi, was = _tensor(state)
    n, wires = _cut(psi, subsystem)
    s = torch.linalg.svdvals(split_wires(psi, wires, n))
    return _out(s**2, was)


def entanglement_entropy(state: Any, subsystem: Sequence[int] | int, *, base: float = 2) -> Any:
    """Entanglement entropy ``S(ρ_A) = −Σ λ_i log λ_i`` of a pure state across A | rest.

    Parameters
    ----------
    state : array-like of shape (2^n,) or (B, 2^n)
    subsystem : list of wires, or int k for wires 0..k-1
    base : float, default 2 (bits; ``math.e`` for nats)

    Notes
    -----
    Computed from the Schmidt coefficients (SVD of the reshaped amplitude
    matrix), never from a 2^n x 2^n matrix. Bell state: 1 bit; product state: 0;
    the maximum is ``min(|A|, n − |A|)`` bits.
    """
    lam = schmidt_coefficients(state, subsystem)
    return von_neumann(lam, base=base)


def renyi_entropy(state: Any, subsystem: Sequence[int] | int, *, alpha: float = 2, base: float = 2) -> Any:
    """Rényi-α entropy ``log(Σ λ_i^α) / (1 − α)`` of ρ_A (α → 1 gives von Neumann)."""
    if alpha == 1:
        return entanglement_entropy(state, subsystem, base=base)
    lam = schmidt_coefficients(state, subsystem)
    t = lam if isinstance(lam, torch.Tensor) else torch.as_tensor(lam)
    h = torch.log((t.clamp_min(0) ** alpha).sum(-1)) / (1 - alpha) / math.log(base)
    return _out(h, isinstance(lam, torch.Tensor))


def linear_entropy(state: Any, subsystem: Sequence[int] | int) -> Any:
    """``1 − tr ρ_A²`` (the entanglement measure of Zanardi's entangling power)."""
    lam = schmidt_coefficients(state, subsystem)
    t = lam if isinstance(lam, torch.Tensor) else torch.as_tensor(lam)
    return _out(1 - (t**2).sum(-1), isinstance(lam, torch.Tensor))


def meyer_wallach(state: Any) -> Any:
    """Meyer–Wallach global entanglement ``Q = 2 [1 − (1/n) Σ_k tr ρ_k²]`` (Brennen's form).

    Meyer & Wallach (2002), J. Math. Phys. 43, 4273, arXiv:quant-ph/0108104;
    Brennen (2003), arXiv:quant-ph/0305094. Product states 0; GHZ_n 1;
    W_n ``4(n−1)/n²``; Haar average ``(d−2)/(d+1)``, d = 2^n.
    """
    psi, was = _tensor(state)
    n = n_qubits_of(psi)
    purity = torch.zeros(psi.shape[:-1], dtype=psi.real.dtype)
    for k in range(n):
        rho = reduced_density_matrix(psi, [k])
        purity = purity + (rho.abs() ** 2).sum((-1, -2))
    return _out(2 * (1 - purity / n), was)


def concurrence(state: Any, *, density: bool = False) -> Any:
    """Wootters concurrence of two qubits.

    Parameters
    ----------
    state : array-like
        Pure states of shape (4,) or (B, 4); with ``density=True``, density matrices
        of shape (4, 4) or (B, 4, 4).

    Notes
    -----
    Pure: ``C = 2 |ψ_00 ψ_11 − ψ_01 ψ_10|``. Mixed: ``max(0, λ1 − λ2 − λ3 − λ4)`` with λ
    the decreasing square roots of the eigenvalues of ``ρ (σy⊗σy) ρ* (σy⊗σy)``
    (Wootters 1998, PRL 80, 2245, arXiv:quant-ph/9709029). Bell states 1, products 0.
    """
    t, was = _tensor(state)
    if t.shape[-1] != 4 or (density and (t.dim() < 2 or t.shape[-2] != 4)):
        raise DataError(f"concurrence is defined here for two qubits (dimension 4); got shape {tuple(t.shape)}")
    if density:
        yy = torch.tensor([[0, 0, 0, -1], [0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0]], dtype=t.dtype)
        r = t @ yy @ t.conj() @ yy
        ev = torch.linalg.eigvals(r).real.clamp_min(0).sqrt().sort(dim=-1, descending=True).values
        c = (ev[..., 0] - ev[..., 1] - ev[..., 2] - ev[..., 3]).clamp_min(0)
        return _out(c, was)
    c = 2 * (t[..., 0] * t[..., 3] - t[..., 1] * t[..., 2]).abs()
    return _out(c, was)
