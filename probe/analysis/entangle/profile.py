"""Entanglement-entropy profiles of matrices read as many-site quantum states.

A matrix ``M`` (``d_out × d_in``, PyTorch ``weight`` layout) becomes the pure state
``ψ = vec(M) / ‖M‖_F`` on a chain of sites whose local dimensions are the prime
factors of ``d_out`` and ``d_in`` (all 2 for power-of-two sizes: qubits), and the
von Neumann entropy is read at every cut (bond) of that chain, as in Chen, Wang,
Chen, Wu, Li & Liu, "Artificial Entanglement in the Fine-Tuning of Large Language
Models", arXiv:2601.06788 (2026).

Convention (ours; the paper's text reports prime-factor reshaping, sequential SVDs
and von Neumann entropy of the Schmidt spectrum at each bond):

- ``order="sequential"`` (default): row-major ``vec``; the row index's factors come
  first (most significant first), then the column index's. The cut after the last
  row site (``boundary_cut``) is the matrix itself, so a rank-``r`` update has
  ``S ≤ ln r`` there: the "Entanglement Valley" of LoRA updates.
- ``order="interleaved"``: sites ``(i1 j1)(i2 j2)…`` (the MPO / TT-matrix layout).
- Prime factors are listed in ascending order within each index by default
  (``factors="descending"`` flips it); for powers of two the order is moot.
- No padding: non-power-of-two sizes keep mixed local dimensions (padding with zeros
  leaves every Schmidt spectrum unchanged but would change the Page baseline).
- Entropies are in nats.

All cuts come from two Gram matrices and partial traces (no SVD per cut): the
left Gram ``ρ = M_c M_cᴴ`` at the last cut ``c`` whose left side is the smaller,
traced site by site towards the left edge, and the right Gram ``M_{c+1}ᵀ M̄_{c+1}``
traced towards the right edge. A LoRA update ``s·B A`` has its own path,
:func:`probe.analysis.entangle.lowrank.lora_profile`, working on the ``r``-dimensional factors without forming
``B A``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg as sla

from probe._results import jsonable
from probe.analysis.entropy import page_profile, renyi, von_neumann
from probe.errors import ConfigError, DataError

ORDERS = ("sequential", "interleaved")
_SMALL = 2**16  # below this many entries BLAS threads cost more than they save


@dataclass(frozen=True, slots=True)
class SiteLayout:
    """How a ``d_out × d_in`` matrix is laid out on a chain of sites.

    Attributes
    ----------
    shape : (int, int)
        ``(d_out, d_in)``.
    dims : tuple of int
        Local dimension of each site, left to right.
    order : str
        ``"sequential"`` or ``"interleaved"``.
    n_row_sites : int
        How many sites come from the row index ``d_out``.
    axes : tuple of int or None
        The permutation of the ``(row factors, column factors)`` tensor axes that
        gives the site order; ``None`` when it is the identity (sequential).
    """

    shape: tuple[int, int]
    dims: tuple[int, ...]
    order: str
    n_row_sites: int
    axes: tuple[int, ...] | None

    @property
    def boundary_cut(self) -> int | None:
        """The cut between row and column sites (sequential order only)."""
        return self.n_row_sites if self.order == "sequential" else None

    @property
    def n_qubits(self) -> float:
        """``log2(d_out · d_in)``: the number of sites when every local dimension is 2."""
        return float(np.log2(self.shape[0]) + np.log2(self.shape[1]))


@dataclass(frozen=True, slots=True)
class EntanglementProfile:
    """Entropies of a matrix-state at every cut.

    ``entropy[k-1]`` belongs to cut ``k`` (sites ``1..k`` | ``k+1..L``). Entropies
    in nats. ``page`` is the mean entropy of a Haar-random state with the same
    cut dimensions (Page 1993, exact). ``discarded`` is the weight lost at each
    cut when its bond is truncated to ``max_bond`` (``Σ_{i>χ} p_i``); empty when
    no ``max_bond`` was asked for.
    """

    name: str
    shape: tuple[int, int]
    site_dims: tuple[int, ...]
    order: str
    boundary_cut: int | None
    cuts: tuple[int, ...]
    entropy: tuple[float, ...]
    renyi2: tuple[float, ...]
    min_entropy: tuple[float, ...]
    schmidt_rank: tuple[int, ...]
    page: tuple[float, ...]
    frobenius_norm: float
    method: str
    max_bond: int | None = None
    discarded: tuple[float, ...] = ()

    @property
    def n_qubits(self) -> float:
        return float(np.log2(self.shape[0]) + np.log2(self.shape[1]))

    @property
    def truncation_error_bound(self) -> float | None:
        """Bound on ``‖ψ − ψ_χ‖₂`` for an MPS truncated to ``max_bond`` at every cut.

        ``sqrt(Σ_k discarded_k)`` (Oseledets 2011, TT-SVD error bound); ``None``
        without ``max_bond``.
        """
        if self.max_bond is None:
            return None
        return float(np.sqrt(np.sum(self.discarded)))

    def to_dict(self) -> dict[str, Any]:
        out = jsonable(self)
        out["n_qubits"] = self.n_qubits
        out["truncation_error_bound"] = self.truncation_error_bound
        return out

    def to_frame(self) -> Any:
        import pandas as pd

        frame = pd.DataFrame({
            "name": self.name, "cut": self.cuts, "entropy": self.entropy, "renyi2": self.renyi2,
            "min_entropy": self.min_entropy, "schmidt_rank": self.schmidt_rank, "page": self.page,
        })
        if self.discarded:
            frame["discarded"] = self.discarded
        return frame


# ---------------------------------------------------------------- layout


def prime_factors(n: int) -> list[int]:
    """Prime factors of ``n`` in ascending order, with multiplicity (``12 → [2, 2, 3]``)."""
    out: list[int] = []
    p = 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def site_layout(shape: tuple[int, int], *, order: str = "sequential", factors: str = "ascending") -> SiteLayout:
    """Sites for a ``d_out × d_in`` matrix (see the module docstring for the convention).

    Parameters
    ----------
    shape : (int, int)
        Matrix shape; both sizes ≥ 1 and their product ≥ 4 (at least one cut).
    order : {"sequential", "interleaved"}
    factors : {"ascending", "descending"}
        Order of the prime factors within each index.

    Returns
    -------
    SiteLayout

    Raises
    ------
    ConfigError
        Unknown ``order``/``factors``.
    DataError
        A shape with fewer than two sites (e.g. ``1 × 3``): no cut to measure.

    Examples
    --------
    >>> site_layout((8, 4)).dims
    (2, 2, 2, 2, 2)
    >>> site_layout((4, 4), order="interleaved").axes
    (0, 2, 1, 3)
    """
    if order not in ORDERS:
        raise ConfigError(f"order must be one of {ORDERS}; got {order!r}")
    if factors not in ("ascending", "descending"):
        raise ConfigError(f"factors must be 'ascending' or 'descending'; got {factors!r}")
    d_out, d_in = (int(x) for x in shape)
    rows, cols = prime_factors(d_out), prime_factors(d_in)
    if factors == "descending":
        rows, cols = rows[::-1], cols[::-1]
    if len(rows) + len(cols) < 2:
        raise DataError(
            f"a {d_out}×{d_in} matrix has {len(rows) + len(cols)} site(s) after prime factorisation, so no cut",
            hint="entanglement needs at least two sites; a prime-length vector cannot be split "
                 "(zero-padding to a power of two would add sites but change the Page baseline)",
        )
    if order == "sequential":
        return SiteLayout((d_out, d_in), tuple(rows + cols), order, len(rows), None)
    axes: list[int] = []
    for a in range(max(len(rows), len(cols))):
        if a < len(rows):
            axes.append(a)
        if a < len(cols):
            axes.append(len(rows) + a)
    dims = tuple((rows + cols)[a] for a in axes)
    return SiteLayout((d_out, d_in), dims, order, len(rows), tuple(axes))


def matrix_state(matrix: npt.ArrayLike, layout: SiteLayout, *, normalise: bool = True) -> npt.NDArray[Any]:
    """The state ``vec(M)/‖M‖_F`` in site order, as a flat float64/complex128 vector.

    With ``normalise=False`` and sequential order this is a view of ``matrix``
    (no copy): the profile code divides the Gram matrix by ``‖M‖²`` instead.
    """
    m = np.asarray(matrix)
    dtype = np.complex128 if np.iscomplexobj(m) else np.float64
    psi = np.asarray(m, dtype=dtype).reshape(-1)
    if normalise:
        psi = psi / np.linalg.norm(psi)
    if layout.axes is not None:
        tensor = psi.reshape(_row_col_dims(layout))
        psi = np.ascontiguousarray(tensor.transpose(layout.axes)).reshape(-1)
    return psi


def _row_col_dims(layout: SiteLayout) -> tuple[int, ...]:
    if layout.axes is None:
        return layout.dims
    inverse = np.argsort(layout.axes)
    return tuple(layout.dims[i] for i in inverse)


# ---------------------------------------------------------------- spectra


def cut_spectra(matrix: npt.ArrayLike, *, order: str = "sequential", factors: str = "ascending") -> list[npt.NDArray[np.float64]]:
    """Schmidt probabilities ``p_i = σ_i²`` at every cut, descending, for a matrix-state.

    Parameters
    ----------
    matrix : array-like, shape (d_out, d_in)
        Real or complex; any scale (it is normalised).
    order, factors : str
        See :func:`site_layout`.

    Returns
    -------
    list of ndarray
        ``L − 1`` arrays; array ``k−1`` has length ``min(D_left, D_right)`` at cut
        ``k`` and sums to 1.
    """
    m = check_matrix(matrix, "matrix")
    layout = site_layout(m.shape, order=order, factors=factors)
    return _state_spectra(matrix_state(m, layout, normalise=False), layout.dims)


def _state_spectra(psi: npt.NDArray[Any], dims: tuple[int, ...]) -> list[npt.NDArray[np.float64]]:
    """All cut spectra of a state (any norm) from two Gram matrices and partial traces."""
    norm2 = float(np.vdot(psi, psi).real)
    n_sites, size = len(dims), psi.size
    left = np.cumprod(dims)  # left[k-1] = dimension of sites 1..k
    balanced = [k for k in range(1, n_sites) if int(left[k - 1]) ** 2 <= size]
    c = max(balanced) if balanced else 0
    spectra: list[npt.NDArray[np.float64]] = [np.empty(0)] * (n_sites - 1)
    if c >= 1:
        mat = psi.reshape(int(left[c - 1]), -1)
        rho = mat @ _conj(mat).T  # left Gram at cut c (numpy calls syrk for a real M·Mᵀ)
        rho /= norm2
        for k in range(c, 0, -1):
            nxt = _trace_last(rho, dims[k - 1]) if k > 1 else None
            spectra[k - 1] = _eigvals_psd(rho)
            rho = nxt
    if c + 1 <= n_sites - 1:
        k0 = c + 1
        mat = psi.reshape(int(left[k0 - 1]), -1)
        rho = mat.T @ _conj(mat)  # right Gram at cut c+1
        rho /= norm2
        for k in range(k0, n_sites):
            nxt = _trace_first(rho, dims[k]) if k < n_sites - 1 else None
            spectra[k - 1] = _eigvals_psd(rho)
            rho = nxt
    return spectra


def _conj(mat: npt.NDArray[Any]) -> npt.NDArray[Any]:
    # ndarray.conj() copies even real arrays; a real state needs no conjugate (and no copy).
    return mat.conj() if np.iscomplexobj(mat) else mat


def _trace_last(rho: npt.NDArray[Any], d: int) -> npt.NDArray[Any]:
    a = rho.shape[0] // d
    return np.einsum("ixjx->ij", rho.reshape(a, d, a, d))


def _trace_first(rho: npt.NDArray[Any], d: int) -> npt.NDArray[Any]:
    b = rho.shape[0] // d
    return np.einsum("xixj->ij", rho.reshape(d, b, d, b))


def _eigvals_psd(rho: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Eigenvalues of a Hermitian PSD matrix, descending, negatives (rounding) clipped to 0.

    Destroys ``rho``. ``rho.T`` is Fortran-ordered and has the same spectrum
    (it is ``conj(rho)``), so LAPACK works in place with no copy.
    """
    if rho.shape[0] == 1:
        return np.array([float(np.real(rho[0, 0]))])
    a = rho.T if rho.flags.c_contiguous else rho
    w = sla.eigvalsh(a, overwrite_a=True, check_finite=False, driver="evr")
    return np.clip(w[::-1], 0.0, None)


# ---------------------------------------------------------------- entropies


def schmidt_rank(p: npt.ArrayLike, *, rank_tol: float = 1e-10) -> int:
    """Number of Schmidt probabilities above ``rank_tol · max p`` (Gram eigenvalues resolve ~1e-15)."""
    q = np.asarray(p, dtype=np.float64)
    return int(np.count_nonzero(q > rank_tol * q.max())) if q.size else 0


def profile_from_spectra(
    spectra: list[npt.NDArray[np.float64]], layout: SiteLayout, *, name: str = "", norm: float = 1.0,
    method: str = "gram", max_bond: int | None = None, rank_tol: float = 1e-10,
) -> EntanglementProfile:
    """Assemble an :class:`EntanglementProfile` from per-cut Schmidt probabilities."""
    cuts = tuple(range(1, len(layout.dims)))
    discarded: tuple[float, ...] = ()
    if max_bond is not None:
        discarded = tuple(float(np.sum(np.sort(p)[::-1][max_bond:])) for p in spectra)
    return EntanglementProfile(
        name=name, shape=layout.shape, site_dims=layout.dims, order=layout.order,
        boundary_cut=layout.boundary_cut, cuts=cuts,
        entropy=tuple(von_neumann(p, base=np.e) for p in spectra),
        renyi2=tuple(renyi(p, 2, base=np.e) for p in spectra),
        min_entropy=tuple(renyi(p, np.inf, base=np.e) for p in spectra),
        schmidt_rank=tuple(schmidt_rank(p, rank_tol=rank_tol) for p in spectra),
        page=tuple(page_profile(layout.dims)), frobenius_norm=float(norm), method=method,
        max_bond=max_bond, discarded=discarded,
    )


def entanglement_profile(
    matrix: npt.ArrayLike, *, name: str = "", order: str = "sequential", factors: str = "ascending",
    max_bond: int | None = None, rank_tol: float = 1e-10, method: str = "gram",
) -> EntanglementProfile:
    """Entanglement profile of a matrix read as a state (all cuts in one pass).

    Parameters
    ----------
    matrix : array-like, shape (d_out, d_in)
        A weight, a fine-tuning update ``W_ft − W_0`` or an attention matrix; real
        or complex, upcast to 64-bit. Any nonzero scale: ``S(c·M) = S(M)``.
    name : str
        Label carried into the result (e.g. the tensor name).
    order, factors : str
        Site layout, see :func:`site_layout`.
    max_bond : int, optional
        Report the weight discarded at each cut when truncating to this bond dimension.
    rank_tol : float
        Schmidt rank counts ``p_i > rank_tol · max p``.
    method : {"gram", "svd"}
        ``gram`` (default): two Gram matrices and partial traces. ``svd``: the sequential
        SVDs (TT-SVD) the paper describes, :func:`probe.analysis.entangle.mps.sequential_svd_spectra`;
        same spectra to rounding, slower (one SVD per cut).

    Returns
    -------
    EntanglementProfile

    Notes
    -----
    Cost (``gram``): two Gram products ``O(D^{3/2})`` plus one Hermitian eigenvalue problem
    of size ``≈ √D`` (``D = d_out·d_in``); partial traces reach the other cuts.
    Memory: one Gram matrix (``≈ D`` numbers) beyond the state.

    References
    ----------
    Chen, Wang, Chen, Wu, Li & Liu (2026), arXiv:2601.06788.

    Examples
    --------
    >>> prof = entanglement_profile(np.eye(4))        # two Bell pairs, sequential order
    >>> [round(float(s / np.log(2)), 6) for s in prof.entropy]
    [1.0, 2.0, 1.0]
    >>> bool(entanglement_profile(np.ones((4, 8))).entropy[2] < 1e-12)   # a product state
    True
    """
    if method not in ("gram", "svd"):
        raise ConfigError(f"method must be 'gram' or 'svd'; got {method!r}")
    m = check_matrix(matrix, name or "matrix")
    layout = site_layout(m.shape, order=order, factors=factors)
    with single_threaded_blas() if m.size <= _SMALL else contextlib.nullcontext():
        if method == "svd":
            from probe.analysis.entangle.mps import sequential_svd_spectra

            spectra = sequential_svd_spectra(matrix_state(m, layout), layout.dims)
        else:
            spectra = _state_spectra(matrix_state(m, layout, normalise=False), layout.dims)
    return profile_from_spectra(spectra, layout, name=name, norm=float(np.linalg.norm(m)), method=method,
                                max_bond=max_bond, rank_tol=rank_tol)


def single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread for many small products/eigensolves.

    Threaded OpenBLAS spin-waits; on a busy machine a 16×4096 QR then takes
    100× longer than on one thread. Results are identical; only speed changes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it we just keep the default threads
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def small_spectrum(block: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    # Gram of the short side: at most √(d·r) square, far cheaper than an SVD of a very wide block
    gram = block @ block.T if block.shape[0] <= block.shape[1] else block.T @ block
    return _eigvals_psd(np.ascontiguousarray(gram))


def check_matrix(matrix: npt.ArrayLike, name: str) -> npt.NDArray[Any]:
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise DataError(f"{name}: expected a 2-D matrix, got shape {m.shape}",
                        hint="select 2-D weight tensors (e.g. '*.weight'); biases and norms are 1-D")
    if not (np.issubdtype(m.dtype, np.number) or m.dtype == np.bool_):
        raise DataError(f"{name}: expected numbers, got dtype {m.dtype}")
    dtype = np.complex128 if np.iscomplexobj(m) else np.float64
    m = np.asarray(m, dtype=dtype)
    if not np.all(np.isfinite(m)):
        raise DataError(f"{name}: contains NaN or infinite entries", hint="check the checkpoint; entropies need finite numbers")
    if not np.any(m):
        raise DataError(f"{name}: all entries are zero, so it has no normalised state",
                        hint="a zero update (unchanged tensor) has no entanglement profile; exclude it with --layers")
    return m
