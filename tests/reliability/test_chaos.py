"""A Bell study survives a flaky API: every trial answered exactly once, the same S as without faults."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from probe.experiments.bell.study import run
from probe.experiments.bell.trials import BellSettings
from probe.protocol import How
from probe.testing import ChatServer, FaultPlan

from .conftest import rows, stable

# transport-level faults: the answer never arrives, so it must be asked again (and paid once)
TRANSPORT = ("429", "500", "502", "503", "timeout", "drop", "malformed", "empty")


def study(srv: ChatServer, out, *, model: str, base: str, trials: int, concurrency: int = 16) -> dict:
    settings = BellSettings(model=model, trials=trials, seed=11, n_boot=2000)
    how = How(out=out, base_url=base, concurrency=concurrency, timeout_s=0.5, max_attempts=12,
              backoff_initial_s=0.01, backoff_max_s=0.2, progress=False)
    res = run(settings, how)
    return {**res.result, "run": dict(res.run)}


@pytest.mark.parametrize("model,trials", [("openai:chaos", 500), ("gemini:chaos", 100)])
def test_chaos_run_matches_the_clean_run(tmp_path, canary, model, trials):
    base = "url" if model.startswith("openai") else "root"
    with ChatServer() as clean:
        ref = study(clean, tmp_path / "clean", model=model, base=getattr(clean, base), trials=trials)
    plan = FaultPlan(rate=0.2, kinds=TRANSPORT, seed=3, retry_after_s=0.02, timeout_sleep_s=1.0)
    with ChatServer(faults=plan) as srv:
        res = study(srv, tmp_path / "chaos", model=model, base=getattr(srv, base), trials=trials)
        injected = dict(srv.fault_counts)
        answered = srv.answered
    n = 4 * trials
    # every fault kind was exercised, and survived
    assert set(injected) == set(TRANSPORT), injected
    assert sum(injected.values()) >= 0.15 * n
    # the same answers, hence the same statistics, as the fault-free run with the same seed
    assert stable(res) == stable(ref)
    assert res["S"] == ref["S"]
    # every trial answered exactly once, paid exactly once
    trial_rows = rows(tmp_path / "chaos" / "trials.jsonl")
    cassette = rows(tmp_path / "chaos" / "cassette.jsonl")
    assert len(trial_rows) == n and len({r["key"] for r in trial_rows}) == n
    assert {r["key"] for r in cassette} == {r["key"] for r in trial_rows}
    assert len(cassette) == n
    assert len(answered) == n and set(answered.values()) == {1}
    # retries and their causes are counted in result.json
    retries = res["run"]["retries"]
    assert sum(retries.values()) == sum(injected.values())
    assert retries["rate_limited"] == injected["429"]
    # a timeout fault answers 504 after 1 s; on a loaded machine the client's 0.5 s timer may not fire first
    server_side = injected["500"] + injected["502"] + injected["503"]
    assert retries["timeout"] + retries["server_error"] == injected["timeout"] + server_side
    assert retries["timeout"] >= 0.8 * injected["timeout"]
    assert retries["bad_response"] >= injected["empty"]
    assert sum(r["attempts"] - 1 for r in cassette) == sum(injected.values())
    (tmp_path.parent / f"chaos-{model.split(':')[0]}.json").write_text(json.dumps(
        {"model": model, "answers": n, "injected": injected, "retries": retries}))


def test_answer_faults_are_counted_not_dropped(tmp_path, canary):
    """Refusals and off-format replies are answers: recorded once, counted invalid, never guessed."""
    plan = FaultPlan(rate=0.3, kinds=("refusal", "wrong_format", "slow", "echo"), seed=5, slow_s=0.05)
    with ChatServer(faults=plan) as srv:
        res = study(srv, tmp_path / "r", model="openai:m", base=srv.url, trials=50)
        injected = Counter(srv.fault_counts)
    assert res["invalid_reasons"].get("refusal", 0) == injected["refusal"]
    # an echo of the headers after the label is not a clean answer either
    assert res["invalid_reasons"].get("unmatched", 0) == injected["wrong_format"] + injected["echo"]
    assert res["invalid_total"] == injected["refusal"] + injected["wrong_format"] + injected["echo"]
    assert res["n_total"] + res["invalid_total"] == 200
    assert res["run"]["retries_total"] == 0  # nothing here is a transport failure
