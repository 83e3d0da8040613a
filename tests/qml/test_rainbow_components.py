"""Rainbow's parts against known answers: C51's projection (by hand and eq. 7), noisy layers' moments, dueling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from probe.errors import DataError
from probe.qml.distributional import (
    categorical_loss,
    expected_value,
    project_distribution,
    project_distribution_hat,
    support,
)
from probe.qml.noisy import NoisyLinear, reset_noise
from probe.qml.rl_networks import (
    MLPFeatures,
    QHead,
    QNetwork,
    RingVQCFeatures,
    head_parameter_count,
    matched_hidden,
    reupload_ring_circuit,
    vqc_parameter_count,
)
from probe.qsim import expval_z, statevector

T = torch.tensor


def f64(x: list) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


# --------------------------------------------------------------------------- C51 projection


def test_projection_hand_computed_case() -> None:
    atoms = support(-1.0, 1.0, 3)  # {-1, 0, 1}, Δz = 1
    p = f64([[0.2, 0.5, 0.3]])
    # r = 0.5, γ = 1: shifted atoms -0.5, 0.5, 1.5 → clipped to 1
    # -0.5 splits 0.2 as 0.1 / 0.1 onto {-1, 0}; 0.5 splits 0.5 as 0.25 / 0.25 onto {0, 1}; 1 keeps 0.3
    m = project_distribution(p, f64([0.5]), f64([1.0]), atoms)
    torch.testing.assert_close(m, f64([[0.1, 0.35, 0.55]]))
    # terminal: all mass at r = 0.5, split between 0 and 1
    torch.testing.assert_close(project_distribution(p, f64([0.5]), f64([0.0]), atoms), f64([[0.0, 0.5, 0.5]]))
    # shift by a whole atom: mass moves one atom up, the top atom absorbs the overflow
    torch.testing.assert_close(project_distribution(p, f64([1.0]), f64([1.0]), atoms), f64([[0.0, 0.2, 0.8]]))
    # γ = 0.5 (r = 0): atoms go to -0.5, 0, 0.5; -0.5 splits 0.1 / 0.1, 0 keeps 0.5, 0.5 splits 0.15 / 0.15
    torch.testing.assert_close(project_distribution(p, f64([0.0]), f64([0.5]), atoms), f64([[0.1, 0.75, 0.15]]))


def test_projection_matches_equation_7_and_keeps_mass_and_mean() -> None:
    gen = torch.Generator().manual_seed(0)
    atoms = support(-10.0, 10.0, 51)
    p = torch.softmax(torch.randn(64, 51, generator=gen, dtype=torch.float64), -1)
    r = torch.randn(64, generator=gen, dtype=torch.float64) * 3
    g = torch.rand(64, generator=gen, dtype=torch.float64)
    g[:8] = 0.0
    m = project_distribution(p, r, g, atoms)
    torch.testing.assert_close(m, project_distribution_hat(p, r, g, atoms))
    torch.testing.assert_close(m.sum(-1), torch.ones(64, dtype=torch.float64))
    # inside the support the projection keeps the mean E[r + γ Z]
    small = support(-100.0, 100.0, 201)
    p2 = torch.softmax(torch.randn(16, 201, generator=gen, dtype=torch.float64), -1)
    m2 = project_distribution(p2, r[:16], 0.5 * torch.ones(16, dtype=torch.float64), small)
    torch.testing.assert_close(expected_value(m2, small), r[:16] + 0.5 * expected_value(p2, small))


def test_categorical_loss_is_cross_entropy_and_kl() -> None:
    m = f64([[0.1, 0.35, 0.55]])
    logp = torch.log(f64([[0.2, 0.5, 0.3]]))
    ce, kl = categorical_loss(logp, m)
    assert float(ce) == pytest.approx(-(0.1 * math.log(0.2) + 0.35 * math.log(0.5) + 0.55 * math.log(0.3)))
    assert float(kl) == pytest.approx(sum(a * math.log(a / b) for a, b in zip([0.1, 0.35, 0.55], [0.2, 0.5, 0.3],
                                                                            strict=True)))
    _, kl0 = categorical_loss(torch.log(m), m)
    assert float(kl0) == pytest.approx(0.0, abs=1e-12)


def test_support_errors() -> None:
    with pytest.raises(DataError, match="n_atoms"):
        support(1.0, 1.0, 51)


# --------------------------------------------------------------------------- noisy layers


def test_noisy_layer_init_and_factorised_noise() -> None:
    gen = torch.Generator().manual_seed(3)
    layer = NoisyLinear(4, 3, gen, sigma0=0.5)
    assert layer.weight_mu.abs().max() <= 0.5 and torch.all(layer.weight_sigma == 0.25)
    assert sum(p.numel() for p in layer.parameters()) == 2 * (4 * 3 + 3)
    f_in, f_out = layer.eps_in.clone(), layer.eps_out.clone()
    x = torch.randn(5, 4, dtype=torch.float64, generator=gen)
    w = layer.weight_mu + layer.weight_sigma * torch.outer(f_out, f_in)
    b = layer.bias_mu + layer.bias_sigma * f_out
    torch.testing.assert_close(layer(x), x @ w.T + b)
    torch.testing.assert_close(layer(x), layer(x))  # fixed until reset_noise
    reset_noise(layer)
    assert not torch.equal(layer.eps_in, f_in)
    layer.eval()  # evaluation: the mean network
    torch.testing.assert_close(layer(x), x @ layer.weight_mu.T + layer.bias_mu)


def test_noisy_layer_output_moments() -> None:
    """E y = μ x + μ_b; Var y_j = (2/π) Σ_i σ_ji² x_i² + √(2/π) σ_j² (module notes of probe.qml.noisy)."""
    gen = torch.Generator().manual_seed(7)
    layer = NoisyLinear(3, 2, gen, sigma0=0.5)
    with torch.no_grad():
        layer.weight_sigma.copy_(f64([[0.3, 0.1, 0.5], [0.2, 0.4, 0.05]]))
        layer.bias_sigma.copy_(f64([0.2, 0.6]))
    x = f64([[1.0, -2.0, 0.5]])
    draws = []
    with torch.no_grad():
        for _ in range(10_000):
            layer.reset_noise()
            draws.append(layer(x)[0])
    y = torch.stack(draws).numpy()
    mean = (x @ layer.weight_mu.T + layer.bias_mu)[0].detach().numpy()
    var = ((2 / math.pi) * (layer.weight_sigma**2 * x**2).sum(1) + math.sqrt(2 / math.pi) * layer.bias_sigma**2)
    var = var.detach().numpy()
    se_mean = np.sqrt(var / len(y))
    np.testing.assert_array_less(np.abs(y.mean(0) - mean), 4 * se_mean)
    # relative SE of a variance estimate ≈ √((κ − 1)/n) with kurtosis κ ≤ π²/4 here: 1.2 % at n = 10 000
    np.testing.assert_allclose(y.var(0), var, rtol=0.06)


# --------------------------------------------------------------------------- heads and networks


def test_dueling_head_aggregation_by_hand() -> None:
    gen = torch.Generator().manual_seed(0)
    head = QHead(2, 3, gen, dueling=True)
    with torch.no_grad():
        head.value.weight.copy_(f64([[1.0, 0.0]]))
        head.value.bias.zero_()
        head.advantage.weight.copy_(f64([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        head.advantage.bias.zero_()
    q = head(f64([[2.0, 5.0]]))[..., 0]  # V = 2, A = (2, 5, 7), mean A = 14/3
    torch.testing.assert_close(q, f64([[2 + 2 - 14 / 3, 2 + 5 - 14 / 3, 2 + 7 - 14 / 3]]))
    # distributional dueling: per-atom V + A − mean A, softmax over atoms, Q = Σ z p
    dist = QHead(2, 3, gen, dueling=True, distributional=True, n_atoms=5)
    net = QNetwork(torch.nn.Identity(), dist, v_min=-2, v_max=2)
    s = f64([[0.3, -1.2]])
    logits = dist(s)
    logp = net.log_dist(s)
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(1, 3, dtype=torch.float64))
    torch.testing.assert_close(net(s), (torch.softmax(logits, -1) * net.atoms).sum(-1))
    v, a = dist.value(s)[:, None, :], dist.advantage(s).reshape(1, 3, 5)
    torch.testing.assert_close(logits, v + a - a.mean(1, keepdim=True))


@pytest.mark.parametrize("head", [
    {"dueling": False, "distributional": False, "noisy": False},
    {"dueling": True, "distributional": False, "noisy": True},
    {"dueling": True, "distributional": True, "noisy": True, "n_atoms": 11},
    {"dueling": False, "distributional": True, "noisy": False, "n_atoms": 7},
])
def test_parameter_count_formulas(head: dict) -> None:
    gen = torch.Generator().manual_seed(0)
    counts = {k: v for k, v in head.items()}
    for qubits in (None, 3):
        vqc = QNetwork(RingVQCFeatures(5, 2, gen, qubits=qubits), QHead(5 if qubits is None else 3, 4, gen, **head))
        assert sum(p.numel() for p in vqc.parameters()) == vqc_parameter_count(5, 4, 2, qubits=qubits, **counts)
    assert head_parameter_count(3, 4, **{"n_atoms": 51, **head}) == sum(
        p.numel() for p in QHead(3, 4, gen, **head).parameters())
    target = vqc_parameter_count(5, 4, 2, qubits=3, **counts)
    h = matched_hidden(target, 5, 4, **counts)
    mlp = QNetwork(MLPFeatures(5, h, gen), QHead(h, 4, gen, **head))
    n_mlp = sum(p.numel() for p in mlp.parameters())
    per_unit = 6 + head_parameter_count(2, 4, **{"n_atoms": 51, **head}) - head_parameter_count(1, 4, **{
        "n_atoms": 51, **head})
    assert abs(n_mlp - target) <= per_unit / 2  # the closest width


def test_vqc_features_are_the_circuit_expectations() -> None:
    gen = torch.Generator().manual_seed(1)
    feats = RingVQCFeatures(3, 2, gen)
    s = f64([[0.5, -1.0, 2.0], [0.0, 0.3, -0.4]])
    c = reupload_ring_circuit(3, 2)
    assert c.n_params == 2 * (3 + 6) and c.gate_counts()["CNOT"] == 6
    with torch.no_grad():
        feats.input_scale.copy_(f64([[1.0, 2.0, 0.5], [0.7, 1.0, 1.0]]))
    # slot layout per layer: 3 encoding angles, then 6 RY/RZ angles
    enc = torch.arctan(s)
    angles = torch.cat([enc * feats.input_scale[0], feats.weights[:6].expand(2, 6),
                        enc * feats.input_scale[1], feats.weights[6:].expand(2, 6)], 1)
    torch.testing.assert_close(feats(s), expval_z(statevector(c, angles)))
    assert feats(s).abs().max() <= 1.0
    with pytest.raises(DataError, match="qubits"):
        RingVQCFeatures(13, 1, gen)
