"""`probe words` end to end: outputs, result.json keys, errors, stdin/gzip/folders, report, generation."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from probe.analysis.words.verdict import analyze_counts
from probe.cli import main
from probe.experiments.words.generate import flag_story, load_story_prompts
from probe.experiments.words.tokenizer import tokenize
from probe.testing import ChatServer, FaultPlan
from tests.helpers import messages, read_result

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def word(i: int) -> str:
    out = "w"
    while True:
        out += LETTERS[i % 26]
        i //= 26
        if i == 0:
            return out


def be_text(seed: int, *, A: float = 1.001, B: float = 200.0, levels: int = 1500) -> str:
    """Method note KAT-8: word i written Geometric(BE(i)) times, shuffled, some capitalised."""
    rng = np.random.default_rng(seed)
    n = rng.geometric(1 / (1 + 1 / np.expm1(np.arange(levels) / B + np.log(A)))) - 1
    tokens = rng.permutation(np.repeat([word(i) for i in range(levels)], n)).tolist()
    for j in range(0, len(tokens), 7):
        tokens[j] = tokens[j].capitalize()
    return " ".join(tokens) + "\n"


def run_cli(*args: str) -> int:
    return main(["words", *args, "--no-progress"])


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("texts") / "story.txt"
    path.write_text(be_text(1))
    return path


def test_end_to_end_outputs_and_keys(story: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert run_cli(str(story), "--out", str(out), "--bootstrap", "200", "--seed", "3") == 0
    assert "preferred:" in capsys.readouterr().out
    for name in ("result.json", "report.md", "table.tex", "counts.parquet", "occupation.png", "rank_frequency.png"):
        assert (out / name).is_file(), name
    r = read_result(out)
    assert r["experiment"] == "words" and r["preferred"] in ("be", "mb", "inconclusive")
    for model in ("be", "mb"):
        for key in ("A", "B", "A_ci95", "B_ci95", "r2", "aic", "bic", "method"):
            assert r["fits"][model][key] is not None, (model, key)
    assert r["tokenizer"]["pattern"] and r["tokenizer"]["lowercase"] is True
    # The CLI numbers are those of the analysis on Counter(tokenize(text)).
    counts = Counter(tokenize(story.read_text()))
    assert (r["n_tokens"], r["n_types"]) == (sum(counts.values()), len(counts))
    direct = analyze_counts(np.array(list(counts.values())), n_resamples=0)
    assert r["fits"]["be"]["A"] == pytest.approx(direct.be.A, rel=1e-12)
    assert r["fits"]["be"]["B"] == pytest.approx(direct.be.B, rel=1e-12)
    table = pd.read_parquet(out / "counts.parquet")
    assert dict(zip(table["word"], table["count"], strict=True)) == counts
    report = (out / "report.md").read_text()
    assert "## Methods" in report and "constraint method" in report and "Vuong" in report
    assert "\\begin{tabular}" in (out / "table.tex").read_text()


@pytest.mark.slow
def test_seed_makes_intervals_reproducible(story: Path, tmp_path: Path) -> None:
    results = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert run_cli(str(story), "--out", str(tmp_path / name), "--bootstrap", "100", "--seed", seed,
                       "--compare", "zipf") == 0
        results.append(read_result(tmp_path / name)["fits"]["be"])
    assert results[0]["B_ci95"] == results[1]["B_ci95"]
    assert results[0]["B_ci95"] != results[2]["B_ci95"]


def test_folder_glob_by_file_csv_and_report_command(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"t{i}.txt").write_text(be_text(10 + i, levels=800))
    (corpus / "notes.md").write_text("not a story " * 50)
    out = tmp_path / "run"
    assert run_cli(str(corpus), "--glob", "*.txt", "--by-file", "--out", str(out), "--bootstrap", "100",
                   "--by-file-bootstrap", "60", "--counts-format", "csv") == 0
    r = read_result(out)
    assert [Path(row["name"]).name for row in r["by_file"]] == ["t0.txt", "t1.txt", "t2.txt"]
    assert sum(r["by_file_summary"].values()) == 3
    assert r["n_tokens"] == sum(row["n_tokens"] for row in r["by_file"])
    per_file = pd.read_csv(out / "counts_by_file.csv", keep_default_na=False)
    assert set(per_file["source"].map(lambda s: Path(s).name)) == {"t0.txt", "t1.txt", "t2.txt"}
    assert (out / "by_file.png").is_file()
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert "## Per text" in (out / "report.md").read_text()


def test_stdin_and_gzip_match_the_file(story: Path, tmp_path: Path, monkeypatch) -> None:
    data = story.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert run_cli("-", "--out", str(tmp_path / "stdin"), "--bootstrap", "0", "--compare", "zipf") == 0
    gz = tmp_path / "story.txt.gz"
    gz.write_bytes(gzip.compress(data))
    assert run_cli(str(gz), "--out", str(tmp_path / "gz"), "--bootstrap", "0", "--compare", "zipf") == 0
    a, b = (read_result(tmp_path / d) for d in ("stdin", "gz"))
    assert a["fits"]["be"]["B"] == b["fits"]["be"]["B"] and a["n_tokens"] == b["n_tokens"]
    assert b["inputs"][0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_tokenizer_flags_are_parsed_and_recorded(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text(be_text(2, levels=600).replace(" ", ", ", 50))
    out = tmp_path / "run"
    assert run_cli(str(text), "--tokenizer", "regex", "--lowercase", "--keep-punctuation", "false",
                   "--keep-numbers", "true", "--out", str(out), "--bootstrap", "0", "--compare", "zipf") == 0
    tok = read_result(out)["tokenizer"]
    assert tok["kind"] == "regex" and tok["lowercase"] and not tok["punctuation"] and tok["numbers"]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"", [], "empty text"),
        (b"... 123 !!! ---\n", [], "empty text"),
        (b"one two three two one four five\n", [], "at least 10 distinct words needed"),
        (b"fine words\n" * 20 + b"bad \xc3\x28 bytes\n", [], "byte 224: not valid utf-8"),
        (b"x " * 100, ["--compare", "gamma"], "unknown model 'gamma'"),
        (b"x " * 100, ["--model", "gpt-4o"], "only used with --generate"),
        (b"x " * 100, ["--bootstrap", "10"], "too few for a 95% interval"),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_folder(tmp_path: Path, capsys, content: bytes, args: list[str],
                                                    message: str) -> None:
    text = tmp_path / "in.txt"
    text.write_bytes(content)
    out = tmp_path / "run"
    assert run_cli(str(text), "--out", str(out), *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and messages(err).startswith("probe: error:") and len(messages(err).splitlines()) == 1
    assert not out.exists()


def test_missing_inputs(tmp_path: Path, capsys) -> None:
    assert run_cli(str(tmp_path / "nope.txt")) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run_cli(str(tmp_path / "empty")) == 2
    assert "no files match '*.txt'" in capsys.readouterr().err


# --- generation -----------------------------------------------------------------------------------

def story_respondent(prompt: str, seed, index: int) -> tuple[str, dict[str, float]]:
    """A deterministic 'model': a Zipf-distributed story per premise; one premise gets a short answer."""
    rng = np.random.default_rng(int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16))
    if "circus" in prompt:
        return "The end.", {}
    p = 1 / np.arange(1, 2001)
    words = [word(i) for i in rng.choice(2000, size=2500, p=p / p.sum())]
    return "Once upon a time " + " ".join(words) + ".", {}


@pytest.mark.slow
def test_generate_records_then_replays_offline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    faults = FaultPlan(script=["ok", "ok", "refusal"])  # the third story is refused
    with ChatServer(respondent=story_respondent, faults=faults) as srv:
        args = ["--generate", "--model", "openai:story-model", "--n", "6", "--min-words", "1000", "--concurrency", "1",
                "--bootstrap", "100", "--by-file-bootstrap", "50", "--compare", "zipf"]
        assert run_cli(*args, "--base-url", srv.url, "--out", str(tmp_path / "rec")) == 0
        assert srv.calls == 6
    rec = read_result(tmp_path / "rec")
    g = rec["generation"]
    assert g["n_requested"] == 6 and g["flag_counts"] == {"short": 2, "refused": 1}
    assert g["n_kept"] == 4 and len(rec["by_file"]) == 4
    stories = [json.loads(line) for line in (tmp_path / "rec" / "stories.jsonl").read_text().splitlines()]
    assert [s["flags"] for s in stories] == [[], [], ["refused", "short"], ["short"], [], []]
    # Replay with no server and no key: identical numbers.
    monkeypatch.delenv("OPENAI_API_KEY")
    assert run_cli(*args, "--replay", "--cassette", str(tmp_path / "rec" / "cassette.jsonl"),
                   "--out", str(tmp_path / "replay")) == 0
    rep = read_result(tmp_path / "replay")
    assert rep["fits"] == rec["fits"] and rep["by_file"] == rec["by_file"]
    assert "sk-test" not in (tmp_path / "rec" / "cassette.jsonl").read_text()


def test_generate_needs_a_model_and_valid_prompts(tmp_path: Path, capsys) -> None:
    assert run_cli("--generate", "--out", str(tmp_path / "r")) == 2
    assert "a model is needed" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\nname = "x"\nmin_words = 10\nmax_tokens = 5\ntemplate = "no premise"\n'
                   'premises = [{id = "a", text = "t"}]\n')
    assert run_cli("--generate", "--model", "openai:x", "--prompt", str(bad), "--out", str(tmp_path / "r")) == 2
    assert "template: must contain {premise}" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_shipped_story_prompts_and_flags() -> None:
    prompts = load_story_prompts("stories")
    assert len(prompts.premises) >= 5 and prompts.min_words >= 1000
    assert "{premise}" in prompts.template
    pats = prompts.refusal_patterns
    assert flag_story("I'm sorry, but I can't write that story.", "stop", 8, min_words=10,
                      refusal_patterns=pats) == ["refused", "short"]
    assert flag_story("A long tale " * 10, "length", 30, min_words=10, refusal_patterns=pats) == ["cut off"]
    assert flag_story("   ", "stop", 0, min_words=10, refusal_patterns=pats) == ["empty"]
    assert flag_story("Once upon a time " * 5, "stop", 20, min_words=10, refusal_patterns=pats) == []


def test_python_call_with_a_count_where_the_bootstrap_kind_goes_names_the_setting(tmp_path: Path) -> None:
    """``probe.words(..., bootstrap=50)`` is a kind/count mix-up: it is refused before any work, by name."""
    import probe
    from probe.errors import SettingError

    with pytest.raises(SettingError, match="bootstrap") as info:
        probe.words(str(tmp_path / "none.txt"), bootstrap=50, out=tmp_path / "w", progress=False)
    assert "n_resamples" in (info.value.hint or "")
    assert not (tmp_path / "w").exists()
