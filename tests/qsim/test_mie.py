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
