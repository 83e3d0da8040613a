"""The published studies' manifests plan and replay offline from the shipped cassettes, counts, texts and
checkpoints."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from probe.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_aerts2025_bell_study_replays_every_cell_and_the_people_row_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "study"
    rc = main(["study", str(ROOT / "analyses/aerts2025-bell/study.toml"), "--replay", "--out", str(out), "--quiet",
               "--no-cell-reports"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "6 of 6 cells done" in printed and " 0 calls" in printed
    frame = pd.read_csv(out / "study.csv")
    minilm = frame[frame["model"] == "embed:minilm"].set_index("prompt")["estimate"]
    # the numbers results.md reports for the replayed MiniLM study
    assert round(minilm["prompt-exploratory.toml"], 2) == 0.07
    assert round(minilm["prompt-neutral.toml"], 2) == 0.32
    assert (out / "forest.png").is_file() and "## Methods" in (out / "report.md").read_text()
    # people are one more row: the illustrative counts file is built to give S = 196/81 exactly
    for frame in (pd.read_csv(out / "study.csv"), pd.read_parquet(out / "study.parquet")):
        people = frame[frame["experiment"] == "bell-counts"]
        assert len(people) == 1
        row = people.iloc[0]
        assert row["model"].startswith("counts:people, illustrative")
        assert abs(row["estimate"] - 196 / 81) < 1e-12 and row["n"] == 4 * 81
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert (out / "forest.svg").read_text().count("people, illustrative") >= 1


@pytest.mark.parametrize("name, cells", [("aerts2025-bell", 6), ("aerts2025-words", 5), ("artificial-entanglement", 8)])
def test_published_manifests_plan_offline(name, cells, capsys, tmp_path):
    out = tmp_path / "study"
    assert main(["study", str(ROOT / "analyses" / name / "study.toml"), "--out", str(out), "--dry-run", "--replay"]) == 0
    printed = capsys.readouterr().out
    assert f"{cells} cells, 0 calls to make" in printed and not out.exists()


def run_shipped(name: str, cells: int, out: Path, capsys) -> pd.DataFrame:
    """Run a published manifest offline into ``out``; its study.csv as a DataFrame."""
    assert main(["study", str(ROOT / "analyses" / name / "study.toml"), "--out", str(out), "--quiet",
                 "--no-cell-reports"]) == 0
    assert f"{cells} of {cells} cells done" in capsys.readouterr().out
    return pd.read_csv(out / "study.csv")


def test_aerts2025_words_study_runs_offline_from_the_shipped_texts(tmp_path, capsys):
    out = tmp_path / "study"
    frame = run_shipped("aerts2025-words", 5, out, capsys).set_index("inputs")
    assert frame.loc["kjv-genesis.txt.gz", "n"] == 38_265  # the shipped Genesis counts, to the word
    assert set(frame["estimand"]) == {"B (bias-corrected)"} and frame["estimate"].notna().all()
    assert (frame["preferred"] == "be").all()  # BE over MB for the human text and every control alike
    known = frame.loc["be-gemini.txt.gz"]  # drawn from BE(A = 1.0054, B = 235.6, d = 0.8), fitted at d = 0.8
    assert known["energy_exponent"] == 0.8 and known["n"] == 3447
    assert known["ci_low"] < 235.6 < known["ci_high"]
    assert round(known["B"], 1) == 287.2  # the paper's constraint estimate, biased up by re-ranking (README)
    assert (out / "forest.png").is_file()


def test_artificial_entanglement_study_runs_offline_from_the_shipped_checkpoints(tmp_path, capsys):
    out = tmp_path / "study"
    frame = run_shipped("artificial-entanglement", 8, out, capsys).set_index("tuned")
    assert list(frame.index) == sorted(frame.index) and (frame["n"] == 6).all()
    depth = frame["estimate"]
    # a rank-r update has S <= ln r at the row/column cut: rank 1 digs the deepest valley, FFT the shallowest
    assert depth["lora-r01-step200.safetensors"] > depth["lora-r16-step200.safetensors"]
    assert depth["lora-r16-step200.safetensors"] > depth["fft-step200.safetensors"]
    pairs = pd.read_csv(out / "paired.csv")
    assert set(pairs["family"]) == {"entangle layers"} and len(pairs[pairs["test"] == "paired-t"]) == 28
