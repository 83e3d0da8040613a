"""API cells of a study run side by side: one rate limit, one budget, clean stops, resume without loss."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from probe.errors import RunStopped
from probe.io import read_jsonl
from probe.pricing import load_prices, price_for
from probe.sweep.execute import run_study_manifest

LIMIT = 20.0  # requests per second the server admits


def api_manifest(tmp_path: Path, url: str, *, temperatures=(0.0, 0.5, 1.0, 1.5), trials: int = 10,
                 model: str = "openai:gpt-4o") -> Path:
    """One API cell per temperature, each 4 contexts x ``trials`` calls."""
    path = tmp_path / "m.toml"
    path.write_text(f'[study]\nexperiment = "bell"\n[settings]\nmodel = "{model}"\ntrials = {trials}\nn_boot = 200\n'
                    f'base_url = "{url}"\n[axes]\ntemperature = [{", ".join(str(t) for t in temperatures)}]\n')
    return path


def records(out: Path) -> list[dict]:
    rows = []
    for cassette in sorted(out.glob("cells/*/cassette.jsonl")):
        rows += read_jsonl(cassette).records
    return rows


def test_concurrent_cells_overlap_and_the_server_sees_at_most_the_limit(tmp_path, make_server, canary_key):
    srv = make_server(max_rps=LIMIT, latency_s=0.05)
    out = tmp_path / "out"
    run = run_study_manifest(api_manifest(tmp_path, srv.url), out=out, rpm=LIMIT * 60, concurrency=4,
                             parallel_cells=4, progress=False, cell_report=False)
    assert [run.states[c.id].state for c in run.cells] == ["done"] * 4
    assert run.calls == 4 * 4 * 10
    # four cells each pacing from scratch would draw 429s by the dozen; through the one shared pacer only a few
    # strays from scheduling jitter on a loaded machine (retried, never lost)
    assert srv.fault_counts["rate_limit"] <= 0.1 * run.calls
    spans = []
    for folder in sorted(out.glob("cells/*")):
        rec = json.loads((folder / "result.json").read_text())["run"]
        spans.append((rec["recorded_first"], rec["recorded_last"]))
    # side by side: every cell's calls began before any other cell's calls ended (one after another, none would)
    assert max(first for first, _ in spans) < min(last for _, last in spans)
    times = sorted(srv.admitted)
    worst = max(sum(1 for t in times[i:] if t - t0 < 1.0) for i, t0 in enumerate(times))
    assert worst <= LIMIT * 1.1 + 1  # four cells in flight, one client's worth of requests


def test_budget_is_the_studys_with_cells_side_by_side_then_resume_repeats_nothing(tmp_path, make_server, canary_key):
    srv = make_server(latency_s=0.02)
    manifest = api_manifest(tmp_path, srv.url)
    out = tmp_path / "out"
    with pytest.raises(RunStopped, match="max_calls = 30"):
        run_study_manifest(manifest, out=out, max_calls=30, concurrency=8, parallel_cells=4, progress=False,
                           cell_report=False)
    assert srv.calls == 30 and len(records(out)) == 30  # exactly the study's budget, not 30 per cell
    states = [c["state"] for c in json.loads((out / "study.json").read_text())["cells"]]
    assert states.count("stopped") >= 1 and "running" not in states
    run = run_study_manifest(manifest, out=out, concurrency=8, parallel_cells=4, progress=False, cell_report=False)
    assert run.calls == 160 - 30 and srv.calls == 160
    keys = [r["key"] for r in records(out)]
    assert len(keys) == 160 and len(set(keys)) == 160  # with srv.calls == 160: no request was asked twice


def test_max_cost_for_the_whole_study_is_not_exceeded_by_concurrent_cells(tmp_path, make_server, canary_key):
    srv = make_server(latency_s=0.02)
    price = price_for("gpt-4o", load_prices())
    manifest = api_manifest(tmp_path, srv.url)
    out = tmp_path / "out"
    probe_run = run_study_manifest(manifest, out=tmp_path / "full", concurrency=8, parallel_cells=4, progress=False,
                                   cell_report=False)
    per_call = probe_run.cost_usd / probe_run.calls
    budget = 37.5 * per_call  # room for 37 calls of the 160
    with pytest.raises(RunStopped, match="max_cost"):
        run_study_manifest(manifest, out=out, max_cost=budget, concurrency=8, parallel_cells=4, progress=False,
                           cell_report=False)
    spent = sum(price.cost(r["usage"]["input_tokens"], r["usage"]["output_tokens"]) for r in records(out))
    assert 0 < spent <= budget
    assert len(records(out)) >= 30  # the budget was used, not split into four small shares up front


def test_ctrl_c_stops_every_cell_in_flight_and_the_rerun_loses_and_repeats_nothing(tmp_path, make_server,
                                                                                     canary_key):
    srv = make_server(max_rps=LIMIT, latency_s=0.1)
    manifest = api_manifest(tmp_path, srv.url, trials=20)  # 320 calls at 20 req/s: about 16 s
    out = tmp_path / "out"
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))  # the user's Ctrl-C
    timer.start()
    try:
        with pytest.raises(RunStopped) as stop:
            run_study_manifest(manifest, out=out, rpm=LIMIT * 60, concurrency=4, parallel_cells=4, progress=False,
                               cell_report=False)
    finally:
        timer.cancel()
    assert stop.value.reason == "interrupted"
    doc = json.loads((out / "study.json").read_text())
    assert {c["state"] for c in doc["cells"]} <= {"stopped", "pending", "done"} and "running" not in str(doc)
    saved = len(records(out))
    assert 0 < saved < 320 and len(srv.admitted) == saved  # every call that was answered was saved
    run = run_study_manifest(manifest, out=out, rpm=LIMIT * 60, concurrency=4, parallel_cells=4, progress=False,
                             cell_report=False)
    assert run.calls == 320 - saved and [run.states[c.id].state for c in run.cells] == ["done"] * 4
    assert len(srv.admitted) == 320 and len({r["key"] for r in records(out)}) == 320  # (429s are not admitted)


def test_an_exception_while_cells_are_in_flight_marks_them_stopped_and_resume_completes(tmp_path, make_server,
                                                                                          canary_key):
    srv = make_server(latency_s=0.05)
    manifest = api_manifest(tmp_path, srv.url, temperatures=(0.0, 0.5, 1.0), trials=5)
    out = tmp_path / "out"

    def interrupt(cell, state):  # a second Ctrl-C (or a bug) in the coordinating thread
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study_manifest(manifest, out=out, concurrency=2, parallel_cells=2, progress=False, cell_report=False,
                           on_cell=interrupt)
    states = [c["state"] for c in json.loads((out / "study.json").read_text())["cells"]]
    assert "running" not in states and states.count("done") >= 1
    run = run_study_manifest(manifest, out=out, concurrency=2, parallel_cells=2, progress=False, cell_report=False)
    assert [run.states[c.id].state for c in run.cells] == ["done"] * 3, [run.states[c.id].error for c in run.cells]
    keys = [r["key"] for r in records(out)]
    assert len(keys) == 60 and len(set(keys)) == 60 and srv.calls == 60


def test_shared_budget_admits_exactly_max_calls_from_many_threads():
    from probe.runner import SharedBudget

    budget = SharedBudget(max_calls=100)
    admitted = []

    def hammer() -> None:
        while budget.start() is None:
            admitted.append(1)
            budget.end(0.0)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 100 and budget.calls == 100 and budget.in_flight == 0
    first = SharedBudget(max_cost=1.0, first_wave=2)
    assert first.start() is None and first.start() is None and first.start() == SharedBudget.WAIT
    first.end(None)  # a failed call frees its place, counts nothing
    assert first.start() is None and first.calls == 0
    first.stop()
    assert first.start() == "interrupted"


def test_cells_sharing_one_cassette_never_run_at_the_same_time(tmp_path, make_server, canary_key):
    """Two prompts x one live model with one cassette (as the Aerts manifest suggests): the cells take turns."""
    srv = make_server(latency_s=0.02)
    path = tmp_path / "m.toml"
    path.write_text(f'[study]\nexperiment = "bell"\n[settings]\nmodel = "openai:gpt-4o"\ntrials = 10\nn_boot = 200\n'
                    f'base_url = "{srv.url}"\ncassette = "{tmp_path / "shared.jsonl"}"\n[axes]\ntemperature = [0.0, 1.0, 1.5]\n')
    out = tmp_path / "out"
    run = run_study_manifest(path, out=out, concurrency=8, parallel_cells=3, progress=False, cell_report=False)
    assert [run.states[c.id].state for c in run.cells] == ["done"] * 3, [run.states[c.id].error for c in run.cells]
    read = read_jsonl(tmp_path / "shared.jsonl")
    assert not read.torn_tail and not read.bad_lines and len(read.records) == 120
    assert len({r["key"] for r in read.records}) == 120
    order = [r["request"]["config"]["temperature"] for r in read.records]  # in the order written
    blocks = [t for i, t in enumerate(order) if i == 0 or t != order[i - 1]]
    assert sorted(blocks) == [0.0, 1.0, 1.5]  # each cell's answers in one block: one cell after another
