"""Differences between independent estimates (cells of a study that share no trials), with Holm's correction.

For two estimates with standard errors from independent samples,

    d = a − b,   SE(d) = sqrt(SE_a² + SE_b²),   z = d / SE(d),   p = 2 (1 − Φ(|z|)),

and the 95% Wald interval d ± 1.96 SE(d). Cells that share trials, folds or seeds are
*paired* and belong in :mod:`probe.analysis.paired` instead: this test ignores the
covariance and would be conservative (positive covariance) there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

from scipy import stats

from probe.analysis.multiple_comparisons import holm
from probe.errors import DataError


@dataclass(frozen=True, slots=True)
class Difference:
    """``first − second`` with its SE, 95% Wald interval, two-sided z-test and Holm-adjusted p-value."""

    first: str
    second: str
    difference: float
    se: float
    ci95: tuple[float, float]
    z: float
    p_value: float
    p_holm: float
    method: str = "independent-samples z (Wald), Holm across the family"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(name: str, value: float, se: float) -> None:
    if not (math.isfinite(value) and math.isfinite(se)) or se < 0:
        raise DataError(f"difference: {name} needs a finite estimate and a non-negative finite SE, got {value}, {se}")


def independent_differences(names: Sequence[str], estimates: Sequence[float], ses: Sequence[float], *,
                            pairs: Sequence[tuple[int, int]] | None = None) -> list[Difference]:
    """Every pairwise difference (or those in ``pairs``), Holm-adjusted over the family.

    Parameters
    ----------
    names, estimates, ses : sequences of equal length
        One entry per estimate (e.g. S of each cell) and its standard error.
    pairs : sequence of (i, j), optional
        Which differences to form (default: all i < j).

    Returns
    -------
    list of Difference
        In the order of ``pairs``. A pair whose SE(d) is 0 (two exact values) gets z = ±inf
        and p = 0 when they differ, z = 0 and p = 1 when they are equal.

    Examples
    --------
    >>> d = independent_differences(["a", "b"], [2.5, 2.0], [0.3, 0.4])[0]
    >>> round(d.se, 6), round(d.z, 6)
    (0.5, 1.0)
    """
    if not len(names) == len(estimates) == len(ses):
        raise DataError(f"difference: names, estimates and ses differ in length ({len(names)}, {len(estimates)}, "
                        f"{len(ses)})")
    for n, v, s in zip(names, estimates, ses, strict=True):
        _check(str(n), float(v), float(s))
    chosen = list(pairs) if pairs is not None else list(combinations(range(len(names)), 2))
    raw = []
    for i, j in chosen:
        d = float(estimates[i]) - float(estimates[j])
        se = math.hypot(float(ses[i]), float(ses[j]))
        if se > 0:
            z = d / se
            p = float(2 * stats.norm.sf(abs(z)))
        else:
            z, p = (math.copysign(math.inf, d), 0.0) if d != 0 else (0.0, 1.0)
        raw.append((i, j, d, se, z, p))
    adjusted = holm([r[5] for r in raw]).tolist() if raw else []
    return [Difference(str(names[i]), str(names[j]), d, se, (d - 1.959963984540054 * se, d + 1.959963984540054 * se),
                       z, p, float(q)) for (i, j, d, se, z, p), q in zip(raw, adjusted, strict=True)]


__all__ = ["Difference", "independent_differences"]
