"""Every study writes the same top-level result.json schema, and any run folder loads back as its typed result."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import probe
from probe.protocol import STUDIES, Result
from probe.runs import SCHEMA_FILE, load_run, upgrade_document

SCHEMA = json.loads(SCHEMA_FILE.read_text())


def _counts_csv(path: Path) -> Path:
    rows = ["experiment,a,b,count"]
    for ctx in ("AB", "AB'", "A'B", "A'B'"):
        rows += [f"{ctx},+,+,10", f"{ctx},+,-,5", f"{ctx},-,+,5", f"{ctx},-,-,10"]
    path.write_text("\n".join(rows) + "\n")
    return path


def _text(path: Path) -> Path:
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(60)]
    path.write_text(" ".join(words[j % (1 + j % 60)] for j in range(3000)))
    return path


def _run(experiment: str, tmp: Path) -> Result:
    out = tmp / experiment
    common = {"out": out, "progress": False}
    if experiment == "bell":
        return probe.bell(model="sim:quantum", mode="exact", **common)
    if experiment == "bell-counts":
        return probe.bell(counts=_counts_csv(tmp / "c.csv"), n_boot=200, **common)
    if experiment == "words":
        return probe.words([_text(tmp / "t.txt")], n_resamples=0, **common)
    if experiment == "entangle-random":
        return probe.api.call("entangle-random", shape=(8, 8), samples=3, **common)
    if experiment.startswith("quantum-"):
        return _quantum(experiment, tmp, common)
    raise AssertionError(experiment)


def _quantum(experiment: str, tmp: Path, common: dict) -> Result:
    import numpy as np

    q = probe.quantum
    if experiment == "quantum-power":
        return q.power(gate="CNOT", capacity_starts=0, mc_samples=20, **common)
    if experiment == "quantum-expressibility":
        return q.expressibility(qubits=2, layers=[1], samples=20, **common)
    if experiment == "quantum-capability":
        return q.capability(qubits=2, layers=[1], samples=10, **common)
    if experiment == "quantum-mie":
        return q.mie(qubits=3, depths=[1], circuits=2, **common)
    if experiment == "quantum-classify":
        return q.classify(data="iris", models="logreg,svm-rbf", folds=2, seeds=1, **common)
    if experiment == "quantum-compare":
        rows = ["model,fold,seed,accuracy"] + [f"{m},{f},0,{0.8 + 0.01 * f + (0.02 * f * f if m == 'a' else 0)}"
                                               for m in "ab" for f in range(5)]
        (tmp / "s.csv").write_text("\n".join(rows) + "\n")
        return q.compare(tmp / "s.csv", model_a="a", model_b="b", **common)
    if experiment == "quantum-overlap":
        rng = np.random.default_rng(0)
        np.save(tmp / "e.npy", np.vstack([rng.normal(size=(m, 3)) + 2.0 * i for i, m in enumerate((20, 20, 6))]))
        np.save(tmp / "l.npy", np.repeat(["a", "b", "c"], [20, 20, 6]))
        return q.overlap(tmp / "e.npy", tmp / "l.npy", k=3, **common)
    return q.rl(env="bandit", agent="mlp-dqn", episodes=2, layers=1, eval_episodes=1, **common)


QUANTUM = ["quantum-power", "quantum-expressibility", "quantum-capability", "quantum-mie", "quantum-classify",
           "quantum-compare", "quantum-overlap", "quantum-rl"]


@pytest.mark.parametrize("experiment", ["bell", "bell-counts", "words", "entangle-random", *QUANTUM])
def test_each_study_writes_the_schema_and_loads_back(experiment, tmp_path):
    res = _run(experiment, tmp_path)
    doc = json.loads((res.path / "result.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["experiment"] == experiment and set(doc["settings"])
    back = load_run(res.path)
    assert type(back) is type(res) and back.result == res.result and back.settings == res.settings
    assert back.to_frame().shape[0] >= 1
    # the run.json stamp names the experiment too
    assert json.loads((res.path / "run.json").read_text())["experiment"] == experiment


def test_the_schema_lists_every_registered_study():
    assert set(SCHEMA["properties"]["experiment"]["enum"]) == set(STUDIES)


def test_a_folder_of_the_first_schema_is_upgraded_on_read(tmp_path):
    old = {"experiment": "bell", "probe_version": "0.1.0", "created": "2026-11-25T10:00:00", "model": "sim:quantum",
           "provider": "sim", "mode": "exact", "seed": 0, "temperature": 1.0, "top_p": None, "max_tokens": 16,
           "trials": None, "n_per_call": 1, "order": "random", "orders": 1, "design": {"name": "animal-acts"},
           "S": 2.8284, "warnings": ["w"], "run": {"calls": 4, "cached": 0}}
    doc = upgrade_document(old)
    jsonschema.validate({**doc, "host": {"python": "3", "platform": "x", "machine": "x", "cpus": 1}}, SCHEMA)
    assert doc["experiment"] == "bell" and doc["result"]["S"] == 2.8284 and doc["settings"]["mode"] == "exact"
    (tmp_path / "result.json").write_text(json.dumps(old))
    assert load_run(tmp_path).S == 2.8284
