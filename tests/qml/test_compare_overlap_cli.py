"""``probe quantum compare`` and ``probe quantum overlap``: outputs, reproducibility, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.helpers import messages, read_result


def _scores(path, n_seeds=2, shift=0.02):
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(n_seeds):
        for fold in range(5):
            base = 0.85 + 0.03 * rng.normal()
            rows.append({"model": "qsvc", "fold": fold, "seed": seed, "accuracy": base + shift + 0.01 * rng.normal(),
                         "f1": base, "n_train": 120, "n_test": 30})
            rows.append({"model": "svm-rbf", "fold": fold, "seed": seed, "accuracy": base, "f1": base,
                         "n_train": 120, "n_test": 30})
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    return frame


def test_compare_writes_tests_that_match_scipy(tmp_path, cli) -> None:
    frame = _scores(tmp_path / "s.csv")
    out = tmp_path / "run"
    assert cli("compare", str(tmp_path / "s.csv"), "--model-a", "qsvc", "--model-b", "svm-rbf",
               "--out", str(out)) == 0
    for name in ("result.json", "report.md", "table.tex", "paired.png"):
        assert (out / name).exists()
    r = read_result(out)
    assert r["experiment"] == "quantum-compare" and r["n"] == 10
    tests = {t["test"]: t for t in r["tests"]}
    a = frame[frame.model == "qsvc"].sort_values(["fold", "seed"]).accuracy.to_numpy()
    b = frame[frame.model == "svm-rbf"].sort_values(["fold", "seed"]).accuracy.to_numpy()
    assert tests["wilcoxon"]["p_value"] == pytest.approx(stats.wilcoxon(a, b, alternative="greater").pvalue)
    assert tests["paired-t"]["p_value"] == pytest.approx(stats.ttest_rel(a, b, alternative="greater").pvalue)
    assert "corrected-resampled-t" in tests  # n_train/n_test were in the scores
    assert tests["corrected-resampled-t"]["p_value"] > tests["paired-t"]["p_value"]
    report = (out / "report.md").read_text()
    assert "## Methods" in report and "d_z" in report and "n = 10 pairs" in report


def test_compare_two_runs_and_errors(tmp_path, cli, capsys) -> None:
    frame = _scores(tmp_path / "s.csv")
    frame[frame.model == "qsvc"].to_csv(tmp_path / "a.csv", index=False)
    frame[frame.model == "svm-rbf"].to_csv(tmp_path / "b.csv", index=False)
    assert cli("compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--alternative", "two-sided",
               "--out", str(tmp_path / "two")) == 0
    r = read_result(tmp_path / "two")
    assert r["a"]["model"] == "qsvc" and r["alternative"] == "two-sided"
    # several models and no --model-a: one line, non-zero exit, no folder
    assert cli("compare", str(tmp_path / "s.csv"), "--out", str(tmp_path / "bad")) == 2
    err = capsys.readouterr().err
    assert messages(err).count("\n") == 1 and "--model-a" in err
    assert not (tmp_path / "bad").exists()
    assert cli("compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--metric", "auc",
               "--out", str(tmp_path / "bad")) == 2
    assert "no 'auc' column" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_overlap_command_on_arrays(tmp_path, cli) -> None:
    rng = np.random.default_rng(0)
    sizes = {"h1": 120, "h2": 100, "t1": 20}
    centres = {"h1": 0.0, "h2": 3.0, "t1": 1.5}
    x = np.vstack([rng.normal(size=(m, 12)) + centres[c] * np.eye(12)[0] for c, m in sizes.items()])
    y = np.repeat(list(sizes), list(sizes.values()))
    np.save(tmp_path / "e.npy", x)
    np.save(tmp_path / "l.npy", y)
    out = tmp_path / "ov"
    args = ("overlap", str(tmp_path / "e.npy"), str(tmp_path / "l.npy"), "--supcon", "--repeats", "2",
            "--epochs", "20", "--hidden", "16", "--dim", "4", "--metric", "euclidean", "--seed", "3")
    assert cli(*args, "--out", str(out)) == 0
    r = read_result(out)
    assert r["before"]["tail"] == ["t1"]
    assert len(r["supcon"]["held_out_before"]["knn"]["values"]) == 2
    assert (out / "overlap.png").exists() and (out / "embedding.png").exists()
    assert cli(*args, "--out", str(tmp_path / "ov2")) == 0  # same seed, same numbers
    r2 = read_result(tmp_path / "ov2")
    assert r2["supcon"]["held_out_after"] == r["supcon"]["held_out_after"]


def test_overlap_bad_input(tmp_path, cli, capsys) -> None:
    np.save(tmp_path / "e.npy", np.zeros((10, 3)))
    np.save(tmp_path / "l.npy", np.array(["a"] * 9))
    assert cli("overlap", str(tmp_path / "e.npy"), str(tmp_path / "l.npy"), "--out", str(tmp_path / "o")) == 2
    assert "one label per embedding row" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert cli("overlap", str(tmp_path / "missing.npy"), str(tmp_path / "l.npy"), "--out", str(tmp_path / "o")) == 2
    assert not (tmp_path / "o").exists()


def test_probe_cli_and_report_rebuild(tmp_path, capsys) -> None:
    """Through `probe quantum compare` itself, then `probe report RUN` rebuilds the same report."""
    from probe.cli import main
    from probe.report import render_run

    _scores(tmp_path / "s.csv")
    out = tmp_path / "run"
    assert main(["quantum", "compare", str(tmp_path / "s.csv"), "--model-a", "qsvc", "--model-b", "svm-rbf",
                 "--out", str(out)]) == 0
    first = (out / "report.md").read_text()
    (out / "report.md").unlink()
    render_run(out)
    assert (out / "report.md").read_text() == first
    assert main(["quantum", "compare", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "x")]) == 2
    assert "not a run folder or a .csv" in capsys.readouterr().err
