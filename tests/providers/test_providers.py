"""Providers against real local backends: a loopback server, a tiny GPT-2, the shipped MiniLM, simulations."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from probe.errors import AuthError, ConfigError, ProviderUnavailable, RateLimited
from probe.experiments.bell.design import load_design
from probe.experiments.bell.trials import build_request
from probe.providers import create_provider, parse_model
from probe.providers.base import GenerateConfig
from probe.testing import ChatServer, FaultPlan

DESIGN = load_design("animal-acts")


def request(spec: str, *, context="AB", order=(0, 1, 2, 3), kind="generate", **cfg):
    config = GenerateConfig(**({"temperature": 1.0, "max_tokens": 8} | cfg))
    return build_request(DESIGN, parse_model(spec), context, order, 0, 0, config, kind)


def run(coro):
    return asyncio.run(coro)


def test_model_specs_resolve_by_prefix():
    assert parse_model("gpt-4o").provider == "openai"
    assert parse_model("o3-mini").provider == "openai"
    assert parse_model("gemini-2.0-flash").provider == "gemini"
    assert parse_model("hf:/x/y").name == "/x/y"
    assert parse_model("embed:minilm?tau=0.1").options == {"tau": "0.1"}
    for bad in ("llama", "foo:bar", "", "openai:"):
        with pytest.raises(ConfigError):
            parse_model(bad)


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AuthError, match="OPENAI_API_KEY"):
        create_provider("gpt-4o")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(AuthError, match="GEMINI_API_KEY"):
        create_provider("gemini-2.0-flash")


# -- openai ----------------------------------------------------------------------------------------
def test_openai_n_logprobs_version_and_fingerprint(server, canary_key):
    p = create_provider("openai:test-model", base_url=server.url)

    async def both():
        r = await p.generate(request("openai:test-model", n=3, top_logprobs=5))
        s = await p.score(request("openai:test-model", kind="score"))
        await p.aclose()
        return r, s

    resp, scores = run(both())
    assert len(resp.texts) == 3
    assert all(t in {"1", "2", "3", "4"} for t in resp.texts)
    assert resp.model_version == "test-model-2026-01-01"
    assert resp.fingerprint == "fp_loopback"
    assert resp.first_token_logprobs is not None and len(resp.first_token_logprobs[0]) == 5
    # the server's respondent puts 0.9 of the mass on the labels in preference 0.4/0.3/0.2/0.1
    np.testing.assert_allclose(scores.probs, [0.4, 0.3, 0.2, 0.1], atol=1e-9)
    assert scores.coverage == pytest.approx(0.9)
    assert server.headers_seen[-1]["authorization"] == f"Bearer {canary_key}"  # the key is sent, not stored


def test_openai_errors_are_translated(make_server, canary_key):
    srv = make_server(faults=FaultPlan(script=["429", "500", "timeout"], retry_after_s=1.5, timeout_sleep_s=2.0))
    async def calls():
        p = create_provider("openai:m", base_url=srv.url, timeout=0.5)
        out = []
        for _ in range(3):
            try:
                await p.generate(request("openai:m"))
            except Exception as exc:  # collected and checked below
                out.append(exc)
        dead = create_provider("openai:m", base_url="http://127.0.0.1:9/v1", timeout=1)
        try:
            await dead.generate(request("openai:m"))
        except Exception as exc:
            out.append(exc)
        return out

    rate, server_error, timeout, refused = run(calls())
    assert isinstance(rate, RateLimited) and rate.retry_after == pytest.approx(1.5)
    assert isinstance(server_error, ProviderUnavailable) and "server error 500" in str(server_error)
    assert isinstance(timeout, ProviderUnavailable) and "timed out" in str(timeout)
    assert isinstance(refused, ProviderUnavailable) and "cannot connect" in str(refused)


# -- gemini ----------------------------------------------------------------------------------------
def test_gemini_through_google_genai(server, canary_key):
    p = create_provider("gemini:gemini-test", base_url=server.root)

    async def both():
        return (await p.generate(request("gemini:gemini-test", n=2)),
                await p.score(request("gemini:gemini-test", kind="score")))

    resp, scores = run(both())
    assert len(resp.texts) == 2 and all(t in {"1", "2", "3", "4"} for t in resp.texts)
    assert resp.model_version == "test-model-2026-01-01"
    np.testing.assert_allclose(scores.probs, [0.4, 0.3, 0.2, 0.1], atol=1e-9)
    # the key travels in a header, the SDK is google-genai
    assert server.headers_seen[-1].get("x-goog-api-key") == canary_key


def test_gemini_rate_limit_translated(make_server, canary_key):
    srv = make_server(faults=FaultPlan(script=["429", "503"], retry_after_s=2))
    p = create_provider("gemini:g", base_url=srv.root)

    async def calls():
        out = []
        for _ in range(2):
            try:
                await p.generate(request("gemini:g"))
            except Exception as exc:
                out.append(exc)
        return out

    rate, unavailable = run(calls())
    assert isinstance(rate, RateLimited) and rate.retry_after == pytest.approx(2)
    assert isinstance(unavailable, ProviderUnavailable)


# -- hf ----------------------------------------------------------------------------------------------
def test_hf_exact_and_sampled_modes_agree(spread_lm):
    """For one prompt and ordering, sampled labels follow the exact label probabilities (chi-square p > 0.01)."""
    spec = f"hf:{spread_lm}"
    p = create_provider(spec)
    scores = run(p.score(request(spec, kind="score")))
    assert sum(scores.probs) == pytest.approx(1)
    assert 0 < scores.coverage <= 1
    n = 3000
    resp = run(p.generate(request(spec, n=n, max_tokens=1, temperature=1.0, seed=1)))
    counts = Counter(resp.texts)
    valid = np.array([counts.get(label, 0) for label in DESIGN.labels])
    assert valid.sum() > 500  # enough answers hit a label
    expected = np.array(scores.probs) * valid.sum()
    assert stats.chisquare(valid, expected).pvalue > 0.01
    # the check has power: the same counts against the probabilities in another order are rejected
    assert stats.chisquare(valid, expected[::-1]).pvalue < 0.01
    # the fraction of answers that are labels estimates the coverage
    se = math.sqrt(scores.coverage * (1 - scores.coverage) / n)
    assert abs(valid.sum() / n - scores.coverage) < 4 * se


def test_hf_sampling_is_reproducible(tiny_lm):
    spec = f"hf:{tiny_lm}"
    a = run(create_provider(spec).generate(request(spec, n=20, seed=3)))
    b = run(create_provider(spec).generate(request(spec, n=20, seed=3)))
    assert a.texts == b.texts


def test_hf_bad_path():
    with pytest.raises(ConfigError, match="no such folder"):
        create_provider("hf:/no/such/model")


# -- embed ---------------------------------------------------------------------------------------------
def test_embed_minilm_softmax_over_cosines():
    p = create_provider("embed:minilm?tau=0.05")
    scores = run(p.score(request("embed:minilm?tau=0.05", kind="score")))
    texts = [o.text for o in request("embed:minilm", kind="score").choice.options]
    vecs = p._encode(["The Animal Acts", *texts])
    cos = vecs[1:] @ vecs[0]
    expected = np.exp(cos / 0.05) / np.exp(cos / 0.05).sum()
    np.testing.assert_allclose(scores.probs, expected, rtol=1e-9)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1)
    # a real model: "The Horse Whinnies" is closer to "The Animal Acts" than a random direction would be
    assert cos.min() > 0.1
    # order of presentation does not matter to a semantic respondent
    shuffled = run(p.score(request("embed:minilm?tau=0.05", kind="score", order=(3, 2, 1, 0))))
    np.testing.assert_allclose(shuffled.probs, scores.probs[::-1], rtol=1e-9)


# -- sim ------------------------------------------------------------------------------------------------
def test_sim_quantum_reaches_tsirelson_and_visibility_scales_it():
    from probe.analysis.bell.chsh import CONTEXTS
    from probe.analysis.bell.exact import chsh_exact

    for v in (1.0, 0.5):
        p = create_provider(f"sim:quantum?visibility={v}")
        table = np.zeros((4, 2, 2))
        for c, ctx in enumerate(CONTEXTS):
            s = run(p.score(request(f"sim:quantum?visibility={v}", context=ctx, kind="score")))
            for pos, cell in enumerate((0, 1, 2, 3)):
                table[c].flat[cell] = s.probs[pos]
        assert chsh_exact(table).S == pytest.approx(2 * math.sqrt(2) * v, abs=1e-12)


def test_sim_classical_never_exceeds_two():
    from probe.analysis.bell.chsh import CONTEXTS
    from probe.analysis.bell.exact import chsh_exact

    p = create_provider("sim:classical")
    table = np.zeros((4, 2, 2))
    for c, ctx in enumerate(CONTEXTS):
        s = run(p.score(request("sim:classical", context=ctx, kind="score")))
        table[c] = np.array(s.probs).reshape(2, 2)
    r = chsh_exact(table)
    assert r.S == pytest.approx(2, abs=1e-12)
    assert r.delta == pytest.approx(0, abs=1e-12)


def test_sim_options_validated():
    with pytest.raises(ConfigError, match="unknown option"):
        create_provider("sim:quantum?visbility=0.5")
    with pytest.raises(ConfigError, match="must be in"):
        create_provider("sim:quantum?visibility=2")
    with pytest.raises(ConfigError, match="unknown simulated"):
        create_provider("sim:telepathy")


def test_chat_server_counts(canary_key):
    with ChatServer(faults=FaultPlan(rate=1.0, kinds=("500",))) as srv:
        p = create_provider("openai:m", base_url=srv.url)
        with pytest.raises(ProviderUnavailable):
            run(p.generate(request("openai:m")))
        assert srv.calls == 1 and srv.fault_counts["500"] == 1
