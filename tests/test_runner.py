"""The runner's retries, pacing and budgets, with a scripted local provider recorded to a cassette."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from probe.cassette import Cassette, Recorder
from probe.errors import ProviderError, RateLimited, RunStopped
from probe.providers.base import Request, Response, Usage
from probe.runner import Job, Runner
from probe.testing import FakeProvider


def req(trial: int, text: str = "hi") -> Request:
    return Request(model="fake:m", messages=({"role": "user", "content": text},), trial=trial)


def scripted(script=()) -> FakeProvider:
    """A FakeProvider whose first calls fail as scripted; then it answers 'ok <trial>' (start times kept)."""
    script = list(script)
    starts: list[float] = []

    def answer(request):
        starts.append(time.monotonic())
        if script:
            exc = script.pop(0)
            if exc is not None:
                raise exc
        return Response(texts=(f"ok {request.trial}",), model_version="m-1", usage=Usage(10, 2))

    prov = FakeProvider(answer)
    prov.starts = starts
    return prov


def run_jobs(runner, jobs):
    got = []
    asyncio.run(runner.run(jobs, got.append))
    return got


def test_retries_honour_retry_after_and_count_causes(tmp_path):
    from probe.errors import BadResponse, ProviderUnavailable

    prov = scripted([RateLimited("429", retry_after=0.3), ProviderUnavailable("server error 500"),
                     BadResponse("bad"), None])
    runner = Runner(Recorder(prov, Cassette(tmp_path / "c.jsonl")), backoff_initial_s=0.01,
                    backoff_max_s=0.02)
    got = run_jobs(runner, [Job(req(0))])
    assert got[0].attempts == 4
    assert got[0].retry_causes == ["rate_limited", "server_error", "bad_response"]
    assert runner.stats.retries == {"rate_limited": 1, "server_error": 1, "bad_response": 1}
    assert prov.starts[1] - prov.starts[0] >= 0.3  # waited for Retry-After
    rec = json.loads((tmp_path / "c.jsonl").read_text())
    assert rec["attempts"] == 4


def test_non_retryable_error_stops_the_run(tmp_path):
    prov = scripted([ProviderError("400 bad request")])
    with pytest.raises(ProviderError, match="400"):
        run_jobs(Runner(Recorder(prov, Cassette(tmp_path / "c.jsonl")), concurrency=1),
                 [Job(req(i)) for i in range(5)])
    assert prov.calls == 1


def test_rpm_spaces_call_starts(tmp_path):
    prov = scripted()
    run_jobs(Runner(Recorder(prov, Cassette(tmp_path / "c.jsonl")), rpm=600, concurrency=4),
             [Job(req(i)) for i in range(5)])
    gaps = [b - a for a, b in zip(sorted(prov.starts), sorted(prov.starts)[1:], strict=False)]
    assert min(gaps) >= 0.095  # 600 rpm = one start per 0.1 s


def test_max_calls_stops_cleanly_and_resumes(tmp_path):
    path = tmp_path / "c.jsonl"
    prov = scripted()
    got: list = []
    with pytest.raises(RunStopped, match="max_calls = 4"):
        asyncio.run(Runner(Recorder(prov, Cassette(path)), max_calls=4, concurrency=2)
                    .run([Job(req(i)) for i in range(10)], got.append))
    assert prov.calls == 4 and len(got) == 4
    prov2 = scripted()
    run_jobs(Runner(Recorder(prov2, Cassette(path))), [Job(req(i)) for i in range(10)])
    assert prov2.calls == 6  # nothing paid twice


def test_max_cost_stops_before_overspending(tmp_path):
    from probe.pricing import Price

    price = Price(input=1000.0, output=1000.0)  # 12 tokens -> $0.012 per call
    prov = scripted()
    runner = Runner(Recorder(prov, Cassette(tmp_path / "c.jsonl")), price=price, max_cost=0.05,
                    concurrency=1)
    with pytest.raises(RunStopped, match="max_cost"):
        run_jobs(runner, [Job(req(i)) for i in range(10)])
    assert runner.stats.cost_usd <= 0.05 + 1e-12
    assert prov.calls == 4

