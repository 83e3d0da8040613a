"""Batch mode end to end against the loopback server, through the real openai and google-genai SDKs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probe.api import run_study
from probe.batch import Journal, journal_path, status_lines
from probe.cassette import Cassette
from probe.cli import main
from probe.errors import BatchPending
from probe.experiments.bell.study import plan
from probe.experiments.bell.trials import BellSettings
from probe.protocol import How
from probe.testing.batches import BatchPlan
from probe.testing.server import ChatServer
from tests.conftest import CANARY


def _how(out: Path, url: str, **kw) -> How:
    return How(out=out, base_url=url, progress=False, **kw)


def _batch(out: Path, url: str, **kw) -> How:
    return _how(out, url, batch=True, batch_poll_s=0, **kw)


def _no_canary(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            assert CANARY.encode() not in p.read_bytes(), p


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The synchronous 4 x 200 study: the numbers the batch path must reproduce."""
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_API_KEY", CANARY)
    out = tmp_path_factory.mktemp("sync") / "run"
    with ChatServer() as srv:
        res = run_study("bell", BellSettings(model="openai:gpt-4o", trials=200, seed=11), _how(out, srv.url))
    mp.undo()
    return res


def test_batch_study_gives_the_synchronous_result_and_replays(reference, tmp_path, canary_key):
    settings = BellSettings(model="openai:gpt-4o", trials=200, seed=11)
    with ChatServer(batch_plans=[BatchPlan(polls=3)]) as srv:
        res = run_study("bell", settings, _batch(tmp_path / "b", srv.url, batch_wait=True))
        assert srv.batches.created == 1 and srv.batches.uploads == 1
        assert len(srv.batches.billed) == 800 and set(srv.batches.billed.values()) == {1}
        assert srv.calls == 0  # not one synchronous call
    assert res.result == reference.result
    assert res.result["n_total"] == 800
    on_disk = json.loads((tmp_path / "b" / "result.json").read_text())
    assert on_disk["result"] == json.loads((reference.path / "result.json").read_text())["result"]
    import jsonschema

    from probe.runs import SCHEMA_FILE, load_run

    jsonschema.validate(on_disk, json.loads(SCHEMA_FILE.read_text()))
    assert load_run(tmp_path / "b").result == reference.result
    # cost at batch rates: half of what the synchronous run paid for the same tokens
    assert res.run["batch"]["collected"] == 800
    assert res.run["batch"]["cost_usd"] == pytest.approx(reference.run["cost_usd"] / 2, rel=1e-6)
    cassette = Cassette(tmp_path / "b" / "cassette.jsonl", "replay")
    rec = next(iter(cassette._index.values()))
    assert rec["batch"]["id"].startswith("batch_") and rec["batch"]["price_factor"] == 0.5
    assert rec["raw"]["object"] == "chat.completion" and rec["usage"]["input_tokens"] > 0
    replayed = run_study("bell", settings, How(out=tmp_path / "r", cassette=tmp_path / "b" / "cassette.jsonl",
                                                 cassette_mode="replay", progress=False))
    assert replayed.result == reference.result
    _no_canary(tmp_path)


def test_gemini_batch_gives_the_synchronous_result(tmp_path, canary_key):
    settings = BellSettings(model="gemini:gemini-2.0-flash", trials=50, seed=5)
    with ChatServer(batch_plans=[BatchPlan(polls=2)]) as srv:
        sync = run_study("bell", settings, _how(tmp_path / "s", srv.root))
        calls = srv.calls
        res = run_study("bell", settings, _batch(tmp_path / "b", srv.root, batch_wait=True))
        assert srv.calls == calls and srv.batches.created == 1
        assert len(srv.batches.billed) == 200 and set(srv.batches.billed.values()) == {1}
    assert res.result == sync.result
    _no_canary(tmp_path)


def test_expiry_and_line_errors_resubmit_only_what_is_missing(tmp_path, canary_key):
    settings = BellSettings(model="openai:gpt-4o", trials=25, seed=2)
    plans = [BatchPlan(expire=True, complete_fraction=0.5), BatchPlan(error_every=7), BatchPlan()]
    with ChatServer() as ref_srv:
        sync = run_study("bell", settings, _how(tmp_path / "s", ref_srv.url))
    with ChatServer(batch_plans=plans) as srv:
        res = run_study("bell", settings, _batch(tmp_path / "b", srv.url, batch_wait=True))
        assert srv.batches.created == 3
        assert len(srv.batches.billed) == 100 and set(srv.batches.billed.values()) == {1}  # nothing paid twice
        sizes = [b["request_counts"]["total"] for b in srv.batches.batches.values()]
    assert sizes == [100, 50, 7]  # the expired half, then the 7 per-line errors of that half
    assert res.result == sync.result
    journal = Journal(journal_path(tmp_path / "b" / "cassette.jsonl"))
    states = [b.state for b in journal.state.batches.values()]
    assert states == ["expired", "completed", "completed"]
    first = next(iter(journal.state.batches.values()))
    assert sum("batch_expired" in why for why in first.errors.values()) == 50


def test_without_wait_it_submits_exits_and_the_same_call_collects(tmp_path, canary_key):
    settings = BellSettings(model="openai:gpt-4o", trials=10, seed=1)
    with ChatServer(batch_plans=[BatchPlan(polls=2)]) as srv:
        how = _batch(tmp_path / "b", srv.url)
        with pytest.raises(BatchPending) as first:
            run_study("bell", settings, how)
        ids = [b.batch_id for b in first.value.report.open]
        assert len(ids) == 1 and ids[0] in first.value.message
        assert not (tmp_path / "b" / "result.json").exists()
        with pytest.raises(BatchPending):  # polled once: still in progress
            run_study("bell", settings, how)
        res = run_study("bell", settings, how)  # done: collected, analysed
        assert srv.batches.created == 1 and set(srv.batches.billed.values()) == {1}
        sync = run_study("bell", settings, _how(tmp_path / "s", srv.url))
    assert res.result == sync.result


def test_malformed_result_line_is_reported_with_its_key(tmp_path, canary_key, capsys):
    settings = BellSettings(model="openai:gpt-4o", trials=10, seed=4)
    with ChatServer(batch_plans=[BatchPlan(malformed_every=9), BatchPlan()]) as srv:
        run_study("bell", settings, _batch(tmp_path / "b", srv.url, batch_wait=True))
        input_lines = srv.batches.files["file-000001"]["_data"].decode().splitlines()
    bad_keys = {json.loads(line)["custom_id"] for i, line in enumerate(input_lines) if (i + 1) % 9 == 0}
    assert len(bad_keys) == 4
    err = capsys.readouterr().err
    for key in bad_keys:
        assert f"key {key}" in err
    status = "\n".join(status_lines(tmp_path / "b"))
    assert all(key in status for key in bad_keys) and "malformed result line" in status
    assert Cassette(tmp_path / "b" / "cassette.jsonl", "replay").stats.duplicates == 0


def test_budget_applies_before_submission_at_batch_prices(tmp_path, canary_key):
    settings = BellSettings(model="openai:gpt-4o", trials=10, seed=1)
    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        with pytest.raises(BatchPending) as stop:
            run_study("bell", settings, _batch(tmp_path / "b", srv.url, batch_wait=True, max_calls=15))
        assert srv.batches.batches["batch_000002"]["request_counts"]["total"] == 15
        assert stop.value.report.held_back == 25 and "max_calls" in stop.value.report.held_reason
        assert "held back by the budget" in stop.value.message
    sync_plan = plan(settings, How(max_cost=None))
    batch_plan = plan(settings, How(batch=True))
    assert batch_plan.cost_usd == pytest.approx(tuple(c / 2 for c in sync_plan.cost_usd), rel=1e-3)
    assert any("50%" in n for n in batch_plan.notes)
    budget_plan = plan(settings, How(batch=True, max_calls=15))
    assert any("15 of the 40 requests fit --max-calls 15" in n for n in budget_plan.notes)


def test_cli_batch_then_status_then_collect(tmp_path, canary_key, capsys):
    out = tmp_path / "run"
    with ChatServer(batch_plans=[BatchPlan(polls=2)]) as srv:
        argv = ["bell", "--model", "openai:gpt-4o", "--trials", "5", "--base-url", srv.url, "--out", str(out),
                "--batch", "--no-progress"]
        assert main(argv) == 75
        cap = capsys.readouterr()
        assert "batch_000002" in cap.out and "collect with: probe bell" in cap.err
        assert main(["batch", "status", str(out)]) == 0
        status = capsys.readouterr().out
        assert "batch_000002" in status and "20 requests" in status
        assert main([*argv, "--wait", "--poll", "0"]) == 0
        assert "S = " in capsys.readouterr().out
        assert main(["batch", "status", str(out)]) == 0
        status = capsys.readouterr().out
        assert "completed (collected)" in status and "20 collected" in status and "$" in status
    assert main(["bell", "--model", "openai:gpt-4o", "--trials", "5", "--batch", "--replay",
                 "--out", str(tmp_path / "x")]) == 2
    assert "--batch" in capsys.readouterr().err


def _storyteller(prompt, seed, index):
    import random

    rng = random.Random(f"{prompt}|{seed}|{index}")
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dreamed", "of", "fish", "while", "rain", "fell"]
    return " ".join(rng.choice(words) for _ in range(400)), {"the": -0.1}


def test_words_generate_batch_gives_the_synchronous_result(tmp_path, canary_key, capsys):
    def argv(url, out, *extra):
        return ["words", "--generate", "--model", "openai:gpt-4o", "--n", "4", "--min-words", "50", "--base-url",
                url, "--out", str(out), "--no-progress", *extra]

    with ChatServer(respondent=_storyteller, batch_plans=[BatchPlan(polls=1)]) as srv:
        assert main(argv(srv.url, tmp_path / "s")) == 0
        calls = srv.calls
        assert main(argv(srv.url, tmp_path / "b", "--batch")) == 75
        assert main(argv(srv.url, tmp_path / "b", "--batch")) == 0
        assert srv.calls == calls and set(srv.batches.billed.values()) == {1} and len(srv.batches.billed) == 4
    sync = json.loads((tmp_path / "s" / "result.json").read_text())["result"]
    batch = json.loads((tmp_path / "b" / "result.json").read_text())["result"]
    assert batch == sync


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_exact_mode_goes_through_batches_with_logprobs(tmp_path, canary_key, provider):
    model = "openai:gpt-4o" if provider == "openai" else "gemini:gemini-2.0-flash"
    settings = BellSettings(model=model, mode="exact", orders=3, seed=1)
    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        url = srv.url if provider == "openai" else srv.root
        sync = run_study("bell", settings, _how(tmp_path / "s", url))
        res = run_study("bell", settings, _batch(tmp_path / "b", url, batch_wait=True))
        assert srv.batches.created == 1 and len(srv.batches.billed) == 12
    # exact mode sums probabilities in the order answers arrived: equal up to rounding
    assert res.result.keys() == sync.result.keys() and res.result["S"] is not None
    for key, value in sync.result.items():
        if key == "S_per_order":  # listed in the order the answers arrived (a synchronous run's is not fixed)
            value, res.result[key] = sorted(value), sorted(res.result[key])
        close = isinstance(value, float) or (isinstance(value, list) and value and isinstance(value[0], float)) \
            or (isinstance(value, dict) and value and all(isinstance(v, float) for v in value.values()))
        assert res.result[key] == (pytest.approx(value, rel=1e-12, abs=1e-12) if close else value), key


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_lost_create_answer_is_found_by_its_local_id_not_made_again(tmp_path, canary_key, provider):
    """The provider made the batch but its answer never arrived: probe finds it instead of making a second."""
    model = "openai:gpt-4o" if provider == "openai" else "gemini:gemini-2.0-flash"
    settings = BellSettings(model=model, trials=5, seed=3)
    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        url = srv.url if provider == "openai" else srv.root

        def drop(event):
            if event == "create" and srv.batches.created == 1:
                raise ConnectionResetError  # the server closes the connection without answering

        srv.batches.on_event = drop
        res = run_study("bell", settings, _batch(tmp_path / "b", url, batch_wait=True))
        assert srv.batches.created == 1 and set(srv.batches.billed.values()) == {1}
        sync = run_study("bell", settings, _how(tmp_path / "s", url))
    assert res.result == sync.result
    journal = Journal(journal_path(tmp_path / "b" / "cassette.jsonl"))
    created = [r for r in (json.loads(x) for x in journal.path.read_text().splitlines()) if r["event"] == "created"]
    assert len(created) == 1 and created[0]["recovered"] is True


def test_requests_are_split_at_the_size_limits(tmp_path, canary_key, monkeypatch):
    from probe.batch.openai_jobs import OpenAIBatches
    from probe.batch.submit import split

    records = [{"provider": "openai", "key": f"{i:032x}", "body": {"messages": [{"content": "x" * 100}]}}
               for i in range(10)]
    assert [len(g) for g in split(records, max_requests=4, max_bytes=10**9)] == [4, 4, 2]
    one = len(b"".join([]) + __import__("probe.batch.openai_jobs", fromlist=["input_line"]).input_line(
        records[0]["key"], records[0]["body"]))
    assert [len(g) for g in split(records, max_requests=100, max_bytes=3 * one)] == [3, 3, 3, 1]
    monkeypatch.setattr(OpenAIBatches, "max_requests", 15)
    settings = BellSettings(model="openai:gpt-4o", trials=10, seed=8)
    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        res = run_study("bell", settings, _batch(tmp_path / "b", srv.url, batch_wait=True))
        assert [b["request_counts"]["total"] for b in srv.batches.batches.values()] == [15, 15, 10]
        sync = run_study("bell", settings, _how(tmp_path / "s", srv.url))
    assert res.result == sync.result


def test_cells_of_a_sweep_share_one_batch_through_settle_batches(tmp_path, canary_key):
    """How a sweep batches per provider and model: settle every cell's jobs at once, then run the cells."""
    import asyncio

    from probe.experiments.bell.design import load_design
    from probe.experiments.bell.trials import build_jobs
    from probe.providers import parse_model
    from probe.session import settle_batches

    cells = [BellSettings(model="openai:gpt-4o", trials=10, seed=s) for s in (1, 2, 3)]
    ref = parse_model("openai:gpt-4o")
    jobs = [j for c in cells for j in build_jobs(load_design(c.prompt), ref, c)]
    shared = tmp_path / "cassettes" / "openai-gpt-4o.jsonl"
    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        how = How(base_url=srv.url, progress=False, batch_poll_s=0)
        report = asyncio.run(settle_batches(ref, how, cassette_path=shared, jobs=jobs, wait=True))
        assert report.missing == 0 and report.answered == 120 and srv.batches.created == 1
        results = [run_study("bell", c, how.replace(out=tmp_path / f"cell{i}", cassette=shared))
                   for i, c in enumerate(cells)]
        assert srv.calls == 0  # every cell answered from the batch
        syncs = [run_study("bell", c, _how(tmp_path / f"sync{i}", srv.url)) for i, c in enumerate(cells)]
    assert [r.result for r in results] == [s.result for s in syncs]


def test_gemini_response_without_its_key_takes_the_key_of_its_position(tmp_path, canary_key):
    settings = BellSettings(model="gemini:gemini-2.0-flash", trials=10, seed=4)
    with ChatServer(batch_plans=[BatchPlan(malformed_every=9)]) as srv:
        res = run_study("bell", settings, _batch(tmp_path / "b", srv.root, batch_wait=True))
        assert srv.batches.created == 1 and set(srv.batches.billed.values()) == {1}
        sync = run_study("bell", settings, _how(tmp_path / "s", srv.root))
    assert res.result == sync.result


def test_max_cost_holds_back_what_does_not_fit_at_batch_prices(tmp_path, canary_key):
    from probe.batch.requests import estimate_tokens
    from probe.experiments.bell.design import load_design
    from probe.experiments.bell.trials import build_jobs
    from probe.pricing import batch_price, load_prices, price_for
    from probe.providers import parse_model

    settings = BellSettings(model="openai:gpt-4o", trials=10, seed=1)
    ref = parse_model(settings.model)
    jobs = build_jobs(load_design(settings.prompt), ref, settings)
    price = batch_price(price_for("gpt-4o", load_prices()))
    costs = [price.cost(*estimate_tokens(j.request.canonical("openai"))) for j in jobs]
    budget = sum(costs[:12]) + costs[12] / 2  # twelve fit, the thirteenth does not
    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        with pytest.raises(BatchPending) as stop:
            run_study("bell", settings, _batch(tmp_path / "b", srv.url, batch_wait=True, max_cost=budget))
        assert [b["request_counts"]["total"] for b in srv.batches.batches.values()] == [12]
    assert stop.value.report.held_back == 28 and "max_cost" in stop.value.report.held_reason


def test_the_report_says_the_answers_came_from_batch_jobs(tmp_path, canary_key):
    from probe.report import render_run

    with ChatServer(batch_plans=[BatchPlan(polls=1)]) as srv:
        run_study("bell", BellSettings(model="openai:gpt-4o", trials=5, seed=1),
                  _batch(tmp_path / "b", srv.url, batch_wait=True))
    render_run(tmp_path / "b")
    text = (tmp_path / "b" / "report.md").read_text()
    assert "provider batch job(s) (batch_000002; 20 answers collected, $" in text


@pytest.mark.parametrize(("extra", "expected"), [
    (["--model", "sim:quantum", "--batch"], "sim: models have no batch API"),
    (["--model", "openai:gpt-4o", "--wait"], "--wait True: only applies to batch jobs"),
    (["--model", "openai:gpt-4o", "--batch", "--record"], "--batch True: cannot be combined"),
    (["--model", "openai:gpt-4o", "--batch", "--poll", "-1"], "--poll -1.0: must be >= 0 seconds"),
])
def test_bad_batch_flags_get_one_line_and_no_folder(tmp_path, canary_key, capsys, extra, expected):
    out = tmp_path / "run"
    assert main(["bell", "--trials", "3", "--out", str(out), "--no-progress", "--base-url", "http://127.0.0.1:9/v1",
                 *extra]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
