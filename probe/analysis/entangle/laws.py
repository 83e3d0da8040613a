"""Which scaling law does an entropy profile follow: area, log-corrected area, or volume?

Three least-squares models of ``S`` against the cut ``ℓ = 1..L−1`` of an
``L``-site chain (open boundaries), compared by AIC:

- ``area``:   ``S = a``
- ``log``:    ``S = a + b · ln[(L/π) sin(πℓ/L)]``  (chord length; ``≈ a + b ln ℓ`` for ``ℓ ≪ L``)
- ``volume``: ``S = a + b · min(ℓ, L−ℓ)``

For a 1+1-D critical chain with open ends Calabrese & Cardy (2004,
J. Stat. Mech. P06002, arXiv:hep-th/0405152) give ``S = (c/6) ln[(2L/π) sin(πℓ/L)] + c′``,
so ``c_eff = 6 b`` (the factor 2 goes into ``a``). Chen et al. (2026,
arXiv:2601.06788) report attention matrices follow an area law with logarithmic
corrections (their "Attention Cardy Formula"); their exact variable and coefficient
were not available to us, so ``ℓ`` here is the number of sites left of the cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from probe._results import jsonable
from probe._types import Seed
from probe.errors import ConfigError, DataError

LAWS = ("area", "log", "volume")


@dataclass(frozen=True, slots=True)
class LawFit:
    """One least-squares model of a profile.

    ``aic = n (ln(2π RSS/n) + 1) + 2k`` with ``k`` regression coefficients: the
    Gaussian-likelihood AIC that statsmodels' OLS reports, so values compare with it.
    """

    law: str
    coef: tuple[float, ...]  # (a,) or (a, b)
    rss: float
    aic: float
    weight: float  # Akaike weight among the three laws


@dataclass(frozen=True, slots=True)
class LawComparison:
    """Area vs log-corrected vs volume fits of an entropy profile.

    ``log_coef`` is ``b`` of the log model (nats per e-fold of chord length),
    ``central_charge`` is ``6 b`` (open chain); ``log_coef_ci`` is a percentile
    bootstrap interval over samples (``None`` when fitted to a single profile).
    """

    n_sites: int
    n_points: int
    n_samples: int
    fits: tuple[LawFit, ...]
    best: str
    delta_aic: float  # AIC of the runner-up minus the best's
    log_coef: float
    central_charge: float
    log_coef_ci: tuple[float, float] | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{"law": f.law, "a": f.coef[0], "b": f.coef[1] if len(f.coef) > 1 else None,
                              "rss": f.rss, "aic": f.aic, "weight": f.weight, "best": f.law == self.best}
                             for f in self.fits])


def law_design(law: str, n_sites: int) -> npt.NDArray[np.float64]:
    """Design matrix (``(L−1) × k``) of a law at cuts ``1..L−1``."""
    ell = np.arange(1, n_sites, dtype=np.float64)
    ones = np.ones_like(ell)
    if law == "area":
        return ones[:, None]
    if law == "log":
        return np.column_stack([ones, np.log(n_sites / np.pi * np.sin(np.pi * ell / n_sites))])
    if law == "volume":
        return np.column_stack([ones, np.minimum(ell, n_sites - ell)])
    raise ConfigError(f"law must be one of {LAWS}; got {law!r}")


def _fit(y: npt.NDArray[np.float64], n_sites: int) -> list[tuple[str, npt.NDArray[np.float64], float, float]]:
    n = y.size
    out = []
    for law in LAWS:
        x = law_design(law, n_sites)
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        rss = float(np.sum((y - x @ coef) ** 2))
        # floor: an exact fit would give ln 0; 1e-300 keeps AIC finite and ranked
        aic = n * (np.log(2 * np.pi * max(rss, 1e-300) / n) + 1) + 2 * x.shape[1]
        out.append((law, coef, rss, float(aic)))
    return out


def compare_laws(
    profiles: npt.ArrayLike, *, n_boot: int = 1000, confidence: float = 0.95, rng: Seed = None,
) -> LawComparison:
    """Fit area, log-corrected and volume laws to an entropy profile and rank them by AIC.

    Parameters
    ----------
    profiles : array-like, shape (L-1,) or (n_samples, L-1)
        Entropy (nats) at cuts ``1..L−1``; several rows (e.g. one per prompt) are
        averaged before fitting and resampled for the bootstrap.
    n_boot : int
        Bootstrap resamples of the rows for the interval on ``b`` (ignored for one row).
    confidence : float
        Level of the percentile interval.
    rng : seed

    Returns
    -------
    LawComparison

    Examples
    --------
    >>> L = 16; ell = np.arange(1, L)
    >>> s = 0.4 + 0.25 * np.log(L / np.pi * np.sin(np.pi * ell / L))
    >>> r = compare_laws(s)
    >>> r.best, round(r.log_coef, 6)
    ('log', 0.25)
    """
    y = np.asarray(profiles, dtype=np.float64)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or y.shape[1] < 3:
        raise DataError(f"profiles must have shape (L-1,) or (n_samples, L-1) with L-1 ≥ 3 cuts; got {y.shape}",
                        hint="a law fit needs at least 3 cuts (4 sites, e.g. 4 tokens = 2 qubits each side)")
    if not np.all(np.isfinite(y)):
        raise DataError("profiles contain NaN or infinite values")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1); got {confidence}")
    n_samples, n_points = y.shape
    n_sites = n_points + 1
    fits = _fit(y.mean(0), n_sites)
    aics = np.array([f[3] for f in fits])
    rel = np.exp(-(aics - aics.min()) / 2)
    weights = rel / rel.sum()
    order = np.argsort(aics)
    log_b = float(fits[1][1][1])
    ci = None
    if n_samples > 1 and n_boot > 0:
        gen = np.random.default_rng(rng)
        x = law_design("log", n_sites)
        idx = gen.integers(0, n_samples, size=(n_boot, n_samples))
        means = y[idx].mean(1)  # (n_boot, n_points)
        coefs, *_ = np.linalg.lstsq(x, means.T, rcond=None)
        lo, hi = np.quantile(coefs[1], [(1 - confidence) / 2, (1 + confidence) / 2])
        ci = (float(lo), float(hi))
    return LawComparison(
        n_sites=n_sites, n_points=n_points, n_samples=n_samples,
        fits=tuple(LawFit(law, tuple(float(c) for c in coef), rss, aic, float(w))
                   for (law, coef, rss, aic), w in zip(fits, weights, strict=True)),
        best=fits[order[0]][0], delta_aic=float(aics[order[1]] - aics[order[0]]),
        log_coef=log_b, central_charge=6 * log_b, log_coef_ci=ci, confidence=confidence,
    )
