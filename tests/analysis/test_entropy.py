"""The one entropy module: known answers, units, NumPy and torch inputs alike."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch

from probe.analysis import entropy
from probe.analysis.entropy import page_entropy, page_profile, renyi, von_neumann


def test_docstring_examples():
    result = doctest.testmod(entropy)
    assert result.failed == 0 and result.attempted > 0


def test_units_are_explicit_and_consistent():
    p = [0.5, 0.25, 0.25]
    assert von_neumann(p, base=2) == pytest.approx(1.5)
    assert von_neumann(p, base=math.e) == pytest.approx(1.5 * math.log(2))
    with pytest.raises(TypeError):
        von_neumann(p)  # the unit is a required argument


def test_numpy_batches_and_torch_gradients_agree():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=5)
    batch = von_neumann(p, base=2)
    assert batch.shape == (5,)
    assert np.allclose(batch, [von_neumann(row, base=2) for row in p])
    t = torch.tensor(p, requires_grad=True)
    h = von_neumann(t, base=2)
    assert torch.allclose(h, torch.tensor(batch))
    h.sum().backward()
    assert torch.isfinite(t.grad).all()
    # a pure state has exactly zero entropy (not -0.0), from NumPy and torch alike
    assert str(von_neumann(torch.tensor([1.0, 0.0, 0.0]), base=2).item()) == "0.0"
    assert str(von_neumann(np.array([1.0, 0.0, 0.0]), base=2)) == "0.0"


def test_renyi_limits():
    p = np.array([0.7, 0.2, 0.1])
    assert renyi(p, 1, base=math.e) == pytest.approx(von_neumann(p, base=math.e))
    assert renyi(p, np.inf, base=math.e) == pytest.approx(-math.log(0.7))
    assert renyi(p, 0, base=2) == pytest.approx(math.log2(3))
    assert renyi(torch.tensor(p), 2, base=math.e).item() == pytest.approx(renyi(p, 2, base=math.e))


def test_page_values_against_the_sum_formula():
    for m, n in ((2, 2), (2, 7), (3, 5), (4, 4)):
        a, b = min(m, n), max(m, n)
        direct = sum(1 / k for k in range(b + 1, a * b + 1)) - (a - 1) / (2 * b)
        assert page_entropy(m, n) == pytest.approx(direct, rel=1e-12)
    # unequal local dimensions (e.g. 14 = 2 x 7): the profile is Page at each cut of the chain
    assert page_profile([2, 7]) == pytest.approx([page_entropy(2, 7)])
    assert page_profile([2, 2, 7]) == pytest.approx([page_entropy(2, 14), page_entropy(4, 7)])
