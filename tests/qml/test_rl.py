"""Replay buffers, DQN/Rainbow updates by hand, and every agent and component on known-answer environments."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy import stats

from probe.qml import rl
from probe.qml.distributional import project_distribution, support
from probe.qml.replay_buffers import NStepAccumulator, PrioritizedReplay, ReplayBuffer
from probe.qml.toy_envs import ChainMDP, chain_q_values


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
    out = acc.push("s1", 1, 2.0, "s2", False, False, "m2")
    assert out == [("s0", 0, 1.0 + 0.5 * 2.0, "s2", 0.25, "m2")]
    out = acc.push("s2", 0, 3.0, "s3", True, False)  # terminal: flush, no bootstrap
    assert out == [("s1", 1, 2.0 + 0.5 * 3.0, "s3", 0.0, None), ("s2", 0, 3.0, "s3", 0.0, None)]
    trunc = NStepAccumulator(3, 0.5)
    trunc.push("a", 0, 1.0, "b", False, False)
    out = trunc.push("b", 0, 1.0, "c", False, True)  # time limit: bootstrap with the shorter discount
    assert out == [("a", 0, 1.5, "c", 0.25, None), ("b", 0, 1.0, "c", 0.5, None)]


def test_buffer_keeps_next_masks() -> None:
    buf = PrioritizedReplay(4, 1, rng=np.random.default_rng(0), n_actions=3)
    buf.add([0.0], 0, 0.0, [1.0], 1.0, np.array([1, 0, 1]))
    buf.add([1.0], 1, 0.0, [2.0], 1.0)  # no mask given: every action allowed
    b = buf.sample(64)
    expected = {0: [True, False, True], 1: [True, True, True]}
    assert {int(i) for i in b.index} == {0, 1}
    assert all(m.tolist() == expected[int(i)] for i, m in zip(b.index, b.next_mask, strict=True))
    plain = ReplayBuffer(2, 1, rng=np.random.default_rng(0))
    plain.add([0.0], 0, 0.0, [1.0], 1.0, [0, 1])  # ignored without n_actions
    assert plain.sample(1).next_mask is None


class Fixed(torch.nn.Module):
    """A table: Q(s, ·) = table[s] (expected head) or log p(s, ·) = log table[s] (distributional)."""

    def __init__(self, table: list, atoms: torch.Tensor | None = None) -> None:
        super().__init__()
        self.table = torch.nn.Parameter(torch.tensor(table, dtype=torch.float64))
        self.atoms = atoms

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        out = self.table[s[:, 0].long()]
        return out if self.atoms is None else (out * self.atoms).sum(-1)

    def log_dist(self, s: torch.Tensor) -> torch.Tensor:
        return torch.log(self.table[s[:, 0].long()])


def test_double_q_target_by_hand() -> None:
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
    # a mask that forbids action 0 in s': plain max must take action 1 (target value 2)
    masked = ReplayBuffer(1, 1, rng=np.random.default_rng(0), n_actions=2)
    masked.add([0.0], 0, 1.5, [1.0], 0.25, [0, 1])
    plain_masked = rl._update(online, target, opt, masked, rl.DQNConfig(batch_size=1, double=False,
                                                                         prioritized=False), 0.0)
    assert plain_masked == pytest.approx(abs(1.5 + 0.25 * 2.0) - 0.5)


def test_c51_update_by_hand() -> None:
    """Loss = −Σ m log p(s, a), m = Φ(r + γ Z(s', a*)), a* = online argmax of Σ z p (double) in s'."""
    atoms = support(-1.0, 1.0, 3)
    online = Fixed([[[0.2, 0.5, 0.3], [0.6, 0.2, 0.2]], [[0.1, 0.1, 0.8], [0.7, 0.2, 0.1]]], atoms)
    target = Fixed([[[1 / 3] * 3] * 2, [[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]], atoms)
    buf = ReplayBuffer(1, 1, rng=np.random.default_rng(0))
    buf.add([0.0], 1, 0.5, [1.0], 0.5)
    cfg = rl.DQNConfig(batch_size=1, double=True, prioritized=False, distributional=True)
    opt = torch.optim.SGD(online.parameters(), lr=0.0)
    loss = rl._update(online, target, opt, buf, cfg, 0.0)
    # online in s' = 1: E = (0.7, -0.6) → a* = 0; target's distribution there (0.5, 0.25, 0.25)
    m = project_distribution(torch.tensor([[0.5, 0.25, 0.25]], dtype=torch.float64), torch.tensor([0.5]).double(),
                             torch.tensor([0.5]).double(), atoms)[0]
    assert loss == pytest.approx(float(-(m * torch.log(torch.tensor([0.6, 0.2, 0.2]).double())).sum()))
    # by hand: atoms → 0, 0.5, 1 with masses 0.5, 0.25, 0.25 → m = (0, 0.625, 0.375)
    torch.testing.assert_close(m, torch.tensor([0.0, 0.625, 0.375], dtype=torch.float64))
    plain = rl._update(online, target, opt, buf, dataclasses.replace(cfg, double=False), 0.0)
    # target's own argmax in s' = 1: E = (-0.25, 0.3) → a* = 1, distribution (0.2, 0.3, 0.5) → atoms 0, .5, 1
    m1 = torch.tensor([0.0, 0.2 + 0.15, 0.15 + 0.5], dtype=torch.float64)
    assert plain == pytest.approx(float(-(m1 * torch.log(torch.tensor([0.6, 0.2, 0.2]).double())).sum()))


def test_reupload_circuit_layout_and_matched_sizes() -> None:
    c = rl.reupload_ring_circuit(4, 3)
    assert c.n_params == 3 * 4 + 3 * 8
    gen = torch.Generator().manual_seed(0)
    counts = {}
    for agent in rl.AGENTS:
        cfg = rl.resolve_config(agent, rl.DQNConfig(layers=4))
        net = rl.make_qnet(agent, 4, 2, config=cfg, gen=gen)
        counts[agent] = sum(p.numel() for p in net.parameters())
    assert counts["vqc-ring-dqn"] == rl.vqc_parameter_count(4, 2, 4) == 58
    assert abs(counts["mlp-dqn"] - 58) <= 4
    rainbow_vqc = rl.vqc_parameter_count(4, 2, 4, dueling=True, distributional=True, noisy=True, n_atoms=51)
    assert counts["vqr-dqn"] == rainbow_vqc and abs(counts["rainbow-dqn"] - rainbow_vqc) / rainbow_vqc < 0.1
    cfg = rl.resolve_config("vqr-dqn", rl.DQNConfig(dueling=False, noisy=False, n_step=5))
    assert cfg.dueling and cfg.noisy and cfg.distributional and cfg.n_step == 5
    assert rl.resolve_config("double-dqn").n_step == 1 and not rl.resolve_config("double-dqn").prioritized


@pytest.mark.slow
def test_dqn_learns_a_trivial_bandit() -> None:
    cfg = rl.DQNConfig(learning_starts=32, eps_decay_steps=150, n_step=1, target_every=10, train_every=1, batch_size=16,
                       layers=2, lr=0.05)
    for agent in ("vqc-ring-dqn", "mlp-dqn"):
        res = rl.train_dqn(rl.make_env("bandit"), agent, episodes=200, seed=0, config=cfg, eval_episodes=5)
        assert res.eval_returns == (1.0,) * 5
        assert np.mean(res.returns[-50:]) > 0.9
    again = rl.train_dqn(rl.make_env("bandit"), "vqr-dqn", episodes=40, seed=3, config=cfg, eval_episodes=0)
    again2 = rl.train_dqn(rl.make_env("bandit"), "vqr-dqn", episodes=40, seed=3, config=cfg, eval_episodes=0)
    assert again.returns == again2.returns and again.losses[-1] == again2.losses[-1]  # noise is seeded too


CHAIN = rl.DQNConfig(gamma=0.9, lr=0.01, batch_size=32, buffer_size=2000, learning_starts=50, train_every=1,
                     target_every=25, n_step=1, prioritized=False, eps_decay_steps=300, hidden=16, v_min=-1.0,
                     v_max=1.0, n_atoms=21)


@pytest.mark.parametrize(("components", "tol"), [
    ({}, 0.05), ({"double": False}, 0.05), ({"prioritized": True}, 0.05), ({"dueling": True}, 0.05),
    ({"noisy": True}, 0.05), ({"distributional": True}, 0.02)])
def test_each_component_learns_the_chain_q_values(components: dict, tol: float) -> None:
    """A 4-state chain, γ = 0.9: Q*(s, right) = γ^(2−s), Q*(s, left) = γ^(3−max(s−1, 0)), one component on."""
    res, net = rl.fit_agent(lambda: ChainMDP(4), "mlp-dqn", episodes=100, seed=0,
                            config=dataclasses.replace(CHAIN, **components), eval_episodes=1)
    net.eval()
    with torch.no_grad():
        q = net(torch.eye(4, dtype=torch.float64)[:3]).numpy()
    np.testing.assert_allclose(q, chain_q_values(4, 0.9), atol=tol)
    assert res.eval_returns == (1.0,)


def test_full_rainbow_learns_the_chain_values() -> None:
    """All six components (3-step returns): V* = Q*(s, right) and the greedy policy; n-step returns under
    exploration bias the rarely-taken left actions, so only the greedy values are checked tightly."""
    cfg = dataclasses.replace(CHAIN, n_step=3)
    res, net = rl.fit_agent(lambda: ChainMDP(4), "rainbow-dqn", episodes=100, seed=0, config=cfg, eval_episodes=1)
    net.eval()
    with torch.no_grad():
        q = net(torch.eye(4, dtype=torch.float64)[:3]).numpy()
    np.testing.assert_allclose(q[:, 1], chain_q_values(4, 0.9)[:, 1], atol=0.05)
    assert np.all(q[:, 1] > q[:, 0]) and res.config.noisy and res.config.distributional


@pytest.mark.parametrize("agent", ["mlp-dqn", "vqc-ring-dqn"])
def test_c51_learns_the_coin_bandit_return_distribution(agent: str) -> None:
    """Action 1 pays ±1 with P(+1) = 0.75: on atoms {−1, 0, 1} its return distribution is (0.25, 0, 0.75).

    Rainbow's head (C51, dueling, noisy) on either feature extractor, with uniform replay (PER with β < 1
    reweights the outcomes); ~150 draws of action 1 give an SE of ~0.035.
    """
    cfg = dataclasses.replace(rl.resolve_config("rainbow-dqn"), lr=0.02, batch_size=16, buffer_size=1000,
                              learning_starts=32, train_every=1, target_every=10, n_step=1, layers=1, v_min=-1.0,
                              v_max=1.0, n_atoms=3, hidden=8, prioritized=False)
    _, net = rl.fit_agent(rl.make_env("coin-bandit"), agent, episodes=300, seed=0, config=cfg, eval_episodes=0)
    net.eval()
    with torch.no_grad():
        p = net.log_dist(torch.tensor([[0.3, -0.2]], dtype=torch.float64)).exp()[0].numpy()
    np.testing.assert_allclose(p[1], [0.25, 0.0, 0.75], atol=0.1)
    np.testing.assert_allclose(p[0], [0.0, 1.0, 0.0], atol=0.05)


def test_agents_respect_the_hrap_capability_mask() -> None:
    env = rl.make_env("hrap-3x8")
    cfg = rl.DQNConfig(gamma=1.0, batch_size=16, learning_starts=16, train_every=4, layers=1, qubits=2, n_atoms=11)
    for agent in ("vqr-dqn", "double-dqn"):
        res = rl.train_dqn(env, agent, episodes=6, seed=0, config=cfg, eval_episodes=1)
        assert res.steps == 6 * 8  # an action outside the mask would keep the event and lengthen the episode
        assert res.eval_info[0]["complete"] == 1.0 and res.eval_info[0]["makespan"] > 0
        assert env().return_range[0] <= min(res.returns)


def test_make_env_errors() -> None:
    from probe.errors import DataError

    with pytest.raises(DataError, match="unknown gymnasium environment"):
        rl.make_env("NoSuchEnv-v0")
    with pytest.raises(DataError, match="Discrete actions"):
        rl.make_env("Pendulum-v1")
