"""``probe study --batch``: every API cell's requests in as few provider batch jobs as possible.

Before any cell runs, the requests that the cells' own cassettes lack are gathered and grouped by
provider, model and endpoint; each group is settled (:func:`probe.session.settle_batches`) through
one study-level cassette, ``<study>/batches/<provider>-<model>-<endpoint hash>.jsonl``, and its
batches journal next to it -- so one batch per provider and model (split only at the providers'
documented size limits), not one per cell. A cell with no cassette of its own reads its answers
from there (in every later run too, ``--replay`` included: :func:`batch_cassette`; its
``result.json`` names the cassette); one that began with its own cassette gets its batched answers
copied into it. A cell whose answers are all in then runs as usual, every answer a cassette hit, and gives what the synchronous study gives. Cells
still waiting stay ``pending``; :func:`settle_cells` says which, and the study stops with
:class:`~probe.errors.BatchPending` (exit 75): the same command later collects and finishes them.

``max_calls`` / ``max_cost`` are for the whole study: the groups are settled one after another, each
with what the earlier ones left (requests counted as sent, dollars estimated at batch prices with
output at ``max_tokens``, as :mod:`probe.batch.settle` does).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.batch import BatchReport, journal_path
from probe.batch.requests import estimate_tokens
from probe.io import JsonlWriter, read_jsonl
from probe.pricing import batch_price
from probe.protocol import How, get_study, run_sync
from probe.providers import ModelRef, parse_model
from probe.runs import slug
from probe.session import is_shipped, model_price, settle_batches
from probe.sweep.cells import Cell

BATCHED_EXPERIMENTS = ("bell", "words-generate")
"""Experiments whose requests a study can gather before the cells run."""


def cell_jobs(cell: Cell) -> tuple[ModelRef, list[Any]]:
    """The model and every request of a cell (what its study would ask), in the study's order."""
    study = get_study(cell.experiment)
    settings = study.settings_type.from_dict(cell.settings)
    settings.validate()
    if cell.experiment == "bell":
        from probe.experiments.bell.design import load_design
        from probe.experiments.bell.trials import build_jobs

        ref = parse_model(settings.model)
        return ref, build_jobs(load_design(settings.prompt), ref, settings)
    from probe.experiments.words.generate import build_jobs as story_jobs
    from probe.experiments.words.generate import load_story_prompts

    if settings.n_stories > 1 and not settings.by_file:  # as the words-generate study itself does
        settings = dataclasses.replace(settings, by_file=True)
    prompts = load_story_prompts(settings.prompt)
    ref = parse_model(settings.model or "")
    return ref, story_jobs(prompts, ref.spec, settings, min_words=settings.min_words or prompts.min_words)


def shared_cassette(study_dir: Path, ref: ModelRef, how: How) -> Path:
    """The study-level cassette of one provider + model + endpoint (its batches journal lies next to it)."""
    endpoint = hashlib.sha256((how.base_url or "").encode()).hexdigest()[:6]
    return study_dir / "batches" / f"{ref.provider}-{slug(ref.name)}-{endpoint}.jsonl"


def batch_cassette(study_dir: Path, cell: Cell, how: How, *, create: bool = False) -> Path | None:
    """The study-level cassette a cell reads its answers from, or ``None`` (it keeps its own).

    A cell whose folder holds no cassette of its own takes its answers from its group's study-level
    cassette once that exists (``create``: it is about to), in every later run too (``--replay``, a
    resume without ``--batch``); a cell that had begun with its own cassette, or names one in the
    manifest, keeps it, and :func:`settle_cells` copies its batched answers there."""
    if cell.kind != "api" or cell.experiment not in BATCHED_EXPERIMENTS or cell.how.get("cassette") or how.out is None:
        return None
    if (Path(how.out) / "cassette.jsonl").is_file():
        return None
    shared = shared_cassette(study_dir, parse_model(cell.model), how)
    return shared if create or shared.is_file() or journal_path(shared).is_file() else None


@dataclass
class _Member:
    cell: Cell
    cassette: Path
    missing: dict[str, Any]  # key -> job
    shared: Path


@dataclass
class StudyBatches:
    """What :func:`settle_cells` found: cells ready to run, cells waiting (id -> why) and the merged report."""

    ready: set[str] = field(default_factory=set)
    waiting: dict[str, str] = field(default_factory=dict)
    report: BatchReport = field(default_factory=BatchReport)
    groups: int = 0
    sent: int = 0
    """Requests sent in batches by this call (they count against the study's max_calls)."""
    sent_cost_usd: float = 0.0
    """Their cost at batch prices, estimated with output at max_tokens (an upper bound)."""


def settle_cells(study_dir: Path, cells: list[tuple[Cell, How]], *, max_calls: int | None = None,
                 max_cost: float | None = None, wait: bool = False) -> StudyBatches:
    """Settle the cells' missing answers through one set of batches per provider + model + endpoint (see the
    module docstring); ``cells`` pairs each cell with its How (its folder, cassette and endpoint)."""
    out = StudyBatches()
    groups: dict[tuple[str, str, str], tuple[ModelRef, How, list[_Member]]] = {}
    for cell, how in cells:
        if cell.kind != "api" or cell.experiment not in BATCHED_EXPERIMENTS:
            out.ready.add(cell.id)
            continue
        ref, jobs = cell_jobs(cell)
        cassette = batch_cassette(study_dir, cell, how, create=True) or \
            (Path(how.cassette) if how.cassette else Path(how.out) / "cassette.jsonl")  # type: ignore[arg-type]
        if is_shipped(cassette):  # a shipped cassette never grows: the cell replays (or says what it lacks)
            out.ready.add(cell.id)
            continue
        have = {r.get("key") for r in read_jsonl(cassette).records}
        missing = {j.request.key(ref.provider): j for j in jobs if j.request.key(ref.provider) not in have}
        if not missing:
            out.ready.add(cell.id)
            continue
        group = groups.setdefault((ref.provider, ref.name, how.base_url or ""), (ref, how, []))
        group[2].append(_Member(cell, cassette, missing, shared_cassette(study_dir, ref, how)))
    calls_left, dollars_left = max_calls, max_cost
    for ref, how, members in groups.values():
        jobs = {k: j for m in members for k, j in m.missing.items()}
        path = shared_cassette(study_dir, ref, how)
        path.parent.mkdir(parents=True, exist_ok=True)
        group_how = how.replace(out=None, cassette=None, batch=True, max_calls=calls_left, max_cost=dollars_left)
        report = run_sync(lambda r=ref, h=group_how, p=path, js=list(jobs.values()):
                          settle_batches(r, h, cassette_path=p, jobs=js, wait=wait))
        out.groups += 1
        _merge(out.report, report)
        sent = [k for b in report.submitted for k in b.keys if k in jobs]
        out.sent += len(sent)
        if calls_left is not None:
            calls_left = max(0, calls_left - len(sent))
        price = model_price(ref, group_how)
        if price is not None and sent:
            bp = batch_price(price)
            spent = sum(bp.cost(*estimate_tokens(jobs[k].request.canonical(ref.provider))) for k in sent)
            out.sent_cost_usd += spent
            if dollars_left is not None:
                dollars_left = max(0.0, dollars_left - spent)
        answers = {r["key"]: r for r in read_jsonl(path).records if r.get("key") in jobs}
        for m in members:
            _copy(answers, m)
            left = [k for k in m.missing if k not in answers]
            if left:
                ids = ", ".join(str(b.batch_id) for b in report.open) or "none open"
                out.waiting[m.cell.id] = (f"batch pending: {len(left)} of {len(m.missing)} answers not in yet "
                                          f"(batches {ids})")
            else:
                out.ready.add(m.cell.id)
    return out


def _copy(answers: dict[str, dict[str, Any]], member: _Member) -> None:
    """Append the answers a cell lacks to its own cassette (flushed and fsync'd line by line)."""
    new = [answers[k] for k in member.missing if k in answers]
    if not new or member.cassette.resolve() == member.shared.resolve():
        return
    member.cassette.parent.mkdir(parents=True, exist_ok=True)
    writer = JsonlWriter(member.cassette)
    try:
        for rec in new:
            writer.write(rec)
    finally:
        writer.close()


def _merge(into: BatchReport, report: BatchReport) -> None:
    into.planned += report.planned
    into.answered += report.answered
    into.missing += report.missing
    into.submitted.extend(report.submitted)
    into.open.extend(report.open)
    into.held_back += report.held_back
    into.held_reason = into.held_reason or report.held_reason
    into.given_up.update(report.given_up)
    into.malformed.extend(report.malformed)
    into.collected_now += report.collected_now


__all__ = ["BATCHED_EXPERIMENTS", "StudyBatches", "batch_cassette", "cell_jobs", "settle_cells", "shared_cassette"]
