"""Matrix product states: the sequential-SVD sweep of a matrix-state, and chains of cores.

Two jobs, both exact (no truncation unless asked):

* :func:`sequential_svd_spectra` is the algorithm Chen et al. (2026, arXiv:2601.06788) describe:
  reshape ``vec(M)/‖M‖`` on the prime-factor sites of :func:`probe.analysis.entangle.profile.site_layout`
  (mixed local dimensions allowed: 14336 = 2^11 · 7 gives eleven sites of dimension 2 and one of 7)
  and run SVDs left to right (TT-SVD, Oseledets 2011); the squared singular values at step k are the
  Schmidt probabilities of cut k. :func:`probe.analysis.entangle.profile.entanglement_profile` gets the
  same spectra faster from two Gram matrices (``method="gram"``, the default) and uses this sweep for
  ``method="svd"``; the two agree to rounding.
* :func:`core_spectra` reads the Schmidt spectra of a state that is *given* as a chain of cores
  ``G_k`` of shape ``(χ_{k-1}, d_k, χ_k)`` (``χ_0 = χ_L = 1``), e.g. the trained cores of an MPS adapter
  (:mod:`probe.experiments.entangle.mps_adapter`), by a left-canonical QR sweep and a right-to-left SVD
  sweep, never forming the dense state: cost ``O(L d χ^3)``. Every bond entropy of such a chain is at
  most ``ln χ_k``.

References
----------
Chen, Wang, Chen, Wu, Li & Liu (2026), "Artificial Entanglement in the Fine-Tuning of Large Language
Models", arXiv:2601.06788. Oseledets (2011), "Tensor-train decomposition", SIAM J. Sci. Comput. 33:2295.
Schollwöck (2011), "The density-matrix renormalization group in the age of matrix product states",
Ann. Phys. 326:96, arXiv:1008.3477 (canonical forms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from probe.errors import DataError


def sequential_svd_spectra(psi: npt.ArrayLike, dims: Sequence[int]) -> list[npt.NDArray[np.float64]]:
    """Schmidt probabilities at every cut of a state on sites ``dims``, by left-to-right SVDs.

    Parameters
    ----------
    psi : array-like, shape (prod(dims),)
        The state in site order (any nonzero norm; it is normalised), real or complex.
    dims : sequence of int
        Local dimensions, left to right (mixed primes allowed).

    Returns
    -------
    list of ndarray
        ``len(dims) - 1`` arrays of ``σ_i²`` (descending, summing to 1), one per cut.

    Examples
    --------
    >>> bell = np.array([1.0, 0.0, 0.0, 1.0])        # (|00> + |11>)/sqrt(2)
    >>> [p.round(6).tolist() for p in sequential_svd_spectra(bell, (2, 2))]
    [[0.5, 0.5]]
    """
    state = np.asarray(psi)
    dtype = np.complex128 if np.iscomplexobj(state) else np.float64
    rest = np.asarray(state, dtype=dtype).reshape(-1)
    dims = [int(d) for d in dims]
    if rest.size != int(np.prod(dims)):
        raise DataError(f"a state of {rest.size} amplitudes does not fit sites {tuple(dims)}")
    norm = float(np.linalg.norm(rest))
    if norm == 0.0:
        raise DataError("the state is zero, so it has no Schmidt spectrum")
    rest = rest / norm
    bond = 1
    spectra = []
    for d in dims[:-1]:
        block = rest.reshape(bond * d, -1)
        _, s, vh = np.linalg.svd(block, full_matrices=False)
        p = s**2
        spectra.append(p / p.sum())
        bond = s.size
        rest = s[:, None] * vh  # the right part, carrying the singular values onward
    return spectra


def _check_cores(cores: Sequence[npt.ArrayLike]) -> list[npt.NDArray[Any]]:
    out = []
    for k, core in enumerate(cores):
        g = np.asarray(core)
        if g.ndim != 3:
            raise DataError(f"core {k} has shape {g.shape}; cores must be (χ_left, d, χ_right)")
        if not np.all(np.isfinite(g)):
            raise DataError(f"core {k} contains NaN or infinite entries")
        out.append(np.asarray(g, dtype=np.complex128 if np.iscomplexobj(g) else np.float64))
    if len(out) < 2:
        raise DataError(f"a chain of {len(out)} core(s) has no cut")
    if out[0].shape[0] != 1 or out[-1].shape[2] != 1:
        raise DataError(f"the end bonds must have dimension 1; got {out[0].shape[0]} and {out[-1].shape[2]}")
    for k in range(len(out) - 1):
        if out[k].shape[2] != out[k + 1].shape[0]:
            raise DataError(f"cores {k} and {k + 1} do not share a bond: {out[k].shape} then {out[k + 1].shape}")
    return out


def contract_cores(cores: Sequence[npt.ArrayLike]) -> npt.NDArray[Any]:
    """The dense state ``ψ[i_1 … i_L] = G_1[:, i_1, :] ⋯ G_L[:, i_L, :]`` (site order, flattened)."""
    gs = _check_cores(cores)
    out = gs[0].reshape(gs[0].shape[1], gs[0].shape[2])
    for g in gs[1:]:
        out = (out @ g.reshape(g.shape[0], -1)).reshape(-1, g.shape[2])
    return out.reshape(-1)


def core_spectra(cores: Sequence[npt.ArrayLike]) -> list[npt.NDArray[np.float64]]:
    """Schmidt probabilities at every bond of a chain of cores, without forming the state.

    Parameters
    ----------
    cores : sequence of array-like, shapes (χ_{k-1}, d_k, χ_k)
        With ``χ_0 = χ_L = 1``. Any gauge and norm.

    Returns
    -------
    list of ndarray
        ``L - 1`` arrays, as :func:`sequential_svd_spectra` would return for the contracted state.

    Notes
    -----
    A left-to-right QR sweep makes every core left-canonical (``Σ_{a,i} Ḡ[a,i,b] G[a,i,c] = δ_bc``),
    leaving the norm in the last core. A right-to-left sweep then takes the SVD of the last
    remaining core reshaped as ``(χ_{k-1}, d_k χ_k)``; its singular values are the Schmidt values
    of bond ``k-1``, and ``U S`` is absorbed into the core on its left. Cost ``O(L d χ^3)``.

    Examples
    --------
    >>> ghz = [np.array([1.0, 0, 0, 1]).reshape(1, 2, 2), np.array([1.0, 0, 0, 1]).reshape(2, 2, 1)]
    >>> [p.round(6).tolist() for p in core_spectra(ghz)]
    [[0.5, 0.5]]
    """
    gs = [g.copy() for g in _check_cores(cores)]
    n = len(gs)
    for k in range(n - 1):  # left-canonical sweep
        a, d, b = gs[k].shape
        q, r = np.linalg.qr(gs[k].reshape(a * d, b))
        gs[k] = q.reshape(a, d, q.shape[1])
        gs[k + 1] = np.tensordot(r, gs[k + 1], axes=(1, 0))
    spectra: list[npt.NDArray[np.float64]] = [np.empty(0)] * (n - 1)
    for k in range(n - 1, 0, -1):  # right-to-left SVDs
        a, d, b = gs[k].shape
        u, s, vh = np.linalg.svd(gs[k].reshape(a, d * b), full_matrices=False)
        total = float(np.sum(s**2))
        if total == 0.0:
            raise DataError("the chain of cores contracts to zero, so it has no Schmidt spectrum",
                            hint="a freshly initialised adapter (one core zero) has no profile; train it first")
        spectra[k - 1] = s**2 / total
        gs[k] = vh.reshape(s.size, d, b)
        gs[k - 1] = np.tensordot(gs[k - 1], u * s, axes=(2, 0))
    return spectra


def bond_dimensions(dims: Sequence[int], chi: int) -> list[int]:
    """``χ_k = min(χ, Π_{j≤k} d_j, Π_{j>k} d_j)`` for the ``L - 1`` inner bonds of a chain on ``dims``.

    The largest bonds a chain with maximum bond dimension ``χ`` can use: a bond wider than
    the smaller side of its cut would add parameters without adding any state.
    """
    dims = [int(d) for d in dims]
    left = np.cumprod(dims)[:-1]
    right = np.cumprod(dims[::-1])[:-1][::-1]
    return [int(min(chi, lv, rv)) for lv, rv in zip(left, right, strict=True)]


def chain_parameter_count(dims: Sequence[int], chi: int) -> int:
    """``Σ_k χ_{k-1} d_k χ_k`` with :func:`bond_dimensions` inside and ``χ_0 = χ_L = 1``."""
    bonds = [1, *bond_dimensions(dims, chi), 1]
    return int(sum(bonds[k] * int(d) * bonds[k + 1] for k, d in enumerate(dims)))
