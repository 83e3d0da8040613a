"""Shared helpers for the reliability tests: run probe in a subprocess, read run folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "sk-canary-RELIABILITY-9f8e7d6c5b4a"


def probe_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "probe", *args]


def env_with_key(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"OPENAI_API_KEY": CANARY, "GEMINI_API_KEY": CANARY, "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def run_probe(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(probe_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=env or env_with_key())


def rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def stable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("created", "run", "warnings", "elapsed_s", "host")}


@pytest.fixture
def canary(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("GEMINI_API_KEY", CANARY)
    return CANARY
