"""Every command's arguments, driven by hypothesis: a bad value is one line and exit 2, never an internal error.

Each command starts from a small valid command line; hypothesis replaces one option's value at a time with a
hostile one (wrong type, out of range, NaN, a path that is a file, a folder, missing or read-only). The answer
must be a finished run (exit 0) or one ``probe: error:`` line with exit 2, and never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probe.cli import build_parser, main
from tests.helpers import messages

pytestmark = pytest.mark.slow

BASES: dict[str, list[str]] = {
    "bell": ["bell", "--model", "sim:quantum", "--trials", "4", "--n-boot", "200", "--no-progress"],
    "bell-counts": ["bell", "--counts", "{counts}", "--n-boot", "200"],
    "words": ["words", "{text}", "--bootstrap", "0", "--no-progress"],
    "entangle": ["entangle", "random", "--shape", "8x8", "--samples", "2", "--baseline-samples", "0"],
    # "power": ["quantum", "power", "--gate", "CNOT", "--starts", "0", "--mc-samples", "10"],
    # "expressibility": ["quantum", "expressibility", "--qubits", "2", "--layers", "1", "--samples", "20"],
    "report": ["report", "{run}"],
}

# options whose large values would only make a valid run long, not wrong: kept small
BOUNDED = {"--trials", "--n-boot", "--samples", "--mc-samples", "--starts", "--bootstrap", "--by-file-bootstrap",
           "--orders", "--n-per-call", "--qubits", "--layers", "--max-tokens", "--concurrency", "--jobs", "--workers",
           "--baseline-samples", "--bins", "--shape", "--max-bond", "--max-attempts"}
SKIP = {"--help", "--version", "--base-url", "--model", "--generate", "--debug", "--timeout", "--rpm"}


def _options(command: list[str]) -> list[tuple[str, argparse.Action]]:
    """The value-taking options of the sub-command ``command`` names."""
    parser = build_parser()
    for word in command:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or word not in sub.choices:
            break
        parser = sub.choices[word]
    return [(a.option_strings[-1], a) for a in parser._actions
            if a.option_strings and a.nargs != 0 and a.option_strings[-1] not in SKIP and a.help != argparse.SUPPRESS]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    root = tmp_path_factory.mktemp("args")
    text = root / "t.txt"
    text.write_text(" ".join(f"w{i % 37}x{i % 11}" for i in range(3000)))
    counts = root / "c.csv"
    counts.write_text("experiment,a,b,count\n" + "".join(f"{c},+,+,5\n{c},-,-,5\n{c},+,-,2\n{c},-,+,2\n"
                                                      for c in ("AB", "AB'", "A'B", "A'B'")))
    run = root / "run"
    assert main(["bell", "--model", "sim:quantum", "--mode", "exact", "--out", str(run), "--no-progress"]) == 0
    readonly = root / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    a_file = root / "a-file"
    a_file.write_text("x")
    return {"text": text, "counts": counts, "run": run, "readonly": readonly, "file": a_file, "dir": root,
            "missing": root / "missing" / "deeper"}


def hostile(option: str, paths: dict[str, Path]) -> st.SearchStrategy[str]:
    numbers = ["-1", "0", "nan", "inf", "-inf", "1e308", "2.5", "x", "", "1,2", "0..", "..3", "3..1"]
    if option not in BOUNDED:
        numbers += ["1000000000000"]
    where = [str(paths[k]) for k in ("file", "dir", "missing", "readonly")] + [str(paths["readonly"] / "out")]
    return st.sampled_from(numbers + where)


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


@pytest.mark.parametrize("name", sorted(BASES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_one_bad_value_is_one_line_and_exit_2(name, paths, tmp_path_factory, data, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))  # relative paths drawn as values land here, not in the repo
    base = [a.format(**{k: str(v) for k, v in paths.items()}) for a in BASES[name]]
    options = _options(base) + [("POSITIONAL", None)] * (name in ("report", "words"))
    option, _ = data.draw(st.sampled_from(options), label="option")
    value = data.draw(hostile(option, paths), label="value")
    out = tmp_path_factory.mktemp("o") / "run"
    argv = list(base)
    if option == "POSITIONAL":  # the run folder of `report`, the text of `words`
        argv[1] = value
    elif option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    if "--out" not in argv and name != "report":
        argv += ["--out", str(out)]
    try:
        code, err = _run(argv)
    except SystemExit as exc:  # argparse: a usage line and exit 2
        code, err = int(exc.code or 0), ""
    text = messages(err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    assert code in (0, 2, 3), (argv, code, err)
    if code == 3:  # a budget of 0 calls stops the run cleanly, resumably
        assert messages(err).strip().splitlines()[0].startswith("probe: stopped:"), (argv, err)
        return
    if code == 2 and text:  # argparse prints its usage line and "error: argument ..."; probe one "probe: error:" line
        lines = [line for line in text.splitlines() if line.strip()]
        assert (lines[0].startswith("usage:") and len(lines) <= 3) or (len(lines) == 1 and lines[0].startswith(
            "probe: error:")), (argv, text)
