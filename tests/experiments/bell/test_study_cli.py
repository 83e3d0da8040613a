"""`probe bell` end to end: offline default, record/replay, resume, secrets, errors, human counts, reports."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from probe.cli import main
from probe.testing import ChatServer, FaultPlan
from tests.conftest import CANARY
from tests.helpers import messages, read_result

REQUIRED = {"S", "S_odd", "S_se", "S_ci95", "E", "counts", "n", "invalid", "p_value", "p_s_gt_2",
            "marginal_selectivity", "cbd", "model", "model_version", "mode", "seed", "probe_version"}
VOLATILE = {"created", "run", "elapsed_s", "host"}


def load(out: Path) -> dict:
    return read_result(out)


def stable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in VOLATILE}


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_default_offline_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["bell", "--trials", "24", "--n-boot", "500", "--out", str(out)]) == 0
    r = load(out)
    assert REQUIRED <= set(r)
    assert r["model"] == "embed:minilm" and r["mode"] == "sample"
    assert "all-MiniLM-L6-v2" in r["model_version"]
    assert sum(r["n"].values()) + sum(r["invalid"].values()) == 96
    assert set(r["E"]) == {"AB", "AB'", "A'B", "A'B'"}
    for name in ("report.md", "table.tex", "bell.png", "trials.jsonl", "cassette.jsonl", "run.json"):
        assert (out / name).exists(), name
    report = (out / "report.md").read_text()
    assert "## Methods" in report and "embed:minilm" in report
    assert len((out / "trials.jsonl").read_text().splitlines()) == 96
    assert "S =" in capsys.readouterr().out


def test_exact_mode_of_a_simulated_singlet(tmp_path):
    out = tmp_path / "exact"
    assert main(["bell", "--model", "sim:quantum", "--mode", "exact", "--orders", "24", "--out", str(out)]) == 0
    r = load(out)
    assert r["S"] == pytest.approx(2 * math.sqrt(2), abs=1e-12)
    assert r["S_se"] == pytest.approx(0, abs=1e-12)  # no spread across orderings for a simulated respondent
    assert r["run"]["calls"] == 4 * 24
    sampled = tmp_path / "sampled"
    assert main(["bell", "--model", "sim:quantum", "--trials", "400", "--n-boot", "1000", "--out", str(sampled)]) == 0
    s = load(sampled)
    assert abs(s["S"] - r["S"]) < 3 * s["S_se"]  # both modes agree within sampling error
    assert s["run"]["calls"] == 1600


def test_record_then_replay_gives_the_same_result(tmp_path, canary_key):
    rec = tmp_path / "rec"
    with ChatServer() as srv:
        args = ["bell", "--model", "openai:loop-model", "--base-url", srv.url, "--trials", "30", "--n-boot", "1000",
                "--seed", "7"]
        assert main([*args, "--out", str(rec)]) == 0
        assert srv.calls == 120
    # server gone, key gone: replay from the cassette alone
    import os

    os.environ.pop("OPENAI_API_KEY")
    rep = tmp_path / "rep"
    assert main(["bell", "--model", "openai:loop-model", "--trials", "30", "--n-boot", "1000", "--seed", "7",
                 "--cassette", str(rec / "cassette.jsonl"), "--replay", "--out", str(rep)]) == 0
    assert stable(load(rec)) == stable(load(rep))
    assert load(rep)["run"]["calls"] == 0 and load(rep)["run"]["cached"] == 120
    assert load(rec)["model_version"] == "test-model-2026-01-01"
    assert load(rec)["system_fingerprints"] == ["fp_loopback"]


def test_interrupted_run_resumes_without_paying_twice(tmp_path, canary_key, capsys):
    out = tmp_path / "r"
    with ChatServer() as srv:
        args = ["bell", "--model", "openai:m", "--base-url", srv.url, "--trials", "20", "--n-boot", "500",
                "--out", str(out), "--concurrency", "3"]
        assert main([*args, "--max-calls", "25"]) == 3
        err = capsys.readouterr().err
        assert "max-calls 25" in err and "resume with: probe" in err and str(out) in err
        assert not (out / "result.json").exists()
        assert main(args) == 0
        assert srv.calls == 80
        assert max(srv.answered.values()) == 1  # no request answered twice
    r = load(out)
    assert r["run"]["resumed"] is True
    rows = [json.loads(x) for x in (out / "trials.jsonl").read_text().splitlines()]
    assert len(rows) == 80 and len({row["key"] for row in rows}) == 80


def test_resume_with_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["bell", "--model", "sim:uniform", "--trials", "5", "--n-boot", "200", "--out", str(out)]) == 0
    assert main(["bell", "--model", "sim:uniform", "--trials", "5", "--seed", "3", "--n-boot", "200",
                 "--out", str(out)]) == 2
    assert "cannot resume" in capsys.readouterr().err


def test_no_key_in_any_written_file(tmp_path, canary_key):
    out = tmp_path / "leak"
    faults = FaultPlan(rate=0.5, kinds=("echo", "429"), retry_after_s=0.01, seed=1)
    with ChatServer(faults=faults) as srv:
        assert main(["bell", "--model", "openai:m", "--base-url", srv.url, "--trials", "10", "--n-boot", "300",
                     "--out", str(out)]) == 0
        assert srv.fault_counts["echo"] > 0
    blob = all_bytes(out)
    assert CANARY.encode() not in blob
    assert b"[REDACTED]" in blob  # the echoed header was there and was stripped


@pytest.mark.parametrize("args,message", [
    (["--model", "foo:bar"], "unknown provider prefix 'foo'"),
    (["--model", "llama-3"], "cannot tell which provider"),
    (["--model", "gpt-4o"], "OPENAI_API_KEY is not set"),
    (["--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--max-attempts", "1"], "cannot connect"),
    (["--prompt", "no-such-design"], "file not found"),
    (["--trials", "0"], "--trials 0"),
    (["--model", "sim:quantum", "--cassette", "missing.jsonl", "--replay"], "cassette not found"),
])
def test_errors_are_one_line_and_leave_no_folder(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "never"
    code = main(["bell", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert messages(err).startswith("probe: error:") and messages(err).count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_malformed_prompt_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\nname = "x"\nconcept = "C"\n[measurements.A]\nplus = "a"\n')
    assert main(["bell", "--prompt", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: measurements.A.minus: missing" in err
    assert not (tmp_path / "o").exists()


def test_replay_miss_names_the_trial(tmp_path, capsys):
    rec = tmp_path / "rec"
    assert main(["bell", "--model", "sim:quantum", "--trials", "5", "--n-boot", "200", "--out", str(rec)]) == 0
    code = main(["bell", "--model", "sim:quantum", "--trials", "6", "--n-boot", "200", "--replay",
                 "--cassette", str(rec / "cassette.jsonl"), "--out", str(tmp_path / "rep")])
    assert code == 2
    assert "no recorded call for trial 5" in capsys.readouterr().err


def test_human_counts_through_the_same_analysis(tmp_path):
    csv = tmp_path / "human.csv"
    # a table with E(AB) = -0.5 and the others +0.5 (S = 2)
    csv.write_text("experiment,a,b,count\n" + "".join(
        f"{ctx},{a},{b},{n}\n" for ctx, cells in
        {"AB": (10, 30, 30, 10), "AB'": (30, 10, 10, 30), "A'B": (30, 10, 10, 30), "A'B'": (30, 10, 10, 30)}.items()
        for (a, b), n in zip([("+", "+"), ("+", "-"), ("-", "+"), ("-", "-")], cells, strict=True)))
    out = tmp_path / "h"
    assert main(["bell", "--counts", str(csv), "--n-boot", "500", "--out", str(out)]) == 0
    r = load(out)
    assert r["S"] == pytest.approx(2.0)
    assert r["S_se"] == pytest.approx(math.sqrt(4 * 0.75 / 80))
    assert r["mode"] == "counts" and (out / "counts.csv").exists() and (out / "report.md").exists()


def test_report_rebuilds_from_the_run_folder(tmp_path):
    out = tmp_path / "r"
    assert main(["bell", "--model", "sim:classical", "--trials", "20", "--n-boot", "300", "--out", str(out)]) == 0
    before = (out / "report.md").read_text()
    for name in ("report.md", "table.tex", "bell.png"):
        (out / name).unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == before
    assert (out / "table.tex").exists() and (out / "bell.png").exists()


def test_shipped_cassette_replays_the_aerts2025_study_offline(tmp_path, monkeypatch):
    """The recorded MiniLM study replays with no model call, identically twice, with the published numbers."""
    from probe.experiments.bell.study import run
    from probe.experiments.bell.trials import BellSettings
    from probe.protocol import How

    root = Path(__file__).resolve().parents[3]
    cassette = root / "cassettes" / "aerts2025-bell-embed-minilm.jsonl"
    before = cassette.read_bytes()
    monkeypatch.setattr("probe.session.create_provider", None)  # replay must not build a provider
    published = {"prompt-neutral": (0.321, 0.213), "prompt-exploratory": (0.074, 0.217)}  # results.md
    for name, (s_pub, se_pub) in published.items():
        prompt = root / "analyses" / "aerts2025-bell" / f"{name}.toml"
        results = []
        for i in range(2):
            settings = BellSettings(model="embed:minilm", prompt=str(prompt), trials=81, seed=2025)
            res = run(settings, How(out=tmp_path / f"{name}-{i}", cassette=cassette, cassette_mode="replay",
                                    progress=False))
            assert res.run["calls"] == 0 and res.run["cached"] == 324
            results.append(dict(res.result))
        assert results[0] == results[1]
        assert results[0]["S"] == pytest.approx(s_pub, abs=5e-4)
        assert results[0]["S_se"] == pytest.approx(se_pub, abs=5e-4)
        assert "all-MiniLM-L6-v2" in results[0]["model_version"]
        assert results[0]["n_total"] + results[0]["invalid_total"] == 324
    assert cassette.read_bytes() == before  # a shipped cassette is never written


def test_a_run_pointed_at_a_shipped_cassette_never_writes_to_it(tmp_path, capsys):
    root = Path(__file__).resolve().parents[3]
    cassette = root / "cassettes" / "aerts2025-bell-embed-minilm.jsonl"
    before = cassette.read_bytes()
    # auto mode with settings the cassette does not hold: a miss that says what the cassette holds
    assert main(["bell", "--cassette", str(cassette), "--trials", "5", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "read-only" in err and "648 calls" in err
    assert cassette.read_bytes() == before
