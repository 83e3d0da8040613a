"""The entangle studies: one per source (weights, delta, lora, attention, random).

Each reads a matrix (or attention map) as a many-site state and measures its
entanglement entropy at every cut (Chen et al. 2026, arXiv:2601.06788). Inputs
are validated and planned (headers and configs only) before anything is
written; every tensor's record goes to ``items.jsonl`` as it finishes, so
rerunning the same command after an interruption profiles only what is missing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from probe.errors import SettingError
from probe.experiments.entangle import plan as work
from probe.protocol import How, Plan, Result, Settings, Study
from probe.runs import ItemLog, RunFolder, default_run_dir, stamp


@dataclass(frozen=True, slots=True)
class EntangleSettings(Settings):
    """What every entangle source shares: how a matrix becomes sites, and the baselines."""

    experiment: ClassVar[str] = "entangle"

    order: str = "sequential"
    """Site order: row factors then column factors, or interleaved (MPO)."""
    factors: str = "ascending"
    """Order of prime factors within an index."""
    max_bond: int = 16
    """Report the weight discarded at each cut when truncating to this bond dimension."""
    seed: int = 0
    baseline_samples: int = 4
    """Gaussian matrices per shape for the real-ensemble baseline (0 = off)."""
    mp: bool = True
    """Compare singular values with Marchenko-Pastur."""

    def validate(self) -> None:
        Settings.validate(self)
        if self.order not in ("sequential", "interleaved"):
            raise SettingError("order", self.order, "use sequential or interleaved")
        if self.factors not in ("ascending", "descending"):
            raise SettingError("factors", self.factors, "use ascending or descending")
        if self.max_bond < 1:
            raise SettingError("max_bond", self.max_bond, "must be at least 1")
        if self.baseline_samples == 1 or self.baseline_samples < 0:
            raise SettingError("baseline_samples", self.baseline_samples,
                               "use 0 (off) or at least 2 (for a standard error)")

    def profile_settings(self) -> dict[str, Any]:
        """The dict the profiling jobs read."""
        return {"order": self.order, "factors": self.factors, "max_bond": self.max_bond, "seed": self.seed,
                "baseline_samples": self.baseline_samples, "mp": self.mp, "rank_tol": 1e-10}

    def work_plan(self) -> work.Plan:  # pragma: no cover - every source overrides
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class WeightsSettings(EntangleSettings):
    experiment: ClassVar[str] = "entangle-weights"
    path: str = ""
    """A .safetensors/.bin file or a checkpoint folder."""
    layers: tuple[str, ...] = ()
    """Globs over tensor names (or re:REGEX); empty = every matrix."""

    def work_plan(self) -> work.Plan:
        return work.plan_weights(self.path, list(self.layers) or None)


@dataclass(frozen=True, slots=True)
class DeltaSettings(EntangleSettings):
    experiment: ClassVar[str] = "entangle-delta"
    base: str = ""
    tuned: str = ""
    layers: tuple[str, ...] = ()

    def work_plan(self) -> work.Plan:
        return work.plan_delta(self.base, self.tuned, list(self.layers) or None)


@dataclass(frozen=True, slots=True)
class LoraSettings(EntangleSettings):
    experiment: ClassVar[str] = "entangle-lora"
    adapter: str = ""
    """Folder with adapter_config.json and adapter_model.safetensors."""
    layers: tuple[str, ...] = ()
    dense: bool = False
    """Form dW densely instead of the low-rank path."""

    def work_plan(self) -> work.Plan:
        plan = work.plan_lora(self.adapter, list(self.layers) or None)
        if self.dense or self.order != "sequential":
            for job in plan.jobs:
                job["kind"] = "lora-dense"
        return plan


@dataclass(frozen=True, slots=True)
class AttentionSettings(EntangleSettings):
    experiment: ClassVar[str] = "entangle-attention"
    model: str = ""
    """hf:PATH, embed:minilm or embed:PATH."""
    text: str = ""
    """UTF-8 text, cut into windows of ``tokens`` tokens."""
    tokens: int = 32
    max_windows: int = 16

    def work_plan(self) -> work.Plan:
        from probe.experiments.entangle.attention import plan_attention

        return plan_attention(self.model, self.text, tokens=self.tokens, max_windows=self.max_windows)


@dataclass(frozen=True, slots=True)
class RandomSettings(EntangleSettings):
    experiment: ClassVar[str] = "entangle-random"
    shape: tuple[int, int] = (64, 64)
    samples: int = 20
    rank: int | None = None
    """Also draw rank-R products B·A (the LoRA null model)."""

    def work_plan(self) -> work.Plan:
        return work.plan_random((int(self.shape[0]), int(self.shape[1])), self.samples, self.rank, self.seed)


@dataclass(frozen=True)
class EntangleResult(Result):
    """An entangle study's result: ``r.layers`` (one record per tensor), ``r.to_frame()`` (tensor × cut)."""

    experiment: ClassVar[str] = "entangle"

    @property
    def experiment_name(self) -> str:
        return self.settings.experiment

    @property
    def layers(self) -> list[dict[str, Any]]:
        return list(self.result.get("layers") or [])

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.result.get("summary") or {})

    @classmethod
    def from_json(cls, doc: Any, *, path: Path | None = None) -> Any:
        experiment = str(doc.get("experiment"))
        settings_type = SETTINGS_BY_EXPERIMENT[experiment]
        return cls(settings=settings_type.from_dict(doc.get("settings") or {}), result=doc.get("result") or {},
                   run=doc.get("run") or {}, warnings=tuple(doc.get("warnings") or ()),
                   stamp={k: doc[k] for k in ("probe_version", "created", "elapsed_s", "host") if k in doc},
                   path=path)

    def to_frame(self) -> Any:
        return work.layers_frame(self.result)


SETTINGS_BY_EXPERIMENT: dict[str, type[EntangleSettings]] = {
    s.experiment: s for s in (WeightsSettings, DeltaSettings, LoraSettings, AttentionSettings, RandomSettings)}


def _check(settings: EntangleSettings, how: How) -> work.Plan:
    settings.validate()
    how.validate()
    return settings.work_plan()  # validates every input before anything is written


def plan(settings: EntangleSettings, how: How | None = None) -> Plan:
    wp = _check(settings, how or How())
    return Plan(settings.experiment, f"profile {len(wp.jobs) or 'the attention maps of'} "
                                     f"{'tensors' if wp.jobs else wp.label} ({wp.source}: {wp.label})",
                items=len(wp.jobs) or 1)


def run(settings: EntangleSettings, how: How | None = None) -> EntangleResult:
    """Profile every selected tensor (or attention map) and write the run folder."""
    how = how or How()
    wp = _check(settings, how)
    out = Path(how.out) if how.out else default_run_dir("entangle", f"{wp.source}-{wp.label}")
    identity = {"experiment": settings.experiment, "source": wp.source, "inputs": wp.inputs,
                **settings.profile_settings()}
    folder = RunFolder(out, identity, identity=("experiment", "source", "inputs", "order", "factors", "seed"))
    folder.check_resume()
    t0 = time.perf_counter()
    with folder.session():
        profile = settings.profile_settings()
        if wp.source == "attention":
            from probe.experiments.entangle.attention import execute_attention

            block = execute_attention(wp, profile)
        else:
            items = ItemLog(folder)
            try:
                spread = {"workers": how.workers, "cluster": how.cluster}
                block = work.execute(wp, {**profile, **spread}, done=items.done,
                                     on_record=lambda rec: items.add(rec["name"], rec), progress=how.progress)
            finally:
                items.close()
        for key in ("experiment", "settings", "elapsed_s"):
            block.pop(key, None)
        result = EntangleResult(settings=settings, result=block, warnings=(),
                                stamp=stamp(elapsed_s=time.perf_counter() - t0), path=out)
        folder.write_result(result)
    return result


def _study(settings_type: type[EntangleSettings], summary: str) -> Study:
    return Study(settings_type.experiment, settings_type, EntangleResult, plan, run, summary=summary)


WEIGHTS = _study(WeightsSettings, "entanglement profiles of the weight matrices of a checkpoint")
DELTA = _study(DeltaSettings, "entanglement profiles of fine-tuning updates W_tuned - W_base")
LORA = _study(LoraSettings, "entanglement profiles of LoRA updates s*B*A (never densified)")
ATTENTION = _study(AttentionSettings, "entanglement profiles of attention matrices")
RANDOM = _study(RandomSettings, "Gaussian random matrices: the Page-curve / real-ensemble baseline")

__all__ = ["ATTENTION", "DELTA", "LORA", "RANDOM", "WEIGHTS", "AttentionSettings", "DeltaSettings",
           "EntangleResult", "EntangleSettings", "LoraSettings", "RandomSettings", "WeightsSettings", "plan", "run"]
