"""The audit: how a design and its estimators behave on respondents that have no contextuality.

Every null respondent answers the user's design with the same N per context; the audit reports the
null distribution of each statistic, the design's own bounds and warnings. Respondents
(``NULL_RESPONDENTS``):

=====================  =======================================================================
``local_deterministic``  one global assignment (every content one fixed value), drawn per run
``local_mixture``        a Dirichlet(1) mixture of all global assignments (a local hidden variable)
``local_boundary``       the mixture of the global assignments on the classical bound of the
                         observed best sign placement, with uniform noise 1 - v (v = 0.9): the
                         classical model that sits closest to a violation
``shuffled``             answers shuffled across contexts: every content answered from its
                         pooled marginal, independently (needs observed counts)
``uniform``              every cell equally likely
``signalling``           direct influences only: each context answered independently from its own
                         observed marginals (or, without data, deterministic answers chosen to
                         make s_odd = n with inconsistent marginals, as in bell.md section 6.4)
``joint``                answers all contents jointly in one trial: a fixed classical mixture of
                         three global assignments (:func:`worst_joint_respondent`), measured in a
                         joint-measurement design and scored with the estimators below
=====================  =======================================================================

Estimators in the literature that do *not* have the classical bound (peers.md, Agostino et al.,
arXiv:2506.10077 and arXiv:2603.20381), run as named alternatives:

* ``joint_raw``: all contents measured in the same trial, E_c = mean of x_u x_v over those trials.
  A single joint sample is a mixture of global assignments, so S_odd <= n - 2 always.
* ``joint_pearson``: the same trials, E_c = Pearson correlation of x_u and x_v. Standardising
  removes the bound: correlation coefficients of jointly distributed variables form an elliptope,
  whose CHSH maximum is 2 sqrt 2 (and n cos(pi/n) for even-rank cycles).
* ``cosine_vectors``: outcomes are vectors and E_c is the mean cosine of the normalised outcome
  vectors. Fixed unit vectors at angles theta_q (classical geometry, no randomness) give
  E = cos(theta_u - theta_v) and reach the same quantum-looking maximum.

Bounds for a cyclic system of rank n (consistently connected): classical s_odd <= n - 2; quantum
s_odd <= n cos(pi/n) for even n and (3 n cos(pi/n) - n) / (1 + cos(pi/n)) for odd n (Araújo,
Quintino, Budroni, Terra Cunha & Cabello 2013, PRA 88, 022118, arXiv:1206.3212; recalled, and
checked here at n = 4: 2 sqrt 2, and n = 5: 4 sqrt 5 - 5, the KCBS value); algebraic n.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray, Seed
from probe.analysis.bell import cyclic, lp
from probe.analysis.bell.system import ContextSystem, check_tables, cycle_order, pairwise_tables
from probe.errors import DataError

NULL_RESPONDENTS = ("local_deterministic", "local_mixture", "local_boundary", "shuffled", "uniform", "signalling",
                    "joint")
ESTIMATORS = ("s_odd", "cnt1", "cf", "joint_raw", "joint_pearson", "cosine_vectors")


def quantum_bound(n: int) -> float:
    """Largest quantum s_odd of a consistently connected cyclic system of rank n (Araújo et al. 2013)."""
    c = math.cos(math.pi / n)
    return n * c if n % 2 == 0 else (3 * n * c - n) / (1 + c)


def _assignments(m: int) -> FloatArray:
    return np.array(list(itertools.product((1.0, -1.0), repeat=m)))


def _tables_from_assignment_weights(w: FloatArray, system: ContextSystem) -> FloatArray:
    """Context tables (n, 4) of a mixture of global assignments with weights w over _assignments(m)."""
    mat = lp.global_incidence(system)
    return (mat @ w).reshape(system.n_contexts, 4)


def _product_tables(plus_u: FloatArray, plus_v: FloatArray) -> FloatArray:
    """(n, 4) tables of independent answers with P(+) = plus_u, plus_v per context."""
    return np.stack([plus_u * plus_v, plus_u * (1 - plus_v), (1 - plus_u) * plus_v, (1 - plus_u) * (1 - plus_v)],
                    axis=-1)


def respondent_tables(name: str, system: ContextSystem, rng: np.random.Generator,
                      observed: FloatArray | None = None, joint_weights: FloatArray | None = None) -> FloatArray:
    """One draw of the null respondent ``name``: its (n, 4) answer distribution for the design."""
    m = len(system.contents)
    n_ctx = system.n_contexts
    if name in ("local_deterministic", "local_mixture", "joint", "local_boundary"):
        k = 2 ** m
        if name == "local_deterministic":
            w = np.zeros(k)
            w[rng.integers(k)] = 1.0
        elif name == "local_mixture":
            w = rng.dirichlet(np.ones(k))
        elif name == "joint":
            w = joint_weights if joint_weights is not None else rng.dirichlet(np.ones(k))
        else:
            signs = np.ones(n_ctx)
            if observed is not None:
                e = cyclic.correlators(observed)
                signs = np.where(e < 0, -1.0, 1.0)
                if np.count_nonzero(signs < 0) % 2 == 0:
                    signs[int(np.argmin(np.abs(e)))] *= -1
            else:
                signs[-1] = -1.0
            a = _assignments(m)
            prods = np.stack([a[:, u] * a[:, v] for u, v in system.contexts], axis=1)
            on_bound = (prods @ signs) >= n_ctx - 2 - 1e-9
            w = on_bound / on_bound.sum() * 0.9 + 0.1 / k
        return _tables_from_assignment_weights(w, system)
    if name == "uniform":
        return np.full((n_ctx, 4), 0.25)
    if name == "shuffled":
        if observed is None:
            raise DataError("the 'shuffled' respondent needs observed counts")
        plus = np.zeros(m)
        total = np.zeros(m)
        for c, (u, v) in enumerate(system.contexts):
            plus[u] += observed[c, 0] + observed[c, 1]
            plus[v] += observed[c, 0] + observed[c, 2]
            total[u] += observed[c].sum()
            total[v] += observed[c].sum()
        pm = plus / total
        return _product_tables(np.array([pm[u] for u, _ in system.contexts]),
                               np.array([pm[v] for _, v in system.contexts]))
    if name == "signalling":
        if observed is not None:
            p = observed / observed.sum(axis=-1, keepdims=True)
            return _product_tables(p[:, 0] + p[:, 1], p[:, 0] + p[:, 2])
        # deterministic answers alternating (+,+), (-,-) around the cycle, the last context (+,-) or (-,+):
        # products (+1, ..., +1, -1) give s_odd = n, and every shared content flips: CNT1 << 0
        tables = np.zeros((n_ctx, 4))
        order = cycle_order(system) or tuple(range(n_ctx))
        for step, c in enumerate(order):
            tables[c, 0 if step % 2 == 0 else 3] = 1.0
        last = order[-1]
        tables[last] = [0.0, 1.0, 0.0, 0.0] if len(order) % 2 == 1 else [0.0, 0.0, 1.0, 0.0]
        return tables
    raise DataError(f"unknown null respondent {name!r}", hint=f"use one of {', '.join(NULL_RESPONDENTS)}")


def _pearson_s_odd(w: FloatArray, a: FloatArray, system: ContextSystem) -> float:
    m = w @ a
    out = []
    for u, v in system.contexts:
        var = (1 - m[u] ** 2) * (1 - m[v] ** 2)
        out.append((w @ (a[:, u] * a[:, v]) - m[u] * m[v]) / math.sqrt(var) if var > 1e-12 else 0.0)
    return float(cyclic.s_odd(np.array(out)))


def worst_joint_respondent(system: ContextSystem, rng: np.random.Generator, *, tries: int = 3000) -> FloatArray:
    """A classical joint respondent chosen to inflate the Pearson estimator.

    Uniform mixtures of three global assignments, the one (of ``tries`` random triples) with the
    largest population Pearson s_odd. At rank 4 this finds Pearson s_odd = 2.5 > 2 from three
    deterministic strategies, e.g. (A, A', B, B') = (+,+,-,-), (+,-,-,+), (-,+,+,+).
    """
    a = _assignments(len(system.contents))
    best, best_w = -1.0, np.full(len(a), 1.0 / len(a))
    for _ in range(tries):
        w = np.zeros(len(a))
        w[rng.choice(len(a), size=3, replace=False)] = 1.0 / 3
        value = _pearson_s_odd(w, a, system)
        if value > best:
            best, best_w = value, w
    return best_w


def _joint_estimators(w: FloatArray, system: ContextSystem, n_trials: int, rng: np.random.Generator) -> tuple[float, float]:
    """(s_odd raw, s_odd Pearson) of a joint-measurement design: all contents in each of n_trials."""
    a = _assignments(len(system.contents))
    draws = a[rng.choice(len(a), size=n_trials, p=w / w.sum())]
    raw, pearson = [], []
    for u, v in system.contexts:
        x, y = draws[:, u], draws[:, v]
        raw.append(float(np.mean(x * y)))
        sx, sy = x.std(), y.std()
        pearson.append(float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy)) if sx > 0 and sy > 0 else 0.0)
    return float(cyclic.s_odd(np.array(raw))), float(cyclic.s_odd(np.array(pearson)))


def _cosine_estimator(system: ContextSystem, n_trials: int, rng: np.random.Generator, noise: float = 0.05) -> float:
    """s_odd of mean cosines of normalised 2-d outcome vectors at chained-Bell angles plus noise."""
    n = system.n_contexts
    # walk the cycle putting consecutive contents pi/n apart: the geometry of the chained-Bell optimum
    angles = np.zeros(len(system.contents))
    order = cycle_order(system) or tuple(range(n))
    first = system.contexts[order[0]]
    q = first[0] if first[1] in system.contexts[order[1]] else first[1]
    for step, c in enumerate(order):
        angles[q] = step * math.pi / n
        u, v = system.contexts[c]
        q = v if u == q else u
    cos = []
    for u, v in system.contexts:
        tu = angles[u] + noise * rng.standard_normal(n_trials)
        tv = angles[v] + noise * rng.standard_normal(n_trials)
        cos.append(float(np.mean(np.cos(tu - tv))))
    return float(cyclic.s_odd(np.array(cos)))


@dataclass(frozen=True, slots=True)
class NullDistribution:
    """Summary of one statistic under one null respondent."""

    respondent: str
    statistic: str
    values: FloatArray
    q025: float
    q50: float
    q975: float
    maximum: float
    p_at_least_observed: float | None
    fraction_above_classical: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable({k: getattr(self, k) for k in ("respondent", "statistic", "q025", "q50", "q975", "maximum",
                                                        "p_at_least_observed", "fraction_above_classical")})


@dataclass(frozen=True, slots=True)
class AuditResult:
    """The audit of a design: null distributions per respondent and statistic, bounds, warnings."""

    rank: int
    n_per_context: tuple[int, ...]
    observed: dict[str, float]
    bounds: dict[str, float]
    nulls: tuple[NullDistribution, ...]
    n_sims: int
    seed: int | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"rank": self.rank, "n_per_context": self.n_per_context, "observed": self.observed,
                         "bounds": self.bounds, "nulls": [d.to_dict() for d in self.nulls], "n_sims": self.n_sims,
                         "seed": self.seed, "warnings": self.warnings})

    def values(self, respondent: str, statistic: str) -> FloatArray:
        for d in self.nulls:
            if d.respondent == respondent and d.statistic == statistic:
                return d.values
        raise KeyError((respondent, statistic))


def audit(system: ContextSystem, *, counts: ArrayLike | None = None, n_per_context: int | ArrayLike | None = None,
          respondents: tuple[str, ...] = NULL_RESPONDENTS, n_sims: int = 500, n_cf: int = 200,
          seed: Seed = 0) -> AuditResult:
    """Run null respondents through a cyclic design with the same N and summarise the estimators.

    Parameters
    ----------
    system : ContextSystem
        A cyclic system (the design's structure).
    counts : array-like, shape (n, 4), optional
        The observed counts: give N per context, the observed statistics, and the data-driven nulls
        (``shuffled``, ``signalling``, ``local_boundary``).
    n_per_context : int or array-like, optional
        N per context when no counts are given.
    respondents : tuple of str
        Which null respondents to run (see ``NULL_RESPONDENTS``).
    n_sims : int, default=500
        Simulated studies per respondent.
    n_cf : int, default=200
        Of those, how many also get the contextual fraction (one LP each, batched).
    seed : int or Generator

    Returns
    -------
    AuditResult
    """
    cyclic.check_cyclic(system)
    rng = np.random.default_rng(seed)
    rank = system.n_contexts
    observed_tables = None
    if counts is not None:
        observed_tables = pairwise_tables(system, check_tables(counts, system))
        n = observed_tables.sum(axis=-1)
    elif n_per_context is not None:
        n = np.broadcast_to(np.asarray(n_per_context, dtype=float), (rank,)).copy()
    else:
        raise DataError("audit needs observed counts or n_per_context")
    if np.any(n < 1) or np.any(n != np.round(n)):
        raise DataError("n_per_context must be whole numbers >= 1")
    if n_sims < 10:
        raise DataError(f"n_sims must be >= 10; got {n_sims}")
    bounds = {"classical_s_odd": float(rank - 2), "quantum_s_odd": quantum_bound(rank), "algebraic_s_odd": float(rank),
              "classical_cnt1": 0.0, "classical_cf": 0.0}
    obs: dict[str, float] = {}
    if observed_tables is not None:
        p_hat = observed_tables / n[:, None]
        obs = {"s_odd": float(cyclic.s_odd(cyclic.correlators(p_hat))), "cnt1": float(cyclic.cnt1(p_hat, system)),
               "cf": lp.contextual_fraction(list(p_hat), system).value}
    nulls: list[NullDistribution] = []
    n_cf = min(n_cf, n_sims)
    joint_w = worst_joint_respondent(system, rng) if "joint" in respondents else None
    for name in respondents:
        if name == "shuffled" and observed_tables is None:
            continue
        s_vals, c_vals, cf_rows = np.empty(n_sims), np.empty(n_sims), []
        raw, pearson, cosv = [], [], []
        for i in range(n_sims):
            tables = respondent_tables(name, system, rng, observed_tables, joint_w)
            tables = np.clip(tables, 0, None)
            tables = tables / tables.sum(axis=-1, keepdims=True)
            draw = np.stack([rng.multinomial(int(n[c]), tables[c]) for c in range(rank)]).astype(float)
            p = draw / n[:, None]
            s_vals[i] = cyclic.s_odd(cyclic.correlators(p))
            c_vals[i] = cyclic.cnt1(p, system)
            if i < n_cf:
                cf_rows.append(p.ravel())
            if name == "joint":
                r, pe = _joint_estimators(joint_w, system, int(n.min()), rng)
                raw.append(r)
                pearson.append(pe)
                cosv.append(_cosine_estimator(system, int(n.min()), rng))
        per_stat = {"s_odd": (s_vals, bounds["classical_s_odd"]), "cnt1": (c_vals, 0.0),
                    "cf": (lp.contextual_fraction_batch(np.array(cf_rows), system), 0.0)}
        if name == "joint":
            per_stat.update(joint_raw=(np.array(raw), bounds["classical_s_odd"]),
                            joint_pearson=(np.array(pearson), bounds["classical_s_odd"]),
                            cosine_vectors=(np.array(cosv), bounds["classical_s_odd"]))
        for stat, (vals, bound) in per_stat.items():
            q = np.quantile(vals, [0.025, 0.5, 0.975])
            ref = obs.get(stat)
            nulls.append(NullDistribution(
                respondent=name, statistic=stat, values=vals, q025=float(q[0]), q50=float(q[1]), q975=float(q[2]),
                maximum=float(vals.max()),
                p_at_least_observed=None if ref is None else float(np.mean(vals >= ref - 1e-12)),
                fraction_above_classical=float(np.mean(vals > bound + 1e-9))))
    warnings = _audit_warnings(obs, nulls, bounds)
    return AuditResult(rank=rank, n_per_context=tuple(int(x) for x in n), observed=obs, bounds=bounds,
                       nulls=tuple(nulls), n_sims=n_sims, seed=seed if isinstance(seed, int) else None,
                       warnings=tuple(warnings))


def _audit_warnings(obs: dict[str, float], nulls: list[NullDistribution], bounds: dict[str, float]) -> list[str]:
    out = []
    s = obs.get("s_odd")
    if s is not None:
        inside = sorted({d.respondent for d in nulls if d.statistic == "s_odd" and s <= d.q975 + 1e-12})
        if inside:
            out.append(f"observed S_odd = {s:.3f} lies inside the 95% null range of: {', '.join(inside)}")
        if s > bounds["quantum_s_odd"] + 1e-9:
            out.append(f"S_odd = {s:.3f} exceeds the quantum bound {bounds['quantum_s_odd']:.3f}: no quantum system "
                       "reaches it; it signals inconsistent marginals (signalling) or an estimator artefact")
    for d in nulls:
        if d.statistic == "cf" and d.fraction_above_classical > 0.05:
            out.append(f"CF > 0 for the noncontextual respondent '{d.respondent}' in {100 * d.fraction_above_classical:.0f}% "
                       "of runs: sampling noise makes finite-sample marginals inconsistent, which CF counts as "
                       "contextual; compare an observed CF with this null distribution, not with 0")
            break
    for d in nulls:
        if d.statistic in ("joint_pearson", "cosine_vectors") and d.fraction_above_classical > 0.05:
            out.append(f"estimator {d.statistic} exceeds the classical bound on null respondent '{d.respondent}' in "
                       f"{100 * d.fraction_above_classical:.0f}% of runs: it has no classical bound")
        if d.statistic == "s_odd" and d.respondent.startswith("local") and d.fraction_above_classical > 0.05:
            out.append(f"with this N, S_odd exceeds {bounds['classical_s_odd']:g} for the classical respondent "
                       f"'{d.respondent}' in {100 * d.fraction_above_classical:.0f}% of runs: read the honest p-value, "
                       "not S_odd > bound")
    return out
