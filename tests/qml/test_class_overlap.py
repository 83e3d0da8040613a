"""Class overlap measures: known answers, scipy/sklearn cross-checks, and the SupCon head."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, linalg, stats

from probe.analysis import overlap, supcon
from probe.errors import DataError


def test_subspace_overlap_known_answers_and_scipy() -> None:
    rng = np.random.default_rng(0)
    d, k = 40, 4
    a = rng.normal(size=(200, d))
    assert overlap.subspace_overlap(a, a, k=k) == pytest.approx(1.0)
    q, _ = np.linalg.qr(rng.normal(size=(d, 2 * k)))
    x = rng.normal(size=(300, k)) @ q[:, :k].T
    y = rng.normal(size=(300, k)) @ q[:, k:].T
    assert overlap.subspace_overlap(x, y, k=k) == pytest.approx(0.0, abs=1e-20)
    # equals the mean cos^2 of scipy's principal angles
    b = rng.normal(size=(200, d)) @ np.diag(np.linspace(3, 0.1, d))
    ua, ub = overlap._basis(a, k), overlap._basis(b, k)
    angles = linalg.subspace_angles(ua, ub)
    assert overlap.subspace_overlap(a, b, k=k) == pytest.approx(np.mean(np.cos(angles) ** 2), rel=1e-10)
    # random k-dimensional subspaces of R^d overlap k/d on average
    vals = [overlap.subspace_overlap(rng.normal(size=(30, d)), rng.normal(size=(30, d)), k=k) for _ in range(200)]
    assert np.mean(vals) == pytest.approx(k / d, rel=0.1)


def test_bhattacharyya_closed_form_against_numerical_integral() -> None:
    m1, s1, m2, s2 = 0.3, 1.2, 1.9, 0.7
    ours = overlap.bhattacharyya_coefficient([m1], [[s1**2]], [m2], [[s2**2]])
    ref, _ = integrate.quad(lambda t: math.sqrt(stats.norm.pdf(t, m1, s1) * stats.norm.pdf(t, m2, s2)), -20, 20)
    assert ours == pytest.approx(ref, rel=1e-8)
    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    assert overlap.bhattacharyya_coefficient([0, 0], cov, [0, 0], cov) == pytest.approx(1.0)
    assert overlap.bhattacharyya_coefficient([0, 0], cov, [40, 0], cov) < 1e-50


def _blobs(rng: np.random.Generator, centres: list[np.ndarray], sizes: list[int], scale: float) -> tuple:
    x = np.vstack([c + scale * rng.normal(size=(m, c.size)) for c, m in zip(centres, sizes, strict=True)])
    y = np.repeat([f"c{i}" for i in range(len(sizes))], sizes)
    return x, y


def test_separated_clusters_have_zero_overlap() -> None:
    rng = np.random.default_rng(1)
    centres = [np.eye(8)[i] * 50 for i in range(3)]
    x, y = _blobs(rng, centres, [200, 150, 12], 1.0)
    res = overlap.class_overlap(x, y)
    assert res.tail == ("c2",)
    off = ~np.eye(3, dtype=bool)
    assert res.bhattacharyya[off].max() < 1e-10
    assert res.knn[off].max() == 0.0
    assert min(res.silhouette) > 0.9
    assert res.tail_head["knn"] == 0.0


def test_identical_classes_have_maximal_overlap() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(size=(150, 6))
    # the same points under two labels: Gaussian fits coincide exactly
    res = overlap.class_overlap(np.vstack([base, base]), np.repeat(["a", "b"], 150))
    assert res.bhattacharyya[0, 1] == pytest.approx(1.0, abs=1e-12)
    assert res.subspace[0, 1] == pytest.approx(1.0)
    # one distribution, labels shuffled: kNN mixing at chance level (1), silhouette near 0
    x = rng.normal(size=(600, 6))
    y = rng.permutation(np.repeat(["head", "tail"], [500, 100]))
    mixed = overlap.class_overlap(x, y)
    assert mixed.tail_head["knn"] == pytest.approx(1.0, abs=0.15)
    assert mixed.tail_head["bhattacharyya"] > 0.95
    assert abs(mixed.tail_head["silhouette_tail"]) < 0.1


def test_knn_mixing_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 3))
    y = rng.integers(0, 3, 60)
    got = overlap.knn_mixing(x, y, 3, k=5, metric="euclidean")
    dist = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    nearest = np.argsort(dist, axis=1)[:, :5]
    counts = np.bincount(y, minlength=3)
    for i in range(3):
        rate = np.bincount(y[nearest[y == i]].ravel(), minlength=3) / (5 * counts[i])
        expected = (counts - (np.arange(3) == i)) / 59
        np.testing.assert_allclose(got[i], rate / expected)


def test_supcon_loss_matches_naive_loop() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(12, 5, generator=g, dtype=torch.float64), dim=1)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 0, 2, 1, 3, 0, 1])
    tau = 0.1
    total, anchors = 0.0, 0
    for i in range(12):
        pos = [p for p in range(12) if p != i and labels[p] == labels[i]]
        if not pos:
            continue
        denom = sum(math.exp(float(z[i] @ z[a]) / tau) for a in range(12) if a != i)
        total += -sum(math.log(math.exp(float(z[i] @ z[p]) / tau) / denom) for p in pos) / len(pos)
        anchors += 1
    assert float(supcon.supcon_loss(z, labels, temperature=tau)) == pytest.approx(total / anchors, rel=1e-10)


@pytest.mark.slow
def test_supcon_head_reduces_held_out_overlap() -> None:
    rng = np.random.default_rng(4)
    d = 10

    def sample(m: int, label: int) -> np.ndarray:
        x = rng.normal(size=(m, d)) * 2.0  # large nuisance variance
        x[:, 0] = 2.0 * label + 0.3 * rng.normal(size=m)  # the class lives in one direction
        return x

    sizes = {0: 300, 1: 200, 2: 25}
    train = np.vstack([sample(m, c) for c, m in sizes.items()])
    y_train = np.repeat(list(sizes), list(sizes.values()))
    test = np.vstack([sample(m, c) for c, m in sizes.items()])
    before = overlap.class_overlap(test, y_train, k_neighbors=10)
    head = supcon.fit_supcon_head(train, y_train, dim=8, hidden=32, epochs=100, lr=3e-3, seed=0)
    after = overlap.class_overlap(head.transform(test), y_train, k_neighbors=10)
    assert head.losses[-1] < head.losses[0]
    assert before.tail_head["knn"] > 0.9  # raw space: tail neighbours are head points at chance rate
    assert after.tail_head["knn"] < 0.6 * before.tail_head["knn"]
    assert after.tail_head["bhattacharyya"] < 0.5 * before.tail_head["bhattacharyya"]
    assert after.tail_head["silhouette_tail"] > before.tail_head["silhouette_tail"] + 0.3
    again = supcon.fit_supcon_head(train, y_train, dim=8, hidden=64, epochs=5, seed=0)
    again2 = supcon.fit_supcon_head(train, y_train, dim=8, hidden=64, epochs=5, seed=0)
    np.testing.assert_array_equal(again.weights[0], again2.weights[0])  # seeded, reproducible


def test_bad_input() -> None:
    with pytest.raises(DataError, match="one label per embedding row"):
        overlap.class_overlap(np.zeros((10, 3)), np.zeros(9))
    with pytest.raises(DataError, match="at least 3 samples"):
        overlap.class_overlap(np.random.default_rng(0).normal(size=(12, 3)), ["a"] * 10 + ["b"] * 2)
    with pytest.raises(DataError, match="head classes not in the labels"):
        overlap.class_overlap(np.random.default_rng(0).normal(size=(12, 3)), ["a"] * 6 + ["b"] * 6, head=["z"])
