"""Pacing over real HTTP: rate-independent 429s, stated budgets, and what the providers read from the SDKs.

The loopback server answers through the official openai and google-genai SDKs;
these tests check the wiring (headers and error details reach the runner, the
pacer and the cassette) and the throughput under random 429s (issue 12). The
policy itself, with limits that change and long runs, is tested in virtual
time in ``tests/test_pacing.py``; the rates are measured in
``bench/bell_throughput.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from probe.errors import ProviderError, RateLimited
from probe.experiments.bell.study import run
from probe.experiments.bell.trials import BellSettings
from probe.protocol import How
from probe.providers import create_provider
from probe.providers.base import GenerateConfig, Request
from probe.testing import ChatServer, FaultPlan

from .conftest import CANARY, rows

pytestmark = pytest.mark.slow  # subprocesses, servers and kills: the full suite (CI) runs them

LATENCY_S = 0.2  # latency-bound, as real models are: the CPU (shared here) stays out of the ratio
CONCURRENCY = 4  # issue 12's setting


def study(base: str, out, *, model: str = "openai:pace", trials: int = 50, concurrency: int = CONCURRENCY) -> dict:
    settings = BellSettings(model=model, trials=trials, seed=3, n_boot=200)
    how = How(out=out, base_url=base, concurrency=concurrency, max_attempts=30, progress=False, report=False)
    res = run(settings, how)
    return {**res.result, "run": dict(res.run)}


def calls_per_s(result: dict) -> float:
    return result["run"]["calls"] / result["run"]["elapsed_s"]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> dict:
    with pytest.MonkeyPatch.context() as mp, ChatServer(latency_s=LATENCY_S) as clean:
        mp.setenv("OPENAI_API_KEY", CANARY)
        return study(clean.url, tmp_path_factory.mktemp("clean"))


@pytest.mark.parametrize("share", [0.1, 0.2])
def test_random_429s_cost_at_most_a_fifth_of_the_throughput(tmp_path, canary, clean_run, share):
    """Issue 12: 429s that do not depend on the rate must not pace the run down (same concurrency, same server)."""
    ref = clean_run
    plan = FaultPlan(rate=share, kinds=("429",), seed=7, retry_after_s=0.1)
    with ChatServer(latency_s=LATENCY_S, faults=plan) as srv:
        res = study(srv.url, tmp_path / "faulty")
        injected = srv.fault_counts["429"]
    assert injected >= 0.5 * share * 200
    assert res["run"]["retries"]["rate_limited"] == injected
    assert calls_per_s(res) >= 0.8 * calls_per_s(ref), (calls_per_s(res), calls_per_s(ref), res["run"]["pacing"])
    assert {k: v for k, v in res.items() if k not in ("run", "created", "warnings")} == \
        {k: v for k, v in ref.items() if k not in ("run", "created", "warnings")}


def test_stated_budgets_are_paced_on_and_recorded(tmp_path, canary):
    """OpenAI-style x-ratelimit-* headers: the run keeps under the budgets instead of living off 429s."""
    with ChatServer(rpm=1200, tpm=1_000_000, drained=True) as srv:  # 20 requests/s from an empty bucket
        res = study(srv.url, tmp_path / "budget", concurrency=16)
        refused = srv.fault_counts["budget_requests"]
    n = res["run"]["calls"]
    assert n == 200
    # the first 16 calls go out before any header has come back; after that, unpaced 16 workers would be
    # refused about 3 calls in 4
    assert refused <= 16 + 0.05 * n, (refused, res["run"]["pacing"])
    assert calls_per_s(res) >= 0.8 * 20
    pacing = res["run"]["pacing"]
    assert pacing["server_limits"]["requests"]["limit"] == 1200
    assert pacing["server_limits"]["tokens"]["limit"] == 1_000_000
    # the cassette keeps what the server said with every answer
    cassette = rows(tmp_path / "budget" / "cassette.jsonl")
    assert all(r["rate_limits"]["x-ratelimit-limit-requests"] == "1200" for r in cassette)
    assert all("x-ratelimit-reset-tokens" in r["rate_limits"] for r in cassette)


def test_a_token_budget_is_paced_with_the_estimated_tokens(tmp_path, canary):
    with ChatServer(latency_s=0.0) as probe_srv:  # how many tokens one call of this study is charged
        req = _bell_request(probe_srv)
    charged = len(req[0]) // 4 + 16
    tpm = charged * 20 * 60  # room for 20 calls/s
    with ChatServer(tpm=tpm, drained=True) as srv:
        res = study(srv.url, tmp_path / "tokens", concurrency=16)
        refused = srv.fault_counts["budget_tokens"]
    assert refused <= 16 + 0.05 * 200, (refused, res["run"]["pacing"])  # 16 go out before any header is back
    # the server charges max_tokens up front and refunds the unused part, so the budget lasts for
    # tpm / (tokens really used per call) calls a minute: the pacing follows the refunds (via remaining-tokens)
    used = (res["run"]["input_tokens"] + res["run"]["output_tokens"]) / res["run"]["calls"]
    sustainable = tpm / 60 / used
    assert 0.75 * sustainable <= calls_per_s(res) <= 1.15 * sustainable, (calls_per_s(res), sustainable)
    assert res["run"]["pacing"]["longest_wait_s"].get("tokens", 0) > 0  # the token budget did the pacing


def _bell_request(srv: ChatServer) -> tuple[str, dict]:
    """The prompt text of a Bell call, read back from the server's view of one request."""
    from probe.experiments.bell.design import load_design
    from probe.experiments.bell.trials import build_jobs
    from probe.providers import parse_model

    jobs = build_jobs(load_design("animal-acts"), parse_model("openai:pace"), BellSettings(trials=1, seed=3))
    text = "\n".join(m["content"] for m in jobs[0].request.messages if m["content"])
    return text, {}


def _ask(provider, n: int) -> list[BaseException | object]:
    request = Request(model="m", messages=({"role": "user", "content": "1. yes\n2. no"},),
                      config=GenerateConfig(max_tokens=4))

    async def go():
        out = []
        for _ in range(n):
            try:
                out.append(await provider.generate(request))
            except Exception as exc:  # collected and checked by the caller
                out.append(exc)
        await provider.aclose()
        return out

    return asyncio.run(go())


def test_openai_provider_reads_the_headers_of_answers_and_429s(canary):
    with ChatServer(rpm=120, burst_s=1.0) as srv:  # a bucket of 2
        got = _ask(create_provider("openai:m", base_url=srv.url), 3)
    first, _, refused = got
    assert first.rate_limits["x-ratelimit-limit-requests"] == "120"
    assert first.rate_limits["x-ratelimit-remaining-requests"] == "1"
    assert isinstance(refused, RateLimited)
    assert refused.rate_limits["x-ratelimit-remaining-requests"] == "0"
    assert refused.rate_limits["x-ratelimit-reset-requests"].endswith(("ms", "s"))


def test_gemini_provider_reads_retry_info_and_quota_failure(canary):
    with ChatServer(rpm=60, burst_s=1.0) as srv:  # a bucket of 1
        got = _ask(create_provider("gemini:g", base_url=srv.root), 2)
    assert not isinstance(got[0], BaseException)
    refused = got[1]
    assert isinstance(refused, RateLimited)
    assert refused.rate_limits["quotaId"] == "GenerateRequestsPerMinutePerProjectPerModel"
    assert refused.rate_limits["quotaValue"] == "60"
    assert 0 < refused.retry_after <= 1.0  # RetryInfo.retryDelay: one request refills in a second
    assert refused.retry_after == pytest.approx(float(refused.rate_limits["retryDelay"].rstrip("s")))


@pytest.mark.parametrize("model,base", [("openai:m", "url"), ("gemini:g", "root")])
def test_a_billing_stop_is_not_retried(model, base, canary):
    with ChatServer(faults=FaultPlan(script=["quota"])) as srv:
        (exc,) = _ask(create_provider(model, base_url=getattr(srv, base)), 1)
    assert isinstance(exc, ProviderError) and not isinstance(exc, RateLimited)
    assert "retrying does not help" in str(exc)
