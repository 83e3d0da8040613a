"""How many paired scores a claim needs: paired t power, required pairs, and the exact-Wilcoxon floor."""

from __future__ import annotations

import math
from typing import Literal

from scipy import stats

from probe.errors import DataError

Alternative = Literal["two-sided", "greater", "less"]


def _check(alternative: str, alpha: float) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise DataError(f"alternative must be one of two-sided, greater, less, got {alternative!r}")
    if not 0.0 < alpha < 1.0:
        raise DataError(f"alpha must lie strictly between 0 and 1, got {alpha}")


def paired_t_power(d_z: float, n: int, *, alpha: float = 0.05, alternative: Alternative = "two-sided") -> float:
    """Power of the paired t-test with n pairs when the true effect is d_z (noncentral t).

    Examples
    --------
    >>> round(paired_t_power(0.5, 34, alpha=0.05), 3)
    0.808
    """
    _check(alternative, alpha)
    if n < 2:
        raise DataError(f"power needs at least 2 pairs, got {n}")
    df, ncp = n - 1, d_z * math.sqrt(n)
    if alternative == "greater":
        return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, ncp))
    if alternative == "less":
        return float(stats.nct.cdf(stats.t.ppf(alpha, df), df, ncp))
    crit = stats.t.ppf(1 - alpha / 2, df)
    # the far tail as sf of the mirrored ncp: scipy's nct.cdf returns NaN deep in the left tail
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.sf(crit, df, -ncp))


def required_pairs(d_z: float, *, alpha: float = 0.05, power: float = 0.8,
                   alternative: Alternative = "two-sided", max_n: int = 100_000) -> int | None:
    """Smallest number of pairs for which the paired t-test reaches ``power`` at effect d_z.

    Returns None when d_z is zero, points the wrong way for a one-sided test,
    or would need more than ``max_n`` pairs. The exact Wilcoxon test needs
    about 1/0.955 times as many pairs under normality (asymptotic relative
    efficiency 3/π), and never fewer than :func:`min_pairs_wilcoxon`.

    Examples
    --------
    >>> required_pairs(0.5, alpha=0.05, power=0.8)
    34
    """
    if not 0.0 < power < 1.0:
        raise DataError(f"power must lie strictly between 0 and 1, got {power}")
    if d_z == 0 or (alternative == "greater" and d_z < 0) or (alternative == "less" and d_z > 0):
        return None
    lo, hi = 2, 2
    while paired_t_power(d_z, hi, alpha=alpha, alternative=alternative) < power:
        lo, hi = hi, hi * 2
        if hi > max_n:
            return None
    while lo < hi:  # power increases with n: bisect for the first n that reaches it
        mid = (lo + hi) // 2
        if paired_t_power(d_z, mid, alpha=alpha, alternative=alternative) >= power:
            hi = mid
        else:
            lo = mid + 1
    return lo


def min_pairs_wilcoxon(alpha: float = 0.05, alternative: Alternative = "two-sided") -> int:
    """Fewest non-zero pairs for which the exact Wilcoxon (or sign) test can give p <= alpha.

    One-sided the floor is 1/2^n, two-sided 2/2^n, so n = ceil(log2(1/alpha))
    (+1 two-sided). alpha = 0.05: 5 one-sided, 6 two-sided.

    Examples
    --------
    >>> min_pairs_wilcoxon(0.05, "greater"), min_pairs_wilcoxon(0.05, "two-sided")
    (5, 6)
    """
    _check(alternative, alpha)
    k = 2 if alternative == "two-sided" else 1
    return max(1, math.ceil(math.log2(k / alpha) - 1e-12))
