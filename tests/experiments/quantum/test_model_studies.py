"""The classify, compare, overlap and RL studies through the library: numbers against scipy and closed
forms, parameters named in errors, resuming after an interruption, typed results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from probe.analysis.cross_validation import corrected_se
from probe.errors import DataError, SettingError
from probe.experiments.quantum import classify, compare, overlap, rl
from probe.protocol import How
from probe.runs import ItemLog, load_run
from tests.qml.test_models_cli import scores_csv


def _how(path) -> How:
    return How(out=path, progress=False, report=False)


def _interrupt_after(monkeypatch, n: int) -> None:
    """Make the n-th saved item the last: the run dies right after writing it (like a kill)."""
    real_add = ItemLog.add
    count = []

    def add(self, item_id, value):
        real_add(self, item_id, value)
        count.append(item_id)
        if len(count) == n:
            monkeypatch.setattr(ItemLog, "add", real_add)
            raise KeyboardInterrupt

    monkeypatch.setattr(ItemLog, "add", add)


def _without_time(rows):
    return [{k: v for k, v in r.items() if k not in ("fit_seconds", "seconds")} for r in rows]


# --------------------------------------------------------------------------- classify


def test_classify_scores_summary_tests_and_resume(tmp_path, monkeypatch):
    s = classify.ClassifySettings(data="iris", models="qsvc,svm-rbf,logreg", folds=3, seeds=2, seed=4)
    whole = classify.run(s, _how(tmp_path / "whole"))
    frame = whole.to_frame()
    assert len(frame) == 3 * 3 * 2 and set(frame["seed"]) == {4, 5}
    assert set(frame.columns) >= {"model", "fold", "seed", "accuracy", "f1", "n_train", "n_test"}
    # the summary's corrected SE is Nadeau-Bengio's, from the analysis layer
    q = frame[frame.model == "qsvc"]
    mean, se = whole.accuracy("qsvc")
    assert mean == pytest.approx(q.accuracy.mean())
    assert se == pytest.approx(q.accuracy.std(ddof=1) * np.sqrt(1 / 6 + q.n_test.mean() / q.n_train.mean()))
    assert {(c["a"], c["b"]) for c in whole.comparisons} == {("qsvc", "svm-rbf"), ("qsvc", "logreg")}
    assert {c["test"] for c in whole.comparisons} >= {"wilcoxon", "paired-t", "corrected-resampled-t"}
    # interrupted after 7 rows, the rerun fits only the other 11 and gives the same table
    _interrupt_after(monkeypatch, 7)
    with pytest.raises(KeyboardInterrupt):
        classify.run(s, _how(tmp_path / "cut"))
    assert not (tmp_path / "cut" / "result.json").exists()
    fitted = []
    monkeypatch.setattr(ItemLog, "add", lambda self, i, v, real=ItemLog.add: (fitted.append(i), real(self, i, v)))
    resumed = classify.run(s, _how(tmp_path / "cut"))
    assert len(fitted) == 18 - 7
    assert _without_time(resumed.scores) == _without_time(whole.scores)
    back = load_run(tmp_path / "cut")
    assert isinstance(back, classify.ClassifyResult) and back.settings == s


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"data": ""}, "data"), ({"data": "iris", "models": "qsvm"}, "models"),
    ({"data": "iris", "encoding": "nope"}, "encoding"), ({"data": "iris", "models": "qnn", "encoding": "angle-ring"},
                                                         "encoding"),
    ({"data": "iris", "models": "qnn", "ansatz": "circle"}, "ansatz"), ({"data": "iris", "folds": 1}, "folds"),
    ({"data": "iris", "folds": 60}, "folds"), ({"data": "iris", "seeds": 0}, "seeds"),
    ({"data": "iris", "metric": "auc"}, "metric"), ({"data": "iris", "alpha": 1.5}, "alpha"),
    ({"data": "digits", "models": "qnn"}, "data"),
])
def test_classify_settings_name_the_parameter(kwargs, param):
    with pytest.raises(SettingError) as exc:
        classify.ClassifySettings(**kwargs).validate()
    assert exc.value.param == param and "--" not in str(exc.value)


# --------------------------------------------------------------------------- compare


def test_compare_matches_scipy_and_reads_classify_runs(tmp_path):
    frame = scores_csv(tmp_path / "s.csv")
    r = compare.run(compare.CompareSettings(run_a=str(tmp_path / "s.csv"), model_a="qsvc", model_b="svm-rbf"),
                    _how(tmp_path / "c"))
    a = frame[frame.model == "qsvc"].sort_values(["fold", "seed"]).accuracy.to_numpy()
    b = frame[frame.model == "svm-rbf"].sort_values(["fold", "seed"]).accuracy.to_numpy()
    assert r.n == 10 and r.mean_a == pytest.approx(a.mean())
    assert r.p_value("wilcoxon") == pytest.approx(stats.wilcoxon(a, b, alternative="greater").pvalue)
    assert r.p_value("paired-t") == pytest.approx(stats.ttest_rel(a, b, alternative="greater").pvalue)
    # Nadeau-Bengio: t = mean(d) / corrected SE, df = J - 1
    d = a - b
    t = d.mean() / corrected_se(d, n_train=120, n_test=30)
    assert r.p_value("corrected-resampled-t") == pytest.approx(stats.t.sf(t, df=9))
    assert r.p_value("corrected-resampled-t") > r.p_value("paired-t")
    assert set(r.to_frame()["test"]) == {"wilcoxon", "sign", "paired-t", "corrected-resampled-t"}
    assert isinstance(load_run(tmp_path / "c"), compare.CompareResult)
    # a classify run folder (result.json of the current schema) is a score source too
    classify.run(classify.ClassifySettings(data="iris", models="logreg,svm-rbf", folds=3, seeds=1),
                 _how(tmp_path / "cls"))
    two = compare.run(compare.CompareSettings(run_a=str(tmp_path / "cls"), model_a="logreg", model_b="svm-rbf",
                                              alternative="two-sided"), _how(tmp_path / "c2"))
    assert two.n == 3 and two.result["a"]["model"] == "logreg"


def test_compare_errors_name_the_parameter(tmp_path):
    frame = scores_csv(tmp_path / "s.csv")
    frame[frame.model == "qsvc"].to_csv(tmp_path / "a.csv", index=False)
    for kwargs, param in (({"run_a": str(tmp_path / "s.csv")}, "model_a"),
                          ({"run_a": str(tmp_path / "s.csv"), "model_a": "qsvc"}, "model_b"),
                          ({"run_a": str(tmp_path / "s.csv"), "model_a": "qsvc", "model_b": "qsvc"}, "model_b"),
                          ({"run_a": str(tmp_path / "nope.csv")}, "run_a"), ({"run_a": str(tmp_path)}, "run_a")):
        with pytest.raises(SettingError) as exc:
            compare.CompareSettings(**kwargs).validate()
        assert exc.value.param == param
    with pytest.raises(DataError, match="no 'auc' column"):
        compare.CompareSettings(run_a=str(tmp_path / "a.csv"), run_b=str(tmp_path / "a.csv"), metric="auc").validate()


# --------------------------------------------------------------------------- overlap


def _blobs(tmp_path):
    rng = np.random.default_rng(0)
    sizes = {"h1": 120, "h2": 100, "t1": 20}
    centres = {"h1": 0.0, "h2": 3.0, "t1": 1.5}
    x = np.vstack([rng.normal(size=(m, 12)) + centres[c] * np.eye(12)[0] for c, m in sizes.items()])
    y = np.repeat(list(sizes), list(sizes.values()))
    np.save(tmp_path / "e.npy", x)
    np.save(tmp_path / "l.npy", y)
    return x, y


@pytest.mark.slow
def test_overlap_with_supcon_head_is_seeded(tmp_path):
    from probe.analysis.overlap import class_overlap

    x, y = _blobs(tmp_path)
    s = overlap.OverlapSettings(embeddings=str(tmp_path / "e.npy"), labels=str(tmp_path / "l.npy"), supcon=True,
                                repeats=2, epochs=20, hidden=16, dim=4, metric="euclidean", seed=3)
    r = overlap.run(s, _how(tmp_path / "o1"))
    assert r.before["tail"] == ["t1"]
    direct = class_overlap(x, y, metric="euclidean").tail_head
    assert r.tail_head == pytest.approx(direct)
    assert len(r.supcon["held_out_before"]["knn"]["values"]) == 2
    assert list(r.to_frame()["measure"]) == ["bhattacharyya", "knn", "subspace", "silhouette_tail"]
    again = overlap.run(s, _how(tmp_path / "o2"))
    assert again.supcon["held_out_after"] == r.supcon["held_out_after"]
    assert isinstance(load_run(tmp_path / "o1"), overlap.OverlapResult)


def test_overlap_settings_name_the_parameter(tmp_path):
    for kwargs, param in (({}, "embeddings"), ({"embeddings": "e.npy", "labels": "l.npy"}, "embeddings"),
                          ({"demo": True, "metric": "manhattan"}, "metric"), ({"demo": True, "k": 0}, "k"),
                          ({"demo": True, "supcon": True, "test_size": 1.0}, "test_size")):
        with pytest.raises(SettingError) as exc:
            overlap.OverlapSettings(**kwargs).validate()
        assert exc.value.param == param


# --------------------------------------------------------------------------- rl


def test_rl_summary_comparison_and_resume(tmp_path, monkeypatch):
    s = rl.RLSettings(env="bandit", episodes=30, seeds=3, layers=1, eval_episodes=2)
    whole = rl.run(s, _how(tmp_path / "whole"))
    assert len(whole.runs) == 6 and {x["agent"] for x in whole.summary} == {"vqc-ring-dqn", "mlp-dqn"}
    assert all(len(run["returns"]) == 30 for run in whole.runs)
    mlp = [r for r in whole.runs if r["agent"] == "mlp-dqn"]
    mean, sd = whole.eval_return("mlp-dqn")
    per_seed = [np.mean(r["eval_returns"]) for r in mlp]
    assert mean == pytest.approx(np.mean(per_seed)) and sd == pytest.approx(np.std(per_seed, ddof=1))
    assert list(whole.to_frame()["agent"]) == ["vqc-ring-dqn", "mlp-dqn"]
    _interrupt_after(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        rl.run(s, _how(tmp_path / "cut"))
    resumed = rl.run(s, _how(tmp_path / "cut"))
    assert _without_time(resumed.runs) == _without_time(whole.runs)
    assert resumed.comparisons == whole.comparisons
    assert isinstance(load_run(tmp_path / "cut"), rl.RLResult)


def test_rl_settings_name_the_parameter():
    for kwargs, param in (({"agent": "ppo"}, "agent"), ({"env": "Pendulum-v1"}, "env"),
                          ({"env": "bandit", "episodes": 0}, "episodes"), ({"env": "bandit", "lr": 0}, "lr")):
        with pytest.raises(SettingError) as exc:
            rl.RLSettings(**kwargs).validate()
        assert exc.value.param == param
    assert rl.RLSettings(agent="mlp-dqn").agent == ("mlp-dqn",)


def test_scores_table_accepts_lists_and_strings():
    assert classify.ClassifySettings(data="iris", models=["qsvc", "svm-rbf"]).models == ("qsvc", "svm-rbf")
    assert classify.ClassifySettings(data="iris", classes="3,8").classes == ("3", "8")


def test_classify_plan_estimates_the_qnn_training_time_up_front():
    # iris: 150 rows, 5 folds -> 120 training rows -> 4 minibatches of 32 x 60 epochs = 240 steps, and the
    # 10 splits train together: one stack of 320 samples (4 qubits, 16 amplitudes) a step
    notes = classify.plan(classify.ClassifySettings(data="iris", models=("qsvc", "qnn"), folds=5, seeds=2)).notes
    assert any("each QNN trains its 10 splits together" in n and "qnn 240 Adam steps" in n for n in notes)
    step_ms = classify.QNN_STEP_MS + 320 * (classify.QNN_SAMPLE_MS[0] + 16 * classify.QNN_SAMPLE_MS[1])
    seconds = 240 * step_ms / 1000 + 10 * classify.QSVC_FIT_S * (120 / 1400) ** 2
    assert any(f"about {seconds:.0f} s" in n and f"at ~{step_ms:.0f} ms" in n for n in notes)
    # more splits than one stack holds (16 qubits: 2 splits of 32 samples per stack) -> steps per stack add up
    wide = classify.ClassifySettings(data="iris", models=("qnn",), folds=5, seeds=1, epochs=1)
    data, specs = wide.prepare()
    data = type("Wide", (), {"y": data.y, "n_features": 16})()
    assert "qnn 12 Adam steps" in classify.estimate_note(wide, data, specs)  # 3 stacks x 4 steps
    notes = classify.plan(classify.ClassifySettings(data="iris", models=("qsvc", "svm-rbf"))).notes
    assert notes == ("no QNN to train: the fits take seconds",)
