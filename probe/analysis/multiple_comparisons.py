"""Multiple-comparison corrections: one implementation, used by every study (CHSH marginals, paired model tests).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from probe._types import FloatArray
from probe.errors import DataError


def holm(p_values: ArrayLike) -> FloatArray:
    """Holm's step-down adjusted p-values (same order as the input).

    p_adj(i) = max_{j <= i} min(1, (m - j + 1) p_(j)) over the sorted p-values.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.06, 0.06]

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Stat. 6, 65-70.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise DataError(f"holm: p-values must be a 1-D array of numbers in [0, 1]; got {p.tolist()!r}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def bonferroni(p_values: ArrayLike) -> FloatArray:
    """Bonferroni-adjusted p-values ``min(1, m p_i)``.

    Examples
    --------
    >>> bonferroni([0.01, 0.2]).tolist()
    [0.02, 0.4]
    """
    p = np.asarray(p_values, dtype=np.float64)
    return np.minimum(1.0, p.size * p)


__all__ = ["bonferroni", "holm"]
