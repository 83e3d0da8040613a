"""Model comparison for word statistics: BE, MB, Zipf and Zipf-Mandelbrot under one likelihood.

Why a second likelihood
-----------------------
The independent-modes likelihood of :mod:`probe.analysis.words.fits` scores BE with a
geometric occupation law (variance m(m+1)) and MB with a Poisson law (variance m), so a
BE-over-MB preference there mixes the mean curve with the noise law. Here every model is
a *shape* p_r over the levels and the tokens are a multinomial sample of size N:

    l = sum_r w_r n_r log p_r,        p_r = m_r / sum_s w_s m_s

    be               m = 1/(A e^{E/B} - 1)      k = 2 (A, B)
    mb               m = e^{-E/B}               k = 1 (B; A cancels)
    zipf             m = r^{-s}                 k = 1
    zipf-mandelbrot  m = (r + q)^{-s}, q > -1   k = 2

with ``r`` the rank (1 = most frequent; the mean rank of a block of tied words under
``ties="average"``, the rank of the distinct count under ``"dense"``), whatever the
energy exponent: Zipf laws are laws of the rank, BE and MB laws of ``E = (r - 1)^d``. AIC = 2k - 2l and BIC = k ln N - 2l use this one
likelihood for all four models, so they can be compared. Non-nested pairs are tested
with Vuong's (1989) normalised log-likelihood ratio on the per-token terms, as in
Clauset, Shalizi & Newman (2009). Tokens in a text are not independent (words come in
bursts), so these p-values are optimistic; the bootstrap intervals are the safer guide.

The count-distribution view (how many words occur k times) is delegated to the
``powerlaw`` package (Alstott, Bullmore & Plenz 2014): a discrete power law with xmin
chosen by the KS distance, compared with lognormal, exponential, truncated power law
and stretched exponential by ``Fit.distribution_compare(normalized_ratio=True)``.

References
----------
Vuong (1989), Econometrica 57:307. Clauset, Shalizi & Newman (2009), SIAM Rev. 51:661,
arXiv:0706.1062. Alstott, Bullmore & Plenz (2014), PLoS ONE 9:e85777, arXiv:1305.0215.
Sienicki & Sienicki (2025), arXiv:2512.07881 (MB is too weak a baseline).
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray
from probe.analysis.words.fits import Levels, OccupationFit, modes_loglik_terms
from probe.analysis.words.solvers import inner
from probe.errors import ConfigError, MissingDependency

RANK_MODELS = ("be", "mb", "zipf", "zipf-mandelbrot")
POWERLAW_ALTERNATIVES = ("lognormal", "exponential", "truncated_power_law", "stretched_exponential")
K_PARAMS = {"be": 2, "mb": 1, "zipf": 1, "zipf-mandelbrot": 2}


@dataclass(frozen=True, slots=True)
class RankModelFit:
    """A multinomial (shape-only) fit of one model to the levels."""

    name: str
    params: dict[str, float]
    k: int
    loglik: float
    aic: float
    bic: float
    n_tokens: int
    converged: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


@dataclass(frozen=True, slots=True)
class VuongTest:
    """Vuong's normalised log-likelihood ratio between models ``a`` and ``b``.

    ``z > 0`` favours ``a``. ``n`` is the number of observations the ratio is summed over
    (tokens for the multinomial likelihood, words for the modes likelihood).
    """

    a: str
    b: str
    likelihood: str
    log_ratio: float
    z: float
    p: float
    n: int

    @property
    def favours(self) -> str:
        return self.a if self.z > 0 else self.b

    def to_dict(self) -> dict[str, Any]:
        d = jsonable(self)
        d["favours"] = self.favours
        return d


def vuong(terms_a: ArrayLike, terms_b: ArrayLike, weights: ArrayLike, *, a: str, b: str,
          likelihood: str) -> VuongTest:
    """Vuong test from per-observation log-likelihood terms, grouped with ``weights``.

    Parameters
    ----------
    terms_a, terms_b : array_like, shape (L,)
        Log-likelihood of one observation in each group under model a and b.
    weights : array_like, shape (L,)
        Observations per group (their sum is n).

    Returns
    -------
    VuongTest
        ``z = sum d / sqrt(n var(d))`` with ``d = terms_a - terms_b``; ``p`` two-sided normal.
    """
    d = np.asarray(terms_a, dtype=np.float64) - np.asarray(terms_b, dtype=np.float64)
    wt = np.asarray(weights, dtype=np.float64)
    n = float(wt.sum())
    total = float(inner(wt, d))
    var = float(inner(wt, (d - total / n) ** 2)) / n
    z = total / math.sqrt(n * var) if var > 0 else (math.copysign(math.inf, total) if total else 0.0)
    p = float(special.erfc(abs(z) / math.sqrt(2.0))) if math.isfinite(z) else 0.0
    return VuongTest(a=a, b=b, likelihood=likelihood, log_ratio=total, z=z, p=p, n=round(n))


# --- multinomial rank models ------------------------------------------------------------------

def _log_m(name: str, theta: FloatArray, e: FloatArray, e_min: float,
           rank: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
    """log m and d log m / d theta (shape (k, L)) in unconstrained parameters."""
    if name == "be":  # theta = (ln(alpha + beta e_min), ln beta)
        beta = np.exp(theta[1])
        z = np.exp(theta[0]) + beta * (e - e_min)
        m = 1.0 / np.expm1(z)
        dz = np.vstack([np.full_like(e, np.exp(theta[0])), beta * (e - e_min)])
        return -z - np.log(-np.expm1(-z)), -(1.0 + m) * dz
    if name == "mb":  # theta = (ln beta,)
        beta = np.exp(theta[0])
        return -beta * e, (-beta * e)[None, :]
    r = e - e_min + 1.0 if rank is None else rank  # Zipf laws live on the rank, not on E = (rank - 1)^d
    if name == "zipf":  # theta = (s,)
        return -theta[0] * np.log(r), -np.log(r)[None, :]
    s, q = theta[0], np.expm1(theta[1])  # zipf-mandelbrot: theta = (s, ln(q + 1))
    rq = r + q
    return -s * np.log(rq), np.vstack([-np.log(rq), -s / rq * (q + 1.0)])


def _fit_multinomial(name: str, levels: Levels, theta0: FloatArray) -> tuple[FloatArray, float, bool, str]:
    e, n, w = levels.energy, levels.counts, levels.weight
    e_min = float(e.min())
    wn, N = w * n, levels.n_tokens

    def negll(theta: FloatArray) -> tuple[float, FloatArray]:
        with np.errstate(all="ignore"):
            lm, dlm = _log_m(name, theta, e, e_min, levels.rank)
            log_mass = special.logsumexp(lm, b=w)
            ll = float(inner(wn, lm)) - N * log_mass
            p = np.exp(lm - log_mass)
            grad = dlm @ (wn - N * w * p)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(theta)
        return -ll, -grad

    res = optimize.minimize(negll, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-9})
    return res.x, -float(res.fun), bool(res.success), str(res.message)


def rank_log_probabilities(name: str, params: dict[str, float], levels: Levels) -> FloatArray:
    """log p_r of each level under a fitted rank model (normalised over the levels with their weights)."""
    theta = _theta(name, params, float(levels.energy.min()))
    lm, _ = _log_m(name, theta, levels.energy, float(levels.energy.min()), levels.rank)
    return lm - special.logsumexp(lm, b=levels.weight)


def _theta(name: str, params: dict[str, float], e_min: float) -> FloatArray:
    if name == "be":
        beta = 1.0 / params["B"]
        return np.array([np.log(max(np.log(params["A"]) + beta * e_min, 1e-300)), np.log(beta)])
    if name == "mb":
        return np.array([np.log(1.0 / params["B"])])
    if name == "zipf":
        return np.array([params["s"]])
    return np.array([params["s"], np.log1p(params["q"])])


def _params(name: str, theta: FloatArray, e_min: float) -> dict[str, float]:
    if name == "be":
        beta = float(np.exp(theta[1]))
        return {"A": float(np.exp(np.exp(theta[0]) - beta * e_min)), "B": 1.0 / beta}
    if name == "mb":
        return {"B": float(np.exp(-theta[0]))}
    if name == "zipf":
        return {"s": float(theta[0])}
    return {"s": float(theta[0]), "q": float(np.expm1(theta[1]))}


def fit_rank_models(levels: Levels, models: Sequence[str] = RANK_MODELS, *,
                    be_start: OccupationFit | None = None, mb_start: OccupationFit | None = None,
                    ) -> list[RankModelFit]:
    """Fit the named rank models to the levels by multinomial maximum likelihood.

    Parameters
    ----------
    levels : Levels
    models : sequence of {"be", "mb", "zipf", "zipf-mandelbrot"}
    be_start, mb_start : OccupationFit, optional
        Starting points for BE and MB (the constraint fits are good ones).

    Returns
    -------
    list of RankModelFit
        In the order of ``models``; AIC/BIC comparable across them.
    """
    unknown = [m for m in models if m not in RANK_MODELS]
    if unknown:
        raise ConfigError(f"unknown rank model(s) {unknown}", hint=f"choose from {', '.join(RANK_MODELS)}")
    e_min = float(levels.energy.min())
    N = levels.n_tokens
    starts = {
        "be": {"A": be_start.A, "B": be_start.B} if be_start and be_start.converged else
        {"A": 1.0 + 1.0 / levels.counts.max(), "B": max(float(levels.energy.max()) / 2, 1.0)},
        "mb": {"B": mb_start.B} if mb_start and mb_start.converged else {"B": max(float(levels.energy.mean()), 1.0)},
        "zipf": {"s": 1.0},
        "zipf-mandelbrot": {"s": 1.0, "q": 0.5},
    }
    out = []
    for name in models:
        theta, ll, ok, message = _fit_multinomial(name, levels, _theta(name, starts[name], e_min))
        k = K_PARAMS[name]
        out.append(RankModelFit(name=name, params=_params(name, theta, e_min), k=k, loglik=ll,
                                aic=2 * k - 2 * ll, bic=k * math.log(N) - 2 * ll, n_tokens=round(N),
                                converged=ok, message=message))
    return out


def rank_vuong(a: RankModelFit, b: RankModelFit, levels: Levels) -> VuongTest:
    """Vuong test of two multinomial rank fits on the per-token log-probabilities."""
    return vuong(rank_log_probabilities(a.name, a.params, levels), rank_log_probabilities(b.name, b.params, levels),
                 levels.weight * levels.counts, a=a.name, b=b.name, likelihood="multinomial")


def modes_vuong(be: OccupationFit, mb: OccupationFit, levels: Levels) -> VuongTest:
    """Vuong test of BE (geometric modes) against MB (Poisson modes), one observation per word."""
    n = levels.counts
    terms = [modes_loglik_terms(f.model, n, f.predict(levels.energy)) for f in (be, mb)]
    return vuong(terms[0], terms[1], levels.weight, a="be", b="mb", likelihood="modes")


# --- powerlaw package ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PowerlawComparison:
    """The ``powerlaw`` package's fit of the count distribution and its comparisons.

    ``comparisons`` rows: ``alternative``, ``R`` (normalised log-likelihood ratio, > 0
    favours the power law), ``p``, ``favours``. ``error`` is set if the package failed.
    """

    alpha: float | None
    xmin: float | None
    n_tail: int | None
    ks_distance: float | None
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def powerlaw_compare(counts: ArrayLike, alternatives: Sequence[str] = ("lognormal", "truncated_power_law"),
                     ) -> PowerlawComparison:
    """Fit a discrete power law to the word counts with ``powerlaw`` and compare alternatives.

    Parameters
    ----------
    counts : array_like, shape (V,)
        Tokens per distinct word (> 0).
    alternatives : sequence of str
        Names from :data:`POWERLAW_ALTERNATIVES` (hyphens accepted).
    """
    names = [a.replace("-", "_") for a in alternatives]
    bad = [a for a in names if a not in POWERLAW_ALTERNATIVES]
    if bad:
        raise ConfigError(f"unknown powerlaw alternative(s) {bad}", hint=f"choose from {', '.join(POWERLAW_ALTERNATIVES)}")
    try:
        import powerlaw
    except ImportError as exc:
        raise MissingDependency("the powerlaw comparison needs the 'powerlaw' package",
                                hint="pip install powerlaw") from exc
    data = np.asarray(counts, dtype=np.float64)
    data = data[data > 0]
    try:  # the package prints and warns freely (powerlaw issue #25)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fit = powerlaw.Fit(data, discrete=True, verbose=False)
            rows = []
            for alt in names:
                R, p = fit.distribution_compare("power_law", alt, normalized_ratio=True)
                rows.append({"alternative": alt, "R": float(R), "p": float(p),
                             "favours": "power_law" if R > 0 else alt})
        return PowerlawComparison(alpha=float(fit.alpha), xmin=float(fit.xmin), n_tail=int(fit.n_tail),
                                  ks_distance=float(fit.D), comparisons=rows)
    except Exception as exc:  # a failed optional comparison is reported, not fatal
        return PowerlawComparison(alpha=None, xmin=None, n_tail=None, ks_distance=None,
                                  error=f"{type(exc).__name__}: {exc}")
