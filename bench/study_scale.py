"""How a study (``probe study``) scales: API cells sharing one rate limit, compute cells on Dask.

(a) A 20-cell API sweep (20 models x 1 prompt, sampled Bell, 20 calls per cell = 400 calls) against the
    loopback server (its own process, 50 ms latency, an unstated limit of 50 req/s, 429 above it),
    against one cell making the same 400 calls. Rate = calls / time in the call phase (the server's
    seconds in which the server answered; the cells overlap) and calls / whole wall time
    (cell set-up, analysis and files included), as a fraction of the limit; the most answers the server
    gave in one whole second; the server's 429 count; the CPU seconds of this process. The 20-cell study
    with ``--parallel-cells`` 1 (one after another), 4 (the default) and 8. Once with ``--rpm`` at 97 % of
    the limit, once adaptive.
(b) An entangle study over 8 locally built checkpoints (4 matrices of 192 x 384 each, Marchenko-Pastur
    and a 4-sample Gaussian baseline): one process, cell after cell; the same cells on Dask ``local:2``
    (wall with the cluster's start-up, which is reported apart); and cell after cell with the existing
    ``--workers 2`` process pool inside each cell. Results are checked identical across the three. Twice:
    with the BLAS default (every process uses every core) and with one BLAS thread per process (there
    without the pool, whose processes do not inherit an in-process thread limit).
(c) Words over 16 shards of a 200 MB corpus (Zipf-distributed words of letters drawn from 50,000): the
    single-process streaming count (one thread; and two threads, the default of ``probe words``) against
    one task per shard on Dask ``local:2`` (``probe words --cluster local:2``; counts merged here), with
    the cluster's start-up reported apart. Counts are checked identical (same words, same counts, same
    order).

Usage: python bench/study_scale.py [--quick] [--part a|b|c|abc]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probe.sweep.execute import run_study_manifest

LIMIT = 50.0


@contextlib.contextmanager
def server(latency: float, limit: float):
    proc = subprocess.Popen([sys.executable, "-m", "probe.testing", "--latency", str(latency), "--max-rps", str(limit)],
                            stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def stats(url: str) -> dict:
    root = url.rsplit("/v1", 1)[0]
    with urllib.request.urlopen(f"{root}/stats", timeout=10) as r:
        return json.loads(r.read())


def api_sweep(n_cells: int, trials: int, *, rpm: float | None, tmp: Path, parallel: int = 4) -> dict:
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    with server(0.05, LIMIT) as url:
        models = ", ".join(f'"openai:model-{i:02d}"' for i in range(n_cells))
        path = tmp / f"api-{n_cells}-{rpm}.toml"
        path.write_text(f'[study]\nname = "api"\nexperiment = "bell"\n[settings]\ntrials = {trials}\n'
                        f'n_boot = 1000\nbase_url = "{url}"\n[axes]\nmodel = [{models}]\n')
        out = tmp / f"{path.stem}-p{parallel}"
        t0, cpu0 = time.perf_counter(), time.process_time()
        run = run_study_manifest(path, out=out, rpm=rpm, concurrency=16, progress=False, cell_report=False,
                                 parallel_cells=parallel)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        served = stats(url)
    # the call phase: the seconds in which the server answered (cells overlap, so not a sum of theirs); the last,
    # partial second counted by its share of the busiest one
    timeline = served["timeline"]
    peak = max(timeline or [1]) or 1
    call_phase = max(sum(1 for c in timeline[:-1] if c) + timeline[-1] / peak, 1.0) if timeline else wall
    return {"cells": n_cells, "parallel": parallel, "calls": run.calls, "wall_s": wall, "cpu_s": cpu,
            "call_phase_s": call_phase,
            "rate_calls": run.calls / call_phase / LIMIT, "rate_wall": run.calls / wall / LIMIT,
            "peak_per_s": max(timeline[:-1] or timeline or [0]), "429": served["faults"].get("rate_limit", 0)}


def build_checkpoints(folder: Path, n: int, shape: tuple[int, int]) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        save_file({f"layer.{k}.weight": rng.standard_normal(shape).astype("float32") for k in range(4)},
                  str(folder / f"step{i:02d}.safetensors"))


def entangle_study(tmp: Path, n: int, shape: tuple[int, int], *, blas_threads: int | None = None) -> dict:
    """Entangle cells one after another, with the ``--workers 2`` pool, and on Dask ``local:2``.

    ``blas_threads``: BLAS threads everywhere (threadpoolctl here, the environment in the workers);
    ``None`` keeps the library default (all cores in every process)."""
    from threadpoolctl import threadpool_limits

    from probe.sweep.cluster import local_cluster

    folder = tmp / f"blas{blas_threads}"
    build_checkpoints(folder / "ckpts", n, shape)
    path = folder / "entangle.toml"
    path.write_text('[study]\nname = "ckpts"\nexperiment = "entangle-weights"\n[settings]\nbaseline_samples = 4\n'
                    '[axes]\npath = {glob = "ckpts/*.safetensors"}\n')
    out: dict = {}

    def results(where: Path) -> dict:
        return {p.parent.name: json.loads(p.read_text())["result"] for p in where.glob("cells/*/result.json")}

    with threadpool_limits(blas_threads) if blas_threads else contextlib.nullcontext():
        t0 = time.perf_counter()
        run_study_manifest(path, out=folder / "one", progress=False, cell_report=False)
        out["one_process_s"] = time.perf_counter() - t0
        if blas_threads is None:  # the pool's processes do not inherit an in-process threadpoolctl limit
            t0 = time.perf_counter()
            run_study_manifest(path, out=folder / "pool", workers=2, progress=False, cell_report=False)
            out["workers2_pool_s"] = time.perf_counter() - t0
    import distributed

    t0 = time.perf_counter()
    cluster = local_cluster(2, blas_threads=blas_threads)
    out["cluster_start_s"] = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        run_study_manifest(path, out=folder / "dask", cluster=cluster.scheduler_address, progress=False,
                           cell_report=False)
        out["dask_local2_s"] = time.perf_counter() - t1
        client = distributed.Client(cluster)
        mem = client.run(lambda: __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss)
        out["peak_rss_per_worker_mib"] = [round(v / 1024) for v in mem.values()]
        client.close()
    finally:
        cluster.close()
    out["dask_with_start_s"] = out["dask_local2_s"] + out["cluster_start_s"]
    ref = results(folder / "one")
    out["identical_dask"] = ref == results(folder / "dask")
    out["identical_pool"] = ref == results(folder / "pool") if blas_threads is None else None
    return out


def write_shards(folder: Path, total_mb: int, n_shards: int) -> list[Path]:
    """Shards of Zipf-distributed letter words (50,000 types), each about total_mb / n_shards MB."""
    import numpy as np

    rng = np.random.default_rng(11)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    vocab = [bytes(rng.choice(letters, rng.integers(2, 10))) for _ in range(50_000)]
    folder.mkdir()
    paths = []
    per_shard = total_mb * 1_000_000 // n_shards
    for i in range(n_shards):
        idx = (rng.zipf(1.25, per_shard // 6) - 1) % len(vocab)
        data = b" ".join(vocab[j] for j in idx.tolist())
        path = folder / f"shard{i:02d}.txt"
        path.write_bytes(data + b"\n")
        paths.append(path)
    return paths


def words_shards(tmp: Path, total_mb: int, n_shards: int) -> dict:
    from probe.cluster import local_cluster
    from probe.experiments.words.study import count_sources, find_sources, pool_counts
    from probe.experiments.words.tokenizer import TokenizerOptions

    folder = tmp / "corpus"
    write_shards(folder, total_mb, n_shards)
    sources = find_sources((str(folder),), glob="*.txt")
    options = TokenizerOptions()
    out: dict = {}
    pooled = {}
    for label, jobs in (("one_thread_s", 1), ("two_threads_s", 2)):
        t0 = time.perf_counter()
        pooled[label] = pool_counts(count_sources(sources, options, jobs=jobs))
        out[label] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cluster = local_cluster(2)
    out["cluster_start_s"] = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        counted = pool_counts(count_sources(sources, options, cluster=cluster.scheduler_address))
        out["dask_s"] = time.perf_counter() - t0
        import distributed

        with distributed.Client(cluster) as client:
            rss = client.run(lambda: __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss)
        out["peak_rss_per_worker_mib"] = sorted(round(v / 1024) for v in rss.values())
    finally:
        cluster.close()
    ref = pooled["one_thread_s"]
    out["identical"] = (list(ref.items()) == list(counted.items()) == list(pooled["two_threads_s"].items()))
    out["tokens"], out["types"] = sum(ref.values()), len(ref)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    ap.add_argument("--part", choices=("a", "b", "c", "ab", "abc"), default="abc", help="which scenarios to run")
    args = ap.parse_args()
    n_ckpt, shape = (8, (192, 384)) if not args.quick else (4, (128, 256))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "a" in args.part:
            print(f"(a) API sweep against a {LIMIT:g} req/s limit, 50 ms latency")
        for rpm, label in ((LIMIT * 60 * 0.97, "--rpm 97% of limit"), (None, "adaptive (no --rpm)")):
            if "a" not in args.part:
                break
            one = api_sweep(1, 100, rpm=rpm, tmp=tmp)
            runs = [one, *(api_sweep(20, 5, rpm=rpm, tmp=tmp, parallel=p) for p in (1, 4, 8))]
            for r in runs:
                print(f"  {label:22s} {r['cells']:2d} cell(s), {r['parallel']} at once, {r['calls']} calls: call phase "
                      f"{r['rate_calls']:.0%} of limit, whole study {r['rate_wall']:.0%} ({r['wall_s']:.1f} s, "
                      f"{r['cpu_s']:.1f} s CPU in this process), peak {r['peak_per_s']}/s, 429s {r['429']}")
        for blas in (None, 1) if "b" in args.part else ():
            print(f"(b) entangle over {n_ckpt} checkpoints of 4 x {shape[0]}x{shape[1]}, BLAS threads "
                  f"{'default' if blas is None else blas} in every process")
            e = entangle_study(tmp, n_ckpt, shape, blas_threads=blas)
            pool = e.get("workers2_pool_s")
            print(f"  one process {e['one_process_s']:.1f} s; --workers 2 pool "
                  f"{'not run' if pool is None else f'{pool:.1f} s'}; "
                  f"Dask local:2 {e['dask_local2_s']:.1f} s (+ {e['cluster_start_s']:.1f} s cluster start); "
                  f"one/Dask = {e['one_process_s'] / e['dask_local2_s']:.2f}x "
                  f"({e['one_process_s'] / e['dask_with_start_s']:.2f}x with start); "
                  + (f"pool/Dask = {pool / e['dask_local2_s']:.2f}x; " if pool else "") +
                  f"peak RSS per worker {e['peak_rss_per_worker_mib']} MiB; identical to one process: "
                  f"Dask {e['identical_dask']}, pool {e['identical_pool']}")
        if "c" in args.part:
            mb, n_shards = (200, 16) if not args.quick else (40, 8)
            print(f"(c) words over {n_shards} shards of a {mb} MB corpus")
            w = words_shards(tmp, mb, n_shards)
            print(f"  {w['tokens']:,} tokens, {w['types']:,} types; one thread {w['one_thread_s']:.1f} s; "
                  f"two threads {w['two_threads_s']:.1f} s; Dask local:2 {w['dask_s']:.1f} s "
                  f"(+ {w['cluster_start_s']:.1f} s start); one thread / Dask = "
                  f"{w['one_thread_s'] / w['dask_s']:.2f}x, two threads / Dask = {w['two_threads_s'] / w['dask_s']:.2f}x; "
                  f"peak RSS per worker {w['peak_rss_per_worker_mib']} MiB; identical counts {w['identical']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
