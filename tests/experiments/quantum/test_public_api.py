"""``probe.quantum.<study>(...)``: each study as one call with keyword arguments (lists or comma strings),
the report rendered like the CLI's, and ``probe.load_run`` giving the same typed result back."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import probe
from probe.errors import ConfigError, SettingError
from probe.experiments.quantum import classify, compare, mie, overlap, power, rl, tables
from tests.qml.test_models_cli import scores_csv


@pytest.mark.slow
def test_python_one_liner_prints_the_cnot_entangling_power(tmp_path):
    code = ("import probe; print(probe.quantum.power(gate='CNOT', capacity_starts=0, mc_samples=50, "
            f"out={str(tmp_path / 'p')!r}, progress=False).entangling_power)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip()) == pytest.approx(2 / 9, abs=1e-12)
    assert (tmp_path / "p" / "report.md").exists()  # rendered like the CLI's


def test_every_quantum_study_is_one_call_and_loads_back_typed(tmp_path):
    q = probe.quantum
    scores_csv(tmp_path / "s.csv")
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(size=(m, 4)) + 3.0 * i for i, m in enumerate((30, 25, 9))])
    np.save(tmp_path / "e.npy", x)
    np.save(tmp_path / "l.npy", np.repeat(["a", "b", "c"], [30, 25, 9]))
    calls = {
        "p": (power.PowerResult, lambda out: q.power(gate="CZ", capacity_starts=0, mc_samples=50, out=out)),
        "e": (tables.ExpressibilityTableResult,
              lambda out: q.expressibility(ansatz=["ring", "sim2"], qubits=2, layers="1..2", samples=50, out=out)),
        "c": (tables.CapabilityTableResult,
              lambda out: q.capability(ansatz="line", qubits=2, layers=[1], samples=20, out=out)),
        "m": (mie.MieResult, lambda out: q.mie(qubits=3, depths=[1], rates="0,1", circuits=2, trajectories=1, out=out)),
        "k": (classify.ClassifyResult,
              lambda out: q.classify(data="iris", models=["logreg", "svm-rbf"], folds=2, seeds=1, out=out)),
        "v": (compare.CompareResult,
              lambda out: q.compare(tmp_path / "s.csv", model_a="qsvc", model_b="svm-rbf", out=out)),
        "o": (overlap.OverlapResult, lambda out: q.overlap(tmp_path / "e.npy", tmp_path / "l.npy", k=3, out=out)),
        "r": (rl.RLResult, lambda out: q.rl(env="bandit", agent="mlp-dqn", episodes=3, layers=1, eval_episodes=1,
                                            out=out)),
    }
    headline = {"p": lambda r: r.entangling_power, "e": lambda r: r.expressibility("sim2", 2)[0],
                "c": lambda r: r.entangling_capability("line", 1)[0], "m": lambda r: r.mie(1, 1.0)[0],
                "k": lambda r: r.accuracy("logreg")[0], "v": lambda r: r.p_value("wilcoxon"),
                "o": lambda r: r.tail_head["knn"], "r": lambda r: r.eval_return("mlp-dqn")[0]}
    for key, (result_type, call) in calls.items():
        out = tmp_path / f"run-{key}"
        r = call(out)
        assert isinstance(r, result_type), key
        assert (out / "report.md").exists(), key
        back = probe.load_run(out)
        assert type(back) is result_type and back.settings == r.settings, key
        assert headline[key](back) == headline[key](r), key
        assert len(back.to_frame()) > 0, key
    assert probe.load_run(tmp_path / "run-p").entangling_power == pytest.approx(0.2222222222, abs=1e-9)


def test_keyword_arguments_are_checked():
    with pytest.raises(ConfigError, match="unknown argument"):
        probe.quantum.power(gate="CNOT", qubits=3)
    with pytest.raises(SettingError) as exc:
        probe.quantum.mie(qubits=4, rates=[0, 2], progress=False, report=False)
    assert exc.value.param == "rates"


def test_namespace_keeps_the_simulator_and_has_no_clashing_submodules():
    import pkgutil

    from probe.qsim import __all__ as qsim_names

    q = probe.quantum
    assert all(hasattr(q, name) for name in qsim_names)  # Circuit, statevector, ... stay importable
    assert q.Circuit is probe.qsim.Circuit and q.statevector is probe.qsim.statevector
    submodules = {m.name for m in pkgutil.iter_modules(q.__path__)}
    assert not submodules & set(q.STUDIES)
    assert all(callable(getattr(q, name)) for name in q.STUDIES)
