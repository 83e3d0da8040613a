"""Categorical (C51) distributional RL: the fixed support, the projected Bellman target and its loss.

The return distribution of each action is a categorical distribution on K atoms
z_i = v_min + i·Δz, Δz = (v_max − v_min)/(K − 1) (Bellemare, Dabney & Munos 2017).
The target for a transition (s, a, R, s', γ^n) is the distribution of
R + γ^n Z(s', a*) projected back onto the support:

    (Φ T̂ Z)_i = Σ_j [1 − |clip(R + γ^n z_j, v_min, v_max) − z_i| / Δz]_0^1 · p_j(s', a*),

(their eq. 7). :func:`project_distribution` computes it the usual way (split each
shifted atom's mass between its two neighbours, Algorithm 1 of the paper; an atom
that lands exactly on z_i keeps all its mass there); :func:`project_distribution_hat`
is the hat-function form above, kept as an independent check. The loss is the
cross-entropy −Σ_i m_i log p_i(s, a) of the online distribution against the projected
target m (equal to KL(m ‖ p) up to the entropy of m, which has no gradient); Rainbow
(Hessel et al. 2018) prioritises replay by the KL, which :func:`categorical_loss`
returns too.

Properties (tested): the projection preserves total mass; it preserves the mean when
every shifted atom lies inside [v_min, v_max]; a terminal transition (γ^n = 0) puts
all mass on the two atoms around R.

References
----------
Bellemare, Dabney & Munos (2017), *A Distributional Perspective on Reinforcement
Learning*, arXiv:1707.06887 (ICML 2017). Hessel et al. (2018), arXiv:1710.02298.
"""

from __future__ import annotations

import torch

from probe.errors import DataError


def support(v_min: float, v_max: float, n_atoms: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The atoms z_0 < … < z_{K−1}, evenly spaced on [v_min, v_max]; shape (K,)."""
    if n_atoms < 2 or not v_max > v_min:
        raise DataError(f"the C51 support needs n_atoms >= 2 and v_max > v_min; got K={n_atoms}, "
                        f"[{v_min}, {v_max}]", hint="e.g. n_atoms=51, v_min=-10, v_max=10")
    return torch.linspace(v_min, v_max, n_atoms, dtype=dtype)


def project_distribution(next_probs: torch.Tensor, rewards: torch.Tensor, discounts: torch.Tensor,
                         atoms: torch.Tensor) -> torch.Tensor:
    """Project R + γ^n Z' onto the support (C51's target).

    Parameters
    ----------
    next_probs : tensor of shape (B, K)
        p_j(s', a*) for each transition; rows sum to 1.
    rewards : tensor of shape (B,)
        n-step returns R.
    discounts : tensor of shape (B,)
        γ^n, or 0 where the episode terminated.
    atoms : tensor of shape (K,)
        The support (:func:`support`).

    Returns
    -------
    tensor of shape (B, K): the projected target distribution m, rows summing to 1.
    """
    k = atoms.shape[0]
    v_min, v_max = float(atoms[0]), float(atoms[-1])
    dz = (v_max - v_min) / (k - 1)
    tz = (rewards[:, None] + discounts[:, None] * atoms[None, :]).clamp(v_min, v_max)
    b = (tz - v_min) / dz
    lower = b.floor().long().clamp(0, k - 1)
    upper = b.ceil().long().clamp(0, k - 1)
    same = lower == upper  # the shifted atom sits on a grid point: it keeps its whole mass
    w_lower = torch.where(same, torch.ones_like(b), upper.to(b.dtype) - b)
    w_upper = torch.where(same, torch.zeros_like(b), b - lower.to(b.dtype))
    m = torch.zeros_like(next_probs)
    m.scatter_add_(1, lower, next_probs * w_lower)
    m.scatter_add_(1, upper, next_probs * w_upper)
    return m


def project_distribution_hat(next_probs: torch.Tensor, rewards: torch.Tensor, discounts: torch.Tensor,
                             atoms: torch.Tensor) -> torch.Tensor:
    """Bellemare et al.'s eq. 7 (hat functions), O(B·K²); same result as :func:`project_distribution`."""
    v_min, v_max = float(atoms[0]), float(atoms[-1])
    dz = (v_max - v_min) / (atoms.shape[0] - 1)
    tz = (rewards[:, None] + discounts[:, None] * atoms[None, :]).clamp(v_min, v_max)  # (B, K_j)
    hat = (1 - (tz[:, None, :] - atoms[None, :, None]).abs() / dz).clamp(0, 1)  # (B, K_i, K_j)
    return (hat * next_probs[:, None, :]).sum(-1)


def categorical_loss(log_probs: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-transition cross-entropy −Σ m log p (for the gradient) and KL(m ‖ p) (for priorities); shapes (B,)."""
    cross_entropy = -(target * log_probs).sum(-1)
    entropy = -(target * torch.log(target.clamp_min(1e-12))).sum(-1)
    return cross_entropy, (cross_entropy - entropy).detach()


def expected_value(probs: torch.Tensor, atoms: torch.Tensor) -> torch.Tensor:
    """Q = Σ_i z_i p_i over the last axis."""
    return (probs * atoms).sum(-1)
