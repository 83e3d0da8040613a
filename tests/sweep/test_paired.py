"""Paired comparisons of a study, stored in paired.csv / paired.json: known answers for each family."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from probe.sweep.execute import run_study_manifest


def run(tmp_path, text: str):
    from probe.report.study import render_study

    path = tmp_path / "m.toml"
    path.write_text(text)
    out = tmp_path / "out"
    run_study_manifest(path, out=out, progress=False, cell_report=False)
    render_study(out)
    return out, pd.read_csv(out / "paired.csv"), json.loads((out / "paired.json").read_text())


def test_bell_cells_with_known_different_s_differ_and_identical_cells_give_p_one(tmp_path):
    """sim:quantum (S = 2*sqrt(2)) vs sim:quantum at visibility 0.5 (S = sqrt(2)), 100 trials per context; and
    two cells that differ only in n_boot (an analysis setting): the same answers, so every difference is zero."""
    out, pairs, doc = run(tmp_path, '[study]\nname = "p"\nexperiment = "bell"\n[settings]\ntrials = 100\nseed = 5\n'
                                    '[axes]\nmodel = ["sim:quantum", "sim:quantum?visibility=0.5"]\n'
                                    'n_boot = [200, 300]\n')
    assert set(pairs["family"]) == {"bell answers"}
    assert doc["schema"] == "probe-study-paired/1" and len(doc["comparisons"]) == len(pairs)
    table = pd.read_csv(out / "study.csv").set_index("cell")
    cell = {(m, n): c for c, m, n in zip(table.index, table["model"], table["n_boot"], strict=True)}
    a, b = cell[("sim:quantum", 200)], cell[("sim:quantum?visibility=0.5", 200)]
    differ = pairs[((pairs["a"] == a) & (pairs["b"] == b)) | ((pairs["a"] == b) & (pairs["b"] == a))]
    assert set(differ["test"]) == {"wilcoxon", "sign", "paired-t"}
    row = differ.iloc[0]
    truth = (2 * math.sqrt(2) - math.sqrt(2)) * (1 if row["a"] == a else -1)
    assert row["n"] == 4 * 100
    # the mean paired score of a cell is its signed S (every answer valid, contexts balanced)
    assert abs(row["mean_a"] - table.loc[row["a"], "S"]) < 1e-9
    assert abs(row["mean_b"] - table.loc[row["b"], "S"]) < 1e-9
    assert abs(row["estimate"] - (row["mean_a"] - row["mean_b"])) < 1e-12
    assert row["ci_low"] < truth < row["ci_high"]
    assert (differ["p_holm"] < 1e-3).all()
    c = cell[("sim:quantum", 300)]
    same = pairs[((pairs["a"] == a) & (pairs["b"] == c)) | ((pairs["a"] == c) & (pairs["b"] == a))]
    assert len(same) == 3 and (same["p_value"] == 1.0).all() and (same["p_holm"] == 1.0).all()
    assert (same["estimate"] == 0).all() and (same["ci_low"] == 0).all() and (same["ci_high"] == 0).all()
    assert (pairs["p_holm"] >= pairs["p_value"] - 1e-12).all()
    for _, group in pairs.groupby(["family", "test"]):
        assert len(group) == 6  # every pair of the 4 cells, one family per test
    import probe

    again = probe.study(out).paired  # rebuilt from the folder: the same table as paired.csv
    assert list(again["a"]) == list(pairs["a"]) and list(again["test"]) == list(pairs["test"])
    assert np.allclose(again["p_holm"], pairs["p_holm"], rtol=1e-12)
    report = (out / "report.md").read_text()
    assert "paired.csv" in report and "bell answers" in report


def test_entangle_cells_over_the_same_tensors_are_paired_by_tensor(tmp_path):
    """Rank-1 updates (deep valley at the row/column cut) against dense Gaussian updates of the same base."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    names = [f"layer.{i}.weight" for i in range(6)]
    base = {n: rng.standard_normal((16, 16)).astype("float32") for n in names}
    save_file(base, str(tmp_path / "base.safetensors"))
    save_file({n: w + 0.1 * np.outer(rng.standard_normal(16), rng.standard_normal(16)).astype("float32")
               for n, w in base.items()}, str(tmp_path / "low.safetensors"))
    save_file({n: w + 0.1 * rng.standard_normal((16, 16)).astype("float32") for n, w in base.items()},
              str(tmp_path / "dense.safetensors"))
    out, pairs, _ = run(tmp_path, '[study]\nname = "e"\nexperiment = "entangle-delta"\n[settings]\n'
                                  'base = "base.safetensors"\nbaseline_samples = 2\n'
                                  '[axes]\ntuned = ["low.safetensors", "dense.safetensors"]\n')
    assert set(pairs["family"]) == {"entangle layers"}
    row = pairs[pairs["test"] == "paired-t"].iloc[0]
    low_first = "low" in row["a"]
    assert row["n"] == 6
    # a rank-1 update has S = 0 at the row/column cut: its valley is far deeper than a dense update's
    assert (row["estimate"] > 0.5) if low_first else (row["estimate"] < -0.5)
    assert row["p_value"] < 0.01
    assert (out / "paired.json").is_file()


def test_classify_cells_on_the_same_folds_are_paired_by_split(tmp_path):
    """Two encodings of the QSVC on the same iris splits; logreg, the same in both cells, gives p = 1."""
    out, pairs, _ = run(tmp_path, '[study]\nname = "c"\nexperiment = "quantum-classify"\n[settings]\n'
                                  'data = "iris"\nmodels = ["qsvc", "logreg"]\nfolds = 3\nseeds = 2\n'
                                  '[axes]\nencoding = [["angle"], ["zz"]]\n')
    assert set(pairs["family"]) == {"classify folds"}
    logreg = pairs[pairs["a"].str.endswith(":logreg")]
    assert len(logreg) and (logreg["p_value"] == 1.0).all() and (logreg["estimate"] == 0).all()
    qsvc = pairs[pairs["a"].str.endswith(":qsvc")]
    assert set(qsvc["n"]) == {6}
    scores = {c: pd.DataFrame(json.loads((out / "cells" / c.split(":")[0] / "result.json").read_text())
                              ["result"]["scores"]) for c in (qsvc["a"].iloc[0], qsvc["b"].iloc[0])}
    means = [s[s.model == "qsvc"]["accuracy"].mean() for s in scores.values()]
    assert abs(qsvc["estimate"].iloc[0] - (means[0] - means[1])) < 1e-12
    if not (qsvc["estimate"] == 0).all():
        assert "corrected-resampled-t" in set(qsvc["test"])  # k-fold splits share training data
    table = pd.read_csv(out / "study.csv")
    assert table["estimand"].str.startswith("accuracy (qsvc").all() and table["estimate"].notna().all()
