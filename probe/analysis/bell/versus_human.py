"""How well a model's exact answer distributions predict human answers to the same design.

For context c with human counts n_c (N_c answers) and model distribution q_c:

    loglik_c(model)  = sum_o n_co log q_co                      (nats; multinomial kernel)
    loglik_c(ceiling)= sum_o n_co log p_hat_co,  p_hat = n / N  (the saturated model: the best any
                                                                  fixed distribution does on these data)
    gap_c            = loglik_c(ceiling) - loglik_c(model) = N_c KL(p_hat_c || q_c) >= 0
    G^2              = 2 sum_c gap_c ~ chi^2 with sum_c (cells_c - 1) df under "humans answer from q"
    skill            = (loglik(model) - loglik(uniform)) / (loglik(ceiling) - loglik(uniform))

(1 = as good as the ceiling, 0 = no better than guessing uniformly, < 0 worse.) The saturated
log-likelihood is optimistic by about df / 2 nats (it is fitted to the same data); ``ceiling_expected``
subtracts that (Akaike's correction) as the ceiling a model can expect to reach. KL(q || p_hat) is
reported with p_hat smoothed by ``prior`` pseudo-counts (it is infinite wherever humans never chose a
cell the model likes). Uncertainty: multinomial bootstrap of the human counts (contexts
independent), percentile 95% intervals. Model probabilities below ``floor`` are raised to it (a
zero would make one human answer infinitely unlikely); how many were raised is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray, Seed
from probe.analysis.bell.system import ContextSystem, check_tables
from probe.errors import DataError


def _xlogy(n: FloatArray, p: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, n * np.log(np.where(p > 0, p, 1.0)), 0.0)


@dataclass(frozen=True, slots=True)
class VersusHumanResult:
    """Log-likelihood of human answers under a model, per context and in total."""

    contexts: tuple[str, ...]
    n: tuple[int, ...]
    loglik: tuple[float, ...]
    loglik_ceiling: tuple[float, ...]
    loglik_uniform: tuple[float, ...]
    kl_human_model: tuple[float, ...]
    kl_model_human: tuple[float, ...]
    loglik_total: float
    loglik_total_ci95: tuple[float, float]
    loglik_per_answer: float
    ceiling_total: float
    ceiling_expected: float
    gap_total: float
    gap_ci95: tuple[float, float]
    skill: float
    skill_ci95: tuple[float, float]
    g2: float
    df: int
    p_value: float
    floored_cells: int
    n_boot: int
    seed: int | None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"context": self.contexts, "N": self.n, "loglik": self.loglik,
                             "loglik_ceiling": self.loglik_ceiling, "kl_human_model": self.kl_human_model,
                             "kl_model_human": self.kl_model_human})


def _pieces(counts: FloatArray, q: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = counts.sum(axis=-1, keepdims=True)
    p_hat = counts / n
    model = _xlogy(counts, q).sum(axis=-1)
    ceiling = _xlogy(counts, p_hat).sum(axis=-1)
    uniform = -n[..., 0] * np.log(counts.shape[-1])
    return model, ceiling, uniform


def versus_human(human_counts: ArrayLike, model_probs: ArrayLike, system: ContextSystem, *, floor: float = 1e-9,
                 prior: float = 0.5, n_boot: int = 2000, seed: Seed = 0) -> VersusHumanResult:
    """Compare a model's exact per-context distributions with human counts on the same design.

    Parameters
    ----------
    human_counts : array-like of int, shape (n_contexts, cells)
    model_probs : array-like, shape (n_contexts, cells)
        The model's exact distributions (each context renormalised).
    system : ContextSystem
    floor : float, default=1e-9
        Smallest model probability used in log q.
    prior : float, default=0.5
        Pseudo-count per cell for the smoothed p_hat of KL(q || p_hat).
    n_boot : int, default=2000
    seed : int or Generator

    Examples
    --------
    >>> from probe.analysis.bell.system import chsh_system
    >>> h = [[30, 10, 10, 50]] * 4
    >>> r = versus_human(h, np.array(h) / 100, chsh_system(), n_boot=100)
    >>> round(r.gap_total, 9), round(r.skill, 9)      # the model is the human distribution itself
    (0.0, 1.0)
    """
    counts = np.stack(check_tables(human_counts, system, name="human counts"))
    q = np.stack(check_tables(model_probs, system, name="model probabilities", integer=False))
    if counts.shape != q.shape:
        raise DataError(f"human counts {counts.shape} and model probabilities {q.shape} differ in shape")
    if not 0 < floor < 1:
        raise DataError(f"floor must be in (0, 1); got {floor}")
    q = q / q.sum(axis=-1, keepdims=True)
    floored = int(np.count_nonzero(q < floor))
    q = np.maximum(q, floor)
    q = q / q.sum(axis=-1, keepdims=True)
    n = counts.sum(axis=-1)
    model, ceiling, uniform = _pieces(counts, q)
    p_hat = counts / n[:, None]
    kl_hm = (ceiling - model) / n
    smooth = (counts + prior) / (n[:, None] + prior * counts.shape[-1])
    kl_mh = (q * np.log(q / smooth)).sum(axis=-1)
    df = int(counts.shape[0] * (counts.shape[1] - 1))
    g2 = float(2 * (ceiling - model).sum())
    rng = np.random.default_rng(seed)
    boot = np.stack([rng.multinomial(int(n[c]), p_hat[c], size=n_boot) for c in range(len(n))], axis=1).astype(float)
    bm, bc, bu = _pieces(boot, q)
    bm_t, bc_t, bu_t = bm.sum(axis=1), bc.sum(axis=1), bu.sum(axis=1)
    denominator = bc_t - bu_t
    with np.errstate(divide="ignore", invalid="ignore"):
        skill_b = np.where(denominator > 0, (bm_t - bu_t) / denominator, np.nan)
    total_den = ceiling.sum() - uniform.sum()
    skill = float((model.sum() - uniform.sum()) / total_den) if total_den > 0 else float("nan")

    def ci(x: FloatArray) -> tuple[float, float]:
        x = x[np.isfinite(x)]
        if not len(x):
            return (float("nan"), float("nan"))
        lo, hi = np.quantile(x, [0.025, 0.975])
        return float(lo), float(hi)

    return VersusHumanResult(
        contexts=system.names, n=tuple(int(x) for x in n), loglik=tuple(float(x) for x in model),
        loglik_ceiling=tuple(float(x) for x in ceiling), loglik_uniform=tuple(float(x) for x in uniform),
        kl_human_model=tuple(float(x) for x in kl_hm), kl_model_human=tuple(float(x) for x in kl_mh),
        loglik_total=float(model.sum()), loglik_total_ci95=ci(bm_t), loglik_per_answer=float(model.sum() / n.sum()),
        ceiling_total=float(ceiling.sum()), ceiling_expected=float(ceiling.sum() - df / 2),
        gap_total=float((ceiling - model).sum()), gap_ci95=ci(bc_t - bm_t), skill=skill, skill_ci95=ci(skill_b),
        g2=g2, df=df, p_value=float(stats.chi2.sf(g2, df)), floored_cells=floored, n_boot=n_boot,
        seed=seed if isinstance(seed, int) else None,
    )
