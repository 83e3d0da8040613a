"""The MPS adapter: parameter count, zero start, exact ΔW, bond caps, training to a known update, merging."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from probe.analysis.entangle.mps import chain_parameter_count, core_spectra
from probe.analysis.entangle.profile import entanglement_profile
from probe.analysis.entropy import von_neumann
from probe.errors import ConfigError
from probe.experiments.entangle.mps_adapter import (
    MPSLinear,
    add_mps_adapters,
    merge_mps_adapters,
    mps_adapters,
)


def _trained_like(adapter: MPSLinear, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for core in adapter.cores:
            core.copy_(torch.randn(core.shape, generator=gen, dtype=core.dtype))


@pytest.mark.parametrize(("shape", "chi"), [((384, 384), 8), ((28, 12), 3), ((14336 // 64, 64), 4)])
def test_parameter_count_formula_matches_the_trainable_tensors(shape, chi):
    layer = torch.nn.Linear(shape[1], shape[0])
    adapter = MPSLinear(layer, chi=chi)
    trainable = sum(p.numel() for p in adapter.parameters() if p.requires_grad)
    assert trainable == adapter.n_parameters == chain_parameter_count(adapter.dims, chi)
    if shape == (384, 384):
        assert adapter.dims == (2,) * 7 + (3,) + (2,) * 7 + (3,) and adapter.n_parameters == 1569


def test_starts_as_the_base_layer_and_gets_a_gradient():
    torch.manual_seed(0)
    layer = torch.nn.Linear(12, 20)
    adapter = MPSLinear(layer, chi=4, generator=torch.Generator().manual_seed(1))
    x = torch.randn(5, 12)
    assert torch.equal(adapter(x), layer(x)) and not torch.any(adapter.delta_weight())
    adapter(x).pow(2).sum().backward()
    assert adapter.cores[0].grad is not None and torch.any(adapter.cores[0].grad != 0)
    assert layer.weight.grad is None  # the base is frozen


@pytest.mark.parametrize("order", ["sequential", "interleaved"])
def test_delta_weight_profile_equals_the_core_spectra_and_is_capped_by_chi(order):
    adapter = MPSLinear(torch.nn.Linear(24, 28, dtype=torch.float64), chi=3, order=order)
    _trained_like(adapter, 2)
    delta = adapter.delta_weight().detach().double().numpy()
    dense = entanglement_profile(delta, order=order)
    fast = [von_neumann(p, base=np.e) for p in core_spectra(adapter.core_arrays())]
    assert np.max(np.abs(np.array(dense.entropy) - fast)) < 1e-8
    assert np.all(np.array(dense.entropy) <= np.log(3) + 1e-9)
    assert dense.site_dims == adapter.dims


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threads only add contention on a busy machine
    yield
    torch.set_num_threads(before)


def test_training_reaches_an_update_that_is_itself_a_chain_of_bond_two(one_thread):
    torch.manual_seed(3)
    target = MPSLinear(torch.nn.Linear(16, 16, bias=False), chi=2)
    _trained_like(target, 4)
    goal = target.delta_weight().detach()
    goal = goal / goal.norm() * 4.0
    layer = torch.nn.Linear(16, 16, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
    adapter = MPSLinear(layer, chi=2, generator=torch.Generator().manual_seed(5))
    opt = torch.optim.Adam(adapter.parameters(), lr=0.03)
    x = torch.randn(64, 16)
    for _ in range(300):
        loss = torch.nn.functional.mse_loss(adapter(x), x @ goal.T)
        opt.zero_grad()
        loss.backward()
        opt.step()
    rel = float((adapter.delta_weight().detach() - goal).norm() / goal.norm())
    assert rel < 0.02, rel


def test_add_and_merge_on_a_small_transformer():
    from transformers import BertConfig, BertModel

    cfg = BertConfig(hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                     vocab_size=50, max_position_embeddings=16)
    torch.manual_seed(0)
    model = BertModel(cfg).eval()
    ids = torch.randint(0, 50, (2, 7))
    before = model(input_ids=ids).last_hidden_state
    info = add_mps_adapters(model, ["query", "value"], chi=4, seed=0)
    assert len(info.modules) == 4 and all(n.endswith(("query", "value")) for n in info.modules)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == info.n_parameters
    assert torch.allclose(model(input_ids=ids).last_hidden_state, before)  # ΔW = 0 at the start
    for adapter in mps_adapters(model).values():
        _trained_like(adapter, 6)
    adapted = model(input_ids=ids).last_hidden_state
    deltas = merge_mps_adapters(model)
    assert not mps_adapters(model) and set(deltas) == {f"{n}.weight" for n in info.modules}
    assert torch.allclose(model(input_ids=ids).last_hidden_state, adapted, atol=1e-5)
    with pytest.raises(ConfigError, match=r"no torch\.nn\.Linear"):
        add_mps_adapters(model, ["nothing_here"], chi=2)
