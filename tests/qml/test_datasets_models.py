"""Datasets, splits and train-only preprocessing; classical baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from probe.errors import DataError
from probe.qml import classical_baselines as baselines
from probe.qml import datasets


def test_builtins_load_offline() -> None:
    iris = datasets.load_dataset("iris")
    assert iris.X.shape == (150, 4) and iris.classes == ("setosa", "versicolor", "virginica")
    digits = datasets.load_dataset("digits-pca8")
    assert digits.pca == 8 and digits.n_features == 8 and digits.X.shape == (1797, 64)
    assert digits.images is not None and digits.images.shape == (1797, 8, 8)
    pair = datasets.load_dataset("digits", classes=["3", "8"])
    assert pair.classes == ("3", "8") and set(pair.y) == {0, 1} and pair.images.shape[0] == pair.X.shape[0]
    assert datasets.load_dataset("breast-cancer").X.shape == (569, 30)
    assert datasets.load_dataset("wine").X.shape == (178, 13)


def test_user_files(tmp_path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "b": [0.5, 0.1, 0.3, 0.2, 0.9, 0.4],
                          "kind": ["x", "y", "x", "y", "x", "y"]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = datasets.load_dataset(str(tmp_path / "d.csv"))
    assert data.classes == ("x", "y") and data.X.shape == (6, 2) and data.feature_names == ("a", "b")
    np.savez(tmp_path / "d.npz", X=np.arange(12.0).reshape(6, 2), y=np.array([0, 1] * 3))
    assert datasets.load_dataset(str(tmp_path / "d.npz") + "-pca1").pca == 1
    np.savez(tmp_path / "img.npz", X=np.random.default_rng(0).random((8, 4, 4)), y=np.arange(8)[:, None] % 2)
    images = datasets.load_dataset(str(tmp_path / "img.npz"))  # MedMNIST-style (n, h, w) images, (n, 1) labels
    assert images.X.shape == (8, 16) and images.images.shape == (8, 4, 4) and images.classes == ("0", "1")
    frame.assign(b=["p", "q", "r", "s", "t", "u"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="non-numeric feature column"):
        datasets.load_dataset(str(tmp_path / "bad.csv"))
    with pytest.raises(DataError, match="unknown dataset"):
        datasets.load_dataset("mnist")
    with pytest.raises(DataError, match="PCA to 99"):
        datasets.load_dataset("iris-pca99")
    with pytest.raises(DataError, match="no class"):
        datasets.load_dataset("digits", classes=["3", "x"])


def test_stratified_splits_cover_each_sample_once_per_seed() -> None:
    y = datasets.load_dataset("iris").y
    splits = datasets.stratified_splits(y, n_folds=5, seeds=[3, 4])
    assert len(splits) == 10 and {s.seed for s in splits} == {3, 4}
    for seed in (3, 4):
        tests = np.concatenate([s.test for s in splits if s.seed == seed])
        assert np.array_equal(np.sort(tests), np.arange(150))
    for s in splits:  # stratified: 10 of each class per test fold
        assert np.bincount(y[s.test]).tolist() == [10, 10, 10]
    again = datasets.stratified_splits(y, n_folds=5, seeds=[3])
    assert all(np.array_equal(a.test, b.test) for a, b in zip(again, splits[:5], strict=True))
    with pytest.raises(DataError, match="smallest class"):
        datasets.stratified_splits(np.array([0, 0, 1, 1, 1]), n_folds=3, seeds=[0])


def test_preprocess_is_fit_on_training_rows_only() -> None:
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(80, 6))
    x_test = rng.normal(size=(20, 6)) + 100.0  # shifted test data must not move the fit
    pre = datasets.fit_preprocess(x_train, pca=3, scaling="angle")
    z_train = pre.transform(x_train)
    assert z_train.shape == (80, 3)
    np.testing.assert_allclose(z_train.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z_train.max(axis=0), np.pi, atol=1e-12)
    assert 0 < pre.explained_variance < 1
    refit = datasets.fit_preprocess(np.vstack([x_train, x_test]), pca=3, scaling="angle")
    assert not np.allclose(refit.transform(x_train), z_train)
    std = datasets.fit_preprocess(x_train, pca=None, scaling="standard").transform(x_train)
    np.testing.assert_allclose(std.mean(axis=0), 0, atol=1e-12)


def test_long_tail_topics_are_reproducible_and_long_tailed() -> None:
    texts, labels = datasets.long_tail_topics(seed=1)
    again, _ = datasets.long_tail_topics(seed=1)
    assert texts == again and len(set(texts)) == len(texts)
    counts = pd.Series(labels).value_counts()
    assert counts["football"] == 300 and counts["crypto"] == 12


def test_mlp_parameter_matching() -> None:
    assert baselines.mlp_parameter_count(4, 3, 3) == 27
    for target in (20, 48, 97):
        h = baselines.matched_hidden_width(target, 8, 10)
        got = baselines.mlp_parameter_count(8, h, 10)
        assert abs(got - target) <= (8 + 1 + 10) // 2 + 1
    iris = datasets.load_dataset("iris")
    mlp = baselines.make_classical("mlp", n_features=4, n_classes=3, seed=0, match_params=40)
    mlp.fit(iris.X, iris.y)
    assert abs(baselines.classical_parameter_count(mlp) - 40) <= 5
    with pytest.raises(DataError, match="unknown classical model"):
        baselines.make_classical("xgboost", n_features=4, n_classes=3, seed=0)
