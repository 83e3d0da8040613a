"""Cassette record/replay and the runner's retries, pacing and budgets, with a local provider."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from probe.cassette import Cassette
from probe.errors import CassetteMiss, ProviderError, RateLimited, RunStopped
from probe.providers.base import BaseProvider, Request, Response, Usage
from probe.runner import Job, Runner


def req(trial: int, text: str = "hi") -> Request:
    return Request(model="fake:m", messages=({"role": "user", "content": text},), trial=trial)


class Scripted(BaseProvider):
    """A provider whose first calls fail as scripted; then it answers 'ok <trial>'."""

    name = "fake"

    def __init__(self, script=()):
        super().__init__("m")
        self.script = list(script)
        self.calls = 0
        self.starts: list[float] = []

    async def generate(self, request):
        self.calls += 1
        self.starts.append(time.monotonic())
        if self.script:
            exc = self.script.pop(0)
            if exc is not None:
                raise exc
        return Response(texts=(f"ok {request.trial}",), model_version="m-1", usage=Usage(10, 2))


def run_jobs(runner, jobs):
    got = []
    asyncio.run(runner.run(jobs, got.append))
    return got


def test_keys_differ_by_trial_and_settings():
    assert req(0).key("fake") != req(1).key("fake")
    assert req(0).key("fake") == req(0).key("fake")
    assert req(0).key("fake") != req(0).key("other")


def test_record_then_replay(tmp_path):
    path = tmp_path / "c.jsonl"
    prov = Scripted()
    got = run_jobs(Runner(prov, Cassette(path, "auto"), provider_name="fake"), [Job(req(i)) for i in range(5)])
    assert prov.calls == 5 and {o.result.texts[0] for o in got} == {f"ok {i}" for i in range(5)}
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == 5 and all(rec["v"] == 1 and rec["model_version"] == "m-1" for rec in lines)
    replay = Runner(None, Cassette(path, "replay"), provider_name="fake")
    again = run_jobs(replay, [Job(req(i)) for i in range(5)])
    assert sorted(o.result.texts for o in again) == sorted(o.result.texts for o in got)
    assert all(o.cached for o in again) and replay.stats.calls == 0
    with pytest.raises(CassetteMiss, match="trial 7"):
        run_jobs(Runner(None, Cassette(path, "replay"), provider_name="fake"), [Job(req(7))])


def test_auto_mode_only_pays_for_missing_calls(tmp_path):
    path = tmp_path / "c.jsonl"
    run_jobs(Runner(Scripted(), Cassette(path), provider_name="fake"), [Job(req(i)) for i in range(3)])
    prov = Scripted()
    run_jobs(Runner(prov, Cassette(path), provider_name="fake"), [Job(req(i)) for i in range(6)])
    assert prov.calls == 3


def test_torn_last_line_is_set_aside(tmp_path):
    path = tmp_path / "c.jsonl"
    run_jobs(Runner(Scripted(), Cassette(path), provider_name="fake"), [Job(req(i)) for i in range(3)])
    with open(path, "ab") as fh:
        fh.write(b'{"v": 1, "key": "abc", "resp')  # a crash mid-write
    cas = Cassette(path)
    assert len(cas) == 3 and cas.stats.torn_tail
    prov = Scripted()
    run_jobs(Runner(prov, cas, provider_name="fake"), [Job(req(i)) for i in range(4)])
    assert prov.calls == 1
    assert all(json.loads(x) for x in path.read_text().splitlines())  # file is clean again
    assert list(tmp_path.glob("c.jsonl.torn-*"))


def test_retries_honour_retry_after_and_count_causes(tmp_path):
    from probe.errors import BadResponse, ProviderUnavailable

    prov = Scripted([RateLimited("429", retry_after=0.3), ProviderUnavailable("server error 500"),
                     BadResponse("bad"), None])
    runner = Runner(prov, Cassette(tmp_path / "c.jsonl"), provider_name="fake", backoff_initial_s=0.01,
                    backoff_max_s=0.02)
    got = run_jobs(runner, [Job(req(0))])
    assert got[0].attempts == 4
    assert got[0].retry_causes == ["rate_limited", "server_error", "bad_response"]
    assert runner.stats.retries == {"rate_limited": 1, "server_error": 1, "bad_response": 1}
    assert prov.starts[1] - prov.starts[0] >= 0.3  # waited for Retry-After
    rec = json.loads((tmp_path / "c.jsonl").read_text())
    assert rec["attempts"] == 4


def test_non_retryable_error_stops_the_run(tmp_path):
    prov = Scripted([ProviderError("400 bad request")])
    with pytest.raises(ProviderError, match="400"):
        run_jobs(Runner(prov, Cassette(tmp_path / "c.jsonl"), provider_name="fake", concurrency=1),
                 [Job(req(i)) for i in range(5)])
    assert prov.calls == 1


def test_rpm_spaces_call_starts(tmp_path):
    prov = Scripted()
    run_jobs(Runner(prov, Cassette(tmp_path / "c.jsonl"), provider_name="fake", rpm=600, concurrency=4),
             [Job(req(i)) for i in range(5)])
    gaps = [b - a for a, b in zip(sorted(prov.starts), sorted(prov.starts)[1:], strict=False)]
    assert min(gaps) >= 0.095  # 600 rpm = one start per 0.1 s


def test_max_calls_stops_cleanly_and_resumes(tmp_path):
    path = tmp_path / "c.jsonl"
    prov = Scripted()
    got: list = []
    with pytest.raises(RunStopped, match="max-calls 4"):
        asyncio.run(Runner(prov, Cassette(path), provider_name="fake", max_calls=4, concurrency=2)
                    .run([Job(req(i)) for i in range(10)], got.append))
    assert prov.calls == 4 and len(got) == 4
    prov2 = Scripted()
    run_jobs(Runner(prov2, Cassette(path), provider_name="fake"), [Job(req(i)) for i in range(10)])
    assert prov2.calls == 6  # nothing paid twice


def test_max_cost_stops_before_overspending(tmp_path):
    from probe.pricing import Price

    price = Price(input=1000.0, output=1000.0)  # 12 tokens -> $0.012 per call
    prov = Scripted()
    runner = Runner(prov, Cassette(tmp_path / "c.jsonl"), provider_name="fake", price=price, max_cost=0.05,
                    concurrency=1)
    with pytest.raises(RunStopped, match="max-cost"):
        run_jobs(runner, [Job(req(i)) for i in range(10)])
    assert runner.stats.cost_usd <= 0.05 + 1e-12
    assert prov.calls == 4


def test_secrets_never_reach_the_cassette(tmp_path, monkeypatch):
    secret = "sk-test-DONOTLEAK-1234567890"
    monkeypatch.setenv("OPENAI_API_KEY", secret)

    class Echo(Scripted):
        async def generate(self, request):
            return Response(texts=(f"your key is {secret}",), raw={"headers": {"Authorization": f"Bearer {secret}"},
                                                                    "echo": secret})

    run_jobs(Runner(Echo(), Cassette(tmp_path / "c.jsonl"), provider_name="fake"), [Job(req(0))])
    text = (tmp_path / "c.jsonl").read_text()
    assert secret not in text and "[REDACTED]" in text
