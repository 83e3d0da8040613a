"""QSVC, QNN and hybrid QCNN learn what they should; cross-validation rows and the classify command."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from probe.qml import cross_validation as evaluate
from probe.qml import datasets
from probe.qml.classifiers import QSVC, QNNClassifier
from probe.qml.hybrid import HybridQCNN, matched_width


def _separable(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = np.c_[np.where(y == 1, 2.4, 0.7) + 0.15 * rng.normal(size=n), rng.uniform(0, np.pi, n)]
    return x, y


@pytest.mark.parametrize("feature_map", ["angle", "angle-ring"])
def test_qsvc_learns_a_separable_toy_set_perfectly(feature_map: str) -> None:
    x, y = _separable()
    xt, yt = _separable(seed=1)
    model = QSVC(feature_map=feature_map, reps=1, C=100.0).fit(x, y)
    assert (model.predict(x) == y).all()
    if feature_map == "angle":
        assert (model.predict(xt) == yt).all()
    assert 0 < model.diagnostics_["alignment"] <= 1
    assert model.decision_function(xt).shape == (60,)


def test_qsvc_zz_on_two_qubits_has_limited_capacity() -> None:
    # a 2-qubit fidelity kernel is linear in 4x4 density matrices (16 real dimensions): limited capacity
    x, y = _separable()
    model = QSVC(feature_map="zz", reps=1, C=1e4).fit(x, y)
    assert 0.9 < (model.predict(x) == y).mean() < 1.0


def test_qsvc_uses_the_precomputed_kernel_like_sklearn() -> None:
    from sklearn.svm import SVC

    from probe.qml.kernels import fidelity_kernel

    x, y = _separable()
    ours = QSVC("angle").fit(x, y).decision_function(x[:10])
    ref = SVC(kernel="precomputed").fit(fidelity_kernel(x), y).decision_function(fidelity_kernel(x[:10], x))
    np.testing.assert_allclose(ours, ref)


@pytest.mark.slow
def test_qnn_learns_iris_and_is_seeded() -> None:
    iris = datasets.load_dataset("iris")
    pre = datasets.fit_preprocess(iris.X, pca=None, scaling="angle")
    x = pre.transform(iris.X)
    model = QNNClassifier(encoding="angle", ansatz="ring", layers=2, epochs=25, seed=3).fit(x, iris.y)
    assert (model.predict(x) == iris.y).mean() > 0.85
    assert model.losses_[-1] < model.losses_[0]
    assert model.n_params_ == model.parameter_count_for(4, 3) == 16 + 4 * 3 + 3
    again = QNNClassifier(encoding="angle", ansatz="ring", layers=2, epochs=25, seed=3).fit(x, iris.y)
    np.testing.assert_array_equal(model.predict_proba(x), again.predict_proba(x))
    probs = model.predict_proba(x)
    np.testing.assert_allclose(probs.sum(1), 1.0)


def test_qnn_gradients_match_finite_differences() -> None:
    x, y = _separable(12)
    model = QNNClassifier(encoding="amplitude", ansatz="line", layers=1, epochs=0, seed=0).fit(x, y)
    module = model.module_
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)

    def loss() -> torch.Tensor:
        return torch.nn.functional.cross_entropy(module(xt), yt)

    value = loss()
    value.backward()
    grad = module.weights.grad.clone()
    eps = 1e-6
    for k in range(module.weights.numel()):
        with torch.no_grad():
            module.weights[k] += eps
            up = float(loss())
            module.weights[k] -= 2 * eps
            down = float(loss())
            module.weights[k] += eps
        assert grad[k].item() == pytest.approx((up - down) / (2 * eps), abs=1e-7)


@pytest.mark.slow
def test_hybrid_qcnn_and_classical_twin_are_parameter_matched_and_learn() -> None:
    data = datasets.load_dataset("digits", classes=["0", "1"])
    pre = datasets.fit_preprocess(data.X, pca=None, scaling="standard")
    x = pre.transform(data.X)[:120]
    y = data.y[:120]
    q = HybridQCNN(image_shape=(8, 8), layers=2, quantum=True, epochs=8, seed=0).fit(x, y)
    c = HybridQCNN(image_shape=(8, 8), layers=2, quantum=False, epochs=8, seed=0).fit(x, y)
    assert abs(q.n_params_ - c.n_params_) <= 17  # one step of the classical width
    assert (q.predict(x) == y).mean() > 0.9 and (c.predict(x) == y).mean() > 0.9
    assert matched_width(2) == 12
    tabular = HybridQCNN(image_shape=None, epochs=2).fit(x[:, :10], y)
    assert tabular.predict(x[:5, :10]).shape == (5,)


@pytest.mark.slow
def test_cross_validation_rows_and_comparisons() -> None:
    data = datasets.load_dataset("iris")
    specs = evaluate.model_specs(["qsvc", "qnn", "svm-rbf", "mlp"], epochs=3)
    scores = evaluate.cross_validate(data, specs, n_folds=3, seeds=[0, 1])
    assert len(scores) == 4 * 3 * 2
    assert set(scores.columns) >= {"model", "fold", "seed", "accuracy", "f1", "n_train", "n_test", "n_params"}
    assert (scores.groupby("model").size() == 6).all()
    mlp = scores[scores.model == "mlp"]["n_params"].iloc[0]
    qnn = scores[scores.model == "qnn"]["n_params"].iloc[0]
    assert abs(mlp - qnn) <= 8  # the MLP is sized to the QNN
    _, table = evaluate.compare_to_baselines(scores)
    assert set(zip(table.a, table.b, strict=True)) == {("qnn", "mlp"), ("qnn", "svm-rbf"), ("qsvc", "mlp"),
                                                       ("qsvc", "svm-rbf")}
    assert (table.p_holm >= table.p_value - 1e-12).all()


def test_model_specs_expand_encodings_and_reject_unknowns() -> None:
    from probe.errors import ConfigError

    specs = evaluate.model_specs(["qsvc", "qnn"], encodings=["angle", "amplitude"], ansatze=["ring", "line"])
    assert [s.name for s in specs] == ["qsvc-angle", "qsvc-amplitude", "qnn-angle-ring", "qnn-angle-line",
                                       "qnn-amplitude-ring", "qnn-amplitude-line"]
    with pytest.raises(ConfigError, match="unknown model"):
        evaluate.model_specs(["qsvm"])
    with pytest.raises(ConfigError, match="unknown ansatz"):
        evaluate.model_specs(["qnn"], ansatze=["circle"])
    with pytest.raises(ConfigError, match="qsvc feature map"):
        evaluate.model_specs(["qnn"], encodings=["angle-ring"])
