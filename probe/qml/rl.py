"""DQN and Rainbow with a ring-VQC or an MLP feature extractor: VQR-DQN and its classical twins.

Nguyen, Nguyen & Cao (2025, arXiv:2512.05946) put ring-topology variational circuits
inside Rainbow DQN (Hessel et al. 2018, arXiv:1710.02298). Every Rainbow component is
a switch of :class:`DQNConfig`:

==================  =======================================================  ============
component           what it does                                             switch
==================  =======================================================  ============
target network      hard copy every ``target_every`` updates                 always on
double Q            online argmax, target evaluation (van Hasselt 2016)      ``double``
prioritised replay  proportional, sum tree (Schaul et al. 2016)              ``prioritized``
n-step returns      Σ γ^k r_{t+k}, bootstrap γ^n                             ``n_step``
dueling             Q = V + A − mean A (Wang et al. 2016)                    ``dueling``
distributional      C51 on ``n_atoms`` atoms in [v_min, v_max]               ``distributional``
noisy nets          factorised Gaussian NoisyLinear head, no ε-greedy        ``noisy``
==================  =======================================================  ============

Agents (``agent=``) name a feature extractor and, for the paper's three agents,
fix the components:

- ``vqc-ring-dqn`` / ``mlp-dqn``: ring VQC / MLP features, components as the config says.
- ``vqr-dqn``: ring VQC + full Rainbow (double, PER, n-step, dueling, C51, noisy): VQR-DQN.
- ``rainbow-dqn``: the classical Rainbow twin: the same, with MLP features.
- ``double-dqn``: MLP, double Q only (uniform replay, 1-step, ε-greedy, no dueling/C51/noise).

Every MLP agent is sized (``hidden=None``) so that its whole network has the parameter
count of the ring-VQC network with the same components (:mod:`probe.qml.rl_networks`).
With ``qubits=None`` the VQC has one qubit per observation feature; ``qubits=n`` puts a
trainable linear map to n angles first. Environments may report the allowed actions in
``info["action_mask"]`` (:mod:`probe.qml.hr_allocation`): acting, ε-exploration and the
bootstrap then range over allowed actions only. Losses: Huber on the TD error
(expected heads), cross-entropy to the projected target (C51), both weighted by the
importance weights; priorities |δ| or the KL (as in Rainbow).

Everything is seeded: numpy generators for exploration and replay, a private torch
generator for initial weights and for the noise, ``env.reset(seed=...)``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from probe._results import jsonable
from probe.errors import DataError
from probe.qml.distributional import categorical_loss, expected_value, project_distribution
from probe.qml.hr_allocation import BENCHMARKS, HRAllocationEnv, benchmark
from probe.qml.noisy import reset_noise, set_noise_generator
from probe.qml.replay_buffers import NStepAccumulator, PrioritizedReplay, ReplayBuffer
from probe.qml.rl_networks import (
    MLPFeatures,
    QHead,
    QNetwork,
    RingVQCFeatures,
    matched_hidden,
    reupload_ring_circuit,
    vqc_parameter_count,
)
from probe.qml.toy_envs import ChainMDP, CoinBandit, TwoArmedBandit
from probe.qsim.blocked import one_torch_thread

__all__ = [
    "AGENTS",
    "ENVIRONMENTS",
    "TWINS",
    "DQNConfig",
    "DQNResult",
    "TwoArmedBandit",
    "check_setup",
    "fit_agent",
    "greedy_episodes",
    "greedy_returns",
    "make_env",
    "make_qnet",
    "matched_hidden",
    "resolve_config",
    "reupload_ring_circuit",
    "train_dqn",
    "vqc_parameter_count",
]

_RAINBOW = {"double": True, "prioritized": True, "dueling": True, "noisy": True, "distributional": True}
_DOUBLE = {"double": True, "prioritized": False, "dueling": False, "noisy": False, "distributional": False,
           "n_step": 1}
_PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "vqc-ring-dqn": ("vqc-ring", {}), "mlp-dqn": ("mlp", {}), "vqr-dqn": ("vqc-ring", _RAINBOW),
    "rainbow-dqn": ("mlp", _RAINBOW), "double-dqn": ("mlp", _DOUBLE)}
AGENTS = tuple(_PRESETS)
TWINS = {"vqc-ring-dqn": "mlp-dqn", "vqr-dqn": "rainbow-dqn"}
"""Each quantum agent and its parameter-matched classical twin."""
ENVIRONMENTS = ("bandit", "coin-bandit", "chain", *BENCHMARKS)
"""probe's own environments; any gymnasium id with a Box observation and Discrete actions works too."""


@dataclass(frozen=True, slots=True)
class DQNConfig:
    """DQN / Rainbow hyper-parameters (defaults: the cheap Rainbow parts on, sized for CartPole on 2 CPU cores)."""

    gamma: float = 0.99
    lr: float = 0.01
    batch_size: int = 64
    buffer_size: int = 10_000
    learning_starts: int = 500
    """Warm-up steps with uniform random (allowed) actions before the first update (as stable-baselines3 does)."""
    train_every: int = 2
    target_every: int = 250
    n_step: int = 3
    double: bool = True
    prioritized: bool = True
    alpha: float = 0.6
    beta_start: float = 0.4
    """Importance-sampling exponent, annealed linearly to 1 over the training episodes."""
    eps_start: float = 1.0
    eps_end: float = 0.02
    eps_decay_steps: int = 5_000
    """ε-greedy schedule (unused with ``noisy``: noisy nets explore, ε = 0)."""
    max_grad_norm: float = 10.0
    layers: int = 4
    """Ring-VQC layers."""
    dueling: bool = False
    noisy: bool = False
    distributional: bool = False
    n_atoms: int = 51
    v_min: float | None = None
    v_max: float | None = None
    """C51 support; None: the environment's ``return_range`` if it has one, else [−10, 10]."""
    sigma0: float = 0.5
    """Initial noise scale σ₀ of the noisy layers (σ = σ₀/√fan-in)."""
    qubits: int | None = None
    """VQC width; None: one qubit per observation feature (no input map)."""
    hidden: int | None = None
    """MLP width; None: matched to the ring-VQC network's parameter count."""

    def head(self) -> dict[str, Any]:
        return {"dueling": self.dueling, "distributional": self.distributional, "noisy": self.noisy,
                "n_atoms": self.n_atoms}


def resolve_config(agent: str, config: DQNConfig | None = None) -> DQNConfig:
    """The config an agent trains with: ``config`` with the agent's fixed components applied."""
    if agent not in _PRESETS:
        raise DataError(f"unknown agent {agent!r}", hint=f"use one of {', '.join(AGENTS)}")
    return dataclasses.replace(config or DQNConfig(), **_PRESETS[agent][1])


def make_qnet(agent: str, n_inputs: int, n_actions: int, *, config: DQNConfig, gen: torch.Generator,
              return_range: tuple[float, float] | None = None) -> QNetwork:
    """The agent's Q-network for ``config`` (already resolved with :func:`resolve_config`)."""
    cfg = config
    default = (-10.0, 10.0) if return_range is None else return_range
    lo = default[0] if cfg.v_min is None else cfg.v_min
    hi = default[1] if cfg.v_max is None else cfg.v_max
    extractor = _PRESETS[agent][0]
    if extractor == "vqc-ring":
        features: torch.nn.Module = RingVQCFeatures(n_inputs, cfg.layers, gen, qubits=cfg.qubits)
    else:
        hidden = cfg.hidden or matched_hidden(
            vqc_parameter_count(n_inputs, n_actions, cfg.layers, qubits=cfg.qubits, **cfg.head()),
            n_inputs, n_actions, **cfg.head())
        features = MLPFeatures(n_inputs, hidden, gen)
    head = QHead(features.out_features, n_actions, gen, sigma0=cfg.sigma0, **cfg.head())
    return QNetwork(features, head, v_min=lo, v_max=hi)


# --------------------------------------------------------------------------- results


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
    """Mean loss per episode (NaN before learning starts)."""
    eval_info: tuple[dict[str, float], ...] = field(default_factory=tuple)
    """The numeric items of each greedy episode's last ``info`` (e.g. ``makespan``)."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"agent": self.agent, "seed": self.seed, "episode": np.arange(len(self.returns)),
                             "return": self.returns, "loss": self.losses})


# --------------------------------------------------------------------------- learning


def _mask_of(info: dict[str, Any], n_actions: int) -> np.ndarray:
    mask = info.get("action_mask")
    return np.ones(n_actions, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)


def _masked_argmax(q: torch.Tensor, mask: np.ndarray | torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return q.argmax(-1)
    m = torch.as_tensor(mask, dtype=torch.bool)
    m = m | ~m.any(-1, keepdim=True)  # an all-false mask (terminal state) allows everything
    return q.masked_fill(~m, -math.inf).argmax(-1)


def _epsilon(cfg: DQNConfig, step: int) -> float:
    if cfg.noisy:
        return 0.0
    frac = min(1.0, step / max(1, cfg.eps_decay_steps))
    return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)


def _update(online: torch.nn.Module, target: torch.nn.Module, opt: torch.optim.Optimizer, buffer: ReplayBuffer,
            cfg: DQNConfig, beta: float) -> float:
    """One gradient step on a sampled minibatch; returns the loss."""
    b = buffer.sample(cfg.batch_size, beta=beta)
    s, s2 = torch.as_tensor(b.state), torch.as_tensor(b.next_state)
    a, n = torch.as_tensor(b.action), s.shape[0]
    reward, discount, weight = (torch.as_tensor(x) for x in (b.reward, b.discount, b.weight))
    if cfg.noisy:
        reset_noise(online)
        reset_noise(target)
    # one online pass over s and s' together: circuit simulation cost is per call, not per row
    both = torch.cat([s, s2]) if cfg.double else s
    if cfg.distributional:
        log_p = online.log_dist(both)
        with torch.no_grad():
            p_next = target.log_dist(s2).exp()
            chooser = expected_value(log_p[n:].exp() if cfg.double else p_next, target.atoms)
            a2 = _masked_argmax(chooser, b.next_mask)
            m = project_distribution(p_next[torch.arange(n), a2], reward, discount, target.atoms)
        loss_each, priority = categorical_loss(log_p[torch.arange(n), a], m)
    else:
        q_all = online(both)
        q = q_all[:n].gather(1, a[:, None]).squeeze(1)
        with torch.no_grad():
            q_next_target = target(s2)
            a2 = _masked_argmax(q_all[n:] if cfg.double else q_next_target, b.next_mask)
            y = reward + discount * q_next_target.gather(1, a2[:, None]).squeeze(1)
        loss_each = torch.nn.functional.smooth_l1_loss(q, y, reduction="none")
        priority = (y - q).detach().abs()
    loss = (weight * loss_each).mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(online.parameters(), cfg.max_grad_norm)
    opt.step()
    buffer.update_priorities(b.index, priority.numpy())
    return float(loss.detach())


def _greedy_action(qnet: torch.nn.Module, s: Any, mask: np.ndarray) -> int:
    with torch.no_grad():
        q = qnet(torch.as_tensor(np.asarray(s, dtype=np.float64))[None])[0]
    return int(_masked_argmax(q, mask))


def greedy_episodes(qnet: torch.nn.Module, env: Any, *, episodes: int,
                    seed: int) -> tuple[list[float], list[dict[str, float]]]:
    """Returns and last-step numeric info of the greedy policy (noise off) on seeds seed, seed+1, ..."""
    was_training = qnet.training
    qnet.eval()
    out, infos = [], []
    n_actions = int(env.action_space.n)
    for k in range(episodes):
        s, info = env.reset(seed=seed + k)
        done, total = False, 0.0
        while not done:
            s, r, terminated, truncated, info = env.step(_greedy_action(qnet, s, _mask_of(info, n_actions)))
            total += float(r)
            done = terminated or truncated
        out.append(total)
        infos.append({k2: float(v) for k2, v in info.items() if isinstance(v, int | float | np.number)})
    qnet.train(was_training)
    return out, infos


def greedy_returns(qnet: torch.nn.Module, env: Any, *, episodes: int, seed: int) -> list[float]:
    """Returns of the greedy policy over ``episodes`` episodes (environment seeds seed, seed+1, ...)."""
    return greedy_episodes(qnet, env, episodes=episodes, seed=seed)[0]


def train_dqn(make_env: Callable[[], Any], agent: str, *, episodes: int, seed: int = 0,
              config: DQNConfig | None = None, eval_episodes: int = 10, env_name: str = "",
              on_episode: Callable[[int, float], None] | None = None) -> DQNResult:
    """Train one agent for ``episodes`` episodes, then evaluate its greedy policy.

    Parameters
    ----------
    make_env : callable returning a gymnasium environment with a Box observation and Discrete actions
        (optionally ``info["action_mask"]`` and a ``return_range`` attribute for C51's support).
    agent : one of :data:`AGENTS`
    episodes : int
        Training episodes.
    seed : int
        Seeds the environment (reset(seed)), exploration, replay sampling, initial weights and noise.
    config : DQNConfig
        Resolved against the agent's fixed components (:func:`resolve_config`); the result keeps the resolved one.
    eval_episodes : int
        Greedy evaluation episodes after training (environment seeds 10_000 + seed + k).
    """
    return fit_agent(make_env, agent, episodes=episodes, seed=seed, config=config, eval_episodes=eval_episodes,
                     env_name=env_name, on_episode=on_episode)[0]


def fit_agent(make_env: Callable[[], Any], agent: str, *, episodes: int, seed: int = 0,
              config: DQNConfig | None = None, eval_episodes: int = 10, env_name: str = "",
              on_episode: Callable[[int, float], None] | None = None) -> tuple[DQNResult, QNetwork]:
    """:func:`train_dqn`, also returning the trained online network (to read its Q values or distributions)."""
    with one_torch_thread():  # small networks: threads cost more than they save, far more on shared cores
        return _train(make_env, agent, episodes, seed, resolve_config(agent, config), eval_episodes, env_name,
                      on_episode)


def _train(make_env: Callable[[], Any], agent: str, episodes: int, seed: int, cfg: DQNConfig, eval_episodes: int,
           env_name: str, on_episode: Callable[[int, float], None] | None) -> tuple[DQNResult, QNetwork]:
    env, eval_env = make_env(), make_env()
    n_inputs = int(np.prod(env.observation_space.shape))
    n_actions = int(env.action_space.n)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    online = make_qnet(agent, n_inputs, n_actions, config=cfg, gen=gen, return_range=getattr(env, "return_range", None))
    target = copy.deepcopy(online)
    set_noise_generator(target, torch.Generator().manual_seed(seed + 1_000_003))  # the target's own noise
    opt = torch.optim.Adam(online.parameters(), lr=cfg.lr)
    extra = {"alpha": cfg.alpha} if cfg.prioritized else {}
    buffer = (PrioritizedReplay if cfg.prioritized else ReplayBuffer)(cfg.buffer_size, n_inputs, rng=rng,
                                                                      n_actions=n_actions, **extra)
    nstep = NStepAccumulator(cfg.n_step, cfg.gamma)
    env.action_space.seed(seed)
    returns, losses = [], []
    steps = updates = 0
    start = time.perf_counter()
    for episode in range(episodes):
        s, info = env.reset(seed=seed if episode == 0 else None)
        mask = _mask_of(info, n_actions)
        done, total, ep_losses = False, 0.0, []
        beta = cfg.beta_start + (1 - cfg.beta_start) * episode / max(1, episodes - 1)
        while not done:
            if steps < cfg.learning_starts or rng.random() < _epsilon(cfg, steps):  # warm-up: uniform actions
                a = int(rng.choice(np.flatnonzero(mask)))
            else:
                if cfg.noisy:
                    reset_noise(online)
                a = _greedy_action(online, s, mask)
            s2, r, terminated, truncated, info = env.step(a)
            mask = _mask_of(info, n_actions)
            for tr in nstep.push(np.asarray(s, dtype=np.float64), a, float(r), np.asarray(s2, dtype=np.float64),
                                 terminated, truncated, mask):
                buffer.add(*tr)
            s, total, steps, done = s2, total + float(r), steps + 1, terminated or truncated
            if steps >= cfg.learning_starts and steps % cfg.train_every == 0 and len(buffer) >= cfg.batch_size:
                ep_losses.append(_update(online, target, opt, buffer, cfg, beta))
                updates += 1
                if updates % cfg.target_every == 0:
                    target.load_state_dict(online.state_dict())
        returns.append(total)
        losses.append(float(np.mean(ep_losses)) if ep_losses else math.nan)
        if on_episode is not None:
            on_episode(episode, total)
    seconds = time.perf_counter() - start
    evals, infos = (greedy_episodes(online, eval_env, episodes=eval_episodes, seed=10_000 + seed) if eval_episodes
                    else ([], []))
    n_params = int(sum(p.numel() for p in online.parameters() if p.requires_grad))
    return DQNResult(agent, env_name, seed, tuple(returns), tuple(evals), n_params, steps, updates, seconds, cfg,
                     tuple(losses), tuple(infos)), online


# --------------------------------------------------------------------------- environments


def make_env(name: str) -> Callable[[], Any]:
    """A factory for one of :data:`ENVIRONMENTS` or any gymnasium id with Box/Discrete spaces."""
    own: dict[str, Callable[[], Any]] = {"bandit": TwoArmedBandit, "coin-bandit": CoinBandit, "chain": ChainMDP}
    if name in own:
        return own[name]
    if name in BENCHMARKS:
        instance = benchmark(name)
        return lambda: HRAllocationEnv(instance)
    import gymnasium

    try:
        probe_env = gymnasium.make(name)
    except gymnasium.error.Error as exc:
        raise DataError(f"unknown gymnasium environment {name!r} ({exc})",
                        hint=f"e.g. CartPole-v1, Acrobot-v1, or one of {', '.join(ENVIRONMENTS)}") from exc
    ok = isinstance(probe_env.action_space, gymnasium.spaces.Discrete) and isinstance(
        probe_env.observation_space, gymnasium.spaces.Box) and len(probe_env.observation_space.shape) == 1
    probe_env.close()
    if not ok:
        raise DataError(f"{name}: DQN here needs a 1-D Box observation and Discrete actions")
    return lambda: gymnasium.make(name)


def check_setup(agents: list[str] | tuple[str, ...], make_env: Callable[[], Any], config: DQNConfig) -> None:
    """Build every agent's network once, so bad settings fail before any run starts (raises DataError)."""
    env = make_env()
    n_inputs, n_actions = int(np.prod(env.observation_space.shape)), int(env.action_space.n)
    for agent in agents:
        make_qnet(agent, n_inputs, n_actions, config=resolve_config(agent, config), gen=torch.Generator(),
                  return_range=getattr(env, "return_range", None))
