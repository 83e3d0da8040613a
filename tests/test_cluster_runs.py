"""One run's pieces on a real Dask LocalCluster (2 worker processes): the texts of a words run
(counted on the workers, counts merged here) and the tensors of an entangle run give the numbers
and the counts file of a local run, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from probe.api import call
from probe.cluster import map_tasks, parse_cluster
from probe.errors import ConfigError, DataError
from probe.protocol import How

pytestmark = pytest.mark.slow


def shards(folder: Path, n: int = 4) -> Path:
    """``n`` Zipf-like shards of one corpus, with words (letters only) that differ across shards."""
    rng = np.random.default_rng(3)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, rng.integers(3, 8))) for _ in range(400)])
    folder.mkdir()
    for i in range(n):
        idx = (rng.zipf(1.4, 4000) - 1 + 37 * i) % vocab.size
        (folder / f"shard{i:02d}.txt").write_text(" ".join(vocab[idx]) + "\n")
    return folder


def result_of(folder: Path) -> dict:
    return json.loads((folder / "result.json").read_text())["result"]


def test_words_over_shards_on_a_local_cluster_equals_the_local_run(tmp_path):
    corpus = shards(tmp_path / "corpus")
    settings = {"inputs": (str(corpus),), "n_resamples": 100, "by_file": True, "progress": False, "report": False}
    here = call("words", out=tmp_path / "local", **settings)
    there = call("words", out=tmp_path / "dask", cluster="local:2", **settings)
    assert here.result["n_tokens"] == there.result["n_tokens"] == 16000
    assert result_of(tmp_path / "local") == result_of(tmp_path / "dask")
    a, b = (tmp_path / "local" / "counts.parquet").read_bytes(), (tmp_path / "dask" / "counts.parquet").read_bytes()
    assert a == b  # the same words in the same order with the same counts


def test_an_error_on_a_worker_is_the_one_line_error_here(tmp_path):
    corpus = shards(tmp_path / "corpus", 2)
    (corpus / "shard01.txt").write_bytes(b"caf\xe9 " * 100)  # latin-1, not UTF-8
    with pytest.raises(DataError, match=r"shard01\.txt: byte 3: not valid utf-8"):
        call("words", inputs=(str(corpus),), n_resamples=0, out=tmp_path / "dask", cluster="local:2",
             progress=False, report=False)
    assert not (tmp_path / "dask" / "result.json").exists()


def test_entangle_tensors_on_a_local_cluster_equal_the_local_run(tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(5)
    ckpt = tmp_path / "model.safetensors"
    save_file({f"layer.{i}.weight": rng.standard_normal((16, 32)).astype("float32") for i in range(4)}, str(ckpt))
    settings = {"path": str(ckpt), "baseline_samples": 2, "progress": False, "report": False}
    call("entangle-weights", out=tmp_path / "local", **settings)
    call("entangle-weights", out=tmp_path / "dask", cluster="local:2", **settings)
    a, b = result_of(tmp_path / "local"), result_of(tmp_path / "dask")
    assert len(a["layers"]) == 4
    assert a == b


def test_map_tasks_keeps_the_order_and_reports_each_result():
    seen: list[int] = []
    out = map_tasks("local:2", abs, [-3, 1, -2, 5], on_result=lambda i, r: seen.append(i))
    assert out == [3, 1, 2, 5]
    assert sorted(seen) == [0, 1, 2, 3]


def test_a_bad_cluster_spec_is_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="local:N needs a whole number"):
        How(cluster="local:0").validate()
    assert parse_cluster("tcp://h:8786") == ("address", "tcp://h:8786")
