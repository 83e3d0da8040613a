"""The HRAP environment: a schedule worked out by hand, rewards that add up to −makespan, masks, baselines."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from probe.errors import DataError
from probe.qml import hr_allocation as h


def tiny() -> h.HRAPInstance:
    """2 officers, 3 events; officer 0 holds skill 0, officer 1 holds skills 0 and 1."""
    return h.HRAPInstance(
        capabilities=np.array([[True, False], [True, True]]),
        skill=np.array([0, 1, 0]),
        release=np.array([0.0, 1.0, 2.0]),
        duration=np.array([3.0, 2.0, 1.0]),
        travel_start=np.array([[1.0, 2.0, 0.5], [0.5, 1.0, 3.0]]),
        travel=np.array([[0.0, 1.5, 1.0], [1.5, 0.0, 2.0], [1.0, 2.0, 0.0]]),
        name="tiny")


def test_makespan_by_hand() -> None:
    inst = tiny()
    # officer 0 takes event 0: starts max(0, 0 + 1) = 1, ends 4; officer 1 takes event 1: max(1, 0 + 1) = 1, ends 3;
    # event 2 to officer 1: max(2, 3 + 2) = 5, ends 6  → makespan 6
    assert h.schedule_makespan(inst, [0, 1, 1]) == pytest.approx(6.0)
    # event 2 to officer 0 instead: max(2, 4 + 1) = 5, ends 6 → also 6; event 0 to officer 1: max(0, 0.5) = 0.5,
    # ends 3.5; event 1 (officer 1): max(1, 3.5 + 1.5) = 5, ends 7; event 2 to officer 0: max(2, 0.5) = 2, ends 3 → 7
    assert h.schedule_makespan(inst, [0, 1, 0]) == pytest.approx(6.0)
    assert h.schedule_makespan(inst, [1, 1, 0]) == pytest.approx(7.0)
    assert h.optimal_makespan(inst) == pytest.approx(6.0)
    with pytest.raises(DataError, match="lacks capability 1"):
        h.schedule_makespan(inst, [0, 0, 0])


def test_rewards_sum_to_minus_makespan_and_masks_follow_capabilities() -> None:
    inst = tiny()
    env = h.HRAllocationEnv(inst)
    obs, info = env.reset(seed=0)
    assert obs.shape == (7,) and info["action_mask"].tolist() == [1, 1]
    total = 0.0
    for a in (1, 1, 0):
        obs, r, terminated, truncated, info = env.step(a)
        total += r
        if not terminated:
            assert info["action_mask"].tolist() == inst.capable(info["assigned"]).astype(int).tolist()
    assert terminated and not truncated and info["complete"]
    # the return is the normalised makespan reduction against the random policy's mean makespan
    assert info["makespan"] == pytest.approx(7.0)
    assert total == pytest.approx(1 - 7.0 / env.baseline) == pytest.approx(info["reduction"])
    assert env.baseline == pytest.approx(h.random_makespans(inst, episodes=1000, seed=0).mean())
    assert env.return_range[0] <= total <= env.return_range[1]


def test_observation_by_hand() -> None:
    inst = tiny()
    env = h.HRAllocationEnv(inst)
    obs, _ = env.reset()
    s = env.baseline
    # event 0 (skill 0): officer 0 would finish at 1 + 3 = 4, officer 1 at 0.5 + 3 = 3.5; starts 1 and 0.5
    # later events need skills (1, 0): officer 0 serves 1 of 2, officer 1 both
    np.testing.assert_allclose(obs, [4 / s, 3.5 / s, 1 / s, 0.5 / s, 0.5, 1.0, 0.0])
    obs, *_ = env.step(0)
    # event 1 (skill 1): officer 0 incapable (sentinel 1.0); officer 1 finishes at 1 + 2 = 3 < makespan 4
    np.testing.assert_allclose(obs, [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1 / 3])


def test_invalid_action_costs_and_keeps_the_event() -> None:
    env = h.HRAllocationEnv(tiny(), invalid_penalty=0.5)
    env.reset()
    env.step(0)
    _, r, terminated, truncated, info = env.step(0)  # officer 0 lacks skill 1
    assert r == -0.5 and info["assigned"] == 1 and not terminated and not truncated
    for _ in range(10):  # steps 3..12: truncated at 4·E = 12
        *_, truncated, info = env.step(0)
    assert truncated and not info["complete"]


def test_benchmarks_baselines_and_checker() -> None:
    inst = h.benchmark("hrap-3x8")
    assert (inst.n_officers, inst.n_events) == (3, 8) and np.all(np.diff(inst.release) >= 0)
    assert inst.capabilities.any(0).all() and inst.capabilities.any(1).all()
    again = h.benchmark("hrap-3x8")
    np.testing.assert_array_equal(inst.travel, again.travel)
    rand = h.random_makespans(inst, episodes=300, seed=1)
    greedy = h.schedule_makespan(inst, h.greedy_assignment(inst))
    best = h.optimal_makespan(inst)
    assert best is not None and best <= greedy and best <= rand.min()
    assert h.makespan_reduction(best, rand.mean()) > 0
    assert h.optimal_makespan(h.benchmark("hrap-6x20")) is None  # too many assignments to enumerate
    check_env(h.HRAllocationEnv(inst), skip_render_check=True)
    with pytest.raises(DataError, match="unknown HRAP benchmark"):
        h.benchmark("hrap-9x99")


def test_random_policy_matches_env_rollouts() -> None:
    """random_makespans draws the same policy the environment would run with uniform masked actions."""
    inst = h.benchmark("hrap-3x8")
    env = h.HRAllocationEnv(inst)
    rng = np.random.default_rng(5)
    spans = []
    for _ in range(300):
        _, info = env.reset()
        done = False
        while not done:
            _, _, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        spans.append(info["makespan"])
    ref = h.random_makespans(inst, episodes=3000, seed=2)
    se = np.sqrt(np.var(spans) / 300 + np.var(ref) / 3000)
    assert abs(np.mean(spans) - ref.mean()) < 4 * se
