"""Reference curves for entanglement profiles: the Page curve, the real-Gaussian
ensemble, and the "Entanglement Valley" metrics measured against them.

Page (1993), "Average entropy of a subsystem", PRL 71, 1291, arXiv:gr-qc/9305007;
proved by Foong & Kanno (1994), Sánchez-Ruiz (1995), Sen (1996). The valley is the
central suppression of a volume-law profile reported for LoRA updates by Chen et al.
(2026), arXiv:2601.06788; the metric below is our definition (the paper names the
feature; its exact metric was not available to us).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from probe._results import jsonable
from probe._types import Seed
from probe.errors import ConfigError, DataError


@dataclass(frozen=True, slots=True)
class GaussianBaseline:
    """Mean entropy profile (nats) of i.i.d. Gaussian matrices of one shape, with its standard error."""

    shape: tuple[int, int]
    order: str
    kind: str  # "real" | "complex"
    n: int
    mean: tuple[float, ...]
    se: tuple[float, ...]
    seed: int | None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"cut": range(1, len(self.mean) + 1), "mean": self.mean, "se": self.se,
                             "kind": self.kind, "n": self.n})


def gaussian_baseline(
    shape: tuple[int, int], *, samples: int = 20, order: str = "sequential", factors: str = "ascending",
    kind: str = "real", rank: int | None = None, rng: Seed = None,
) -> GaussianBaseline:
    """Monte Carlo baseline: the profile of Gaussian random matrices of ``shape``.

    A matrix with i.i.d. Gaussian entries is, once normalised, a uniformly random
    real (``kind="real"``) or complex (``kind="complex"``, Haar: the Page curve)
    state. Real weights are compared with the real ensemble, whose mean lies a little
    below Page's (complex) value.

    Parameters
    ----------
    shape : (int, int)
    samples : int
        Number of matrices (≥ 2, for a standard error).
    kind : {"real", "complex"}
    rank : int, optional
        Draw rank-``r`` products ``B·A`` of Gaussian factors instead (the null model of a LoRA
        update of rank r: at the row/column cut its entropy is capped at ln r by the rank alone).
    rng : int, Generator or None
        Seed; recorded in the result when it is an int.

    Returns
    -------
    GaussianBaseline
        ``se`` is the standard error of the mean (sample std / √n).
    """
    from probe.analysis.entangle.profile import entanglement_profile

    if samples < 2:
        raise ConfigError(f"gaussian_baseline needs samples ≥ 2 for a standard error; got {samples}")
    if kind not in ("real", "complex"):
        raise ConfigError(f"kind must be 'real' or 'complex'; got {kind!r}")
    seed = rng if isinstance(rng, int) else None
    gen = np.random.default_rng(rng)
    if rank is not None and not 1 <= rank <= min(shape):
        raise ConfigError(f"rank must be between 1 and {min(shape)} for shape {shape}; got {rank}")
    rows = []
    for _ in range(samples):
        if rank is None:
            m = gen.standard_normal(shape)
        else:  # the LoRA null: a product B·A of Gaussian factors of rank r
            m = gen.standard_normal((shape[0], rank)) @ gen.standard_normal((rank, shape[1]))
        if kind == "complex":
            m = m + 1j * gen.standard_normal(m.shape)
        rows.append(entanglement_profile(m, order=order, factors=factors).entropy)
    arr = np.asarray(rows)
    return GaussianBaseline((int(shape[0]), int(shape[1])), order, kind, samples, tuple(float(x) for x in arr.mean(0)),
                            tuple(float(x) for x in arr.std(0, ddof=1) / np.sqrt(samples)), seed)


@dataclass(frozen=True, slots=True)
class ValleyMetrics:
    """The "Entanglement Valley" of a profile.

    Attributes
    ----------
    position : int or None
        Cut of the deepest interior local minimum of ``S`` (largest prominence);
        ``None`` when the profile has no interior minimum (a plain tent or plateau).
    position_fraction : float or None
        ``position / L`` (``L`` = number of sites).
    depth : float
        Prominence of that minimum (nats): ``min(max_{k<v} S, max_{k>v} S) − S_v``.
    relative_depth : float
        ``depth / (S_v + depth)``: the fraction of the lower neighbouring peak lost.
    suppression : float or None
        ``S_v / R_v``, the entropy at the valley over the reference (Page) value there.
    deficit : float
        ``Σ_k (R_k − S_k) / Σ_k R_k``: the whole profile's shortfall from the reference.
    boundary_cut : int or None
        The row/column cut, where a rank-``r`` update is capped at ``ln r``.
    """

    position: int | None
    position_fraction: float | None
    depth: float
    relative_depth: float
    suppression: float | None
    deficit: float
    boundary_cut: int | None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


def valley_metrics(entropy: npt.ArrayLike, reference: npt.ArrayLike, *, boundary_cut: int | None = None) -> ValleyMetrics:
    """Locate and measure the Entanglement Valley of a profile.

    Parameters
    ----------
    entropy : array-like, shape (L-1,)
        ``S`` at cuts ``1..L−1`` (nats).
    reference : array-like, shape (L-1,)
        The volume-law reference at the same cuts: the Page curve or a Gaussian baseline.
    boundary_cut : int, optional
        Carried into the result for comparison with ``position``.

    Returns
    -------
    ValleyMetrics

    Notes
    -----
    The minimum and its prominence come from :func:`scipy.signal.find_peaks` on
    ``−S``, so a valley is "a dip between two higher bonds" and its depth is the
    topographic prominence. A Page-like tent has none: depth 0.

    Examples
    --------
    >>> v = valley_metrics([1.0, 2.0, 0.5, 2.5, 1.0], [1, 2, 3, 2, 1])
    >>> v.position, v.depth
    (3, 1.5)
    """
    from scipy.signal import find_peaks, peak_prominences

    s = np.asarray(entropy, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if s.shape != ref.shape or s.ndim != 1 or s.size == 0:
        raise DataError(f"entropy {s.shape} and reference {ref.shape} must be 1-D of the same length")
    n_sites = s.size + 1
    deficit = float(np.sum(ref - s) / np.sum(ref)) if np.sum(ref) > 0 else 0.0
    minima, _ = find_peaks(-s)
    if minima.size == 0:
        return ValleyMetrics(None, None, 0.0, 0.0, None, deficit, boundary_cut)
    prom = peak_prominences(-s, minima)[0]
    best = int(minima[int(np.argmax(prom))])
    depth = float(prom.max())
    s_v = float(s[best])
    return ValleyMetrics(
        position=best + 1, position_fraction=(best + 1) / n_sites, depth=depth,
        relative_depth=depth / (s_v + depth) if s_v + depth > 0 else 0.0,
        suppression=s_v / float(ref[best]) if ref[best] > 0 else None, deficit=deficit, boundary_cut=boundary_cut,
    )
