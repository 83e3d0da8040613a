"""Shared helpers: run a ``probe quantum`` model sub-command the way the CLI does."""

from __future__ import annotations

import argparse
import sys

import pytest

from probe.commands import quantum_models
from probe.errors import ProbeError


def run_cli(*argv: str) -> int:
    """Parse and run one sub-command; a ProbeError becomes one stderr line and its exit code (like cli.main)."""
    parser = argparse.ArgumentParser(prog="probe quantum")
    quantum_models.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    try:
        return int(args.func(args) or 0)
    except ProbeError as exc:
        print(f"probe: error: {exc}", file=sys.stderr)
        return exc.exit_code


@pytest.fixture
def cli():
    return run_cli
