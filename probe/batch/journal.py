"""The batches journal: an append-only record, next to the cassette, of what was sent as batch jobs.

``<cassette>.batches.jsonl`` (``cassette.jsonl`` -> ``cassette.batches.jsonl``) holds one event a
line, fsync'd before the step it announces is taken::

    {"event": "pending",  "key": K, "provider": "openai", "model": "gpt-4o", "kind": "generate",
     "request": {...canonical request...}, "body": {...the provider's request body...}}
    {"event": "intent",   "local_id": U, "provider": ..., "model": ..., "keys": [K, ...]}
    {"event": "uploaded", "local_id": U, "file_id": "file-..."}                 (OpenAI only)
    {"event": "created",  "local_id": U, "batch_id": "batch_..." | "batches/..."}
    {"event": "state",    "local_id": U, "state": "in_progress", "counts": {...}}
    {"event": "closed",   "local_id": U, "state": "completed" | "expired" | ..., "collected": n,
     "errors": {K: "why"}, "malformed": [{"key": K, "line": i, "why": ...}], "cost_usd": c}

Nothing else holds batch state: what is still to send, in flight, or given up is derived from
these events and the cassette (:class:`JournalState`). A kill between two steps therefore leaves
an ``intent`` without ``created`` (or ``uploaded``), which the submitter resolves by asking the
provider for a file / batch carrying the local id (:mod:`probe.batch.submit`): nothing is lost,
nothing is sent twice. A request whose batch closed without its answer (a per-line error, an
expired batch, a malformed line) is pending again, up to :data:`MAX_ATTEMPTS` batches.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.io import JsonlWriter, read_jsonl

MAX_ATTEMPTS = 3
"""Batches a request may go through without an answer before it is reported as failed."""


def journal_path(cassette_path: str | Path) -> Path:
    """``runs/x/cassette.jsonl`` -> ``runs/x/cassette.batches.jsonl``."""
    p = Path(cassette_path)
    return p.with_name(f"{p.stem}.batches.jsonl")


@dataclass
class BatchEntry:
    """One batch as the journal knows it."""

    local_id: str
    provider: str
    model: str
    keys: list[str]
    file_id: str | None = None
    batch_id: str | None = None
    state: str = "intent"
    counts: dict[str, int] = field(default_factory=dict)
    closed: bool = False
    collected: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float | None = None
    time: str | None = None


@dataclass
class JournalState:
    """What the journal says: every pending request, every batch, attempts per key."""

    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    batches: dict[str, BatchEntry] = field(default_factory=dict)

    def open_batches(self) -> list[BatchEntry]:
        return [b for b in self.batches.values() if not b.closed]

    def in_flight(self) -> set[str]:
        return {k for b in self.open_batches() for k in b.keys}

    def attempts(self, key: str) -> int:
        return sum(1 for b in self.batches.values() if b.closed and key in b.keys)

    def last_error(self, key: str) -> str | None:
        for b in reversed(list(self.batches.values())):
            if b.closed and key in b.errors:
                return b.errors[key]
        return None

    def to_send(self, answered: set[str]) -> list[dict[str, Any]]:
        """Pending requests without an answer, not in an open batch, with attempts left (journal order)."""
        busy = self.in_flight()
        return [rec for key, rec in self.pending.items()
                if key not in answered and key not in busy and self.attempts(key) < MAX_ATTEMPTS]

    def given_up(self, answered: set[str]) -> dict[str, str]:
        """Keys that went through :data:`MAX_ATTEMPTS` batches without an answer, with the last reason."""
        busy = self.in_flight()
        return {k: self.last_error(k) or "no answer" for k in self.pending
                if k not in answered and k not in busy and self.attempts(k) >= MAX_ATTEMPTS}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


class Journal:
    """Read and append the batches journal of one cassette (see module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.state = JournalState()
        self._writer: JsonlWriter | None = None
        for rec in read_jsonl(self.path).records:
            self._apply(rec)

    @classmethod
    def for_cassette(cls, cassette_path: str | Path) -> Journal:
        return cls(journal_path(cassette_path))

    def exists(self) -> bool:
        return self.path.is_file()

    def _apply(self, rec: dict[str, Any]) -> None:
        event, st = rec.get("event"), self.state
        if event == "pending":
            st.pending.setdefault(rec["key"], rec)
            return
        local_id = rec.get("local_id")
        if event == "intent":
            st.batches[local_id] = BatchEntry(local_id, rec["provider"], rec["model"], list(rec["keys"]),
                                              time=rec.get("time"))
            return
        entry = st.batches.get(local_id)
        if entry is None:
            return
        if event == "uploaded":
            entry.file_id = rec["file_id"]
        elif event == "created":
            entry.batch_id = rec["batch_id"]
            entry.state = "submitted"
        elif event == "state":
            entry.state = rec["state"]
            entry.counts = dict(rec.get("counts") or {})
        elif event == "closed":
            entry.closed = True
            entry.state = rec["state"]
            entry.collected = int(rec.get("collected") or 0)
            entry.errors = dict(rec.get("errors") or {})
            entry.malformed = list(rec.get("malformed") or [])
            entry.cost_usd = rec.get("cost_usd")
            entry.counts = dict(rec.get("counts") or entry.counts)

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one event (fsync'd) and apply it."""
        rec = {"event": event, "time": _now(), **fields}
        if self._writer is None:
            self._writer = JsonlWriter(self.path)
        self._writer.write(rec)
        self._apply(rec)
        return rec

    def append_pending(self, records: list[dict[str, Any]]) -> None:
        """Several pending requests with one write and one fsync."""
        fresh = [{"event": "pending", "time": _now(), **r} for r in records if r["key"] not in self.state.pending]
        if not fresh:
            return
        if self._writer is None:
            self._writer = JsonlWriter(self.path)
        self._writer.write_many(fresh)
        for rec in fresh:
            self._apply(rec)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


__all__ = ["MAX_ATTEMPTS", "BatchEntry", "Journal", "JournalState", "journal_path"]
