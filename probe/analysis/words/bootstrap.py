"""Bootstrap confidence intervals for the A and B of a BE or MB fit.

Two resampling schemes (``kind``):

``parametric`` (default)
    Simulate each word's count from the fitted law on its level (geometric with mean
    N(E) for BE, Poisson for MB), re-rank the simulated counts exactly as the data were
    ranked (dropping zeros), refit with the same method. This reproduces both the
    sampling noise of the model and the rank-estimation bias (ranking words by the same
    counts that are then fitted pushes B up; Piantadosi 2014).
``tokens``
    Resample the N tokens multinomially from the observed word frequencies, re-rank,
    refit. Nonparametric, but it treats tokens as independent, so with bursty text it
    understates the spread.

Intervals (``ci``) are computed on the log scale of ``A - 1`` (BE with ground level 0,
where A > 1), of ``A`` otherwise, and of ``B``. ``basic`` (default) reflects the
bootstrap quantiles about the estimate, ``[2g - q_hi, 2g - q_lo]``, which removes the
first-order bias that re-ranking adds; ``percentile`` uses ``[q_lo, q_hi]``.

References
----------
Efron & Tibshirani (1993), An Introduction to the Bootstrap, ch. 13 (basic and percentile
intervals). Piantadosi (2014), Psychon. Bull. Rev. 21:1112 (rank-frequency estimation bias).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np

from probe._types import Seed
from probe.analysis.words.fits import Levels, OccupationFit
from probe.analysis.words.solvers import inner, newton_from_stats, solve_alpha_beta
from probe.errors import ConfigError

Kind = Literal["parametric", "tokens"]
CiKind = Literal["basic", "percentile"]


def with_bootstrap(levels: Levels, fit: OccupationFit, *, n_resamples: int = 1000, kind: Kind = "parametric",
                   ci: CiKind = "basic", level: float = 0.95, rng: Seed = None, batch: int = 50,
                   jobs: int = 2) -> OccupationFit:
    """Return ``fit`` with bootstrap intervals ``A_ci95``, ``B_ci95`` and a ``bootstrap`` summary.

    Parameters
    ----------
    levels : Levels
        The levels ``fit`` was made on.
    fit : OccupationFit
        A converged fit; an unconverged one is returned unchanged.
    n_resamples : int
        Bootstrap replicates (1000 default; 0 = none).
    kind : {"parametric", "tokens"}
    ci : {"basic", "percentile"}
    level : float
        Coverage of the interval (0.95 default; the field names keep "ci95").
    rng : int, Generator or None
        Seed; the only source of randomness.
    batch : int
        Replicates simulated at once (memory ``batch * n_words * 8`` bytes).
    jobs : int
        Threads working on batches (default 2); the result does not depend on it.

    Returns
    -------
    OccupationFit
        ``bootstrap`` holds kind, ci, n_resamples, n_failed, bias of ln B and of the A scale.
    """
    if kind not in ("parametric", "tokens"):
        raise ConfigError(f"bootstrap kind {kind!r} is not 'parametric' or 'tokens'")
    if ci not in ("basic", "percentile"):
        raise ConfigError(f"bootstrap ci {ci!r} is not 'basic' or 'percentile'")
    if not fit.converged or n_resamples <= 0:
        return fit
    gen = np.random.default_rng(rng)
    words_e = np.repeat(levels.energy, levels.weight.astype(np.int64))
    words_n = np.repeat(levels.counts, levels.weight.astype(np.int64))
    if kind == "parametric" and levels.ties != "given":
        words_e = _latent_levels(fit, levels)
    start = (float(np.log(fit.A)), 1.0 / fit.B)
    fast = levels.ties == "ordinal" and fit.method == "constraint"

    def one_batch(child: np.random.Generator, size: int) -> list[tuple[float, float] | None]:
        out: list[tuple[float, float] | None] = []
        begin = start  # warm start from the last replicate: replicates sit closer to each other than to the fit
        for row in _simulate(child, kind, fit, words_e, words_n, size):
            if fast:  # only (V, N, E_tot) matter: no Levels, no sorting
                V, N, Et, top = _ordinal_stats(row, levels.first_level)
                e = levels.first_level + np.arange(V, dtype=np.float64)
                ok = V >= 3
                if ok:
                    alpha, beta, ok, _, _ = newton_from_stats(e, None, N, Et, top, fit.model, tol=1e-9,
                                                              max_iter=60, start=begin)
            else:
                lv = _relevel(row, words_e, levels)
                ok = lv.energy.size >= 3
                if ok:
                    alpha, beta, ok, _, _ = solve_alpha_beta(lv, fit.model, fit.method, tol=1e-9, max_iter=60,
                                                             start=begin)
            out.append((alpha, beta) if ok and beta > 0 else None)
            if ok and beta > 0:
                begin = (alpha, beta)
        return out

    # One child generator per batch, results gathered in batch order: the same draws
    # whatever the number of threads (numpy releases the GIL in its array work).
    sizes = [min(batch, n_resamples - i) for i in range(0, n_resamples, batch)]
    children = gen.spawn(len(sizes))
    if jobs > 1 and len(sizes) > 1:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="probe-bootstrap") as pool:
            results = list(pool.map(one_batch, children, sizes))
    else:
        results = [one_batch(c, n) for c, n in zip(children, sizes, strict=True)]
    flat = [d for r in results for d in r]
    draws = [d for d in flat if d is not None]
    n_failed = len(flat) - len(draws)
    if len(draws) < max(10, n_resamples // 2):
        return dataclasses.replace(fit, bootstrap={"kind": kind, "ci": ci, "n_resamples": n_resamples,
                                                   "n_failed": n_failed, "error": "too many failed refits"})
    ab = np.array(draws)
    A_s, B_s = np.exp(ab[:, 0]), 1.0 / ab[:, 1]
    shift_a = 1.0 if (fit.model == "be" and levels.first_level == 0) else 0.0
    a_ci = _interval(np.log(A_s - shift_a), np.log(fit.A - shift_a), ci, level)
    b_ci = _interval(np.log(B_s), np.log(fit.B), ci, level)
    summary = {
        "kind": kind, "ci": ci, "level": level, "n_resamples": n_resamples, "n_failed": n_failed,
        "A_scale": "log(A-1)" if shift_a else "log(A)",
        "A_scale_bias": float(np.mean(np.log(A_s - shift_a)) - np.log(fit.A - shift_a)),
        "A_scale_se": float(np.std(np.log(A_s - shift_a), ddof=1)),
        "log_B_bias": float(np.mean(np.log(B_s)) - np.log(fit.B)),
        "log_B_se": float(np.std(np.log(B_s), ddof=1)),
        "B_median": float(np.median(B_s)),
    }
    return dataclasses.replace(fit, A_ci95=(float(np.exp(a_ci[0]) + shift_a), float(np.exp(a_ci[1]) + shift_a)),
                               B_ci95=(float(np.exp(b_ci[0])), float(np.exp(b_ci[1]))), bootstrap=summary)


def _interval(samples: np.ndarray, estimate: float, ci: str, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    if ci == "percentile":
        return float(lo), float(hi)
    return float(2 * estimate - hi), float(2 * estimate - lo)


def _latent_levels(fit: OccupationFit, levels: Levels) -> np.ndarray:
    """Word energies of the simulated world: as many levels as it takes for the fitted law to
    give, on average, the observed number of distinct words (levels with zero count are
    unobserved in a text, so the fitted model has more levels than the text has words).
    Capped at 3 times the observed number, which keeps a 1000-replicate bootstrap of a
    million-token text within seconds."""
    observed = levels.n_types
    e = levels.first_level + np.arange(3 * observed, dtype=np.float64)
    mean = fit.predict(e)
    seen = mean / (1.0 + mean) if fit.model == "be" else -np.expm1(-mean)  # P(count > 0)
    enough = np.searchsorted(np.cumsum(seen), observed)
    return e[: max(int(enough) + 1, observed)]


def _simulate(gen: np.random.Generator, kind: str, fit: OccupationFit, words_e: np.ndarray,
              words_n: np.ndarray, size: int) -> np.ndarray:
    if kind == "tokens":
        n_tokens = round(words_n.sum())
        return gen.multinomial(n_tokens, words_n / words_n.sum(), size=size)
    mean = fit.predict(words_e)
    if fit.model == "be":  # numpy's geometric counts trials (>= 1); occupation = failures before success
        return gen.geometric(1.0 / (1.0 + mean), size=(size, mean.size)) - 1
    return gen.poisson(mean, size=(size, mean.size))


def _histogram(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct non-zero counts in decreasing order, words per count, and each block's first rank."""
    hist = np.bincount(counts.astype(np.int64))
    values = np.flatnonzero(hist)[::-1]
    values = values[values > 0]
    size = hist[values].astype(np.float64)
    start = np.concatenate([[0.0], np.cumsum(size)[:-1]])
    return values.astype(np.float64), size, start


def _ordinal_stats(counts: np.ndarray, first_level: int) -> tuple[int, float, float, float]:
    """(V, N, E_tot, top count) of counts ranked with ``E = first_level + rank``, via a histogram."""
    values, size, start = _histogram(counts)
    if values.size == 0:
        return 0, 0.0, 0.0, 0.0
    N = float(inner(values, size))
    rank_sum = size * start + size * (size - 1) / 2.0  # sum of the ranks a block of tied words occupies
    return int(size.sum()), N, first_level * N + float(inner(values, rank_sum)), float(values[0])


def _relevel(counts: np.ndarray, words_e: np.ndarray, levels: Levels) -> Levels:
    """Levels of simulated counts, made the way ``levels`` was made (re-ranked unless energies were given)."""
    if levels.ties == "given":
        n = counts.astype(np.float64)
        return Levels(words_e, n, np.ones_like(n), "given", levels.first_level)
    values, size, start = _histogram(counts)
    if levels.ties == "ordinal":
        n = np.repeat(values, size.astype(np.int64))
        return Levels(levels.first_level + np.arange(n.size, dtype=np.float64), n, np.ones_like(n), "ordinal",
                      levels.first_level)
    energy = start + (size - 1) / 2.0 if levels.ties == "average" else np.arange(values.size, dtype=np.float64)
    return Levels(levels.first_level + energy, values, size, levels.ties, levels.first_level)
