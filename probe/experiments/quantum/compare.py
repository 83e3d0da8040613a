"""Paired comparison of two models' scores (``probe quantum compare``, ``probe.quantum.compare``).

Scores come from run folders of the classify study (their ``scores`` table) or
from CSV files with one row per split; they are paired on ``pair_on`` (fold and
seed) and tested by :func:`probe.analysis.paired.paired_compare`: exact Wilcoxon,
sign test, paired t, the Nadeau-Bengio corrected resampled t when the split sizes
are known, d_z with its confidence interval, and the pairs needed for power.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from probe.errors import DataError, SettingError
from probe.experiments.quantum.folder_run import run_in_folder
from probe.experiments.quantum.values import check_seed, names, normalize
from probe.protocol import How, Plan, Result, Settings, Study

ALTERNATIVES = ("greater", "less", "two-sided")


@dataclass(frozen=True, slots=True)
class CompareSettings(Settings):
    """Which scores are compared, on which metric, and the claim tested."""

    experiment: ClassVar[str] = "quantum-compare"

    run_a: str = ""
    """A run folder of the classify study, or a CSV with fold, seed and the metric."""
    run_b: str | None = None
    """A second run or CSV (default: the same as run_a)."""
    model_a: str | None = None
    """Model of run_a (needed when it holds several)."""
    model_b: str | None = None
    metric: str = "accuracy"
    """Score column."""
    alternative: str = "greater"
    """Claim: A greater than B (or less, or two-sided)."""
    alpha: float = 0.05
    pair_on: tuple[str, ...] = ("fold", "seed")
    """Columns that identify a pair."""
    cv_correction: bool = True
    """Add the Nadeau-Bengio corrected t when n_train/n_test are in the scores."""
    seed: int = 0
    """Recorded for the run folder; the tests draw no random numbers."""

    def __post_init__(self) -> None:
        normalize(self, {"pair_on": lambda v: names(v, param="pair_on")})
        for name in ("run_a", "run_b"):
            if isinstance(getattr(self, name), Path):
                object.__setattr__(self, name, str(getattr(self, name)))

    def validate(self) -> None:
        self.prepare()

    def prepare(self) -> dict[str, Any]:
        """Load and pair the scores; raises for the first bad setting or input."""
        from probe.analysis.paired import pair_scores

        check_seed(self.seed)
        if not self.run_a:
            raise SettingError("run_a", self.run_a, "name a run folder or a CSV file of scores")
        if self.alternative not in ALTERNATIVES:
            raise SettingError("alternative", self.alternative, f"use one of {', '.join(ALTERNATIVES)}")
        if not 0 < self.alpha < 1:
            raise SettingError("alpha", self.alpha, "must lie in (0, 1)")
        on = list(names(self.pair_on, param="pair_on"))
        a_frame, a_name = load_scores(self.run_a, self.model_a, self.metric, param="run_a", model_param="model_a")
        b_source = self.run_b or self.run_a
        b_frame, b_name = load_scores(b_source, self.model_b, self.metric, param="run_b" if self.run_b else "run_a",
                                      model_param="model_b")
        if b_source == self.run_a and a_name == b_name:
            raise SettingError("model_b", self.model_b, "model A and model B are the same scores",
                               hint="pass two runs, or choose model_a and model_b")
        xa, xb, joined = pair_scores(a_frame, b_frame, metric=self.metric, on=on)
        if len(xa) < 3:
            raise DataError(f"only {len(xa)} paired scores; a paired comparison needs at least 3")
        return {"a": (a_frame, a_name, self.run_a), "b": (b_frame, b_name, b_source), "xa": xa, "xb": xb,
                "joined": joined, "on": on}


def load_scores(source: str, model: str | None, metric: str, *, param: str = "run_a",
                model_param: str = "model_a") -> tuple[Any, str]:
    """Scores of one model from a run folder (``result.scores``) or a CSV file; returns (frame, model name)."""
    import pandas as pd

    from probe.runs import read_document

    path = Path(source)
    if path.is_dir():
        if not (path / "result.json").exists():
            raise SettingError(param, source, "holds no result.json",
                               hint="pass a finished probe run folder or a CSV file")
        doc = read_document(path)
        block = doc.get("result") or {}
        if "scores" not in block:
            raise DataError(f"{path}/result.json: no 'scores' (experiment {doc.get('experiment')!r})",
                            hint="compare runs of `probe quantum classify` or CSV files of scores")
        frame = pd.DataFrame(block["scores"])
    elif path.suffix == ".csv" and path.exists():
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: unreadable CSV ({exc})") from exc
    else:
        raise SettingError(param, source, "not a run folder or a .csv file of scores")
    if metric not in frame.columns:
        raise DataError(f"{source}: no {metric!r} column", hint=f"columns: {', '.join(map(str, frame.columns))}")
    if "model" in frame.columns:
        models = sorted(frame["model"].astype(str).unique())
        if model is None and len(models) > 1:
            raise SettingError(model_param, None, f"{source} holds {len(models)} models ({', '.join(models)})",
                               hint="choose one of them")
        model = model or models[0]
        if model not in models:
            raise SettingError(model_param, model, f"no such model in {source}", hint=f"models: {', '.join(models)}")
        frame = frame[frame["model"].astype(str) == model]
    return frame.reset_index(drop=True), model or path.stem


def split_size(frame: Any, column: str) -> int | None:
    """The split size of a score table (rounded mean; k-fold sizes differ by at most one row), or None."""
    if column not in frame.columns or frame[column].isna().any():
        return None
    values = frame[column].astype(float)
    if values.min() <= 0 or values.max() > 1.05 * values.min():
        return None
    return round(float(values.mean()))


@dataclass(frozen=True)
class CompareResult(Result):
    """``r.to_frame()``: one row per test; ``r.p_value("wilcoxon")``, ``r.d_z`` with ``r.d_z_ci``, ``r.n``."""

    experiment: ClassVar[str] = "quantum-compare"
    settings_type: ClassVar[type] = CompareSettings

    @property
    def tests(self) -> list[dict[str, Any]]:
        return list(self.result.get("tests") or [])

    @property
    def n(self) -> int:
        return int(self.result["n"])

    @property
    def mean_a(self) -> float:
        return float(self.result["mean_a"])

    @property
    def mean_b(self) -> float:
        return float(self.result["mean_b"])

    @property
    def d_z(self) -> float:
        return float(self.result["effect"]["d_z"])

    @property
    def d_z_ci(self) -> tuple[float, float]:
        e = self.result["effect"]
        return float(e["ci_low"]), float(e["ci_high"])

    def p_value(self, test: str = "wilcoxon") -> float:
        for t in self.tests:
            if t["test"] == test:
                return float(t["p_value"])
        raise KeyError(test)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.tests)


def plan(settings: CompareSettings, how: How | None = None) -> Plan:
    p = settings.prepare()
    (how or How()).validate()
    return Plan(CompareSettings.experiment, f"paired tests of {p['a'][1]} vs {p['b'][1]} on {settings.metric}, "
                                            f"{len(p['xa'])} pairs", items=1)


def run(settings: CompareSettings, how: How | None = None) -> CompareResult:
    """Test the paired scores and write the run folder."""
    from probe.analysis import paired

    how = how or How()
    p = settings.prepare()
    how.validate()
    (a_frame, a_name, a_source), (_, b_name, b_source) = p["a"], p["b"]
    xa, xb, joined, on = p["xa"], p["xb"], p["joined"], p["on"]
    n_train, n_test = split_size(a_frame, "n_train"), split_size(a_frame, "n_test")
    cv = settings.cv_correction and n_train is not None and n_test is not None

    def compute(_items: Any) -> dict[str, Any]:
        res = paired.paired_compare(xa, xb, alternative=settings.alternative, alpha=settings.alpha,  # type: ignore[arg-type]
                                    n_train=n_train if cv else None, n_test=n_test if cv else None,
                                    name_a=a_name, name_b=b_name)
        table = paired.comparisons_frame([res])
        pairs = [{**{k: joined[k].iloc[i] for k in on}, "a": float(xa[i]), "b": float(xb[i])} for i in range(len(xa))]
        return {"a": {"source": str(a_source), "model": a_name}, "b": {"source": str(b_source), "model": b_name},
                "metric": settings.metric, "alternative": settings.alternative, "alpha": settings.alpha,
                "pair_on": on, "n": res.n, "mean_a": res.mean_a, "mean_b": res.mean_b,
                "tests": table.drop(columns=["a", "b"]).to_dict(orient="records"), "effect": res.effect.to_dict(),
                "pairs_for_power": res.pairs_for_power, "power": res.power,
                "min_pairs_wilcoxon": res.min_pairs_wilcoxon, "warnings": list(res.warnings), "pairs": pairs}

    return run_in_folder(settings, how, name=f"{a_name}-vs-{b_name}", result_type=CompareResult, compute=compute)


STUDY = Study(CompareSettings.experiment, CompareSettings, CompareResult, plan, run,
              summary="paired tests of two models' scores (Wilcoxon, t, d_z, power)")

__all__ = ["STUDY", "CompareResult", "CompareSettings", "load_scores", "plan", "run", "split_size"]
