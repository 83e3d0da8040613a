"""Shared fixtures: a loopback chat server, a tiny causal LM and a tiny BERT built on disk (nothing is downloaded)."""

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


@pytest.fixture(scope="session")
def spread_lm(tmp_path_factory) -> Path:
    """A tiny random GPT-2 whose label distribution on the animal-acts AB prompt is far from uniform (max > 2 min),
    for tests whose power needs unequal label probabilities (the first seed that gives it)."""
    import asyncio

    from probe.experiments.bell.design import load_design
    from probe.experiments.bell.trials import build_request
    from probe.providers import create_provider, parse_model
    from probe.providers.base import GenerateConfig

    design = load_design("animal-acts")
    for seed in range(40):
        folder = build_tiny_lm(tmp_path_factory.mktemp(f"spread-{seed}"), seed=seed)
        spec = f"hf:{folder}"
        request = build_request(design, parse_model(spec), "AB", (0, 1, 2, 3), 0, 0, GenerateConfig(), "score")
        probs = asyncio.run(create_provider(spec).score(request)).probs
        if max(probs) > 2 * min(probs):
            return folder
    raise AssertionError("no seed gave a spread label distribution")


__all__ = ["CANARY", "FaultPlan", "build_tiny_lm"]

WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "and", "ran", "to", "house", "big", "small", "red", "blue", "quantum", "state", "model", "word", "entangle", "cut", "site", "page", "law", "area", "volume", "log"]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer, 2-head BERT with hidden size 16 and its WordPiece tokenizer, saved locally."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(vocab_file=str(folder / "vocab.txt")).save_pretrained(str(folder))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def text_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "text.txt"
    path.write_text(" ".join(WORDS * 12))
    return path


@pytest.fixture(scope="session")
def tiny_lora(tiny_bert, tmp_path_factory) -> Path:
    """A peft LoRA adapter (r=2, alpha=6) on query/value of the tiny BERT, with random B."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model
    from transformers import BertModel

    torch.manual_seed(1)
    model = get_peft_model(BertModel.from_pretrained(str(tiny_bert)),
                           LoraConfig(r=2, lora_alpha=6, target_modules=["query", "value"]))
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.5)  # peft starts B at 0; a trained adapter is not
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(str(folder))
    merged = model.merge_and_unload()
    merged_dir = folder.parent / (folder.name + "-merged")
    merged.save_pretrained(str(merged_dir))
    return folder
