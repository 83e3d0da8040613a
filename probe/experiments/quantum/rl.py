"""DQN with a ring-VQC Q-function beside a parameter-matched MLP (``probe quantum rl``, ``probe.quantum.rl``).

The VQR-DQN idea at small scale (Nguyen et al. 2025, arXiv:2512.05946): every agent
is trained with :func:`probe.qml.rl.train_dqn` for every seed; each (agent, seed)
run goes to ``items.jsonl`` when it finishes, so rerunning the same command after an
interruption trains only the missing runs. With three or more seeds and both the
VQC and the MLP agent, their greedy evaluation returns are compared paired by seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from probe._results import jsonable
from probe.errors import DataError, SettingError
from probe.experiments.quantum.folder_run import done_items, run_in_folder
from probe.experiments.quantum.values import check_seed, names, normalize
from probe.progress import Progress
from probe.protocol import How, Plan, Result, Settings, Study

COMPARED = ("vqc-ring-dqn", "mlp-dqn")
"""The first pair of agents tested against each other (quantum first); all pairs: probe.qml.rl.TWINS."""


@dataclass(frozen=True, slots=True)
class RLSettings(Settings):
    """The environment, the agents, the seeds and the DQN hyper-parameters."""

    experiment: ClassVar[str] = "quantum-rl"

    env: str = "CartPole-v1"
    """A gymnasium id (Box observation, Discrete actions) or one of :data:`probe.qml.rl.ENVIRONMENTS`
    (bandit, coin-bandit, chain, the HRAP benchmarks hrap-3x8 … hrap-6x20)."""
    agent: tuple[str, ...] = ("vqc-ring-dqn", "mlp-dqn")
    """Agents (a list or a comma string): see :data:`probe.qml.rl.AGENTS`."""
    episodes: int = 300
    seeds: int = 1
    """Independent runs per agent (seeds seed..seed+seeds-1)."""
    seed: int = 0
    layers: int = 4
    """VQC layers (the MLP is sized to match)."""
    lr: float = 0.01
    """Adam learning rate (every agent)."""
    batch_size: int = 64
    train_every: int = 2
    """Environment steps per gradient update."""
    n_step: int = 3
    double: bool = True
    """Double-Q targets (else plain max)."""
    prioritized: bool = True
    """Prioritised replay (else uniform)."""
    eval_episodes: int = 10
    """Greedy evaluation episodes after training."""
    gamma: float = 0.99
    """Discount factor."""
    dueling: bool = False
    """Dueling head (for vqc-ring-dqn / mlp-dqn; vqr-dqn and rainbow-dqn always have every Rainbow part)."""
    noisy: bool = False
    """Noisy-net head instead of ε-greedy."""
    distributional: bool = False
    """C51 head (51 atoms)."""
    qubits: int | None = None
    """VQC width; None: one qubit per observation feature (else a trainable linear map to this many angles)."""

    def __post_init__(self) -> None:
        normalize(self, {"agent": lambda v: names(v, param="agent")})

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        data = dict(data)
        config = data.pop("config", None)  # run folders written before these settings were fields
        if isinstance(config, dict):
            for name in ("layers", "lr", "batch_size", "train_every", "n_step", "double", "prioritized", "gamma"):
                data.setdefault(name, config.get(name))
            data = {k: v for k, v in data.items() if v is not None}
        return Settings.from_dict.__func__(cls, data)  # type: ignore[attr-defined]

    @property
    def seed_list(self) -> list[int]:
        return [self.seed + i for i in range(self.seeds)]

    def config(self) -> Any:
        """The :class:`probe.qml.rl.DQNConfig` of these settings."""
        from probe.qml import rl

        return rl.DQNConfig(lr=self.lr, layers=self.layers, n_step=self.n_step, double=self.double,
                            prioritized=self.prioritized, train_every=self.train_every, batch_size=self.batch_size,
                            gamma=self.gamma, dueling=self.dueling, noisy=self.noisy,
                            distributional=self.distributional, qubits=self.qubits)

    def validate(self) -> None:
        self.prepare()

    def prepare(self) -> Any:
        """The environment factory (gymnasium is asked once); raises for the first bad setting."""
        from probe.qml import rl

        check_seed(self.seed)
        agents = names(self.agent, param="agent")
        bad = [a for a in agents if a not in rl.AGENTS]
        if bad:
            raise SettingError("agent", ",".join(bad), "unknown agent(s)", hint=f"use {', '.join(rl.AGENTS)}")
        for name in ("episodes", "seeds", "layers", "batch_size", "train_every", "n_step"):
            if getattr(self, name) < 1:
                raise SettingError(name, getattr(self, name), "must be >= 1")
        if self.eval_episodes < 0:
            raise SettingError("eval_episodes", self.eval_episodes, "must be >= 0")
        if not self.lr > 0:
            raise SettingError("lr", self.lr, "must be > 0")
        if not 0 < self.gamma <= 1:
            raise SettingError("gamma", self.gamma, "must lie in (0, 1]")
        if self.qubits is not None and self.qubits < 1:
            raise SettingError("qubits", self.qubits, "must be >= 1")
        try:
            factory = rl.make_env(self.env)
        except DataError as exc:
            raise SettingError("env", self.env, exc.message, hint=exc.hint) from None
        try:
            rl.check_setup(agents, factory, self.config())
        except DataError as exc:
            raise SettingError("qubits", self.qubits, exc.message, hint=exc.hint) from None
        return factory


def summarize_runs(runs: list[dict[str, Any]], agents: list[str], eval_episodes: int,
                   config: Any = None) -> list[dict[str, Any]]:
    """Per agent: mean ± SD over seeds of the last-20-episode return and of the greedy evaluation return,
    and (with ``config``) the Rainbow components the agent trained with."""
    import numpy as np

    from probe.qml import rl

    out = []
    for agent in agents:
        mine = [r for r in runs if r["agent"] == agent]
        last = [float(np.mean(r["returns"][-20:])) for r in mine]
        ev = [float(np.mean(r["eval_returns"])) for r in mine if r["eval_returns"]]
        out.append({"agent": agent, "n_seeds": len(mine), "n_params": mine[0]["n_params"],
                    "last20_mean": float(np.mean(last)), "last20_sd": float(np.std(last, ddof=1)) if len(last) > 1 else None,
                    "eval_mean": float(np.mean(ev)) if ev else None,
                    "eval_sd": float(np.std(ev, ddof=1)) if len(ev) > 1 else None,
                    "eval_episodes": eval_episodes, "steps_mean": float(np.mean([r["steps"] for r in mine])),
                    "seconds_mean": float(np.mean([r["seconds"] for r in mine]))})
        if config is not None:
            resolved = rl.resolve_config(agent, config)
            out[-1]["components"] = {k: getattr(resolved, k) for k in ("double", "prioritized", "n_step", "dueling",
                                                                        "noisy", "distributional")}
    return out


def compare_agents(runs: list[dict[str, Any]], agents: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    """Paired tests (two-sided, by seed) of each quantum agent against its classical twin
    (:data:`probe.qml.rl.TWINS`) on the evaluation return (the last 20 training returns where there
    was no evaluation); [] with fewer than 3 seeds."""
    import numpy as np

    from probe.analysis.paired import comparisons_frame, paired_compare
    from probe.qml import rl

    if len(seeds) < 3:
        return []
    score = {(r["agent"], r["seed"]): float(np.mean(r["eval_returns"] or r["returns"][-20:])) for r in runs}
    comps = []
    for qa, ca in rl.TWINS.items():
        if qa not in agents or ca not in agents:
            continue
        a = [score[(qa, s)] for s in seeds]
        b = [score[(ca, s)] for s in seeds]
        if np.any(np.asarray(a) != np.asarray(b)):
            comps.append(paired_compare(a, b, alternative="two-sided", name_a=qa, name_b=ca))
    return comparisons_frame(comps).to_dict(orient="records") if comps else []


@dataclass(frozen=True)
class RLResult(Result):
    """``r.summary`` per agent, ``r.eval_return("mlp-dqn")`` -> (mean, SD over seeds), ``r.runs``;
    ``r.to_frame()``: the summary table."""

    experiment: ClassVar[str] = "quantum-rl"
    settings_type: ClassVar[type] = RLSettings

    @property
    def summary(self) -> list[dict[str, Any]]:
        return list(self.result.get("summary") or [])

    @property
    def runs(self) -> list[dict[str, Any]]:
        return list(self.result.get("runs") or [])

    @property
    def comparisons(self) -> list[dict[str, Any]]:
        return list(self.result.get("comparisons") or [])

    def eval_return(self, agent: str) -> tuple[float | None, float | None]:
        for s in self.summary:
            if s["agent"] == agent:
                return s["eval_mean"], s["eval_sd"]
        raise KeyError(agent)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.summary)


def _item_id(agent: str, seed: int) -> str:
    return f"{agent}/{seed}"


def plan(settings: RLSettings, how: How | None = None) -> Plan:
    how = how or How()
    settings.prepare()
    how.validate()
    n = len(settings.agent) * settings.seeds
    done = done_items(how)
    return Plan(RLSettings.experiment, f"{', '.join(settings.agent)} on {settings.env}: {n} runs of "
                                       f"{settings.episodes} episodes", items=n,
                notes=(f"{done} runs already in {how.out}/items.jsonl",) if done else ())


def run(settings: RLSettings, how: How | None = None) -> RLResult:
    """Train (or resume) every (agent, seed) run, summarise, test, and write the run folder."""
    from probe.qml import rl

    how = how or How()
    factory = settings.prepare()
    how.validate()
    cfg = settings.config()
    agents, seeds = list(settings.agent), settings.seed_list

    def compute(items: Any) -> dict[str, Any]:
        todo = [(a, s) for a in agents for s in seeds if _item_id(a, s) not in items]
        with Progress("episodes", total=len(todo) * settings.episodes, enabled=how.progress, unit="episodes") as bar:
            for agent, seed in todo:
                bar.update(description=f"{agent} seed {seed}")
                res = rl.train_dqn(factory, agent, episodes=settings.episodes, seed=seed, config=cfg,
                                   eval_episodes=settings.eval_episodes, env_name=settings.env,
                                   on_episode=lambda _e, _r: bar.advance())
                items.add(_item_id(agent, seed), jsonable(
                    {"agent": res.agent, "seed": res.seed, "returns": list(res.returns),
                     "eval_returns": list(res.eval_returns), "losses": list(res.losses), "n_params": res.n_params,
                     "steps": res.steps, "updates": res.updates, "seconds": res.seconds}))
        runs = [items.get(_item_id(a, s)) for a in agents for s in seeds]
        return {"env": settings.env, "agents": agents, "seeds": seeds, "episodes": settings.episodes,
                "config": dataclasses.asdict(cfg), "summary": summarize_runs(runs, agents, settings.eval_episodes, cfg),
                "comparisons": compare_agents(runs, agents, seeds), "runs": runs}

    return run_in_folder(settings, how, name=settings.env, result_type=RLResult, compute=compute)


STUDY = Study(RLSettings.experiment, RLSettings, RLResult, plan, run,
              summary="DQN with a ring-VQC Q-function beside a parameter-matched MLP")

__all__ = ["STUDY", "RLResult", "RLSettings", "compare_agents", "plan", "run", "summarize_runs"]
