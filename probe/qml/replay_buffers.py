"""Replay buffers for DQN: uniform, prioritised (proportional, sum tree), and n-step returns.

- :class:`ReplayBuffer`: a ring buffer of transitions (s, a, R, s', discount, next
  action mask), sampled uniformly. The mask (which actions are allowed in s', e.g. the
  capable officers of :mod:`probe.qml.hr_allocation`) is kept when the buffer is given
  ``n_actions``; the bootstrap then maximises over allowed actions only.
- :class:`PrioritizedReplay`: proportional prioritisation P(i) = p_i^α / Σ p^α with
  importance weights w_i = (N P(i))^(-β) / max_j w_j (Schaul, Quan, Antonoglou &
  Silver 2016, arXiv:1511.05952); new transitions get the largest priority seen.
- :class:`NStepAccumulator`: turns single steps into n-step transitions
  R = Σ_{k<n} γ^k r_{t+k}, bootstrapping with γ^n (Sutton 1988; as in Rainbow,
  Hessel et al. 2018, arXiv:1710.02298); at episode end the remaining partial
  returns are flushed with their shorter discounts.

Randomness comes from the ``numpy.random.Generator`` each buffer is given.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from probe.errors import DataError


@dataclass(frozen=True, slots=True)
class Batch:
    """A sampled minibatch; ``discount`` is γ^k for the bootstrap term (0 where the episode ended).

    ``next_mask`` (B, A) bool marks the actions allowed in ``next_state``; None when the
    buffer keeps no masks (every action allowed).
    """

    state: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_state: np.ndarray
    discount: np.ndarray
    weight: np.ndarray
    index: np.ndarray
    next_mask: np.ndarray | None = None


class ReplayBuffer:
    """Uniform replay of the last ``capacity`` transitions."""

    def __init__(self, capacity: int, state_dim: int, *, rng: np.random.Generator, n_actions: int | None = None) -> None:
        if capacity < 1:
            raise DataError(f"replay capacity must be >= 1, got {capacity}")
        self.next_mask = None if n_actions is None else np.ones((capacity, n_actions), dtype=bool)
        self.capacity = capacity
        self.rng = rng
        self.state = np.zeros((capacity, state_dim))
        self.next_state = np.zeros((capacity, state_dim))
        self.action = np.zeros(capacity, dtype=np.int64)
        self.reward = np.zeros(capacity)
        self.discount = np.zeros(capacity)
        self.size = 0
        self._next = 0

    def __len__(self) -> int:
        return self.size

    def add(self, state: Any, action: int, reward: float, next_state: Any, discount: float,
            next_mask: Any = None) -> int:
        """Store one transition; ``discount`` = γ^k, or 0 when the episode terminated."""
        i = self._next
        self.state[i], self.action[i], self.reward[i] = state, action, reward
        self.next_state[i], self.discount[i] = next_state, discount
        if self.next_mask is not None:
            self.next_mask[i] = True if next_mask is None else np.asarray(next_mask, dtype=bool)
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        return i

    def _batch(self, idx: np.ndarray, weight: np.ndarray) -> Batch:
        return Batch(self.state[idx], self.action[idx], self.reward[idx], self.next_state[idx], self.discount[idx],
                     weight, idx, None if self.next_mask is None else self.next_mask[idx])

    def sample(self, batch_size: int, *, beta: float = 0.0) -> Batch:
        idx = self.rng.integers(0, self.size, batch_size)
        return self._batch(idx, np.ones(batch_size))

    def update_priorities(self, index: np.ndarray, td_error: np.ndarray) -> None:
        """Uniform replay ignores priorities."""


class _SumTree:
    """Binary tree whose leaves hold priorities and inner nodes their sums (O(log N) update and search)."""

    def __init__(self, capacity: int) -> None:
        size = 1
        while size < capacity:
            size *= 2
        self.leaves = size
        self.tree = np.zeros(2 * size)

    def set(self, index: np.ndarray, value: np.ndarray) -> None:
        for i, v in zip(np.atleast_1d(index), np.atleast_1d(value), strict=True):
            node = int(i) + self.leaves
            self.tree[node] = v
            node //= 2
            while node >= 1:
                self.tree[node] = self.tree[2 * node] + self.tree[2 * node + 1]
                node //= 2

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def find(self, mass: np.ndarray) -> np.ndarray:
        """Leaf index whose cumulative-sum interval contains each ``mass`` in [0, total)."""
        out = np.empty(mass.size, dtype=np.int64)
        for k, m in enumerate(mass):
            node = 1
            while node < self.leaves:
                left = 2 * node
                if m < self.tree[left]:
                    node = left
                else:
                    m -= self.tree[left]
                    node = left + 1
            out[k] = node - self.leaves
        return out

    def get(self, index: np.ndarray) -> np.ndarray:
        return self.tree[np.asarray(index) + self.leaves]


class PrioritizedReplay(ReplayBuffer):
    """Proportional prioritised replay: P(i) ∝ (|δ_i| + ε)^α, importance weights (N P(i))^-β / max."""

    def __init__(self, capacity: int, state_dim: int, *, rng: np.random.Generator, alpha: float = 0.6,
                 eps: float = 1e-3, n_actions: int | None = None) -> None:
        super().__init__(capacity, state_dim, rng=rng, n_actions=n_actions)
        self.alpha, self.eps = alpha, eps
        self.tree = _SumTree(capacity)
        self.max_priority = 1.0

    def add(self, state: Any, action: int, reward: float, next_state: Any, discount: float,
            next_mask: Any = None) -> int:
        i = super().add(state, action, reward, next_state, discount, next_mask)
        self.tree.set(np.array([i]), np.array([self.max_priority**self.alpha]))
        return i

    def sample(self, batch_size: int, *, beta: float = 0.4) -> Batch:
        total = self.tree.total
        # stratified: one draw per equal slice of the total mass (as in Schaul et al.)
        mass = (np.arange(batch_size) + self.rng.random(batch_size)) * total / batch_size
        idx = np.minimum(self.tree.find(np.minimum(mass, np.nextafter(total, 0))), self.size - 1)
        prob = self.tree.get(idx) / total
        weight = (self.size * prob) ** (-beta)
        return self._batch(idx, weight / weight.max())

    def update_priorities(self, index: np.ndarray, td_error: np.ndarray) -> None:
        p = np.abs(np.asarray(td_error, dtype=np.float64)) + self.eps
        self.max_priority = max(self.max_priority, float(p.max()))
        self.tree.set(index, p**self.alpha)


class NStepAccumulator:
    """Builds n-step transitions from single environment steps.

    ``push`` returns the transitions that became complete: (s_t, a_t, R, s_{t+k}, γ^k or 0,
    mask of s_{t+k}), ready for ``buffer.add(*transition)``.
    """

    def __init__(self, n: int, gamma: float) -> None:
        if n < 1:
            raise DataError(f"n-step must be >= 1, got {n}")
        self.n, self.gamma = n, gamma
        self.queue: deque[tuple[Any, int, float]] = deque()

    def push(self, state: Any, action: int, reward: float, next_state: Any, terminated: bool,
             truncated: bool, next_mask: Any = None) -> list[tuple[Any, int, float, Any, float, Any]]:
        self.queue.append((state, action, reward))
        out = []
        if len(self.queue) == self.n:
            out.append(self._pop(next_state, terminated, next_mask))
        if terminated or truncated:
            while self.queue:
                out.append(self._pop(next_state, terminated, next_mask))
        return out

    def _pop(self, next_state: Any, terminated: bool, next_mask: Any) -> tuple[Any, int, float, Any, float, Any]:
        ret = sum(self.gamma**k * r for k, (_, _, r) in enumerate(self.queue))
        k = len(self.queue)
        s, a, _ = self.queue.popleft()
        return s, a, float(ret), next_state, 0.0 if terminated else self.gamma**k, next_mask
