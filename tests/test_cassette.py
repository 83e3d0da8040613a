"""Cassette record/replay through the Recorder and Replayer provider wrappers."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from probe.cassette import Cassette, Recorder, Replayer
from probe.errors import CassetteMiss
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


def test_keys_differ_by_trial_and_settings():
    assert req(0).key("fake") != req(1).key("fake")
    assert req(0).key("fake") == req(0).key("fake")
    assert req(0).key("fake") != req(0).key("other")


def test_record_then_replay(tmp_path):
    path = tmp_path / "c.jsonl"
    prov = scripted()
    got = run_jobs(Runner(Recorder(prov, Cassette(path, "auto"))), [Job(req(i)) for i in range(5)])
    assert prov.calls == 5 and {o.result.texts[0] for o in got} == {f"ok {i}" for i in range(5)}
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == 5 and all(rec["v"] == 1 and rec["model_version"] == "m-1" for rec in lines)
    replay = Runner(Replayer(Cassette(path, "replay"), name="fake", model="m"))
    again = run_jobs(replay, [Job(req(i)) for i in range(5)])
    assert sorted(o.result.texts for o in again) == sorted(o.result.texts for o in got)
    assert all(o.cached for o in again) and replay.stats.calls == 0
    with pytest.raises(CassetteMiss, match="trial 7"):
        run_jobs(Runner(Replayer(Cassette(path, "replay"), name="fake", model="m")), [Job(req(7))])


def test_auto_mode_only_pays_for_missing_calls(tmp_path):
    path = tmp_path / "c.jsonl"
    run_jobs(Runner(Recorder(scripted(), Cassette(path))), [Job(req(i)) for i in range(3)])
    prov = scripted()
    run_jobs(Runner(Recorder(prov, Cassette(path))), [Job(req(i)) for i in range(6)])
    assert prov.calls == 3


def test_torn_last_line_is_set_aside(tmp_path):
    path = tmp_path / "c.jsonl"
    run_jobs(Runner(Recorder(scripted(), Cassette(path))), [Job(req(i)) for i in range(3)])
    with open(path, "ab") as fh:
        fh.write(b'{"v": 1, "key": "abc", "resp')  # a crash mid-write
    cas = Cassette(path)
    assert len(cas) == 3 and cas.stats.torn_tail
    prov = scripted()
    run_jobs(Runner(Recorder(prov, cas)), [Job(req(i)) for i in range(4)])
    assert prov.calls == 1
    assert all(json.loads(x) for x in path.read_text().splitlines())  # file is clean again
    assert list(tmp_path.glob("c.jsonl.torn-*"))


def test_secrets_never_reach_the_cassette(tmp_path, monkeypatch):
    secret = "sk-test-DONOTLEAK-1234567890"
    monkeypatch.setenv("OPENAI_API_KEY", secret)

    echo = FakeProvider(lambda request: Response(texts=(f"your key is {secret}",),
                                                 raw={"headers": {"Authorization": f"Bearer {secret}"}, "echo": secret}))
    run_jobs(Runner(Recorder(echo, Cassette(tmp_path / "c.jsonl"))), [Job(req(0))])
    text = (tmp_path / "c.jsonl").read_text()
    assert secret not in text and "[REDACTED]" in text
