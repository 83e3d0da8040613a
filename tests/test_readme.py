"""The README's examples are the first thing a new user types: every one must be a real command.

Every ``probe ...`` line in a shell block is parsed by the real parser (a renamed or removed flag fails
here), and every line that can run offline in seconds is run for real in a temporary folder and must
exit 0. Lines that need a key, a network, the user's own files or minutes of compute are listed in
``NOT_RUN`` with the reason, so a new example has to be classified to pass.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from probe.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Substrings that mark a README line as not runnable here, and why (checked: parsed, not run).
NOT_RUN = {
    "gpt-4o": "needs an OpenAI key and the network",
    "gemini-": "needs a Gemini key and the network",
    "--base-url": "needs the user's server",
    "hf:/path": "the user's own model folder",
    "human.csv": "the user's own counts file",
    "runs/<": "a run folder of the user's",
    "story.txt": "the user's own text",
    "corpus/": "the user's own corpus",
    "model.safetensors": "the user's own checkpoint",
    "base/": "the user's own checkpoints",
    "adapter/": "the user's own adapter",
    "u.npy": "the user's own unitary",
    "embeddings.npy": "the user's own embeddings",
    "my-sweep.toml": "the user's own manifest",
    "sweep.toml": "the user's own manifest",
    "tcp://": "the user's Dask scheduler",
    "--batch": "a provider's batch API (tested against the loopback server in tests/batch)",
    "--serve": "a server that runs until stopped (tested in tests/view)",
    "classify": "minutes of training (timed in bench/RESULTS.md)",
    "--env CartPole": "minutes of training (timed in bench/RESULTS.md)",
    "--env hrap": "hours of training (analyses/nguyen2025-vqr-dqn)",
    "mie --qubits 12": "minutes of simulation (timed in bench/RESULTS.md)",
    "mie --qubits 8": "a minute of simulation (timed in bench/RESULTS.md)",
    "--samples 5000": "a minute of sampling",
    "1024x1024": "a minute of sampling",
    "entangle attention": "loads a model over the whole text file; covered by tests/experiments/entangle",
    "--cluster": "starts a Dask cluster (tested in tests/sweep)",
    "runs/sweep1": "a study folder of the user's",
    "runs/": "the user's runs folder",
    "study.toml": "replays a whole study (tested in tests/sweep)",
    "--generate": "asks a model for stories",
    "pytest": "the test suite itself",
}


def _shell_lines() -> list[str]:
    """``probe ...`` command lines of the README's bash blocks (comments and continuations handled)."""
    lines, in_block = [], False
    for raw in README.read_text().splitlines():
        if raw.startswith("```"):
            in_block = raw.strip() in ("```bash", "```sh", "```console")
            continue
        if not in_block:
            continue
        line = raw.split("  #", 1)[0].split(" # ", 1)[0].strip()
        line = re.sub(r"^(\.venv/bin/)?", "", line)
        if line.startswith("probe ") or line == "probe":
            lines.append(line)
    return lines


def _reason(line: str) -> str | None:
    return next((why for key, why in NOT_RUN.items() if key in f" {line} "), None)


LINES = _shell_lines()


def test_the_readme_shows_commands():
    assert len(LINES) >= 30, LINES


@pytest.mark.parametrize("line", LINES)
def test_every_readme_command_parses(line):
    argv = shlex.split(line)[1:]
    argv = [a for a in argv if a != "--debug"]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on an unknown flag or a bad choice
        pytest.fail(f"README line does not parse (exit {exc.code}): {line}")


RUNNABLE = [line for line in LINES if _reason(line) is None]


def test_most_offline_examples_are_run():
    assert len(RUNNABLE) >= 8, RUNNABLE


@pytest.mark.slow
@pytest.mark.parametrize("line", RUNNABLE)
def test_offline_readme_commands_run(line, tmp_path):
    argv = shlex.split(line)[1:]
    if argv and argv[0] not in ("report", "view") and "--out" not in argv:
        argv += ["--out", str(tmp_path / "run")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OPENAI_API_KEY": "", "GEMINI_API_KEY": "", "GOOGLE_API_KEY": ""}
    proc = subprocess.run([sys.executable, "-m", "probe", *argv, "--no-progress"] if _takes_no_progress(argv)
                          else [sys.executable, "-m", "probe", *argv],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{line}\n{proc.stderr[-2000:]}"


def _takes_no_progress(argv: list[str]) -> bool:
    try:
        args = build_parser().parse_args([*argv, "--no-progress"])
    except SystemExit:
        return False
    return bool(getattr(args, "no_progress", False))
