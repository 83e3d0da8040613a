"""``probe study MANIFEST``: every cell of a sweep, resumable, compared in one table (:mod:`probe.sweep`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="run a sweep of cells from a TOML manifest (models x prompts x settings)",
                       description="Run (or resume) every cell of a study manifest: one run folder per cell, "
                                   "study.json, study.parquet/csv and a comparison report.")
    p.add_argument("manifest", type=Path, metavar="MANIFEST", help="the study manifest (.toml)")
    p.add_argument("--out", type=Path, default=None, help="study folder (default runs/study-<name>); same folder resumes")
    p.add_argument("--replay", action="store_true", help="never call a model: every answer from the cassettes")
    p.add_argument("--dry-run", action="store_true", help="print cells, calls, tokens and a cost range; call nothing")
    p.add_argument("--extend", action="store_true", help="accept a changed manifest that only adds cells")
    p.add_argument("--cluster", default=None, metavar="local:N|ADDRESS",
                   help="run compute-bound cells on Dask: local:N worker processes, or a scheduler address")
    p.add_argument("--max-cost", type=float, default=None, help="US dollars for the whole study (this invocation)")
    p.add_argument("--max-calls", type=int, default=None, help="model calls (not replayed) for the whole study (this invocation)")
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight (per API cell)")
    p.add_argument("--parallel-cells", type=int, default=None, metavar="N",
                   help="API cells in flight at once, all within one rate limit per provider and key (default 4)")
    p.add_argument("--rpm", type=float, default=None, help="requests per minute, per provider and key")
    p.add_argument("--prices", type=Path, default=None, help="price table TOML")
    p.add_argument("--no-cell-reports", action="store_true", help="skip each cell's own report (study report only)")
    from probe.commands.bell import add_batch_flags

    add_batch_flags(p)  # --batch: the API cells' requests in one set of batches per provider + model
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from probe.sweep import plan_study, run_study_manifest

    how = {"concurrency": args.concurrency, "rpm": args.rpm, "prices": args.prices,
           "progress": False if args.quiet else None, "batch": args.batch, "batch_wait": args.wait,
           "batch_poll_s": args.poll}
    if args.dry_run:
        print_dry_run(plan_study(args.manifest, out=args.out, replay=args.replay, max_cost=args.max_cost, **how))
        return 0
    from probe.errors import BatchPending
    from probe.sweep.execute import PARALLEL_CELLS

    try:
        run_ = run_study_manifest(args.manifest, out=args.out, replay=args.replay, extend=args.extend,
                                  cluster=args.cluster, max_cost=args.max_cost, max_calls=args.max_calls,
                                  cell_report=not args.no_cell_reports,
                                  parallel_cells=PARALLEL_CELLS if args.parallel_cells is None else args.parallel_cells,
                                  **how)
    except BatchPending as exc:  # exit 75: batches not done yet; the same command collects and finishes
        from probe.commands.printing import print_batch_pending

        return print_batch_pending(exc, rerun_command(getattr(args, "argv", None) or ["study", str(args.manifest)]))
    from probe.report.study import render_study

    render_study(run_.path)
    states = [run_.states[c.id].state for c in run_.cells]
    print(f"study {run_.manifest.name}: {states.count('done')} of {len(states)} cells done "
          f"({run_.skipped} already done), {run_.calls} calls"
          + (f", ${run_.cost_usd:.4f}" if run_.cost_usd else "") + f", {run_.elapsed_s:.1f} s")
    print(f"{run_.path / 'report.md'}")
    print(f"{run_.path / 'study.parquet'}")
    if run_.failed:
        from probe.errors import ProbeError

        first = run_.states[run_.failed[0]].error
        raise ProbeError(f"{len(run_.failed)} cell(s) failed; first: {run_.failed[0]}: {first}",
                         hint="fix the cause and rerun the same command (finished cells are kept)")
    return 0


def print_dry_run(dry) -> None:  # type: ignore[no-untyped-def]
    from probe.report.format import markdown_table

    rows = []
    for cell, plan in zip(dry.cells, dry.plans, strict=True):
        cost = "free" if plan.cost_usd is None and not any("unknown" in n for n in plan.notes) else (
            "unknown" if plan.cost_usd is None else f"${plan.cost_usd[0]:.4f}-${plan.cost_usd[1]:.4f}")
        rows.append([cell.id, cell.kind, plan.items, plan.calls, plan.cached, plan.input_tokens or "–",
                     plan.output_tokens_max or "–", cost])
    print(markdown_table(["cell", "kind", "items", "calls", "cached", "input tok", "output tok (max)", "cost"], rows))
    low, high = dry.cost_range
    print(f"\n{len(dry.cells)} cells, {dry.calls} calls to make ({dry.cached} already recorded), "
          f"~{dry.input_tokens} input tokens, at most {dry.output_tokens_max} output tokens; "
          f"cost ${low:.4f} to ${high:.4f}" + (f" plus {dry.unpriced} cell(s) without a price" if dry.unpriced else ""))
    for note in dry.notes:
        print(f"note: {note}")
    print("dry run: nothing was called or written")


def rerun_command(argv: list[str]) -> str:
    """The command line that collects a study's batches: the same arguments (the study folder follows from them)."""
    import shlex

    return "probe " + " ".join(shlex.quote(a) for a in argv)
