"""Submitting pending requests as batch jobs, so that a kill at any step loses and repeats nothing.

For each group (one provider and model; split at the provider's request and byte limits):

1. ``intent`` with a fresh local id and the keys is written to the journal (fsync'd);
2. OpenAI: the input file ``probe-<local id>.jsonl`` is uploaded, then ``uploaded`` is written;
3. the batch is created carrying the local id (OpenAI metadata ``probe_batch``; Gemini display
   name ``probe-<local id>``), then ``created`` is written.

A process killed between 1 and 2 or 2 and 3 leaves an intent that :func:`advance` completes on
the next run: it first looks for a file / batch carrying the local id (``files.list``,
``batches.list``), and only uploads or creates when the provider has none. So a kill after
create is found again (no second batch, nothing paid twice); a kill after upload reuses the file.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from probe.batch import gemini_jobs, openai_jobs
from probe.batch.journal import BatchEntry, Journal
from probe.errors import ProviderError


def line_bytes(provider: str, key: str, body: dict[str, Any]) -> bytes:
    module = openai_jobs if provider == "openai" else gemini_jobs
    return module.input_line(key, body)


def split(records: list[dict[str, Any]], *, max_requests: int, max_bytes: int) -> list[list[dict[str, Any]]]:
    """Consecutive groups of at most ``max_requests`` records and ``max_bytes`` of input lines each."""
    groups: list[list[dict[str, Any]]] = []
    size = 0
    for rec in records:
        n = len(line_bytes(rec["provider"], rec["key"], rec["body"]))
        if not groups or len(groups[-1]) >= max_requests or (size + n > max_bytes and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(rec)
        size += n
    return groups


def _epoch(iso: str | None) -> float | None:
    import datetime as _dt

    return _dt.datetime.fromisoformat(iso).timestamp() if iso else None


async def advance(journal: Journal, backend: Any, entry: BatchEntry, *, resumed: bool) -> None:
    """Take one intent to a created batch (see module docstring); ``resumed``: look for earlier steps first."""
    if entry.batch_id is not None:
        return
    records = [journal.state.pending[k] for k in entry.keys]
    if resumed:
        found = await asyncio.to_thread(backend.find_batch, entry.local_id, since=_epoch(entry.time))
        if found is not None:
            journal.append("created", local_id=entry.local_id, batch_id=found, recovered=True)
            return
    if entry.provider == "openai":
        if entry.file_id is None:
            file_id = await asyncio.to_thread(backend.find_file, entry.local_id) if resumed else None
            if file_id is None:
                data = b"".join(line_bytes("openai", r["key"], r["body"]) for r in records)
                file_id = await asyncio.to_thread(backend.upload, entry.local_id, data)
            journal.append("uploaded", local_id=entry.local_id, file_id=file_id)
        create = (backend.create, entry.local_id, entry.file_id, entry.model)
    else:
        create = (backend.create_inline, entry.local_id, entry.model, [(r["key"], r["body"]) for r in records])
    try:
        batch_id = await asyncio.to_thread(*create)
    except ProviderError:
        # the answer may be what was lost (the batch exists): look for it before anything is sent again
        found = await asyncio.to_thread(backend.find_batch, entry.local_id, since=_epoch(entry.time))
        if found is None:
            raise
        journal.append("created", local_id=entry.local_id, batch_id=found, recovered=True)
        return
    journal.append("created", local_id=entry.local_id, batch_id=batch_id)


async def submit(journal: Journal, backend: Any, records: list[dict[str, Any]], *, provider: str,
                 model: str) -> list[BatchEntry]:
    """Send ``records`` (pending journal records of one provider and model) as new batches."""
    entries = []
    for group in split(records, max_requests=backend.max_requests, max_bytes=backend.max_bytes):
        local_id = uuid.uuid4().hex[:16]
        journal.append("intent", local_id=local_id, provider=provider, model=model, keys=[r["key"] for r in group])
        entry = journal.state.batches[local_id]
        await advance(journal, backend, entry, resumed=False)
        entries.append(entry)
    return entries


__all__ = ["advance", "split", "submit"]
