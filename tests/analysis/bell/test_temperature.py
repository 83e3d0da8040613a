"""S(T) from one exact pass: tempering, validity, and agreement with sampling on a local model."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from probe.analysis.bell.system import chsh_system
from probe.analysis.bell.temperature import parse_temperatures, s_surface, temper, tempering_validity
from probe.errors import DataError


def test_temper_known_values():
    p = np.array([0.5, 0.3, 0.2, 0.0])
    np.testing.assert_allclose(temper(p, 1.0), p)
    sq = p**2 / (p**2).sum()
    np.testing.assert_allclose(temper(p, 0.5), sq)
    np.testing.assert_allclose(temper(p, 0), [1, 0, 0, 0])
    assert temper(p, 1e6)[:3] == pytest.approx([1 / 3] * 3, abs=1e-5)  # T -> infinity: uniform on the support


def test_surface_of_the_singlet():
    a, b = (1 + 1 / math.sqrt(2)) / 4, (1 - 1 / math.sqrt(2)) / 4
    singlet = [[b, a, a, b], [a, b, b, a], [a, b, b, a], [a, b, b, a]]
    s = s_surface(singlet, chsh_system(), [0.5, 1.0, 2.0], minus_index=0)
    assert s.s_signed[1] == pytest.approx(2 * math.sqrt(2))
    assert s.s_odd[0] > s.s_odd[1] > s.s_odd[2]  # colder = more deterministic, larger |E|
    assert all(d == pytest.approx(0) for d in s.delta)
    assert list(s.to_frame().columns) == ["T", "S", "s_odd", "delta", "cnt1"]


def test_validity_rules():
    assert tempering_validity("openai", temperature=1.0, top_p=None).valid
    assert tempering_validity("gemini", temperature=None, top_p=1.0).valid
    bad = tempering_validity("openai", temperature=0.7, top_p=None)
    assert not bad.valid and "temperature 0.7" in bad.reasons[0]
    assert tempering_validity("hf", temperature=0.7, top_p=None).valid  # raw log-softmax
    assert not tempering_validity("hf", temperature=1.0, top_p=0.9).valid
    assert not tempering_validity("openai", temperature=1.0, top_p=None, missing=2).valid
    assert any("coverage" in w for w in tempering_validity("hf", temperature=1, top_p=None, coverage=[0.5]).warnings)
    with pytest.raises(DataError, match="cannot compute S"):
        s_surface(np.full((4, 4), 0.25), chsh_system(), [1.0], validity=bad)


def test_parse_temperatures():
    assert parse_temperatures("0.2..2.0:10") == pytest.approx(tuple(np.linspace(0.2, 2.0, 10)))
    assert parse_temperatures("0.5,1,2") == (0.5, 1.0, 2.0)
    for bad in ("0..1:5", "a..b", "1,-2", "2..1:3"):
        with pytest.raises(DataError):
            parse_temperatures(bad)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_tempered_exact_pass_matches_sampling_on_a_local_model(spread_lm, temperature):
    """Exact scores at T = 1, tempered to T, agree with labels sampled at T (chi-square p > 0.01), and not with T = 1."""
    from probe.experiments.bell.design import load_design
    from probe.experiments.bell.trials import build_request
    from probe.providers import create_provider, parse_model
    from probe.providers.base import GenerateConfig

    design = load_design("animal-acts")
    spec = f"hf:{spread_lm}"
    provider = create_provider(spec)

    def req(kind, **cfg):
        return build_request(design, parse_model(spec), "AB", (0, 1, 2, 3), 0, 0, GenerateConfig(**cfg), kind)

    scores = asyncio.run(provider.score(req("score", temperature=1.0)))
    resp = asyncio.run(provider.generate(req("generate", temperature=temperature, max_tokens=1, n=3000, seed=7)))
    counts = Counter(resp.texts)
    observed = np.array([counts.get(label, 0) for label in design.labels], dtype=float)
    assert observed.sum() > 300
    tempered = temper(scores.probs, temperature)
    assert stats.chisquare(observed, tempered * observed.sum()).pvalue > 0.01
    assert stats.chisquare(observed, np.array(scores.probs) * observed.sum()).pvalue < 0.01  # T matters here
