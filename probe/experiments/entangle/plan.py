"""From validated inputs to a ``result.json`` dict, for each ``probe entangle`` source.

``plan_*`` functions read only headers and configs and raise on bad input, so the
CLI can refuse before it creates a run folder; ``execute`` does the work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from probe.errors import ConfigError, DataError
from probe.experiments.entangle.jobs import run_jobs, tensor_jobs
from probe.experiments.entangle.lora_adapters import lora_modules
from probe.experiments.entangle.tensors import list_tensors, select_tensors


@dataclass
class Plan:
    """What a run will do: its jobs, where they come from, and how to label the run."""

    source: str
    label: str
    inputs: dict[str, Any]
    jobs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def plan_weights(path: str, layers: list[str] | None) -> Plan:
    refs = list_tensors(path)
    keep, skipped = select_tensors(refs, layers, where=str(path))
    return Plan("weights", Path(path).stem or Path(path).name, {"path": str(path), "layers": layers or []},
                tensor_jobs(keep), skipped)


def plan_delta(base: str, tuned: str, layers: list[str] | None) -> Plan:
    base_refs = {r.name: r for r in list_tensors(base)}
    tuned_refs = {r.name: r for r in list_tensors(tuned)}
    # compare what would be analysed on each side (selected float matrices); other tensors may differ
    keep, skipped = select_tensors(list(tuned_refs.values()), layers, where=f"--tuned {tuned}")
    try:
        base_keep, _ = select_tensors(list(base_refs.values()), layers, where=f"--base {base}")
    except ConfigError:
        base_keep = []
    only_base = sorted({r.name for r in base_keep} - {r.name for r in keep})
    only_tuned = sorted({r.name for r in keep} - set(base_refs))
    if only_base or only_tuned:
        first = (f"only in base: {', '.join(only_base[:3])}" if only_base else "") + \
                ("; " if only_base and only_tuned else "") + \
                (f"only in tuned: {', '.join(only_tuned[:3])}" if only_tuned else "")
        raise DataError(f"--base {base} and --tuned {tuned} hold different tensors "
                        f"({len(only_base)} only in base, {len(only_tuned)} only in tuned; {first})",
                        hint="both must be checkpoints of the same architecture (narrow with --layers); for a "
                             "LoRA adapter use `probe entangle lora`")
    mismatched = [r.name for r in keep if base_refs[r.name].shape != r.shape]
    if mismatched:
        n = mismatched[0]
        raise DataError(f"tensor {n} is {list(base_refs[n].shape)} in --base but {list(tuned_refs[n].shape)} in --tuned",
                        hint="a delta needs the same shapes; were the vocabularies resized?")
    jobs = [{"kind": "delta", "name": r.name, "base": base_refs[r.name], "tuned": r,
             "dtype": r.dtype} for r in keep]
    return Plan("delta", Path(tuned).name, {"base": str(base), "tuned": str(tuned), "layers": layers or []}, jobs, skipped)


def plan_lora(adapter: str, layers: list[str] | None) -> Plan:
    modules, cfg = lora_modules(adapter)
    pats = [p for p in (layers or []) if p]
    if pats:
        from probe.experiments.entangle.tensors import matches_pattern

        chosen = [m for m in modules if any(matches_pattern(m.name, p) or matches_pattern(m.module, p) for p in pats)]
        if not chosen:
            raise ConfigError(f"{adapter}: no LoRA module matches --layers {' '.join(map(repr, pats))}",
                              hint=f"modules: {', '.join(m.name for m in modules[:5])}")
        modules = chosen
    jobs = [{"kind": "lora", "name": m.name, "a": m.a, "b": m.b, "scale": m.scale, "rank": m.rank,
             "alpha": m.alpha, "dtype": m.a.dtype} for m in modules]
    cfg_keep = {k: cfg.get(k) for k in ("r", "lora_alpha", "use_rslora", "target_modules", "base_model_name_or_path",
                                        "rank_pattern", "alpha_pattern")}
    return Plan("lora", Path(adapter).name, {"adapter": str(adapter), "layers": layers or [], "config": cfg_keep}, jobs)


def parse_shape(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] < 4:
        raise ConfigError(f"--shape {text!r}: expected ROWSxCOLS with positive sizes, e.g. 1024x1024")
    return shape  # type: ignore[return-value]


def plan_random(shape: tuple[int, int], samples: int, rank: int | None, seed: int) -> Plan:
    if samples < 2:
        raise ConfigError(f"--samples {samples}: need at least 2 for a standard error")
    if rank is not None and not 1 <= rank <= min(shape):
        raise ConfigError(f"--rank {rank}: must be between 1 and {min(shape)} for shape {shape[0]}x{shape[1]}")
    seeds = np.random.SeedSequence(seed).spawn(samples * (2 if rank else 1))
    jobs = [{"kind": "random", "name": f"gaussian#{i}", "shape": shape, "seed": seeds[i], "group": "gaussian"}
            for i in range(samples)]
    if rank:
        jobs += [{"kind": "random", "name": f"gaussian-rank{rank}#{i}", "shape": shape, "rank": rank,
                  "seed": seeds[samples + i], "group": f"gaussian-rank{rank}"} for i in range(samples)]
    return Plan("random", f"{shape[0]}x{shape[1]}", {"shape": list(shape), "samples": samples, "rank": rank}, jobs)


def execute(plan: Plan, settings: dict[str, Any], *, done: dict[str, Any] | None = None,
            on_record: Any = None, progress: bool | None = False) -> dict[str, Any]:
    """Run a tensor plan (weights, delta, lora, random) and return the result dict.

    ``done`` maps job names to records already computed (a resumed run); ``on_record``
    is called with each new record as it finishes (to save it).
    """
    start = time.perf_counter()
    records = run_jobs(plan.jobs, settings, workers=settings.get("workers", 1), label=plan.source,
                       done=done, on_record=on_record, progress=progress, cluster=settings.get("cluster"))
    skipped = list(plan.skipped) + [{"name": r["name"], "reason": r["skipped"]} for r in records if "skipped" in r]
    layers = [r for r in records if "skipped" not in r]
    if not layers:
        raise DataError(f"{plan.source}: every selected tensor was skipped ({skipped[0]['reason']})",
                        hint="select other tensors with --layers")
    if plan.source == "random":
        layers = _aggregate_random(plan, layers)
    else:
        _attach_baselines(layers, settings)
    return {
        "experiment": "entangle", "source": plan.source, "label": plan.label, "inputs": plan.inputs,
        "settings": settings, "layers": layers, "skipped": skipped, "summary": summarise(layers),
        "elapsed_s": time.perf_counter() - start,
    }


def _attach_baselines(layers: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    from probe.analysis.entangle.baselines import gaussian_baseline, valley_metrics

    n = int(settings.get("baseline_samples", 0))
    if n < 2:
        return
    cache: dict[tuple[int, int, int | None], Any] = {}
    seed = np.random.SeedSequence(settings.get("seed", 0))
    for rec in layers:
        shape = (int(rec["shape"][0]), int(rec["shape"][1]))
        # a LoRA update of rank r is compared with rank-r Gaussian products: its row/column cut is capped at ln r
        rank = int(rec["rank"]) if rec.get("rank") else None
        if (*shape, rank) not in cache:
            rng = np.random.default_rng(seed.spawn(1)[0])
            cache[(*shape, rank)] = gaussian_baseline(shape, samples=n, order=settings["order"],
                                                      factors=settings["factors"], kind="real", rank=rank, rng=rng)
        base = cache[(*shape, rank)]
        rec["baseline"] = {"kind": "real-gaussian" if rank is None else f"real-gaussian-rank{rank}", "rank": rank,
                           "n": base.n, "mean": list(base.mean), "se": list(base.se)}
        if rank is not None:
            b = np.asarray(base.mean)
            rec["valley_vs_rank_null"] = valley_metrics(np.asarray(rec["entropy"]), b,
                                                        boundary_cut=rec.get("boundary_cut")).to_dict()


def _aggregate_random(plan: Plan, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from probe.analysis.entangle.baselines import valley_metrics

    groups: dict[str, list[dict[str, Any]]] = {}
    for job, rec in zip(plan.jobs, records, strict=True):
        groups.setdefault(job["group"], []).append(rec)
    out = []
    for group, recs in groups.items():
        ent = np.array([r["entropy"] for r in recs])
        mean = ent.mean(0)
        rec = dict(recs[0])
        rec.update(name=group, entropy=mean.tolist(), entropy_se=(ent.std(0, ddof=1) / np.sqrt(len(recs))).tolist(),
                   renyi2=np.mean([r["renyi2"] for r in recs], 0).tolist(),
                   min_entropy=np.mean([r["min_entropy"] for r in recs], 0).tolist(),
                   n_samples=len(recs), samples=ent.tolist(),
                   valley=valley_metrics(mean, rec["page"], boundary_cut=rec["boundary_cut"]).to_dict())
        for key in ("mp",):
            rec[key] = recs[0][key]
        out.append(rec)
    return out


def summarise(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and means over layers (nats)."""
    depth = np.array([r["valley"]["depth"] for r in layers])
    peak = np.array([max(r["entropy"]) for r in layers])
    page_peak = np.array([max(r["page"]) for r in layers])
    with_valley = int(np.sum([r["valley"]["position"] is not None and r["valley"]["depth"] > 0.05 for r in layers]))
    return {
        "n_layers": len(layers), "n_with_valley": with_valley,
        "valley_depth_mean": float(depth.mean()),
        "valley_depth_se": float(depth.std(ddof=1) / np.sqrt(depth.size)) if depth.size > 1 else None,
        "peak_over_page_mean": float(np.mean(peak / page_peak)),
    }


def layers_frame(result: dict[str, Any]) -> Any:
    """A ``result.json`` dict as a tidy DataFrame: one row per tensor and cut (entropies in nats)."""
    import pandas as pd

    rows = []
    for layer in result["layers"]:
        se = layer.get("entropy_se")
        base = layer.get("baseline")
        for i, cut in enumerate(layer["cuts"]):
            rows.append({
                "name": layer["name"], "cut": cut, "entropy": layer["entropy"][i],
                "entropy_se": se[i] if se else None, "renyi2": layer["renyi2"][i] if "renyi2" in layer else None,
                "page": layer["page"][i], "baseline": base["mean"][i] if base else None,
                "boundary_cut": layer.get("boundary_cut"), "valley_position": layer["valley"]["position"],
                "valley_depth": layer["valley"]["depth"],
            })
    return pd.DataFrame(rows)
