"""``probe study --batch``: every API cell's requests in one batch per provider + model, exit 75 while pending,
a rerun collects and finishes the cells with the synchronous study's numbers."""

from __future__ import annotations

import json
from pathlib import Path

from probe.cli import main
from probe.report.study_table import study_frame
from probe.sweep.execute import run_study_manifest
from probe.testing.batches import BatchPlan
from probe.testing.server import ChatServer


def manifest(tmp_path: Path, url: str, models=("openai:gpt-4o",), seeds=(1, 2, 3)) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(f'[study]\nname = "b"\nexperiment = "bell"\n[settings]\ntrials = 10\nn_boot = 200\n'
                    f'base_url = "{url}"\n[axes]\nmodel = [{", ".join(repr(m).replace(chr(39), chr(34)) for m in models)}]\n'
                    f'seed = [{", ".join(map(str, seeds))}]\n')
    return path


def cell_results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text())["result"] for p in sorted(out.glob("cells/*/result.json"))}


def test_three_cells_one_batch_exit_75_then_the_rerun_finishes_with_the_synchronous_numbers(tmp_path, canary_key,
                                                                                             capsys):
    out = tmp_path / "out"
    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        path = manifest(tmp_path, srv.url)
        argv = ["study", str(path), "--out", str(out), "--batch", "--quiet", "--no-cell-reports"]
        assert main(argv) == 75
        cap = capsys.readouterr()
        assert "3 of 3 cells wait for batch answers" in cap.err and "collect with: probe study" in cap.err
        assert "batch_" in cap.out  # the open batch's id, one line
        assert srv.batches.created == 1 and srv.calls == 0  # 3 cells x 40 requests: one batch, no direct call
        assert [b["request_counts"]["total"] for b in srv.batches.batches.values()] == [120]
        doc = json.loads((out / "study.json").read_text())
        assert [c["state"] for c in doc["cells"]] == ["pending"] * 3
        assert all("batch pending: 40 of 40 answers" in c["error"] for c in doc["cells"])
        codes = [main(argv) for _ in range(3)]  # later: the same command collects and runs the cells
        assert codes[0] in (0, 75) and 0 in codes
        assert srv.batches.created == 1 and srv.calls == 0 and set(srv.batches.billed.values()) == {1}
        sync = run_study_manifest(path, out=tmp_path / "sync", progress=False, cell_report=False)
        assert sync.calls == 120
    doc = json.loads((out / "study.json").read_text())
    assert [c["state"] for c in doc["cells"]] == ["done"] * 3
    assert cell_results(out) == cell_results(tmp_path / "sync")
    batched, direct = study_frame(out), study_frame(tmp_path / "sync")
    assert batched["estimate"].tolist() == direct["estimate"].tolist()
    for folder in out.glob("cells/*"):  # each cell's result.json names the study's cassette of its model
        cassette = Path(json.loads((folder / "result.json").read_text())["run"]["cassette"])
        assert cassette.parent == out / "batches" and cassette.name.startswith("openai-gpt-4o-")
    # a later run without --batch finds the answers there too: a lost cell result replays offline
    lost = next(out.glob("cells/*/result.json"))
    before = json.loads(lost.read_text())["result"]
    lost.unlink()
    again = run_study_manifest(path, out=out, replay=True, progress=False, cell_report=False)
    assert again.skipped == 2 and again.calls == 0 and json.loads(lost.read_text())["result"] == before


def test_two_models_two_batches_and_wait_finishes_in_one_run(tmp_path, canary_key):
    out = tmp_path / "out"
    with ChatServer(batch_plans=[BatchPlan(polls=2)]) as srv:
        path = manifest(tmp_path, srv.url, models=("openai:gpt-4o", "openai:gpt-4o-mini"), seeds=(1, 2))
        run = run_study_manifest(path, out=out, batch=True, batch_wait=True, batch_poll_s=0, progress=False,
                                 cell_report=False)
        assert srv.batches.created == 2 and srv.calls == 0  # one batch per model, 2 cells x 40 requests each
        assert sorted(b["request_counts"]["total"] for b in srv.batches.batches.values()) == [80, 80]
        assert [run.states[c.id].state for c in run.cells] == ["done"] * 4
        assert run.calls == 160  # the batch requests count as the study's calls
        sync = run_study_manifest(path, out=tmp_path / "sync", progress=False, cell_report=False)
    assert cell_results(out) == cell_results(tmp_path / "sync") and sync.calls == 160
    assert len(list((out / "batches").glob("*.batches.jsonl"))) == 2


def test_study_budget_holds_back_batch_requests_and_a_rerun_sends_the_rest(tmp_path, canary_key, capsys):
    out = tmp_path / "out"
    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        path = manifest(tmp_path, srv.url)
        argv = ["study", str(path), "--out", str(out), "--batch", "--wait", "--poll", "0", "--quiet",
                "--no-cell-reports"]
        assert main([*argv, "--max-calls", "50"]) == 75
        err = capsys.readouterr().err
        assert "70 requests held back by the budget" in err and "--max-calls" in err
        assert sum(b["request_counts"]["total"] for b in srv.batches.batches.values()) == 50
        doc = json.loads((out / "study.json").read_text())
        assert [c["state"] for c in doc["cells"]] == ["done", "pending", "pending"]  # the first cell's 40 fit
        assert main(argv) == 0
        assert sum(b["request_counts"]["total"] for b in srv.batches.batches.values()) == 120
        assert set(srv.batches.billed.values()) == {1} and srv.calls == 0  # nothing paid twice


def test_batch_with_replay_is_one_clear_line(tmp_path, canary_key, capsys):
    path = manifest(tmp_path, "http://127.0.0.1:9/v1")
    assert main(["study", str(path), "--out", str(tmp_path / "o"), "--batch", "--replay", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--batch" in err and "Traceback" not in err
