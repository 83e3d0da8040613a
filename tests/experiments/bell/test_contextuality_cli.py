"""`probe bell` beyond CHSH: counts of any rank, general systems, the audit, S(T) and model versus human."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from probe.cli import main


def write_cyclic_counts(path, tables):
    lines = ["context,a,b,count"]
    n = len(tables)
    for i, row in enumerate(tables):
        name = f"Q{i + 1}Q{(i + 1) % n + 1}"
        for cell, k in zip(("+,+", "+,-", "-,+", "-,-"), row, strict=True):
            lines.append(f"{name},{cell},{k}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_rank_6_human_counts_with_audit(tmp_path, capsys):
    csv = tmp_path / "human.csv"
    write_cyclic_counts(csv, [[45, 5, 5, 45]] * 5 + [[5, 45, 45, 5]])
    out = tmp_path / "run"
    assert main(["bell", "--counts", str(csv), "--contexts", "cyclic:6", "--audit", "--n-boot", "500",
                 "--out", str(out)]) == 0
    r = json.loads((out / "result.json").read_text())["result"]
    block = r["contextuality"]
    assert block["cyclic"]["rank"] == 6 and block["cyclic"]["s_odd"] == pytest.approx(4.8)
    assert block["cyclic"]["cnt1"] == pytest.approx(0.8) and block["tests"]["p_cnt1"] < 0.01
    assert block["contextual_fraction"]["value"] == pytest.approx(0.4)
    assert {d["respondent"] for d in r["audit"]["nulls"]} >= {"local_mixture", "joint", "shuffled"}
    for name in ("report.md", "table.tex", "table.csv", "bell.png", "bell.pdf", "audit.png", "audit.svg"):
        assert (out / name).exists(), name
    assert "## Audit" in (out / "report.md").read_text()
    from probe.report import render_run

    files = sorted(p for p in out.iterdir() if p.suffix in (".md", ".tex", ".csv", ".png", ".pdf", ".svg"))
    before = {p.name: p.read_bytes() for p in files}
    render_run(out)  # the report is rebuilt from the run folder alone, byte for byte
    assert before == {p.name: p.read_bytes() for p in files}
    assert "s_odd = 4.8" in capsys.readouterr().out


def test_general_system_counts(tmp_path):
    rows = ["context,outcome,count"]
    names = ["A11A12A13", "A21A22A23", "A31A32A33", "A11A21A31", "A12A22A32", "A13A23A33"]
    for k, name in enumerate(names):
        for outcome in ("+++", "+--", "-+-", "--+") if k < 5 else ("---", "-++", "+-+", "++-"):
            rows.append(f"{name},{outcome},25")
    csv = tmp_path / "pm.csv"
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "pm"
    assert main(["bell", "--counts", str(csv), "--system", "peres-mermin", "--n-boot", "200", "--out", str(out)]) == 0
    doc = json.loads((out / "result.json").read_text())
    r = doc["result"]
    assert r["contextuality"]["contextual_fraction"]["value"] == pytest.approx(1.0)
    assert r["contextuality"]["cbd_lp"] is None  # 18 variables: skipped with a warning
    assert any("skipped" in w for w in doc["warnings"])
    assert doc["experiment"] == "bell-counts" and doc["settings"]["system"] == "peres-mermin"


def test_temperature_surface_and_versus_human_from_an_exact_run(tmp_path):
    out = tmp_path / "exact"
    human = tmp_path / "human.csv"
    human.write_text("experiment,a,b,count\n" + "".join(f"{c},{a},{b},{k}\n" for c in ("AB", "AB'", "A'B", "A'B'")
                                                        for (a, b), k in zip((("+", "+"), ("+", "-"), ("-", "+"),
                                                                              ("-", "-")), (10, 30, 30, 10), strict=True)))
    assert main(["bell", "--model", "sim:quantum", "--mode", "exact", "--orders", "2", "--temperatures", "0.5..2:4",
                 "--versus-human", str(human), "--out", str(out)]) == 0
    r = json.loads((out / "result.json").read_text())["result"]
    surface = r["temperature_surface"]
    assert surface["temperatures"][0] == 0.5 and len(surface["s_odd"]) == 4
    assert surface["s_odd"][0] > surface["s_odd"][-1]
    v = r["versus_human"]
    assert v["df"] == 12 and v["gap_total"] > 0 and v["skill"] < 0  # these humans look nothing like the singlet
    report = (out / "report.md").read_text()
    assert "## S as a function of temperature" in report and "## Model versus human" in report


def test_tempering_is_refused_for_an_undocumented_provider_at_t_not_1(tmp_path):
    from probe.analysis.bell.temperature import tempering_validity

    assert not tempering_validity("openai", temperature=0.3, top_p=None).valid


@pytest.mark.parametrize("args,message", [
    (["--contexts", "cyclic:6"], "add --counts"),
    (["--temperatures", "0.5..2:4"], "--mode exact"),
    (["--counts", "{csv}", "--contexts", "cyclic:5"], "is not a context of the design"),
    (["--counts", "{csv}", "--contexts", "cyclic:40"], "rank must be between 3 and 10"),
])
def test_bad_input_is_one_line(tmp_path, args, message):
    csv = tmp_path / "c.csv"
    write_cyclic_counts(csv, [[1, 1, 1, 1]] * 6)
    cmd = [sys.executable, "-m", "probe", "bell", *[a.replace("{csv}", str(csv)) for a in args],
           "--out", str(tmp_path / "o")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_rank_6_design_with_simulated_null_respondents(tmp_path):
    out = tmp_path / "local"
    assert main(["bell", "--prompt", "animal-acts-rank6", "--model", "sim:local?visibility=0.8", "--trials", "60",
                 "--n-boot", "300", "--out", str(out)]) == 0
    doc = json.loads((out / "result.json").read_text())
    r = doc["result"]
    assert r["design"]["rank"] == 6 and doc["run"]["calls"] == 6 * 60
    assert r["contextuality"]["tests"]["p_cnt1"] > 0.05 and not r["cbd"]["contextual"]
    out = tmp_path / "marginal"
    assert main(["bell", "--prompt", "snow-queen-rank6", "--model", "sim:marginal", "--trials", "60", "--n-boot", "300",
                 "--out", str(out)]) == 0
    r = json.loads((out / "result.json").read_text())["result"]
    assert r["cbd"]["delta"] > 1 and not r["cbd"]["contextual"]  # direct influences only


def test_rank_4_simulated_respondents_refuse_other_designs(tmp_path, capsys):
    assert main(["bell", "--prompt", "animal-acts-rank6", "--model", "sim:quantum", "--trials", "2",
                 "--out", str(tmp_path / "q")]) == 2
    assert "answers the rank-4 design" in capsys.readouterr().err
    assert not (tmp_path / "q").exists()
