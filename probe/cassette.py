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
paying twice). A cassette opened ``read_only`` (the shipped ones, unless
``record`` is asked for explicitly) replays what it holds and refuses to grow.

The cassette is a provider wrapper (httpx's MockTransport; STYLE.md rule 4):
:class:`Recorder` wraps a live provider and records every successful call with
the attempts and retry causes it saw; :class:`Replayer` is a provider that only
answers from the file. Both offer ``cached(request)``, so the runner skips
pacing and budget for what is recorded, and cannot tell recording from replay.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from probe.errors import CassetteError, CassetteMiss, ConfigError, ProbeError, RateLimited, retry_cause
from probe.io import JsonlWriter, read_jsonl
from probe.providers.base import BaseProvider, Provider, Request, Response, Scores

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

    def __init__(self, path: str | Path, mode: Mode = "auto", *, read_only: bool = False) -> None:
        if mode not in ("auto", "record", "replay"):
            raise ConfigError(f"cassette mode {mode!r}: use auto, record or replay")
        self.path = Path(path)
        self.mode: Mode = mode
        self.read_only = read_only and mode != "record"
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
        if self.mode == "replay" or self.read_only:
            raise CassetteMiss(
                f"{self.path}: no recorded call for trial {request.trial} ({request.tag or request.kind}, key {key})",
                hint=self.miss_hint(),
            )
        return None

    def miss_hint(self) -> str:
        """What the cassette holds and how to get the missing calls."""
        held = self.summary()
        what = (f"it holds {held['entries']} calls of {', '.join(held['models']) or 'no model'}"
                + (f" ({', '.join(held['tags'][:4])}{', ...' if len(held['tags']) > 4 else ''})" if held["tags"] else ""))
        if self.read_only:
            return (f"{what}; this is a shipped cassette, opened read-only: rerun with the settings it was recorded "
                    "with, or record into your own file with --cassette NEW.jsonl (or --record to extend it)")
        return (f"{what}; the request differs from the recording (model, prompt, settings, seed?) or the study was "
                "recorded with fewer trials; drop --replay to call the model for the missing ones")

    def summary(self) -> dict[str, Any]:
        """Models, request tags and dates the cassette holds (for error hints and methods paragraphs)."""
        models = sorted({str(r.get("model")) for r in self._index.values()})
        tags = sorted({str(r.get("request", {}).get("tag", "")).rsplit(":", 2)[0] for r in self._index.values()} - {""})
        times = sorted(str(r.get("time")) for r in self._index.values() if r.get("time"))
        return {"entries": len(self._index), "models": models, "tags": tags,
                "recorded_first": times[0] if times else None, "recorded_last": times[-1] if times else None}

    def record(self, request: Request, provider: str, result: Response | Scores, *, latency_s: float,
               attempts: int = 1, retry_causes: list[str] | None = None, base_url: str | None = None,
               rate_limits: dict[str, Any] | None = None, batch: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one call; returns the record as written (before redaction).

        ``batch`` marks an answer that came from a provider batch job (:mod:`probe.batch`): its batch id,
        the local id probe gave the batch, and the cost at batch rates."""
        if self.mode == "replay" or self.read_only:
            raise CassetteError(f"{self.path}: opened for replay (read-only), cannot record",
                                hint="pass --record to extend it, or --cassette NEW.jsonl")
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
        if batch is not None:
            rec["batch"] = batch
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


class Recorder(BaseProvider):
    """A live provider whose successful calls are written to ``cassette`` before they are returned.

    ``cached(request)`` answers from the cassette (``auto`` mode); a failed attempt's
    cause is remembered per request key, so the record of the call that finally
    succeeds carries ``attempts`` and ``retry_causes``.
    """

    def __init__(self, inner: Provider, cassette: Cassette, *, base_url: str | None = None) -> None:
        super().__init__(inner.model)
        self.inner = inner
        self.name = inner.name
        self.cassette = cassette
        self.base_url = base_url
        self._failures: dict[str, list[str]] = {}
        self._waits: dict[str, list[float | None]] = {}  # the Retry-After of each 429 on the way

    def cached(self, request: Request) -> Response | Scores | None:
        return self.cassette.lookup(request, self.name)

    async def generate(self, request: Request) -> Response:
        return await self._call("generate", request)  # type: ignore[return-value]

    async def score(self, request: Request) -> Scores:
        return await self._call("score", request)  # type: ignore[return-value]

    async def _call(self, kind: str, request: Request) -> Response | Scores:
        key = request.key(self.name)
        method = self.inner.generate if kind == "generate" else self.inner.score
        t0 = time.monotonic()
        try:
            result = await method(request)
        except ProbeError as exc:
            if self.inner.should_retry(exc):
                self._failures.setdefault(key, []).append(retry_cause(exc))
                if isinstance(exc, RateLimited):
                    self._waits.setdefault(key, []).append(exc.retry_after)
            else:
                self._failures.pop(key, None)
                self._waits.pop(key, None)
            raise
        latency = time.monotonic() - t0
        causes = self._failures.pop(key, [])
        waits = self._waits.pop(key, [])
        limits = {**(result.rate_limits or {}), **({"retry_after_s": waits} if waits else {})} or None
        self.cassette.record(request, self.name, result, latency_s=latency, attempts=len(causes) + 1,
                             retry_causes=causes, base_url=self.base_url, rate_limits=limits)
        await self.cassette.sync()  # the paid answer is on disk before anything else sees it
        return result

    def should_retry(self, exc: BaseException) -> bool:
        return self.inner.should_retry(exc)

    async def prepare(self) -> None:
        """The inner provider's one-time setup (loading local weights), untimed."""
        prepare = getattr(self.inner, "prepare", None)
        if prepare is not None:
            await prepare()

    async def aclose(self) -> None:
        await self.inner.aclose()


class Replayer(BaseProvider):
    """A provider that answers only from a cassette: a miss is :class:`CassetteMiss`."""

    def __init__(self, cassette: Cassette, *, name: str, model: str) -> None:
        super().__init__(model)
        self.name = name
        self.cassette = cassette

    def cached(self, request: Request) -> Response | Scores | None:
        hit = self.cassette.lookup(request, self.name)
        if hit is None:  # auto/record mode with nothing to call: still a miss
            raise CassetteMiss(f"{self.cassette.path}: no recorded call for trial {request.trial} "
                               f"({request.tag or request.kind}, key {request.key(self.name)})",
                               hint=self.cassette.miss_hint())
        return hit

    async def generate(self, request: Request) -> Response:
        self.cached(request)
        raise CassetteMiss(f"{self.cassette.path}: replay cannot call a model")

    async def score(self, request: Request) -> Scores:
        self.cached(request)
        raise CassetteMiss(f"{self.cassette.path}: replay cannot call a model")
