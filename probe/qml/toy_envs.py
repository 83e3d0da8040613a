"""Small gymnasium environments whose values are known in closed form, for testing DQN and Rainbow.

- :class:`TwoArmedBandit`: one step; action 1 pays ``reward``, action 0 pays 0.
  Q(·, 1) = reward, Q(·, 0) = 0.
- :class:`CoinBandit`: one step; action 0 pays 0, action 1 pays +1 with probability
  p and −1 otherwise. The return distribution of action 1 is {−1: 1 − p, +1: p}
  (mean 2p − 1), the target of a C51 head with atoms {−1, 0, 1}.
- :class:`ChainMDP`: states 0..N−1 observed one-hot, start 0, actions 0 = left
  (to max(s − 1, 0)), 1 = right; moving right from N − 2 into N − 1 pays 1 and ends the
  episode, every other step pays 0; episodes are truncated after ``time_limit``
  steps (default 4N). With discount γ: Q*(s, right) = γ^(N−2−s),
  Q*(s, left) = γ^(N−1−max(s−1, 0)) (see :func:`chain_q_values`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np


class TwoArmedBandit(gymnasium.Env):
    """One-step episodes: action 1 pays ``reward`` (default 1), action 0 pays 0; the observation is constant."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, reward: float = 1.0) -> None:
        self.reward = reward
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float64)
        self.action_space = gymnasium.spaces.Discrete(2)
        self._obs = np.array([0.3, -0.2])

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.action_space.seed(seed)
        return self._obs.copy(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        return self._obs.copy(), self.reward * float(action == 1), True, False, {}


class CoinBandit(TwoArmedBandit):
    """One step; action 1 pays +1 with probability ``p`` (default 0.75), else −1; action 0 pays 0."""

    def __init__(self, p: float = 0.75) -> None:
        super().__init__()
        self.p = p

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if action != 1:
            return self._obs.copy(), 0.0, True, False, {}
        return self._obs.copy(), 1.0 if self.np_random.random() < self.p else -1.0, True, False, {}


class ChainMDP(gymnasium.Env):
    """Deterministic chain of ``n`` states with a reward of 1 at the right end (see module notes)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, n: int = 5, time_limit: int | None = None) -> None:
        self.n = n
        self.time_limit = 4 * n if time_limit is None else time_limit
        self.observation_space = gymnasium.spaces.Box(0.0, 1.0, shape=(n,), dtype=np.float64)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.state, self.t = 0, 0

    def _obs(self) -> np.ndarray:
        out = np.zeros(self.n)
        out[self.state] = 1.0
        return out

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.state, self.t = 0, 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.t += 1
        self.state = min(self.state + 1, self.n - 1) if action == 1 else max(self.state - 1, 0)
        terminated = self.state == self.n - 1
        return self._obs(), float(terminated), terminated, self.t >= self.time_limit and not terminated, {}


def chain_q_values(n: int, gamma: float) -> np.ndarray:
    """Q* of :class:`ChainMDP` for the non-terminal states 0..n−2; shape (n − 1, 2), columns (left, right)."""
    s = np.arange(n - 1)
    right = gamma ** (n - 2 - s)
    left = gamma ** (n - 1 - np.maximum(s - 1, 0))
    return np.stack([left, right], axis=1)
