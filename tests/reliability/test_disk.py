"""A full disk or a read-only folder gives one clear line and a resumable state, never a corrupt file."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
from pathlib import Path

import pytest

from probe.errors import ProbeError
from probe.io import JsonlWriter, atomic_write_json, read_jsonl
from probe.testing import ChatServer
from tests.helpers import messages

from .conftest import env_with_key, probe_cmd, rows, run_probe

pytestmark = pytest.mark.slow  # subprocesses, servers and kills: the full suite (CI) runs them


def limited(max_bytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    return apply


def args(url: str, out: Path) -> list[str]:
    return ["bell", "--model", "openai:disk", "--base-url", url, "--trials", "25", "--n-boot", "500",
            "--concurrency", "2", "--no-progress", "--out", str(out)]


def test_disk_full_mid_run_is_clean_and_resumable(tmp_path):
    out = tmp_path / "full"
    with ChatServer() as srv:
        proc = subprocess.run(probe_cmd(*args(srv.url, out)), env=env_with_key(PYTHONDONTWRITEBYTECODE="1"),
                              capture_output=True, text=True, timeout=300, preexec_fn=limited(60_000))
        assert proc.returncode == 2, proc.stderr
        err = proc.stderr.strip()
        assert "no space left on device" in err and "resume" in err
        assert "Traceback" not in err and messages(err).count("\n") == 0
        # whatever is on disk parses: no half line anywhere
        for name in ("trials.jsonl", "cassette.jsonl"):
            data = (out / name).read_bytes()
            assert data.endswith(b"\n")
            assert not read_jsonl(out / name).bad_lines
        assert not (out / "result.json").exists()
        saved = len(rows(out / "cassette.jsonl"))
        assert 0 < saved < 100
        again = run_probe(*args(srv.url, out))
        assert again.returncode == 0, again.stderr
        lost_in_flight = sum(1 for v in srv.answered.values() if v > 1)
    assert len({r["key"] for r in rows(out / "trials.jsonl")}) == 100
    assert lost_in_flight <= 2  # at most the calls in flight when the disk filled (concurrency 2)
    (tmp_path.parent / "disk-full.json").write_text(json.dumps({"saved_before": saved, "paid_twice": lost_in_flight}))


def _mount(target: Path, opts: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)],
                          capture_output=True).returncode == 0


def test_tiny_tmpfs_fills_up(tmp_path):
    mnt = tmp_path / "tiny"
    if os.geteuid() != 0 or not _mount(mnt, "size=48k"):
        pytest.skip("cannot mount a tmpfs here (needs root); the RLIMIT_FSIZE test covers the same path")
    try:
        with ChatServer() as srv:
            proc = run_probe(*args(srv.url, mnt / "run"))
        assert proc.returncode == 2 and "no space left on device" in proc.stderr
        assert "Traceback" not in proc.stderr
        for name in ("trials.jsonl", "cassette.jsonl"):
            p = mnt / "run" / name
            if p.exists() and p.stat().st_size:
                assert p.read_bytes().endswith(b"\n") and not read_jsonl(p).bad_lines
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_read_only_output_folder(tmp_path):
    ro = tmp_path / "ro"
    if os.geteuid() == 0:
        if not _mount(ro, "ro,size=64k"):
            pytest.skip("cannot mount a read-only tmpfs here")
    else:
        ro.mkdir()
        ro.chmod(0o555)
    try:
        proc = run_probe("bell", "--model", "sim:quantum", "--trials", "5", "--out", str(ro / "run"))
        assert proc.returncode == 2
        assert "cannot" in proc.stderr and "choose a writable --out" in proc.stderr
        assert "Traceback" not in proc.stderr and messages(proc.stderr).count("\n") == 1
        assert not (ro / "run").exists()
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], capture_output=True)


def test_atomic_write_leaves_old_file_or_new_file(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    atomic_write_json(target, {"S": 1.0})

    def broken_replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ProbeError, match="no space left"):
        atomic_write_json(target, {"S": 2.0})
    assert json.loads(target.read_text()) == {"S": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left behind


def test_failed_append_is_cut_back_to_the_last_full_line(tmp_path, monkeypatch):
    path = tmp_path / "t.jsonl"
    w = JsonlWriter(path)
    w.write({"a": 1})
    real_fsync = os.fsync

    def fail(fd):
        # simulate a write that got half a line onto disk before the device filled up
        with open(path, "ab") as fh:
            fh.write(b'{"a": 2, "half')
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(ProbeError, match="no space left"):
        w.write({"a": 2})
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert read_jsonl(path).records == [{"a": 1}]
    assert not read_jsonl(path).torn_tail
