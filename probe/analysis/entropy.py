"""Entropies of probability vectors and Page's mean entanglement entropy: one implementation for probe.

The unit is never implicit: every entropy takes ``base`` as a required keyword
(``base=2``: bits; ``base=math.e``: nats). Inputs may be NumPy arrays (a float, or an
array over leading axes, comes back) or torch tensors (a tensor comes back, and the
result is differentiable), reduced over the last axis; zero probabilities
contribute 0.

References
----------
Page (1993), "Average entropy of a subsystem", PRL 71, 1291, arXiv:gr-qc/9305007.
Rényi (1961), "On measures of entropy and information".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import digamma

from probe.errors import DataError


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def von_neumann(p: Any, *, base: float) -> Any:
    """``S = −Σ_i p_i log p_i / log(base)`` over the last axis.

    Parameters
    ----------
    p : array-like or torch.Tensor, shape (..., k)
        Probabilities (Schmidt coefficients squared, eigenvalues of ρ).
    base : float
        2 for bits, ``math.e`` for nats (required: the unit is part of the call).

    Examples
    --------
    >>> von_neumann([0.5, 0.5], base=2)
    1.0
    >>> round(von_neumann([1.0, 0.0], base=math.e), 12)
    0.0
    """
    if _is_torch(p):
        import torch

        t = p.real if p.is_complex() else p
        # clamp inside the log only: the gradient of xlogy at 0 stays finite; "+ 0.0" turns -0.0 into 0.0
        return (-torch.xlogy(t, t.clamp_min(0)).sum(-1) / math.log(base)).clamp_min(0) + 0.0
    q = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0)
    h = -terms.sum(-1) / math.log(base)
    h = np.where(h > 0, h, 0.0) + 0.0  # no "-0.0" (or -1e-17) for pure states
    return float(h) if np.ndim(h) == 0 else h


def renyi(p: Any, alpha: float, *, base: float) -> Any:
    """Rényi entropy ``S_α = log(Σ p_i^α) / (1 − α)``; α = 1 is von Neumann, α = ∞ is ``−log max p``, α = 0 log rank.

    Examples
    --------
    >>> round(renyi([0.5, 0.25, 0.25], 2, base=math.e), 6)   # -ln(0.375)
    0.980829
    """
    if alpha == 1:
        return von_neumann(p, base=base)
    if _is_torch(p):
        import torch

        t = p.clamp_min(0)
        if math.isinf(alpha):
            return -torch.log(t.amax(-1)) / math.log(base)
        return torch.log((t**alpha).sum(-1)) / (1 - alpha) / math.log(base)
    q = np.asarray(p, dtype=np.float64)
    if q.ndim > 1:
        return np.array([renyi(row, alpha, base=base) for row in q.reshape(-1, q.shape[-1])]).reshape(q.shape[:-1])
    q = q[q > 0]
    if math.isinf(alpha):
        return float(-np.log(q.max()) / math.log(base))
    if alpha == 0:
        return float(np.log(q.size) / math.log(base))
    return float(np.log(np.sum(q**alpha)) / (1.0 - alpha) / math.log(base))


def page_entropy(m: int, n: int) -> float:
    """Mean entanglement entropy (nats) of a subsystem of dimension ``m`` of a Haar-random pure state on ``m·n``.

    ``S_{m,n} = Σ_{k=n+1}^{mn} 1/k − (m−1)/(2n)`` for ``m ≤ n`` (symmetric in
    ``m, n``), evaluated exactly as ``ψ(mn+1) − ψ(n+1) − (m−1)/(2n)`` with the
    digamma function ``ψ``. Complex (unitary-invariant) states; real Gaussian
    states sit slightly lower (see :func:`probe.analysis.entangle.baselines.gaussian_baseline`).

    Examples
    --------
    >>> round(page_entropy(2, 2), 6)     # 1/3 + 1/4 - 1/4 = 1/3
    0.333333
    >>> round(page_entropy(4, 4), 4)
    0.9224
    """
    m, n = int(min(m, n)), int(max(m, n))
    if m < 1:
        raise DataError(f"page_entropy needs dimensions ≥ 1; got {m}×{n}")
    return float(digamma(m * n + 1) - digamma(n + 1) - (m - 1) / (2 * n))


def page_profile(dims: tuple[int, ...] | list[int]) -> list[float]:
    """Page entropy (nats) at every cut of a chain with local dimensions ``dims`` (any, unequal included).

    Examples
    --------
    >>> [round(x, 4) for x in page_profile([2, 2, 2])]
    [0.5095, 0.5095]
    """
    total = int(np.prod(dims))
    left = np.cumprod(dims)[:-1]
    return [page_entropy(int(a), total // int(a)) for a in left]


__all__ = ["page_entropy", "page_profile", "renyi", "von_neumann"]
