"""Property-based tests: every parser answers malformed input with one clear error, never a crash."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probe.cassette import Cassette
from probe.cli import main
from probe.errors import CassetteError, ConfigError, DataError
from probe.experiments.bell.answers import parse_choice
from probe.experiments.bell.counts_file import read_counts_csv
from probe.experiments.bell.design import load_design
from probe.providers import parse_model
from tests.helpers import messages

pytestmark = pytest.mark.slow  # subprocesses, servers and kills: the full suite (CI) runs them

GOOD_TOML = (Path(__file__).resolve().parents[2] / "prompts" / "animal-acts.toml").read_text()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EXAMPLES: dict[str, int] = {}


def count(name: str) -> None:
    EXAMPLES[name] = EXAMPLES.get(name, 0) + 1


@st.composite
def mutated_toml(draw) -> str:
    lines = GOOD_TOML.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "replace", "insert", "truncate", "value"]))
        i = draw(st.integers(0, len(lines) - 1))
        junk = draw(st.text(alphabet=string.printable, max_size=30))
        if op == "delete":
            del lines[i]
        elif op == "replace":
            lines[i] = junk
        elif op == "insert":
            lines.insert(i, junk)
        elif op == "truncate":
            lines = lines[:i]
        else:
            key = draw(st.sampled_from(["name", "concept", "plus", "minus", "minus_on", "labels", "schema"]))
            value = draw(st.one_of(st.integers(), st.text(max_size=8).map(json.dumps), st.just("[]"), st.just("{}")))
            lines.insert(i, f"{key} = {value}")
        if not lines:
            break
    return "\n".join(lines)


@SETTINGS
@given(mutated_toml())
def test_prompt_toml(tmp_path_factory, text):
    count("prompt TOML")
    path = tmp_path_factory.mktemp("toml") / "design.toml"
    path.write_text(text)
    try:
        design = load_design(str(path))
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and "\n" not in message
    else:
        assert len(design.labels) == 4 and set(design.measurements) == {"A", "A'", "B", "B'"}


CELLS = st.sampled_from(["AB", "AB'", "A'B", "A'B'", "AC", "ab", "", "A’B", "xx", "1"])
SIGNS = st.sampled_from(["+", "-", "+1", "-1", "0", "", "plus", "x", "−"])
NUMS = st.one_of(st.integers(-3, 50).map(str), st.sampled_from(["", "1.5", "two", "1e2", "nan"]))


@SETTINGS
@given(st.lists(st.tuples(CELLS, SIGNS, SIGNS, NUMS), max_size=12),
       st.sampled_from(["experiment,a,b,count", "experiment,a,b", "respondent,experiment,a,b,count", "x,y"]),
       st.booleans())
def test_counts_csv(tmp_path_factory, body, header, extra_field):
    count("counts CSV")
    lines = [header] + [",".join(row) + (",9" if extra_field else "") for row in body]
    path = tmp_path_factory.mktemp("csv") / "counts.csv"
    path.write_text("\n".join(lines) + "\n")
    try:
        data = read_counts_csv(path)
    except DataError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        assert data.counts.shape == (4, 2, 2) and (data.counts.sum(axis=(1, 2)) > 0).all()


RECORD = {"v": 1, "key": "k", "kind": "generate", "response": {"texts": ["1"]}, "request": {}}


@SETTINGS
@given(st.lists(st.one_of(
    st.text(alphabet=string.printable, max_size=40),
    st.dictionaries(st.sampled_from(["v", "key", "kind", "response"]),
                    st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=4).map(json.dumps),
    st.just(json.dumps(RECORD)), st.just("[1, 2]"), st.just('{"v": 1, "key"'),
), max_size=6))
def test_cassette_jsonl(tmp_path_factory, lines):
    count("cassette JSONL")
    path = tmp_path_factory.mktemp("cas") / "c.jsonl"
    path.write_text("\n".join(lines))
    try:
        cas = Cassette(path, "replay")
    except (CassetteError, ConfigError) as exc:
        assert str(path) in str(exc)
    else:
        assert len(cas) <= len(lines)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_model_names(spec):
    count("model names")
    try:
        ref = parse_model(spec)
    except ConfigError as exc:
        assert str(exc).startswith("--model") and "\n" not in str(exc)
    else:
        assert ref.provider in {"openai", "gemini", "hf", "embed", "sim"} and ref.name


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=80), st.lists(st.text(min_size=1, max_size=3), min_size=4, max_size=4, unique=True),
       st.lists(st.text(min_size=1, max_size=20), min_size=4, max_size=4))
def test_answer_parsing(answer, labels, texts):
    count("answers")
    parsed = parse_choice(answer, labels, texts)
    assert parsed.index is None or 0 <= parsed.index < 4
    assert parsed.reason


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_toml())
def test_cli_on_broken_designs(tmp_path_factory, capsys, text):
    count("CLI runs on broken designs")
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "d.toml"
    path.write_text(text)
    code = main(["bell", "--prompt", str(path), "--model", "sim:uniform", "--trials", "2", "--n-boot", "100",
                 "--out", str(folder / "run")])
    err = capsys.readouterr().err
    if code == 0:
        assert (folder / "run" / "result.json").exists()
    else:
        assert code == 2 and messages(err).startswith("probe: error:") and messages(err).count("\n") == 1
        assert "Traceback" not in err and not (folder / "run").exists()


def test_report_examples(tmp_path_factory):
    # runs last in this file: leave the number of examples tried where the bench notes can read it
    out = tmp_path_factory.getbasetemp() / "bad-input-examples.json"
    out.write_text(json.dumps(EXAMPLES))
    assert sum(EXAMPLES.values()) > 0 or pytest.skip("run with the property tests")
