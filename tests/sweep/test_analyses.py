"""The published studies' manifests replay offline from the shipped cassettes."""

from __future__ import annotations

from pathlib import Path

from probe.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_aerts2025_bell_study_replays_every_cell_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "study"
    rc = main(["study", str(ROOT / "analyses/aerts2025-bell/study.toml"), "--replay", "--out", str(out), "--quiet",
               "--no-cell-reports"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "5 of 5 cells done" in printed and " 0 calls" in printed
    import pandas as pd

    frame = pd.read_csv(out / "study.csv")
    minilm = frame[frame["model"] == "embed:minilm"].set_index("prompt")["estimate"]
    # the numbers results.md reports for the replayed MiniLM study
    assert round(minilm["prompt-exploratory.toml"], 2) == 0.07
    assert round(minilm["prompt-neutral.toml"], 2) == 0.32
    assert (out / "forest.png").is_file() and "## Methods" in (out / "report.md").read_text()
