"""DQN with a ring-topology VQC as its Q-function (the VQR-DQN idea at small scale), and a classical twin.

Nguyen, Nguyen & Cao (2025, arXiv:2512.05946) put a ring-topology variational
circuit inside Rainbow DQN. probe keeps the cheap parts of Rainbow:

- replay buffer (uniform or proportional prioritised, :mod:`probe.qml.replay_buffers`),
- a target network (hard copy every ``target_every`` updates),
- double Q-learning (online argmax, target evaluation; van Hasselt et al. 2016),
- n-step returns,

and leaves out the distributional head and noisy nets (ε-greedy instead).

Q-functions (``agent=``):

- ``vqc-ring-dqn``: data re-uploading ring VQC on one qubit per observation
  feature: per layer RX(λ_{l,i} · arctan s_i) on wire i (trainable input scales
  λ, as in Skolik, Jerbi & Dunjko 2022, arXiv:2103.15084), then RY and RZ
  rotations and CNOT(i, i+1 mod n); ⟨Z_i⟩ of every wire through a linear layer
  gives Q(s, ·).
- ``mlp-dqn``: Linear-ReLU-Linear with the hidden width chosen so the parameter
  count equals the VQC's (± 4).

Everything is seeded: numpy generators for exploration and replay, a private
torch generator for initial weights, ``env.reset(seed=...)`` for the environment.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from probe._results import jsonable
from probe.errors import DataError
from probe.qml.replay_buffers import NStepAccumulator, PrioritizedReplay, ReplayBuffer
from probe.qml.training import seeded_linear
from probe.qsim import Circuit, expval_z, statevector

AGENTS = ("vqc-ring-dqn", "mlp-dqn")


# --------------------------------------------------------------------------- Q-functions


def reupload_ring_circuit(n: int, layers: int) -> Circuit:
    """Ring VQC with data re-uploading: input slots 0..layers·n-1, weights after them (2n per layer)."""
    c = Circuit(n)
    w = layers * n
    for layer in range(layers):
        for i in range(n):
            c.rx(i, param=layer * n + i)
        for rot in ("RY", "RZ"):
            for i in range(n):
                c.gate(rot, i, param=w)
                w += 1
        if n > 1:
            for i in range(n):
                c.cnot(i, (i + 1) % n)
    return c


class RingVQCQ(torch.nn.Module):
    """Q(s, ·) from a data re-uploading ring VQC (see module notes)."""

    def __init__(self, n_inputs: int, n_actions: int, layers: int, gen: torch.Generator) -> None:
        super().__init__()
        self.n, self.layers = n_inputs, layers
        self.circuit = reupload_ring_circuit(n_inputs, layers)
        n_weights = self.circuit.n_params - layers * n_inputs
        self.weights = torch.nn.Parameter(2 * math.pi * torch.rand(n_weights, generator=gen, dtype=torch.float64))
        self.input_scale = torch.nn.Parameter(torch.ones(layers, n_inputs, dtype=torch.float64))
        self.head = seeded_linear(n_inputs, n_actions, gen)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        angles = (self.input_scale[None] * torch.arctan(s)[:, None, :]).reshape(s.shape[0], -1)
        return self.head(expval_z(statevector(self.circuit, angles, self.weights)))


class MLPQ(torch.nn.Module):
    """Linear(n_inputs, hidden) - ReLU - Linear(hidden, n_actions)."""

    def __init__(self, n_inputs: int, n_actions: int, hidden: int, gen: torch.Generator) -> None:
        super().__init__()
        self.body = seeded_linear(n_inputs, hidden, gen)
        self.head = seeded_linear(hidden, n_actions, gen)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(s)))


def vqc_parameter_count(n_inputs: int, n_actions: int, layers: int) -> int:
    """Input scales + rotation angles + linear head: layers·3n + n·A + A."""
    return layers * 3 * n_inputs + n_inputs * n_actions + n_actions


def matched_hidden(n_params: int, n_inputs: int, n_actions: int) -> int:
    """MLP hidden width with (n_inputs + 1 + n_actions)·h + n_actions closest to ``n_params``."""
    return max(1, round((n_params - n_actions) / (n_inputs + 1 + n_actions)))


def make_qnet(agent: str, n_inputs: int, n_actions: int, *, layers: int, gen: torch.Generator) -> torch.nn.Module:
    if agent == "vqc-ring-dqn":
        return RingVQCQ(n_inputs, n_actions, layers, gen)
    if agent == "mlp-dqn":
        hidden = matched_hidden(vqc_parameter_count(n_inputs, n_actions, layers), n_inputs, n_actions)
        return MLPQ(n_inputs, n_actions, hidden, gen)
    raise DataError(f"unknown agent {agent!r}", hint=f"use one of {', '.join(AGENTS)}")


# --------------------------------------------------------------------------- training


@dataclass(frozen=True, slots=True)
class DQNConfig:
    """DQN hyper-parameters (defaults sized for CartPole on 2 CPU cores)."""

    gamma: float = 0.99
    lr: float = 0.01
    batch_size: int = 64
    buffer_size: int = 10_000
    learning_starts: int = 500
    train_every: int = 2
    target_every: int = 250
    n_step: int = 3
    double: bool = True
    prioritized: bool = True
    alpha: float = 0.6
    beta_start: float = 0.4
    eps_start: float = 1.0
    eps_end: float = 0.02
    eps_decay_steps: int = 5_000
    max_grad_norm: float = 10.0
    layers: int = 4


@dataclass(frozen=True, slots=True)
class DQNResult:
    """One training run: per-episode returns, greedy evaluation returns, sizes and time."""

    agent: str
    env: str
    seed: int
    returns: tuple[float, ...]
    eval_returns: tuple[float, ...]
    n_params: int
    steps: int
    updates: int
    seconds: float
    config: DQNConfig
    losses: tuple[float, ...] = field(default_factory=tuple)
    """Mean TD loss per episode (NaN before learning starts)."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"agent": self.agent, "seed": self.seed, "episode": np.arange(len(self.returns)),
                             "return": self.returns, "loss": self.losses})


def _epsilon(cfg: DQNConfig, step: int) -> float:
    frac = min(1.0, step / max(1, cfg.eps_decay_steps))
    return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)


def _update(online: torch.nn.Module, target: torch.nn.Module, opt: torch.optim.Optimizer, buffer: ReplayBuffer,
            cfg: DQNConfig, beta: float) -> float:
    b = buffer.sample(cfg.batch_size, beta=beta)
    s, s2 = torch.as_tensor(b.state), torch.as_tensor(b.next_state)
    n = s.shape[0]
    # one online pass over s and s' together: circuit simulation cost is per call, not per row
    q_all = online(torch.cat([s, s2]) if cfg.double else s)
    q = q_all[:n].gather(1, torch.as_tensor(b.action)[:, None]).squeeze(1)
    with torch.no_grad():
        q_next_target = target(s2)
        if cfg.double:  # online network picks the action, target network values it
            a2 = q_all[n:].detach().argmax(dim=1, keepdim=True)
            q_next = q_next_target.gather(1, a2).squeeze(1)
        else:
            q_next = q_next_target.max(dim=1).values
        y = torch.as_tensor(b.reward) + torch.as_tensor(b.discount) * q_next
    td = y - q
    loss = (torch.as_tensor(b.weight) * torch.nn.functional.smooth_l1_loss(q, y, reduction="none")).mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(online.parameters(), cfg.max_grad_norm)
    opt.step()
    buffer.update_priorities(b.index, td.detach().numpy())
    return float(loss.detach())


def greedy_returns(qnet: torch.nn.Module, env: Any, *, episodes: int, seed: int) -> list[float]:
    """Returns of the greedy policy over ``episodes`` episodes (environment seeds seed, seed+1, ...)."""
    out = []
    for k in range(episodes):
        s, _ = env.reset(seed=seed + k)
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                a = int(qnet(torch.as_tensor(np.asarray(s, dtype=np.float64))[None]).argmax())
            s, r, terminated, truncated, _ = env.step(a)
            total += float(r)
            done = terminated or truncated
        out.append(total)
    return out


def train_dqn(make_env: Callable[[], Any], agent: str, *, episodes: int, seed: int = 0,
              config: DQNConfig | None = None, eval_episodes: int = 10, env_name: str = "",
              on_episode: Callable[[int, float], None] | None = None) -> DQNResult:
    """Train one DQN agent for ``episodes`` episodes, then evaluate its greedy policy.

    Parameters
    ----------
    make_env : callable returning a gymnasium environment with a Box observation and Discrete actions.
    agent : {"vqc-ring-dqn", "mlp-dqn"}
    episodes : int
        Training episodes.
    seed : int
        Seeds the environment (reset(seed)), exploration, replay sampling and initial weights.
    config : DQNConfig
    eval_episodes : int
        Greedy evaluation episodes after training (environment seeds 10_000 + seed + k).
    """
    cfg = config or DQNConfig()
    env, eval_env = make_env(), make_env()
    n_inputs = int(np.prod(env.observation_space.shape))
    n_actions = int(env.action_space.n)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    online = make_qnet(agent, n_inputs, n_actions, layers=cfg.layers, gen=gen)
    target = copy.deepcopy(online)
    opt = torch.optim.Adam(online.parameters(), lr=cfg.lr)
    buffer_cls = PrioritizedReplay if cfg.prioritized else ReplayBuffer
    buffer = buffer_cls(cfg.buffer_size, n_inputs, rng=rng, **({"alpha": cfg.alpha} if cfg.prioritized else {}))
    nstep = NStepAccumulator(cfg.n_step, cfg.gamma)
    env.action_space.seed(seed)
    returns, losses = [], []
    steps = updates = 0
    start = time.perf_counter()
    total_steps_hint = max(1, episodes * 100)
    for episode in range(episodes):
        s, _ = env.reset(seed=seed if episode == 0 else None)
        done, total, ep_losses = False, 0.0, []
        while not done:
            if rng.random() < _epsilon(cfg, steps):
                a = int(rng.integers(n_actions))
            else:
                with torch.no_grad():
                    a = int(online(torch.as_tensor(np.asarray(s, dtype=np.float64))[None]).argmax())
            s2, r, terminated, truncated, _ = env.step(a)
            for tr in nstep.push(np.asarray(s, dtype=np.float64), a, float(r), np.asarray(s2, dtype=np.float64),
                                 terminated, truncated):
                buffer.add(*tr)
            s, total, steps, done = s2, total + float(r), steps + 1, terminated or truncated
            if steps >= cfg.learning_starts and steps % cfg.train_every == 0 and len(buffer) >= cfg.batch_size:
                beta = cfg.beta_start + (1 - cfg.beta_start) * min(1.0, steps / total_steps_hint)
                ep_losses.append(_update(online, target, opt, buffer, cfg, beta))
                updates += 1
                if updates % cfg.target_every == 0:
                    target.load_state_dict(online.state_dict())
        returns.append(total)
        losses.append(float(np.mean(ep_losses)) if ep_losses else math.nan)
        if on_episode is not None:
            on_episode(episode, total)
    seconds = time.perf_counter() - start
    evals = greedy_returns(online, eval_env, episodes=eval_episodes, seed=10_000 + seed) if eval_episodes else []
    n_params = int(sum(p.numel() for p in online.parameters() if p.requires_grad))
    return DQNResult(agent, env_name, seed, tuple(returns), tuple(evals), n_params, steps, updates, seconds, cfg,
                     tuple(losses))


# --------------------------------------------------------------------------- a known-answer environment


class TwoArmedBandit:
    """One-step episodes: action 1 pays ``reward`` (default 1), action 0 pays 0; the observation is constant.

    Written against the gymnasium API (reset/step, Box observation, Discrete
    actions) so DQN can be checked on a problem whose answer is known:
    Q(s, 1) = 1, Q(s, 0) = 0, greedy action 1.
    """

    def __init__(self, reward: float = 1.0) -> None:
        import gymnasium

        self.reward = reward
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float64)
        self.action_space = gymnasium.spaces.Discrete(2)
        self._obs = np.array([0.3, -0.2])

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self.action_space.seed(seed)
        return self._obs.copy(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        return self._obs.copy(), self.reward * float(action == 1), True, False, {}


def make_env(name: str) -> Callable[[], Any]:
    """A factory for ``bandit`` (:class:`TwoArmedBandit`) or any gymnasium id with Box/Discrete spaces."""
    if name == "bandit":
        return TwoArmedBandit
    import gymnasium

    try:
        probe_env = gymnasium.make(name)
    except gymnasium.error.Error as exc:
        raise DataError(f"unknown gymnasium environment {name!r} ({exc})", hint="e.g. CartPole-v1, Acrobot-v1") from exc
    ok = isinstance(probe_env.action_space, gymnasium.spaces.Discrete) and isinstance(
        probe_env.observation_space, gymnasium.spaces.Box) and len(probe_env.observation_space.shape) == 1
    n_obs = probe_env.observation_space.shape[0] if ok else 0
    probe_env.close()
    if not ok:
        raise DataError(f"{name}: DQN here needs a 1-D Box observation and Discrete actions")
    if n_obs > 12:
        raise DataError(f"{name}: {n_obs} observation features would need {n_obs} qubits (limit 12)")
    return lambda: gymnasium.make(name)
