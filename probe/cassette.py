"""Record and replay every model call: the experiment's raw data.

A cassette is a JSON-lines file; each line is one call::

    {"v": 1, "key": "<sha256[:32] of the canonical request>", "time": "...",
     "provider": "openai", "model": "openai:gpt-4o", "kind": "generate",
     "model_version": "gpt-4o-2024-08-06", "fingerprint": "fp_...",
     "request": {...canonical request...}, "response": {...normalised...},
     "raw": {...the API's own JSON...}, "usage": {...}, "latency_s": 0.41,
     "attempts": 1, "retry_causes": [], "base_url": null,
     "rate_limits": {"x-ratelimit-remaining-requests": "59", ..., "retry_after_s": [0.1]} or null}

``rate_limits`` is what the server said about its limits: the rate-limit
headers of the answer (or Gemini's quota details) as raw strings, and the
``Retry-After`` of each 429 on the way (see :mod:`probe.pacing`).

The key covers provider, model spec, kind, messages, sampling settings, the
answer options and the trial index, so repeated identical prompts sampled at
T > 0 are distinct entries (the repeat/cache collision that promptfoo and
litellm users report cannot happen). Secrets are stripped by
:func:`probe.secrets.redact` on the way to disk. Lines are fsync'd; a torn last
line (crash mid-write) is set aside and reported, never parsed as data.

Modes: ``record`` (always call, append), ``replay`` (never call; a missing entry
is :class:`CassetteMiss` naming the trial), ``auto`` (replay what is there,
call and append the rest: this is how an interrupted run resumes without
paying twice).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from probe.errors import CassetteError, CassetteMiss, ConfigError
from probe.io import JsonlWriter, read_jsonl
from probe.providers.base import Request, Response, Scores

Mode = Literal["auto", "record", "replay"]
SCHEMA_VERSION = 1


@dataclass
class CassetteStats:
    """What reading a cassette found."""

    entries: int = 0
    duplicates: int = 0
    bad_lines: list[int] = field(default_factory=list)
    torn_tail: bool = False
    torn_saved: str | None = None


class Cassette:
    """A record/replay store of model calls (see module docstring).

    Parameters
    ----------
    path : path-like
        The JSON-lines file (created on first record).
    mode : {"auto", "record", "replay"}
    """

    def __init__(self, path: str | Path, mode: Mode = "auto") -> None:
        if mode not in ("auto", "record", "replay"):
            raise ConfigError(f"cassette mode {mode!r}: use auto, record or replay")
        self.path = Path(path)
        self.mode: Mode = mode
        if mode == "replay" and not self.path.exists():
            raise ConfigError(f"{self.path}: cassette not found", hint="check --cassette, or drop --replay to record")
        if self.path.exists() and self.path.is_dir():
            raise ConfigError(f"{self.path}: is a folder, not a cassette file", hint="pass a .jsonl file to --cassette")
        self.stats = CassetteStats()
        self._index: dict[str, dict[str, Any]] = {}
        self._writer: JsonlWriter | None = None
        self._load()

    def _load(self) -> None:
        read = read_jsonl(self.path)
        self.stats.bad_lines = read.bad_lines
        self.stats.torn_tail = read.torn_tail
        for rec in read.records:
            key = rec.get("key")
            if rec.get("v") != SCHEMA_VERSION or not isinstance(key, str) or "response" not in rec:
                raise CassetteError(f"{self.path}: line for key {key!r} is not a probe cassette v{SCHEMA_VERSION} record",
                                    hint="was this file written by another tool or a newer probe?")
            if key in self._index:
                self.stats.duplicates += 1
            self._index[key] = rec  # the most recent recording of a key wins
        self.stats.entries = len(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def keys(self) -> set[str]:
        return set(self._index)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._index.get(key)

    def lookup(self, request: Request, provider: str) -> Response | Scores | None:
        """The recorded result for ``request``; ``None`` if absent (and allowed to call)."""
        key = request.key(provider)
        if self.mode != "record":
            rec = self._index.get(key)
            if rec is not None:
                return result_from_record(rec)
        if self.mode == "replay":
            raise CassetteMiss(
                f"{self.path}: no recorded call for trial {request.trial} ({request.tag or request.kind}, key {key})",
                hint="the request differs from the recording (model, prompt, settings, seed?) or the study was "
                     "recorded with fewer trials; drop --replay to call the model for the missing ones",
            )
        return None

    def record(self, request: Request, provider: str, result: Response | Scores, *, latency_s: float,
               attempts: int = 1, retry_causes: list[str] | None = None, base_url: str | None = None,
               rate_limits: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one call; returns the record as written (before redaction)."""
        if self.mode == "replay":
            raise CassetteError(f"{self.path}: opened for replay, cannot record")
        key = request.key(provider)
        rec = {
            "v": SCHEMA_VERSION,
            "key": key,
            "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
            "provider": provider,
            "model": request.model,
            "kind": request.kind,
            "model_version": result.model_version,
            "fingerprint": result.fingerprint,
            "request": request.canonical(provider),
            "response": result.to_record(),
            "raw": result.raw,
            "usage": {"input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens},
            "latency_s": round(latency_s, 4),
            "attempts": attempts,
            "retry_causes": retry_causes or [],
            "base_url": base_url,
            "rate_limits": rate_limits,
        }
        if self._writer is None:
            self._writer = JsonlWriter(self.path, defer_fsync=True)
            self._writer.write(rec)
            if self._writer.torn is not None:
                self.stats.torn_saved = str(self._writer.torn)
        else:
            self._writer.write(rec)
        self._index[key] = rec
        return rec

    async def sync(self) -> None:
        """Wait until every recorded call is on disk (fsync in a thread)."""
        if self._writer is not None:
            await self._writer.sync()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def result_from_record(rec: dict[str, Any]) -> Response | Scores:
    """Rebuild a provider result from a cassette line."""
    if rec.get("kind") == "score":
        return Scores.from_record(rec["response"], raw=rec.get("raw"))
    return Response.from_record(rec["response"], raw=rec.get("raw"))
