"""Reproduce the Bell test of Aerts et al. 2025 (arXiv:2511.21731) on any model, or replay it offline.

The paper asked ChatGPT and Gemini the four coincidence questions of "The Animal
Acts" (Aerts & Sozzo 2011) with two prompts ("exploratory", "neutral"), 81
trials each, and reported S without uncertainty or marginal checks. Here each
trial is an independent, stateless request with a shuffled option order, and
every S comes with its SE, 95% interval, test against 2, marginal-selectivity
tests and the Contextuality-by-Default criterion.

    python analyses/aerts2025-bell/reproduce.py                      # replay the shipped cassette (MiniLM), offline
    python analyses/aerts2025-bell/reproduce.py --model hf:gemma-3-270m --exact   # replay the gemma study, offline
    python analyses/aerts2025-bell/reproduce.py --model gpt-4o --record   # a live study (needs OPENAI_API_KEY)
    python analyses/aerts2025-bell/reproduce.py --human human.csv     # add human counts to the table

Writes ``results.md`` (``results-<model>.md`` for other models) next to this script (or to ``--out``) and
one run folder per prompt and mode under ``runs/``. ``--exact`` adds exact mode over all 24 orderings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from probe.analysis.bell.chsh import chsh  # noqa: E402
from probe.api import run_study  # noqa: E402
from probe.errors import DataError  # noqa: E402
from probe.experiments.bell.counts_file import read_counts_csv  # noqa: E402
from probe.experiments.bell.trials import BellSettings  # noqa: E402
from probe.protocol import How  # noqa: E402
from probe.report.format import fmt, fmt_p, markdown_table  # noqa: E402

PROMPTS = {"exploratory (prompt 1)": HERE / "prompt-exploratory.toml", "neutral (prompt 2)": HERE / "prompt-neutral.toml"}
SHIPPED = {"embed:minilm": ROOT / "cassettes" / "aerts2025-bell-embed-minilm.jsonl",
           "hf:gemma-3-270m": ROOT / "cassettes" / "aerts2025-bell-gemma-3-270m.jsonl"}
# S values as the paper reports them (methods note bell.md section 2.2); no uncertainty was published.
PAPER = [
    ("humans (Aerts & Sozzo 2011), N = 81", "2.42"),
    ("ChatGPT, prompt 1, 81 trials", "2.25"),
    ("ChatGPT, prompt 2, 81 trials", "3.09"),
    ("Gemini, prompt 1, 81 trials", "2.12"),
    ("Gemini, prompt 2, 81 trials", "4"),
]


def _ci(ci) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "–"


def _position(r: dict) -> str:
    """Exact mode: the probability of answering the label at each position, averaged over orderings and contexts."""
    probs = r.get("position_probs")
    return " / ".join(fmt(p, 2) for p in probs) if probs else "–"


def _gemma_reading(results: dict) -> str:
    return (
        "Reading (gemma-3-270m). This is a 270M-parameter *base* model (not instruction-tuned), asked in the plain-"
        "text format `...\n\nAnswer:` (see `probe/providers/plain_text.py`). Its sampled answers are mostly not "
        "answers: continuations, list recitals and fragments, counted as invalid and never mapped to an option; "
        "the valid ones and the exact label probabilities are dominated by position bias (the table's last "
        "exact column: P(label at position 1..4), averaged over orderings and contexts), not by the meaning of "
        "the sentences. Averaging over all 24 orderings removes the position effect from the mean distribution, "
        "so the exact S measures what remains: a weak preference among the four sentences, far from the classical "
        "bound 2. The SE over orderings is large because per-ordering S values change sign with the order. "
        "What S does not mean here: nothing about entanglement or quantum structure in the model. Exact "
        "distributions have no sampling error, so marginal selectivity is not given a verdict (Delta is "
        "reported; CbD uses it directly). Sampled and exact S differ also because sampling keeps only the "
        "answers the parser accepts, while exact mode reads the label probabilities whatever else the model "
        "would have written (coverage = the probability mass on the labels)."
    )


READINGS = {"hf:gemma-3-270m": _gemma_reading}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embed:minilm")
    ap.add_argument("--trials", type=int, default=81, help="trials per context (81 as in the paper)")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--n-per-call", type=int, default=1, help="answers per request (they share one ordering)")
    ap.add_argument("--order", choices=("random", "balanced"), default="random")
    ap.add_argument("--cassette", type=Path, default=None,
                    help="cassette to replay/record (default: the shipped one for embed:minilm and hf:gemma-3-270m)")
    ap.add_argument("--exact", action="store_true", help="also run exact mode over all 24 orderings")
    ap.add_argument("--no-sample", action="store_true", help="skip sample mode")
    ap.add_argument("--record", action="store_true", help="call the model for anything not in the cassette")
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--human", type=Path, default=None, help="counts CSV of the human study, if you have it")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "aerts2025-bell")
    args = ap.parse_args()

    slug = args.model.replace(":", "-").replace("/", "-")
    if args.out is None:
        args.out = HERE / ("results.md" if args.model == "embed:minilm" else f"results-{slug}.md")
    cassette = args.cassette or SHIPPED.get(args.model) or args.runs / "cassette.jsonl"
    mode = "auto" if args.record or not cassette.exists() else "replay"
    rows, exact_rows, results = [], [], {}
    modes = ([] if args.no_sample else ["sample"]) + (["exact"] if args.exact else [])
    for label, prompt in PROMPTS.items():
        for study_mode in modes:
            settings = BellSettings(model=args.model, prompt=str(prompt), trials=args.trials, seed=args.seed,
                                    temperature=args.temperature, mode=study_mode,
                                    n_per_call=args.n_per_call if study_mode == "sample" else 1,
                                    order=args.order if study_mode == "sample" else "random",
                                    orders=24 if study_mode == "exact" else 1)
            out = args.runs / f"{prompt.stem}-{slug}" if study_mode == "sample" else \
                args.runs / f"{prompt.stem}-{slug}-exact"
            how = How(out=out, cassette=cassette, cassette_mode=mode, base_url=args.base_url, progress=None)
            try:
                r = run_study("bell", settings, how).result
            except DataError as exc:  # e.g. a context where no answer named an option: say so in the table
                rows.append([f"{args.model}, {label}", "no S", "–", "–", "–", "–", "–", "–", "–",
                             f"{exc.message}"])
                continue
            results[(label, study_mode)] = r
            where = str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out)
            if study_mode == "exact":
                exact_rows.append([f"{args.model}, {label}", fmt(r["S"]), fmt(r["S_se"]), _ci(r["S_ci95"]),
                                   fmt(r["S_order_sd"]), fmt(r["cbd"]["delta"]), fmt(r["cbd"]["cnt1"]),
                                   fmt(r["coverage"]["mean"]), _position(r), where])
                continue
            rows.append([f"{args.model}, {label}", fmt(r["S"]), fmt(r["S_se"]), _ci(r["S_ci95"]),
                         fmt_p(r["p_value"]), fmt(r["p_s_gt_2"]),
                         "holds" if r["marginal_selectivity"]["consistent"] else "fails",
                         fmt(r["cbd"]["cnt1"]), f"{r['n_total']} ({fmt(100 * (r['invalid_rate'] or 0), 1)}% invalid)",
                         where])
    if args.human:
        data = read_counts_csv(args.human)
        h = chsh(data.counts, seed=args.seed)
        rows.append(["humans (your file)", fmt(h.S), fmt(h.S_se), f"[{fmt(h.S_ci95[0])}, {fmt(h.S_ci95[1])}]",
                     fmt_p(h.p_value), fmt(h.p_s_gt_2), "holds" if h.marginals_consistent else "fails",
                     fmt(h.cnt1), str(sum(h.n)), str(args.human)])
    header = ["subject", "S", "SE", "95% CI", "p (S > 2)", "P(S > 2 given data)", "marginals", "CNT1", "N", "run"]
    exact_header = ["subject (exact, 24 orderings)", "S", "SE over orderings", "95% CI", "SD of S_k", "Delta",
                    "CNT1", "mean coverage", "P(label at position 1..4)", "run"]
    text = [
        "# Aerts et al. 2025, Bell test on \"The Animal Acts\": reproduction",
        "",
        f"Model: `{args.model}`; {args.trials} stateless trials per context"
        + (f" in requests of {args.n_per_call} answers" if args.n_per_call > 1 else "")
        + ("; each request one of the 24 orderings in turn (balanced)" if args.order == "balanced" else
           "; option order shuffled per trial")
        + f" (seed {args.seed}); temperature {args.temperature}, top_p 1, top_k off, min_p 0, repeat penalty 1; cassette "
        f"`{cassette.relative_to(ROOT) if cassette.is_relative_to(ROOT) else cassette}` ({mode}).",
        "",
        markdown_table(header, rows) if rows else "",
        markdown_table(exact_header, exact_rows) if exact_rows else "",
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
    if args.model in READINGS:
        text += ["", READINGS[args.model](results)]
    args.out.write_text("\n".join(text))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
