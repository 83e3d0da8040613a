"""``probe quantum classify | compare | rl | overlap`` through the CLI: parsing, exit codes, the files a
run writes and one-line errors. The numbers are tested through the library in
tests/experiments/quantum/test_model_studies.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import messages, read_result


def scores_csv(path, n_seeds=2, shift=0.02):
    """Two models' accuracy on 5 folds x n_seeds, qsvc a little better, with split sizes."""
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


def test_classify_command(tmp_path, cli, capsys) -> None:
    out = tmp_path / "run"
    assert cli("classify", "--data", "iris", "--models", "qsvc,svm-rbf", "--folds", "3", "--seeds", "1",
               "--seed", "4", "--out", str(out)) == 0
    stdout = capsys.readouterr().out
    assert "qsvc (quantum):" in stdout and "±" in stdout
    r = read_result(out)
    assert r["settings"]["models"] == ["qsvc", "svm-rbf"] and r["seeds"] == [4]
    for name in ("report.md", "table.tex", "scores.png", "items.jsonl"):
        assert (out / name).exists()


def test_classify_bad_input(tmp_path, cli, capsys) -> None:
    out = tmp_path / "bad"
    assert cli("classify", "--data", "digits", "--models", "qnn", "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "--data digits" in err and "64 qubits" in err and not out.exists()
    assert cli("classify", "--data", "nope.csv", "--out", str(out)) == 2
    assert "no such file" in capsys.readouterr().err and not out.exists()
    assert cli("classify", "--data", "iris", "--models", "qsvm", "--out", str(out)) == 2
    assert "--models qsvm: unknown model" in capsys.readouterr().err and not out.exists()
    assert cli("classify", "--data", "iris", "--folds", "1", "--out", str(out)) == 2
    assert "--folds 1" in capsys.readouterr().err and not out.exists()


def test_compare_command_and_report_rebuild(tmp_path, cli, capsys) -> None:
    from probe.report import render_run

    scores_csv(tmp_path / "s.csv")
    out = tmp_path / "run"
    assert cli("compare", str(tmp_path / "s.csv"), "--model-a", "qsvc", "--model-b", "svm-rbf",
               "--out", str(out)) == 0
    assert "n = 10 pairs" in capsys.readouterr().out
    for name in ("result.json", "report.md", "table.tex", "paired.png"):
        assert (out / name).exists()
    first = (out / "report.md").read_text()
    (out / "report.md").unlink()
    render_run(out)
    assert (out / "report.md").read_text() == first


def test_compare_errors(tmp_path, cli, capsys) -> None:
    frame = scores_csv(tmp_path / "s.csv")
    frame[frame.model == "qsvc"].to_csv(tmp_path / "a.csv", index=False)
    frame[frame.model == "svm-rbf"].to_csv(tmp_path / "b.csv", index=False)
    # several models and no --model-a: one line, non-zero exit, no folder
    assert cli("compare", str(tmp_path / "s.csv"), "--out", str(tmp_path / "bad")) == 2
    err = capsys.readouterr().err
    assert messages(err).count("\n") == 1 and "--model-a" in err
    assert cli("compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--metric", "auc",
               "--out", str(tmp_path / "bad")) == 2
    assert "no 'auc' column" in capsys.readouterr().err
    assert cli("compare", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "bad")) == 2
    assert "not a run folder or a .csv" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_rl_command_outputs_and_errors(tmp_path, cli, capsys) -> None:
    out = tmp_path / "rl"
    assert cli("rl", "--env", "bandit", "--agent", "mlp-dqn", "--episodes", "5", "--layers", "1",
               "--eval-episodes", "1", "--no-per", "--out", str(out)) == 0
    assert "mlp-dqn" in capsys.readouterr().out
    r = read_result(out)
    assert r["settings"]["prioritized"] is False and r["config"]["prioritized"] is False
    for name in ("report.md", "table.tex", "learning.png", "items.jsonl"):
        assert (out / name).exists()
    assert cli("rl", "--env", "Pendulum-v1", "--out", str(tmp_path / "bad")) == 2
    assert "--env Pendulum-v1" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    assert cli("rl", "--agent", "ppo", "--out", str(tmp_path / "bad")) == 2
    assert "--agent ppo" in capsys.readouterr().err and not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_overlap_command_on_arrays(tmp_path, cli, capsys) -> None:
    rng = np.random.default_rng(0)
    sizes = {"h1": 60, "h2": 50, "t1": 12}
    x = np.vstack([rng.normal(size=(m, 6)) + 3.0 * i * np.eye(6)[0] for i, m in enumerate(sizes.values())])
    np.save(tmp_path / "e.npy", x)
    np.save(tmp_path / "l.npy", np.repeat(list(sizes), list(sizes.values())))
    out = tmp_path / "ov"
    assert cli("overlap", str(tmp_path / "e.npy"), str(tmp_path / "l.npy"), "--metric", "euclidean",
               "--out", str(out)) == 0
    assert "tail→head overlap" in capsys.readouterr().out
    assert read_result(out)["before"]["tail"] == ["t1"]
    assert (out / "overlap.png").exists() and (out / "embedding.png").exists()


def test_overlap_bad_input(tmp_path, cli, capsys) -> None:
    np.save(tmp_path / "e.npy", np.zeros((10, 3)))
    np.save(tmp_path / "l.npy", np.array(["a"] * 9))
    assert cli("overlap", str(tmp_path / "e.npy"), str(tmp_path / "l.npy"), "--out", str(tmp_path / "o")) == 2
    assert "one label per embedding row" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert cli("overlap", str(tmp_path / "missing.npy"), str(tmp_path / "l.npy"), "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert "EMBEDDINGS" in err and "no such file" in err
    assert not (tmp_path / "o").exists()
    assert cli("overlap", "--out", str(tmp_path / "o")) == 2
    assert not (tmp_path / "o").exists()
