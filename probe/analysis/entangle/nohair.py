"""The "no-hair" comparison: do two fine-tuning methods that differ inside (weight
updates) also differ outside (attention)?

Chen et al. (2026, arXiv:2601.06788) report that LoRA and full fine-tuning leave
distinct internal entanglement profiles of ΔW_Q, ΔW_V but indistinguishable
attention-matrix profiles ("no-hair"). Here both distances are measured on the
same scale (nats): the internal one between update profiles, the external one
between attention profiles of the same inputs, paired by input, with a bootstrap
interval and a Wilcoxon signed-rank test (scipy) across inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from probe._results import jsonable
from probe._types import Seed
from probe.errors import DataError


@dataclass(frozen=True, slots=True)
class NoHairResult:
    """Internal vs external differences between two fine-tuning methods ``a`` and ``b``.

    Attributes
    ----------
    internal_max_diff : float
        ``max |S_a − S_b|`` over layers and cuts of the update profiles (nats).
    internal_mean_abs_diff : float
        Mean of ``|S_a − S_b|`` over layers and cuts (nats).
    external_max_diff : float
        ``max |⟨S_a⟩ − ⟨S_b⟩|`` over layers/heads/cuts of the input-averaged attention profiles.
    external_mean_diff : float
        Mean over inputs of the per-input mean of ``S_a − S_b`` (nats), with
        ``external_ci`` (percentile bootstrap over inputs) and ``external_p``
        (Wilcoxon signed-rank, two-sided; ``None`` if every difference is 0).
    ratio : float or None
        ``external_max_diff / internal_max_diff``; ≪ 1 is the no-hair pattern.
    attention_kl : float or None
        Mean KL divergence ``KL(A_a ‖ A_b)`` (nats) between attention rows, when given.
    """

    label_a: str
    label_b: str
    internal_max_diff: float
    internal_mean_abs_diff: float
    external_max_diff: float
    external_mean_diff: float
    external_ci: tuple[float, float]
    external_p: float | None
    n_samples: int
    ratio: float | None
    attention_kl: float | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


def attention_kl(p: npt.ArrayLike, q: npt.ArrayLike, *, floor: float = 1e-12) -> float:
    """Mean over rows of ``KL(p_row ‖ q_row) = Σ_j p_j ln(p_j / q_j)`` (nats).

    Parameters
    ----------
    p, q : array-like, shape (..., T, T)
        Row-stochastic attention matrices of the same inputs. Entries where
        ``p = 0`` contribute 0; ``q`` is floored at ``floor`` so a masked entry
        of ``q`` under a positive ``p`` gives a large but finite term.

    Examples
    --------
    >>> attention_kl([[0.5, 0.5]], [[0.5, 0.5]])
    0.0
    """
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise DataError(f"attention arrays must have the same shape (..., T, T); got {a.shape} and {b.shape}")
    terms = np.where(a > 0, a * (np.log(np.where(a > 0, a, 1.0)) - np.log(np.maximum(b, floor))), 0.0)
    return float(terms.sum(-1).mean())


def no_hair(
    internal_a: npt.ArrayLike, internal_b: npt.ArrayLike, external_a: npt.ArrayLike, external_b: npt.ArrayLike,
    *, labels: tuple[str, str] = ("a", "b"), attention_a: npt.ArrayLike | None = None,
    attention_b: npt.ArrayLike | None = None, n_boot: int = 2000, confidence: float = 0.95, rng: Seed = None,
) -> NoHairResult:
    """Compare internal (update) and external (attention) entropy profiles of two methods.

    Parameters
    ----------
    internal_a, internal_b : array-like, shape (..., n_cuts)
        Entropy profiles of the updates ΔW of methods ``a`` and ``b`` (same tensors, same order).
    external_a, external_b : array-like, shape (n_samples, ..., n_cuts)
        Attention entropy profiles on the same ``n_samples`` inputs (paired).
    labels : (str, str)
    attention_a, attention_b : array-like, optional
        Raw attention matrices of the same inputs, for :func:`attention_kl`.
    n_boot, confidence, rng
        Percentile bootstrap over inputs.

    Returns
    -------
    NoHairResult
    """
    from scipy.stats import wilcoxon

    ia, ib = np.asarray(internal_a, dtype=np.float64), np.asarray(internal_b, dtype=np.float64)
    ea, eb = np.asarray(external_a, dtype=np.float64), np.asarray(external_b, dtype=np.float64)
    if ia.shape != ib.shape or ia.size == 0:
        raise DataError(f"internal profiles must have the same non-empty shape; got {ia.shape} and {ib.shape}")
    if ea.shape != eb.shape or ea.ndim < 2 or ea.shape[0] < 2:
        raise DataError(f"external profiles must have the same shape (n_samples ≥ 2, ..., n_cuts); "
                        f"got {ea.shape} and {eb.shape}")
    internal = np.abs(ia - ib)
    per_sample = (ea - eb).reshape(ea.shape[0], -1).mean(1)
    gen = np.random.default_rng(rng)
    idx = gen.integers(0, per_sample.size, size=(n_boot, per_sample.size))
    boots = per_sample[idx].mean(1)
    lo, hi = np.quantile(boots, [(1 - confidence) / 2, (1 + confidence) / 2])
    p_value = None if np.all(per_sample == 0) else float(wilcoxon(per_sample).pvalue)
    ext_max = float(np.max(np.abs(ea.mean(0) - eb.mean(0))))
    int_max = float(internal.max())
    kl = None
    if attention_a is not None and attention_b is not None:
        kl = attention_kl(attention_a, attention_b)
    return NoHairResult(
        label_a=labels[0], label_b=labels[1], internal_max_diff=int_max,
        internal_mean_abs_diff=float(internal.mean()), external_max_diff=ext_max,
        external_mean_diff=float(per_sample.mean()), external_ci=(float(lo), float(hi)), external_p=p_value,
        n_samples=int(per_sample.size), ratio=ext_max / int_max if int_max > 0 else None,
        attention_kl=kl, confidence=confidence,
    )
