"""API cells of a study share one pacer per provider + endpoint + key: the server sees one client."""

from __future__ import annotations

from pathlib import Path

from probe.protocol import How
from probe.providers import parse_model
from probe.session import ModelSession, shared_limits
from probe.sweep.execute import run_study_manifest

LIMIT = 20.0  # requests per second the server admits


def test_sessions_inside_a_study_share_the_pacer_of_their_provider_endpoint_and_key(tmp_path, canary_key):
    how = How(base_url="http://127.0.0.1:9/v1", rpm=600)
    with shared_limits() as shared:
        a = ModelSession(parse_model("openai:gpt-4o"), how, cassette_path=tmp_path / "a.jsonl")
        b = ModelSession(parse_model("openai:gpt-4o-mini"), how, cassette_path=tmp_path / "b.jsonl")
        c = ModelSession(parse_model("openai:gpt-4o"), how.replace(base_url="http://127.0.0.1:8/v1"),
                         cassette_path=tmp_path / "c.jsonl")
        assert a.runner.pacer is b.runner.pacer
        assert c.runner.pacer is not a.runner.pacer
        assert len(shared) == 2
    alone = ModelSession(parse_model("openai:gpt-4o"), how, cassette_path=tmp_path / "d.jsonl")
    assert alone.runner.pacer is not a.runner.pacer  # outside a study every session paces itself


def test_two_api_cells_against_one_limited_server_stay_within_the_limit(tmp_path, make_server, canary_key):
    srv = make_server(max_rps=LIMIT)
    path = tmp_path / "m.toml"
    path.write_text(f'[study]\nexperiment = "bell"\n[settings]\ntrials = 10\nn_boot = 200\nbase_url = "{srv.url}"\n'
                    '[axes]\nmodel = ["openai:model-a", "openai:model-b"]\n')
    out = tmp_path / "out"
    run = run_study_manifest(path, out=out, rpm=LIMIT * 60, concurrency=8, progress=False, cell_report=False)
    assert [run.states[c.id].state for c in run.cells] == ["done", "done"]
    assert run.calls == 2 * 4 * 10
    # two cells each pacing from scratch at the limit would draw many 429s at the hand-over; one shared pacer
    # keeps the study at the limit (a stray 429 from scheduling jitter is retried, never lost)
    assert srv.fault_counts["rate_limit"] <= 2
    times = sorted(srv.admitted)
    assert len(times) == 80
    # every one-second window of the whole study holds at most the limit (plus the server's 10 % burst)
    worst = max(sum(1 for t in times[i:] if t - t0 < 1.0) for i, t0 in enumerate(times))
    assert worst <= LIMIT * 1.1 + 1
    assert Path(out / "study.parquet").is_file()


def test_handover_keeps_what_was_learned_and_restarts_the_measuring_windows():
    from probe.pacing import Pacer

    t = [100.0]
    pacer = Pacer(clock=lambda: t[0])
    pacer.cap = 12.5
    pacer.background = 0.1
    for _i in range(10):
        ticket = pacer.reserve()
        t[0] += 0.05
        pacer.on_success(ticket)
    t[0] += 5.0  # the next cell starts after the analysis of this one
    pacer.handover()
    assert pacer.cap >= 12.5 and pacer.background == 0.1
    assert pacer.summary() is not None
    assert pacer._goodput(t[0]) is None
