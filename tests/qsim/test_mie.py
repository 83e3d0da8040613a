"""Measurement-induced entanglement: known answers, monitored circuits, and the learner's bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from probe.qsim import Circuit, statevector
from probe.qsim.mie import (
    _bounds,
    _records,
    learn_bounds,
    mie_exact,
    mie_scan,
    post_measurement_states,
    random_layers,
    simulate,
)
from probe.qsim.states import as_generator


def cluster(n: int) -> np.ndarray:
    c = Circuit(n)
    for w in range(n):
        c.h(w)
    for w in range(n - 1):
        c.cz(w, w + 1)
    return statevector(c).numpy()


def ghz(n: int) -> np.ndarray:
    c = Circuit(n).h(0)
    for w in range(n - 1):
        c.cnot(w, w + 1)
    return statevector(c).numpy()


@pytest.mark.parametrize("n", [3, 5, 6])
def test_cluster_and_ghz(n):
    assert mie_exact(cluster(n), (0, n - 1), basis="X")[0] == pytest.approx(1.0, abs=1e-12)
    assert mie_exact(cluster(n), (0, n - 1), basis="Z")[0] == pytest.approx(0.0, abs=1e-12)
    assert mie_exact(ghz(n), (0, n - 1), basis="X")[0] == pytest.approx(1.0, abs=1e-12)
    assert mie_exact(ghz(n), (0, n - 1))[0] == pytest.approx(0.0, abs=1e-12)
    p, ab = post_measurement_states(cluster(n), (0, n - 1), basis="X")
    assert p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(np.linalg.norm(ab[p > 0], axis=1), 1.0, atol=1e-12)


def test_haar_states_give_page_value():
    rng = np.random.default_rng(0)
    vals = []
    for _ in range(400):
        v = rng.normal(size=64) + 1j * rng.normal(size=64)
        vals.append(mie_exact(v / np.linalg.norm(v), (1, 4), base=math.e)[0])
    assert abs(np.mean(vals) - 1 / 3) < 4 * np.std(vals) / math.sqrt(len(vals))


def test_depth_zero_and_full_monitoring_give_zero():
    rng = np.random.default_rng(1)
    psi, rec = simulate(6, [], seed=0)
    assert mie_exact(psi[0].numpy(), (0, 5))[0] == pytest.approx(0.0, abs=1e-12)
    layers = random_layers(6, 4, rng=rng)
    psi, rec = simulate(6, layers, rate=1.0, trajectories=5, seed=1)
    assert rec.shape == (5, 24) and bool((rec >= 0).all())
    for i in range(5):  # every qubit was projected after the last layer: a product state
        assert mie_exact(psi[i].numpy(), (0, 5))[0] == pytest.approx(0.0, abs=1e-10)
    psi2, rec2 = simulate(6, layers, rate=0.3, trajectories=5, seed=7)
    psi3, rec3 = simulate(6, layers, rate=0.3, trajectories=5, seed=7)
    assert (rec2 == rec3).all() and np.allclose(psi2.numpy(), psi3.numpy())


def test_bounds_are_tight_with_the_true_states_and_valid_with_a_wrong_model():
    rng = np.random.default_rng(2)
    layers = random_layers(6, 5, rng=rng)
    data = _records(6, layers, (0, 5), 0.0, 20000, rng, as_generator(3))
    exact_true = float(np.mean([_ent(ab) for ab in data["ab"]]))
    perfect = _bounds(data["ab"], data["bases"], data["outcome"], data["ab"], 20000, 50, rng, 1e-3)
    assert perfect.fidelity == pytest.approx(1.0, abs=0.06)
    assert abs(perfect.upper - exact_true) < 4 * perfect.upper_se + 0.02
    assert perfect.lower <= perfect.exact + 4 * perfect.lower_se + 0.02
    wrong = np.tile(np.array([1, 0, 0, 0], dtype=complex), (20000, 1))  # a product-state "model"
    bad = _bounds(wrong, data["bases"], data["outcome"], data["ab"], 20000, 50, rng, 0.1)
    assert bad.upper >= exact_true - 4 * bad.upper_se
    assert bad.lower == 0.0
    assert bad.gap > perfect.gap


def _ent(ab: np.ndarray) -> float:
    s = np.linalg.svd(ab.reshape(2, 2), compute_uv=False) ** 2
    s = s[s > 1e-15]
    return float(-(s * np.log2(s)).sum())


def test_learner_gap_grows_with_depth():
    rng = np.random.default_rng(4)
    shallow = learn_bounds(6, random_layers(6, 0, rng=rng), (0, 5), records=1200, epochs=15, seed=5)
    deep = learn_bounds(6, random_layers(6, 6, rng=rng), (0, 5), records=1200, epochs=15, seed=6)
    # depth 0: A∪B is always |00⟩, learnable; the gap is zero within its (shadow-noise) error
    assert abs(shallow.gap) < 3 * shallow.gap_se + 0.05
    assert shallow.fidelity > 0.9
    # depth 6: the upper bound stays valid and the gap is clearly open
    assert deep.upper >= deep.exact - 4 * deep.upper_se
    assert deep.gap > 3 * deep.gap_se
    assert deep.gap > shallow.gap


def test_scan_rows():
    res = mie_scan(4, [0, 2], [0.0, 0.5], circuits=3, trajectories=4, seed=0)
    frame = res.to_frame()
    assert list(frame["depth"]) == [0, 0, 2, 2]
    assert frame.loc[0, "mie"] == pytest.approx(0.0, abs=1e-12)
    assert {"mie", "mie_se", "rate", "circuits"} <= set(frame.columns)
    assert mie_scan(4, [0, 2], [0.0, 0.5], circuits=3, trajectories=4, seed=0).table == res.table


def test_2d_grid_layers_cover_every_bond_once_per_four_layers():
    from probe.qsim.mie import grid_pairs, grid_shape

    assert grid_shape(12) == (3, 4) and grid_shape(16) == (4, 4) and grid_shape(9) == (3, 3)
    with pytest.raises(Exception, match="grid"):
        grid_shape(13)
    rows, cols = 3, 4
    bonds = {(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)}
    bonds |= {(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)}
    seen = []
    for t in range(4):
        layer = grid_pairs(rows, cols, t)
        wires = [w for p in layer for w in p]
        assert len(wires) == len(set(wires))  # a layer acts on disjoint pairs
        seen += layer
    assert sorted(seen) == sorted(bonds)  # every nearest-neighbour bond exactly once
    layers = random_layers(12, 5, geometry="2d-nn", rng=np.random.default_rng(0))
    assert [[p for p, _ in layer] for layer in layers[:4]] == [grid_pairs(3, 4, t) for t in range(4)]


def test_2d_corners_are_disconnected_until_the_gates_link_them():
    """On a 3 x 4 grid the corners 0 and 11 share no gate path before depth 4: MIE is exactly 0."""
    rng = np.random.default_rng(3)
    for depth in (1, 2, 3):
        psi, _ = simulate(12, random_layers(12, depth, geometry="2d-nn", rng=rng), seed=0)
        assert mie_exact(psi[0].numpy(), (0, 11))[0] == pytest.approx(0.0, abs=1e-10)
    vals = []
    for _ in range(3):
        psi, _ = simulate(12, random_layers(12, 6, geometry="2d-nn", rng=rng), seed=0)
        vals.append(mie_exact(psi[0].numpy(), (0, 11))[0])
    assert min(vals) > 1e-3
    frame = mie_scan(9, [0, 1], [0.0], geometry="2d-nn", circuits=2, seed=0).to_frame()
    assert frame["mie"].abs().max() < 1e-10


def test_kappa_table_is_the_supremum():
    """The tabulated κ(λ, c) (minus its margin) matches a direct maximisation over qubit states."""
    from scipy.optimize import minimize

    from probe.qsim.mie import _C_GRID, _KAPPA_MARGIN, _LAMBDA_GRID, _kappa_table

    eps = 1e-2
    table = _kappa_table(eps)

    def objective(v, lam, c):
        r, z = v[0], v[0] * v[1]  # Bloch length and z component, |z| <= r <= 1
        p = np.array([(1 + r) / 2, (1 - r) / 2])
        neg_s = float(sum(x * math.log2(x) for x in p if x > 0))
        lt = (1 - eps) * lam + eps / 2
        d = neg_s - (1 + z) / 2 * math.log2(lt) - (1 - z) / 2 * math.log2(1 - lt)
        fu = (1 + z) / 2 * lam + (1 - z) / 2 * (1 - lam) + 2 * math.sqrt(max((1 - r * r) / 4 * lam * (1 - lam), 0))
        return -(d - c * max(1 - fu, 0.0))

    rng = np.random.default_rng(0)
    for i in (0, 30, 90, 120, len(_LAMBDA_GRID) - 1):
        for k in (0, 12, 20, 40, 160):
            lam, c = _LAMBDA_GRID[i], _C_GRID[k]
            best = max(-minimize(objective, [rng.uniform(0, 1), rng.uniform(-1, 1)], args=(lam, c),
                                 method="L-BFGS-B", bounds=[(0, 1), (-1, 1)]).fun for _ in range(8))
            assert best <= table[i, k] + 1e-9          # the table is an upper bound on the supremum...
            assert best >= table[i, k] - _KAPPA_MARGIN - 2e-3  # ...and close to it


def test_lower_bound_is_tight_for_the_true_states_and_valid_for_wrong_ones():
    rng = np.random.default_rng(8)
    layers = random_layers(6, 5, rng=rng)
    data = _records(6, layers, (0, 5), 0.0, 20000, rng, as_generator(9))
    exact = float(np.mean([_ent(ab) for ab in data["ab"]]))
    perfect = _bounds(data["ab"], data["bases"], data["outcome"], data["ab"], 20000, 50, rng, 1e-2, 0.98)
    assert abs(perfect.lower - exact) < 4 * perfect.lower_se + 0.03  # informative: near the exact value
    assert perfect.lower > 0.5 * exact
    noise = rng.normal(size=data["ab"].shape) + 1j * rng.normal(size=data["ab"].shape)
    for scale in (0.05, 0.1, 0.3, 1.0):  # model fidelity ≈ 0.99, 0.95, 0.66, 0.32
        phi = data["ab"] + scale * noise
        phi /= np.linalg.norm(phi, axis=1, keepdims=True)
        res = _bounds(phi, data["bases"], data["outcome"], data["ab"], 20000, 50, rng, 1e-2, 0.95)
        assert res.lower <= exact + 4 * res.lower_se + 1e-9
        assert res.upper >= exact - 4 * res.upper_se
        if scale <= 0.1:  # informative where the Audenaert–Fannes bound is already 0
            assert res.lower > 0.5 * exact and res.lower > res.lower_fannes + 0.25
