"""Every study's tables compile under pdflatex with booktabs, have a CSV beside them, and its figures come as
PNG, PDF and SVG; `probe report` rebuilds them byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

import probe
from probe.report import render_run
from tests.helpers import compile_latex


def _text(path: Path) -> Path:
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(80)]
    path.write_text(" ".join(words[j % (1 + j % 80)] for j in range(5000)) + " χ and − signs")
    return path


def _studies(tmp: Path) -> dict[str, Path]:
    out = {}
    out["bell-sample"] = probe.bell(model="sim:quantum", trials=30, n_boot=200, out=tmp / "b1", progress=False).path
    out["bell-exact"] = probe.bell(model="sim:prbox", mode="exact", out=tmp / "b2", progress=False).path
    out["words"] = probe.words([_text(tmp / "t.txt")], n_resamples=0, out=tmp / "w", progress=False).path
    out["entangle"] = probe.api.call("entangle-random", shape=(16, 16), samples=3, rank=2, out=tmp / "e",
                                     progress=False).path
    q = probe.quantum
    out["power"] = q.power(gate="CNOT", capacity_starts=2, mc_samples=50, out=tmp / "qp", progress=False).path
    out["expressibility"] = q.expressibility(ansatz="ring,sim2", qubits=2, layers="1..2", samples=60, out=tmp / "qe",
                                             progress=False).path
    out["capability"] = q.capability(ansatz="sim1", qubits=2, layers="1..2", samples=30, out=tmp / "qc",
                                     progress=False).path
    out["mie"] = q.mie(qubits=4, depths="1..2", circuits=2, trajectories=2, out=tmp / "qm", progress=False).path
    out["classify"] = q.classify(data="iris", models="svm-rbf,logreg", folds=3, seeds=2, out=tmp / "qk",
                                 progress=False).path
    out["compare"] = q.compare(str(out["classify"]), model_a="svm-rbf", model_b="logreg", out=tmp / "qx",
                               progress=False).path
    out["rl"] = q.rl(env="bandit", agent="mlp-dqn", episodes=4, seeds=1, out=tmp / "qr", progress=False).path
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return _studies(tmp_path_factory.mktemp("paper"))


def test_tables_compile_and_have_csv(runs, tmp_path):
    tables = []
    for name, path in runs.items():
        tex = sorted(path.glob("*.tex"))
        assert tex, name
        for t in tex:
            assert t.with_suffix(".csv").exists(), f"{name}: {t.name} has no CSV beside it"
        tables += tex
    compile_latex(tables, tmp_path / "latex")


@pytest.mark.parametrize("name", ["bell-sample", "bell-exact", "words", "entangle", "power", "expressibility",
                                  "capability", "mie", "classify", "compare", "rl"])
def test_figures_in_three_formats_and_reports_rebuild_byte_for_byte(runs, name):
    path = runs[name]
    pngs = sorted(path.glob("*.png"))
    assert pngs
    for png in pngs:
        for ext in (".pdf", ".svg"):
            assert png.with_suffix(ext).stat().st_size > 0, f"{png.with_suffix(ext).name} missing"
    files = sorted(p for p in path.iterdir() if p.suffix in (".md", ".tex", ".csv", ".png", ".pdf", ".svg"))
    before = {p.name: p.read_bytes() for p in files}
    render_run(path)
    after = {p.name: p.read_bytes() for p in files}
    changed = [k for k in before if before[k] != after[k]]
    assert not changed, f"{name}: not rebuilt byte for byte: {changed}"
