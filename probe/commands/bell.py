"""``probe bell``: a CHSH test on a conceptual combination, asked of any model or fed with counts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bell", help="CHSH / Bell test on a conceptual combination",
        description="Ask a model the four coincidence experiments of a conceptual combination "
                    "(default: 'The Animal Acts') and compute CHSH statistics; or analyse counts from people.",
    )
    what = p.add_argument_group("what to ask")
    what.add_argument("--model", default="embed:minilm",
                      help="model spec: gpt-4o, gemini-2.0-flash, openai:NAME, gemini:NAME, hf:PATH, embed:minilm, "
                           "sim:quantum ... (default: embed:minilm, offline)")
    what.add_argument("--prompt", default="animal-acts",
                      help="experiment definition: a .toml path or a shipped name (animal-acts, vehicle-moves, "
                           "instrument-sounds)")
    what.add_argument("--mode", choices=("sample", "exact"), default="sample",
                      help="sample answers, or read exact answer probabilities (logprobs/likelihoods)")
    what.add_argument("--trials", type=int, default=100, help="answers per context in sample mode (default 100)")
    what.add_argument("--seed", type=int, default=0, help="seed for option orders, per-trial seeds and statistics")
    what.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    what.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default 1 = off)")
    what.add_argument("--top-k", type=int, default=0, help="sample from the k most likely tokens (default 0 = off; "
                      "sent to servers that accept it)")
    what.add_argument("--min-p", type=float, default=0.0, help="min-p sampling (default 0 = off; llama.cpp, vLLM, hf:)")
    what.add_argument("--repeat-penalty", type=float, default=1.0,
                      help="repetition penalty (default 1 = off; llama.cpp, vLLM, hf:)")
    what.add_argument("--max-tokens", type=int, default=16, help="cap on answer length in tokens (default 16)")
    what.add_argument("--n-per-call", type=int, default=1,
                      help="answers per request (OpenAI n / Gemini candidate_count); they share one option order")
    what.add_argument("--order", choices=("random", "balanced"), default="random",
                      help="option order: shuffled per trial, or cycling through all 24 orderings")
    what.add_argument("--orders", type=int, default=1, help="exact mode: orderings per context, 1-24 (default 1)")
    what.add_argument("--counts", type=Path, default=None,
                      help="analyse a CSV of counts (experiment,a,b,count[,respondent]) instead of asking a model")
    ctx = p.add_argument_group("contextuality beyond CHSH")
    ctx.add_argument("--contexts", default=None, metavar="cyclic:N", help="with --counts: a cyclic system of rank N")
    ctx.add_argument("--system", default=None, metavar="FILE", help="with --counts: a general system (e.g. peres-mermin)")
    ctx.add_argument("--audit", action="store_true", help="null respondents through the design with the same N")
    ctx.add_argument("--temperatures", default=None, metavar="LO..HI:N", help="exact mode: S(T) from the exact pass")
    ctx.add_argument("--versus-human", type=Path, default=None, metavar="CSV",
                     help="exact mode: log-likelihood of these human counts under the model")
    how = p.add_argument_group("how to run")
    how.add_argument("--out", type=Path, default=None, help="run folder (default runs/bell-<model>-<time>); "
                     "the same --out resumes an interrupted run")
    how.add_argument("--cassette", type=Path, default=None,
                     help="cassette file to record to / replay from (default: <out>/cassette.jsonl)")
    rec = how.add_mutually_exclusive_group()
    rec.add_argument("--replay", action="store_true", help="replay only: never call a model (no key needed)")
    rec.add_argument("--record", action="store_true", help="call the model for every request, even if recorded")
    how.add_argument("--base-url", default=None, help="OpenAI-compatible server for openai: models "
                     "(vLLM, llama.cpp, Ollama), or a Gemini endpoint for gemini:")
    how.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    how.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    how.add_argument("--rpm", type=float, default=None, help="client-side limit, requests per minute")
    how.add_argument("--max-attempts", type=int, default=6, help="attempts per request incl. retries (default 6)")
    how.add_argument("--max-calls", type=int, default=None, help="stop (resumably) after this many paid calls")
    how.add_argument("--max-cost", type=float, default=None, help="stop (resumably) before spending more USD")
    how.add_argument("--prices", type=Path, default=None, help="price table TOML (default: probe/prices.toml)")
    how.add_argument("--n-boot", type=int, default=10_000, help="bootstrap / posterior draws (default 10000)")
    how.add_argument("--prior", type=float, default=1.0, help="Dirichlet prior per cell: 1 uniform, 0.5 Jeffreys")
    how.add_argument("--minus-on", default="AB", help="with --counts: context carrying the minus sign (default AB)")
    how.add_argument("--no-progress", action="store_true", help="no progress bar")
    how.add_argument("--dry-run", action="store_true",
                     help="print the calls, tokens and cost range the run would need, and exit (calls nothing)")
    add_batch_flags(how)
    p.set_defaults(func=run)


def add_batch_flags(group: Any) -> None:
    """--batch / --wait / --poll, shared by the commands that ask an API model (bell, words --generate)."""
    group.add_argument("--batch", action="store_true",
                       help="send the calls as provider batch jobs (OpenAI, Gemini: half price, done within 24 h); "
                            "prints the batch ids and exits; the same command again collects and resubmits")
    group.add_argument("--wait", action="store_true", help="with --batch: poll until every answer is in")
    group.add_argument("--poll", type=float, default=30.0, metavar="S",
                       help="with --batch --wait: seconds between polls (default 30)")


def how_from_args(args: argparse.Namespace) -> Any:
    """The shared How of model studies from the 'how to run' flags (bell, words --generate)."""
    from probe.protocol import How

    return How(out=args.out, cassette=args.cassette,
               cassette_mode="replay" if args.replay else "record" if args.record else "auto",
               base_url=args.base_url, timeout_s=args.timeout, concurrency=args.concurrency, rpm=args.rpm,
               max_attempts=getattr(args, "max_attempts", 6), max_calls=args.max_calls, max_cost=args.max_cost,
               prices=getattr(args, "prices", None), progress=False if args.no_progress else None,
               batch=getattr(args, "batch", False), batch_wait=getattr(args, "wait", False),
               batch_poll_s=getattr(args, "poll", 30.0))


def settings_from_args(args: argparse.Namespace) -> Any:
    from probe.experiments.bell.trials import BellSettings

    return BellSettings(
        model=args.model, prompt=args.prompt, mode=args.mode, trials=args.trials, seed=args.seed,
        temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, min_p=args.min_p,
        repeat_penalty=args.repeat_penalty, max_tokens=args.max_tokens, n_per_call=args.n_per_call,
        order=args.order, orders=args.orders, n_boot=args.n_boot, prior=args.prior,
    )


def _print_summary(res: Any) -> None:
    """The main result in a few lines, each claim with the interval that licenses it."""
    from probe.report.format import fmt, fmt_estimate, p_eq

    r = res.result
    line = (f"S = {fmt_estimate(r.get('S'), r.get('S_se'))}" if r.get("S") is not None
            else f"s_odd = {fmt(r.get('S_odd'))}")
    if r.get("S_ci95"):
        line += f", 95% CI [{fmt(r['S_ci95'][0])}, {fmt(r['S_ci95'][1])}]"
    if r.get("n_total"):
        line += f", N = {r['n_total']}"
    if r.get("p_value") is not None:
        line += f"; one-sided p-value (S > 2) {p_eq(r['p_value'])}, P(S > 2 | data) = {fmt(r.get('p_s_gt_2'))}"
    print(line)
    for key in ("S", "cbd", "marginal_selectivity"):
        verdict = (r.get("verdicts") or {}).get(key)
        if verdict:
            print(f"  {verdict['text']}")
    print(f"run folder: {res.path}  (report.md, result.json)")


def _extras(res: Any, args: argparse.Namespace) -> None:
    """--audit / --temperatures / --versus-human on the finished run folder, then its report again."""
    if args.audit or args.temperatures or args.versus_human is not None:
        from probe.experiments.bell.contextuality_study import add_extras
        from probe.report import render_run

        for line in add_extras(res.path, audit=args.audit, temperatures=args.temperatures,
                               versus_human=args.versus_human, seed=args.seed):
            print(line, file=sys.stderr)
        render_run(res.path)


def run(args: argparse.Namespace) -> int:
    from probe.api import run_study
    from probe.commands.printing import print_batch_pending, print_plan
    from probe.errors import BatchPending, ProviderError, RunStopped
    from probe.experiments.bell.contextuality_study import check_extras

    check_extras(counts=args.counts, contexts=args.contexts, system=args.system, mode=args.mode, audit=args.audit,
                 temperatures=args.temperatures, versus_human=args.versus_human)
    if args.counts is not None:
        from probe.experiments.bell.counts_study import BellCountsSettings
        from probe.protocol import How

        settings = BellCountsSettings(counts=args.counts, minus_on=args.minus_on, n_boot=args.n_boot,
                                      prior=args.prior, seed=args.seed, contexts=args.contexts, system=args.system)
        res = run_study("bell-counts", settings, How(out=args.out))
        _extras(res, args)
        _print_summary(res)
        return 0
    from probe.experiments.bell.study import plan, resume_command
    from probe.providers import parse_model
    from probe.runs import default_run_dir

    settings = settings_from_args(args)
    how = how_from_args(args)
    if args.dry_run:
        print_plan(plan(settings, how))
        return 0
    out = args.out or default_run_dir("bell", parse_model(args.model).spec)
    how = how.replace(out=out)
    argv = getattr(args, "argv", None) or ["bell"]
    try:
        res = run_study("bell", settings, how)
    except BatchPending as exc:
        return print_batch_pending(exc, resume_command(argv, out))
    except ProviderError as exc:  # retries ran out: the saved answers resume
        if out.exists():
            exc.hint = f"{exc.hint}; resume with: {resume_command(argv, out)}" if exc.hint else \
                f"resume with: {resume_command(argv, out)}"
        raise
    except (KeyboardInterrupt, RunStopped) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt) or getattr(exc, "reason", "") == "interrupted"
        if not interrupted:
            exc.hint = f"resume with: {resume_command(argv, out)}"
            raise
        if out.exists():
            print(f"probe: interrupted; answers so far are saved in {out}", file=sys.stderr)
            print(f"resume with: {resume_command(argv, out)}", file=sys.stderr)
        else:
            print("probe: interrupted before any answer was saved", file=sys.stderr)
        return 130
    for warning in res.run.get("damage", []):
        print(f"probe: warning: {warning}", file=sys.stderr)
    _extras(res, args)
    _print_summary(res)
    return 0
