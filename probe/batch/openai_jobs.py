"""OpenAI Batch API through the official ``openai`` SDK: upload, create, find, poll, download.

Documented limits (checked 2026-12-03 against the ``POST /v1/batches`` reference and the Batch API
FAQ): an input file holds at most **50,000 requests** and **200 MB**, all for one model and one
endpoint; ``completion_window`` is ``"24h"`` (the only value); an expired batch returns (and
bills) its completed part, the rest comes back in the error file with code ``batch_expired``;
metadata is at most 16 pairs, keys <= 64 and values <= 512 characters; ``custom_id`` must be
unique in a file (probe uses the cassette key, 32 hex digits). Price: 50 % of the synchronous
price (:data:`probe.pricing.BATCH_DISCOUNT`).

SDK calls (openai >= 1.x): ``client.files.create(file=(name, bytes), purpose="batch")``,
``client.files.list(purpose="batch")``, ``client.batches.create(input_file_id=...,
endpoint="/v1/chat/completions", completion_window="24h", metadata={...})``,
``client.batches.retrieve(id)``, ``client.batches.list(limit=...)``, ``client.files.content(id)``.
REST paths: ``POST /v1/files`` (multipart), ``GET /v1/files``, ``GET /v1/files/{id}/content``,
``POST /v1/batches``, ``GET /v1/batches/{id}``, ``GET /v1/batches``, ``POST /v1/batches/{id}/cancel``.

Exact mode: the documented rule is that a line's ``body`` takes the parameters of the endpoint it
names, so ``logprobs`` / ``top_logprobs`` of ``/v1/chat/completions`` go through a batch unchanged
(not verified against the live API from here: no key is reachable in the build).

Input line: ``{"custom_id": K, "method": "POST", "url": "/v1/chat/completions", "body": {...}}``.
Output line: ``{"id": ..., "custom_id": K, "response": {"status_code": 200, "request_id": ...,
"body": {...chat completion...}}, "error": null}``; error-file lines carry ``"error": {"code",
"message"}`` and/or a ``response`` whose ``status_code`` is not 200.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from probe.batch.results import LineResult, Poll
from probe.errors import AuthError, MissingDependency, ProviderError

MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
ENDPOINT = "/v1/chat/completions"
DONE = ("completed", "failed", "expired", "cancelled")
METADATA_KEY = "probe_batch"
_KEY = re.compile(r'"custom_id"\s*:\s*"([0-9a-f]{32})"')


def input_line(key: str, body: dict[str, Any]) -> bytes:
    return (json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body},
                       sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def file_name(local_id: str) -> str:
    return f"probe-{local_id}.jsonl"


class OpenAIBatches:
    """The batch calls of one OpenAI (or compatible) endpoint; synchronous SDK, run in a thread by the caller."""

    provider = "openai"
    max_requests = MAX_REQUESTS
    max_bytes = MAX_BYTES

    def __init__(self, *, base_url: str | None = None, timeout: float = 60.0) -> None:
        try:
            import openai
        except ImportError:
            raise MissingDependency("--batch with openai: needs the openai package", hint="pip install openai") from None
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            if base_url is None:
                raise AuthError("OPENAI_API_KEY is not set", hint="export OPENAI_API_KEY=...")
            key = "not-needed"
        self._openai = openai
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=3)
        # uploads and creates are never retried by the SDK: a retry after a lost answer would make a second
        # file or batch (paid twice); probe looks for the first one by its local id instead (submit.advance)
        self._once = self._client.with_options(max_retries=0)

    def _guard(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        oa = self._openai
        try:
            return fn(*args, **kwargs)
        except (oa.AuthenticationError, oa.PermissionDeniedError) as exc:
            raise AuthError(f"openai batch {what}: key rejected ({exc.status_code})",
                            hint="check OPENAI_API_KEY") from exc
        except oa.APIStatusError as exc:
            raise ProviderError(f"openai batch {what}: rejected ({exc.status_code}: {exc.message})") from exc
        except oa.APIError as exc:
            raise ProviderError(f"openai batch {what}: {type(exc).__name__}: {exc}",
                                hint="run the same command again: submitted batches are found again") from exc

    # -- submission -----------------------------------------------------------------------------------
    def find_file(self, local_id: str) -> str | None:
        """The id of an uploaded input file named for ``local_id`` (a kill after upload), or None."""
        name = file_name(local_id)
        page = self._guard("list files", self._client.files.list, purpose="batch")
        for f in page:
            if getattr(f, "filename", None) == name:
                return str(f.id)
        return None

    def upload(self, local_id: str, data: bytes) -> str:
        f = self._guard("upload", self._once.files.create, file=(file_name(local_id), data, "application/jsonl"),
                        purpose="batch")
        return str(f.id)

    def find_batch(self, local_id: str, *, since: float | None = None) -> str | None:
        """The id of a batch whose metadata carries ``local_id`` (a kill after create), or None.

        Batches are listed newest first; the search stops at the first batch created more than an hour
        before ``since`` (the intent's time, epoch seconds), which this one cannot be."""
        page = self._guard("list batches", self._client.batches.list, limit=100)
        for b in page:
            if (getattr(b, "metadata", None) or {}).get(METADATA_KEY) == local_id:
                return str(b.id)
            if since is not None and (getattr(b, "created_at", None) or since) < since - 3600:
                break
        return None

    def create(self, local_id: str, file_id: str, model: str) -> str:
        b = self._guard("create", self._once.batches.create, input_file_id=file_id, endpoint=ENDPOINT,
                        completion_window="24h", metadata={METADATA_KEY: local_id, "probe_model": model[:500]})
        return str(b.id)

    def cancel(self, batch_id: str) -> None:
        self._guard("cancel", self._client.batches.cancel, batch_id)

    # -- collection -----------------------------------------------------------------------------------
    def poll(self, batch_id: str) -> Poll:
        b = self._guard("retrieve", self._client.batches.retrieve, batch_id)
        counts = b.request_counts
        return Poll(state=str(b.status), done=b.status in DONE,
                    counts={"total": int(getattr(counts, "total", 0) or 0),
                            "completed": int(getattr(counts, "completed", 0) or 0),
                            "failed": int(getattr(counts, "failed", 0) or 0)},
                    handle={"output_file_id": b.output_file_id, "error_file_id": b.error_file_id,
                            "why": _batch_errors(b)})

    def results(self, poll: Poll, kind: str, keys: list[str] | None = None) -> list[LineResult]:
        """Lines of the output (``kind="output"``) or error file; an unreadable line is a result with ``why``."""
        file_id = poll.handle.get(f"{kind}_file_id")
        if not file_id:
            return []
        text = self._guard("download", self._client.files.content, file_id).text
        return [parse_line(line, i + 1, kind) for i, line in enumerate(text.splitlines()) if line.strip()]


def _batch_errors(batch: Any) -> str | None:
    """Why a whole batch failed (validation errors of its input file), if it says."""
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    return "; ".join(f"{getattr(e, 'code', '')}: {getattr(e, 'message', '')}" for e in errors[:3]) or None


def parse_line(line: str, number: int, kind: str) -> LineResult:
    """One output/error-file line as a :class:`LineResult` (``body`` on success, ``why`` otherwise)."""
    try:
        rec = json.loads(line)
        key = rec["custom_id"]
        response = rec.get("response") or {}
        error = rec.get("error")
    except (ValueError, KeyError, TypeError, AttributeError):
        found = _KEY.search(line)
        return LineResult(key=found.group(1) if found else None, line=number, malformed=True,
                          why=f"{kind} file line {number} is not a batch result line: {line[:80]!r}")
    status = response.get("status_code")
    body = response.get("body")
    if error or status != 200 or not isinstance(body, dict):
        if error:
            why = f"{error.get('code')}: {error.get('message')}" if isinstance(error, dict) else str(error)
        else:
            msg = (body or {}).get("error", {}).get("message") if isinstance(body, dict) else None
            why = f"status {status}" + (f": {msg}" if msg else "")
        return LineResult(key=key, line=number, why=why, expired="batch_expired" in why)
    return LineResult(key=key, line=number, body=body)


__all__ = ["MAX_BYTES", "MAX_REQUESTS", "OpenAIBatches", "input_line", "parse_line"]
