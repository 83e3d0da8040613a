"""Paired comparisons of two models scored on the same folds, seeds or runs.

Everything here is pure: arrays in, frozen results out. The tests a referee asks
for when model A is claimed to beat model B on n paired scores:

- :func:`wilcoxon_signed_rank`: exact null for small n (also with tied ranks),
  one- or two-sided, and the smallest p-value the design can reach;
- :func:`sign_test`, :func:`paired_t`;
- :func:`effect_size`: Cohen's d_z with a noncentral-t CI, Hedges' g_z, and d_av;
- :func:`corrected_resampled_t`: Nadeau & Bengio's correction for the overlap of
  training sets in (repeated) k-fold cross-validation;
- :func:`holm`: Holm's step-down adjustment over many comparisons;
- :func:`paired_t_power`, :func:`required_pairs`, :func:`min_pairs_wilcoxon` (from
  :mod:`probe.analysis.sample_size`): how many pairs a claimed effect needs;
- :func:`paired_compare`: all of the above in one :class:`PairedComparison`.

Why p = 0.03125 (= 1/32) keeps appearing with five runs: under the null every
sign pattern of the n non-zero differences has probability 1/2^n. The most
extreme one-sided outcome (all five differences favour A, W+ = 15) therefore has
p = 1/2^5 = 0.03125, the smallest p-value five pairs can produce. It means "A won
all five runs" and nothing more; the two-sided floor is 2/32 = 0.0625, so five
pairs can never give two-sided p < 0.05, and a single tie (dropped) leaves four
pairs with a one-sided floor of 0.0625.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, special, stats

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray
from probe.analysis.cross_validation import corrected_variance_factor
from probe.analysis.multiple_comparisons import holm
from probe.analysis.sample_size import min_pairs_wilcoxon, paired_t_power, required_pairs
from probe.errors import DataError

Alternative = Literal["two-sided", "greater", "less"]
_ALTERNATIVES = ("two-sided", "greater", "less")
_EXACT_MAX_N = 200  # the exact DP costs O(n^3); beyond this the normal approximation is excellent


# --------------------------------------------------------------------------- checks


__all__ = ["Alternative", "EffectSize", "PairedComparison", "TestResult", "comparisons_frame", "corrected_resampled_t",
           "effect_size", "hedges_correction", "holm", "min_pairs_wilcoxon", "pair_scores", "paired_compare",
           "paired_t", "paired_t_power", "required_pairs", "sign_test", "wilcoxon_signed_rank"]


def _check_alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise DataError(f"alternative must be one of {', '.join(_ALTERNATIVES)}, got {alternative!r}")
    return alternative


def _check_pairs(a: ArrayLike, b: ArrayLike | None, *, min_n: int = 1) -> FloatArray:
    """Paired differences a - b as a clean float vector (b None: a already holds differences)."""
    x = np.asarray(a, dtype=np.float64)
    if x.ndim != 1:
        raise DataError(f"paired scores must be 1-D, got shape {x.shape}")
    if b is not None:
        y = np.asarray(b, dtype=np.float64)
        if y.shape != x.shape:
            raise DataError(f"paired scores need equal lengths, got {x.shape[0]} and {y.shape[0]}",
                            hint="pair each fold/seed of model A with the same fold/seed of model B")
        x = x - y
    if not np.all(np.isfinite(x)):
        raise DataError("paired scores contain NaN or infinite values", hint="drop failed runs from both models")
    if x.size < min_n:
        raise DataError(f"need at least {min_n} pairs, got {x.size}")
    return x


def _check_probability(value: float, name: str) -> float:
    if not 0.0 < value < 1.0:
        raise DataError(f"{name} must lie strictly between 0 and 1, got {value}")
    return float(value)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class TestResult:
    """One hypothesis test on paired scores.

    ``statistic`` is W+ (Wilcoxon), the number of positive differences (sign
    test) or t (t-tests); ``df`` is NaN where it does not apply.
    """

    test: str
    statistic: float
    p_value: float
    alternative: str
    n: int
    df: float = math.nan
    method: str = ""
    min_attainable_p: float = 0.0
    """Smallest p-value this test can return with these n pairs (0 for continuous tests)."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True, slots=True)
class EffectSize:
    """Standardised mean difference of paired scores.

    d_z = mean(d) / sd(d) (paired, "Cohen's d_z"); g_z = J(n-1) d_z (Hedges);
    d_av = (mean(a) - mean(b)) / sqrt((sd(a)^2 + sd(b)^2) / 2) (Cumming 2012;
    what pingouin calls paired Cohen's d). The CI is for d_z, from the
    noncentral t distribution of t = d_z sqrt(n).
    """

    d_z: float
    g_z: float
    d_av: float
    ci_low: float
    ci_high: float
    confidence: float
    n: int
    mean_difference: float
    sd_difference: float
    method: str = "noncentral-t"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Every paired test of "A vs B" on n paired scores, with effect size and power."""

    name_a: str
    name_b: str
    n: int
    alternative: str
    alpha: float
    mean_a: float
    mean_b: float
    effect: EffectSize
    tests: tuple[TestResult, ...]
    pairs_for_power: int | None
    """Pairs a paired t-test needs for ``power`` at ``alpha`` if the true d_z equals the observed one."""
    power: float
    min_pairs_wilcoxon: int
    """Pairs the exact Wilcoxon test needs before p < alpha is attainable at all."""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        """One row per test: test, statistic, df, p_value, alternative, n, method, min_attainable_p."""
        import pandas as pd

        rows = [{"a": self.name_a, "b": self.name_b, **t.to_dict()} for t in self.tests]
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------- Wilcoxon


def _signed_rank_null(ranks2: np.ndarray) -> np.ndarray:
    """P(2 W+ = s) for s = 0..sum(ranks2) under random signs; ranks2 are doubled ranks (integers).

    Dynamic programme over the ranks: each one joins W+ with probability 1/2.
    Exact also with tied (mid-)ranks, which is the conditional permutation null.
    """
    total = int(ranks2.sum())
    dist = np.zeros(total + 1)
    dist[0] = 1.0
    top = 0
    for r in ranks2.astype(np.int64):
        shifted = np.zeros_like(dist)
        shifted[r : top + r + 1] = dist[: top + 1]
        dist = 0.5 * (dist + shifted)
        top += r
    return dist


def wilcoxon_signed_rank(
    a: ArrayLike, b: ArrayLike | None = None, *, alternative: Alternative = "two-sided",
    method: Literal["auto", "exact", "normal"] = "auto",
) -> TestResult:
    """Wilcoxon signed-rank test of paired differences d = a - b.

    Parameters
    ----------
    a, b : array-like, shape (n,)
        Paired scores (b None: ``a`` holds the differences).
    alternative : {"two-sided", "greater", "less"}
        "greater": the differences tend to be positive (A better than B when
        higher is better).
    method : {"auto", "exact", "normal"}
        "exact" enumerates the sign-flip null (with mid-ranks when |d| ties),
        "normal" uses the tie-corrected normal approximation without continuity
        correction; "auto" is exact up to 200 non-zero differences.

    Returns
    -------
    TestResult
        statistic = W+ (sum of ranks of positive differences); n = non-zero
        differences used; ``min_attainable_p`` = 1/2^n one-sided, 2/2^n two-sided
        for the exact test.

    Notes
    -----
    Zero differences are dropped before ranking (Wilcoxon's convention and
    scipy's default ``zero_method="wilcox"``). The exact p is
    P(W+ >= w) ("greater"), P(W+ <= w) ("less"), or min(1, 2 min(...)).
    With all n differences positive, the one-sided p is exactly 1/2^n
    (n = 5: 1/32 = 0.03125).

    References
    ----------
    Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin 1, 80-83.

    Examples
    --------
    >>> wilcoxon_signed_rank([0.90, 0.88, 0.91, 0.87, 0.89], [0.88, 0.85, 0.90, 0.84, 0.87],
    ...                      alternative="greater").p_value
    0.03125
    """
    _check_alternative(alternative)
    d = _check_pairs(a, b)
    d = d[d != 0.0]
    n = int(d.size)
    if n == 0:
        raise DataError("all paired differences are zero: the Wilcoxon test is undefined",
                        hint="the two models scored identically on every pair")
    ranks = stats.rankdata(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    use_exact = method == "exact" or (method == "auto" and n <= _EXACT_MAX_N)
    if use_exact:
        dist = _signed_rank_null(np.rint(2 * ranks).astype(np.int64))
        w2 = round(2 * w_plus)
        p_ge, p_le = float(dist[w2:].sum()), float(dist[: w2 + 1].sum())
        floor_one = 0.5**n
        how = "exact" if np.unique(ranks).size == n else "exact (mid-ranks for ties)"
    else:
        mean = n * (n + 1) / 4
        _, counts = np.unique(ranks, return_counts=True)
        var = n * (n + 1) * (2 * n + 1) / 24 - float((counts**3 - counts).sum()) / 48
        z = (w_plus - mean) / math.sqrt(var)
        p_ge, p_le = float(stats.norm.sf(z)), float(stats.norm.cdf(z))
        floor_one = 0.0
        how = "normal approximation"
    p = {"greater": p_ge, "less": p_le, "two-sided": min(1.0, 2 * min(p_ge, p_le))}[alternative]
    floor = floor_one * (2 if alternative == "two-sided" else 1)
    return TestResult("wilcoxon", w_plus, min(p, 1.0), alternative, n, method=how, min_attainable_p=floor)


def sign_test(a: ArrayLike, b: ArrayLike | None = None, *, alternative: Alternative = "two-sided") -> TestResult:
    """Exact binomial sign test: number of positive differences among the non-zero ones.

    Examples
    --------
    >>> sign_test([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], alternative="greater").p_value
    0.03125
    """
    _check_alternative(alternative)
    d = _check_pairs(a, b)
    d = d[d != 0.0]
    if d.size == 0:
        raise DataError("all paired differences are zero: the sign test is undefined")
    k = int((d > 0).sum())
    res = stats.binomtest(k, int(d.size), 0.5, alternative=alternative)
    floor = 0.5 ** d.size * (2 if alternative == "two-sided" else 1)
    return TestResult("sign", float(k), float(res.pvalue), alternative, int(d.size), method="exact binomial",
                      min_attainable_p=floor)


# --------------------------------------------------------------------------- t-tests


def _t_p(t: float, df: float, alternative: str) -> float:
    if alternative == "greater":
        return float(stats.t.sf(t, df))
    if alternative == "less":
        return float(stats.t.cdf(t, df))
    return float(min(1.0, 2 * stats.t.sf(abs(t), df)))


def paired_t(a: ArrayLike, b: ArrayLike | None = None, *, alternative: Alternative = "two-sided") -> TestResult:
    """Student's paired t-test: t = mean(d) / (sd(d) / sqrt(n)), df = n - 1.

    Examples
    --------
    >>> round(paired_t([2.0, 4.0, 6.0], [1.0, 2.0, 3.0]).statistic, 6)
    3.464102
    """
    _check_alternative(alternative)
    d = _check_pairs(a, b, min_n=2)
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        raise DataError("paired differences have zero variance: the t-test is undefined",
                        hint="use the Wilcoxon or sign test, or report the constant difference")
    t = float(d.mean() / (sd / math.sqrt(d.size)))
    return TestResult("paired-t", t, _t_p(t, d.size - 1, alternative), alternative, int(d.size),
                      df=float(d.size - 1), method="Student")


def corrected_resampled_t(
    differences: ArrayLike, *, n_train: int, n_test: int, alternative: Alternative = "two-sided",
) -> TestResult:
    """Nadeau-Bengio corrected resampled t-test for (repeated) k-fold cross-validation.

    Parameters
    ----------
    differences : array-like, shape (J,)
        Score differences A - B, one per train/test split (J = k folds x r repeats).
    n_train, n_test : int
        Sizes of each training and test set (samples).
    alternative : {"two-sided", "greater", "less"}

    Notes
    -----
    The splits share training data, so the J differences are positively
    correlated and the naive variance s^2/J is too small. The corrected statistic
    (the factor is :func:`probe.analysis.cross_validation.corrected_variance_factor`) is

        t = mean(d) / sqrt((1/J + n_test/n_train) s^2),   df = J - 1

    (Nadeau & Bengio 2003, eq. for the "corrected resampled t"; applied to
    repeated k-fold by Bouckaert & Frank 2004). With n_test/n_train -> 0 it is the
    one-sample t-test of the differences.

    References
    ----------
    Nadeau, C. & Bengio, Y. (2003). Inference for the generalization error.
    Machine Learning 52, 239-281. Bouckaert, R. R. & Frank, E. (2004). Evaluating
    the replicability of significance tests for comparing learning algorithms. PAKDD, 3-12.
    """
    _check_alternative(alternative)
    d = _check_pairs(differences, None, min_n=2)
    if n_train < 1 or n_test < 1:
        raise DataError(f"n_train and n_test must be positive, got {n_train} and {n_test}")
    var = float(d.var(ddof=1))
    if var == 0.0:
        raise DataError("paired differences have zero variance: the corrected t-test is undefined")
    j = d.size
    t = float(d.mean() / math.sqrt(corrected_variance_factor(j, n_train=n_train, n_test=n_test) * var))
    return TestResult("corrected-resampled-t", t, _t_p(t, j - 1, alternative), alternative, int(j),
                      df=float(j - 1), method=f"Nadeau-Bengio, n_test/n_train = {n_test}/{n_train}")


# --------------------------------------------------------------------------- effect size


def hedges_correction(df: float) -> float:
    """Exact small-sample bias factor J(df) = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2)).

    Close to the usual approximation 1 - 3/(4 df - 1) (Hedges 1981); df = n - 1 for d_z.

    Examples
    --------
    >>> round(hedges_correction(4), 4)
    0.7979
    """
    if df <= 1:
        return math.nan
    return float(math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2))


def _nct_ci(t: float, df: float, confidence: float) -> tuple[float, float]:
    """Noncentrality parameters whose nct puts t at the upper / lower (1 - confidence)/2 tail."""
    tail = (1 - confidence) / 2
    if not math.isfinite(t):
        return (t, t)

    def approx(target: float) -> float:
        # Large-ncp normal approximation of nct (Johnson & Welch 1940): mean ≈ ncp, var ≈ 1 + ncp²/(2 df).
        # scipy's nct.cdf returns NaN far in the tails (|t| in the tens), where this is accurate.
        z = float(stats.norm.ppf(1 - target))
        a = 1 - z * z / (2 * df)
        disc = max(t * t - a * (t * t - z * z), 0.0)
        return float((t + math.copysign(1.0, z) * math.sqrt(disc) * 1.0) / a) if a > 0 else t

    def root(target: float) -> float:
        f = lambda ncp: float(stats.nct.cdf(t, df, ncp)) - target  # noqa: E731 - local root function
        lo, hi = t - 10.0, t + 10.0
        for _ in range(100):
            if not math.isfinite(f(lo)) or f(lo) >= 0:
                break
            lo -= 10.0
        for _ in range(100):
            if not math.isfinite(f(hi)) or f(hi) <= 0:
                break
            hi += 10.0
        flo, fhi = f(lo), f(hi)
        if not (math.isfinite(flo) and math.isfinite(fhi)) or flo < 0 or fhi > 0:
            return approx(target)
        try:
            return float(optimize.brentq(f, lo, hi, xtol=1e-12))
        except ValueError:  # NaN inside the bracket
            return approx(target)

    return root(1 - tail), root(tail)


def effect_size(a: ArrayLike, b: ArrayLike, *, confidence: float = 0.95) -> EffectSize:
    """Cohen's d_z, Hedges' g_z and d_av of paired scores, with a noncentral-t CI for d_z.

    Parameters
    ----------
    a, b : array-like, shape (n,)
        Paired scores, n >= 3.
    confidence : float
        Two-sided confidence level of the CI.

    Notes
    -----
    d_z = mean(d)/sd(d) is the effect size of the paired test; d_av divides by
    the average of the two standard deviations instead and can be far smaller
    (or larger) when the scores are correlated across pairs. Papers that report
    "Cohen's d" for paired runs rarely say which; probe reports both. The CI
    inverts the noncentral t: t = d_z sqrt(n) ~ nct(n-1, δ sqrt(n)) (Steiger &
    Fouladi 1997).

    References
    ----------
    Lakens, D. (2013). Calculating and reporting effect sizes. Front. Psychol. 4, 863.
    Cumming, G. (2012). Understanding the New Statistics. Routledge.
    """
    _check_probability(confidence, "confidence")
    x = np.asarray(a, dtype=np.float64)
    d = _check_pairs(a, b, min_n=3)
    y = x - d
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        raise DataError("paired differences have zero variance: d_z is infinite",
                        hint="report the constant difference instead of a standardised effect")
    n = int(d.size)
    d_z = float(d.mean() / sd)
    pooled = math.sqrt((float(x.var(ddof=1)) + float(y.var(ddof=1))) / 2)
    d_av = float((x.mean() - y.mean()) / pooled) if pooled > 0 else math.nan
    lo, hi = _nct_ci(d_z * math.sqrt(n), n - 1, confidence)
    return EffectSize(d_z, hedges_correction(n - 1) * d_z, d_av, lo / math.sqrt(n), hi / math.sqrt(n),
                      confidence, n, float(d.mean()), sd)


# --------------------------------------------------------------------------- multiplicity




# --------------------------------------------------------------------------- all together


def paired_compare(
    a: ArrayLike, b: ArrayLike, *, alternative: Alternative = "greater", alpha: float = 0.05,
    confidence: float = 0.95, power: float = 0.8, n_train: int | None = None, n_test: int | None = None,
    name_a: str = "A", name_b: str = "B",
) -> PairedComparison:
    """All paired tests of A against B on n paired scores (folds, seeds or runs).

    Parameters
    ----------
    a, b : array-like, shape (n,)
        Scores of the two models on the same n units (higher = better for "greater").
    alternative : {"greater", "less", "two-sided"}
        Direction of the claim "A > B" (default) for every test.
    alpha, confidence, power : float
        Level used for warnings and the power statement; CI level; target power.
    n_train, n_test : int, optional
        Training/test sizes of each split; when given, the Nadeau-Bengio
        corrected resampled t-test is added (the right test for k-fold scores).

    Returns
    -------
    PairedComparison
        Wilcoxon (exact), sign, paired t, (corrected resampled t), d_z with CI,
        g_z, d_av, the pairs a paired t-test would need for ``power`` at the
        observed d_z, and warnings (n too small to reach alpha, ties dropped,
        zero variance).

    Examples
    --------
    >>> r = paired_compare([0.86, 0.87, 0.85, 0.88, 0.86], [0.84, 0.85, 0.84, 0.85, 0.83])
    >>> r.tests[0].p_value
    0.03125
    """
    _check_alternative(alternative)
    _check_probability(alpha, "alpha")
    d = _check_pairs(a, b, min_n=3)
    x = np.asarray(a, dtype=np.float64)
    warnings: list[str] = []
    n_nonzero = int((d != 0).sum())
    tests: list[TestResult] = []
    if n_nonzero:
        tests += [wilcoxon_signed_rank(d, alternative=alternative), sign_test(d, alternative=alternative)]
        if n_nonzero < d.size:
            warnings.append(f"{d.size - n_nonzero} tied pair(s) dropped by the Wilcoxon and sign tests")
        floor = tests[0].min_attainable_p
        if floor > alpha:
            warnings.append(
                f"with {n_nonzero} non-zero pairs the exact Wilcoxon test cannot reach p < {alpha} "
                f"{'(two-sided)' if alternative == 'two-sided' else '(one-sided)'}: its smallest p is {floor:.4g}")
    else:
        warnings.append("all paired differences are zero: no rank test is defined")
    constant = float(d.std(ddof=1)) == 0.0
    if constant:
        warnings.append("paired differences have zero variance: t-tests and d_z are undefined")
        nan = math.nan
        effect = EffectSize(nan, nan, nan, nan, nan, confidence, int(d.size), float(d.mean()), 0.0)
    else:
        tests.append(paired_t(d, alternative=alternative))
        if n_train is not None and n_test is not None:
            tests.append(corrected_resampled_t(d, n_train=n_train, n_test=n_test, alternative=alternative))
            warnings.append("the pairs are cross-validation splits that share training data: the Wilcoxon, sign "
                            "and paired t-tests treat them as independent and are anti-conservative; trust the "
                            "corrected resampled t")
        effect = effect_size(x, x - d, confidence=confidence)
    need = None if constant else required_pairs(effect.d_z, alpha=alpha, power=power, alternative=alternative)
    return PairedComparison(
        name_a, name_b, int(d.size), alternative, alpha, float(x.mean()), float((x - d).mean()), effect,
        tuple(tests), need, power, min_pairs_wilcoxon(alpha, alternative), tuple(warnings))


def pair_scores(a: Any, b: Any, *, metric: str, on: Sequence[str] = ("fold", "seed")) -> tuple[FloatArray, FloatArray, Any]:
    """Align two score tables (pandas DataFrames with one row per split) on the keys ``on``.

    Returns the metric of A, the metric of B (same order) and the joined frame.
    Raises DataError when a key is missing, duplicated, or the tables share no split.
    """
    for name, frame in (("A", a), ("B", b)):
        missing = [c for c in (*on, metric) if c not in frame.columns]
        if missing:
            raise DataError(f"scores of {name} lack column(s) {', '.join(missing)}",
                            hint=f"columns present: {', '.join(map(str, frame.columns))}")
        if frame.duplicated(list(on)).any():
            raise DataError(f"scores of {name} have several rows per {'/'.join(on)}",
                            hint="filter to one model before pairing")
    joined = a.merge(b, on=list(on), suffixes=("_a", "_b"))
    if joined.empty:
        raise DataError(f"the two score tables share no {'/'.join(on)} split",
                        hint="compare runs made with the same --folds and --seed")
    return (joined[f"{metric}_a"].to_numpy(np.float64), joined[f"{metric}_b"].to_numpy(np.float64), joined)


def comparisons_frame(comparisons: Sequence[PairedComparison], *, adjust: bool = True) -> Any:
    """Tidy table of many comparisons: one row per (comparison, test), Holm-adjusted within each test.

    Columns: a, b, n, test, statistic, df, p_value, p_holm, alternative, d_z,
    d_z_ci_low, d_z_ci_high, g_z, d_av, mean_a, mean_b.
    """
    import pandas as pd

    rows = []
    for c in comparisons:
        for t in c.tests:
            rows.append({"a": c.name_a, "b": c.name_b, "n": c.n, "test": t.test, "statistic": t.statistic,
                         "df": t.df, "p_value": t.p_value, "alternative": t.alternative,
                         "min_attainable_p": t.min_attainable_p, "d_z": c.effect.d_z,
                         "d_z_ci_low": c.effect.ci_low, "d_z_ci_high": c.effect.ci_high, "g_z": c.effect.g_z,
                         "d_av": c.effect.d_av, "mean_a": c.mean_a, "mean_b": c.mean_b})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame.assign(p_holm=[])
    frame["p_holm"] = frame["p_value"]
    if adjust:
        for _, idx in frame.groupby("test").groups.items():
            frame.loc[idx, "p_holm"] = holm(frame.loc[idx, "p_value"].to_numpy())
    return frame
