"""SIGKILL of a batch run at each step (after upload, after create, while collecting) loses and repeats nothing.

The loopback server kills the client process right after the step took effect on the server and
before the client hears the answer (``BatchStore.on_event``): the worst moment, with nothing recorded
yet on the client's side. The same command then runs again; the server counts what it billed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from probe.api import run_study
from probe.cassette import Cassette
from probe.experiments.bell.trials import BellSettings
from probe.protocol import How
from probe.testing.batches import BatchPlan
from probe.testing.server import ChatServer
from tests.conftest import CANARY

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _command(url: str, out: Path, model: str = "openai:gpt-4o") -> list[str]:
    return [sys.executable, "-m", "probe", "bell", "--model", model, "--trials", "10", "--seed", "9",
            "--base-url", url, "--out", str(out), "--batch", "--wait", "--poll", "0", "--no-progress"]


def _env() -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": CANARY, "GEMINI_API_KEY": CANARY, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize(("event", "nth", "plans"), [
    ("upload", 1, [BatchPlan()]),
    ("create", 1, [BatchPlan()]),
    # the second download is the error file: the output file's answers are already in the cassette
    ("content", 2, [BatchPlan(error_every=4), BatchPlan()]),
])
def test_sigkill_at_each_step_loses_and_repeats_nothing(tmp_path, event, nth, plans):
    out = tmp_path / "run"
    with ChatServer(batch_plans=plans) as srv:
        seen = {"n": 0}
        proc: list[subprocess.Popen] = []

        def kill(name: str) -> None:
            if name == event:
                seen["n"] += 1
                if seen["n"] == nth and proc:
                    proc[0].send_signal(signal.SIGKILL)
                    proc[0].wait()

        srv.batches.on_event = kill
        proc.append(subprocess.Popen(_command(srv.url, out), env=_env(), cwd=tmp_path,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        proc[0].communicate(timeout=240)
        assert proc[0].returncode == -signal.SIGKILL
        killed_at = {"uploads": srv.batches.uploads, "created": srv.batches.created}
        srv.batches.on_event = None
        again = subprocess.run(_command(srv.url, out), env=_env(), cwd=tmp_path, capture_output=True, text=True,
                               timeout=240)
        assert again.returncode == 0, again.stderr[-2000:]
        assert len(srv.batches.billed) == 40 and set(srv.batches.billed.values()) == {1}  # nothing paid twice
        assert srv.batches.uploads == killed_at["uploads"] + (0 if event != "content" else 1)
        if event in ("upload", "create"):
            assert srv.batches.created == 1  # the batch made before the kill was found, not made again
        sync = run_study("bell", BellSettings(model="openai:gpt-4o", trials=10, seed=9),
                         How(out=tmp_path / "sync", base_url=srv.url, progress=False))
    assert Cassette(out / "cassette.jsonl", "replay").stats.duplicates == 0
    import json

    assert json.loads((out / "result.json").read_text())["result"] == sync.to_json()["result"]
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert CANARY.encode() not in p.read_bytes(), p


def test_gemini_sigkill_after_create_finds_the_job_by_its_display_name(tmp_path):
    out = tmp_path / "run"
    model = "gemini:gemini-2.0-flash"
    with ChatServer(batch_plans=[BatchPlan()]) as srv:
        proc: list[subprocess.Popen] = []

        def kill(name: str) -> None:
            if name == "create" and srv.batches.created == 1 and proc:
                proc[0].send_signal(signal.SIGKILL)
                proc[0].wait()

        srv.batches.on_event = kill
        proc.append(subprocess.Popen(_command(srv.root, out, model), env=_env(), cwd=tmp_path,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        proc[0].communicate(timeout=240)
        assert proc[0].returncode == -signal.SIGKILL
        again = subprocess.run(_command(srv.root, out, model), env=_env(), cwd=tmp_path, capture_output=True,
                               text=True, timeout=240)
        assert again.returncode == 0, again.stderr[-2000:]
        assert srv.batches.created == 1 and len(srv.batches.billed) == 40 and set(srv.batches.billed.values()) == {1}
        sync = run_study("bell", BellSettings(model=model, trials=10, seed=9),
                         How(out=tmp_path / "sync", base_url=srv.root, progress=False))
    import json

    assert json.loads((out / "result.json").read_text())["result"] == sync.to_json()["result"]
