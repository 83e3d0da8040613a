"""CHSH from exact answer distributions (log-probabilities), with honest uncertainty and bounds.

Exact mode reads, for each context c and each presented ordering k of the four
sentences, the model's probability of each answer label (methods note bell.md
section 5.3). Three things make that harder than it looks, and this module is
where they are handled:

1. **Uncertainty over orderings.** Option order moves a language model's answer
   a lot (position bias), so the signed per-ordering values
   ``S_k = sum_c w_c E_kc`` sit on both sides of 0. The point estimate is the S of
   the distribution averaged over orderings, and because E is linear in p,
   ``S_signed = mean_k S_k`` exactly. Its standard error is the between-ordering
   one, ``SE = SD_k(S_k) / sqrt(K)`` on the *signed* values: the orderings are a
   random sample of the 4! = 24 (a random-effects view: each ordering shifts the
   answer distribution). Taking ``abs()`` of each S_k first (as probe once did)
   shrinks the spread and the SE towards 0 and is wrong. The 95% interval is
   ``mean +- t_{K-1, 0.975} SE`` on the signed scale, then mapped to |S| (an
   interval that straddles 0 becomes [0, max |end|]). ``S_se_fpc`` applies the
   finite-population correction ``sqrt((N - K) / (N - 1))`` with N = 24 x variants
   orderings in the pool: it is 0 when every ordering was scored, because the
   uniform mixture over all orderings is then known exactly; ``S_order_sd`` is
   the heterogeneity itself.
2. **Top-k truncation.** Hosted APIs return only the top-k next-token
   log-probabilities (k <= 20). If a label is missing, renormalising over the
   labels that are present silently sets it to 0 (and can give S = 2.000 from
   one label). Here the unseen mass ``R = 1 - sum(top-k probabilities)`` is an
   upper bound on the probability of everything not listed, including every
   missing label and every unlisted spelling of a present one. Each label's mass
   lies in ``[seen_j, seen_j + R]`` with the extras summing to at most R. Within
   a context E is linear-fractional in the masses and increases with mass on a
   +1 cell, so ``E_max = (sum sigma m + R) / (sum m + R)`` and
   ``E_min = (sum sigma m - R) / (sum m + R)``; S_signed, an average of
   ``w_c E_kc`` over independent requests, is bounded by the matching sums.
   ``S_bounds`` is that interval for |S|. When a label is missing from any list,
   the point S is refused (``S = None``): only the interval is reported.
3. **Marginal selectivity without sampling error.** Exact distributions have no
   sampling error, so any marginal difference is a real property of the model;
   a test against 0 would always "fail". ``Delta`` and the per-variable
   differences are reported without a verdict unless the caller states a
   tolerance (``marginal_tol``, on |P(X=+|c1) - P(X=+|c2)|); CbD uses Delta directly.

Conventions as in :mod:`probe.analysis.bell.chsh` (contexts AB, AB', A'B, A'B';
cells ++, +-, -+, --; Brussels placement of the minus sign on AB by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray
from probe.analysis.bell.chsh import (
    CELLS,
    CONTEXTS,
    ODD_PLACEMENTS,
    SIGNS,
    VARIABLES,
    category,
    correlators,
    delta,
    marginal_expectations,
    minus_index,
    probabilities,
)
from probe.errors import DataError

N_ORDERINGS = 24


@dataclass(frozen=True, slots=True)
class ChshExactResult:
    """CHSH from exact answer distributions, one per ordering (or ordering x prompt variant).

    ``S`` is None when a label was missing from a top-k list (then read
    ``S_bounds``). See the module docstring for every formula.
    """

    probs: FloatArray
    """Distribution averaged over orderings, shape (4, 2, 2) (point masses if bounded)."""
    per_order_S: tuple[float, ...]
    """Signed S of each ordering, ``sum_c w_c E_kc``."""
    minus_on: str
    E: tuple[float, ...]
    S: float | None
    S_signed: float | None
    S_se: float | None
    """Between-ordering SE of S_signed: SD of the signed per-ordering S over sqrt(K); None for K = 1."""
    S_se_fpc: float | None
    """S_se with the finite-population correction for sampling K of ``n_pool`` orderings (0 when K = n_pool)."""
    S_order_sd: float | None
    S_ci95: tuple[float, float] | None
    S_bounds: tuple[float, float] | None
    """Interval that |S| must lie in given the unseen top-k mass; None where every request was full-softmax."""
    n_orders: int
    n_pool: int
    exact: bool
    """True when no label was missing from any list (a point S exists)."""
    S_odd: float | None
    S_odd_placement: str | None
    marginals: FloatArray
    delta: float | None
    cnt1: float | None
    contextual: bool | None
    marginal_tol: float | None
    marginals_consistent: bool | None
    category: str | None
    coverage: tuple[float, ...]
    n_missing: int
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def summary(self) -> dict[str, Any]:
        """The result.json block (keys shared with sample mode where they mean the same)."""
        margins = []
        for (var, _, c1, c2), row in zip(VARIABLES, self.marginals, strict=True):
            pp = ((row[0] + 1) / 2, (row[1] + 1) / 2)
            margins.append({"variable": var, "contexts": [CONTEXTS[c1], CONTEXTS[c2]], "p_plus": list(pp),
                            "difference": pp[0] - pp[1], "p_value": None, "p_holm": None})
        return jsonable({
            "S": self.S, "S_signed": self.S_signed, "S_se": self.S_se, "S_ci95": self.S_ci95,
            "S_se_fpc": self.S_se_fpc, "S_order_sd": self.S_order_sd, "S_bounds": self.S_bounds,
            "exact": self.exact, "orders_scored": self.n_orders, "orders_pool": self.n_pool,
            "S_per_order": list(self.per_order_S), "S_odd": self.S_odd, "S_odd_placement": self.S_odd_placement,
            "E": dict(zip(CONTEXTS, self.E, strict=True)),
            "probs": {c: dict(zip(CELLS, self.probs[i].reshape(4).tolist(), strict=True))
                      for i, c in enumerate(CONTEXTS)},
            "p_value": None, "p_s_gt_2": None,
            "marginal_selectivity": {
                "consistent": self.marginals_consistent, "tolerance": self.marginal_tol, "delta": self.delta,
                "rule": ("|P(X=+|c1) - P(X=+|c2)| <= tolerance for every variable" if self.marginal_tol is not None
                         else "not judged: exact distributions have no sampling error, so any difference is real; "
                              "read Delta (and CbD, which uses it)"),
                "tests": margins},
            "cbd": {"delta": self.delta, "s_odd": self.S_odd, "cnt1": self.cnt1, "contextual": self.contextual},
            "category": self.category, "minus_on": self.minus_on,
            "coverage": {"min": min(self.coverage), "mean": float(np.mean(self.coverage))},
            "missing_labels": self.n_missing,
            "warnings": list(self.warnings),
        })


def _as_k44(x: ArrayLike, name: str) -> FloatArray:
    a = np.asarray(x, dtype=float)
    if a.shape in ((4, 2, 2), (4, 4)):
        a = a.reshape(1, 4, 4)
    elif a.ndim == 4 and a.shape[1:] == (4, 2, 2):
        a = a.reshape(a.shape[0], 4, 4)
    if a.ndim != 3 or a.shape[1:] != (4, 4):
        raise DataError(f"{name} must have shape (K, 4, 2, 2) or (K, 4, 4); got {np.asarray(x).shape}")
    return a


def correlator_bounds(mass: ArrayLike, unseen: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Bounds on E for label masses known up to an unseen mass R.

    Parameters
    ----------
    mass : array-like, shape (..., 4)
        Seen probability mass of each cell's label (++, +-, -+, --), e.g. summed
        top-k probabilities; a label missing from the list has 0.
    unseen : array-like, shape (...)
        R >= 0, an upper bound on all probability not seen (``1 - sum(top-k)``).

    Returns
    -------
    (E_min, E_max) : arrays of shape (...)

    Notes
    -----
    ``E = sum_j sigma_j m_j / sum_j m_j`` with the true masses ``m_j = seen_j + x_j``,
    ``x_j >= 0``, ``sum x_j <= R``. Mass added to a +1 cell never lowers E and mass
    on a -1 cell never raises it, so the extremes put all of R on one sign:
    ``E_max = (sum sigma seen + R) / (sum seen + R)``, ``E_min = (sum sigma seen - R) / (sum seen + R)``.

    Examples
    --------
    >>> lo, hi = correlator_bounds([0.5, 0.0, 0.0, 0.0], 0.5)   # only "++" seen, half the mass unseen
    >>> float(lo), float(hi)
    (0.0, 1.0)
    """
    m = np.asarray(mass, dtype=float)
    r = np.asarray(unseen, dtype=float)
    num = (m * SIGNS).sum(axis=-1)
    den = m.sum(axis=-1) + r
    with np.errstate(invalid="ignore", divide="ignore"):
        hi = np.where(den > 0, (num + r) / den, np.nan)
        lo = np.where(den > 0, (num - r) / den, np.nan)
    return np.clip(lo, -1, 1), np.clip(hi, -1, 1)


def _abs_interval(lo: float, hi: float) -> tuple[float, float]:
    if lo <= 0 <= hi:
        return 0.0, max(-lo, hi)
    return min(abs(lo), abs(hi)), max(abs(lo), abs(hi))


def chsh_exact(probs: ArrayLike, *, minus_on: str = "AB", coverage: ArrayLike | None = None,
               unseen: ArrayLike | None = None, missing: ArrayLike | None = None, n_pool: int | None = None,
               marginal_tol: float | None = None) -> ChshExactResult:
    """CHSH from exact answer distributions over K orderings.

    Parameters
    ----------
    probs : array-like, shape (4, 2, 2), (4, 4), (K, 4, 2, 2) or (K, 4, 4)
        Probability mass on each cell's label per ordering k and context; each
        context is renormalised over its four labels for the point estimate.
        With ``unseen`` these must be the *raw* seen masses (not renormalised).
    minus_on : str, default="AB"
        Context carrying the minus sign (Brussels convention).
    coverage : array-like, optional
        Raw probability mass on the options per request (reported).
    unseen : array-like, shape (K, 4), optional
        Upper bound R on the mass not seen per request (``1 - sum(top-k)``; 0 for
        a full softmax). Gives ``S_bounds``.
    missing : array-like of bool, shape (K, 4, 4), optional
        True where a label was absent from the top-k list. Any True refuses the
        point S (``S = None``); then ``unseen`` is required.
    n_pool : int, optional
        Orderings the K were drawn from (default 24; 24 x variants with prompt variants).
    marginal_tol : float, optional
        Tolerance on each marginal-probability difference for a marginal-selectivity
        verdict; ``None`` (default) reports Delta without a verdict.

    Returns
    -------
    ChshExactResult

    Raises
    ------
    DataError
        Bad shapes, negative or non-finite masses, a context with no mass, K >
        n_pool, or missing labels without ``unseen``.

    Examples
    --------
    Two orderings whose signed S are +1 and -1 average to S = 0 with SE 1 (not 0):

    >>> def cells(e):                      # a context with correlator e
    ...     return [(1 + e) / 2, (1 - e) / 2, 0, 0]
    >>> plus = [cells(-0.25), cells(0.25), cells(0.25), cells(0.25)]     # signed S = +1
    >>> minus = [cells(0.25), cells(-0.25), cells(-0.25), cells(-0.25)]  # signed S = -1
    >>> r = chsh_exact([plus, minus])
    >>> round(r.S, 12), round(r.S_se, 12), r.per_order_S
    (0.0, 1.0, (1.0, -1.0))
    """
    a = _as_k44(probs, "probs")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise DataError("probs must be finite and non-negative")
    k_orders = a.shape[0]
    pool = N_ORDERINGS if n_pool is None else int(n_pool)
    if k_orders > pool:
        raise DataError(f"{k_orders} orderings scored but only n_pool = {pool} exist")
    miss = np.zeros(a.shape, dtype=bool) if missing is None else np.asarray(missing, dtype=bool).reshape(a.shape)
    r_unseen = None if unseen is None else np.asarray(unseen, dtype=float).reshape(k_orders, 4)
    if r_unseen is not None and (not np.all(np.isfinite(r_unseen)) or np.any(r_unseen < 0)):
        raise DataError("unseen must be finite and non-negative")
    n_missing = int(miss.sum())
    if n_missing and r_unseen is None:
        raise DataError(f"{n_missing} label(s) missing from top-k lists but no unseen mass given",
                        hint="pass unseen = 1 - sum(top-k probabilities) per request")
    point = n_missing == 0
    if point and np.any(a.sum(axis=2) <= 0):
        raise DataError("probs must put some mass on the labels in every context")
    mi = minus_index(minus_on)
    w = np.ones(4)
    w[mi] = -1
    warnings: list[str] = []

    bounds = None
    if r_unseen is not None:
        lo, hi = correlator_bounds(a, r_unseen)
        if np.isnan(lo).any():
            raise DataError("a request has no seen or unseen mass on any label")
        s_lo = float(np.mean(np.where(w > 0, lo, -hi).sum(axis=1)))
        s_hi = float(np.mean(np.where(w > 0, hi, -lo).sum(axis=1)))
        bounds = _abs_interval(s_lo, s_hi)

    safe = np.where(a.sum(axis=2, keepdims=True) > 0, a, 0.25)
    p = probabilities(safe.reshape(k_orders, 4, 2, 2))
    e_k = correlators(p)
    per_order = e_k @ w
    mean_p = p.mean(axis=0)
    e = correlators(mean_p)
    signed = float(e @ w)
    se = se_fpc = sd = ci = None
    if k_orders > 1:
        sd = float(np.std(per_order, ddof=1))
        se = sd / math.sqrt(k_orders)
        se_fpc = se * math.sqrt(max(pool - k_orders, 0) / (pool - 1)) if pool > 1 else 0.0
        half = float(stats.t.ppf(0.975, k_orders - 1)) * se
        ci = _abs_interval(signed - half, signed + half)
    elif point:
        warnings.append("one ordering only: no uncertainty over orderings (use --orders 24 to average "
                        "out position bias)")
    sums = ODD_PLACEMENTS @ e
    k_best = int(np.argmax(np.abs(sums)))
    d = float(delta(mean_p))
    margins = marginal_expectations(mean_p)
    consistent = None
    if marginal_tol is not None:
        diffs = np.abs(margins[:, 0] - margins[:, 1]) / 2
        consistent = bool(np.all(diffs <= marginal_tol))
    cov = tuple(float(x) for x in np.ravel(coverage)) if coverage is not None else (1.0,)
    if min(cov) < 0.5:
        warnings.append(f"low coverage (min {min(cov):.2f}): much probability went to answers outside the options")
    if not point:
        warnings.append(f"{n_missing} label probabilit{'y was' if n_missing == 1 else 'ies were'} missing from the "
                        f"top-k lists: no point S; |S| lies in [{bounds[0]:.3f}, {bounds[1]:.3f}] "  # type: ignore[index]
                        "(unseen mass bounds); score each option directly to get a point S")
        return ChshExactResult(
            probs=mean_p, per_order_S=tuple(float(x) for x in per_order), minus_on=minus_on,
            E=tuple(float(x) for x in e), S=None, S_signed=None, S_se=None, S_se_fpc=None, S_order_sd=None,
            S_ci95=None, S_bounds=bounds, n_orders=k_orders, n_pool=pool, exact=False, S_odd=None,
            S_odd_placement=None, marginals=margins, delta=None, cnt1=None, contextual=None,
            marginal_tol=marginal_tol, marginals_consistent=None, category=None, coverage=cov, n_missing=n_missing,
            warnings=tuple(warnings))
    s = abs(signed)
    sodd = float(abs(sums[k_best]))
    return ChshExactResult(
        probs=mean_p, per_order_S=tuple(float(x) for x in per_order), minus_on=minus_on, E=tuple(float(x) for x in e),
        S=s, S_signed=signed, S_se=se, S_se_fpc=se_fpc, S_order_sd=sd, S_ci95=ci, S_bounds=bounds,
        n_orders=k_orders, n_pool=pool, exact=True, S_odd=sodd, S_odd_placement=CONTEXTS[k_best],
        marginals=margins, delta=d, cnt1=sodd - 2 - d, contextual=bool(sodd - 2 - d > 1e-12),
        marginal_tol=marginal_tol, marginals_consistent=consistent, category=category(s), coverage=cov,
        n_missing=0, warnings=tuple(warnings),
    )
