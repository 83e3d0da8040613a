"""The recorded gemma-3-270m study (cassettes/aerts2025-bell-gemma-3-270m.jsonl) replays offline, no model needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.experiments.bell.study import run
from probe.experiments.bell.trials import BellSettings
from probe.protocol import How

ROOT = Path(__file__).resolve().parents[3]
CASSETTE = ROOT / "cassettes" / "aerts2025-bell-gemma-3-270m.jsonl"
PROMPT = ROOT / "analyses" / "aerts2025-bell" / "prompt-neutral.toml"


def replay(tmp_path, **settings):
    s = BellSettings(model="hf:gemma-3-270m", prompt=str(PROMPT), seed=2025, n_boot=500, **settings)
    return run(s, How(out=tmp_path / s.mode, cassette=CASSETTE, cassette_mode="replay", progress=False, report=False))


def test_exact_mode_over_all_orderings_replays(tmp_path, monkeypatch):
    monkeypatch.setattr("probe.session.create_provider", None)  # replay never builds a provider (no weights needed)
    res = replay(tmp_path, mode="exact", orders=24)
    r = res.result
    assert res.run["calls"] == 0 and res.run["cached"] == 96
    assert r["exact"] and r["orders_scored"] == 24 and r["score_methods"] == {"softmax": 96}
    assert r["S"] == pytest.approx(0.0037, abs=1e-3)  # position bias averages out: every E ~ 0
    assert r["S_se"] == pytest.approx(0.219, abs=2e-3) and r["S_se_fpc"] == 0.0  # all 24 orderings scored
    assert r["position_probs"][0] > 0.55  # the first listed option takes most of the label mass
    assert r["marginal_selectivity"]["consistent"] is None  # no verdict without a stated tolerance


def test_sampled_answers_replay_with_their_invalid_reasons(tmp_path, monkeypatch):
    monkeypatch.setattr("probe.session.create_provider", None)
    res = replay(tmp_path, trials=24, n_per_call=3, order="balanced")
    r = res.result
    assert res.run["calls"] == 0
    assert r["invalid_reasons"].get("recital", 0) > 0 and r["invalid_rate"] > 0.5
    assert r["sampling"]["settings"]["top_k"] == 0
