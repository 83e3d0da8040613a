"""Throughput of a Bell study against a rate-limited loopback OpenAI-compatible server.

Same work (4 x N sampled answers of "The Animal Acts") through:

(a) probe's runner (asyncio, concurrency, client-side --rpm pacing, Retry-After),
(b) a plain sequential loop over the official openai SDK,
(c) inspect_ai's eval driving the same server (openai provider with model_base_url).

Scenario A: 50 ms latency and a server-side limit of 50 requests/s (429 + Retry-After above it).
Scenario B: 50 ms latency, no server limit (what concurrency buys).
Then: calls needed by exact mode versus sampled mode for the same precision of S.

Usage: python bench/bell_throughput.py [--quick] [--trials N] [--latency S] [--limit RPS]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib
import subprocess

from probe.experiments.bell.study import RunOptions, run_bell
from probe.experiments.bell.trials import BellSettings


@contextlib.contextmanager
def server(latency: float, limit: float | None = None):
    """The loopback server in its own process, so that client and server do not share a GIL."""
    cmd = [sys.executable, "-m", "probe.testing", "--latency", str(latency)]
    if limit:
        cmd += ["--max-rps", str(limit)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        yield url
    finally:
        proc.terminate()
        proc.wait()


def stats(url: str) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats") as fh:
        return json.load(fh)


def probe_run(url: str, trials: int, *, rpm: float | None, concurrency: int, out: Path) -> tuple[float, dict]:
    """Wall time of the whole study (start-up, calls, analysis, files) and its result."""
    settings = BellSettings(model="openai:loop", trials=trials, n_boot=200, seed=1)
    options = RunOptions(out=out, base_url=url, concurrency=concurrency, rpm=rpm, progress=False, report=False,
                         max_attempts=20)
    t0 = time.perf_counter()
    res = asyncio.run(run_bell(settings, options))
    return time.perf_counter() - t0, res.result


def prompts(trials: int) -> list[str]:
    from probe.experiments.bell.design import load_design
    from probe.experiments.bell.trials import build_jobs
    from probe.providers import parse_model

    jobs = build_jobs(load_design("animal-acts"), parse_model("openai:loop"), BellSettings(trials=trials, seed=1))
    return [j.request.messages[-1]["content"] for j in jobs]


def sequential_sdk(url: str, texts: list[str]) -> float:
    import openai

    client = openai.OpenAI(base_url=url, api_key="x", max_retries=10)
    t0 = time.perf_counter()
    for text in texts:
        client.chat.completions.create(model="loop", messages=[{"role": "user", "content": text}], max_tokens=16,
                                       temperature=1.0)
    return time.perf_counter() - t0


def inspect_eval(url: str, texts: list[str], concurrency: int) -> float | str:
    try:
        from inspect_ai import Task, eval
        from inspect_ai.dataset import Sample
        from inspect_ai.scorer import includes
        from inspect_ai.solver import generate
    except ImportError as exc:
        return f"inspect_ai not installed ({exc})"
    os.environ.setdefault("OPENAI_API_KEY", "x")
    task = Task(dataset=[Sample(input=t, target="1") for t in texts], solver=generate(), scorer=includes())
    with tempfile.TemporaryDirectory() as logs:
        t0 = time.perf_counter()
        eval(task, model="openai/loop", model_base_url=url, model_args={"responses_api": False},
             display="none", log_dir=logs,
             max_connections=concurrency, max_tokens=16, temperature=1.0, log_samples=False)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="50 trials per context instead of 200")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--limit", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--skip-inspect", action="store_true")
    args = ap.parse_args()
    trials = 50 if args.quick else args.trials
    n = 4 * trials
    texts = prompts(trials)
    print(f"# bell throughput  {time.strftime('%Y-%m-%d %H:%M')}  {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"# {n} requests, server latency {args.latency * 1000:.0f} ms")
    work = Path(tempfile.mkdtemp(prefix="bench-bell-"))

    print(f"\n## A. server limit {args.limit:g} req/s")
    rows = {}
    with server(args.latency, args.limit) as url:
        t, r = probe_run(url, trials, rpm=args.limit * 60 * 0.97, concurrency=args.concurrency, out=work / "a1")
        rows["probe (--rpm at 97% of limit)"] = (t, {**r["run"]["retries"], "calls_s": r["run"]["elapsed_s"]})
    with server(args.latency, args.limit) as url:
        t, r = probe_run(url, trials, rpm=None, concurrency=args.concurrency, out=work / "a2")
        rows["probe (no --rpm, adaptive)"] = (t, {**r["run"]["retries"], "calls_s": r["run"]["elapsed_s"]})
    with server(args.latency, args.limit) as url:
        rows["sequential openai SDK loop"] = (sequential_sdk(url, texts), {})
    if not args.skip_inspect:
        with server(args.latency, args.limit) as url:
            t = inspect_eval(url, texts, args.concurrency)
            rows[f"inspect_ai eval (max_connections={args.concurrency})"] = (t, {"429s": stats(url)["faults"]})
    seq = rows["sequential openai SDK loop"][0]
    for name, (t, extra) in rows.items():
        if isinstance(t, str):
            print(f"{name:42s} skipped: {t}")
            continue
        rate = n / t
        print(f"{name:42s} {t:7.2f} s  {rate:6.1f} req/s  {100 * rate / args.limit:5.1f}% of limit  "
              f"{seq / t:5.2f}x sequential  {extra}")

    print("\n## B. no server limit")
    with server(args.latency) as url:
        t_probe, rb = probe_run(url, trials, rpm=None, concurrency=64, out=work / "b1")
    with server(args.latency) as url:
        t_seq = sequential_sdk(url, texts)
    calls = rb["run"]["elapsed_s"]
    print(f"probe (concurrency 64)                     {t_probe:7.2f} s  {n / t_probe:6.1f} req/s  "
          f"(call phase {calls:.2f} s, {n / calls:.1f} req/s)")
    print(f"sequential openai SDK loop                 {t_seq:7.2f} s  {n / t_seq:6.1f} req/s")
    print(f"ratio probe / sequential: {t_seq / t_probe:.1f}x whole run, {t_seq / calls:.1f}x call phase")

    print("\n## C. exact versus sampled mode for the same precision of S")
    with server(0.0) as url:
        settings = BellSettings(model="openai:loop", mode="exact", orders=24, n_boot=200, seed=1)
        exact = asyncio.run(run_bell(settings, RunOptions(out=work / "c1", base_url=url, progress=False,
                                                          report=False)))
    with server(0.0) as url:
        _, s = probe_run(url, trials, rpm=None, concurrency=32, out=work / "c2")
    target = 0.05
    need = 4 * trials * (s["S_se"] / target) ** 2
    print(f"exact mode, all 24 orderings: S = {exact.result['S']:.4f} exactly, {exact.result['run']['calls']} calls")
    print(f"sampled mode, {trials}/context: S = {s['S']:.4f} ± {s['S_se']:.4f} ({4 * trials} calls); "
          f"SE {target} needs ≈ {need:,.0f} calls ({need / exact.result['run']['calls']:.0f}x the exact-mode calls)")


if __name__ == "__main__":
    main()
