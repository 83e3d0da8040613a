"""Throughput of a Bell study against a rate-limited loopback OpenAI-compatible server.

Same work (4 x N sampled answers of "The Animal Acts") through:

(a) probe's runner (asyncio, concurrency, client-side --rpm pacing, Retry-After),
(b) a plain sequential loop over the official openai SDK,
(c) inspect_ai's eval driving the same server (openai provider with model_base_url).

Scenario A: 50 ms latency and a server-side limit of 50 requests/s (429 + Retry-After above it).
Scenario B: 50 ms latency, no server limit (what concurrency buys).
Scenario C: calls needed by exact mode versus sampled mode for the same precision of S.
Scenario D: 429s at random (10 % and 20 % of calls, Retry-After 0.1 s) that do not depend on the rate,
            200 ms latency, the same concurrency for every client; each client's rate against its own
            fault-free rate (issue 12: the goal is >= 80 % for probe).
Scenario E: a limit that changes during the run, 50 -> 20 -> 50 req/s (at 8 s and 16 s after the first
            call), 50 ms latency; answers per second in each phase, from the server's own clock.

Usage: python bench/bell_throughput.py [--quick] [--trials N] [--latency S] [--limit RPS] [--scenarios ABCDE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib
import subprocess

from probe.experiments.bell.study import run
from probe.experiments.bell.trials import BellSettings
from probe.protocol import How


@contextlib.contextmanager
def server(latency: float, limit: float | None = None, *, random_429: float = 0.0, schedule: str = ""):
    """The loopback server in its own process, so that client and server do not share a GIL."""
    cmd = [sys.executable, "-m", "probe.testing", "--latency", str(latency)]
    if limit:
        cmd += ["--max-rps", str(limit)]
    if random_429:
        cmd += ["--fault-rate", str(random_429), "--faults", "429", "--retry-after", "0.1", "--seed", "12"]
    if schedule:
        cmd += ["--limit-schedule", schedule]
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
    """Wall time of the whole study (start-up, calls, analysis, files) and its result (with the run block)."""
    settings = BellSettings(model="openai:loop", trials=trials, n_boot=200, seed=1)
    how = How(out=out, base_url=url, concurrency=concurrency, rpm=rpm, progress=False, report=False, max_attempts=20)
    t0 = time.perf_counter()
    res = run(settings, how)
    return time.perf_counter() - t0, {**res.result, "run": dict(res.run)}


def prompts(trials: int) -> list[str]:
    from probe.experiments.bell.design import load_design
    from probe.experiments.bell.trials import build_jobs
    from probe.providers import parse_model

    jobs = build_jobs(load_design("animal-acts"), parse_model("openai:loop"), BellSettings(trials=trials, seed=1))
    return [j.request.messages[-1]["content"] for j in jobs]


def sequential_sdk(url: str, texts: list[str], *, stop_after_s: float | None = None) -> float:
    """Seconds for the texts, one call at a time (the SDK's own retries honour Retry-After)."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="x", max_retries=10)
    t0 = time.perf_counter()
    for text in texts:
        client.chat.completions.create(model="loop", messages=[{"role": "user", "content": text}], max_tokens=16,
                                       temperature=1.0)
        if stop_after_s is not None and time.perf_counter() - t0 > stop_after_s:
            break
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


def random_429s(args, texts: list[str], work: Path) -> None:
    trials = max(25, len(texts) // 8)
    n, conc, latency = 4 * trials, 8, 0.2  # latency-bound (as real models are), not CPU-bound on a small machine
    repeats = 1 if args.quick else 3
    seq_texts = texts[:100]
    print(f"\n## D. random 429s (Retry-After 0.1 s), {latency * 1000:.0f} ms latency, concurrency {conc}, {n} requests "
          f"(sequential loop: first {len(seq_texts)}); probe: median of {repeats} interleaved runs")
    inspect_name = f"inspect_ai eval (max_connections={conc})"
    rows: dict[str, dict[float, list[float]]] = {name: {} for name in (
        "probe (call phase)", "probe (whole run)", inspect_name, "sequential openai SDK loop")}
    skipped = ""
    for rep in range(repeats):  # interleaved, so that a change in the machine's load hits every column alike
        for share in (0.0, 0.1, 0.2):
            with server(latency, random_429=share) as url:
                t, r = probe_run(url, trials, rpm=None, concurrency=conc, out=work / f"d-{share}-{rep}")
                rows["probe (call phase)"].setdefault(share, []).append(r["run"]["calls"] / r["run"]["elapsed_s"])
                rows["probe (whole run)"].setdefault(share, []).append(n / t)
    for share in (0.0, 0.1, 0.2):
        if not args.skip_inspect:
            with server(latency, random_429=share) as url:
                t = inspect_eval(url, texts[:n], conc)
                if isinstance(t, str):
                    skipped = t
                else:
                    rows[inspect_name].setdefault(share, []).append(n / t)
        with server(latency, random_429=share) as url:
            rows["sequential openai SDK loop"].setdefault(share, []).append(
                len(seq_texts) / sequential_sdk(url, seq_texts))
    print(f"{'client':42s} {'no 429s':>9s} {'10% 429s':>18s} {'20% 429s':>18s}")
    for name, by in rows.items():
        if len(by) < 3:
            print(f"{name:42s} skipped{': ' + skipped if skipped else ''}")
            continue
        med = {k: statistics.median(v) for k, v in by.items()}
        cells = "".join(f" {med[s]:7.1f}/s ({100 * med[s] / med[0.0]:3.0f}%)" for s in (0.1, 0.2))
        print(f"{name:42s} {med[0.0]:7.1f}/s{cells}")


def changing_limit(args, texts: list[str], work: Path) -> None:
    schedule, phases = "0:50,8:20,16:50", ((2, 8, 50), (10, 16, 20), (18, 24, 50))
    trials = 300 if not args.quick else 200
    n = 4 * trials
    print(f"\n## E. a limit that changes: 50 -> 20 -> 50 req/s at 8 s and 16 s, 50 ms latency, {n} requests")
    print("answers/s in each phase (server clock, settling time of 2 s excluded), and % of what was possible:")
    results: dict[str, list[float] | str] = {}

    def phase_rates(url: str) -> list[float]:
        timeline = stats(url)["timeline"]
        return [sum(timeline[a:b]) / (b - a) for a, b, _ in phases]

    with server(0.05) as url:  # what probe reaches on this machine with no limit at all (the CPU may bind first)
        _, r = probe_run(url, trials, rpm=None, concurrency=16, out=work / "e0")
        ceiling = r["run"]["calls"] / r["run"]["elapsed_s"]
    print(f"the limit, or probe's own rate without a limit in this run if lower ({ceiling:.1f}/s)")

    with server(0.05, 50, schedule=schedule) as url:
        probe_run(url, trials, rpm=None, concurrency=16, out=work / "e1")
        results["probe (no --rpm, adaptive)"] = phase_rates(url)
    if not args.skip_inspect:
        with server(0.05, 50, schedule=schedule) as url:
            t = inspect_eval(url, texts[:n], 16)
            results["inspect_ai eval (max_connections=16)"] = t if isinstance(t, str) else phase_rates(url)
    with server(0.05, 50, schedule=schedule) as url:
        sequential_sdk(url, texts[:n], stop_after_s=24.5)
        results["sequential openai SDK loop"] = phase_rates(url)
    print(f"{'client':42s} " + " ".join(f"{f'{a}-{b} s ({lim}/s)':>18s}" for a, b, lim in phases))
    for name, rates in results.items():
        if isinstance(rates, str):
            print(f"{name:42s} skipped: {rates}")
            continue
        cells = (f"{r:7.1f}/s ({100 * r / min(lim, ceiling):3.0f}%)" for r, (_, _, lim) in zip(rates, phases, strict=True))
        print(f"{name:42s} " + " ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="50 trials per context instead of 200")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--limit", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--skip-inspect", action="store_true")
    ap.add_argument("--scenarios", default="ABCDE", help="which scenarios to run (default ABCDE)")
    args = ap.parse_args()
    trials = 50 if args.quick else args.trials
    n = 4 * trials
    texts = prompts(max(trials, 300))
    print(f"# bell throughput  {time.strftime('%Y-%m-%d %H:%M')}  {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}")
    print(f"# {n} requests, server latency {args.latency * 1000:.0f} ms")
    work = Path(tempfile.mkdtemp(prefix="bench-bell-"))
    scenarios = args.scenarios.upper()
    if "A" in scenarios:
        limited(args, trials, texts[:n], work)
    if "B" in scenarios:
        unlimited(args, trials, texts[:n], work)
    if "C" in scenarios:
        exact_vs_sampled(trials, work)
    if "D" in scenarios:
        random_429s(args, texts[:n], work)
    if "E" in scenarios:
        changing_limit(args, texts, work)


def limited(args, trials: int, texts: list[str], work: Path) -> None:
    n = 4 * trials
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


def unlimited(args, trials: int, texts: list[str], work: Path) -> None:
    n = 4 * trials
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


def exact_vs_sampled(trials: int, work: Path) -> None:
    print("\n## C. exact versus sampled mode for the same precision of S")
    with server(0.0) as url:
        settings = BellSettings(model="openai:loop", mode="exact", orders=24, n_boot=200, seed=1)
        exact = run(settings, How(out=work / "c1", base_url=url, progress=False, report=False))
    with server(0.0) as url:
        _, s = probe_run(url, trials, rpm=None, concurrency=32, out=work / "c2")
    target = 0.05
    need = 4 * trials * (s["S_se"] / target) ** 2
    print(f"exact mode, all 24 orderings: S = {exact.result['S']:.4f} exactly, {exact.run['calls']} calls")
    print(f"sampled mode, {trials}/context: S = {s['S']:.4f} ± {s['S_se']:.4f} ({4 * trials} calls); "
          f"SE {target} needs ≈ {need:,.0f} calls ({need / exact.run['calls']:.0f}x the exact-mode calls)")


if __name__ == "__main__":
    main()
