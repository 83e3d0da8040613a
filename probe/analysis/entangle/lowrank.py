"""LoRA updates ``ΔW = s · B A`` profiled from their factors, never forming ``ΔW``.

Same site layout and entropies as :mod:`probe.analysis.entangle.profile` (sequential order),
at a cost of ``O((d_out + d_in) r²)`` plus per-cut problems of at most ``√(d·r)``
square, instead of ``O(d_out d_in)`` memory and ``O((d_out d_in)^{3/2})`` time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from probe.analysis.entangle.profile import (
    EntanglementProfile,
    SiteLayout,
    check_matrix,
    profile_from_spectra,
    single_threaded_blas,
    site_layout,
    small_spectrum,
)
from probe.errors import DataError


def lora_profile(
    lora_a: npt.ArrayLike, lora_b: npt.ArrayLike, *, scale: float = 1.0, name: str = "", factors: str = "ascending",
    max_bond: int | None = None, rank_tol: float = 1e-10,
) -> EntanglementProfile:
    """Profile of a LoRA update ``ΔW = scale · B A`` without forming ``ΔW`` (sequential order).

    Parameters
    ----------
    lora_a : array-like, shape (r, d_in)
        ``lora_A.weight``.
    lora_b : array-like, shape (d_out, r)
        ``lora_B.weight``.
    scale : float
        ``lora_alpha / r`` (or ``/√r`` for rsLoRA). Entropies do not depend on it;
        it only sets ``frobenius_norm``.

    Returns
    -------
    EntanglementProfile
        ``method="lowrank"``; equal to ``entanglement_profile(scale * B @ A)``.

    Notes
    -----
    Thin QRs ``B = Q_B R_B`` and ``Aᵀ = Q_A R_A`` give the core ``C = R_B R_Aᵀ``
    (``r × r``), so ``ψ ∝ Q_B C Q_Aᵀ``. At the row/column cut the Schmidt values
    are those of ``C`` (hence ``S ≤ ln r``). A cut inside the row sites sees
    ``Q_B C`` (``d_out × r``) reshaped, since the isometry ``Q_A`` on the right
    cannot change the spectrum; a cut inside the column sites sees ``C Q_Aᵀ``.
    Cost ``O((d_out + d_in) r²)`` plus small per-cut problems of at most
    ``d·r`` entries: never ``O(d_out d_in)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(2, 16)), rng.normal(size=(16, 2))
    >>> prof = lora_profile(a, b)
    >>> bool(prof.entropy[prof.boundary_cut - 1] <= np.log(2) + 1e-12)
    True
    """
    with single_threaded_blas():
        spectra, layout, norm = _lora_spectra(lora_a, lora_b, name=name, factors=factors)
    return profile_from_spectra(spectra, layout, name=name, norm=abs(scale) * norm, method="lowrank",
                                max_bond=max_bond, rank_tol=rank_tol)


def lora_cut_spectra(lora_a: npt.ArrayLike, lora_b: npt.ArrayLike, *, factors: str = "ascending") -> list[npt.NDArray[np.float64]]:
    """Schmidt probabilities at every cut of ``B A`` (sequential order) from the factors; see :func:`lora_profile`."""
    with single_threaded_blas():
        return _lora_spectra(lora_a, lora_b, name="", factors=factors)[0]


def _lora_spectra(
    lora_a: npt.ArrayLike, lora_b: npt.ArrayLike, *, name: str, factors: str,
) -> tuple[list[npt.NDArray[np.float64]], SiteLayout, float]:
    a = check_matrix(lora_a, f"{name or 'lora'}: lora_A")
    b = check_matrix(lora_b, f"{name or 'lora'}: lora_B")
    if a.shape[0] != b.shape[1]:
        raise DataError(f"{name or 'lora'}: lora_A is {a.shape} and lora_B is {b.shape}; "
                        "lora_A must be (r, d_in) and lora_B (d_out, r) with the same r")
    layout = site_layout((b.shape[0], a.shape[1]), order="sequential", factors=factors)
    q_b, r_b = np.linalg.qr(b)
    q_a, r_a = np.linalg.qr(a.T)
    core = r_b @ r_a.T
    norm = float(np.linalg.norm(core))  # = ‖B A‖_F, since Q_B and Q_A are isometries
    if norm == 0.0:
        raise DataError(f"{name or 'lora'}: the update B·A is zero (freshly initialised LoRA: lora_B = 0?)",
                        hint="entanglement of a zero matrix is undefined; train the adapter first")
    core = core / norm
    n_rows = layout.n_row_sites
    left_rows = q_b @ core  # d_out × r
    right_cols = core @ q_a.T  # r × d_in
    spectra: list[npt.NDArray[np.float64]] = []
    dims = layout.dims
    for k in range(1, len(dims)):
        if k < n_rows:
            block = left_rows.reshape(int(np.prod(dims[:k])), -1)  # (i_≤k) × (i_>k, bond)
        elif k == n_rows:
            block = core
        else:
            dl = int(np.prod(dims[n_rows:k]))
            block = right_cols.reshape(right_cols.shape[0] * dl, -1)  # (bond, j_≤k) × (j_>k)
        spectra.append(small_spectrum(block))
    return spectra, layout, norm
