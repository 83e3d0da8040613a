"""Contextuality-by-Default for cyclic systems of any rank n, in closed form.

For a cyclic system of rank n with +-1 variables (Kujala, Dzhafarov & Larsson 2015, PRL 115,
150401; proof of the criterion: Kujala & Dzhafarov 2016, Found. Phys. 46, 282; re-analyses of
behavioural data: Dzhafarov, Zhang & Kujala 2016, arXiv:1504.07422; ranks 6 and 8 on human data:
Zhang & Dzhafarov 2016, arXiv:1604.04801):

    E_c    = <R_u^c R_v^c>                      (product expectation of the two contents of c)
    s_odd  = max over sign vectors with an odd number of -1 of  sum_c s_c E_c
    Delta  = sum over contents q of |<R_q^c> - <R_q^c'>|   (c, c' the two contexts of q)
    CNT1   = s_odd - Delta - (n - 2)

and the system is contextual iff CNT1 > 0. ``<X> = 2 P(X = +1) - 1``: Delta is twice the sum of
the probability differences (bell.md section 4.3). Units of CNT1 here are those of expectations
(the issue's and :mod:`probe.analysis.bell.chsh`'s convention); the LP measures of
:mod:`probe.analysis.bell.lp` are in probability units, and for cyclic systems
CNT1_LP = CNT2 = CNT1 / 4 when CNT1 > 0 (tested in ``tests/analysis/bell/test_lp.py``).

s_odd in closed form: sum |x_c| when an odd number of x_c are negative, else
sum |x_c| - 2 min |x_c| (a zero x_c can take either sign; the formula covers it).

Everything is vectorised over leading axes; bootstrap and Dirichlet-posterior summaries sample
all contexts independently (independent samples per context: different people or independent
model calls).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray, Seed
from probe.analysis.bell.system import ContextSystem, check_tables, cycle_order, pairwise_tables
from probe.errors import DataError

SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # product of the two outcomes per cell (++, +-, -+, --)
FIRST = np.array([1.0, 1.0, -1.0, -1.0])  # outcome of the first content per cell
SECOND = np.array([1.0, -1.0, 1.0, -1.0])  # outcome of the second content per cell


def s_odd(x: ArrayLike) -> FloatArray:
    """max over odd sign vectors s of sum_i s_i x_i, over the last axis; shape (...).

    Examples
    --------
    >>> float(s_odd([1, 1, 1, -1]))   # PR box correlators: 4
    4.0
    >>> float(s_odd([1, 1, 1, 1]))    # one sign must flip: 1 + 1 + 1 - 1
    2.0
    """
    x = np.asarray(x, dtype=float)
    total = np.abs(x).sum(axis=-1)
    negatives = (x < 0).sum(axis=-1)
    return np.where(negatives % 2 == 1, total, total - 2 * np.abs(x).min(axis=-1))


def content_links(system: ContextSystem) -> tuple[tuple[int, int, int, int], ...]:
    """For each content q: (context 1, position in it, context 2, position in it)."""
    out = []
    for q in range(len(system.contents)):
        cs = system.contexts_of(q)
        if len(cs) != 2:
            raise DataError(f"content {system.contents[q]} is in {len(cs)} contexts; a cyclic system needs 2")
        c1, c2 = cs
        out.append((c1, system.contexts[c1].index(q), c2, system.contexts[c2].index(q)))
    return tuple(out)


def correlators(p: ArrayLike) -> FloatArray:
    """E_c for (..., n, 4) probabilities (each context renormalised); shape (..., n)."""
    a = np.asarray(p, dtype=float)
    a = a / a.sum(axis=-1, keepdims=True)
    return a @ SIGNS


def marginal_expectations(p: ArrayLike, system: ContextSystem) -> FloatArray:
    """<R_q^c> in each of the two contexts of each content; shape (..., n_contents, 2)."""
    a = np.asarray(p, dtype=float)
    a = a / a.sum(axis=-1, keepdims=True)
    first, second = a @ FIRST, a @ SECOND
    cols = []
    for c1, j1, c2, j2 in content_links(system):
        m1 = (first if j1 == 0 else second)[..., c1]
        m2 = (first if j2 == 0 else second)[..., c2]
        cols.append(np.stack([m1, m2], axis=-1))
    return np.stack(cols, axis=-2)


def delta(p: ArrayLike, system: ContextSystem) -> FloatArray:
    """Delta = sum_q |<R_q^c> - <R_q^c'>|; shape (...)."""
    m = marginal_expectations(p, system)
    return np.abs(m[..., 0] - m[..., 1]).sum(axis=-1)


def cnt1(p: ArrayLike, system: ContextSystem) -> FloatArray:
    """CNT1 = s_odd(E) - Delta - (n - 2), vectorised; positive means contextual."""
    n = system.n_contexts
    return s_odd(correlators(p)) - delta(p, system) - (n - 2)


def check_cyclic(system: ContextSystem) -> None:
    if cycle_order(system) is None:
        raise DataError(f"the system ({', '.join(system.names)}) is not cyclic",
                        hint="every measurement must be in exactly two contexts of two, forming one closed cycle; "
                             "use the general (LP) measures for other systems")


def _ci(x: FloatArray, level: float = 0.95) -> tuple[float, float]:
    lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


@dataclass(frozen=True, slots=True)
class CyclicCbdResult:
    """CbD analysis of a cyclic system of rank n from sampled counts.

    ``cnt1 = s_odd - delta - (n - 2)``; ``contextual`` is the point criterion ``cnt1 > 0``.
    Bootstrap: n_c* ~ Multinomial(N_c, p_hat_c) per context; posterior: p_c ~ Dirichlet(n_c + prior).
    """

    rank: int
    contexts: tuple[str, ...]
    contents: tuple[str, ...]
    n: tuple[int, ...]
    E: tuple[float, ...]
    E_se: tuple[float, ...]
    s_odd: float
    s_odd_ci95_boot: tuple[float, float]
    delta: float
    delta_ci95_boot: tuple[float, float]
    cnt1: float
    cnt1_ci95_boot: tuple[float, float]
    cnt1_ci95_post: tuple[float, float]
    p_cnt1_gt_0_post: float
    contextual: bool
    classical_bound: float
    """n - 2: the bound on s_odd of a consistently connected noncontextual system."""
    marginals: tuple[dict[str, Any], ...]
    deterministic: tuple[str, ...]
    n_boot: int
    n_post: int
    prior: float
    seed: int | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def cbd_cyclic(counts: ArrayLike, system: ContextSystem, *, n_boot: int = 10_000, n_post: int = 10_000,
               prior: float = 1.0, seed: Seed = 0) -> CyclicCbdResult:
    """CbD of a cyclic system of any rank from counts, with bootstrap CIs and a Dirichlet posterior.

    Parameters
    ----------
    counts : array-like of int, shape (n, 4) or (n, 2, 2)
        Answers per context (in ``system`` order) and cell (++, +-, -+, --), the cell's first sign
        being the context's first content.
    system : ContextSystem
        A cyclic system (see :func:`probe.analysis.bell.system.cyclic_system`).
    n_boot, n_post : int
        Bootstrap resamples and posterior draws.
    prior : float, default=1.0
        Dirichlet pseudo-count per cell (1 uniform, 0.5 Jeffreys).
    seed : int or Generator
        Seeds both samplers.

    Returns
    -------
    CyclicCbdResult

    Examples
    --------
    >>> from probe.analysis.bell.system import chsh_system
    >>> r = cbd_cyclic([[0, 50, 50, 0], [50, 0, 0, 50], [50, 0, 0, 50], [50, 0, 0, 50]], chsh_system(),
    ...                n_boot=200, n_post=200)
    >>> r.s_odd, r.delta, r.cnt1       # the PR box: maximally contextual at rank 4
    (4.0, 0.0, 2.0)
    """
    check_cyclic(system)
    table = pairwise_tables(system, check_tables(counts, system))
    if prior <= 0:
        raise DataError(f"prior must be > 0 (1 = uniform, 0.5 = Jeffreys); got {prior}")
    if n_boot < 1 or n_post < 1:
        raise DataError("n_boot and n_post must be >= 1")
    rng = np.random.default_rng(seed)
    nrank = system.n_contexts
    n = table.sum(axis=-1)
    p_hat = table / n[:, None]
    e = correlators(p_hat)
    e_se = np.sqrt(np.clip(1 - e**2, 0, None) / n)
    so = float(s_odd(e))
    d = float(delta(p_hat, system))
    c1 = so - d - (nrank - 2)
    boot = np.stack([rng.multinomial(int(n[c]), p_hat[c], size=n_boot) for c in range(nrank)], axis=1).astype(float)
    so_b, d_b = s_odd(correlators(boot)), delta(boot, system)
    post = np.stack([rng.dirichlet(table[c] + prior, size=n_post) for c in range(nrank)], axis=1)
    c1_post = cnt1(post, system)
    m = marginal_expectations(p_hat, system)
    marg = []
    for q, (c_a, _, c_b, _) in enumerate(content_links(system)):
        marg.append({"content": system.contents[q], "contexts": [system.names[c_a], system.names[c_b]],
                     "p_plus": [(m[q, 0] + 1) / 2, (m[q, 1] + 1) / 2], "difference": (m[q, 0] - m[q, 1]) / 2})
    deterministic = tuple(system.names[c] for c in range(nrank) if abs(abs(e[c]) - 1) < 1e-12)
    warnings = []
    if len(deterministic) == nrank:
        warnings.append("every context is deterministic (E = +-1): such a system is never CbD-contextual")
    if d > 1e-12:
        warnings.append(f"inconsistent connectedness (Delta = {d:.3g}): marginals differ across contexts, so "
                        "s_odd alone is not evidence of contextuality; CNT1 accounts for it")
    return CyclicCbdResult(
        rank=nrank, contexts=system.names, contents=system.contents, n=tuple(int(x) for x in n),
        E=tuple(float(x) for x in e), E_se=tuple(float(x) for x in e_se), s_odd=so, s_odd_ci95_boot=_ci(so_b),
        delta=d, delta_ci95_boot=_ci(d_b), cnt1=c1, cnt1_ci95_boot=_ci(so_b - d_b - (nrank - 2)),
        cnt1_ci95_post=_ci(c1_post), p_cnt1_gt_0_post=float(np.mean(c1_post > 0)), contextual=bool(c1 > 1e-12),
        classical_bound=float(nrank - 2), marginals=tuple(marg), deterministic=deterministic, n_boot=n_boot,
        n_post=n_post, prior=prior, seed=seed if isinstance(seed, int) else None, warnings=tuple(warnings),
    )
