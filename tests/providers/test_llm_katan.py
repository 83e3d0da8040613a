"""A third-party server: llm-katan (OpenAI and Gemini formats, failure injection), echo backend.

The echo backend answers with the request itself ("[echo] ... User: Here are four
sentences: 1. ... 2. ..."), so every answer is a recital and no S can be computed:
these tests check what must hold whatever the model says: recording, retries,
resume, short answers (llm-katan returns one choice whatever ``n`` asks) and the
error lines. Its 429s carry no Retry-After, so the runner's own backoff applies.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from probe.cli import main
from probe.errors import DataError, ProviderError
from probe.experiments.bell.study import arun
from probe.experiments.bell.trials import BellSettings
from probe.protocol import How
from tests.providers.conftest import llm_katan

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "progress": False}


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def katan(tmp_path_factory):
    with llm_katan(tmp_path_factory.mktemp("katan")) as url:
        yield url


def bell(out: Path, url: str, model: str = "openai:katan", **kw) -> None:
    settings = BellSettings(model=model, trials=kw.pop("trials", 2), n_per_call=kw.pop("n_per_call", 1),
                            seed=3, n_boot=200, **{k: kw.pop(k) for k in list(kw) if k in ("mode",)})
    asyncio.run(arun(settings, How(out=out, base_url=url, report=False, **{**FAST, **kw})))


def test_openai_route_records_recitals_and_reasks_short_answers(tmp_path, katan):
    out = tmp_path / "run"
    with pytest.raises(DataError, match=r"no valid answers.*recital 12"):
        bell(out, f"{katan}/v1", trials=3, n_per_call=3, concurrency=2)
    rows = lines(out / "trials.jsonl")
    short = [r for r in rows if r["kind"] == "short"]
    answers = [r for r in rows if r["kind"] == "answer"]
    assert len(short) == 4 and all(r["asked"] == 3 and r["returned"] == 1 for r in short)
    assert len(answers) == 12 and sum(1 for r in answers if r.get("reask")) == 8  # 2 missing per request
    assert {r["reason"] for r in answers} == {"recital"}
    assert answers[0]["sampling"]["top_k"] == 0 and answers[0]["sampling"]["repeat_penalty"] == 1.0
    assert len(lines(out / "cassette.jsonl")) == 12
    # resume: nothing is asked again, the short requests are not re-sent
    with pytest.raises(DataError):
        bell(out, f"{katan}/v1", trials=3, n_per_call=3)
    assert len(lines(out / "cassette.jsonl")) == 12


def test_exact_mode_without_logprobs_says_so(tmp_path, katan, capsys):
    code = main(["bell", "--model", "openai:katan", "--base-url", f"{katan}/v1", "--mode", "exact",
                 "--out", str(tmp_path / "x"), "--no-progress"])
    err = capsys.readouterr().err
    assert code != 0 and "no log-probabilities returned" in err and "--mode sample" in err


def test_rate_limit_forever_then_resume(tmp_path, capsys):
    out = tmp_path / "run"
    with llm_katan(tmp_path, "--rate-limit-after", "5") as url:
        code = main(["bell", "--model", "openai:katan", "--base-url", f"{url}/v1", "--trials", "2",
                     "--seed", "3", "--concurrency", "1", "--max-attempts", "2", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "rate limited (429)" in err and "5 of 8 answers saved" in err and "resume with: probe bell" in err
    assert len(lines(out / "cassette.jsonl")) == 5
    with llm_katan(tmp_path) as url, pytest.raises(DataError, match="recital 8"):
        bell(out, f"{url}/v1")  # the resumed run asks only the 3 missing requests
    assert len(lines(out / "cassette.jsonl")) == 8


def test_timeouts_after_n_requests_stop_with_what_was_saved(tmp_path):
    with llm_katan(tmp_path, "--timeout-after", "3") as url, \
            pytest.raises(ProviderError, match=r"server error 504; 3 of 8 answers saved") as info:
        bell(tmp_path / "run", f"{url}/v1", concurrency=1, max_attempts=3)
    assert "rerun the same command to resume" in str(info.value)


def test_random_500s_and_overload_503s_are_retried(tmp_path):
    with llm_katan(tmp_path, "--error-rate", "0.4", "--max-inflight", "1", "--latency-ms", "30") as url, \
            pytest.raises(DataError, match="recital 16"):
        bell(tmp_path / "run", f"{url}/v1", trials=4, concurrency=4, max_attempts=30)
    entries = lines(tmp_path / "run" / "cassette.jsonl")
    causes = [c for e in entries for c in e["retry_causes"]]
    assert len(entries) == 16 and causes and set(causes) == {"server_error"}


def test_gemini_route_names_the_header_and_works_with_bearer(tmp_path, katan, monkeypatch, capsys):
    monkeypatch.setenv("GEMINI_API_KEY", "katan-key")
    code = main(["bell", "--model", "gemini:katan", "--base-url", katan, "--trials", "1", "--out",
                 str(tmp_path / "a"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "key rejected (401" in err and "x-goog-api-key" in err and "?auth=bearer" in err
    out = tmp_path / "b"
    with pytest.raises(DataError, match="recital 8"):
        bell(out, katan, model="gemini:katan?auth=bearer", trials=2, n_per_call=2)
    rows = lines(out / "trials.jsonl")
    assert sum(r["kind"] == "short" for r in rows) == 4  # candidate_count 2, one candidate back
    assert sum(r["kind"] == "answer" and r.get("reask", False) for r in rows) == 4
    sampling = next(r["sampling"] for r in rows if r["kind"] == "answer")
    assert sampling["not_sent"] == ["min_p", "repeat_penalty", "top_k"]
