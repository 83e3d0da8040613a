"""``probe batch status RUN_DIR``: the state of every batch job of a run (or of a folder of runs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="batch jobs of runs made with --batch",
                       description="Inspect the provider batch jobs (--batch) of a run folder or a folder of runs.")
    inner = p.add_subparsers(dest="batch_command", metavar="SUBCOMMAND")
    st = inner.add_parser("status", help="per-batch state, counts and cost at batch rates (from the journals)",
                          description="Per-batch state, request counts, answers collected, re-queued requests and "
                                      "cost at batch rates, as the last run that touched each journal saw them. "
                                      "Run the study's command again to poll and collect.")
    st.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder, or a folder holding run folders")
    st.add_argument("--json", action="store_true", help="print the summaries as JSON")
    st.set_defaults(func=run_status)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_status(args: argparse.Namespace) -> int:
    from probe.batch.status import batch_summary, journals_under, status_lines

    if args.json:
        print(json.dumps([batch_summary(f) for f in journals_under(args.run_dir)], indent=2))
        return 0
    for line in status_lines(args.run_dir):
        print(line)
    return 0


def run_batched(experiment: str, settings: Any, how: Any, args: argparse.Namespace, *, folder_prefix: str) -> Any:
    """``run_study`` for a command with --batch: the run folder is named up front (so the same command
    collects into it), and :class:`~probe.errors.BatchPending` prints the batch ids and returns exit 75."""
    from probe.api import run_study
    from probe.commands.printing import print_batch_pending
    from probe.errors import BatchPending
    from probe.experiments.bell.study import resume_command

    if how.batch and how.out is None:
        from probe.providers import parse_model
        from probe.runs import default_run_dir

        how = how.replace(out=default_run_dir(folder_prefix, parse_model(settings.model or "").spec))
    try:
        return run_study(experiment, settings, how)
    except BatchPending as exc:
        return print_batch_pending(exc, resume_command(list(getattr(args, "argv", None) or [folder_prefix]), how.out))
