"""Bose-Einstein and Maxwell-Boltzmann occupation of word energy levels.

A text with V distinct words is read as a gas of N "cognitons" (word tokens) on V
energy levels (Aerts & Beltran 2020): the most frequent word sits on the lowest level
and the word of rank i (1 = most frequent) on level

    E_i = first_level + (i - 1)^d          (dimensionless)

with the spacing exponent ``d`` (``energy_exponent``; 1 = equal spacing, the 2020 paper).
Aerts et al. (2026, Entropy 28(6):622, arXiv:2511.21731, section 3) choose d per text
(d = 0.8 for their Gemini story; d < 1 for short stories and d > 1 for novels "as a
rule"); :mod:`probe.analysis.words.exponent` chooses it by profile likelihood. The
expected number of tokens of a word on level E is

    Bose-Einstein       N(E) = 1 / (A e^{E/B} - 1)        (A e^{E_min/B} > 1)
    Maxwell-Boltzmann   N(E) = 1 / (A e^{E/B})

with ``A = e^{-mu/kT}`` and ``B = kT``.

Estimators (``method``)
-----------------------
``constraint``  the papers' method: choose A, B so that the model reproduces the total
                number of tokens N = sum n_i and the total energy sum E_i n_i. This is
                exactly maximum likelihood when each level is an independent
                grand-canonical mode (geometric occupation for BE, Poisson for MB): both
                are exponential families with sufficient statistics (sum n, sum E n). It is
                solved by Newton's method on that concave log-likelihood.
``ml``          the same likelihood maximised by a general optimiser (L-BFGS), as a check.
``lsq-log``     least squares of log n against log N(E) (levels with n = 0 left out).
``lsq``         least squares on raw counts (dominated by the most frequent words).

AIC and BIC of these fits use the independent-modes likelihood with k = 2 parameters
and n = the number of words (modes). The common-likelihood comparison with Zipf and
Zipf-Mandelbrot is in :mod:`probe.analysis.words.compare`.

Conventions. Aerts et al. (2026, section 3) put the ground level at 0 (our default
``first_level=0``; 1 is available), use ``E_i = (i - 1)^d`` and break ties among equal
counts alphabetically (``ties="alphabetical"``). ``ordinal`` breaks them by first
occurrence in the text. Both give every word its own level and, because tied words have
equal counts, exactly the same multiset of (energy, count) pairs: every fit, interval
and test is identical under the two rules; only which word is printed on which level
differs. ``average`` (tied words share the mean of their energies) and ``dense`` (one
level per distinct count) do change the fit.

References
----------
Aerts & Beltran (2020), "Quantum structure in cognition: human language as a Boson gas
of entangled words", Found. Sci. 25:755, arXiv:1909.06845.
Aerts, Aerts Arguëlles, Beltran, Geriente, Leporini, Sassoli de Bianchi & Sozzo (2026),
"Identifying quantum structure in AI language: evidence for evolutionary convergence of
human and artificial cognition", Entropy 28(6):622, arXiv:2511.21731.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray
from probe.analysis.words.solvers import inner, solve_alpha_beta
from probe.errors import ConfigError, DataError

Model = Literal["be", "mb"]
Method = Literal["constraint", "ml", "lsq-log", "lsq"]
Ties = Literal["ordinal", "alphabetical", "average", "dense"]
MODELS: tuple[Model, ...] = ("be", "mb")
METHODS: tuple[Method, ...] = ("constraint", "ml", "lsq-log", "lsq")
TIES: tuple[Ties, ...] = ("ordinal", "alphabetical", "average", "dense")
MIN_TYPES = 10
"""A fit needs at least this many distinct words (levels); fewer is refused."""


@dataclass(frozen=True, slots=True)
class Levels:
    """Word counts placed on energy levels.

    Attributes
    ----------
    energy : ndarray, shape (L,)
        Level energies, dimensionless, non-decreasing.
    counts : ndarray, shape (L,)
        Observed tokens of each word on the level (0 allowed only for known levels).
    weight : ndarray, shape (L,)
        Number of words on the level (1 unless ties are grouped).
    ties, first_level, energy_exponent
        How the levels were made (recorded in results): ``E = first_level + (rank - 1)^d``
        with ``d = energy_exponent``.
    rank : ndarray, shape (L,), optional
        The rank of each level (1 = most frequent; the mean rank of a tied block for
        ``average``, the rank of the distinct count for ``dense``), for the Zipf-type laws
        of :mod:`probe.analysis.words.compare`. ``None``: ``E - E_min + 1``.
    """

    energy: FloatArray
    counts: FloatArray
    weight: FloatArray
    ties: str = "ordinal"
    first_level: int = 0
    energy_exponent: float = 1.0
    rank: FloatArray | None = None

    @property
    def n_tokens(self) -> float:
        return float(inner(self.weight, self.counts))

    @property
    def n_types(self) -> int:
        return round(float(self.weight[self.counts > 0].sum()))

    @classmethod
    def from_energies(cls, energy: ArrayLike, counts: ArrayLike, weight: ArrayLike | None = None) -> Levels:
        """Levels with known energies (e.g. simulated data on its true levels); zeros are kept."""
        e = np.asarray(energy, dtype=np.float64)
        n = _check_counts(counts, "counts", allow_zero=True)
        w = np.ones_like(n) if weight is None else np.asarray(weight, dtype=np.float64)
        if e.shape != n.shape or w.shape != n.shape:
            raise DataError(f"energy, counts and weight must have the same shape, got {e.shape}, {n.shape}, {w.shape}")
        return cls(e, n, w, ties="given", first_level=int(e.min()) if e.size else 0)


def check_energy_exponent(d: float) -> float:
    """``d`` as a float, or a :class:`ConfigError` naming the parameter unless ``0 < d < inf``."""
    try:
        value = float(d)
    except (TypeError, ValueError):
        raise ConfigError(f"energy_exponent={d!r} is not a number", hint="use a number > 0 (1 = equal spacing) "
                                                                          "or 'fit'") from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"energy_exponent={d!r} must be a finite number > 0",
                          hint="E_i = (i - 1)^d needs d > 0 (0^d is undefined for d < 0 and makes every level 0 "
                               "for d = 0)")
    return value


def rank_energies(n_levels: int, *, energy_exponent: float = 1.0, first_level: int = 0) -> FloatArray:
    """``first_level + k^d`` for ``k = 0 .. n_levels - 1`` (the energy of rank ``k + 1``)."""
    k = np.arange(n_levels, dtype=np.float64)
    return first_level + (k if energy_exponent == 1.0 else k**energy_exponent)


def rank_order(counts: ArrayLike, *, ties: Ties = "ordinal", words: Sequence[str] | None = None) -> np.ndarray:
    """Indices of the words by decreasing count, ties by first occurrence or alphabetically.

    ``order[k]`` is the index (into ``counts``) of the word of rank ``k + 1``. Zeros are
    kept (they sort last). ``ties="alphabetical"`` needs ``words`` (Python string order of
    the words as counted, i.e. after the tokenizer's case folding); the other rules use
    first occurrence.
    """
    n = np.asarray(counts, dtype=np.float64)
    if ties != "alphabetical":
        return np.argsort(-n, kind="stable")
    if words is None:
        raise ConfigError("ties='alphabetical' needs the words", hint="pass words=... in the order of counts")
    if len(words) != n.size:
        raise DataError(f"words ({len(words)}) and counts ({n.size}) must have the same length")
    alpha = np.empty(n.size, dtype=np.int64)
    alpha[np.array(sorted(range(n.size), key=words.__getitem__), dtype=np.int64)] = np.arange(n.size)
    return np.lexsort((alpha, -n))


def energy_levels(counts: ArrayLike, *, ties: Ties = "ordinal", first_level: int = 0,
                  energy_exponent: float = 1.0, words: Sequence[str] | None = None) -> Levels:
    """Rank word counts and map rank to energy ``E_i = first_level + (i - 1)^d``.

    Parameters
    ----------
    counts : array_like, shape (V,)
        Tokens per distinct word, in first-occurrence order of the text (that order
        breaks ties for ``ordinal``). Zeros are dropped.
    ties : {"ordinal", "alphabetical", "average", "dense"}
        ``ordinal``: the word of rank i (by decreasing count, ties by first occurrence)
        sits on ``E = first_level + (i - 1)^d``. ``alphabetical``: the same with ties
        broken alphabetically, as Aerts et al. (2026, section 3) do; it needs ``words``
        and gives the same levels as ``ordinal`` (tied words have equal counts).
        ``average``: tied words share the mean of their ordinal energies. ``dense``: one
        level per distinct count, ``E = first_level + j^d`` for the (j+1)-th largest count,
        holding all words with that count (close to Rovenchak & Buk 2011, arXiv:1011.5076).
    first_level : int
        Energy of the ground level (0 by default, as in the papers; 1 for the other convention).
    energy_exponent : float
        The spacing exponent ``d > 0`` (1 = equal spacing).
    words : sequence of str, optional
        The words, in the order of ``counts`` (needed for ``ties="alphabetical"`` only).

    Returns
    -------
    Levels
        With ``weight`` = words per level (1 for ``ordinal`` and ``alphabetical``).

    Examples
    --------
    >>> lv = energy_levels([3, 5, 3, 1], ties="average")
    >>> lv.energy.tolist(), lv.counts.tolist(), lv.weight.tolist()
    ([0.0, 1.5, 3.0], [5.0, 3.0, 1.0], [1.0, 2.0, 1.0])
    >>> energy_levels([4, 9, 1], energy_exponent=2).energy.tolist()
    [0.0, 1.0, 4.0]
    """
    if ties not in TIES:
        raise ConfigError(f"ties={ties!r} is not one of {TIES}")
    d = check_energy_exponent(energy_exponent)
    n = _check_counts(counts, "counts", allow_zero=True)
    if ties == "alphabetical":
        order = rank_order(n, ties=ties, words=words)
        n = n[order]
        n = n[n > 0]
    else:
        n = n[n > 0]
        n = n[np.argsort(-n, kind="stable")]
    table = rank_energies(n.size, energy_exponent=d, first_level=first_level)
    if ties in ("ordinal", "alphabetical"):
        return Levels(table, n, np.ones_like(n), ties, first_level, d, np.arange(1.0, n.size + 1))
    values, start, size = _runs(n)
    if ties == "average":
        energy = block_mean_energy(table, start, size)
        rank = start + (size + 1) / 2.0
    else:
        energy = rank_energies(values.size, energy_exponent=d, first_level=first_level)
        rank = np.arange(1.0, values.size + 1)
    return Levels(energy, values, size.astype(np.float64), ties, first_level, d, rank)


def block_mean_energy(table: FloatArray, start: FloatArray, size: FloatArray) -> FloatArray:
    """Mean of ``table[start : start + size]`` for each block (tied words sharing their mean energy)."""
    cum = np.concatenate([[0.0], np.cumsum(table)])
    lo = start.astype(np.int64)
    return (cum[lo + size.astype(np.int64)] - cum[lo]) / size


def _runs(sorted_desc: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    edges = np.flatnonzero(np.diff(sorted_desc)) + 1
    start = np.concatenate([[0], edges]).astype(np.float64)
    size = np.diff(np.concatenate([start, [sorted_desc.size]]))
    return sorted_desc[start.astype(np.int64)], start, size


def _check_counts(x: ArrayLike, name: str, *, allow_zero: bool) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise DataError(f"{name} must be 1-D, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise DataError(f"{name} must be finite and >= 0")
    if not allow_zero and np.any(a == 0):
        raise DataError(f"{name} must be > 0")
    return a


# --- the two laws -----------------------------------------------------------------------------

def bose_einstein(energy: ArrayLike, A: float, B: float) -> FloatArray:
    """Bose-Einstein occupation ``1 / (A exp(E/B) - 1)``, computed as ``1/expm1(E/B + ln A)`` (0 far up the tail)."""
    with np.errstate(over="ignore"):  # expm1 overflows to inf where the occupation is below 1e-308: 1/inf = 0
        return 1.0 / np.expm1(np.asarray(energy, dtype=np.float64) / B + np.log(A))


def maxwell_boltzmann(energy: ArrayLike, A: float, B: float) -> FloatArray:
    """Maxwell-Boltzmann occupation ``exp(-E/B) / A``."""
    return np.exp(-np.asarray(energy, dtype=np.float64) / B) / A


def occupation(model: str, energy: ArrayLike, A: float, B: float) -> FloatArray:
    return bose_einstein(energy, A, B) if model == "be" else maxwell_boltzmann(energy, A, B)


# --- results ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OccupationFit:
    """One BE or MB fit of a text's levels.

    ``A_ci95`` and ``B_ci95`` are filled by :func:`probe.analysis.words.bootstrap.with_bootstrap`,
    with ``A_bias_corrected`` / ``B_bias_corrected``: the estimate corrected for the
    rank-estimation bias the bootstrap measured. ``A``, ``B`` are the paper's (constraint)
    estimates; a ``basic`` interval is centred on the corrected estimate, which it always
    contains (``A``, ``B`` fall outside it only when the bias exceeds the sampling spread).
    ``loglik`` is the independent-modes log-likelihood (geometric for BE, Poisson for MB)
    at the fitted A, B whatever the method; ``aic = 4 - 2 loglik``, ``bic = 2 ln(n_types) - 2 loglik``.
    ``r2`` is the coefficient of determination on raw counts, ``r2_log`` on log counts.
    """

    model: str
    method: str
    A: float
    B: float
    converged: bool
    message: str
    n_iter: int
    r2: float
    r2_log: float
    rmse_log: float
    loglik: float
    aic: float
    bic: float
    n_tokens: int
    n_types: int
    ties: str
    first_level: int
    energy_exponent: float = 1.0
    A_ci95: tuple[float, float] | None = None
    B_ci95: tuple[float, float] | None = None
    A_bias_corrected: float | None = None
    B_bias_corrected: float | None = None
    bootstrap: dict[str, Any] | None = None

    def predict(self, energy: ArrayLike) -> FloatArray:
        return occupation(self.model, energy, self.A, self.B)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        d = self.to_dict()
        d.pop("bootstrap", None)
        for key in ("A_ci95", "B_ci95"):
            lo, hi = d.pop(key) or (None, None)
            d[f"{key[0]}_lo"], d[f"{key[0]}_hi"] = lo, hi
        return pd.DataFrame([d])


def fit_occupation(levels: Levels, model: Model = "be", *, method: Method = "constraint",
                   tol: float = 1e-10, max_iter: int = 200) -> OccupationFit:
    """Fit Bose-Einstein or Maxwell-Boltzmann occupations to word levels.

    Parameters
    ----------
    levels : Levels
        From :func:`energy_levels` (or :meth:`Levels.from_energies`).
    model : {"be", "mb"}
    method : {"constraint", "ml", "lsq-log", "lsq"}
        See the module docstring. ``constraint`` is the published method.
    tol : float
        Relative tolerance on the two constraints (``constraint``) or on the objective.
    max_iter : int
        Newton / optimiser iteration limit.

    Returns
    -------
    OccupationFit
        ``converged=False`` (with ``message``) if the solver failed; never raises for that.

    Raises
    ------
    DataError
        Fewer than :data:`MIN_TYPES` words with a non-zero count.

    Notes
    -----
    The constraint equations are ``sum_i w_i N(E_i) = N`` and
    ``sum_i w_i E_i N(E_i) = sum_i w_i E_i n_i``; with ``z_i = ln A + E_i / B`` they are the
    score equations of ``l = sum_i w_i [n_i log x_i + log(1 - x_i)]``, ``x_i = e^{-z_i}`` (BE)
    and of the Poisson likelihood (MB), both concave in ``(ln A, 1/B)``.

    Examples
    --------
    >>> E = np.arange(400.0)
    >>> lv = Levels.from_energies(E, bose_einstein(E, 1.002, 80.0))
    >>> fit = fit_occupation(lv, "be")
    >>> round(fit.A, 6), round(fit.B, 4)
    (1.002, 80.0)
    """
    if model not in MODELS:
        raise ConfigError(f"model={model!r} is not one of {MODELS}")
    if method not in METHODS:
        raise ConfigError(f"method={method!r} is not one of {METHODS}")
    if levels.n_types < MIN_TYPES:
        raise DataError(f"text too short for a fit: {levels.n_types} distinct words, at least {MIN_TYPES} needed",
                        hint="use a longer text (a few hundred tokens at least; thousands for useful CIs)")
    alpha, beta, ok, message, n_iter = solve_alpha_beta(levels, model, method, tol=tol, max_iter=max_iter)
    A, B = float(np.exp(alpha)), float(1.0 / beta) if beta > 0 else float("inf")
    return _finish(levels, model, method, A, B, ok, message, n_iter)


def _finish(levels: Levels, model: str, method: str, A: float, B: float, ok: bool, message: str,
            n_iter: int) -> OccupationFit:
    e, n, w = levels.energy, levels.counts, levels.weight
    with np.errstate(all="ignore"):
        m = occupation(model, e, A, B) if np.isfinite(B) else np.full_like(n, np.nan)
        r2 = _r2(n, m, w)
        pos = n > 0
        r2_log = _r2(np.log(n[pos]), np.log(m[pos]), w[pos])
        rmse_log = float(np.sqrt(np.average((np.log(n[pos]) - np.log(m[pos])) ** 2, weights=w[pos])))
        ll = float(np.sum(w * modes_loglik_terms(model, n, m)))
    n_types = levels.n_types
    return OccupationFit(model=model, method=method, A=A, B=B, converged=bool(ok), message=message,
                         n_iter=int(n_iter), r2=r2, r2_log=r2_log, rmse_log=rmse_log, loglik=ll,
                         aic=4.0 - 2.0 * ll, bic=2.0 * np.log(max(n_types, 1)) - 2.0 * ll,
                         n_tokens=round(levels.n_tokens), n_types=n_types, ties=levels.ties,
                         first_level=levels.first_level, energy_exponent=levels.energy_exponent)


def _r2(y: FloatArray, yhat: FloatArray, w: FloatArray) -> float:
    ybar = np.average(y, weights=w)
    ss_tot = float(np.sum(w * (y - ybar) ** 2))
    return 1.0 - float(np.sum(w * (y - yhat) ** 2)) / ss_tot if ss_tot > 0 else float("nan")


def modes_loglik_terms(model: str, n: FloatArray, m: FloatArray) -> FloatArray:
    """Per-word log-likelihood: geometric with mean m (BE) or Poisson with mean m (MB)."""
    if model == "be":  # P(n) = m^n / (1+m)^(n+1)
        return special.xlogy(n, m) - (n + 1.0) * np.log1p(m)
    return special.xlogy(n, m) - m - special.gammaln(n + 1.0)
