"""Collecting a finished batch: its answers become normal cassette entries, the rest goes back to pending.

Each answer is read by the provider's own converter (``batch_result``: the same code that reads a
synchronous answer), recorded in the cassette with the raw response JSON, usage, and a ``batch``
block (batch id, local id, cost at batch rates), and fsync'd. Only then is ``closed`` written to
the journal. A kill while collecting leaves the batch open: the next run downloads the results
again (downloads are free) and skips the keys the cassette already holds, so nothing is recorded
twice and nothing is paid twice.

A request without an answer (a per-line error, the unfinished part of an expired batch, a
malformed line) is listed in the ``closed`` event with the reason and becomes pending again
(:meth:`probe.batch.journal.JournalState.to_send`). A malformed line is also reported with its
key (found in the line's text when the line is not JSON).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from probe.batch.journal import BatchEntry, Journal
from probe.batch.requests import request_from_canonical
from probe.cassette import Cassette
from probe.errors import ProbeError
from probe.pricing import BATCH_DISCOUNT, Price, batch_price


@dataclass
class Collected:
    """What collecting one batch did."""

    done: bool
    recorded: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float | None = 0.0


async def collect(journal: Journal, backend: Any, cassette: Cassette, provider: Any, entry: BatchEntry, *,
                  price: Price | None, base_url: str | None = None) -> Collected:
    """Poll ``entry``'s batch; when it is final, record its answers and close it (see module docstring)."""
    poll = await asyncio.to_thread(backend.poll, entry.batch_id)
    if poll.state != entry.state or poll.counts != entry.counts:
        journal.append("state", local_id=entry.local_id, state=poll.state, counts=poll.counts)
    if not poll.done:
        return Collected(done=False)
    out = Collected(done=True, cost_usd=0.0 if price is not None else None)
    keys = set(entry.keys)
    seen: set[str] = set()
    lines = [*await asyncio.to_thread(backend.results, poll, "output", entry.keys)]
    for line in lines:
        _take(line, keys, seen, out, cassette, provider, entry, price, base_url, journal)
    await cassette.sync()  # the answers are on disk before the batch is marked closed
    for line in await asyncio.to_thread(backend.results, poll, "error", entry.keys):
        _take(line, keys, seen, out, cassette, provider, entry, price, base_url, journal)
    for key in entry.keys:
        if key not in seen and key not in cassette:
            why = poll.handle.get("why")
            out.errors[key] = f"no result in batch {entry.batch_id} ({poll.state}{': ' + why if why else ''})"
    journal.append("closed", local_id=entry.local_id, state=poll.state, counts=poll.counts, collected=out.recorded,
                   errors=out.errors, malformed=out.malformed,
                   cost_usd=None if out.cost_usd is None else round(out.cost_usd, 8))
    return out


def _take(line: Any, keys: set[str], seen: set[str], out: Collected, cassette: Cassette, provider: Any,
          entry: BatchEntry, price: Price | None, base_url: str | None, journal: Journal) -> None:
    """One result line: an answer into the cassette, or an error / malformed note."""
    key = line.key
    if line.malformed or key is None or key not in keys:
        why = line.why or f"line {line.line}: key {key!r} is not a request of this batch"
        out.malformed.append({"key": key, "line": line.line, "why": why})
        if key in keys:
            out.errors[key] = why
            seen.add(key)
        return
    if key in seen and key not in out.errors:
        return  # already taken from the output file
    seen.add(key)
    if key in cassette:
        out.errors.pop(key, None)
        return  # recorded before a kill: not again
    if line.body is None:
        out.errors[key] = line.why or "no response body"
        return
    request = request_from_canonical(journal.state.pending[key]["request"])
    try:
        result = provider.batch_result(request, line.body)
    except ProbeError as exc:
        out.malformed.append({"key": key, "line": line.line, "why": exc.message})
        out.errors[key] = exc.message
        return
    cost = None
    if price is not None:
        cost = batch_price(price).cost(result.usage.input_tokens, result.usage.output_tokens)
        out.cost_usd = (out.cost_usd or 0.0) + cost
    cassette.record(request, provider.name, result, latency_s=0.0, base_url=base_url,
                    batch={"id": entry.batch_id, "local_id": entry.local_id, "price_factor": BATCH_DISCOUNT,
                           "cost_usd": None if cost is None else round(cost, 8)})
    out.errors.pop(key, None)
    out.recorded += 1


__all__ = ["Collected", "collect"]
