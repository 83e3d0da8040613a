"""Compute-bound cells on a real Dask LocalCluster (2 worker processes): the same numbers as a local run,
and a cell whose worker is killed completes after Dask retries it."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from probe.errors import ConfigError
from probe.sweep.cluster import parse_cluster
from probe.sweep.execute import run_study_manifest

pytestmark = pytest.mark.slow


def build(tmp_path: Path) -> Path:
    """Three tiny checkpoints, two texts, and a manifest: entangle over the checkpoints + words over each text."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(7)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for i in range(3):
        save_file({"layer.0.weight": rng.standard_normal((16, 16)).astype("float32"),
                   "layer.1.weight": rng.standard_normal((8, 32)).astype("float32")},
                  str(ckpts / f"step{i}.safetensors"))
    words = ["the", "of", "cat", "dog", "sun", "a", "b", "c", "dd", "ee", "ff", "gg"]
    p = np.array([30, 20, 10, 9, 8, 7, 5, 4, 3, 2, 1, 1], float)
    for i in range(2):
        (tmp_path / f"text{i}.txt").write_text(" ".join(rng.choice(words, 2500, p=p / p.sum())))
    manifest = tmp_path / "m.toml"
    manifest.write_text('[study]\nname = "compute"\nexperiment = "entangle-weights"\n\n[settings]\n'
                        'baseline_samples = 2\n\n[axes]\npath = {glob = "ckpts/*.safetensors"}\n\n'
                        '[[cells]]\nexperiment = "words"\ninputs = ["text0.txt"]\nn_resamples = 200\n\n'
                        '[[cells]]\nexperiment = "words"\ninputs = ["text1.txt"]\nn_resamples = 200\n')
    return manifest


def results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text())["result"] for p in sorted(out.glob("cells/*/result.json"))}


def test_local_cluster_gives_the_numbers_of_a_local_run(tmp_path):
    manifest = build(tmp_path)
    here = run_study_manifest(manifest, out=tmp_path / "local", progress=False, cell_report=False)
    there = run_study_manifest(manifest, out=tmp_path / "dask", cluster="local:2", progress=False,
                               cell_report=False)
    assert [there.states[c.id].state for c in there.cells] == ["done"] * 5
    assert len(here.cells) == 5
    a, b = results(tmp_path / "local"), results(tmp_path / "dask")
    assert set(a) == set(b) and len(a) == 5
    assert a == b  # every number of every cell (entangle profiles, BE/MB fits with their bootstraps)
    assert (tmp_path / "dask" / "study.parquet").is_file()


def test_a_killed_worker_cell_completes_after_retry(tmp_path):
    import distributed

    manifest = build(tmp_path)
    reference = tmp_path / "local"
    run_study_manifest(manifest, out=reference, progress=False, cell_report=False)
    cluster = distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None)
    watcher = distributed.Client(cluster)
    killed: list[int] = []

    def kill_first_busy_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = {w: tasks for w, tasks in watcher.processing().items() if tasks}
            if busy:
                time.sleep(0.3)  # let the cell start its work
                worker = next(iter(busy))
                pid = watcher.run(os.getpid, workers=[worker])[worker]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=kill_first_busy_worker, daemon=True)
    thread.start()
    try:
        run = run_study_manifest(manifest, out=tmp_path / "dask", cluster=cluster.scheduler_address, retries=3,
                                 progress=False, cell_report=False)
    finally:
        thread.join(timeout=5)
        watcher.close()
        cluster.close()
    assert killed, "no worker was killed"
    assert [run.states[c.id].state for c in run.cells] == ["done"] * 5
    assert results(tmp_path / "dask") == results(reference)


@pytest.mark.parametrize("spec", ["local:0", "local:x", "nonsense"])
def test_bad_cluster_spec_is_one_line(spec):
    with pytest.raises(ConfigError, match="--cluster"):
        parse_cluster(spec)
