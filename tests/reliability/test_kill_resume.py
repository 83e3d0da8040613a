"""Kill -9 at random points, resume, and lose nothing; Ctrl-C exits 130 with the resume command."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from probe.testing import ChatServer
from tests.helpers import read_result

from .conftest import env_with_key, probe_cmd, rows, run_probe, stable

pytestmark = pytest.mark.slow  # subprocesses, servers and kills: the full suite (CI) runs them

TRIALS = 150
CONCURRENCY = 4


def bell_args(url: str, out: Path) -> list[str]:
    return ["bell", "--model", "openai:kill", "--base-url", url, "--trials", str(TRIALS), "--seed", "5",
            "--n-boot", "2000", "--concurrency", str(CONCURRENCY), "--no-progress", "--out", str(out)]


def count_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def test_sigkill_at_random_points_then_resume(tmp_path):
    n = 4 * TRIALS
    with ChatServer(latency_s=0.03) as ref_srv:
        ref = run_probe(*bell_args(ref_srv.url, tmp_path / "ref"))
        assert ref.returncode == 0, ref.stderr
    reference = read_result(tmp_path / "ref")

    out = tmp_path / "killed"
    rng = random.Random(2026)
    kills: list[int] = []  # answers on disk at each kill
    with ChatServer(latency_s=0.03) as srv:
        for _attempt in range(40):
            before = count_lines(out / "trials.jsonl")
            if before >= n:
                break
            proc = subprocess.Popen(probe_cmd(*bell_args(srv.url, out)), env=env_with_key(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # wait until this process has written something new, then kill it at a random moment after
            deadline = time.monotonic() + 60
            while count_lines(out / "trials.jsonl") == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.4))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                after = count_lines(out / "trials.jsonl")
                if before < after < n:
                    kills.append(after)
            if len(kills) >= 12:
                break
        final = run_probe(*bell_args(srv.url, out))
        assert final.returncode == 0, final.stderr
        answered = dict(srv.answered)
    assert len(kills) >= 10, kills

    result = read_result(out)
    assert stable(result) == stable(reference)  # identical to the uninterrupted run
    trial_rows = rows(out / "trials.jsonl")
    keys = [r["key"] for r in trial_rows]
    assert len(keys) == n and len(set(keys)) == n  # no answer lost, none duplicated
    cassette = rows(out / "cassette.jsonl")
    assert len(cassette) == n and {r["key"] for r in cassette} == set(keys)
    # a request can only be paid twice if it was in flight at the moment of a kill
    paid_twice = sum(1 for v in answered.values() if v > 1)
    assert len(answered) == n
    assert paid_twice <= len(kills) * CONCURRENCY
    (tmp_path.parent / "kill-resume.json").write_text(json.dumps(
        {"kill_points": len(kills), "answers_at_kills": kills, "answers": n, "paid_twice": paid_twice,
         "lost": n - len(set(keys)), "duplicated": len(keys) - len(set(keys)),
         "damage": result["run"].get("damage", [])}))


def test_torn_lines_are_set_aside_and_reported(tmp_path):
    out = tmp_path / "torn"
    with ChatServer() as srv:
        args = bell_args(srv.url, out)
        args[args.index("--trials") + 1] = "10"
        first = run_probe(*args, "--max-calls", "20")
        assert first.returncode == 3
        with open(out / "trials.jsonl", "ab") as fh:
            fh.write(b'{"key": "deadbeef", "answer": "2", "va')
        with open(out / "cassette.jsonl", "ab") as fh:
            fh.write(b'{"v": 1, "key": "feedface", "resp')
        second = run_probe(*args)
        assert second.returncode == 0, second.stderr
    assert "trials.jsonl ended in a torn line" in second.stderr
    assert "cassette.jsonl ended in a torn line" in second.stderr
    assert list(out.glob("trials.jsonl.torn-*")) and list(out.glob("cassette.jsonl.torn-*"))
    result = read_result(out)
    assert len(result["run"]["damage"]) == 2
    assert all(json.loads(x) for x in (out / "trials.jsonl").read_text().splitlines())
    assert result["n_total"] + result["invalid_total"] == 40


def test_ctrl_c_exits_130_with_the_resume_command(tmp_path):
    out = tmp_path / "int"
    with ChatServer(latency_s=0.05) as srv:
        args = bell_args(srv.url, out)
        proc = subprocess.Popen(probe_cmd(*args), env=env_with_key(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while count_lines(out / "trials.jsonl") < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted" in err and "resume with: probe bell" in err and str(out) in err
        assert "Traceback" not in err
        saved = count_lines(out / "trials.jsonl")
        assert 20 <= saved < 4 * TRIALS
        # the calls in flight were awaited and recorded: everything the server answered is on disk
        assert len(srv.answered) == count_lines(out / "cassette.jsonl") == saved
        resume = err.split("resume with: ")[1].strip().split()
        assert resume[0] == "probe"
        again = run_probe(*resume[1:])
        assert again.returncode == 0, again.stderr
        assert set(srv.answered.values()) == {1}  # nothing paid twice across the interrupt
    assert count_lines(out / "trials.jsonl") == 4 * TRIALS
