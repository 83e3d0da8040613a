"""Cross-validated comparison of quantum classifiers with classical baselines.

:func:`model_specs` turns CLI-style names (``qsvc,qnn,svm-rbf,mlp``) and options
into model specifications; :func:`cross_validate` runs every model on the same
repeated stratified k-fold splits (preprocessing fit on each training fold) and
returns one row per (model, fold, seed); :func:`compare_to_baselines` pairs every
quantum model with every classical one on those splits and runs the paired tests
of :mod:`probe.analysis.paired`, Holm-corrected over all comparisons.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probe.analysis.paired import PairedComparison, comparisons_frame, paired_compare
from probe.errors import ConfigError
from probe.qml.classical_baselines import classical_parameter_count, make_classical
from probe.qml.classifiers import ENCODINGS, QSVC, QNNClassifier
from probe.qml.datasets import Dataset, fit_preprocess, stratified_splits
from probe.qml.kernels import FEATURE_MAPS
from probe.qml.stacked import fit_qnns

QUANTUM = ("qsvc", "qnn", "qcnn")
CLASSICAL = ("svm-rbf", "logreg", "mlp", "cnn")
MODELS = QUANTUM + CLASSICAL


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model of a run: its display name, kind, family and options."""

    name: str
    kind: str
    family: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def raw_pixels(self) -> bool:
        """CNN-type models read the raw image, never the PCA features."""
        return self.kind in ("qcnn", "cnn")

    @property
    def scaling(self) -> str:
        angle = self.kind in ("qsvc", "qnn") and self.options.get("encoding") != "amplitude"
        return "angle" if angle else "standard"


def model_specs(models: Sequence[str], *, encodings: Sequence[str] = ("angle",), ansatze: Sequence[str] = ("ring",),
                layers: int = 2, epochs: int = 60, lr: float = 0.05, reps: int = 2) -> list[ModelSpec]:
    """Expand model names into specs; quantum models get one spec per encoding (and ansatz for qnn).

    Names carry the encoding / ansatz only when several were asked for (``qsvc-zz``, ``qnn-angle-line``).
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ConfigError(f"--models: unknown model(s) {', '.join(unknown)}", hint=f"choose from {', '.join(MODELS)}")
    if not models:
        raise ConfigError("--models is empty", hint=f"choose from {', '.join(MODELS)}")
    bad = [e for e in encodings if e not in set(ENCODINGS) | set(FEATURE_MAPS)]
    if bad:
        raise ConfigError(f"--encoding: unknown encoding(s) {', '.join(bad)}",
                          hint=f"qsvc takes {', '.join(FEATURE_MAPS)}; qnn takes {', '.join(ENCODINGS)}")
    from probe.qsim import ANSATZE

    bad = [a for a in ansatze if a.lower() not in ANSATZE and a not in ("hea", "hardware-efficient")]
    if bad and "qnn" in models:
        raise ConfigError(f"--ansatz: unknown ansatz {', '.join(bad)}", hint=f"choose from hea, {', '.join(ANSATZE)}")
    specs: list[ModelSpec] = []
    many_enc, many_ans = len(encodings) > 1, len(ansatze) > 1
    for m in dict.fromkeys(models):
        if m == "qsvc":
            specs += [ModelSpec(m + (f"-{e}" if many_enc else ""), m, "quantum", {"encoding": e, "reps": reps})
                      for e in encodings]
        elif m == "qnn":
            for e in encodings:
                if e not in ENCODINGS:
                    raise ConfigError(f"--encoding {e} is a qsvc feature map; qnn takes {', '.join(ENCODINGS)}")
                for a in ansatze:
                    name = m + (f"-{e}" if many_enc else "") + (f"-{a}" if many_ans else "")
                    specs.append(ModelSpec(name, m, "quantum", {"encoding": e, "ansatz": a, "layers": layers,
                                                                 "epochs": epochs, "lr": lr, "reps": reps}))
        elif m in ("qcnn", "cnn"):
            specs.append(ModelSpec(m, m, "quantum" if m == "qcnn" else "classical",
                                   {"layers": layers, "epochs": max(10, epochs // 2)}))
        else:
            specs.append(ModelSpec(m, m, "classical"))
    return specs


def _estimator(spec: ModelSpec, data: Dataset, n_features: int, seed: int, match: int | None) -> Any:
    o = spec.options
    if spec.kind == "qsvc":
        return QSVC(feature_map=o["encoding"], reps=o["reps"])
    if spec.kind == "qnn":
        return QNNClassifier(encoding=o["encoding"], ansatz=o["ansatz"], layers=o["layers"], epochs=o["epochs"],
                             lr=o["lr"], reps=o["reps"], seed=seed)
    if spec.kind in ("qcnn", "cnn"):
        from probe.qml.hybrid import HybridQCNN

        shape = None if data.images is None else tuple(data.images.shape[1:])
        return HybridQCNN(image_shape=shape, layers=o["layers"], quantum=spec.kind == "qcnn", epochs=o["epochs"],
                          seed=seed)
    return make_classical(spec.kind, n_features=n_features, n_classes=len(data.classes), seed=seed,
                          match_params=match)


def _n_params(estimator: Any) -> int:
    return int(estimator.n_params_) if hasattr(estimator, "n_params_") else classical_parameter_count(estimator)


def cross_validate(data: Dataset, specs: Sequence[ModelSpec], *, n_folds: int, seeds: Sequence[int],
                   on_step: Callable[[str], None] | None = None,
                   done: Mapping[tuple[str, int, int], Mapping[str, Any]] | None = None,
                   on_row: Callable[[dict[str, Any]], None] | None = None,
                   on_train: Callable[[str], None] | None = None) -> Any:
    """Every model on the same repeated stratified k-fold splits; one row per (model, fold, seed).

    Columns: model, family, fold, seed, model_seed, accuracy, f1 (macro), n_train, n_test,
    n_params, fit_seconds, explained_variance, and for QSVC alignment / kernel_mean / kernel_var.
    The MLP is sized to the first QNN of the run (same parameter count) when there is one.

    A QNN is trained on all its splits at once, as one stacked model
    (:func:`probe.qml.stacked.fit_qnns`: the same result as fitting the splits one at a
    time, to rounding); its ``fit_seconds`` is then the stack's wall time divided by the
    number of splits in it. The rows come out in the same order as one fit at a time.

    ``done`` maps (model, fold, seed) to rows computed before (a resumed run): they are
    taken as they are, not refit; every model's seed depends only on its split, so the
    other rows come out as in one uninterrupted run. ``on_row(row)`` sees each new row
    as soon as it is made (to save it); ``on_step(model)`` is called after each new fit;
    ``on_train(text)`` reports how far a stacked QNN training is (``qnn: step 120/2700 (25 splits)``).
    """
    done = done or {}
    import pandas as pd

    n_classes = len(data.classes)
    qnn = next((s for s in specs if s.kind == "qnn"), None)
    match = None
    if qnn is not None:
        match = QNNClassifier(encoding=qnn.options["encoding"], ansatz=qnn.options["ansatz"],
                              layers=qnn.options["layers"]).parameter_count_for(data.n_features, n_classes)
    splits = stratified_splits(data.y, n_folds=n_folds, seeds=seeds)
    caches: list[dict[tuple[Any, str], Any]] = [{} for _ in splits]

    def prepared(i: int, spec: ModelSpec) -> tuple[Any, np.ndarray, np.ndarray]:
        split, pca = splits[i], None if spec.raw_pixels else data.pca
        key = (pca, spec.scaling)
        if key not in caches[i]:
            caches[i][key] = fit_preprocess(data.X[split.train], pca=pca, scaling=spec.scaling)  # type: ignore[arg-type]
        pre = caches[i][key]
        return pre, pre.transform(data.X[split.train]), pre.transform(data.X[split.test])

    made: dict[tuple[str, int, int], dict[str, Any]] = {}

    def record(spec: ModelSpec, i: int, est: Any, pre: Any, x_test: np.ndarray, fit_s: float) -> None:
        split = splits[i]
        row = _score_row(spec, split, est, pre, est.predict(x_test), data.y[split.test], fit_s)
        made[(spec.name, split.fold, split.seed)] = row
        if on_row is not None:
            on_row(row)
        if on_step is not None:
            on_step(spec.name)

    def fit_stacked(spec: ModelSpec, todo: list[int]) -> None:
        ests, fold_data, tests, pres = [], [], [], []
        for i in todo:
            pre, x_train, x_test = prepared(i, spec)
            ests.append(_estimator(spec, data, x_train.shape[1], _model_seed(splits[i]), match))
            fold_data.append((x_train, data.y[splits[i].train]))
            tests.append(x_test)
            pres.append(pre)

        def progress(step: int, total: int) -> None:
            if on_train is not None and (step % 10 == 0 or step == total):
                on_train(f"{spec.name}: step {step}/{total} ({len(todo)} splits)")

        start = time.perf_counter()
        fit_qnns(ests, fold_data, on_step=progress)
        fit_s = (time.perf_counter() - start) / len(todo)
        for i, est, pre, x_test in zip(todo, ests, pres, tests, strict=True):
            record(spec, i, est, pre, x_test, fit_s)

    rows = []
    for i, split in enumerate(splits):
        for spec in specs:
            key = (spec.name, split.fold, split.seed)
            if key in done:
                rows.append(dict(done[key]))
                continue
            if key not in made:
                if spec.kind == "qnn":
                    fit_stacked(spec, [j for j in range(i, len(splits))
                                       if (spec.name, splits[j].fold, splits[j].seed) not in done])
                else:
                    pre, x_train, x_test = prepared(i, spec)
                    est = _estimator(spec, data, x_train.shape[1], _model_seed(split), match)
                    start = time.perf_counter()
                    est.fit(x_train, data.y[split.train])
                    record(spec, i, est, pre, x_test, time.perf_counter() - start)
            rows.append(made[key])
    return pd.DataFrame(rows)


def _model_seed(split: Any) -> int:
    return 1000 * split.seed + split.fold


def _score_row(spec: ModelSpec, split: Any, est: Any, pre: Any, pred: np.ndarray, truth: np.ndarray,
               fit_s: float) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    row = {"model": spec.name, "family": spec.family, "fold": split.fold, "seed": split.seed,
           "model_seed": _model_seed(split), "accuracy": float(accuracy_score(truth, pred)),
           "f1": float(f1_score(truth, pred, average="macro")), "n_train": int(split.train.size),
           "n_test": int(split.test.size), "n_params": _n_params(est), "fit_seconds": fit_s,
           "explained_variance": pre.explained_variance}
    if spec.kind == "qsvc":
        d = est.diagnostics_
        row.update(alignment=d["alignment"], kernel_mean=d["mean_offdiag"], kernel_var=d["var_offdiag"],
                   n_qubits=d["n_qubits"])
    return row


def compare_to_baselines(scores: Any, *, metric: str = "accuracy", alternative: str = "greater",
                         alpha: float = 0.05) -> tuple[list[PairedComparison], Any]:
    """Paired tests of every quantum model against every classical model, Holm-corrected per test.

    Pairs are the shared (fold, seed) splits; the Nadeau-Bengio corrected t uses the
    run's training/test sizes (rounded means over splits).
    """
    families = scores.groupby("model")["family"].first()
    quantum = [m for m in families.index if families[m] == "quantum"]
    classical = [m for m in families.index if families[m] == "classical"]
    comparisons = []
    n_train, n_test = round(float(scores["n_train"].mean())), round(float(scores["n_test"].mean()))
    for q in quantum:
        a = scores[scores.model == q].set_index(["fold", "seed"])[metric]
        for c in classical:
            b = scores[scores.model == c].set_index(["fold", "seed"])[metric].reindex(a.index)
            if len(a) < 3 or b.isna().any():
                continue
            comparisons.append(paired_compare(a.to_numpy(np.float64), b.to_numpy(np.float64),
                                              alternative=alternative, alpha=alpha,  # type: ignore[arg-type]
                                              n_train=n_train, n_test=n_test, name_a=q, name_b=c))
    return comparisons, comparisons_frame(comparisons)
