"""Gemini batch mode through the official ``google-genai`` SDK: inline requests, create, find, poll.

Documented limits (checked 2026-12-03 against Gemini's "Batch API" page): inline requests suit
batches whose whole create request stays **under 20 MB** (larger work goes through a JSONL file of
up to 2 GB, not used here: probe splits into several inline batches instead); the target
turnaround is **24 hours**; the price is **50 %** of the standard price
(:data:`probe.pricing.BATCH_DISCOUNT`). Job states (google-genai names): ``JOB_STATE_PENDING``,
``JOB_STATE_RUNNING``, ``JOB_STATE_SUCCEEDED``, ``JOB_STATE_FAILED``, ``JOB_STATE_CANCELLED``,
``JOB_STATE_EXPIRED`` (the REST API spells them ``BATCH_STATE_*``).

SDK calls (google-genai 1.x): ``client.batches.create(model=..., src=[InlinedRequest, ...],
config={"display_name": ...})``, ``client.batches.get(name=...)``, ``client.batches.list(config=
{"page_size": ...})``, ``client.batches.cancel(name=...)``; results are
``job.dest.inlined_responses[i]`` with ``.response`` (a ``GenerateContentResponse``) or ``.error``,
and the request's ``metadata`` echoed back (probe puts the cassette key there). REST paths the SDK
hits: ``POST /v1beta/models/{model}:batchGenerateContent``, ``GET /v1beta/batches/{id}``,
``GET /v1beta/batches``, ``POST /v1beta/batches/{id}:cancel``. Gemini batch jobs carry no free
metadata, so the local id goes into the display name (``probe-<local id>``), which is what a
restarted submitter looks for.
"""

from __future__ import annotations

import json
import os
from typing import Any

from probe.batch.results import LineResult, Poll
from probe.errors import AuthError, MissingDependency, ProviderError

MAX_REQUESTS = 50_000
MAX_BYTES = 20 * 1000 * 1000 - 64 * 1024  # under 20 MB with room for the envelope
DONE = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED")
KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


def display_name(local_id: str) -> str:
    return f"probe-{local_id}"


def input_line(key: str, body: dict[str, Any]) -> bytes:
    """The inline request with its key, as bytes (for the size limit; sent as an ``InlinedRequest``)."""
    return json.dumps({**body, "metadata": {"key": key}}, sort_keys=True, separators=(",", ":")).encode("utf-8")


class GeminiBatches:
    """The batch calls of the Gemini API (or a Gemini-format server at ``base_url``)."""

    provider = "gemini"
    max_requests = MAX_REQUESTS
    max_bytes = MAX_BYTES

    def __init__(self, *, base_url: str | None = None, timeout: float = 60.0) -> None:
        try:
            from google import genai
            from google.genai import errors, types
        except ImportError:
            raise MissingDependency("--batch with gemini: needs google-genai", hint="pip install google-genai") from None
        key = next((os.environ[k] for k in KEY_ENVS if os.environ.get(k)), None)
        if not key:
            if base_url is None:
                raise AuthError("GEMINI_API_KEY (or GOOGLE_API_KEY) is not set", hint="export GEMINI_API_KEY=...")
            key = "not-needed"
        self._types, self._errors = types, errors
        # no SDK retries: a create retried after a lost answer would make a second batch (see submit.advance)
        self._client = genai.Client(api_key=key, http_options=types.HttpOptions(
            base_url=base_url, timeout=int(timeout * 1000), retry_options=types.HttpRetryOptions(attempts=1)))

    def _guard(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._errors.APIError as exc:
            code = int(getattr(exc, "code", 0) or 0)
            if code in (401, 403):
                raise AuthError(f"gemini batch {what}: key rejected ({code})", hint="check GEMINI_API_KEY") from exc
            raise ProviderError(f"gemini batch {what}: rejected ({code}: {exc.message})",
                                hint="run the same command again: submitted batches are found again") from exc
        except Exception as exc:  # transport errors of httpx / aiohttp
            if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2", "aiohttp", "h11", "anyio") or isinstance(exc, OSError):
                raise ProviderError(f"gemini batch {what}: connection failed ({type(exc).__name__})",
                                    hint="run the same command again: submitted batches are found again") from exc
            raise

    # -- submission: inline requests, no upload --------------------------------------------------------
    def find_file(self, local_id: str) -> str | None:
        return None

    def upload(self, local_id: str, data: bytes) -> str:
        return ""  # inline: nothing to upload

    def find_batch(self, local_id: str, *, since: float | None = None) -> str | None:
        """The name of the batch job displayed as ``probe-<local_id>`` (a kill after create), or None.

        Jobs are listed newest first; the search stops after 1,000 jobs."""
        name = display_name(local_id)
        for i, job in enumerate(self._guard("list", self._client.batches.list, config={"page_size": 100})):
            if getattr(job, "display_name", None) == name:
                return str(job.name)
            if i >= 1000:
                break
        return None

    def create_inline(self, local_id: str, model: str, lines: list[tuple[str, dict[str, Any]]]) -> str:
        t = self._types
        src = [t.InlinedRequest.model_validate({**body, "metadata": {"key": key}}) for key, body in lines]
        job = self._guard("create", self._client.batches.create, model=model, src=src,
                          config={"display_name": display_name(local_id)})
        return str(job.name)

    def cancel(self, batch_id: str) -> None:
        self._guard("cancel", self._client.batches.cancel, name=batch_id)

    # -- collection -------------------------------------------------------------------------------------
    def poll(self, batch_id: str) -> Poll:
        job = self._guard("get", self._client.batches.get, name=batch_id)
        state = str(getattr(job.state, "name", job.state))
        responses = list(getattr(job.dest, "inlined_responses", None) or []) if job.dest else []
        stats = getattr(job, "completion_stats", None)
        counts = {"total": len(responses), "completed": sum(1 for r in responses if r.response is not None),
                  "failed": sum(1 for r in responses if r.response is None)}
        if stats is not None and getattr(stats, "successful_count", None) is not None:
            counts["completed"] = int(stats.successful_count)
        return Poll(state=state, done=state in DONE, counts=counts, handle={"responses": responses})

    def results(self, poll: Poll, kind: str, keys: list[str] | None = None) -> list[LineResult]:
        """The inlined responses; one without its key in the metadata takes the key of the request at its
        position when the counts agree (the API documents responses in request order), else it is malformed."""
        if kind != "output":
            return []
        out = []
        responses = poll.handle.get("responses") or []
        by_position = keys is not None and len(keys) == len(responses)
        for i, r in enumerate(responses):
            key = (getattr(r, "metadata", None) or {}).get("key")
            if key is None and by_position and r.response is not None:
                key = keys[i]  # type: ignore[index]
            if key is None:
                out.append(LineResult(key=None, line=i + 1, malformed=True,
                                      why=f"inlined response {i + 1} carries no key in its metadata"))
            elif r.response is not None:
                body = r.response.model_dump(mode="json", exclude={"sdk_http_response"}, exclude_none=True)
                out.append(LineResult(key=key, line=i + 1, body=body))
            else:
                err = r.error
                why = f"{getattr(err, 'code', None)}: {getattr(err, 'message', None)}" if err else "no response"
                out.append(LineResult(key=key, line=i + 1, why=why))
        return out


__all__ = ["MAX_BYTES", "MAX_REQUESTS", "GeminiBatches", "input_line"]
