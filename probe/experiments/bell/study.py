"""The Bell study: validate, plan, call (record / replay / resume), analyse, write the run folder.

Order of work is chosen so that bad input never leaves a half-written folder:
every setting, the design, the model spec, the key, the price (when a budget is
set) and the run folder's history are checked before anything is created; the
folder appears with the first answer; ``result.json`` is written atomically at
the end. The report is rendered by the caller (:mod:`probe.api`, the CLI) from
the run folder alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from probe.batch.requests import requests_within_budget
from probe.errors import ProbeError
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
from probe.io import JsonlWriter, read_jsonl
from probe.pricing import BATCH_DISCOUNT, batch_price
from probe.protocol import How, Plan, Result, Study, run_sync
from probe.providers import ModelRef, parse_model, respondent
from probe.runs import RunFolder, default_run_dir, stamp
from probe.session import PAID_PROVIDERS, ModelSession, model_price


@dataclass(frozen=True)
class BellResult(Result):
    """A Bell study's result: ``r.S``, ``r.S_odd``, ``r.to_frame()`` (one row per context)."""

    experiment: ClassVar[str] = "bell"
    settings_type: ClassVar[type] = BellSettings

    @property
    def S(self) -> float | None:
        return self.result.get("S")

    @property
    def S_se(self) -> float | None:
        return self.result.get("S_se")

    @property
    def S_ci95(self) -> tuple[float, float] | None:
        ci = self.result.get("S_ci95")
        return tuple(ci) if ci else None  # type: ignore[return-value]

    @property
    def S_odd(self) -> float | None:
        return self.result.get("S_odd")

    @property
    def E(self) -> dict[str, float]:
        return dict(self.result.get("E") or {})

    @property
    def n_total(self) -> int | None:
        return self.result.get("n_total")

    @property
    def category(self) -> str | None:
        return self.result.get("category")

    @property
    def cbd(self) -> dict[str, Any]:
        return dict(self.result.get("cbd") or {})

    def to_frame(self) -> Any:
        """One row per context: E, its SE, N and invalid answers (sample mode) or the four probabilities (exact)."""
        import pandas as pd

        r = self.result
        rows = []
        for c in (r.get("E") or {}):
            row: dict[str, Any] = {"context": c, "E": r["E"][c]}
            if r.get("E_se"):
                row["E_se"] = r["E_se"][c]
            if r.get("n"):
                row["N"] = r["n"][c]
                row["invalid"] = (r.get("invalid") or {}).get(c)
            for cell, v in ((r.get("counts") or r.get("probs") or {}).get(c) or {}).items():
                row[cell] = v
            rows.append(row)
        return pd.DataFrame(rows)


def _identity(settings: BellSettings, design: BellDesign, ref: ModelRef) -> dict[str, Any]:
    return {"experiment": "bell", **settings.identity(), "model": ref.spec, "prompt_sha256": design.sha256}


def plan(settings: BellSettings, how: How | None = None) -> Plan:
    """Calls the study will make (and how many a cassette already holds), and their cost range; no side effects."""
    how = how or How()
    settings.validate()
    how.validate()
    design = load_design(settings.prompt)
    ref = parse_model(settings.model)
    jobs = build_jobs(design, ref, settings)
    out = how.out
    cached = 0
    keys: set[Any] = set()
    cassette = how.cassette or (out / "cassette.jsonl" if out else None)
    if cassette is not None and Path(cassette).is_file():
        keys = {r.get("key") for r in read_jsonl(cassette).records}
        cached = sum(1 for j in jobs if j.request.key(ref.provider) in keys)
    todo = len(jobs) - cached
    notes: list[str] = []
    cost = None
    in_tok = sum(len(" ".join(m["content"] for m in j.request.messages)) // 4 + 4 for j in jobs)
    out_max = sum((j.request.config.max_tokens or 16) * (j.request.config.n or 1) for j in jobs)
    if ref.provider in PAID_PROVIDERS and how.cassette_mode != "replay":
        price = model_price(ref, how)
        if price is not None and how.batch:
            price = batch_price(price)
            notes.append(f"--batch: priced at {BATCH_DISCOUNT:.0%} of the synchronous price; answers within 24 h; "
                         f"{todo} requests go in {-(-todo // 50_000)} batch(es) of at most 50,000 requests")
            if how.max_calls is not None or how.max_cost is not None:
                fit = requests_within_budget([j.request.canonical(ref.provider) for j in jobs
                                              if j.request.key(ref.provider) not in keys],
                                             max_calls=how.max_calls, max_cost=how.max_cost, price=price)
                limits = " and ".join(x for x in (f"--max-calls {how.max_calls}" if how.max_calls is not None else "",
                                                   f"--max-cost {how.max_cost:g}" if how.max_cost is not None else "")
                                      if x)
                notes.append(f"--batch budget: {fit} of the {todo} requests fit {limits} at batch prices "
                             "(output counted at max_tokens); the rest waits for a later run")
        if price is None:
            notes.append(f"no price for {ref.spec} in the price table: cost unknown")
        else:
            share = todo / max(len(jobs), 1)
            low = price.cost(int(in_tok * share), 0)
            high = price.cost(int(in_tok * share), int(out_max * share))
            cost = (round(low, 6), round(high, 6))
            notes.append("token counts are estimated (4 characters per token); reasoning models bill hidden "
                         "reasoning tokens, so the upper end is uncertain for them")
    else:
        notes.append(f"{ref.provider}: calls are free" if how.cassette_mode != "replay" else "replay: no calls")
    return Plan("bell", f"{design.name} on {ref.spec}, {settings.mode} mode: {len(jobs)} requests "
                        f"({expected_calls(settings, design)} expected)", items=len(jobs), calls=todo,
                cached=cached, input_tokens=in_tok, output_tokens_max=out_max, cost_usd=cost, notes=tuple(notes))


async def arun(settings: BellSettings, how: How | None = None) -> BellResult:
    """Run (or resume, or replay) a Bell study and write its run folder; the async form of :func:`run`."""
    how = how or How()
    settings.validate()
    how.validate()
    design = load_design(settings.prompt)
    ref = parse_model(settings.model)
    jobs = build_jobs(design, ref, settings)
    out = Path(how.out) if how.out else default_run_dir("bell", ref.spec)
    folder = RunFolder(out, _identity(settings, design, ref))
    resumed = folder.check_resume() is not None
    cassette_path = Path(how.cassette) if how.cassette else out / "cassette.jsonl"
    session = ModelSession(ref, how, cassette_path=cassette_path)
    trials_path = out / "trials.jsonl"
    trials_read = read_jsonl(trials_path)
    done = done_keys(trials_read.records, jobs, ref.provider)
    todo = [j for j in jobs if j.request.key(ref.provider) not in done]
    writer = JsonlWriter(trials_path, defer_fsync=True)

    fresh: list[dict[str, Any]] = []

    def on_outcome(outcome: Any) -> Any:
        new_rows = rows_from_outcome(outcome)
        fresh.extend(r for r in new_rows if r.get("kind") == "short")
        writer.write_many(new_rows)
        return writer.sync()

    keep = ("trials.jsonl", *((cassette_path.name, session.journal_path.name) if cassette_path.parent == out else ()))
    try:
        async with session:
            folder.ensure()
            if todo:
                await session.run(todo, on_outcome, description=f"bell {ref.spec}")
            # requests answered with fewer choices than n: ask the missing trials again, one by one
            existing = trials_read.records
            reasks = reask_jobs([*existing, *fresh], jobs, ref.provider)
            have = done_keys(existing, reasks, ref.provider)
            reasks = [j for j in reasks if j.request.key(ref.provider) not in have]
            if reasks:
                await session.run(reasks, on_outcome, description=f"bell {ref.spec} (re-asks)")
    except BaseException:
        writer.close()
        folder.discard_if_empty(keep=keep)
        raise
    writer.close()
    damage = _damage_report(trials_path, trials_read, writer, session)
    try:
        rows = read_jsonl(trials_path).records
        analysis = analyse_rows(rows, design, settings)
        warnings = tuple(analysis.pop("warnings", [])) + tuple(damage)
        result_block = {"model": ref.spec, "provider": ref.provider, "respondent": respondent(ref),
                        "design": design.to_dict(), **analysis}
        run_block = {**session.run_record(), "resumed": resumed, "expected_calls": expected_calls(settings, design),
                     "damage": damage}
        result = BellResult(settings=settings, result=result_block, run=run_block, warnings=warnings,
                            stamp=stamp(elapsed_s=session.stats.elapsed_s), path=out)
        folder.write_result(result)
    finally:
        folder.release()
    return result


def run(settings: BellSettings, how: How | None = None) -> BellResult:
    """Run a Bell study (see :func:`arun`); works from plain code and from inside a notebook's event loop."""
    return run_sync(lambda: arun(settings, how))


def _damage_report(trials_path: Path, trials_read: Any, writer: JsonlWriter, session: ModelSession) -> list[str]:
    """What crashes left behind in the run's files, and where it was set aside."""
    cassette = session.cassette
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


def resume_command(argv: list[str], out: Path) -> str:
    """The command line that resumes a run: the same arguments with ``--out`` pinned."""
    import shlex

    args = list(argv)
    if "--out" in args:
        i = args.index("--out")
        args[i + 1: i + 2] = [str(out)]
    else:
        args += ["--out", str(out)]
    return "probe " + " ".join(shlex.quote(a) for a in args)


STUDY = Study("bell", BellSettings, BellResult, plan, run,
              summary="CHSH test of a conceptual combination asked of a model")

__all__ = ["STUDY", "BellResult", "BellSettings", "ProbeError", "arun", "plan", "resume_command", "run"]
