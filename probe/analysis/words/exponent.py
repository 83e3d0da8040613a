"""Choosing the energy-spacing exponent d of ``E_i = (i - 1)^d`` by profile likelihood.

Aerts et al. (2026, Entropy 28(6):622, arXiv:2511.21731, section 3) put the word of rank i
on energy ``E_i = (i - 1)^d`` and choose d per text "for best fit" (d = 0.8 for their
Gemini story; d < 1 for short stories and d > 1 for novels as a rule). The paper gives no
numerical criterion: the fit is judged from the plots and no R², chi-square or likelihood
is printed. We therefore choose d by **maximum likelihood** and say so:

    l_p(d) = max_{A, B} l(A, B; d)

where ``l`` is the independent-modes log-likelihood of the fitted model (geometric level
occupations for BE, Poisson for MB; for fixed d its maximiser is the papers' constraint
solution, see :mod:`probe.analysis.words.fits`). ``d_hat`` maximises the profile ``l_p``;
the ``level`` interval is ``{d : 2 (l_p(d_hat) - l_p(d)) <= chi2_1(level)}`` (Wilks). The
likelihood ratio against equal spacing (d = 1) is reported beside it.

Caveats, stated in every result: the levels come from ranking the counts that are fitted
(the rank-estimation bias of :mod:`probe.analysis.words.bootstrap` applies to d too, and
the interval does not include it), and the intervals of A and B are computed at ``d_hat``
as if d were known.

References
----------
Aerts, Aerts Arguëlles, Beltran, Geriente, Leporini, Sassoli de Bianchi & Sozzo (2026),
Entropy 28(6):622, arXiv:2511.21731. Wilks (1938), Ann. Math. Stat. 9:60.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from probe._results import jsonable
from probe._types import ArrayLike
from probe.analysis.words.fits import MODELS, Ties, energy_levels, fit_occupation
from probe.errors import ConfigError

D_BOUNDS = (0.05, 4.0)
"""The search range of d: below 0.05 every level sits near E = 1; above 4 the tail is empty."""


@dataclass(frozen=True, slots=True)
class ExponentFit:
    """The profile-likelihood choice of the spacing exponent d.

    Attributes
    ----------
    d : float
        The maximiser of the profile log-likelihood.
    ci : (float or None, float or None)
        The ``level`` profile-likelihood interval; an end is ``None`` when the profile does
        not fall by ``chi2_1(level)/2`` inside :data:`D_BOUNDS` (reported as open).
    level : float
    loglik : float
        ``l_p(d_hat)``.
    loglik_equal_spacing : float
        ``l_p(1)``.
    lr_equal_spacing : float
        ``2 (l_p(d_hat) - l_p(1))``; compare with chi2_1.
    p_equal_spacing : float
        The p-value of d = 1 under that chi2_1 reference.
    model, ties, first_level, criterion
        What was maximised: ``criterion`` names the likelihood.
    profile : list of (d, l_p(d))
        The coarse grid the maximiser started from (for plots).
    converged : bool
    message : str
    """

    d: float
    ci: tuple[float | None, float | None]
    level: float
    loglik: float
    loglik_equal_spacing: float
    lr_equal_spacing: float
    p_equal_spacing: float
    model: str
    ties: str
    first_level: int
    criterion: str
    profile: list[tuple[float, float]]
    converged: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.profile, columns=["d", "loglik"])


def profile_loglik(counts: ArrayLike, d: float, *, model: str = "be", ties: Ties = "ordinal",
                   first_level: int = 0, words: Sequence[str] | None = None) -> float:
    """``l_p(d)``: the independent-modes log-likelihood at the constraint fit with ``E_i = first + (i-1)^d``.

    ``-inf`` when the fit does not converge at this d.
    """
    lv = energy_levels(counts, ties=ties, first_level=first_level, energy_exponent=d, words=words)
    fit = fit_occupation(lv, model)  # type: ignore[arg-type]
    return fit.loglik if fit.converged and np.isfinite(fit.loglik) else -np.inf


def fit_energy_exponent(counts: ArrayLike, *, model: str = "be", ties: Ties = "ordinal", first_level: int = 0,
                        words: Sequence[str] | None = None, level: float = 0.95,
                        bounds: tuple[float, float] = D_BOUNDS, grid: int = 24) -> ExponentFit:
    """Choose d of ``E_i = (i - 1)^d`` by maximum (profile) likelihood, with a profile-likelihood interval.

    Parameters
    ----------
    counts : array_like, shape (V,)
        Tokens per distinct word (first-occurrence order; zeros dropped).
    model : {"be", "mb"}
        The law whose likelihood chooses d (default BE, as the paper chose d for its BE fit;
        MB is then fitted on the same levels).
    ties, first_level, words
        As in :func:`probe.analysis.words.fits.energy_levels`.
    level : float
        Coverage of the profile-likelihood interval (0.95 default).
    bounds : (float, float)
        Search range of d (both > 0).
    grid : int
        Points of the coarse log-spaced grid that brackets the maximum before Brent's method.

    Returns
    -------
    ExponentFit

    Examples
    --------
    >>> import numpy as np
    >>> from probe.analysis.words.fits import bose_einstein, rank_energies
    >>> rng = np.random.default_rng(0)
    >>> mean = bose_einstein(rank_energies(5000, energy_exponent=1.3), 1.001, 900.0)
    >>> fit = fit_energy_exponent(rng.geometric(1 / (1 + mean)) - 1)     # drawn from d = 1.3
    >>> round(fit.d, 2), fit.ci[0] < 1.3 < fit.ci[1]
    (1.24, True)
    """
    if model not in MODELS:
        raise ConfigError(f"model={model!r} is not one of {MODELS}")
    if not 0 < level < 1:
        raise ConfigError(f"level={level} must be in (0, 1)")
    lo_b, hi_b = float(bounds[0]), float(bounds[1])
    if not 0 < lo_b < hi_b:
        raise ConfigError(f"bounds={bounds} must satisfy 0 < low < high")
    data = np.asarray(counts, dtype=np.float64)
    cache: dict[float, float] = {}

    def ll(d: float) -> float:
        key = float(d)
        if key not in cache:
            cache[key] = profile_loglik(data, key, model=model, ties=ties, first_level=first_level, words=words)
        return cache[key]

    xs = np.geomspace(lo_b, hi_b, grid)
    ys = np.array([ll(x) for x in xs])
    if not np.any(np.isfinite(ys)):
        return _failed(model, ties, first_level, level, "no d in the search range gives a converged fit",
                       list(zip(xs.tolist(), ys.tolist(), strict=True)))
    k = int(np.nanargmax(np.where(np.isfinite(ys), ys, -np.inf)))
    left, right = xs[max(k - 1, 0)], xs[min(k + 1, grid - 1)]
    res = optimize.minimize_scalar(lambda x: -ll(x), bounds=(left, right), method="bounded",
                                   options={"xatol": 1e-6 * max(1.0, right)})
    d_hat = float(res.x) if -res.fun >= ys[k] else float(xs[k])
    top = ll(d_hat)
    drop = stats.chi2.ppf(level, 1) / 2.0

    def gap(x: float) -> float:
        value = ll(x)
        return (top - value if np.isfinite(value) else np.inf) - drop

    ends: list[float | None] = []
    for edge in (lo_b, hi_b):
        if gap(edge) <= 0:  # the profile never falls far enough before the search edge
            ends.append(None)
        else:
            ends.append(float(optimize.brentq(gap, edge, d_hat, xtol=1e-8)) if edge < d_hat
                        else float(optimize.brentq(gap, d_hat, edge, xtol=1e-8)))
    l1 = ll(1.0)
    lr = max(2.0 * (top - l1), 0.0) if np.isfinite(l1) else np.inf
    on_edge = d_hat <= lo_b * (1 + 1e-6) or d_hat >= hi_b * (1 - 1e-6)
    return ExponentFit(
        d=d_hat, ci=(ends[0], ends[1]), level=level, loglik=top, loglik_equal_spacing=l1, lr_equal_spacing=lr,
        p_equal_spacing=float(stats.chi2.sf(lr, 1)) if np.isfinite(lr) else 0.0, model=model, ties=ties,
        first_level=first_level, criterion=f"maximum likelihood, independent-modes ({model.upper()})",
        profile=list(zip(xs.tolist(), ys.tolist(), strict=True)), converged=not on_edge,
        message="maximum on the edge of the search range" if on_edge else "profile maximum found")


def _failed(model: str, ties: str, first_level: int, level: float, message: str,
            profile: list[tuple[float, float]]) -> ExponentFit:
    nan = float("nan")
    return ExponentFit(d=1.0, ci=(None, None), level=level, loglik=nan, loglik_equal_spacing=nan,
                       lr_equal_spacing=nan, p_equal_spacing=nan, model=model, ties=ties, first_level=first_level,
                       criterion=f"maximum likelihood, independent-modes ({model.upper()})", profile=profile,
                       converged=False, message=message)
