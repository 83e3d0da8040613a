"""Fixtures for the bell tests: a loopback chat server and a tiny causal LM built on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.testing import ChatServer, FaultPlan

CANARY = "sk-canary-0123456789abcdefSECRET"


@pytest.fixture
def server():
    with ChatServer() as srv:
        yield srv


@pytest.fixture
def make_server():
    started: list[ChatServer] = []

    def make(**kwargs) -> ChatServer:
        srv = ChatServer(**kwargs).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def canary_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("GEMINI_API_KEY", CANARY)
    return CANARY


def build_tiny_lm(folder: Path, *, seed: int = 0) -> Path:
    """A 2-layer GPT-2 with a 12-word vocabulary, saved with its tokenizer; weights are random."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = ["[UNK]", "<eos>", "1", "2", "3", "4", "The", "Horse", "Bear", "Growls", "Whinnies", "Answer:"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="<eos>", pad_token="<eos>")
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(words), n_positions=256, n_embd=32, n_layer=2, n_head=2,
                     bos_token_id=1, eos_token_id=1)
    model = GPT2LMHeadModel(cfg)
    with torch.no_grad():  # spread the logits so that the label distribution is far from uniform
        model.transformer.wte.weight.mul_(3.0)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-gpt2"))


__all__ = ["CANARY", "FaultPlan", "build_tiny_lm"]
