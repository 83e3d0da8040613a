"""CHSH statistics on coincidence counts: point estimates, uncertainty, tests, marginals and CbD.

Conventions (methods note ``bell.md``; Aerts & Sozzo 2011, arXiv:1104.1322):

* Contexts in the order ``AB, AB', A'B, A'B'``; ``counts[c, i, j]`` with ``i`` the
  outcome of the first measurement (A or A') and ``j`` of the second (B or B'),
  index 0 = outcome +1, index 1 = outcome -1. Flattened, the cells are
  (++, +-, -+, --).
* ``E_c = P(++) + P(--) - P(+-) - P(-+)``.
* Brussels placement of the minus sign: ``S = |E(A'B') + E(A'B) + E(AB') - E(AB)|``
  (``minus_on="AB"``); any other placement can be chosen.
* ``S_odd`` is the maximum over the four odd sign placements (invariant to
  relabelling + and - of any one measurement); choosing it after seeing the data is
  a selection step, so its p-value is Bonferroni-corrected (x4) and its CI is
  bootstrapped on the maximum itself.
* Contextuality-by-Default (Kujala, Dzhafarov & Larsson 2015, PRL 115, 150401;
  Dzhafarov, Zhang & Kujala 2016, arXiv:1504.07422): the rank-4 cyclic system is
  contextual iff ``S_odd > 2 + Delta`` with
  ``Delta = sum over the 4 variables of |<X>_c1 - <X>_c2|`` and ``<X>_c = 2 P(X=+|c) - 1``
  (note the factor 2 relative to probability differences). ``CNT1 = S_odd - 2 - Delta``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray, Seed
from probe.analysis.multiple_comparisons import holm
from probe.errors import DataError

CONTEXTS: tuple[str, ...] = ("AB", "AB'", "A'B", "A'B'")
CELLS: tuple[str, ...] = ("++", "+-", "-+", "--")
SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # product a*b of each cell
TSIRELSON = 2.0 * math.sqrt(2.0)
# The four sign vectors with exactly one minus (and their negatives give the same |.|).
ODD_PLACEMENTS = np.array([[-1 if i == k else 1 for i in range(4)] for k in range(4)], dtype=float)
# Each single variable appears in two contexts: (variable, axis, context index 1, context index 2).
VARIABLES: tuple[tuple[str, int, int, int], ...] = (
    ("A", 0, 0, 1), ("A'", 0, 2, 3), ("B", 1, 0, 2), ("B'", 1, 1, 3),
)


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def check_counts(counts: ArrayLike, *, name: str = "counts", integer: bool = True) -> FloatArray:
    """Validate coincidence counts (or probabilities) and return them as a (4, 2, 2) float array."""
    a = np.asarray(counts, dtype=float)
    if a.shape == (4, 4):
        a = a.reshape(4, 2, 2)
    if a.shape != (4, 2, 2):
        raise DataError(f"{name} must have shape (4, 2, 2) or (4, 4) (contexts x cells); got {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise DataError(f"{name} must be finite and non-negative")
    if integer and np.any(a != np.round(a)):
        raise DataError(f"{name} must be whole numbers of answers")
    empty = [CONTEXTS[c] for c in range(4) if a[c].sum() == 0]
    if empty:
        raise DataError(f"{name}: no valid answers in context(s) {', '.join(empty)}",
                        hint="every context needs at least one answer")
    return a


def minus_index(minus_on: str) -> int:
    if minus_on not in CONTEXTS:
        raise DataError(f"minus_on must be one of {', '.join(CONTEXTS)}; got {minus_on!r}")
    return CONTEXTS.index(minus_on)


# ---------------------------------------------------------------------------------------------
# pure quantities on probabilities (vectorised over leading axes)
# ---------------------------------------------------------------------------------------------
def probabilities(counts: ArrayLike) -> FloatArray:
    """Normalise each context: (..., 4, 2, 2) counts -> (..., 4, 2, 2) probabilities."""
    a = np.asarray(counts, dtype=float)
    return a / a.sum(axis=(-1, -2), keepdims=True)


def correlators(p: ArrayLike) -> FloatArray:
    """E_c = sum_k sigma_k p_ck for each context; shape (..., 4)."""
    a = probabilities(p)
    return (a.reshape(*a.shape[:-2], 4) * SIGNS).sum(axis=-1)


def s_signed(e: ArrayLike, *, minus_on: str = "AB") -> FloatArray:
    """Signed CHSH sum with one minus sign on context ``minus_on``."""
    w = np.ones(4)
    w[minus_index(minus_on)] = -1.0
    return (np.asarray(e, dtype=float) * w).sum(axis=-1)


def s_odd(e: ArrayLike) -> FloatArray:
    """max over odd sign placements of sum_i s_i E_i (Dzhafarov et al.); shape (...)."""
    e = np.asarray(e, dtype=float)
    sums = e @ ODD_PLACEMENTS.T
    return np.max(np.abs(sums), axis=-1)


def marginal_expectations(p: ArrayLike) -> FloatArray:
    """<X>_c = 2 P(X=+|c) - 1 for each variable in each of its two contexts; shape (..., 4, 2).

    Rows follow :data:`VARIABLES` (A, A', B, B').
    """
    a = probabilities(p)
    p_first = a[..., :, 0, :].sum(axis=-1)   # P(first measurement = +) per context
    p_second = a[..., :, :, 0].sum(axis=-1)  # P(second measurement = +) per context
    out = []
    for _, axis, c1, c2 in VARIABLES:
        src = p_first if axis == 0 else p_second
        out.append(np.stack([2 * src[..., c1] - 1, 2 * src[..., c2] - 1], axis=-1))
    return np.stack(out, axis=-2)


def delta(p: ArrayLike) -> FloatArray:
    """Delta = sum over variables of |<X>_c1 - <X>_c2| (CbD); 0 when marginals are consistent."""
    m = marginal_expectations(p)
    return np.abs(m[..., 0] - m[..., 1]).sum(axis=-1)


def category(s: float, *, tol: float = 1e-9) -> str:
    """Which bound S respects: 'local' (<= 2), 'tsirelson' (<= 2 sqrt 2) or 'algebraic' (<= 4)."""
    if s <= 2 + tol:
        return "local"
    if s <= TSIRELSON + tol:
        return "tsirelson"
    return "algebraic"




# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MarginalTest:
    """Marginal selectivity of one variable across its two contexts."""

    variable: str
    contexts: tuple[str, str]
    p_plus: tuple[float, float]
    """P(variable = +) in each context."""
    difference: float
    """p_plus[0] - p_plus[1]."""
    p_value: float | None
    """Fisher's exact test, two-sided (None in exact mode)."""
    p_holm: float | None
    """Holm-adjusted over the four variables."""


@dataclass(frozen=True, slots=True)
class ChshResult:
    """CHSH analysis of sampled coincidence counts (independent contexts).

    ``S`` is |signed sum| in the chosen placement; ``S_se = sqrt(sum_c (1 - E_c^2) / N_c)``
    (exact for independent multinomial contexts). p-values are one-sided against
    the local bound 2.
    """

    counts: FloatArray
    n: tuple[int, ...]
    invalid: tuple[int, ...]
    minus_on: str
    E: tuple[float, ...]
    E_se: tuple[float, ...]
    S: float
    S_signed: float
    S_se: float
    z: float | None
    p_value: float | None
    z_tsirelson: float | None
    p_tsirelson: float | None
    S_ci95_boot: tuple[float, float]
    p_boot: float
    S_ci95: tuple[float, float]
    """95% interval of S: MOVER over Wilson intervals of the contexts (:func:`s_interval`); contains S."""
    S_ci95_post: tuple[float, float]
    """Dirichlet posterior 95% credible interval of S (shrunk toward 0 by the prior)."""
    S_post_mean: float
    p_s_gt_2: float
    p_s_gt_tsirelson: float
    S_odd: float
    S_odd_placement: str
    S_odd_ci95_boot: tuple[float, float]
    p_odd_bonferroni: float | None
    marginals: tuple[MarginalTest, ...]
    marginals_consistent: bool
    """No Holm-adjusted Fisher test rejects at 0.05 (not rejected; never "holds")."""
    delta: float
    delta_ci95: tuple[float, float]
    """Dirichlet posterior interval of Δ."""
    cnt1: float
    cnt1_ci95_boot: tuple[float, float]
    cnt1_ci95_post: tuple[float, float]
    """Dirichlet posterior interval of CNT1; the CbD verdict rests on it."""
    p_cnt1_gt_0: float
    contextual: bool
    """The posterior interval of CNT1 lies above 0 (probe.analysis.verdicts.cnt1_verdict)."""
    category: str
    deterministic: tuple[str, ...]
    n_boot: int
    n_post: int
    prior: float
    seed: int | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def summary(self) -> dict[str, Any]:
        """The result.json block (keys named as the issue and reports expect)."""
        n_total = int(sum(self.n))
        inv = int(sum(self.invalid))
        return jsonable({
            "S": self.S, "S_signed": self.S_signed, "S_se": self.S_se, "S_ci95": self.S_ci95,
            "S_ci95_boot": self.S_ci95_boot, "S_ci95_post": self.S_ci95_post, "S_post_mean": self.S_post_mean,
            "S_ci95_method": "MOVER over Wilson score intervals of the four contexts (Zou & Donner 2008)",
            "S_odd": self.S_odd, "S_odd_placement": self.S_odd_placement, "S_odd_ci95_boot": self.S_odd_ci95_boot,
            "p_odd_bonferroni": self.p_odd_bonferroni,
            "E": dict(zip(CONTEXTS, self.E, strict=True)), "E_se": dict(zip(CONTEXTS, self.E_se, strict=True)),
            "counts": {c: dict(zip(CELLS, self.counts[i].reshape(4).astype(int).tolist(), strict=True))
                       for i, c in enumerate(CONTEXTS)},
            "n": dict(zip(CONTEXTS, self.n, strict=True)), "n_total": n_total,
            "invalid": dict(zip(CONTEXTS, self.invalid, strict=True)), "invalid_total": inv,
            "invalid_rate": inv / (n_total + inv) if n_total + inv else None,
            "z": self.z, "p_value": self.p_value, "p_boot": self.p_boot,
            "z_tsirelson": self.z_tsirelson, "p_tsirelson": self.p_tsirelson,
            "p_s_gt_2": self.p_s_gt_2, "p_s_gt_tsirelson": self.p_s_gt_tsirelson,
            "marginal_selectivity": {"rejected": not self.marginals_consistent,
                                     "tests": [jsonable(m) for m in self.marginals]},
            "cbd": {"delta": self.delta, "delta_ci95": self.delta_ci95, "s_odd": self.S_odd, "cnt1": self.cnt1,
                    "cnt1_ci95": self.cnt1_ci95_boot, "cnt1_ci95_post": self.cnt1_ci95_post,
                    "p_cnt1_gt_0": self.p_cnt1_gt_0, "contextual": self.contextual},
            "category": self.category, "minus_on": self.minus_on, "deterministic": list(self.deterministic),
            "statistics": {"n_boot": self.n_boot, "n_post": self.n_post, "prior": self.prior, "seed": self.seed},
            "warnings": list(self.warnings),
        })

    def to_frame(self) -> Any:
        """One row per context: counts, N, E and its SE."""
        import pandas as pd

        rows = []
        for i, c in enumerate(CONTEXTS):
            flat = self.counts[i].reshape(4)
            rows.append({"context": c, **{f"n{k}": int(v) for k, v in zip(CELLS, flat, strict=True)},
                         "N": self.n[i], "invalid": self.invalid[i], "E": self.E[i], "E_se": self.E_se[i]})
        return pd.DataFrame(rows)


def _marginal_tests(counts: FloatArray) -> tuple[MarginalTest, ...]:
    first_plus = counts[:, 0, :].sum(axis=-1)
    second_plus = counts[:, :, 0].sum(axis=-1)
    n = counts.sum(axis=(1, 2))
    raw = []
    for var, axis, c1, c2 in VARIABLES:
        plus = first_plus if axis == 0 else second_plus
        k1, k2 = int(plus[c1]), int(plus[c2])
        n1, n2 = int(n[c1]), int(n[c2])
        p = float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue)
        raw.append((var, (CONTEXTS[c1], CONTEXTS[c2]), (k1 / n1, k2 / n2), p))
    adj = holm([r[3] for r in raw])
    return tuple(MarginalTest(v, cs, pp, pp[0] - pp[1], p, float(a)) for (v, cs, pp, p), a in zip(raw, adj, strict=True))


def wilson_interval(k: ArrayLike, n: ArrayLike, *, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of binomial proportions ``k / n`` (contains the estimate, also at 0 and 1).

    Examples
    --------
    >>> lo, hi = wilson_interval([10], [10])
    >>> round(float(lo[0]), 4), float(hi[0])
    (0.7225, 1.0)
    """
    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    z = float(stats.norm.ppf(0.5 + level / 2))
    centre = (k + z * z / 2) / (n + z * z)
    half = z * np.sqrt(np.clip(k * (n - k) / n, 0, None) + z * z / 4) / (n + z * z)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def s_interval(counts: ArrayLike, *, minus_on: str = "AB", level: float = 0.95) -> tuple[float, float]:
    """Interval of S = |Σ_c w_c E_c| by MOVER over Wilson intervals of the four contexts.

    Each E_c = 2 p_c − 1, with p_c the share of equal outcomes (++ or −−) and its
    Wilson interval; the four independent intervals combine by the method of
    variance estimates recovery (Zou & Donner 2008, Stat. Med. 27, 1693):
    ``L = Σ ŵE − sqrt(Σ (ŵE_c − l_c)²)``, ``U = Σ ŵE + sqrt(Σ (u_c − ŵE_c)²)``. Unlike a
    posterior or percentile interval it always contains the estimate and stays
    inside [0, 4] at the boundary (deterministic contexts, S = 4).

    Examples
    --------
    >>> lo, hi = s_interval([[0, 30, 30, 0], [30, 0, 0, 30], [30, 0, 0, 30], [30, 0, 0, 30]])   # PR box
    >>> round(lo, 3), hi
    (3.759, 4.0)
    """
    n_counts = check_counts(counts)
    w = np.ones(4)
    w[minus_index(minus_on)] = -1
    flat = n_counts.reshape(4, 4)
    n = flat.sum(axis=1)
    equal = flat[:, 0] + flat[:, 3]
    lo_p, hi_p = wilson_interval(equal, n, level=level)
    e = 2 * equal / n - 1
    lo_e, hi_e = 2 * lo_p - 1, 2 * hi_p - 1
    we = w * e
    lo_we = np.where(w > 0, lo_e, -hi_e)
    hi_we = np.where(w > 0, hi_e, -lo_e)
    total = float(we.sum())
    low = total - float(np.sqrt(np.sum((we - lo_we) ** 2)))
    high = total + float(np.sqrt(np.sum((hi_we - we) ** 2)))
    if total < 0:  # S = |signed|: mirror
        low, high = -high, -low
    if low < 0:
        return 0.0, max(high, -low)
    return low, high


def _ci(x: FloatArray, level: float = 0.95) -> tuple[float, float]:
    lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def chsh(counts: ArrayLike, *, minus_on: str = "AB", invalid: ArrayLike | None = None, n_boot: int = 10_000,
         n_post: int = 10_000, prior: float = 1.0, seed: Seed = 0) -> ChshResult:
    """Full CHSH analysis of sampled coincidence counts.

    Parameters
    ----------
    counts : array-like of int, shape (4, 2, 2) or (4, 4)
        Valid answers per context (AB, AB', A'B, A'B') and cell (++, +-, -+, --).
    minus_on : str, default="AB"
        Context carrying the minus sign (Brussels convention: "AB").
    invalid : array-like of int, shape (4,), optional
        Unparseable answers per context (reported, never imputed).
    n_boot : int, default=10000
        Parametric bootstrap resamples (n_c* ~ Multinomial(N_c, p_hat_c), contexts independent).
    n_post : int, default=10000
        Draws from the Dirichlet posterior p_c ~ Dir(n_c + prior).
    prior : float, default=1.0
        Dirichlet pseudo-count: 1 (uniform) or 0.5 (Jeffreys). It shrinks E toward 0,
        so P(S > 2 | data) is less extreme than the frequentist p at N ~ 80.
    seed : int or Generator, default=0
        Seeds the bootstrap and posterior draws.

    Returns
    -------
    ChshResult

    Notes
    -----
    Assumes the four contexts are independent samples (independent model calls or
    different people). For within-subject data use :func:`chsh_within`.
    Deterministic contexts (E = +-1, typical at temperature 0) have zero plug-in SE;
    then ``z`` and ``p_value`` are ``None`` and the Bayesian figures carry the inference.
    With small N, finite-sample local strategies can exceed 2 by chance (Gallus,
    Blasiak & Pothos 2023, Entropy 25, 824).

    Examples
    --------
    >>> r = chsh([[0, 50, 50, 0], [50, 0, 0, 50], [50, 0, 0, 50], [50, 0, 0, 50]], n_boot=200, n_post=200)
    >>> round(r.S, 6), r.category   # the PR box
    (4.0, 'algebraic')
    """
    n_counts = check_counts(counts)
    mi = minus_index(minus_on)
    inv = np.zeros(4, dtype=int) if invalid is None else np.asarray(invalid, dtype=int).reshape(4)
    if prior <= 0:
        raise DataError(f"prior must be > 0 (1 = uniform, 0.5 = Jeffreys); got {prior}")
    rng = np.random.default_rng(seed)
    n = n_counts.sum(axis=(1, 2))
    p_hat = probabilities(n_counts)
    e = correlators(p_hat)
    w = np.ones(4)
    w[mi] = -1
    signed = float(e @ w)
    s = abs(signed)
    e_se = np.sqrt(np.clip(1 - e**2, 0, None) / n)
    se = float(np.sqrt(np.sum(e_se**2)))
    deterministic = tuple(CONTEXTS[c] for c in range(4) if abs(abs(e[c]) - 1) < 1e-12)
    warnings: list[str] = []
    if se > 0:
        z = (s - 2) / se
        p_value = float(stats.norm.sf(z))
        z_t = (s - TSIRELSON) / se
        p_t = float(stats.norm.sf(z_t))
    else:
        z = p_value = z_t = p_t = None
        warnings.append("every context is deterministic (E = +-1): the plug-in SE is 0, so there is no z-test; "
                        "the posterior interval carries the uncertainty")
    if deterministic and se > 0:
        warnings.append(f"deterministic context(s) {', '.join(deterministic)}: plug-in SE is 0 there")

    # parametric bootstrap, contexts independent
    boot = np.stack([rng.multinomial(int(n[c]), p_hat[c].reshape(4), size=n_boot) for c in range(4)], axis=1)
    e_b = correlators(boot.reshape(n_boot, 4, 2, 2).astype(float))
    s_b = np.abs(e_b @ w)
    sodd_b = s_odd(e_b)
    cnt1_b = sodd_b - 2 - delta(boot.reshape(n_boot, 4, 2, 2).astype(float))

    # Dirichlet posterior
    post = np.stack([rng.dirichlet(n_counts[c].reshape(4) + prior, size=n_post) for c in range(4)], axis=1)
    post = post.reshape(n_post, 4, 2, 2)
    e_post = correlators(post)
    s_post = np.abs(e_post @ w)
    delta_post = delta(post)
    cnt1_post = s_odd(e_post) - 2 - delta_post

    sums = ODD_PLACEMENTS @ e
    k = int(np.argmax(np.abs(sums)))
    sodd = float(np.abs(sums[k]))
    d = float(delta(p_hat))
    cnt1 = sodd - 2 - d
    marg = _marginal_tests(n_counts)
    consistent = all(m.p_holm is None or m.p_holm >= 0.05 for m in marg)
    if not consistent:
        warnings.append("marginal selectivity fails (no-signalling violated): CHSH alone is not evidence of "
                        "entanglement; read the CbD criterion")
    s_ci = s_interval(n_counts, minus_on=minus_on)
    if s_ci[0] > TSIRELSON:
        warnings.append("the 95% interval of S lies above the Tsirelson bound 2*sqrt(2): possible only with "
                        "signalling or a PR-type box")
    elif s > TSIRELSON + 1e-9:
        warnings.append("the point estimate of S is above 2*sqrt(2) but its 95% interval contains 2*sqrt(2): "
                        "sampling noise can put it there")
    if min(n) < 30:
        warnings.append(f"few answers per context (min N = {int(min(n))}): see Gallus et al. 2023 on finite-sample "
                        "local strategies beating 2")
    return ChshResult(
        counts=n_counts, n=tuple(int(x) for x in n), invalid=tuple(int(x) for x in inv), minus_on=minus_on,
        E=tuple(float(x) for x in e), E_se=tuple(float(x) for x in e_se), S=s, S_signed=signed, S_se=se,
        z=z, p_value=p_value, z_tsirelson=z_t, p_tsirelson=p_t,
        S_ci95_boot=_ci(s_b), p_boot=float(np.mean(s_b <= 2)), S_ci95=s_ci, S_ci95_post=_ci(s_post),
        S_post_mean=float(s_post.mean()),
        p_s_gt_2=float(np.mean(s_post > 2)), p_s_gt_tsirelson=float(np.mean(s_post > TSIRELSON)),
        S_odd=sodd, S_odd_placement=CONTEXTS[k], S_odd_ci95_boot=_ci(sodd_b),
        p_odd_bonferroni=None if se == 0 else float(min(1.0, 4 * stats.norm.sf((sodd - 2) / se))),
        marginals=marg, marginals_consistent=consistent, delta=d, delta_ci95=_ci(delta_post), cnt1=cnt1,
        cnt1_ci95_boot=_ci(cnt1_b), cnt1_ci95_post=_ci(cnt1_post),
        p_cnt1_gt_0=float(np.mean(cnt1_post > 0)), contextual=bool(_ci(cnt1_post)[0] > 0), category=category(s),
        deterministic=deterministic, n_boot=n_boot, n_post=n_post, prior=prior,
        seed=seed if isinstance(seed, int) else None, warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------------------------
# within-subject data (each respondent answers all four contexts)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChshWithinResult:
    """Per-respondent S_i = sum_c w_c x_ic y_ic; mean, SE = SD/sqrt(n), one-sample t-test of S > 2."""

    n: int
    S: float
    S_se: float
    S_ci95: tuple[float, float]
    t: float | None
    p_value: float | None
    minus_on: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def chsh_within(products: ArrayLike, *, minus_on: str = "AB") -> ChshWithinResult:
    """CHSH for within-subject data.

    Parameters
    ----------
    products : array-like of +-1, shape (n_respondents, 4)
        x_ic * y_ic, the product of the two outcomes respondent i chose in context c.
    """
    x = np.asarray(products, dtype=float)
    if x.ndim != 2 or x.shape[1] != 4:
        raise DataError(f"products must have shape (n_respondents, 4); got {x.shape}")
    if not np.all(np.isin(x, (-1.0, 1.0))):
        raise DataError("products must be +1 or -1")
    n = x.shape[0]
    if n < 2:
        raise DataError("within-subject analysis needs at least 2 respondents")
    w = np.ones(4)
    w[minus_index(minus_on)] = -1
    s_i = x @ w
    mean = float(s_i.mean())
    sign = 1.0 if mean >= 0 else -1.0
    s_i = sign * s_i
    mean = abs(mean)
    se = float(s_i.std(ddof=1) / math.sqrt(n))
    if se > 0:
        t = (mean - 2) / se
        p = float(stats.t.sf(t, n - 1))
        half = float(stats.t.ppf(0.975, n - 1)) * se
    else:
        t = p = None
        half = 0.0
    return ChshWithinResult(n=n, S=mean, S_se=se, S_ci95=(mean - half, mean + half), t=t, p_value=p, minus_on=minus_on)


def deterministic_strategies() -> list[FloatArray]:
    """Counts tables (one answer per context) of the 16 deterministic local strategies."""
    out = []
    for a, ap, b, bp in itertools.product((1, -1), repeat=4):
        vals = {"A": a, "A'": ap, "B": b, "B'": bp}
        table = np.zeros((4, 2, 2))
        for c, ctx in enumerate(CONTEXTS):
            x = "A'" if ctx.startswith("A'") else "A"
            y = "B'" if ctx.endswith("B'") else "B"
            table[c, 0 if vals[x] == 1 else 1, 0 if vals[y] == 1 else 1] = 1
        out.append(table)
    return out

