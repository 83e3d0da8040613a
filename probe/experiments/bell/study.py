"""Run a Bell study end to end: validate, call (record/replay/resume), analyse, write, report.

Order of work is chosen so that bad input never leaves a half-written folder:
every setting, the design, the model spec, the key and the run folder's history
are checked before anything is created; the folder appears with the first
answer; ``result.json`` and the report are written atomically at the end.
"""

from __future__ import annotations

import datetime as _dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe import __version__
from probe.cassette import Cassette, Mode
from probe.errors import ConfigError, ProbeError
from probe.experiments.bell.design import BellDesign, load_design
from probe.experiments.bell.trials import (
    BellSettings,
    analyse_rows,
    build_jobs,
    done_keys,
    expected_calls,
    reask_jobs,
    rows_from_outcome,
)
from probe.io import JsonlWriter, atomic_write_json, read_jsonl
from probe.pricing import load_prices, price_for
from probe.providers import ModelRef, create_provider, parse_model
from probe.runner import Outcome, Runner, RunStats
from probe.runs import RunFolder, default_run_dir


@dataclass
class RunOptions:
    """How to run (not what): output, cassette, pacing, budgets."""

    out: Path | None = None
    cassette: Path | None = None
    cassette_mode: Mode = "auto"
    base_url: str | None = None
    timeout_s: float = 60.0
    concurrency: int = 8
    rpm: float | None = None
    max_attempts: int = 6
    max_calls: int | None = None
    max_cost: float | None = None
    prices: Path | None = None
    progress: bool | None = None
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    report: bool = True
    provider_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class BellRun:
    path: Path
    result: dict[str, Any]
    stats: RunStats
    warnings: list[str] = field(default_factory=list)


def _settings_record(settings: BellSettings, design: BellDesign, ref: ModelRef) -> dict[str, Any]:
    return {"experiment": "bell", **settings.identity(), "model": ref.spec, "prompt_sha256": design.sha256}


def _identity_keys(settings: BellSettings) -> tuple[str, ...]:
    return ("experiment", *settings.identity().keys(), "prompt_sha256")


async def run_bell(settings: BellSettings, options: RunOptions) -> BellRun:
    """Run (or resume, or replay) a Bell study and write its run folder."""
    settings.validate()
    design = load_design(settings.prompt)
    ref = parse_model(settings.model)
    jobs = build_jobs(design, ref, settings)
    out = options.out or default_run_dir("bell", ref.spec)
    folder = RunFolder(out, _settings_record(settings, design, ref), identity=_identity_keys(settings))
    resumed = folder.check_resume() is not None
    cassette_path = options.cassette or (out / "cassette.jsonl")
    cassette = Cassette(cassette_path, options.cassette_mode)
    prices = load_prices(options.prices)
    provider = None
    if options.cassette_mode != "replay":
        provider = create_provider(ref, base_url=options.base_url, timeout=options.timeout_s,
                                   **options.provider_kwargs)
    trials_path = out / "trials.jsonl"
    trials_read = read_jsonl(trials_path)
    existing = trials_read.records
    done = done_keys(existing, jobs, ref.provider)
    todo = [j for j in jobs if j.request.key(ref.provider) not in done]
    runner = Runner(provider, cassette, provider_name=ref.provider, concurrency=options.concurrency,
                    rpm=options.rpm, max_attempts=options.max_attempts, max_calls=options.max_calls,
                    max_cost=options.max_cost, price=price_for(ref.name, prices) if ref.provider in
                    ("openai", "gemini") else None, base_url=options.base_url, progress=options.progress,
                    backoff_initial_s=options.backoff_initial_s, backoff_max_s=options.backoff_max_s)
    created_here = not out.exists()
    writer = JsonlWriter(trials_path, defer_fsync=True)

    fresh: list[dict[str, Any]] = []

    def on_outcome(outcome: Outcome) -> Any:
        new_rows = rows_from_outcome(outcome)
        fresh.extend(r for r in new_rows if r.get("kind") == "short")
        writer.write_many(new_rows)
        return writer.sync()

    try:
        folder.ensure()
        if todo:
            await runner.run(todo, on_outcome, description=f"bell {ref.spec}")
        # requests answered with fewer choices than n: ask the missing trials again, one by one
        reasks = reask_jobs([*existing, *fresh], jobs, ref.provider)
        reasks = [j for j in reasks if j.request.key(ref.provider) not in done_keys(existing, reasks, ref.provider)]
        if reasks:
            await runner.run(reasks, on_outcome, description=f"bell {ref.spec} (re-asks)")
    except BaseException:
        writer.close()
        cassette.close()
        if created_here and _holds_no_answers(out, cassette_path):
            shutil.rmtree(out, ignore_errors=True)
        folder.release()
        raise
    finally:
        if provider is not None:
            await provider.aclose()
    writer.close()
    cassette.close()
    damage = _damage_report(trials_path, trials_read, writer, cassette)
    try:
        rows = read_jsonl(trials_path).records
        analysis = analyse_rows(rows, design, settings)
        result = build_result(analysis, settings, design, ref, runner.stats, cassette, options, resumed)
        result["run"]["damage"] = damage
        result["warnings"] = [*result.get("warnings", []), *damage]
        atomic_write_json(out / "result.json", result)
        if options.report:
            from probe.report.bell import render

            render(out, result)
    finally:
        folder.release()
    return BellRun(out, result, runner.stats, warnings=damage)


def _damage_report(trials_path: Path, trials_read: Any, writer: JsonlWriter, cassette: Cassette) -> list[str]:
    """What crashes left behind in the run's files, and where it was set aside."""
    out = []
    if trials_read.torn_tail or writer.torn is not None:
        out.append(f"{trials_path} ended in a torn line (a crash mid-write); it was set aside"
                   + (f" as {writer.torn.name}" if writer.torn is not None else "") + " and its answer asked again")
    if trials_read.bad_lines:
        out.append(f"{trials_path}: unreadable line(s) {trials_read.bad_lines[:10]} skipped")
    if cassette.stats.torn_tail:
        out.append(f"{cassette.path} ended in a torn line (a crash mid-write); it was set aside"
                   + (f" as {Path(cassette.stats.torn_saved).name}" if cassette.stats.torn_saved else ""))
    if cassette.stats.bad_lines:
        out.append(f"{cassette.path}: unreadable line(s) {cassette.stats.bad_lines[:10]} skipped")
    return out


def analyse_counts_file(path: str | Path, *, out: Path | None = None, minus_on: str = "AB", n_boot: int = 10_000,
                        prior: float = 1.0, seed: int = 0, report: bool = True, label: str = "human") -> BellRun:
    """``probe bell --counts FILE``: external (e.g. human) counts through the same analysis."""
    from probe.analysis.bell.chsh import chsh, chsh_within
    from probe.experiments.bell.counts_file import read_counts_csv

    data = read_counts_csv(path)
    res = chsh(data.counts, minus_on=minus_on, n_boot=n_boot, n_post=n_boot, prior=prior, seed=seed)
    analysis = res.summary()
    if data.products is not None:
        analysis["within_subject"] = chsh_within(data.products, minus_on=minus_on).to_dict()
    out = out or default_run_dir("bell", label)
    folder = RunFolder(out, {"experiment": "bell", "counts_file": str(path), "minus_on": minus_on, "seed": seed},
                       identity=("experiment", "counts_file", "minus_on", "seed"))
    folder.check_resume()
    folder.ensure()
    try:
        from probe.io import atomic_write_bytes

        atomic_write_bytes(out / "counts.csv", Path(path).read_bytes())
        result = {
            "experiment": "bell", "probe_version": __version__,
            "created": _dt.datetime.now().isoformat(timespec="seconds"),
            "model": label, "provider": "counts", "model_version": None, "mode": "counts", "seed": seed,
            "counts_file": str(path), "design": {"name": "external counts", "concept": None, "minus_on": minus_on},
            **analysis,
            "run": {"calls": 0, "cached": 0, "rows": data.rows},
        }
        atomic_write_json(out / "result.json", result)
        if report:
            from probe.report.bell import render

            render(out, result)
    finally:
        folder.release()
    return BellRun(out, result, RunStats())


def _holds_no_answers(out: Path, cassette_path: Path) -> bool:
    trials = out / "trials.jsonl"
    if trials.exists() and trials.stat().st_size > 0:
        return False
    return not (cassette_path.is_relative_to(out) and cassette_path.exists() and cassette_path.stat().st_size > 0)


def build_result(analysis: dict[str, Any], settings: BellSettings, design: BellDesign, ref: ModelRef,
                 stats: RunStats, cassette: Cassette, options: RunOptions, resumed: bool) -> dict[str, Any]:
    """result.json: the analysis plus everything needed to reproduce and cite the run."""
    return {
        "experiment": "bell",
        "probe_version": __version__,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "model": ref.spec,
        "provider": ref.provider,
        "mode": settings.mode,
        "seed": settings.seed,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "max_tokens": settings.max_tokens,
        "trials": settings.trials if settings.mode == "sample" else None,
        "n_per_call": settings.n_per_call,
        "order": settings.order,
        "orders": settings.orders if settings.mode == "exact" else None,
        "design": design.to_dict(),
        **analysis,
        "run": {**stats.to_dict(), "resumed": resumed, "expected_calls": expected_calls(settings, design),
                "cassette": str(cassette.path), "cassette_mode": cassette.mode,
                "cassette_duplicates": cassette.stats.duplicates, "cassette_torn_tail": cassette.stats.torn_tail,
                "base_url": options.base_url},
    }


def resume_command(argv: list[str], out: Path) -> str:
    """The command line that resumes a run: the same arguments with ``--out`` pinned."""
    args = list(argv)
    if "--out" in args:
        i = args.index("--out")
        args[i + 1: i + 2] = [str(out)]
    else:
        args += ["--out", str(out)]
    import shlex

    return "probe " + " ".join(shlex.quote(a) for a in args)


__all__ = ["BellRun", "ConfigError", "ProbeError", "RunOptions", "build_result", "resume_command", "run_bell"]
