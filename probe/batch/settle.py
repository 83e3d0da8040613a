"""Settle a session's calls through batch jobs: pending -> submitted -> collected -> cassette.

:func:`settle` is the one entry point (``ModelSession.run`` calls it when ``How.batch`` is set; a
sweep calls it per cell's session). Each call, in any process:

1. writes a *pending* entry (key, canonical request, the provider's request body) for every job
   the cassette lacks;
2. collects every open batch of the cassette's journal (answers -> cassette entries);
3. submits what is pending and not in flight, within the budget (``max_calls`` requests,
   ``max_cost`` dollars estimated at batch prices: characters / 4 input tokens and ``max_tokens``
   output tokens per answer, an upper bound); what does not fit is held back for a later run;
4. with ``batch_wait``, polls every ``batch_poll_s`` seconds and repeats 2-3 until nothing is open.

It returns a :class:`BatchReport`; ``report.missing`` answers are not in the cassette yet (the
caller raises :class:`~probe.errors.BatchPending`). When every answer is in, the study runs as if
the calls had been synchronous, and ``--replay`` gives the same result.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from probe.batch.collect import collect
from probe.batch.journal import BatchEntry, Journal
from probe.batch.requests import estimate_tokens
from probe.batch.submit import advance, submit
from probe.errors import ProviderError, Unsupported
from probe.pricing import batch_price
from probe.progress import Progress, note


@dataclass
class BatchReport:
    """Where a session's batched calls stand after :func:`settle`."""

    planned: int = 0
    answered: int = 0
    missing: int = 0
    submitted: list[BatchEntry] = field(default_factory=list)
    open: list[BatchEntry] = field(default_factory=list)
    held_back: int = 0
    held_reason: str | None = None
    given_up: dict[str, str] = field(default_factory=dict)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    collected_now: int = 0

    def lines(self) -> list[str]:
        """What to tell the user: one line per open batch, then what is held back or failed."""
        out = [f"batch {b.batch_id or '(not created)'} [{b.provider}:{b.model}, local id {b.local_id}]: "
               f"{b.state}, {len(b.keys)} requests" for b in self.open]
        if self.held_back:
            out.append(f"{self.held_back} requests held back: {self.held_reason}")
        for m in self.malformed:
            out.append(f"malformed result line {m.get('line')} (key {m.get('key')}): {m.get('why')}")
        return out


def make_backend(provider: str, *, base_url: str | None, timeout: float) -> Any:
    """The batch back-end of ``provider`` (``openai`` or ``gemini``)."""
    if provider == "openai":
        from probe.batch.openai_jobs import OpenAIBatches

        return OpenAIBatches(base_url=base_url, timeout=timeout)
    if provider == "gemini":
        from probe.batch.gemini_jobs import GeminiBatches

        return GeminiBatches(base_url=base_url, timeout=timeout)
    raise Unsupported(f"--batch: {provider}: models have no batch API (only openai: and gemini: do)",
                      hint="drop --batch: local and simulated models are free to call directly")


def _budget(records: list[dict[str, Any]], *, calls_left: int | None, dollars_left: float | None,
            price: Any) -> tuple[list[dict[str, Any]], str | None, float]:
    """The records that fit the calls and dollars left (estimated at batch prices), why the rest does not,
    and the estimated cost of those that fit."""
    fit, reason = records, None
    if calls_left is not None and len(fit) > calls_left:
        fit, reason = fit[:max(0, calls_left)], "max_calls reached"
    cost = 0.0
    if price is not None:
        bp, keep = batch_price(price), []
        for rec in fit:
            one = bp.cost(*estimate_tokens(rec["request"]))
            if dollars_left is not None and cost + one > dollars_left:
                reason = "max_cost reached (estimated at batch prices, output at max_tokens)"
                break
            cost += one
            keep.append(rec)
        fit = keep
    return fit, reason, cost


async def settle(session: Any, jobs: list[Any], *, wait: bool | None = None) -> BatchReport:
    """Bring the answers of ``jobs`` into ``session.cassette`` through batch jobs (see module docstring).

    ``session`` needs ``ref`` (provider, name), ``how`` (base_url, timeout_s, budgets, batch_wait,
    batch_poll_s, progress), ``price``, ``cassette`` and ``live_provider`` (the provider whose
    ``batch_body`` / ``batch_result`` build and read the requests): a :class:`probe.session.ModelSession`.
    """
    ref, how, cassette, provider = session.ref, session.how, session.cassette, session.live_provider
    wait = how.batch_wait if wait is None else wait
    if provider is None:
        raise Unsupported("--batch: this session cannot call a model (replay or a shipped cassette)",
                          hint="drop --batch to replay")
    journal = Journal.for_cassette(cassette.path)
    report = BatchReport(planned=len(jobs))
    keys = {job.request.key(ref.provider): job for job in jobs}
    mine = [b for b in journal.state.open_batches() if b.provider == ref.provider and b.model == ref.name]
    if not mine and all(k in cassette for k in keys):
        report.answered = len(keys)
        return report  # everything is in: nothing to ask the provider
    backend = make_backend(ref.provider, base_url=how.base_url, timeout=how.timeout_s)
    try:
        fresh = [{"key": k, "provider": ref.provider, "model": ref.name, "kind": j.request.kind,
                  "request": j.request.canonical(ref.provider), "body": provider.batch_body(j.request)}
                 for k, j in keys.items() if k not in cassette and k not in journal.state.pending]
        journal.append_pending(fresh)
        submitted_n, committed_usd = 0, 0.0
        with Progress(f"batch {ref.spec}", len(keys), enabled=False if not wait else how.progress,
                      unit="answers") as bar:
            bar.update(done=sum(1 for k in keys if k in cassette))
            while True:
                for entry in journal.state.open_batches():
                    if entry.provider != ref.provider or entry.model != ref.name:
                        continue
                    if entry.batch_id is None:  # a kill before the batch id was recorded
                        await advance(journal, backend, entry, resumed=True)
                    got = await collect(journal, backend, cassette, provider, entry, price=session.price,
                                        base_url=how.base_url)
                    report.collected_now += got.recorded
                    report.malformed.extend(got.malformed)
                    for m in got.malformed:
                        note(f"probe: warning: batch {entry.batch_id}: malformed result line {m['line']} "
                             f"(key {m['key']}): {m['why']}; the request is sent again")  # a warning, even silent
                records = [r for r in journal.state.to_send(cassette.keys())
                           if r["provider"] == ref.provider and r["model"] == ref.name]
                allowed, reason, cost = _budget(
                    records, calls_left=None if how.max_calls is None else how.max_calls - submitted_n,
                    dollars_left=None if how.max_cost is None else how.max_cost - committed_usd, price=session.price)
                report.held_back, report.held_reason = len(records) - len(allowed), reason
                if reason is not None:
                    report.held_reason = (f"{reason}: --max-calls {how.max_calls}, --max-cost {how.max_cost} "
                                          f"(this run sent {submitted_n + len(allowed)} requests, "
                                          f"~${committed_usd + cost:.4f} at most)")
                if allowed:
                    new = await submit(journal, backend, allowed, provider=ref.provider, model=ref.name)
                    report.submitted.extend(new)
                    submitted_n += len(allowed)
                    committed_usd += cost
                open_now = [b for b in journal.state.open_batches() if b.provider == ref.provider and b.model == ref.name]
                bar.update(done=sum(1 for k in keys if k in cassette),
                           info=", ".join(f"{b.state} {b.counts.get('completed', 0)}/{len(b.keys)}" for b in open_now))
                if not wait or not open_now:
                    break
                await asyncio.sleep(how.batch_poll_s)
    finally:
        journal.close()
    answered = {k for k in keys if k in cassette}
    report.answered = len(answered)
    report.missing = len(keys) - len(answered)
    report.open = [b for b in journal.state.open_batches() if b.provider == ref.provider and b.model == ref.name]
    report.given_up = {k: why for k, why in journal.state.given_up(cassette.keys()).items() if k in keys}
    if report.given_up and not report.open:
        key, why = next(iter(report.given_up.items()))
        raise ProviderError(f"--batch: {len(report.given_up)} requests got no answer in 3 batches "
                            f"(e.g. key {key}: {why})",
                            hint="drop --batch to ask them directly; the answers collected so far are kept")
    return report


__all__ = ["BatchReport", "make_backend", "settle"]
