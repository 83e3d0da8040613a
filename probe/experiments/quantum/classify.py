"""Quantum classifiers beside classical baselines (``probe quantum classify``, ``probe.quantum.classify``).

Repeated stratified k-fold of quantum models (QSVC, QNN, hybrid QCNN) and classical
baselines on the same splits (:func:`probe.qml.cross_validation.cross_validate`),
a per-model summary with Nadeau-Bengio corrected standard errors
(:func:`probe.analysis.cross_validation.summarize_scores`), and paired tests of
every quantum model against every classical one
(:func:`probe.qml.cross_validation.compare_to_baselines`). Every (model, fold, seed)
score row goes to ``items.jsonl`` as it is made, so rerunning the same command
after an interruption fits only the missing rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from probe._results import jsonable
from probe.errors import SettingError
from probe.experiments.quantum.folder_run import done_items, run_in_folder
from probe.experiments.quantum.values import check_seed, names, normalize
from probe.progress import Progress
from probe.protocol import How, Plan, Result, Settings, Study

MAX_QUBITS = 16
"""Largest qubit count a QSVC or QNN of this study may need (the kernel is exact, 2^16 amplitudes per row)."""

ALTERNATIVES = ("greater", "less", "two-sided")
METRICS = ("accuracy", "f1")


@dataclass(frozen=True, slots=True)
class ClassifySettings(Settings):
    """What is compared: the data, the models and their options, the k-fold design and the tests."""

    experiment: ClassVar[str] = "quantum-classify"

    data: str = ""
    """iris, digits, breast-cancer, wine (optionally -pcaN, e.g. digits-pca8), or a .csv/.npz file."""
    classes: tuple[str, ...] | None = None
    """Keep only these classes (a list or a comma string)."""
    label_column: str | None = None
    """Label column of a CSV (default: the last)."""
    models: tuple[str, ...] = ("qsvc", "qnn", "svm-rbf", "logreg", "mlp")
    encoding: tuple[str, ...] = ("angle",)
    """Encodings: angle, zz, amplitude (qsvc also angle-ring)."""
    ansatz: tuple[str, ...] = ("ring",)
    """QNN ansätze: ring, line (= hea), star, all, simN."""
    layers: int = 2
    epochs: int = 60
    """QNN training epochs (QCNN/CNN: half)."""
    lr: float = 0.05
    reps: int = 2
    """Repetitions of the ZZ feature map."""
    folds: int = 5
    seeds: int = 5
    """Repeats of the k-fold split (shuffling seeds seed..seed+seeds-1)."""
    seed: int = 0
    metric: str = "accuracy"
    """Metric of the paired tests."""
    alternative: str = "greater"
    """Claim tested for each quantum model against each baseline."""
    alpha: float = 0.05

    def __post_init__(self) -> None:
        normalize(self, {"classes": lambda v: names(v, param="classes"), "models": lambda v: names(v, param="models"),
                         "encoding": lambda v: names(v, param="encoding"),
                         "ansatz": lambda v: names(v, param="ansatz")})

    @property
    def seed_list(self) -> list[int]:
        return [self.seed + i for i in range(self.seeds)]

    def validate(self) -> None:
        self.prepare()

    def prepare(self) -> tuple[Any, list[Any]]:
        """The loaded dataset and the model specs; raises for the first bad setting."""
        import numpy as np

        from probe.qml.classifiers import ENCODINGS
        from probe.qml.cross_validation import MODELS, model_specs
        from probe.qml.datasets import load_dataset
        from probe.qml.kernels import FEATURE_MAPS, n_qubits_for
        from probe.qsim import ANSATZE

        check_seed(self.seed)
        if not self.data:
            raise SettingError("data", self.data, "name a dataset", hint="e.g. data='iris' or data='scores.csv'")
        models = names(self.models, param="models")
        unknown = [m for m in models if m not in MODELS]
        if unknown:
            raise SettingError("models", ",".join(unknown), "unknown model(s)", hint=f"choose from {', '.join(MODELS)}")
        encodings = names(self.encoding, param="encoding")
        bad = [e for e in encodings if e not in set(ENCODINGS) | set(FEATURE_MAPS)]
        if bad:
            raise SettingError("encoding", ",".join(bad), "unknown encoding(s)",
                               hint=f"qsvc takes {', '.join(FEATURE_MAPS)}; qnn takes {', '.join(ENCODINGS)}")
        if "qnn" in models:
            qsvc_only = [e for e in encodings if e not in ENCODINGS]
            if qsvc_only:
                raise SettingError("encoding", ",".join(qsvc_only), "is a qsvc feature map only",
                                   hint=f"qnn takes {', '.join(ENCODINGS)}")
            ansatze = names(self.ansatz, param="ansatz")
            bad = [a for a in ansatze if a.lower() not in ANSATZE and a not in ("hea", "hardware-efficient")]
            if bad:
                raise SettingError("ansatz", ",".join(bad), "unknown ansatz", hint=f"choose from hea, {', '.join(ANSATZE)}")
        for name in ("layers", "epochs", "reps"):
            if getattr(self, name) < 1:
                raise SettingError(name, getattr(self, name), "must be >= 1")
        if not self.lr > 0:
            raise SettingError("lr", self.lr, "must be > 0")
        if self.folds < 2:
            raise SettingError("folds", self.folds, "must be >= 2")
        if self.seeds < 1:
            raise SettingError("seeds", self.seeds, "must be >= 1")
        if self.metric not in METRICS:
            raise SettingError("metric", self.metric, f"use one of {', '.join(METRICS)}")
        if self.alternative not in ALTERNATIVES:
            raise SettingError("alternative", self.alternative, f"use one of {', '.join(ALTERNATIVES)}")
        if not 0 < self.alpha < 1:
            raise SettingError("alpha", self.alpha, "must lie in (0, 1)")
        data = load_dataset(self.data, label_column=self.label_column,
                            classes=list(names(self.classes, param="classes")) if self.classes else None)
        specs = model_specs(list(models), encodings=list(encodings), ansatze=list(self.ansatz), layers=self.layers,
                            epochs=self.epochs, lr=self.lr, reps=self.reps)
        for spec in specs:
            if spec.kind in ("qsvc", "qnn"):
                q = n_qubits_for(data.n_features, spec.options["encoding"])
                if q > MAX_QUBITS:
                    raise SettingError("data", self.data, f"{spec.name}: {data.n_features} features need {q} qubits "
                                       f"with {spec.options['encoding']} encoding (limit {MAX_QUBITS})",
                                       hint=f"reduce the features, e.g. {self.data.split('-pca')[0]}-pca8, "
                                            "or use the amplitude encoding")
        smallest = int(np.bincount(data.y).min())
        if smallest < self.folds:
            raise SettingError("folds", self.folds, f"exceeds the smallest class of {self.data} ({smallest} rows)",
                               hint="use fewer folds")
        return data, specs


@dataclass(frozen=True)
class ClassifyResult(Result):
    """``r.to_frame()``: the score table (one row per model, fold, seed); ``r.summary`` per model,
    ``r.accuracy("qsvc")`` -> (mean, Nadeau-Bengio corrected SE); ``r.comparisons``: the paired tests."""

    experiment: ClassVar[str] = "quantum-classify"
    settings_type: ClassVar[type] = ClassifySettings

    @property
    def scores(self) -> list[dict[str, Any]]:
        return list(self.result.get("scores") or [])

    @property
    def summary(self) -> list[dict[str, Any]]:
        return list(self.result.get("summary") or [])

    @property
    def comparisons(self) -> list[dict[str, Any]]:
        return list(self.result.get("comparisons") or [])

    @property
    def models(self) -> list[str]:
        return [m["model"] for m in self.summary]

    def accuracy(self, model: str) -> tuple[float, float]:
        """Mean accuracy over splits and its Nadeau-Bengio corrected standard error."""
        return self._metric(model, "accuracy")

    def f1(self, model: str) -> tuple[float, float]:
        return self._metric(model, "f1")

    def _metric(self, model: str, metric: str) -> tuple[float, float]:
        for m in self.summary:
            if m["model"] == model:
                return float(m[metric]), float(m[f"{metric}_se_corrected"])
        raise KeyError(model)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.scores)


def summary_rows(scores: Any) -> list[dict[str, Any]]:
    """The per-model summary: corrected SEs (analysis layer) plus family, sizes, time and kernel diagnostics."""
    from probe.analysis.cross_validation import summarize_scores

    out = []
    for row, (_, g) in zip(summarize_scores(scores, metrics=METRICS), scores.groupby("model", sort=False),
                           strict=True):
        full: dict[str, Any] = {"model": row["model"], "family": g["family"].iloc[0], "n_splits": row["n_splits"],
                                "n_params": int(g["n_params"].median()), "fit_seconds": float(g["fit_seconds"].mean()),
                                **{k: v for k, v in row.items() if k not in ("model", "n_splits")}}
        for extra in ("alignment", "kernel_mean", "kernel_var"):
            if extra in g and g[extra].notna().any():
                full[extra] = float(g[extra].mean())
        if "n_qubits" in g and g["n_qubits"].notna().any():
            full["n_qubits"] = int(g["n_qubits"].max())
        out.append(full)
    return out


def _item_id(model: str, fold: int, seed: int) -> str:
    return f"{model}/{fold}/{seed}"


def plan(settings: ClassifySettings, how: How | None = None) -> Plan:
    how = how or How()
    data, specs = settings.prepare()
    how.validate()
    fits = len(specs) * settings.folds * settings.seeds
    done = done_items(how)
    notes = [f"{done} score rows already in {how.out}/items.jsonl"] if done else []
    notes += [estimate_note(settings, data, specs)]
    return Plan(ClassifySettings.experiment, f"{len(specs)} models on {data.name}: {settings.folds} folds x "
                                             f"{settings.seeds} seeds = {fits} fits", items=fits, notes=tuple(notes))


QNN_STEP_MS = 5.0
"""Fixed cost of one stacked QNN Adam step (every split of one QNN trained together, :mod:`probe.qml.stacked`)."""
QNN_SAMPLE_MS = (0.005, 0.00018)
"""Cost per sample of a stacked step at 2 layers: a constant plus this much per amplitude (2^qubits).
Fit to the README examples on a shared 2-core machine, 2026-12-03 (load 0.3-4.8): 4 qubits and 750
samples a step ~8 ms; 8 qubits: 160 samples 17 ms, 800 samples 47 ms; 3 qubits: 160 samples 5 ms,
800 samples 10 ms."""
QSVC_FIT_S = 2.5
"""One QSVC fit and prediction at 1,400 training rows (kernel, SVC, test kernel), growing as rows²."""


def estimate_note(settings: ClassifySettings, data: Any, specs: list[Any]) -> str:
    """Up-front estimate of the fitting time: the QNNs' stacked Adam steps and the QSVC kernels.

    Each QNN trains all its (fold, seed) splits at once, so its Adam steps (epochs x minibatches
    of 32) are counted once per stack, each costing ``QNN_STEP_MS`` plus ``QNN_SAMPLE_MS`` per
    sample of the stack (32 per split).
    """
    import math

    from probe.qml.kernels import n_qubits_for
    from probe.qml.stacked import MAX_AMPLITUDES

    n_train = data.y.size * (settings.folds - 1) / settings.folds
    fits = settings.folds * settings.seeds
    per_fit = math.ceil(n_train / 32)
    steps = settings.epochs * per_fit
    parts, seconds = [], 0.0
    for spec in specs:
        if spec.kind != "qnn":
            continue
        size = 2 ** n_qubits_for(data.n_features, spec.options["encoding"])
        per_stack = max(1, MAX_AMPLITUDES // (32 * size))
        stacks = math.ceil(fits / per_stack)
        samples = 32 * min(fits, per_stack)
        step_ms = QNN_STEP_MS + samples * (QNN_SAMPLE_MS[0] + QNN_SAMPLE_MS[1] * size) * settings.layers / 2
        seconds += stacks * steps * step_ms / 1000
        parts.append(f"{spec.name} {stacks * steps:,} Adam steps at ~{step_ms:.0f} ms")
    qsvc = sum(spec.kind == "qsvc" for spec in specs) * fits * QSVC_FIT_S * (n_train / 1400) ** 2
    if not parts:
        return "no QNN to train: the fits take seconds" if qsvc < 30 else f"expect about {qsvc / 60:.0f} min of QSVC"
    seconds += qsvc
    when = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
    return (f"expect about {when} of quantum fitting: each QNN trains its {fits} splits together "
            f"({settings.epochs} epochs x {per_fit} minibatches of 32), {', '.join(parts)}"
            + (f"; QSVC ~{qsvc:.0f} s" if qsvc >= 1 else "") + "; fewer --epochs cut it proportionally")


def run(settings: ClassifySettings, how: How | None = None) -> ClassifyResult:
    """Fit (or resume) every model on every split, summarise, test, and write the run folder."""
    import pandas as pd

    from probe.qml.cross_validation import compare_to_baselines, cross_validate

    how = how or How()
    data, specs = settings.prepare()
    how.validate()
    seeds = settings.seed_list

    def compute(items: Any) -> dict[str, Any]:
        done = {}
        for spec in specs:
            for seed in seeds:
                for fold in range(settings.folds):
                    if _item_id(spec.name, fold, seed) in items:
                        done[(spec.name, fold, seed)] = items.get(_item_id(spec.name, fold, seed))
        total = len(specs) * settings.folds * len(seeds) - len(done)
        with Progress("fitting", total=total, enabled=how.progress, unit="fits") as bar:
            rows = cross_validate(
                data, specs, n_folds=settings.folds, seeds=seeds, done=done,
                on_row=lambda row: items.add(_item_id(row["model"], row["fold"], row["seed"]), jsonable(row)),
                on_step=lambda name: bar.advance(info=name), on_train=lambda text: bar.update(info=text))
        scores = pd.DataFrame([jsonable(r) for r in rows.to_dict(orient="records")])
        _, table = compare_to_baselines(scores, metric=settings.metric, alternative=settings.alternative,
                                        alpha=settings.alpha)
        return {"dataset": data.summary(),
                "models": [{"name": s.name, "kind": s.kind, "family": s.family, **s.options} for s in specs],
                "folds": settings.folds, "seeds": seeds, "metric": settings.metric,
                "alternative": settings.alternative, "alpha": settings.alpha,
                "scores": scores.to_dict(orient="records"), "summary": summary_rows(scores),
                "comparisons": table.to_dict(orient="records")}

    return run_in_folder(settings, how, name=Path(settings.data).stem, result_type=ClassifyResult, compute=compute)


STUDY = Study(ClassifySettings.experiment, ClassifySettings, ClassifyResult, plan, run,
              summary="quantum kernels and classifiers vs classical baselines (repeated k-fold, paired tests)")

__all__ = ["MAX_QUBITS", "STUDY", "ClassifyResult", "ClassifySettings", "plan", "run", "summary_rows"]
