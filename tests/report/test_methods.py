"""The methods paragraph says what the run did, per respondent kind, and nothing it did not."""

from __future__ import annotations

import os

import pytest

import probe
from probe.report.bell import methods_paragraph
from probe.testing import ChatServer
from tests.helpers import read_result


def _paragraph(path):
    r = read_result(path)
    return r, methods_paragraph(r)


def test_embedding_sample_mode_describes_the_softmax_not_a_conversation(tmp_path):
    res = probe.bell(model="embed:minilm?tau=0.07", trials=8, n_boot=200, out=tmp_path / "e", progress=False)
    r, text = _paragraph(res.path)
    assert "softmax(cos(concept, sentence)/τ)" in text and "τ = 0.07" in text
    assert "does not read the prompt" in text
    for absent in ("stateless conversation", "temperature", "tokens", "labels (1, 2, 3, 4)"):
        assert absent not in text, absent
    assert f"We drew {r['trials']} answers per context" in text


def test_exact_mode_mentions_no_test_that_was_not_computed(tmp_path):
    res = probe.bell(model="sim:quantum", mode="exact", orders=3, out=tmp_path / "x", progress=False)
    _, text = _paragraph(res.path)
    for absent in ("Dirichlet", "bootstrap", "Fisher", "z-test", "– draws", "– resamples"):
        assert absent not in text, absent
    assert "3 ordering(s)" in text and "simulated `quantum` respondent" in text


def test_chat_model_sampled_lists_every_sampling_parameter(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with ChatServer() as srv:
        res = probe.bell(model="openai:loop-model", trials=10, temperature=0.7, top_p=0.9, max_tokens=12,
                         base_url=srv.url, n_boot=200, out=tmp_path / "c", progress=False)
    r, text = _paragraph(res.path)
    for present in ("stateless conversation", "temperature 0.7", "top-p 0.9", "at most 12 tokens",
                    "10 answers per context", "one prompt template", f"seed {r['seed']}", "Dirichlet posterior"):
        assert present in text, present


def test_a_replay_gives_the_recording_date_and_the_replay_date(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with ChatServer() as srv:
        rec = probe.bell(model="openai:loop-model", trials=6, base_url=srv.url, n_boot=200, out=tmp_path / "rec",
                         progress=False)
    os.environ.pop("OPENAI_API_KEY", None)
    rep = probe.bell(model="openai:loop-model", trials=6, n_boot=200, cassette=rec.path / "cassette.jsonl",
                     cassette_mode="replay", out=tmp_path / "rep", progress=False)
    r, text = _paragraph(rep.path)
    recorded = r["run"]["recorded_first"][:10]
    assert f"recorded on {recorded} and replayed from the cassette on {r['created'][:10]}" in text


def test_human_counts(tmp_path):
    csv = tmp_path / "h.csv"
    csv.write_text("experiment,a,b,count\n" + "".join(f"{c},+,+,5\n{c},-,-,5\n{c},+,-,2\n{c},-,+,2\n"
                                                      for c in ("AB", "AB'", "A'B", "A'B'")))
    res = probe.bell(counts=csv, n_boot=200, out=tmp_path / "h", progress=False)
    _, text = _paragraph(res.path)
    assert text.startswith(f"Counts were read from `{csv}` (56 answers)")


@pytest.mark.parametrize("model", ["sim:prbox", "sim:classical"])
def test_simulation_names_the_respondent(model, tmp_path):
    res = probe.bell(model=model, trials=10, n_boot=200, out=tmp_path / "s", progress=False)
    _, text = _paragraph(res.path)
    assert f"simulated `{model.split(':')[1]}` respondent" in text and "temperature" not in text
