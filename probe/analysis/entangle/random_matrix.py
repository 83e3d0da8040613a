"""Random-matrix comparison: singular-value spectra against the Marchenko–Pastur law.

For a ``p × n`` matrix (``p ≤ n``) with i.i.d. entries of variance ``σ²``, the
eigenvalues of ``X Xᵀ / n`` follow, as ``p, n → ∞`` with ``q = p/n`` fixed, the
Marchenko–Pastur density

    f(λ) = sqrt((λ₊ − λ)(λ − λ₋)) / (2π σ² q λ),   λ± = σ² (1 ± √q)²

(Marchenko & Pastur 1967, Math. USSR-Sbornik 1, 457). Eigenvalues beyond the edge
by more than a few Tracy–Widom scales (Johnstone 2001, Ann. Stat. 29, 295:
centre ``(√(n−1)+√p)² σ²/n``, scale ``(√(n−1)+√p)(1/√(n−1)+1/√p)^{1/3} σ²/n``) are
"spikes": learned structure a random matrix would not have. Chen et al. (2026,
arXiv:2601.06788) use random-matrix theory to explain the volume law of updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from probe._results import jsonable
from probe.errors import DataError


@dataclass(frozen=True, slots=True)
class MarchenkoPasturComparison:
    """A matrix's spectrum against the Marchenko–Pastur law of a Gaussian matrix of the same shape and variance.

    Attributes
    ----------
    ratio : float
        ``q = min(d_out, d_in) / max(d_out, d_in)``.
    sigma2 : float
        Entry variance ``‖W‖_F² / (d_out d_in)`` (spikes inflate it slightly).
    lambda_minus, lambda_plus : float
        MP support edges of ``λ = s² / max(d_out, d_in)``.
    threshold : float
        Edge + ``tw_scales`` Tracy–Widom scales: eigenvalues above it count as outliers.
    n_outliers : int
    outlier_mass : float
        Fraction of ``Σ λ`` carried by the outliers.
    ks_distance : float
        Kolmogorov–Smirnov distance between the empirical eigenvalue CDF and MP's.
    hist_edges, hist_density, mp_density : tuple of float
        A 40-bin density histogram of the eigenvalues and the MP density at the bin centres (for figures).
    """

    shape: tuple[int, int]
    ratio: float
    sigma2: float
    lambda_minus: float
    lambda_plus: float
    threshold: float
    n_outliers: int
    outlier_mass: float
    ks_distance: float
    largest: float
    hist_edges: tuple[float, ...]
    hist_density: tuple[float, ...]
    mp_density: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        d = self.to_dict()
        for k in ("hist_edges", "hist_density", "mp_density"):
            d.pop(k)
        return pd.DataFrame([d])


def marchenko_pastur_pdf(x: npt.ArrayLike, ratio: float, sigma2: float = 1.0) -> npt.NDArray[np.float64]:
    """Marchenko–Pastur density at ``x`` for aspect ratio ``0 < ratio ≤ 1`` and variance ``sigma2``.

    Examples
    --------
    >>> from scipy.integrate import quad
    >>> round(quad(marchenko_pastur_pdf, 0.25, 2.25, args=(0.25,))[0], 8)
    1.0
    """
    lam = np.asarray(x, dtype=np.float64)
    lo, hi = sigma2 * (1 - np.sqrt(ratio)) ** 2, sigma2 * (1 + np.sqrt(ratio)) ** 2
    inside = (lam > lo) & (lam < hi)
    safe = np.where(inside, lam, 1.0)
    val = np.sqrt(np.clip((hi - safe) * (safe - lo), 0, None)) / (2 * np.pi * sigma2 * ratio * safe)
    return np.where(inside, val, 0.0)


def marchenko_pastur_cdf(x: npt.ArrayLike, ratio: float, sigma2: float = 1.0, *, n_grid: int = 4001) -> npt.NDArray[np.float64]:
    """Marchenko–Pastur CDF by integrating the density on a grid clustered at the square-root edges."""
    lo, hi = sigma2 * (1 - np.sqrt(ratio)) ** 2, sigma2 * (1 + np.sqrt(ratio)) ** 2
    t = np.linspace(0.0, np.pi, n_grid)
    grid = lo + (hi - lo) * (1 - np.cos(t)) / 2
    dens = marchenko_pastur_pdf(grid, ratio, sigma2)
    cum = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))])
    cum /= cum[-1]
    return np.interp(np.asarray(x, dtype=np.float64), grid, cum, left=0.0, right=1.0)


def marchenko_pastur_compare(matrix: npt.ArrayLike, *, tw_scales: float = 3.0, bins: int = 40) -> MarchenkoPasturComparison:
    """Compare the squared singular values of ``matrix`` with the Marchenko–Pastur law.

    Parameters
    ----------
    matrix : array-like, shape (d_out, d_in)
    tw_scales : float
        How many Tracy–Widom scales above the MP edge an eigenvalue must lie to count as an outlier.
    bins : int
        Histogram bins for the figure data.

    Returns
    -------
    MarchenkoPasturComparison
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or min(m.shape) < 2 or not np.all(np.isfinite(m)) or not np.any(m):
        raise DataError(f"marchenko_pastur_compare needs a finite, nonzero 2-D matrix with both sides ≥ 2; got {m.shape}")
    s = np.linalg.svd(m, compute_uv=False)
    return marchenko_pastur_from_singular_values(s, m.shape, tw_scales=tw_scales, bins=bins)


def marchenko_pastur_from_singular_values(
    singular_values: npt.ArrayLike, shape: tuple[int, int], *, tw_scales: float = 3.0, bins: int = 40,
) -> MarchenkoPasturComparison:
    """As :func:`marchenko_pastur_compare`, from singular values (missing ones are zeros).

    Lets a LoRA update ``B A`` be compared from the ``r`` singular values of its
    ``r × r`` core, without forming the dense matrix.
    """
    p, n = min(shape), max(shape)
    s = np.zeros(p)
    given = np.sort(np.abs(np.asarray(singular_values, dtype=np.float64)))[::-1][:p]
    s[: given.size] = given
    if not np.any(s):
        raise DataError(f"marchenko_pastur_compare needs a nonzero spectrum for shape {tuple(shape)}")
    lam = np.sort(s**2 / n)
    ratio = p / n
    sigma2 = float(np.sum(lam) / p)
    lo, hi = sigma2 * (1 - np.sqrt(ratio)) ** 2, sigma2 * (1 + np.sqrt(ratio)) ** 2
    n1 = max(n - 1, 1)
    centre = (np.sqrt(n1) + np.sqrt(p)) ** 2 / n * sigma2
    scale = (np.sqrt(n1) + np.sqrt(p)) * (1 / np.sqrt(n1) + 1 / np.sqrt(p)) ** (1 / 3) / n * sigma2
    threshold = float(max(centre, hi) + tw_scales * scale)
    out = lam > threshold
    ecdf_hi = np.arange(1, p + 1) / p
    ecdf_lo = np.arange(0, p) / p
    cdf = marchenko_pastur_cdf(lam, ratio, sigma2)
    ks = float(max(np.max(np.abs(ecdf_hi - cdf)), np.max(np.abs(ecdf_lo - cdf))))
    top = max(float(lam[-1]), hi) * 1.02
    dens, edges = np.histogram(lam, bins=bins, range=(0.0, top), density=True)
    centres = (edges[1:] + edges[:-1]) / 2
    return MarchenkoPasturComparison(
        shape=(int(shape[0]), int(shape[1])), ratio=ratio, sigma2=sigma2, lambda_minus=float(lo),
        lambda_plus=float(hi), threshold=threshold, n_outliers=int(out.sum()),
        outlier_mass=float(lam[out].sum() / lam.sum()), ks_distance=ks, largest=float(lam[-1]),
        hist_edges=tuple(edges.tolist()), hist_density=tuple(dens.tolist()),
        mp_density=tuple(marchenko_pastur_pdf(centres, ratio, sigma2).tolist()),
    )
