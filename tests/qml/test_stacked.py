"""Stacked QNN training (probe.qml.stacked) gives what training the models one at a time gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from probe.qml import cross_validation as evaluate
from probe.qml import datasets
from probe.qml.classifiers import QNNClassifier
from probe.qml.stacked import StackedAdam, fit_qnns


def _toy(n: int, seed: int, n_features: int = 3, n_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    x = rng.uniform(0, np.pi, (n, n_features))
    x[:, 0] = np.where(y == 1, 2.4, 0.7) + 0.3 * rng.normal(size=n)
    return x, y


def test_stacked_adam_is_torch_adam_row_by_row_bitwise() -> None:
    gen = torch.Generator().manual_seed(0)
    shapes = [(4, 6), (4, 3, 2)]
    start = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    lrs = [0.05, 0.05, 0.01, 0.05]
    stops = [7, 3, 7, 5]  # rows 1 and 3 stop early: their rows must stay put afterwards
    stacked = [p.clone() for p in start]
    opt = StackedAdam(stacked, lrs)
    grads = [[torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes] for _ in range(7)]
    for t in range(7):
        opt.step([g for g in grads[t]], [m for m in range(4) if t < stops[m]])
    for m in range(4):
        own = [torch.nn.Parameter(p[m].clone()) for p in start]
        ref = torch.optim.Adam(own, lr=lrs[m])
        for t in range(stops[m]):
            for p, g in zip(own, grads[t], strict=True):
                p.grad = g[m].clone()
            ref.step()
        for p, q in zip(own, stacked, strict=True):
            np.testing.assert_array_equal(p.detach().numpy(), q[m].numpy())


@pytest.mark.parametrize(("encoding", "ansatz"), [("angle", "ring"), ("amplitude", "line"), ("zz", "ring")])
def test_fit_qnns_equals_one_fit_at_a_time(encoding: str, ansatz: str) -> None:
    # folds of different sizes: 5, 5 and 4 minibatches of 8 per epoch, so the stack masks finished models
    sizes, seeds = [37, 33, 30], [3, 11, 4]
    data = [_toy(n, s) for n, s in zip(sizes, seeds, strict=True)]
    x_test, _ = _toy(25, 99)

    def make(seed: int, epochs: int = 3) -> QNNClassifier:
        return QNNClassifier(encoding=encoding, ansatz=ansatz, layers=2, epochs=epochs, batch_size=8, seed=seed)

    alone = [make(s, e).fit(*d) for s, e, d in zip(seeds, (3, 3, 4), data, strict=True)]
    together = fit_qnns([make(s, e) for s, e in zip(seeds, (3, 3, 4), strict=True)], data)
    for a, b in zip(alone, together, strict=True):
        assert len(a.losses_) == len(b.losses_) == a.epochs
        np.testing.assert_allclose(b.losses_, a.losses_, rtol=0, atol=1e-10)
        np.testing.assert_allclose(b.predict_proba(x_test), a.predict_proba(x_test), rtol=0, atol=1e-10)
        np.testing.assert_array_equal(b.predict(x_test), a.predict(x_test))
        for p, q in zip(a.module_.parameters(), b.module_.parameters(), strict=True):
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=0, atol=1e-8)
    assert not np.allclose(together[0].predict_proba(x_test), together[1].predict_proba(x_test))


def test_fit_qnns_groups_unlike_models_and_splits_big_stacks() -> None:
    data = [_toy(20, 0), _toy(20, 1, n_classes=3), _toy(20, 2)]
    make = [QNNClassifier(encoding="angle", layers=1, epochs=2, batch_size=8, seed=s) for s in range(3)]
    alone = [QNNClassifier(encoding="angle", layers=1, epochs=2, batch_size=8, seed=s).fit(*d)
             for s, d in enumerate(data)]
    steps: list[tuple[int, int]] = []
    # a budget of one minibatch per stack: every model in its own stack, the 3-class one by its kind
    together = fit_qnns(make, data, max_amplitudes=8 * 2**3, on_step=lambda k, n: steps.append((k, n)))
    assert steps[-1] == (18, 18) and len(steps) == 18
    x_test, _ = _toy(10, 5)
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(b.predict_proba(x_test), a.predict_proba(x_test), rtol=0, atol=1e-10)
    assert together[1].predict_proba(x_test).shape == (10, 3)
    one = fit_qnns([QNNClassifier(encoding="angle", layers=1, epochs=2, batch_size=8, seed=0)], data[:1])[0]
    np.testing.assert_array_equal(one.predict_proba(x_test), alone[0].predict_proba(x_test))


def test_cross_validation_frame_is_the_one_fit_at_a_time_frame() -> None:
    data = datasets.load_dataset("iris")
    specs = evaluate.model_specs(["qnn", "svm-rbf"], epochs=2)
    messages: list[str] = []
    scores = evaluate.cross_validate(data, specs, n_folds=3, seeds=[0, 1], on_train=messages.append)
    assert list(zip(scores.model, scores.fold, scores.seed, strict=True)) == [
        (m, f, s) for s in (0, 1) for f in range(3) for m in ("qnn", "svm-rbf")]
    assert messages[-1] == "qnn: step 8/8 (6 splits)"
    qnn = scores[scores.model == "qnn"]
    for split, (_, row) in zip(datasets.stratified_splits(data.y, n_folds=3, seeds=[0, 1]), qnn.iterrows(),
                               strict=True):
        pre = datasets.fit_preprocess(data.X[split.train], pca=data.pca, scaling="angle")
        est = QNNClassifier(encoding="angle", ansatz="ring", layers=2, epochs=2, lr=0.05, reps=2,
                            seed=1000 * split.seed + split.fold).fit(pre.transform(data.X[split.train]),
                                                                     data.y[split.train])
        pred = est.predict(pre.transform(data.X[split.test]))
        assert row.accuracy == pytest.approx(float((pred == data.y[split.test]).mean()), abs=1e-12)
        assert row.n_params == est.n_params_
    # resumed: the rows already done are kept, the others come out as before
    done = {(r.model, r.fold, r.seed): r._asdict() for r in scores.head(5).itertuples(index=False)}
    again = evaluate.cross_validate(data, specs, n_folds=3, seeds=[0, 1], done=done)
    cols = ["model", "fold", "seed", "accuracy", "f1", "n_params"]
    assert again[cols].equals(scores[cols])
