"""A human-resource allocation problem (HRAP) as a gymnasium MDP, after VQR-DQN's description.

Nguyen, Nguyen & Cao (2025, arXiv:2512.05946, SAC '26) frame HRAP "as a Markov
decision process with combinatorial action spaces based on officer capabilities,
event schedules, and transition times" and score policies by the makespan,
normalised against a random policy. That sentence (abstract) is all we could read of
their formulation: the body of the paper and the authors' code
(github.com/Analytics-Everywhere-Lab/qtrl) were not reachable here, nor their four
benchmark instances. Everything else below is **our choice**, written down so that it
can be compared with the paper when its text is at hand.

The problem
    M officers, K capabilities (skills), E events. Officer i holds a capability set
    (``capabilities[i, k]``); event j needs one capability ``skill[j]``, is scheduled
    to start at ``release[j]`` (the event schedule) and lasts ``duration[j]``.
    Moving takes time: ``travel_start[i, j]`` from officer i's starting post to event
    j, ``travel[j, j']`` from event j to event j' (the transition times; the
    generator draws positions in a 10 × 10 square, Euclidean distance / speed 2.5).
    An officer serves one event at a time and cannot start before the event's
    scheduled time.
The MDP (one decision per event: the combinatorial joint assignment, M^E actions,
becomes E sequential choices among M; the earlier HRAP study of P. Nguyen et al. 2021,
"Can Reinforcement Learning solve the Human Allocation Problem?", likewise decomposed
the task into an MDP with a reduced action space)
    Events are assigned in schedule order (by release time). Action i assigns the
    current event j to officer i: start = max(release_j, free_i + transition time from
    the officer's last position), finish = start + duration_j. The makespan is the
    latest finish over the assigned events. Reward of an assignment =
    (M̄/E − (makespan after − makespan before)) / M̄, with M̄ the mean makespan of the
    random policy (Monte Carlo, 1000 episodes, seed 0); so the undiscounted return of an
    episode is 1 − makespan / M̄, the normalised makespan reduction itself, and 0 means
    "as good as random". (Centring matters: an untrained C51 head values every action
    at the middle of its support, here 0, so untried actions look as good as random
    rather than worse than a poor habit.)
    Capabilities are hard constraints: ``info["action_mask"]`` marks the officers who
    can serve the current event, and probe's agents act and bootstrap only over
    those. An action outside the mask assigns nothing, costs ``invalid_penalty`` and
    keeps the event; an episode that has not finished after 4E steps is truncated.
Observation (3M + 1 numbers): for each officer i and the current event j, the
    makespan increase if i takes j, the delay of j's start past its scheduled time if i
    takes it (both / M̄; 1.0 when i lacks the capability), and the share of the
    events still to come that i is able to serve; then the fraction of events assigned.

Metric: normalised makespan reduction = 1 − makespan(policy) / mean makespan of the
random policy (uniform over the capable officers at every event), the quantity of the
paper's headline "26.8% normalized makespan reduction versus random baselines".

Benchmarks (:data:`BENCHMARKS`): four generated instances of growing size; the paper's
four are not public here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium
import numpy as np

from probe._results import jsonable
from probe.errors import DataError


@dataclass(frozen=True, slots=True)
class HRAPInstance:
    """One HRAP instance (see the module notes); times in arbitrary time units."""

    capabilities: np.ndarray
    """(M, K) bool: officer i holds capability k."""
    skill: np.ndarray
    """(E,) int: the capability event j needs; events are ordered by ``release``."""
    release: np.ndarray
    """(E,) float: scheduled start times, non-decreasing."""
    duration: np.ndarray
    """(E,) float: event durations."""
    travel_start: np.ndarray
    """(M, E) float: transition time from officer i's starting post to event j."""
    travel: np.ndarray
    """(E, E) float: transition time from event j to event j'."""
    name: str = ""

    @property
    def n_officers(self) -> int:
        return int(self.capabilities.shape[0])

    @property
    def n_events(self) -> int:
        return int(self.skill.shape[0])

    def capable(self, event: int) -> np.ndarray:
        """(M,) bool: the officers who can serve ``event``."""
        return self.capabilities[:, self.skill[event]]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def generate_instance(n_officers: int, n_events: int, n_skills: int, *, seed: int, load: float = 1.3,
                      skill_probability: float = 0.5, speed: float = 2.5, name: str = "") -> HRAPInstance:
    """A random HRAP instance.

    Parameters
    ----------
    n_officers, n_events, n_skills : int
        M, E, K.
    seed : int
        Seeds every draw.
    load : float
        Work offered per officer-time: the release times are uniform on [0, T] with
        T = E · mean duration / (M · load), so load > 1 means officers queue up.
    skill_probability : float
        Each officer holds each capability independently with this probability;
        every officer then gets at least one and every capability at least one holder.
    speed : float
        Distance units per time unit (positions uniform in a 10 × 10 square).
    """
    if min(n_officers, n_events, n_skills) < 1:
        raise DataError(f"an HRAP instance needs >= 1 officer, event and skill; got M={n_officers}, "
                        f"E={n_events}, K={n_skills}")
    rng = np.random.default_rng(seed)
    cap = rng.random((n_officers, n_skills)) < skill_probability
    for i in np.flatnonzero(~cap.any(1)):
        cap[i, rng.integers(n_skills)] = True
    for k in np.flatnonzero(~cap.any(0)):
        cap[rng.integers(n_officers), k] = True
    duration = rng.integers(1, 5, n_events).astype(float)
    horizon = n_events * duration.mean() / (n_officers * load)
    release = np.sort(np.round(rng.uniform(0, horizon, n_events), 1))
    skill = rng.integers(n_skills, size=n_events)
    posts, places = rng.uniform(0, 10, (n_officers, 2)), rng.uniform(0, 10, (n_events, 2))
    travel_start = np.linalg.norm(posts[:, None] - places[None], axis=-1) / speed
    travel = np.linalg.norm(places[:, None] - places[None], axis=-1) / speed
    return HRAPInstance(cap, skill, release, duration, np.round(travel_start, 2), np.round(travel, 2), name)


# name: (officers, events, skills, seed)
BENCHMARKS: dict[str, tuple[int, int, int, int]] = {
    "hrap-3x8": (3, 8, 3, 0),
    "hrap-4x12": (4, 12, 3, 1),
    "hrap-5x16": (5, 16, 4, 2),
    "hrap-6x20": (6, 20, 4, 3),
}


def benchmark(name: str) -> HRAPInstance:
    """One of the four generated benchmark instances (:data:`BENCHMARKS`)."""
    if name not in BENCHMARKS:
        raise DataError(f"unknown HRAP benchmark {name!r}", hint=f"use one of {', '.join(BENCHMARKS)}")
    m, e, k, seed = BENCHMARKS[name]
    return generate_instance(m, e, k, seed=seed, name=name)


# --------------------------------------------------------------------------- schedules


def _assign(inst: HRAPInstance, free: np.ndarray, last: np.ndarray, event: int, officer: int) -> tuple[float, float]:
    """(start, finish) of ``event`` if ``officer`` takes it, given free times and last positions (−1 = post)."""
    move = inst.travel_start[officer, event] if last[officer] < 0 else inst.travel[last[officer], event]
    start = max(float(inst.release[event]), float(free[officer] + move))
    return start, start + float(inst.duration[event])


def schedule_makespan(inst: HRAPInstance, assignment: Any) -> float:
    """Makespan of assigning event j to officer ``assignment[j]`` (events in schedule order).

    Raises
    ------
    DataError
        If an officer lacks an event's capability, or the assignment has the wrong length.
    """
    a = np.asarray(assignment, dtype=int)
    if a.shape != (inst.n_events,):
        raise DataError(f"assignment needs one officer per event ({inst.n_events}); got shape {a.shape}")
    free, last = np.zeros(inst.n_officers), np.full(inst.n_officers, -1)
    makespan = 0.0
    for j, i in enumerate(a):
        if not inst.capable(j)[i]:
            raise DataError(f"officer {i} lacks capability {inst.skill[j]} needed by event {j}")
        _, finish = _assign(inst, free, last, j, i)
        free[i], last[i], makespan = finish, j, max(makespan, finish)
    return makespan


def random_makespans(inst: HRAPInstance, *, episodes: int = 1000, seed: int = 0) -> np.ndarray:
    """Makespans of the random policy (uniform over capable officers at each event); shape (episodes,)."""
    rng = np.random.default_rng(seed)
    choices = [np.flatnonzero(inst.capable(j)) for j in range(inst.n_events)]
    return np.array([schedule_makespan(inst, [rng.choice(c) for c in choices]) for _ in range(episodes)])


def greedy_assignment(inst: HRAPInstance) -> np.ndarray:
    """Earliest-finish-time heuristic: each event to the capable officer who would finish it first."""
    free, last = np.zeros(inst.n_officers), np.full(inst.n_officers, -1)
    out = np.empty(inst.n_events, dtype=int)
    for j in range(inst.n_events):
        cands = np.flatnonzero(inst.capable(j))
        finishes = [_assign(inst, free, last, j, i)[1] for i in cands]
        i = int(cands[int(np.argmin(finishes))])
        out[j] = i
        free[i], last[i] = _assign(inst, free, last, j, i)[1], j
    return out


def optimal_makespan(inst: HRAPInstance, *, limit: int = 200_000) -> float | None:
    """The exact optimum by enumeration, or None when there are more than ``limit`` feasible assignments."""
    choices = [np.flatnonzero(inst.capable(j)) for j in range(inst.n_events)]
    if np.prod([len(c) for c in choices], dtype=float) > limit:
        return None
    return min(schedule_makespan(inst, a) for a in itertools.product(*choices))


def makespan_reduction(makespan: float, random_mean: float) -> float:
    """Normalised makespan reduction versus random: 1 − makespan / mean random makespan."""
    return 1.0 - makespan / random_mean


# --------------------------------------------------------------------------- the environment


class HRAllocationEnv(gymnasium.Env):
    """The HRAP MDP of the module notes (gymnasium API; ``info["action_mask"]`` lists the capable officers).

    Parameters
    ----------
    instance : HRAPInstance
    invalid_penalty : float
        Reward of an action outside the mask (nothing is assigned).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, instance: HRAPInstance, *, invalid_penalty: float = 1.0, baseline_episodes: int = 1000) -> None:
        self.instance, self.invalid_penalty = instance, invalid_penalty
        m = instance.n_officers
        self.baseline = float(random_makespans(instance, episodes=baseline_episodes, seed=0).mean())
        """M̄: mean makespan of the random policy, the reward scale and the metric's reference."""
        self.return_range = (-1.0, 1.0)
        """C51's support: the return 1 − makespan/M̄ is at most 1; below −1 (twice the random makespan) it is clipped."""
        worst = instance.release.max() + (instance.duration + max(instance.travel.max(),
                                                                  instance.travel_start.max())).sum()
        self.observation_space = gymnasium.spaces.Box(0.0, float(np.ceil(worst / self.baseline)), shape=(3 * m + 1,),
                                                      dtype=np.float64)
        self.action_space = gymnasium.spaces.Discrete(m)
        self._reset_state()

    def _reset_state(self) -> None:
        m = self.instance.n_officers
        self.free, self.last = np.zeros(m), np.full(m, -1)
        self.event, self.makespan, self.steps = 0, 0.0, 0
        self.assignment: list[int] = []

    def _mask(self) -> np.ndarray:
        if self.event >= self.instance.n_events:
            return np.ones(self.instance.n_officers, dtype=np.int8)
        return self.instance.capable(self.event).astype(np.int8)

    def _obs(self) -> np.ndarray:
        inst, m, j = self.instance, self.instance.n_officers, self.event
        out = np.zeros(3 * m + 1)
        out[-1] = j / inst.n_events
        if j >= inst.n_events:
            return out
        cap, scale = inst.capable(j), self.baseline
        later = inst.skill[j + 1:]
        for i in range(m):
            if cap[i]:
                start, finish = _assign(inst, self.free, self.last, j, i)
                out[i] = (max(self.makespan, finish) - self.makespan) / scale
                out[m + i] = (start - inst.release[j]) / scale
            else:
                out[i] = out[m + i] = 1.0
            out[2 * m + i] = inst.capabilities[i, later].mean() if later.size else 0.0
        return out

    def _info(self) -> dict[str, Any]:
        done = self.event >= self.instance.n_events
        info = {"action_mask": self._mask(), "makespan": self.makespan, "assigned": self.event, "complete": done}
        if done:
            info["reduction"] = makespan_reduction(self.makespan, self.baseline)
        return info

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._reset_state()
        return self._obs(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        inst, i = self.instance, int(action)
        if self.event >= inst.n_events:
            raise DataError("step() after the episode ended", hint="call reset() first")
        self.steps += 1
        if not inst.capable(self.event)[i]:
            reward = -self.invalid_penalty
        else:
            _, finish = _assign(inst, self.free, self.last, self.event, i)
            self.free[i], self.last[i] = finish, self.event
            before, self.makespan = self.makespan, max(self.makespan, finish)
            self.assignment.append(i)
            self.event += 1
            reward = (self.baseline / inst.n_events - (self.makespan - before)) / self.baseline
        terminated = self.event >= inst.n_events
        truncated = not terminated and self.steps >= 4 * inst.n_events
        return self._obs(), float(reward), terminated, truncated, self._info()
