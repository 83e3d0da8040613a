"""Known answers and library agreement for matrix-state entanglement profiles."""

from __future__ import annotations

import numpy as np
import pytest

from probe.analysis.entangle.lowrank import lora_cut_spectra, lora_profile
from probe.analysis.entangle.profile import (
    cut_spectra,
    entanglement_profile,
    prime_factors,
    site_layout,
)
from probe.analysis.entropy import renyi, von_neumann
from probe.errors import DataError

LN2 = np.log(2)


def test_prime_factors_and_layout():
    assert prime_factors(11008) == [2] * 8 + [43]
    assert prime_factors(384) == [2] * 7 + [3]
    lay = site_layout((384, 1536), factors="descending")
    assert lay.dims == (3,) + (2,) * 7 + (3,) + (2,) * 9
    assert lay.boundary_cut == 8
    assert site_layout((4, 8), order="interleaved").dims == (2, 2, 2, 2, 2)


@pytest.mark.parametrize("shape", [(4, 8), (16, 16), (12, 18), (1, 32)])
def test_product_state_has_zero_entropy_at_every_cut(shape):
    rng = np.random.default_rng(0)
    # a product over sites: Kronecker product of one vector per site
    dims = site_layout(shape).dims
    psi = np.array([1.0])
    for d in dims:
        psi = np.kron(psi, rng.normal(size=d))
    prof = entanglement_profile(psi.reshape(shape))
    assert np.allclose(prof.entropy, 0.0, atol=1e-10)
    assert all(r == 1 for r in prof.schmidt_rank)


def test_identity_is_bell_pairs():
    n = 4
    prof = entanglement_profile(np.eye(2**n))
    expected = [min(k, 2 * n - k) * LN2 for k in range(1, 2 * n)]
    assert np.allclose(prof.entropy, expected, atol=1e-12)
    # the row/column cut is maximally entangled: log of the full dimension
    assert prof.entropy[prof.boundary_cut - 1] == pytest.approx(n * LN2, abs=1e-12)
    inter = entanglement_profile(np.eye(2**n), order="interleaved")
    assert np.allclose(inter.entropy, [LN2 if k % 2 else 0.0 for k in range(1, 2 * n)], atol=1e-12)


def test_bell_and_ghz_matrices():
    bell = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert entanglement_profile(bell).entropy == pytest.approx((LN2,), abs=1e-12)
    ghz = np.zeros((8, 8))
    ghz[0, 0] = ghz[7, 7] = 1.0
    assert np.allclose(entanglement_profile(ghz).entropy, LN2, atol=1e-12)


def test_scale_sign_and_site_permutation_invariance():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(16, 32))
    base = entanglement_profile(m).entropy
    assert np.allclose(entanglement_profile(-3.7e5 * m).entropy, base, atol=1e-12)
    # a permutation inside one site (flip the first row bit) is local: no entropy changes
    flipped = np.concatenate([m[8:], m[:8]])
    assert np.allclose(entanglement_profile(flipped).entropy, base, atol=1e-12)


def test_renyi_ordering_and_values():
    rng = np.random.default_rng(2)
    prof = entanglement_profile(rng.normal(size=(32, 32)) ** 3)
    s0 = [np.log(r) for r in prof.schmidt_rank]
    for s_inf, s2, s1, s_0 in zip(prof.min_entropy, prof.renyi2, prof.entropy, s0, strict=True):
        assert s_inf <= s2 + 1e-12 <= s1 + 2e-12 <= s_0 + 3e-12
    p = np.array([0.5, 0.25, 0.25])
    assert renyi(p, 2, base=np.e) == pytest.approx(-np.log(np.sum(p**2)))
    assert renyi(p, 1, base=np.e) == pytest.approx(1.5 * LN2)
    assert von_neumann(p, base=2) == pytest.approx(1.5)
    from scipy.stats import entropy

    assert von_neumann(p, base=np.e) == pytest.approx(entropy(p))


@pytest.mark.parametrize("shape", [(16, 64), (32, 32), (12, 20), (9, 14), (64, 8)])
@pytest.mark.parametrize("order", ["sequential", "interleaved"])
def test_agrees_with_quimb(shape, order):
    qtn = pytest.importorskip("quimb.tensor")
    rng = np.random.default_rng(hash(shape) % 2**32)
    m = rng.normal(size=shape) * rng.exponential(size=shape)  # non-Gaussian, structured
    prof = entanglement_profile(m, order=order)
    lay = site_layout(shape, order=order)
    psi = m / np.linalg.norm(m)
    if lay.axes is not None:
        rows_cols = tuple(lay.dims[i] for i in np.argsort(lay.axes))
        psi = psi.reshape(rows_cols).transpose(lay.axes)
    mps = qtn.MatrixProductState.from_dense(psi.reshape(-1), dims=list(lay.dims))
    quimb_nats = np.array([mps.entropy(k) for k in range(1, len(lay.dims))]) * LN2  # quimb reports bits
    assert np.max(np.abs(np.array(prof.entropy) - quimb_nats)) < 1e-8


def test_complex_matrix_agrees_with_quimb_dense_entropy():
    qu = pytest.importorskip("quimb")
    rng = np.random.default_rng(3)
    m = rng.normal(size=(8, 16)) + 1j * rng.normal(size=(8, 16))
    prof = entanglement_profile(m)
    psi = (m / np.linalg.norm(m)).reshape(-1, 1)
    dims = [2] * 7
    for k in range(1, 7):
        s_bits = qu.entropy_subsys(psi, dims, list(range(k)))
        assert prof.entropy[k - 1] == pytest.approx(s_bits * LN2, abs=1e-8)


def test_truncation_matches_quimb_compression():
    qtn = pytest.importorskip("quimb.tensor")
    rng = np.random.default_rng(4)
    m = rng.normal(size=(32, 32)) @ np.diag(np.exp(-np.arange(32) / 4)) @ rng.normal(size=(32, 32))
    chi = 4
    prof = entanglement_profile(m, max_bond=chi)
    psi = (m / np.linalg.norm(m)).reshape(-1)
    # one bond truncated alone loses exactly its discarded weight (Eckart-Young)
    k = prof.boundary_cut
    s = np.linalg.svd(psi.reshape(32, 32), compute_uv=False)
    single = np.sum(s[chi:] ** 2)
    assert prof.discarded[k - 1] == pytest.approx(single, abs=1e-12)
    # every bond truncated (TT-SVD): quimb's error is within our bound
    mps = qtn.MatrixProductState.from_dense(psi, dims=[2] * 10, max_bond=chi, cutoff=0.0)
    err = np.linalg.norm(mps.to_dense().reshape(-1) - psi)
    assert err <= prof.truncation_error_bound + 1e-12
    assert err >= np.sqrt(max(prof.discarded)) - 1e-9  # and at least the worst single bond


@pytest.mark.parametrize(("d_out", "d_in", "r"), [(64, 128, 4), (128, 64, 8), (48, 30, 3), (256, 256, 16)])
def test_lora_low_rank_path_equals_dense(d_out, d_in, r):
    rng = np.random.default_rng(d_out + d_in + r)
    a, b = rng.normal(size=(r, d_in)), rng.normal(size=(d_out, r))
    low = lora_profile(a, b, scale=0.37)
    dense = entanglement_profile(0.37 * b @ a)
    assert low.method == "lowrank"
    assert np.max(np.abs(np.array(low.entropy) - dense.entropy)) < 1e-8
    assert np.max(np.abs(np.array(low.renyi2) - dense.renyi2)) < 1e-8
    assert low.schmidt_rank == dense.schmidt_rank
    assert low.frobenius_norm == pytest.approx(dense.frobenius_norm, rel=1e-10)
    # the row/column cut is the matrix itself: rank r caps it at ln r
    assert low.entropy[low.boundary_cut - 1] <= np.log(r) + 1e-12
    # lora_alpha only rescales: entropies unchanged
    assert np.allclose(lora_profile(a, b, scale=11.0).entropy, low.entropy, atol=1e-13)


def test_lora_spectra_sum_to_one_and_match_dense_spectra():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(3, 32)), rng.normal(size=(16, 3))
    dense = cut_spectra(b @ a)
    for p_low, p_dense in zip(lora_cut_spectra(a, b), dense, strict=True):
        assert p_low.sum() == pytest.approx(1.0, abs=1e-12)
        n = min(p_low.size, p_dense.size)
        assert np.allclose(np.sort(p_low)[::-1][:n], p_dense[:n], atol=1e-12)


def test_bad_matrices_raise_clear_errors():
    with pytest.raises(DataError, match="2-D"):
        entanglement_profile(np.ones(8))
    with pytest.raises(DataError, match="zero"):
        entanglement_profile(np.zeros((4, 4)))
    with pytest.raises(DataError, match="no cut"):
        entanglement_profile(np.ones((1, 7)))
    with pytest.raises(DataError, match="NaN"):
        entanglement_profile(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(DataError, match="zero"):
        lora_profile(np.ones((2, 8)), np.zeros((8, 2)))
