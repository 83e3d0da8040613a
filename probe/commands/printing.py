"""What the commands print that more than one command shares."""

from __future__ import annotations

import sys
from typing import Any

from probe.protocol import Plan


def print_plan(plan: Plan) -> None:
    """A dry run: what the study would do and what it may cost."""
    cost = "free" if plan.cost_usd is None else f"${plan.cost_usd[0]:.4f} to ${plan.cost_usd[1]:.4f}"
    print(plan.summary)
    if plan.calls or plan.cached:
        print(f"calls to make: {plan.calls} (already recorded: {plan.cached}); input tokens ~{plan.input_tokens}, "
              f"output tokens <= {plan.output_tokens_max}; cost: {cost}")
    for note in plan.notes:
        print(f"note: {note}")


def print_batch_pending(exc: Any, command: str) -> int:
    """After ``--batch`` submitted or found batches not done yet: their ids, and how to collect. Exit 75."""
    report = exc.report
    print(f"probe: {exc.message}", file=sys.stderr)
    for line in report.lines() if report is not None else []:
        print(line)
    print(f"collect with: {command}", file=sys.stderr)
    return int(exc.exit_code)


__all__ = ["print_batch_pending", "print_plan"]
