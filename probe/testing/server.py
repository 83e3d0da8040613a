"""A loopback chat server for tests, benchmarks and fault injection.

It speaks enough of two protocols to drive the official SDKs:

* OpenAI chat completions: ``POST /v1/chat/completions`` (``n``, ``seed``,
  ``logprobs``/``top_logprobs``, ``usage``, ``system_fingerprint``);
* Gemini ``generateContent``: ``POST /{version}/models/{model}:generateContent``
  (``candidateCount``, ``responseLogprobs``/``logprobs``, ``usageMetadata``,
  ``modelVersion``), which ``google-genai`` reaches through
  ``HttpOptions(base_url=...)``.

Answers are a deterministic function of the request (messages, seed, answer
index), so a study run through faults gives the same answers as a clean one.
The default respondent picks one of the option labels it finds in the prompt
(lines like ``"2. The Horse Growls"``) with fixed, unequal preferences.

Faults (``FaultPlan``) are drawn per call from a seeded generator or taken
from a script, whatever the request rate: ``429`` (with ``Retry-After``; a
rate-independent 429, as overload or a budget shared with other clients looks
from the client), ``500``, ``502``, ``503``,
``timeout`` (no answer within the client's timeout), ``drop`` (connection closed
mid-body), ``malformed`` (broken JSON), ``empty`` (no choices), ``refusal``,
``wrong_format`` (an answer that is not an option), ``slow`` (answers late),
``echo`` (the reply quotes the request headers, key included), ``echo_error``
(a 400 whose error message quotes them) and ``quota`` (a 429 that is a billing
stop: OpenAI's ``insufficient_quota``, Gemini's quota of 0).
Counters record every call, fault and successful answer per request.

Rate limits, two kinds:

* ``max_rps`` (or ``limit_schedule``, a limit that changes during the run): a
  token bucket that answers 429 (with ``Retry-After``) above the limit and says
  nothing else, as a server that limits without telling;
* ``rpm`` / ``tpm``: request and token budgets per minute that the server
  states, OpenAI-style, with every OpenAI answer and 429
  (``x-ratelimit-limit-requests``, ``-remaining-requests``, ``-reset-requests``
  and the ``-tokens`` three; resets as Go durations like ``1s``, ``6m0s``,
  ``12ms``), and Gemini-style on the Gemini route (a ``RESOURCE_EXHAUSTED``
  429 with ``google.rpc.RetryInfo`` and ``QuotaFailure`` details). A request is
  charged its prompt (characters / 4) plus ``max_tokens`` for every answer
  when admitted and refunded to its real usage after, as OpenAI documents. The
  buckets hold ``burst_s`` seconds of refill (default a minute's worth, which
  is what OpenAI's ``reset`` values imply).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from probe.testing.batches import BatchPlan, BatchStore

FAULTS = ("429", "500", "502", "503", "timeout", "drop", "malformed", "empty", "refusal", "wrong_format", "slow",
          "echo", "echo_error", "quota")
_LABEL_LINE = re.compile(r"^\s*\(?([A-Za-z0-9]{1,3})[.)\]:]\s+\S", re.MULTILINE)
_PREFERENCE = (0.4, 0.3, 0.2, 0.1)


@dataclass
class FaultPlan:
    """Which calls fail and how.

    ``rate`` is the probability that a call gets a fault, drawn from ``kinds``
    with a generator seeded by ``seed``; ``script`` (consumed first) fixes the
    outcome of the first calls (``"ok"`` or a fault name).
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "500", "503")
    seed: int = 0
    script: list[str] = field(default_factory=list)
    retry_after_s: float = 0.05
    timeout_sleep_s: float = 3.0
    slow_s: float = 0.3

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            if self.script:
                return self.script.pop(0)
            if self.rate > 0 and self._rng.random() < self.rate:
                return self._rng.choice(self.kinds)
            return "ok"


def _digest(*parts: Any) -> int:
    return int(hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12], 16)


def default_respondent(prompt: str, seed: Any, index: int) -> tuple[str, dict[str, float]]:
    """Pick a label found in ``prompt``; return (answer, first-token top logprobs)."""
    labels = list(dict.fromkeys(_LABEL_LINE.findall(prompt))) or ["yes", "no"]
    weights = [_PREFERENCE[i % len(_PREFERENCE)] for i in range(len(labels))]
    total = sum(weights)
    probs = [0.9 * w / total for w in weights]  # 10% of the mass goes elsewhere
    rng = random.Random(_digest(prompt, seed, index))
    answer = rng.choices(labels, weights=probs)[0]
    import math

    top = {label: math.log(p) for label, p in zip(labels, probs, strict=True)}
    top["The"] = math.log(0.06)
    top["I"] = math.log(0.04)
    return answer, top


Respondent = Callable[[str, Any, int], tuple[str, dict[str, float]]]


def go_duration(seconds: float) -> str:
    """``12ms``, ``1.5s``, ``6m0s``: durations as OpenAI's rate-limit headers write them."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


class _Budget:
    """A stated per-minute budget: ``limit`` per minute, holding ``burst_s`` seconds of refill."""

    def __init__(self, limit: float, burst_s: float, drained: bool) -> None:
        self.limit, self.rate = limit, limit / 60.0
        self.capacity = max(1.0, self.rate * burst_s)
        self.level, self.t = 0.0 if drained else self.capacity, time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
        self.t = now

    def headers(self, kind: str) -> dict[str, str]:
        return {f"x-ratelimit-limit-{kind}": f"{self.limit:.0f}",
                f"x-ratelimit-remaining-{kind}": f"{max(0.0, self.level):.0f}",
                f"x-ratelimit-reset-{kind}": go_duration(max(0.0, self.capacity - self.level) / self.rate)}


class ChatServer:
    """Start with ``with ChatServer() as srv: srv.url``; stop on exit.

    Parameters
    ----------
    faults : FaultPlan, optional
    latency_s : float
        Added to every answer.
    max_rps : float, optional
        Server-side rate limit (req/s), unstated; calls above it get 429 with Retry-After.
    limit_schedule : list of (float, float), optional
        ``[(t, rps), ...]``: from ``t`` seconds after the first call the limit is ``rps`` (overrides ``max_rps``).
    rpm, tpm : float, optional
        Stated budgets per minute (see module docstring); ``burst_s`` seconds of refill fit in each bucket
        (60: a minute's worth, as OpenAI's headers imply); ``drained`` starts them empty (as if another
        client had just used them up), so that a short run is paced from its first call.
    respondent : callable, optional
        ``(prompt, seed, index) -> (answer, top_logprobs)``.
    batch_plans : list of BatchPlan, optional
        Behaviour of each batch created on the batch endpoints, in order (the last repeats).
    """

    def __init__(self, *, faults: FaultPlan | None = None, latency_s: float = 0.0, max_rps: float | None = None,
                 limit_schedule: list[tuple[float, float]] | None = None, rpm: float | None = None,
                 tpm: float | None = None, burst_s: float = 60.0, drained: bool = False, respondent: Respondent | None = None,
                 model_version: str = "test-model-2026-01-01", port: int = 0,
                 batch_plans: list[BatchPlan] | None = None) -> None:
        self._port = port
        self.batches = BatchStore(batch_plans)
        """OpenAI files/batches and Gemini batch jobs (:mod:`probe.testing.batches`)."""
        self.faults = faults or FaultPlan()
        self.latency_s = latency_s
        self.max_rps = max_rps
        self.limit_schedule = sorted(limit_schedule or [])
        self.budgets = {k: _Budget(v, burst_s, drained) for k, v in (("requests", rpm), ("tokens", tpm)) if v}
        self.respondent = respondent or default_respondent
        self.model_version = model_version
        self.calls = 0
        self.fault_counts: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()  # request digest -> successful answers
        self.headers_seen: list[dict[str, str]] = []
        self.admitted: list[float] = []  # monotonic times of calls that passed the rate limits
        self.answer_times: list[float] = []  # monotonic times of successful answers
        self._lock = threading.Lock()
        self._bucket_t = time.monotonic()
        self._bucket = 0.0
        self._first_call: float | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> ChatServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = _Server(("127.0.0.1", self._port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients (``.../v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root(self) -> str:
        """Base URL for google-genai (``HttpOptions(base_url=...)``)."""
        return f"http://127.0.0.1:{self.port}"

    # -- policy ---------------------------------------------------------------------------------
    def limit_now(self, now: float) -> float | None:
        """The unstated limit (req/s) in force at ``now``."""
        limit = self.max_rps
        if self.limit_schedule and self._first_call is not None:
            for t, rps in self.limit_schedule:
                if now - self._first_call >= t:
                    limit = rps
        return limit

    def _rate_limited(self, now: float) -> bool:  # call with the lock held
        limit = self.limit_now(now)
        if not limit:
            return False
        self._bucket = max(0.0, self._bucket - (now - self._bucket_t) * limit)
        self._bucket_t = now
        if self._bucket + 1 > max(1.0, limit * 0.1):  # burst of 10% of a second's worth
            return True
        self._bucket += 1
        return False

    def _over_budget(self, now: float, tokens: float) -> str | None:  # call with the lock held
        for b in self.budgets.values():
            b.refill(now)
        need = {"requests": 1.0, "tokens": tokens}
        for kind, b in self.budgets.items():
            if b.level < min(need[kind], b.capacity):
                return kind
        for kind, b in self.budgets.items():
            b.level -= need[kind]
        return None

    def decide(self, tokens: float = 0.0) -> tuple[str, str | None]:
        """This call's fate: (fault kind or "ok", the stated budget that refused it or None)."""
        with self._lock:
            now = time.monotonic()
            self.calls += 1
            if self._first_call is None:
                self._first_call = now
                for b in self.budgets.values():
                    b.t = now  # a drained bucket is empty at the first call, not at start-up
            budget = self._over_budget(now, tokens)
            if budget is not None:
                self.fault_counts[f"budget_{budget}"] += 1
                return "429", budget
            if self._rate_limited(now):
                self.fault_counts["rate_limit"] += 1
                return "429", None
            self.admitted.append(now)
        kind = self.faults.next()
        if kind != "ok":
            with self._lock:
                self.fault_counts[kind] += 1
        return kind, None

    def settle_tokens(self, charged: float, used: float) -> None:
        """Refund what an admitted call was charged beyond its real usage."""
        with self._lock:
            if "tokens" in self.budgets:
                self.budgets["tokens"].level += charged - used

    def budget_headers(self) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            out: dict[str, str] = {}
            for kind, b in self.budgets.items():
                b.refill(now)
                out.update(b.headers(kind))
            return out

    def record_answer(self, digest: str) -> None:
        with self._lock:
            self.answered[digest] += 1
            self.answer_times.append(time.monotonic())

    def timeline(self) -> list[int]:
        """Successful answers in each second since the first call."""
        with self._lock:
            if self._first_call is None or not self.answer_times:
                return []
            out = [0] * (int(self.answer_times[-1] - self._first_call) + 1)
            for t in self.answer_times:
                out[int(t - self._first_call)] += 1
            return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections when many clients connect at once


def _prompt_of(messages: list[dict[str, Any]]) -> str:
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        out.append(str(content or ""))
    return "\n".join(out)


class _Handler(BaseHTTPRequestHandler):
    owner: ChatServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        return None

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms per reply
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        # the client gave up (timeout fault): not an error here
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    # -- plumbing -------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": "test", "code": status, "status": str(status)}},
                   headers)

    def do_GET(self) -> None:  # http.server calls it by this name
        srv = self.owner
        if self._batch_route("GET", b""):
            return
        if self.path.rstrip("/") == "/stats":
            timeline = srv.timeline()
            with srv._lock:
                self._json(200, {"calls": srv.calls, "faults": dict(srv.fault_counts), "admitted": len(srv.admitted),
                                 "answered": sum(srv.answered.values()), "distinct": len(srv.answered),
                                 "max_per_request": max(srv.answered.values(), default=0), "timeline": timeline})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:  # http.server calls it by this name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        srv = self.owner
        with srv._lock:
            srv.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        if not raw and "/batches" in self.path and self._batch_route("POST", raw):
            return  # a cancel has no body
        if not raw or len(raw) < length:  # the client died mid-request: nothing to answer
            self.close_connection = True
            return
        if self._batch_route("POST", raw):
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._error(400, "invalid JSON body")
            return
        if self.path.rstrip("/").endswith("/chat/completions"):
            self._openai(body)
        elif ":generateContent" in self.path:
            self._gemini(body)
        else:
            self._error(404, f"no route {self.path}")

    def _batch_route(self, method: str, raw: bytes) -> bool:
        """The files / batches endpoints (:mod:`probe.testing.batches`); False if the path is not one of them."""
        store, srv = self.owner.batches, self.owner
        path, _, query = self.path.partition("?")
        path = path.rstrip("/")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if self._gemini_batch_route(method, raw, path, params):
            return True
        if path.endswith("/v1/files") and method == "POST":
            obj = store.upload(self.headers.get("Content-Type", ""), raw)
            store.event("upload")
            self._json(200, obj)
        elif path.endswith("/v1/files") and method == "GET":
            with store._lock:
                data = [store.file_object(f) for f in store.files
                        if not params.get("purpose") or store.files[f]["purpose"] == params["purpose"]]
            self._json(200, {"object": "list", "data": data, "has_more": False})
        elif "/v1/files/" in path and method == "GET":
            fid = path.split("/v1/files/")[1].split("/")[0]
            if fid not in store.files:
                self._error(404, f"no file {fid}")
            elif path.endswith("/content"):
                store.event("content")
                self._send(200, store.files[fid]["_data"], {"Content-Type": "application/octet-stream"})
            else:
                self._json(200, store.file_object(fid))
        elif path.endswith("/v1/batches") and method == "POST":
            obj = store.create_openai(json.loads(raw))
            if obj is None:
                self._error(400, "input_file_id not found")
                return True
            store.event("create")
            self._json(200, obj)
        elif path.endswith("/v1/batches") and method == "GET":
            self._json(200, store.list_openai(int(params.get("limit", 20))))
        elif "/v1/batches/" in path:
            bid = path.split("/v1/batches/")[1].split("/")[0]
            obj = store.cancel(bid) if path.endswith("/cancel") else store.retrieve_openai(lambda body: openai_completion(srv, body), bid)
            self._json(200, obj) if obj is not None else self._error(404, f"no batch {bid}")
        else:
            return False
        return True

    def _gemini_batch_route(self, method: str, raw: bytes, path: str, params: dict[str, str]) -> bool:
        """google-genai's batch paths (``/{version}/...``; ids without OpenAI's ``batch_`` prefix)."""
        store, srv = self.owner.batches, self.owner
        parts = path.split("/")
        if path.endswith(":batchGenerateContent") and method == "POST":
            model = path.split("/models/")[-1].removesuffix(":batchGenerateContent")
            obj = store.create_gemini(f"models/{model}", json.loads(raw))
            store.event("create")
            self._json(200, obj)
        elif len(parts) >= 2 and parts[-1] == "batches" and method == "GET" and "pageSize" in params:
            self._json(200, store.list_gemini())
        elif len(parts) >= 3 and parts[-2] == "batches" and not parts[-1].startswith("batch_"):
            name = f"batches/{parts[-1].removesuffix(':cancel')}"
            obj = store.cancel(name) if path.endswith(":cancel") else store.get_gemini(lambda body: gemini_response(srv, body), name)
            self._json(200, obj) if obj is not None else self._error(404, f"no batch {name}")
        else:
            return False
        return True

    def _fault(self, kind: str, budget: str | None = None) -> bool:
        """Act out a transport-level fault; True if the request is finished."""
        srv = self.owner
        plan = srv.faults
        if kind == "429" and budget is not None:
            self._budget_429(budget)
        elif kind == "429":
            self._error(429, "rate limited", {"Retry-After": f"{plan.retry_after_s:g}"})
        elif kind == "quota" and ":generateContent" in self.path:
            self._json(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota is 0", "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    {"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaValue": "0"}]}]}})
        elif kind == "quota":
            self._json(429, {"error": {"message": "You exceeded your current quota, please check your plan and billing "
                                                  "details.", "type": "insufficient_quota", "param": None,
                                       "code": "insufficient_quota"}})
        elif kind in ("500", "502", "503"):
            self._error(int(kind), "server error")
        elif kind == "timeout":
            time.sleep(plan.timeout_sleep_s)
            self._error(504, "too late")
        elif kind == "drop":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "400")
            self.end_headers()
            self.wfile.write(b'{"id": "chatcmpl-drop", "choices": [{"ind')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif kind == "echo_error":
            self._error(400, f"bad request; headers were {json.dumps(dict(self.headers))}")
        elif kind == "malformed":
            self._send(200, b'{"id": "x", "choices": [ this is not json')
        else:
            return False
        return True

    def _budget_429(self, kind: str) -> None:
        """A 429 from a stated budget: OpenAI's headers, or Gemini's RESOURCE_EXHAUSTED details."""
        srv = self.owner
        b = srv.budgets[kind]
        if ":generateContent" in self.path:
            wait = max(0.001, (1 - b.level) / b.rate if kind == "requests" else 1.0)
            quota = "GenerateRequestsPerMinutePerProjectPerModel" if kind == "requests" else \
                "GenerateContentInputTokensPerModelPerMinute"
            self._json(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                       "message": f"You exceeded your current quota ({quota}).", "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                 "violations": [{"quotaMetric": f"generativelanguage.googleapis.com/{kind}", "quotaId": quota,
                                 "quotaValue": f"{b.limit:.0f}"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{wait:.3f}s"}]}})
            return
        self._json(429, {"error": {"message": f"Rate limit reached on {kind} per min: Limit {b.limit:.0f}.",
                                   "type": kind, "param": None, "code": "rate_limit_exceeded"}},
                   srv.budget_headers())

    # -- OpenAI ---------------------------------------------------------------------------------------
    def _prelude(self, tokens: float = 0.0) -> str | None:
        """Count the call, act out a transport fault, add latency; the answer-level fault kind, or None if done."""
        srv = self.owner
        kind, budget = srv.decide(tokens)
        if self._fault(kind, budget):
            if kind != "429" and "tokens" in srv.budgets:
                srv.settle_tokens(tokens, 0.0)
            return None
        if srv.latency_s:
            time.sleep(srv.latency_s)
        if kind == "slow":
            time.sleep(srv.faults.slow_s)
        return kind

    def _openai(self, body: dict[str, Any]) -> None:
        srv = self.owner
        prompt = _prompt_of(body.get("messages") or [])
        n = int(body.get("n") or 1)
        charged = len(prompt) // 4 + int(body.get("max_tokens") or body.get("max_completion_tokens") or 16) * n
        kind = self._prelude(charged)
        if kind is None:
            return
        completion = openai_completion(srv, body, kind, headers=dict(self.headers))
        srv.settle_tokens(charged, completion["usage"]["prompt_tokens"] + completion["usage"]["completion_tokens"]
                          if completion["choices"] else 0.0)
        self._json(200, completion, srv.budget_headers())

    # -- Gemini -------------------------------------------------------------------------------------
    def _gemini(self, body: dict[str, Any]) -> None:
        srv = self.owner
        contents = body.get("contents") or []
        prompt = "\n".join(str(p.get("text", "")) for c in contents for p in c.get("parts", []))
        config = body.get("generationConfig") or body.get("generation_config") or {}
        n = int(config.get("candidateCount") or 1)
        charged = len(prompt) // 4 + int(config.get("maxOutputTokens") or 16) * n
        kind = self._prelude(charged)
        if kind is None:
            return
        answer = gemini_response(srv, body, kind, headers=dict(self.headers))
        srv.settle_tokens(charged, 0.0 if kind == "empty" else answer["usageMetadata"]["totalTokenCount"])
        self._json(200, answer)


def openai_completion(srv: ChatServer, body: dict[str, Any], kind: str = "ok",
                      headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The chat completion the server answers ``body`` with (``kind``: an answer-level fault or "ok").

    Shared by the synchronous route and the batch endpoints, so both give the same answers."""
    messages = body.get("messages") or []
    prompt = _prompt_of(messages)
    n = int(body.get("n") or 1)
    seed = body.get("seed")
    digest = hashlib.sha256(json.dumps([messages, seed, n], sort_keys=True).encode()).hexdigest()[:16]
    if kind == "empty":
        return _completion(srv, [], body)
    choices = []
    for i in range(n):
        answer, top = srv.respondent(prompt, seed, i)
        message: dict[str, Any] = {"role": "assistant", "content": answer}
        if kind == "refusal":
            message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
        elif kind == "wrong_format":
            message["content"] = "Honestly, all of them are lovely sentences."
        elif kind == "echo":
            message["content"] = f"{answer} (you sent: {json.dumps(headers or {})})"
        choice: dict[str, Any] = {"index": i, "message": message, "finish_reason": "stop"}
        if body.get("logprobs"):
            k = int(body.get("top_logprobs") or 1)
            items = sorted(top.items(), key=lambda kv: -kv[1])[:k]
            first = message["content"] or ""
            choice["logprobs"] = {"content": [{
                "token": first[:1] or items[0][0], "logprob": top.get(first[:1], items[0][1]), "bytes": None,
                "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in items]}]}
        choices.append(choice)
    srv.record_answer(digest)
    return _completion(srv, choices, body)


def _completion(srv: ChatServer, choices: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{srv.calls}", "object": "chat.completion", "created": int(time.time()),
        "model": srv.model_version, "system_fingerprint": "fp_loopback", "choices": choices,
        "usage": {"prompt_tokens": len(_prompt_of(body.get("messages") or [])) // 4,
                  "completion_tokens": max(1, len(choices)), "total_tokens": 0},
    }


def gemini_response(srv: ChatServer, body: dict[str, Any], kind: str = "ok",
                    headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``GenerateContentResponse`` JSON the server answers ``body`` with (sync route and batches alike)."""
    contents = body.get("contents") or []
    prompt = "\n".join(str(p.get("text", "")) for c in contents for p in c.get("parts", []))
    config = body.get("generationConfig") or body.get("generation_config") or {}
    n = int(config.get("candidateCount") or 1)
    seed = config.get("seed")
    digest = hashlib.sha256(json.dumps([contents, seed, n], sort_keys=True).encode()).hexdigest()[:16]
    usage = {"promptTokenCount": len(prompt) // 4, "candidatesTokenCount": n, "totalTokenCount": len(prompt) // 4 + n}
    if kind == "empty":  # no answer delivered: not counted as answered
        return {"candidates": [], "modelVersion": srv.model_version, "usageMetadata": usage}
    candidates = []
    for i in range(n):
        answer, top = srv.respondent(prompt, seed, i)
        if kind == "wrong_format":
            answer = "Honestly, all of them are lovely sentences."
        elif kind == "echo":
            answer = f"{answer} (you sent: {json.dumps(headers or {})})"
        cand: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": answer}]},
                                "finishReason": "SAFETY" if kind == "refusal" else "STOP", "index": i}
        if kind == "refusal":
            cand["content"] = {"role": "model", "parts": []}
        if config.get("responseLogprobs"):
            k = int(config.get("logprobs") or 1)
            items = sorted(top.items(), key=lambda kv: -kv[1])[:k]
            cand["logprobsResult"] = {
                "topCandidates": [{"candidates": [{"token": t, "logProbability": lp} for t, lp in items]}],
                "chosenCandidates": [{"token": answer[:1], "logProbability": top.get(answer[:1], -1.0)}]}
        candidates.append(cand)
    srv.record_answer(digest)
    return {"candidates": candidates, "modelVersion": srv.model_version, "usageMetadata": usage}


def main(argv: list[str] | None = None) -> None:
    """``python -m probe.testing``: run the loopback server in its own process (prints its base URL)."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    ap.add_argument("--max-rps", type=float, default=None, help="server-side rate limit (429 above it)")
    ap.add_argument("--limit-schedule", default="",
                    help="a changing limit: 't:rps,...' (seconds after the first call: req/s), e.g. 0:50,8:20,16:50")
    ap.add_argument("--rpm", type=float, default=None, help="stated request budget per minute (rate-limit headers)")
    ap.add_argument("--tpm", type=float, default=None, help="stated token budget per minute (rate-limit headers)")
    ap.add_argument("--retry-after", type=float, default=0.05, help="Retry-After of the 429s, seconds")
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="429,500,503", help="comma-separated fault kinds")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    plan = FaultPlan(rate=args.fault_rate, kinds=tuple(k for k in args.faults.split(",") if k), seed=args.seed,
                     retry_after_s=args.retry_after)
    schedule = [(float(t), float(r)) for t, r in (x.split(":") for x in args.limit_schedule.split(",") if x)]
    srv = ChatServer(faults=plan, latency_s=args.latency, max_rps=args.max_rps, limit_schedule=schedule,
                     rpm=args.rpm, tpm=args.tpm, port=args.port).start()
    print(srv.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
