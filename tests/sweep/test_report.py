"""The study report: paired tests between cells that asked the same trials, the CLI's dry run and rebuild."""

from __future__ import annotations

import math

import probe
from probe.cli import main


def test_paired_comparisons_between_cells_that_share_trials(tmp_path):
    """sim:quantum (S = 2*sqrt(2)) against sim:uniform (S = 0) on the same 30 trials per context, same orders."""
    path = tmp_path / "m.toml"
    path.write_text('[study]\nname = "pairs"\nexperiment = "bell"\n[settings]\ntrials = 30\nn_boot = 200\nseed = 3\n'
                    '[axes]\nmodel = ["sim:quantum", "sim:uniform", "sim:classical"]\n')
    s = probe.study(path, out=tmp_path / "out", progress=False, cell_report=False)
    assert isinstance(s, probe.sweep.StudyResult)
    from probe.report.study import paired_comparisons
    from probe.report.study_table import read_study, study_rows

    pairs, notes = paired_comparisons(tmp_path / "out", study_rows(tmp_path / "out"), read_study(tmp_path / "out"))
    compared = {(a, b) for a, b in zip(pairs["a"], pairs["b"], strict=True)}
    assert len(compared) + len(notes) == 3  # every pair of the three cells: compared, or said why not
    assert len(set(pairs["test"])) >= 3
    assert (pairs["p_holm"] >= pairs["p_value"] - 1e-12).all()  # Holm never lowers a p-value
    q_vs_u = pairs[pairs["a"].str.contains("quantum") & pairs["b"].str.contains("uniform")]
    assert q_vs_u["mean_a"].iloc[0] > q_vs_u["mean_b"].iloc[0]
    assert q_vs_u["n"].iloc[0] == 4 * 30  # paired answer by answer (context, trial, option order)
    frame = s.frame
    quantum = frame[frame["model"] == "sim:quantum"].iloc[0]
    assert abs(quantum["estimate"] - 2 * math.sqrt(2)) < 4 * quantum["se"]
    assert "## Paired comparisons" in (tmp_path / "out" / "report.md").read_text()
    assert "Holm" in (tmp_path / "out" / "report.md").read_text()


def test_cli_dry_run_and_report_rebuild(tmp_path, capsys):
    path = tmp_path / "m.toml"
    path.write_text('[study]\nexperiment = "bell"\n[settings]\nmode = "exact"\nn_boot = 200\n'
                    '[axes]\nmodel = ["sim:quantum", "sim:classical"]\n')
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "2 cells, 8 calls to make" in printed and "reasoning" in printed and "nothing was called" in printed
    assert not out.exists()
    assert main(["study", str(path), "--out", str(out), "--quiet", "--no-cell-reports"]) == 0
    assert "2 of 2 cells done" in capsys.readouterr().out
    (out / "study.csv").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "study.csv").is_file() and (out / "forest.png").is_file()
