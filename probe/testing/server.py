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
from a script: ``429`` (with ``Retry-After``), ``500``, ``502``, ``503``,
``timeout`` (no answer within the client's timeout), ``drop`` (connection closed
mid-body), ``malformed`` (broken JSON), ``empty`` (no choices), ``refusal``,
``wrong_format`` (an answer that is not an option), ``slow`` (answers late),
``echo`` (the reply quotes the request headers, key included) and ``echo_error``
(a 400 whose error message quotes them).
Counters record every call, fault and successful answer per request.
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

FAULTS = ("429", "500", "502", "503", "timeout", "drop", "malformed", "empty", "refusal", "wrong_format", "slow",
          "echo", "echo_error")
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


class ChatServer:
    """Start with ``with ChatServer() as srv: srv.url``; stop on exit.

    Parameters
    ----------
    faults : FaultPlan, optional
    latency_s : float
        Added to every answer.
    max_rps : float, optional
        Server-side rate limit; calls above it get 429 with Retry-After.
    respondent : callable, optional
        ``(prompt, seed, index) -> (answer, top_logprobs)``.
    """

    def __init__(self, *, faults: FaultPlan | None = None, latency_s: float = 0.0, max_rps: float | None = None,
                 respondent: Respondent | None = None, model_version: str = "test-model-2026-01-01",
                 port: int = 0) -> None:
        self._port = port
        self.faults = faults or FaultPlan()
        self.latency_s = latency_s
        self.max_rps = max_rps
        self.respondent = respondent or default_respondent
        self.model_version = model_version
        self.calls = 0
        self.fault_counts: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()  # request digest -> successful answers
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._bucket_t = time.monotonic()
        self._bucket = 0.0
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
    def _rate_limited(self) -> bool:
        if not self.max_rps:
            return False
        with self._lock:
            now = time.monotonic()
            self._bucket = max(0.0, self._bucket - (now - self._bucket_t) * self.max_rps)
            self._bucket_t = now
            if self._bucket + 1 > max(1.0, self.max_rps * 0.1):  # burst of 10% of a second's worth
                return True
            self._bucket += 1
            return False

    def decide(self) -> str:
        with self._lock:
            self.calls += 1
        if self._rate_limited():
            with self._lock:
                self.fault_counts["rate_limit"] += 1
            return "429"
        kind = self.faults.next()
        if kind != "ok":
            with self._lock:
                self.fault_counts[kind] += 1
        return kind

    def record_answer(self, digest: str) -> None:
        with self._lock:
            self.answered[digest] += 1


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
        if self.path.rstrip("/") == "/stats":
            with srv._lock:
                self._json(200, {"calls": srv.calls, "faults": dict(srv.fault_counts),
                                 "answered": sum(srv.answered.values()), "distinct": len(srv.answered),
                                 "max_per_request": max(srv.answered.values(), default=0)})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:  # http.server calls it by this name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        srv = self.owner
        with srv._lock:
            srv.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        if not raw or len(raw) < length:  # the client died mid-request: nothing to answer
            self.close_connection = True
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

    def _fault(self, kind: str) -> bool:
        """Act out a transport-level fault; True if the request is finished."""
        srv = self.owner
        plan = srv.faults
        if kind == "429":
            self._error(429, "rate limited", {"Retry-After": f"{plan.retry_after_s:g}"})
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

    # -- OpenAI ---------------------------------------------------------------------------------------
    def _prelude(self) -> str | None:
        """Count the call, act out a transport fault, add latency; the answer-level fault kind, or None if done."""
        srv = self.owner
        kind = srv.decide()
        if self._fault(kind):
            return None
        if srv.latency_s:
            time.sleep(srv.latency_s)
        if kind == "slow":
            time.sleep(srv.faults.slow_s)
        return kind

    def _openai(self, body: dict[str, Any]) -> None:
        srv = self.owner
        kind = self._prelude()
        if kind is None:
            return
        messages = body.get("messages") or []
        prompt = _prompt_of(messages)
        n = int(body.get("n") or 1)
        seed = body.get("seed")
        digest = hashlib.sha256(json.dumps([messages, seed, n], sort_keys=True).encode()).hexdigest()[:16]
        if kind == "empty":
            self._json(200, self._completion([], body))
            return
        choices = []
        for i in range(n):
            answer, top = srv.respondent(prompt, seed, i)
            message: dict[str, Any] = {"role": "assistant", "content": answer}
            if kind == "refusal":
                message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
            elif kind == "wrong_format":
                message["content"] = "Honestly, all of them are lovely sentences."
            elif kind == "echo":
                message["content"] = f"{answer} (you sent: {json.dumps(dict(self.headers))})"
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
        self._json(200, self._completion(choices, body))

    def _completion(self, choices: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{self.owner.calls}", "object": "chat.completion", "created": int(time.time()),
            "model": self.owner.model_version, "system_fingerprint": "fp_loopback", "choices": choices,
            "usage": {"prompt_tokens": len(_prompt_of(body.get("messages") or [])) // 4,
                      "completion_tokens": max(1, len(choices)), "total_tokens": 0},
        }

    # -- Gemini -------------------------------------------------------------------------------------
    def _gemini(self, body: dict[str, Any]) -> None:
        srv = self.owner
        kind = self._prelude()
        if kind is None:
            return
        contents = body.get("contents") or []
        prompt = "\n".join(str(p.get("text", "")) for c in contents for p in c.get("parts", []))
        config = body.get("generationConfig") or body.get("generation_config") or {}
        n = int(config.get("candidateCount") or 1)
        seed = config.get("seed")
        digest = hashlib.sha256(json.dumps([contents, seed, n], sort_keys=True).encode()).hexdigest()[:16]
        usage = {"promptTokenCount": len(prompt) // 4, "candidatesTokenCount": n, "totalTokenCount": len(prompt) // 4 + n}
        if kind == "empty":  # no answer delivered: not counted as answered
            self._json(200, {"candidates": [], "modelVersion": srv.model_version, "usageMetadata": usage})
            return
        candidates = []
        for i in range(n):
            answer, top = srv.respondent(prompt, seed, i)
            if kind == "wrong_format":
                answer = "Honestly, all of them are lovely sentences."
            elif kind == "echo":
                answer = f"{answer} (you sent: {json.dumps(dict(self.headers))})"
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
        self._json(200, {"candidates": candidates, "modelVersion": srv.model_version, "usageMetadata": usage})


def main(argv: list[str] | None = None) -> None:
    """``python -m probe.testing``: run the loopback server in its own process (prints its base URL)."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    ap.add_argument("--max-rps", type=float, default=None, help="server-side rate limit (429 above it)")
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="429,500,503", help="comma-separated fault kinds")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    plan = FaultPlan(rate=args.fault_rate, kinds=tuple(k for k in args.faults.split(",") if k), seed=args.seed)
    srv = ChatServer(faults=plan, latency_s=args.latency, max_rps=args.max_rps, port=args.port).start()
    print(srv.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
