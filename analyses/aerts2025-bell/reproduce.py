"""Reproduce the Bell test of Aerts et al. 2025 (arXiv:2511.21731) on any model, or replay it offline.

The paper asked ChatGPT and Gemini the four coincidence questions of "The Animal
Acts" (Aerts & Sozzo 2011) with two prompts ("exploratory", "neutral"), 81
trials each, and reported S without uncertainty or marginal checks. Here each
trial is an independent, stateless request with a shuffled option order, and
every S comes with its SE, 95% interval, test against 2, marginal-selectivity
tests and the Contextuality-by-Default criterion.

    python analyses/aerts2025-bell/reproduce.py                      # replay the shipped cassette (MiniLM), offline
    python analyses/aerts2025-bell/reproduce.py --model gpt-4o --record   # a live study (needs OPENAI_API_KEY)
    python analyses/aerts2025-bell/reproduce.py --human human.csv     # add human counts to the table

Writes ``results.md`` next to this script (or to ``--out``) and one run folder per prompt under ``runs/``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from probe.analysis.bell.chsh import chsh  # noqa: E402
from probe.experiments.bell.counts_file import read_counts_csv  # noqa: E402
from probe.experiments.bell.study import RunOptions, run_bell  # noqa: E402
from probe.experiments.bell.trials import BellSettings  # noqa: E402
from probe.report.format import fmt, fmt_p, markdown_table  # noqa: E402

PROMPTS = {"exploratory (prompt 1)": HERE / "prompt-exploratory.toml", "neutral (prompt 2)": HERE / "prompt-neutral.toml"}
SHIPPED = ROOT / "cassettes" / "aerts2025-bell-embed-minilm.jsonl"
# S values as the paper reports them (methods note bell.md section 2.2); no uncertainty was published.
PAPER = [
    ("humans (Aerts & Sozzo 2011), N = 81", "2.42"),
    ("ChatGPT, prompt 1, 81 trials", "2.25"),
    ("ChatGPT, prompt 2, 81 trials", "3.09"),
    ("Gemini, prompt 1, 81 trials", "2.12"),
    ("Gemini, prompt 2, 81 trials", "4"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embed:minilm")
    ap.add_argument("--trials", type=int, default=81, help="trials per context (81 as in the paper)")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--cassette", type=Path, default=None,
                    help=f"cassette to replay/record (default for embed:minilm: {SHIPPED.relative_to(ROOT)})")
    ap.add_argument("--record", action="store_true", help="call the model for anything not in the cassette")
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--human", type=Path, default=None, help="counts CSV of the human study, if you have it")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "aerts2025-bell")
    args = ap.parse_args()

    cassette = args.cassette or (SHIPPED if args.model == "embed:minilm" else args.runs / "cassette.jsonl")
    mode = "auto" if args.record or not cassette.exists() else "replay"
    rows = []
    for label, prompt in PROMPTS.items():
        settings = BellSettings(model=args.model, prompt=str(prompt), trials=args.trials, seed=args.seed,
                                temperature=args.temperature)
        out = args.runs / f"{prompt.stem}-{args.model.replace(':', '-').replace('/', '-')}"
        options = RunOptions(out=out, cassette=cassette, cassette_mode=mode, base_url=args.base_url, progress=None)
        res = asyncio.run(run_bell(settings, options))
        r = res.result
        rows.append([f"{args.model}, {label}", fmt(r["S"]), fmt(r["S_se"]), f"[{fmt(r['S_ci95'][0])}, "
                     f"{fmt(r['S_ci95'][1])}]", fmt_p(r["p_value"]), fmt(r["p_s_gt_2"]),
                     "holds" if r["marginal_selectivity"]["consistent"] else "fails",
                     fmt(r["cbd"]["cnt1"]), str(r["n_total"]), str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out)])
    if args.human:
        data = read_counts_csv(args.human)
        h = chsh(data.counts, seed=args.seed)
        rows.append(["humans (your file)", fmt(h.S), fmt(h.S_se), f"[{fmt(h.S_ci95[0])}, {fmt(h.S_ci95[1])}]",
                     fmt_p(h.p_value), fmt(h.p_s_gt_2), "holds" if h.marginals_consistent else "fails",
                     fmt(h.cnt1), str(sum(h.n)), str(args.human)])
    header = ["subject", "S", "SE", "95% CI", "p (S > 2)", "P(S > 2 given data)", "marginals", "CNT1", "N", "run"]
    text = [
        "# Aerts et al. 2025, Bell test on \"The Animal Acts\": reproduction",
        "",
        f"Model: `{args.model}`; {args.trials} independent, stateless trials per context; option order shuffled per "
        f"trial (seed {args.seed}); temperature {args.temperature}; cassette "
        f"`{cassette.relative_to(ROOT) if cassette.is_relative_to(ROOT) else cassette}` ({mode}).",
        "",
        markdown_table(header, rows),
        "The paper's own numbers (S only; no SE, test or marginal check was published):",
        "",
        markdown_table(["subject", "S"], PAPER),
        "Notes: the paper ran its 81 LLM trials as batches of 10 'sessions' inside one message, so they were not "
        "independent; here each trial is a fresh request. `embed:minilm` is a sentence-embedding model answering by "
        "a softmax over cosine similarities (tau = 0.05) between the concept and each sentence: a semantic baseline, not a "
        "chat model, and it does not read the instructions, so its two prompt rows differ only by sampling noise. CNT1 > 0 would mean "
        "contextual under Contextuality-by-Default; S > 2 with failing marginals is not evidence of entanglement.",
        "",
    ]
    args.out.write_text("\n".join(text))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
