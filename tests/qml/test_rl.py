"""Replay buffers (prioritised sampling, importance weights, n-step returns) and DQN on a known bandit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from probe.qml import rl
from probe.qml.replay_buffers import NStepAccumulator, PrioritizedReplay, ReplayBuffer


def test_uniform_buffer_is_a_ring() -> None:
    buf = ReplayBuffer(3, 1, rng=np.random.default_rng(0))
    for k in range(5):
        buf.add([k], 0, float(k), [k + 1], 0.9)
    assert len(buf) == 3 and sorted(buf.reward.tolist()) == [2.0, 3.0, 4.0]


def test_prioritized_sampling_is_proportional_with_correct_weights() -> None:
    rng = np.random.default_rng(1)
    buf = PrioritizedReplay(8, 1, rng=rng, alpha=0.5, eps=0.0)
    for k in range(5):
        buf.add([k], 0, 0.0, [k], 1.0)
    td = np.array([1.0, 4.0, 9.0, 16.0, 0.25])
    buf.update_priorities(np.arange(5), td)
    expected = np.sqrt(td) / np.sqrt(td).sum()
    counts = np.zeros(5)
    for _ in range(4000):
        counts += np.bincount(buf.sample(8, beta=0.0).index, minlength=5)
    assert stats.chisquare(counts, expected * counts.sum()).pvalue > 0.001
    b = buf.sample(5, beta=0.7)
    w = (5 * expected[b.index]) ** -0.7
    np.testing.assert_allclose(b.weight, w / w.max())


def test_new_transitions_get_the_largest_priority() -> None:
    buf = PrioritizedReplay(4, 1, rng=np.random.default_rng(0), alpha=1.0, eps=0.0)
    buf.add([0], 0, 0.0, [0], 1.0)
    buf.update_priorities(np.array([0]), np.array([5.0]))
    buf.add([1], 0, 0.0, [1], 1.0)
    assert buf.tree.get(np.array([1]))[0] == pytest.approx(5.0)


def test_n_step_returns_and_episode_end() -> None:
    acc = NStepAccumulator(2, 0.5)
    assert acc.push("s0", 0, 1.0, "s1", False, False) == []
    out = acc.push("s1", 1, 2.0, "s2", False, False)
    assert out == [("s0", 0, 1.0 + 0.5 * 2.0, "s2", 0.25)]
    out = acc.push("s2", 0, 3.0, "s3", True, False)  # terminal: flush, no bootstrap
    assert out == [("s1", 1, 2.0 + 0.5 * 3.0, "s3", 0.0), ("s2", 0, 3.0, "s3", 0.0)]
    trunc = NStepAccumulator(3, 0.5)
    trunc.push("a", 0, 1.0, "b", False, False)
    out = trunc.push("b", 0, 1.0, "c", False, True)  # time limit: bootstrap with the shorter discount
    assert out == [("a", 0, 1.5, "c", 0.25), ("b", 0, 1.0, "c", 0.5)]


def test_double_q_target_by_hand() -> None:
    class Fixed(torch.nn.Module):
        def __init__(self, table: list[list[float]]) -> None:
            super().__init__()
            self.table = torch.nn.Parameter(torch.tensor(table, dtype=torch.float64))

        def forward(self, s: torch.Tensor) -> torch.Tensor:
            return self.table[s[:, 0].long()]

    online = Fixed([[0.0, 0.0], [1.0, 3.0]])  # in state 1 online prefers action 1
    target = Fixed([[0.0, 0.0], [10.0, 2.0]])  # target would prefer action 0 (plain max = 10)
    buf = ReplayBuffer(1, 1, rng=np.random.default_rng(0))
    buf.add([0.0], 0, 1.5, [1.0], 0.25)
    cfg = rl.DQNConfig(batch_size=1, double=True, prioritized=False)
    opt = torch.optim.SGD(online.parameters(), lr=0.0)
    loss = rl._update(online, target, opt, buf, cfg, beta=0.0)
    y = 1.5 + 0.25 * 2.0  # double Q: target's value of online's argmax
    assert loss == pytest.approx(0.5 * y**2 if abs(y) < 1 else abs(y) - 0.5)
    plain = rl._update(online, target, opt, buf, rl.DQNConfig(batch_size=1, double=False, prioritized=False), 0.0)
    y_max = 1.5 + 0.25 * 10.0
    assert plain == pytest.approx(abs(y_max) - 0.5)


def test_reupload_circuit_layout_and_matched_sizes() -> None:
    c = rl.reupload_ring_circuit(4, 3)
    assert c.n_params == 3 * 4 + 3 * 8
    gen = torch.Generator().manual_seed(0)
    vqc = rl.make_qnet("vqc-ring-dqn", 4, 2, layers=4, gen=gen)
    mlp = rl.make_qnet("mlp-dqn", 4, 2, layers=4, gen=gen)
    n_v = sum(p.numel() for p in vqc.parameters())
    n_m = sum(p.numel() for p in mlp.parameters())
    assert n_v == rl.vqc_parameter_count(4, 2, 4) == 58
    assert abs(n_v - n_m) <= 4


@pytest.mark.parametrize("agent", rl.AGENTS)
def test_dqn_learns_a_trivial_bandit(agent: str) -> None:
    cfg = rl.DQNConfig(learning_starts=32, eps_decay_steps=150, n_step=1, target_every=10, train_every=1, batch_size=16,
                       layers=2, lr=0.05)
    res = rl.train_dqn(rl.make_env("bandit"), agent, episodes=200, seed=0, config=cfg, eval_episodes=5)
    assert res.eval_returns == (1.0,) * 5
    assert np.mean(res.returns[-50:]) > 0.9
    again = rl.train_dqn(rl.make_env("bandit"), agent, episodes=40, seed=3, config=cfg, eval_episodes=0)
    again2 = rl.train_dqn(rl.make_env("bandit"), agent, episodes=40, seed=3, config=cfg, eval_episodes=0)
    assert again.returns == again2.returns and again.losses[-1] == again2.losses[-1]


def test_make_env_errors() -> None:
    from probe.errors import DataError

    with pytest.raises(DataError, match="unknown gymnasium environment"):
        rl.make_env("NoSuchEnv-v0")
    with pytest.raises(DataError, match="Discrete actions"):
        rl.make_env("Pendulum-v1")
