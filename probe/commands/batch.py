"""``probe batch status RUN_DIR``: the state of every batch job of a run (or of a folder of runs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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
