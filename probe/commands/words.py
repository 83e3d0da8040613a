"""``probe words``: Bose-Einstein vs Maxwell-Boltzmann statistics of the words of texts.

::

    probe words story.txt
    probe words corpus/ --glob '*.txt' --by-file
    probe words - < story.txt
    probe words story.txt --tokenizer regex --lowercase --keep-punctuation false
    probe words story.txt --compare zipf,zipf-mandelbrot,lognormal
    probe words --generate --model gpt-4o --prompt prompts/stories.toml --n 20 --min-words 3000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from probe.errors import ConfigError

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r} (write the input files first, "
                                     "or give the flag a value: --lowercase true)")


def _flag(group: Any, name: str, default: bool, help_: str) -> None:
    """``--name`` (true), ``--name false``, and ``--no-name``."""
    dest = name.replace("-", "_")
    group.add_argument(f"--{name}", dest=dest, type=_bool, nargs="?", const=True, default=default, metavar="BOOL",
                       help=f"{help_} (default {str(default).lower()})")
    group.add_argument(f"--no-{name}", dest=dest, action="store_false", help=argparse.SUPPRESS)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "words", help="Bose-Einstein vs Maxwell-Boltzmann statistics of word frequencies",
        description="Count the words of texts (files, folders, stdin, gzip; or stories a model writes) and fit "
                    "Bose-Einstein and Maxwell-Boltzmann occupations of rank-energy levels (Aerts & Beltran 2020), "
                    "with bootstrap intervals and likelihood comparisons against Zipf-type laws.",
    )
    p.add_argument("inputs", nargs="*", metavar="TEXT", help="text files, folders, or - for stdin (gzip detected)")
    p.add_argument("--glob", default=None, help="files to take from folders (default '*.txt'; '**/*.txt' recurses)")
    p.add_argument("--by-file", action="store_true", help="also fit every text on its own, beside the pooled fit")
    p.add_argument("--encoding", default="utf-8", help="text encoding, ASCII-compatible (default utf-8)")
    tok = p.add_argument_group("tokenizer (recorded in result.json)")
    tok.add_argument("--tokenizer", choices=("regex", "whitespace"), default="regex",
                     help="regex: letter runs (default); whitespace: non-space runs, punctuation attached")
    _flag(tok, "lowercase", True, "fold case per word")
    _flag(tok, "keep-punctuation", False, "count runs of punctuation as tokens")
    _flag(tok, "keep-numbers", False, "count numbers as tokens")
    tok.add_argument("--apostrophes", choices=("keep", "split"), default="keep", help="don't = one word (keep)")
    tok.add_argument("--hyphens", choices=("keep", "split"), default="keep", help="well-known = one word (keep)")
    tok.add_argument("--normalize", choices=("nfkc", "none"), default="nfkc",
                     help="Unicode NFKC and ASCII quotes (default nfkc)")
    _flag(tok, "strip-gutenberg", False, "drop a Project Gutenberg header and footer")
    _flag(tok, "lemmatize", False, "merge word forms by WordNet lemma (needs nltk + wordnet data)")
    fit = p.add_argument_group("fits")
    fit.add_argument("--method", choices=("constraint", "ml", "lsq-log", "lsq"), default="constraint",
                     help="headline estimator (default constraint: the papers' method = modes ML)")
    fit.add_argument("--ties", choices=("ordinal", "alphabetical", "average", "dense"), default="ordinal",
                     help="tied counts: own levels by first occurrence (default) or alphabetically (Aerts et al. "
                          "2026; same fit), mean level, or one level per count")
    fit.add_argument("--energy-exponent", default="1", metavar="D|fit",
                     help="rank i sits on E = (i - 1)^D (default 1: equal spacing); 'fit' chooses D by profile "
                          "likelihood (Aerts et al. 2026 choose D per text)")
    fit.add_argument("--first-level", type=int, choices=(0, 1), default=0, help="energy of the top word (default 0)")
    fit.add_argument("--compare", default="zipf,zipf-mandelbrot,lognormal",
                     help="comparison models: zipf, zipf-mandelbrot, lognormal, exponential, truncated-power-law, "
                          "stretched-exponential (default zipf,zipf-mandelbrot,lognormal)")
    fit.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (0 = none)")
    fit.add_argument("--bootstrap-kind", choices=("parametric", "tokens"), default="parametric",
                     help="resample counts from the fitted law (parametric, default) or tokens from the text")
    fit.add_argument("--ci", choices=("basic", "percentile"), default="basic", help="bootstrap interval type")
    fit.add_argument("--by-file-bootstrap", type=int, default=200, metavar="N", help="resamples per text with --by-file")
    fit.add_argument("--alpha", type=float, default=0.05, help="significance level of the verdict's tests")
    fit.add_argument("--seed", type=int, default=0, help="seed for the bootstrap (and generation)")
    gen = p.add_argument_group("generation: ask a model for stories (recorded in a cassette)")
    gen.add_argument("--generate", action="store_true", help="ask --model for stories instead of reading files")
    gen.add_argument("--model", default=None, help="model spec (gpt-4o, gemini-2.0-flash, openai:NAME, hf:PATH, ...)")
    gen.add_argument("--prompt", default="stories", help="story prompts: a .toml path or a shipped name (stories)")
    gen.add_argument("--n", type=int, default=20, help="stories to request (default 20)")
    gen.add_argument("--min-words", type=int, default=None, help="length target; shorter stories are flagged")
    gen.add_argument("--temperature", type=float, default=1.0, help="sampling temperature of the stories (default 1.0)")
    gen.add_argument("--max-tokens", type=int, default=None, help="cap per story (default from the prompt file)")
    gen.add_argument("--keep-flagged", action="store_true", help="fit flagged (short, cut-off, refused) stories too")
    gen.add_argument("--cassette", type=Path, default=None, help="cassette (default <out>/cassette.jsonl)")
    rec = gen.add_mutually_exclusive_group()
    rec.add_argument("--replay", action="store_true", help="replay only: never call a model")
    rec.add_argument("--record", action="store_true", help="call the model even for recorded requests")
    gen.add_argument("--base-url", default=None, help="OpenAI-compatible server for openai: models")
    gen.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    gen.add_argument("--rpm", type=float, default=None, help="client-side limit, requests per minute")
    gen.add_argument("--timeout", type=float, default=300.0, help="seconds per request (default 300)")
    gen.add_argument("--max-calls", type=int, default=None, help="stop (resumably) after this many paid calls")
    gen.add_argument("--max-cost", type=float, default=None, help="stop (resumably) before spending more USD (priced)")
    gen.add_argument("--prices", type=Path, default=None, help="price table TOML (default: probe/prices.toml)")
    gen.add_argument("--dry-run", action="store_true", help="print the stories, tokens and cost range, and exit")
    from probe.commands.bell import add_batch_flags

    add_batch_flags(gen)
    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, default=None, help="run folder (default runs/words-<name>-<time>/)")
    out.add_argument("--counts-format", choices=("parquet", "csv"), default="parquet",
                     help="file format of the word counts written to the run folder (default parquet)")
    out.add_argument("--jobs", type=int, default=2, help="threads counting chunks (default 2)")
    out.add_argument("--cluster", metavar="local:N|ADDRESS",
                     help="count each text file as a task on a Dask cluster (local:N, or tcp://scheduler:8786)")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def tokenizer_from_args(args: argparse.Namespace) -> Any:
    from probe.experiments.words.tokenizer import TokenizerOptions

    return TokenizerOptions(
        kind=args.tokenizer, lowercase=args.lowercase, punctuation=args.keep_punctuation, numbers=args.keep_numbers,
        apostrophes=args.apostrophes, hyphens=args.hyphens, normalize=args.normalize,
        strip_gutenberg=args.strip_gutenberg, lemmatize=args.lemmatize,
    )


def _fit_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return dict(
        tokenizer=tokenizer_from_args(args), method=args.method, ties=args.ties, first_level=args.first_level,
        energy_exponent=_exponent(args.energy_exponent),
        compare=tuple(c for c in args.compare.split(",") if c.strip()), n_resamples=args.bootstrap,
        bootstrap=args.bootstrap_kind, ci=args.ci, alpha=args.alpha, seed=args.seed, by_file=args.by_file,
        by_file_resamples=args.by_file_bootstrap, encoding=args.encoding, counts_format=args.counts_format,
    )


def _exponent(text: str) -> float | str:
    """``--energy-exponent``: 'fit' or a number (validated by WordsSettings)."""
    if text.strip().lower() == "fit":
        return "fit"
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--energy-exponent {text!r}: use a number > 0 or 'fit'") from None


def _summary(res: Any) -> None:
    from probe.report.format import fmt

    r = res.result
    be, mb = r["fits"]["be"], r["fits"]["mb"]

    def ci(x: Any) -> str:
        return f"[{fmt(x[0], 4)}, {fmt(x[1], 4)}]" if x else ""

    print(f"{r['n_tokens']} tokens, {r['n_types']} words; preferred: {str(r['preferred']).upper()}")
    energy = r.get("energy") or {}
    if energy.get("mapping"):
        print(f"  levels: {energy['mapping']}")
    print(f"  BE  A = {fmt(be['A'], 6)} {ci(be['A_ci95'])}  B = {fmt(be['B'])} {ci(be['B_ci95'])}  "
          f"R² = {fmt(be['r2'])} (log {fmt(be['r2_log'])})")
    print(f"  MB  A = {fmt(mb['A'], 6)} {ci(mb['A_ci95'])}  B = {fmt(mb['B'])} {ci(mb['B_ci95'])}  "
          f"R² = {fmt(mb['r2'])} (log {fmt(mb['r2_log'])})")
    for flag in res.warnings:
        print(f"probe: warning: {flag}", file=sys.stderr)
    print(f"run folder: {res.path}  (report.md, result.json, {r['files']['counts']})")


def run(args: argparse.Namespace) -> int:
    from probe.api import run_study
    from probe.protocol import How

    progress = False if args.no_progress else None
    if args.generate:
        if args.inputs:
            raise ConfigError("--generate takes no input files", hint="drop the file arguments, or drop --generate")
        from probe.experiments.words.generate import WordsGenerateSettings

        settings = WordsGenerateSettings(
            model=args.model, prompt=args.prompt, n_stories=args.n, min_words=args.min_words,
            temperature=args.temperature, max_tokens=args.max_tokens, exclude_flagged=not args.keep_flagged,
            **_fit_kwargs(args))
        how = How(out=args.out, cassette=args.cassette,
                  cassette_mode="replay" if args.replay else "record" if args.record else "auto",
                  base_url=args.base_url, concurrency=args.concurrency, rpm=args.rpm, timeout_s=args.timeout,
                  max_calls=args.max_calls, max_cost=args.max_cost, prices=args.prices, progress=progress,
                  batch=args.batch, batch_wait=args.wait, batch_poll_s=args.poll)
        if args.dry_run:
            from probe.commands.printing import print_plan
            from probe.experiments.words.generate import plan

            print_plan(plan(settings, how))
            return 0
        from probe.commands.batch import run_batched

        res = run_batched("words-generate", settings, how, args, folder_prefix="words")
        if isinstance(res, int):
            return res  # batches not done yet (exit 75)
    else:
        if args.model:
            raise ConfigError("--model is only used with --generate", hint="add --generate to ask the model for texts")
        from probe.experiments.words.study import WordsSettings

        settings = WordsSettings(inputs=tuple(args.inputs), glob=args.glob, **_fit_kwargs(args))
        res = run_study("words", settings, How(out=args.out, workers=args.jobs, cluster=args.cluster, progress=progress))
    _summary(res)
    return 0
