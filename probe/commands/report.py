"""``probe report RUN``: rebuild report.md, LaTeX tables and figures from a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rebuild the report, tables and figures of a run folder",
                       description="Rebuild report.md, LaTeX tables and figures from RUN/result.json.")
    p.add_argument("run_dir", type=Path, metavar="RUN", help="a run folder (runs/<...>)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from probe.report import render_run

    for path in render_run(args.run_dir):
        print(path)
    return 0
