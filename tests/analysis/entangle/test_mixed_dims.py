"""Mixed prime site dimensions (e.g. 14336 = 2^11 · 7): layout, the paper's sequential SVDs,
the Page curve and the Gaussian baseline for unequal local dimensions, quimb, chains of cores."""

from __future__ import annotations

import numpy as np
import pytest

from probe.analysis.entangle.baselines import gaussian_baseline
from probe.analysis.entangle.mps import (
    bond_dimensions,
    chain_parameter_count,
    contract_cores,
    core_spectra,
    sequential_svd_spectra,
)
from probe.analysis.entangle.profile import entanglement_profile, site_layout
from probe.analysis.entropy import page_entropy, page_profile, von_neumann
from probe.errors import DataError

LN2 = np.log(2)


def test_llama_8b_mlp_dimension_factorises_into_mixed_sites():
    lay = site_layout((14336, 4096))
    assert lay.dims == (2,) * 11 + (7,) + (2,) * 12 and lay.boundary_cut == 12
    assert site_layout((14336, 4096), factors="descending").dims[:2] == (7, 2)
    assert site_layout((11008, 4096)).dims[7:9] == (2, 43)  # LLaMA-2 7B MLP: 2^8 · 43


@pytest.mark.parametrize("shape", [(28, 12), (14, 45), (7, 6)])
@pytest.mark.parametrize("order", ["sequential", "interleaved"])
@pytest.mark.parametrize("factors", ["ascending", "descending"])
def test_product_states_on_mixed_sites_have_zero_entropy(shape, order, factors):
    rng = np.random.default_rng(sum(shape))
    lay = site_layout(shape, order=order, factors=factors)
    psi = np.array([1.0])
    for d in lay.dims:
        psi = np.kron(psi, rng.normal(size=d))
    # psi is in site order; bring it back to the matrix layout (row index, column index)
    if lay.axes is not None:
        rows_cols = tuple(lay.dims[i] for i in np.argsort(lay.axes))
        psi = psi.reshape(lay.dims).transpose(np.argsort(lay.axes)).reshape(rows_cols)
    m = psi.reshape(shape)
    for method in ("gram", "svd"):
        prof = entanglement_profile(m, order=order, factors=factors, method=method)
        assert np.allclose(prof.entropy, 0.0, atol=1e-10) and set(prof.schmidt_rank) == {1}


@pytest.mark.parametrize("shape", [(28, 18), (14, 45), (12, 20), (64, 21)])
@pytest.mark.parametrize("order", ["sequential", "interleaved"])
def test_sequential_svds_equal_the_gram_path(shape, order):
    rng = np.random.default_rng(shape[0] * shape[1])
    m = rng.normal(size=shape) * rng.exponential(size=shape)
    gram = entanglement_profile(m, order=order)
    svd = entanglement_profile(m, order=order, method="svd")
    assert svd.method == "svd" and svd.site_dims == gram.site_dims
    assert np.max(np.abs(np.array(gram.entropy) - svd.entropy)) < 1e-10
    assert np.max(np.abs(np.array(gram.renyi2) - svd.renyi2)) < 1e-10


@pytest.mark.parametrize("shape", [(28, 16), (14, 12), (7, 18)])
def test_mixed_sites_agree_with_quimb(shape):
    qtn = pytest.importorskip("quimb.tensor")
    rng = np.random.default_rng(3 + shape[0])
    m = rng.normal(size=shape) ** 3
    lay = site_layout(shape)
    mps = qtn.MatrixProductState.from_dense((m / np.linalg.norm(m)).reshape(-1), dims=list(lay.dims))
    quimb_nats = np.array([mps.entropy(k) for k in range(1, len(lay.dims))]) * LN2  # quimb reports bits
    for method in ("gram", "svd"):
        prof = entanglement_profile(m, method=method)
        assert np.max(np.abs(np.array(prof.entropy) - quimb_nats)) < 1e-8


def test_page_curve_for_unequal_local_dimensions():
    dims = (2, 3, 7)
    # cut 1: 2 | 21; cut 2: 6 | 7 (Page's finite sum written out)
    direct = [sum(1 / k for k in range(n + 1, m * n + 1)) - (m - 1) / (2 * n) for m, n in [(2, 21), (6, 7)]]
    assert page_profile(dims) == pytest.approx(direct, abs=1e-12)
    assert page_profile((7, 3, 2)) == pytest.approx(direct[::-1], abs=1e-12)
    assert page_profile(site_layout((28, 12)).dims)[2] == pytest.approx(page_entropy(28, 12), abs=1e-12)


def test_random_complex_states_on_unequal_sites_sit_at_page():
    shape = (12, 20)  # sites 2, 2, 3 | 2, 2, 5
    base = gaussian_baseline(shape, samples=600, kind="complex", rng=21)
    page = np.array(entanglement_profile(np.ones(shape)).page)
    assert np.all(np.abs(np.array(base.mean) - page) < 4 * np.array(base.se))


def test_random_real_states_on_unequal_sites_match_the_real_baseline_below_page():
    shape = (28, 45)  # sites 2, 2, 7 | 3, 3, 5
    base = gaussian_baseline(shape, samples=300, kind="real", rng=22)
    page = np.array(page_profile(site_layout(shape).dims))
    assert np.all(np.array(base.mean) < page)
    rng = np.random.default_rng(23)
    ours = np.mean([entanglement_profile(rng.normal(size=shape)).entropy for _ in range(40)], axis=0)
    se_base = np.array(base.se)
    sd = se_base * np.sqrt(300)  # spread of one profile
    assert np.all(np.abs(ours - base.mean) < 4 * np.sqrt(sd**2 / 40 + se_base**2))


def test_core_spectra_equal_the_dense_profile_and_are_capped_by_the_bond():
    rng = np.random.default_rng(5)
    dims = (2, 2, 3, 2, 7, 2)
    chi = 4
    bonds = [1, *bond_dimensions(dims, chi), 1]
    assert bonds == [1, 2, 4, 4, 4, 2, 1]
    cores = [rng.normal(size=(bonds[k], d, bonds[k + 1])) for k, d in enumerate(dims)]
    assert chain_parameter_count(dims, chi) == sum(c.size for c in cores)
    psi = contract_cores(cores)
    dense = sequential_svd_spectra(psi, dims)
    fast = core_spectra(cores)
    for p, q, b in zip(dense, fast, bonds[1:-1], strict=True):
        assert von_neumann(q, base=np.e) == pytest.approx(von_neumann(p, base=np.e), abs=1e-10)
        assert von_neumann(q, base=np.e) <= np.log(b) + 1e-12
    # a gauge change on one bond (G_k X, X^-1 G_k+1) changes no spectrum
    x = rng.normal(size=(4, 4)) + 4 * np.eye(4)
    cores[2] = np.tensordot(cores[2], x, axes=(2, 0))
    cores[3] = np.tensordot(np.linalg.inv(x), cores[3], axes=(1, 0))
    assert [von_neumann(p, base=np.e) for p in core_spectra(cores)] == pytest.approx([von_neumann(p, base=np.e) for p in fast], abs=1e-10)


def test_bad_chains_raise_clear_errors():
    with pytest.raises(DataError, match="share a bond"):
        core_spectra([np.ones((1, 2, 3)), np.ones((2, 2, 1))])
    with pytest.raises(DataError, match="end bonds"):
        core_spectra([np.ones((2, 2, 2)), np.ones((2, 2, 1))])
    with pytest.raises(DataError, match="contracts to zero"):
        core_spectra([np.zeros((1, 2, 2)), np.ones((2, 2, 1))])
