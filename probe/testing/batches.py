"""Batch endpoints of the loopback server: OpenAI files + batches, Gemini ``batchGenerateContent``.

OpenAI (what ``client.files.*`` and ``client.batches.*`` reach): ``POST /v1/files`` (multipart
``file`` + ``purpose``), ``GET /v1/files``, ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content``,
``POST /v1/batches``, ``GET /v1/batches/{id}``, ``GET /v1/batches`` (newest first),
``POST /v1/batches/{id}/cancel``. Gemini (what ``client.batches.*`` of google-genai reaches):
``POST /v1beta/models/{model}:batchGenerateContent`` (inline requests), ``GET /v1beta/batches/{id}``,
``GET /v1beta/batches``, ``POST /v1beta/batches/{id}:cancel``.

Each request of a batch is answered by the function the server passes in (an :data:`Answer`: the
synchronous routes' ``openai_completion`` / ``gemini_response`` of :mod:`probe.testing.server`),
so a batched study gets the same answers as a synchronous one.

Behaviour per batch comes from :class:`BatchPlan` (``ChatServer(batch_plans=[...])``, one plan per
created batch in order; the last one repeats): ``polls`` retrieves before it is final (the completion
delay, counted in polls so that tests need no clocks), ``expire`` with ``complete_fraction`` (the
share answered before it expired; the rest comes back as ``batch_expired`` errors), ``error_every``
(every k-th request gets a per-line 500 error) and ``malformed_every`` (every k-th output line is
broken JSON). :attr:`BatchStore.billed` counts, per request key, the answers delivered (what the
provider would bill), so a test can assert that nothing was paid twice. ``on_event`` is called
with ``"upload"``, ``"create"``, ``"content"`` *after* the action took effect and *before* the
answer is sent: a test kills the client there to act out a crash between two steps.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

Answer = Callable[[dict[str, Any]], dict[str, Any]]
"""The server's answer to one request body (its synchronous route's function)."""


@dataclass
class BatchPlan:
    """How one batch behaves (see module docstring)."""

    polls: int = 1
    expire: bool = False
    complete_fraction: float = 1.0
    error_every: int = 0
    malformed_every: int = 0


class BatchStore:
    """Files and batches of the loopback server (thread-safe; see module docstring)."""

    def __init__(self, plans: list[BatchPlan] | None = None) -> None:
        self.plans = list(plans or [BatchPlan()])
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.billed: Counter[str] = Counter()
        self.created = 0
        self.uploads = 0
        self.on_event: Callable[[str], None] | None = None
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    def event(self, name: str) -> None:
        if self.on_event is not None:
            self.on_event(name)

    def _plan(self) -> BatchPlan:
        return self.plans[min(self.created - 1, len(self.plans) - 1)]

    # -- OpenAI ---------------------------------------------------------------------------------------
    def upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        fields: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[name] = (part.get_filename(), part.get_payload(decode=True))
        filename, data = fields.get("file", ("upload.jsonl", b""))
        purpose = (fields.get("purpose", (None, b"batch"))[1] or b"").decode()
        with self._lock:
            fid = f"file-{next(self._ids):06d}"
            self.files[fid] = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                               "filename": filename, "purpose": purpose, "status": "processed", "_data": data}
            self.uploads += 1
            return self.file_object(fid)

    def file_object(self, fid: str) -> dict[str, Any]:
        return {k: v for k, v in self.files[fid].items() if not k.startswith("_")}

    def _output_file(self, name: str, lines: list[str]) -> str | None:
        if not lines:
            return None
        fid = f"file-{next(self._ids):06d}"
        data = "".join(line + "\n" for line in lines).encode()
        self.files[fid] = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                           "filename": name, "purpose": "batch_output", "status": "processed", "_data": data}
        return fid

    def create_openai(self, body: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            fid = body.get("input_file_id")
            if fid not in self.files:
                return None
            self.created += 1
            bid = f"batch_{next(self._ids):06d}"
            lines = [json.loads(x) for x in self.files[fid]["_data"].decode().splitlines() if x.strip()]
            now = int(time.time())
            self.batches[bid] = {
                "id": bid, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
                "input_file_id": fid, "completion_window": body.get("completion_window"), "status": "validating",
                "output_file_id": None, "error_file_id": None, "created_at": now, "in_progress_at": None,
                "expires_at": now + 86400, "finalizing_at": None, "completed_at": None, "failed_at": None,
                "expired_at": None, "cancelling_at": None, "cancelled_at": None,
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": body.get("metadata"), "_lines": lines, "_plan": self._plan(), "_polls": 0,
                "_kind": "openai"}
            return self.batch_object(bid)

    def batch_object(self, bid: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[bid].items() if not k.startswith("_")}

    def retrieve_openai(self, answer: Answer, bid: str) -> dict[str, Any] | None:
        with self._lock:
            b = self.batches.get(bid)
            if b is None:
                return None
            b["_polls"] += 1
            if b["status"] in ("validating", "in_progress"):
                if b["_polls"] >= b["_plan"].polls:
                    self._finish_openai(answer, b)
                else:
                    b["status"] = "in_progress"
                    b["in_progress_at"] = b["in_progress_at"] or int(time.time())
            return self.batch_object(bid)

    def _finish_openai(self, answer: Answer, b: dict[str, Any]) -> None:
        plan: BatchPlan = b["_plan"]
        lines = b["_lines"]
        answered = math.ceil(plan.complete_fraction * len(lines)) if plan.expire else len(lines)
        out, err = [], []
        for i, line in enumerate(lines):
            key = line["custom_id"]
            if i >= answered:
                err.append(json.dumps({"id": f"batch_req_{i}", "custom_id": key, "response": None, "error": {
                    "code": "batch_expired", "message": "This request could not be executed before the "
                                                        "completion window expired."}}))
            elif plan.error_every and (i + 1) % plan.error_every == 0:
                err.append(json.dumps({"id": f"batch_req_{i}", "custom_id": key, "response": {
                    "status_code": 500, "request_id": f"req_{i}",
                    "body": {"error": {"message": "The server had an error", "type": "server_error"}}},
                    "error": None}))
            else:
                completion = answer(line["body"])
                self.billed[key] += 1
                text = json.dumps({"id": f"batch_req_{i}", "custom_id": key, "response": {
                    "status_code": 200, "request_id": f"req_{i}", "body": completion}, "error": None})
                if plan.malformed_every and (i + 1) % plan.malformed_every == 0:
                    text = text[: len(text) // 2]  # cut mid-line: not JSON, the key still readable
                out.append(text)
        now = int(time.time())
        b["output_file_id"] = self._output_file(f"{b['id']}_output.jsonl", out)
        b["error_file_id"] = self._output_file(f"{b['id']}_error.jsonl", err)
        b["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}
        b["status"] = "expired" if plan.expire else "completed"
        b["expired_at" if plan.expire else "completed_at"] = now

    def list_openai(self, limit: int) -> dict[str, Any]:
        with self._lock:
            data = [self.batch_object(bid) for bid, b in reversed(self.batches.items()) if b["_kind"] == "openai"]
        data = data[:limit]
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None, "has_more": False}

    def cancel(self, bid: str) -> dict[str, Any] | None:
        with self._lock:
            b = self.batches.get(bid)
            if b is None:
                return None
            if b["_kind"] == "gemini":
                if b["state"] in ("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"):
                    b["state"] = "BATCH_STATE_CANCELLED"
                    b["_output"] = []
                return self.gemini_object(bid)
            if b["status"] in ("validating", "in_progress"):
                b["status"] = "cancelled"
                b["cancelled_at"] = int(time.time())
            return self.batch_object(bid)

    # -- Gemini ---------------------------------------------------------------------------------------
    def create_gemini(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        batch = body.get("batch") or {}
        requests = ((batch.get("inputConfig") or {}).get("requests") or {}).get("requests") or []
        with self._lock:
            self.created += 1
            name = f"batches/{next(self._ids):06d}"
            self.batches[name] = {"_kind": "gemini", "name": name, "displayName": batch.get("displayName"),
                                  "model": model, "state": "BATCH_STATE_PENDING", "_requests": requests,
                                  "_plan": self._plan(), "_polls": 0, "_output": None}
            return self.gemini_object(name)

    def gemini_object(self, name: str) -> dict[str, Any]:
        b = self.batches[name]
        meta: dict[str, Any] = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch",
                                "displayName": b["displayName"], "model": b["model"], "state": b["state"],
                                "createTime": "2026-12-03T00:00:00Z"}
        if b["_output"] is not None:
            meta["output"] = {"inlinedResponses": {"inlinedResponses": b["_output"]}}
        return {"name": name, "metadata": meta, "done": b["_output"] is not None}

    def get_gemini(self, answer: Answer, name: str) -> dict[str, Any] | None:
        with self._lock:
            b = self.batches.get(name)
            if b is None:
                return None
            b["_polls"] += 1
            if b["state"] in ("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"):
                plan: BatchPlan = b["_plan"]
                if b["_polls"] < plan.polls:
                    b["state"] = "BATCH_STATE_RUNNING"
                else:
                    reqs = b["_requests"]
                    answered = math.ceil(plan.complete_fraction * len(reqs)) if plan.expire else len(reqs)
                    out = []
                    for i, r in enumerate(reqs):
                        meta = r.get("metadata")
                        key = (meta or {}).get("key", f"#{i}")
                        if i >= answered:
                            out.append({"error": {"code": 4, "message": "batch expired"}, "metadata": meta})
                        elif plan.error_every and (i + 1) % plan.error_every == 0:
                            out.append({"error": {"code": 13, "message": "internal error"}, "metadata": meta})
                        elif plan.malformed_every and (i + 1) % plan.malformed_every == 0:
                            self.billed[key] += 1
                            out.append({"response": answer(r.get("request") or {})})  # key lost
                        else:
                            self.billed[key] += 1
                            out.append({"response": answer(r.get("request") or {}), "metadata": meta})
                    b["_output"] = out
                    b["state"] = "BATCH_STATE_EXPIRED" if plan.expire else "BATCH_STATE_SUCCEEDED"
            return self.gemini_object(name)

    def list_gemini(self) -> dict[str, Any]:
        with self._lock:
            ops = [self.gemini_object(n) for n, b in reversed(self.batches.items()) if b["_kind"] == "gemini"]
        return {"operations": ops}


__all__ = ["BatchPlan", "BatchStore"]
