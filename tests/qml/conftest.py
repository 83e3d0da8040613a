"""Shared helpers: run a ``probe quantum`` model sub-command through the CLI."""

from __future__ import annotations

import pytest

from probe.cli import main


def run_cli(*argv: str) -> int:
    """``probe quantum ARGV...`` in-process; a ProbeError becomes one stderr line and its exit code."""
    return main(["quantum", *argv])


@pytest.fixture
def cli():
    return run_cli
