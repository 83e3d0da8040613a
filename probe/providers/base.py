"""The one interface every model backend implements, and the request/response types it speaks.

A provider turns a :class:`Request` into a :class:`Response` (``generate``: sampled
answers) or a :class:`Scores` (``score``: the probability of each answer option).
Providers do not retry, throttle, cache or record: the runner and the cassette do
that once, for all of them (see ``probe/runner.py`` and ``probe/cassette.py``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

from probe.errors import RETRYABLE, ProviderError, Unsupported

Kind = Literal["generate", "score"]


@dataclass(frozen=True, slots=True)
class GenerateConfig:
    """Sampling settings; every field ``None`` means "the provider's default"."""

    temperature: float | None = None
    """Sampling temperature (for ``embed:``, the softmax temperature tau over cosine similarities)."""
    top_p: float | None = None
    """Nucleus sampling mass."""
    max_tokens: int | None = None
    """Cap on generated tokens per answer."""
    n: int | None = None
    """Answers per request (OpenAI ``n``, Gemini ``candidate_count``, HF ``num_return_sequences``)."""
    seed: int | None = None
    """Backend seed where supported; local backends derive per-trial seeds from it."""
    top_logprobs: int | None = None
    """Top-k log-probabilities per token (exact mode reads the first token's)."""
    top_k: int | None = None
    """Sample from the k most likely tokens only; 0 = off (llama.cpp, vLLM, HF, Gemini ``top_k``)."""
    min_p: float | None = None
    """Drop tokens below min_p x the top probability; 0 = off (llama.cpp, vLLM, HF)."""
    repeat_penalty: float | None = None
    """Repetition penalty; 1 = off (llama.cpp ``repeat_penalty``, vLLM/HF ``repetition_penalty``)."""

    def merge(self, other: GenerateConfig) -> GenerateConfig:
        """Fields set in ``other`` win."""
        return replace(self, **{k: v for k, v in asdict(other).items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class Option:
    """One answer option shown to the respondent.

    ``tags`` carries what the option means to the experiment (for a Bell test:
    the context and the outcome pair). API backends never see tags; simulated
    respondents answer from them.
    """

    label: str
    text: str
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Choice:
    """A forced choice among labelled options, in the order they were presented."""

    options: tuple[Option, ...]
    query: str | None = None
    """The semantic target for embedding respondents (e.g. the concept "The Animal Acts")."""

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(o.label for o in self.options)


@dataclass(frozen=True, slots=True)
class Request:
    """One call to a model: a fresh conversation, its settings, and its place in the experiment.

    ``trial`` and ``tag`` are part of the cassette key but are never sent to an API:
    they make repeated identical prompts (T > 0 sampling) distinct calls.
    """

    model: str
    messages: tuple[dict[str, str], ...]
    config: GenerateConfig = field(default_factory=GenerateConfig)
    choice: Choice | None = None
    kind: Kind = "generate"
    trial: int = 0
    tag: str = ""

    def canonical(self, provider: str) -> dict[str, Any]:
        """The JSON-ready request that defines the cassette key."""
        choice = None
        if self.choice is not None:
            choice = {
                "query": self.choice.query,
                "options": [{"label": o.label, "text": o.text, "tags": o.tags} for o in self.choice.options],
            }
        return {
            "provider": provider,
            "model": self.model,
            "kind": self.kind,
            "messages": [dict(m) for m in self.messages],
            "config": self.config.to_dict(),
            "choice": choice,
            "trial": self.trial,
            "tag": self.tag,
        }

    def key(self, provider: str) -> str:
        """sha256 of the canonical request JSON (first 32 hex digits)."""
        blob = json.dumps(self.canonical(provider), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Response:
    """Sampled answers to one request.

    ``first_token_logprobs[i]`` is, for answer i, the top-k next-token
    log-probabilities at the first generated position (``{token: logprob}``),
    when the backend returned them.
    """

    texts: tuple[str, ...]
    finish_reasons: tuple[str | None, ...] = ()
    model_version: str | None = None
    fingerprint: str | None = None
    usage: Usage = field(default_factory=Usage)
    first_token_logprobs: tuple[dict[str, float], ...] | None = None
    raw: dict[str, Any] | None = None
    sampling: dict[str, Any] | None = None
    """The sampling settings as sent to the backend (names as the backend spells them), and under
    ``"not_sent"`` the ones that were set but that this backend does not accept."""
    rate_limits: dict[str, str] | None = None
    """What the server said about its rate limits with this answer (raw header strings); recorded apart."""

    def to_record(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("raw")
        if d["sampling"] is None:
            d.pop("sampling")
        d.pop("rate_limits")
        return d

    @classmethod
    def from_record(cls, d: dict[str, Any], raw: dict[str, Any] | None = None) -> Response:
        return cls(
            texts=tuple(d["texts"]),
            finish_reasons=tuple(d.get("finish_reasons") or ()),
            model_version=d.get("model_version"),
            fingerprint=d.get("fingerprint"),
            usage=Usage(**(d.get("usage") or {})),
            first_token_logprobs=(
                tuple(d["first_token_logprobs"]) if d.get("first_token_logprobs") is not None else None
            ),
            raw=raw,
            sampling=d.get("sampling"),
        )


@dataclass(frozen=True, slots=True)
class Scores:
    """Probabilities of the options of ``request.choice``, in presented order.

    ``probs`` sum to 1 over the options (renormalised). ``coverage`` is the raw
    probability mass the model put on the options before renormalising (1 for
    simulated and embedding respondents); mass elsewhere means refusals or other
    text. ``missing`` lists labels absent from a top-k list: their probability
    is only bounded above, and ``probs`` treats them as 0 (so ``probs`` is not an
    estimate then: the analysis uses ``label_mass`` and ``unseen`` to bound S).
    """

    probs: tuple[float, ...]
    coverage: float = 1.0
    missing: tuple[str, ...] = ()
    model_version: str | None = None
    fingerprint: str | None = None
    usage: Usage = field(default_factory=Usage)
    raw: dict[str, Any] | None = None
    unseen: float | None = None
    """Upper bound on probability not seen: ``1 - sum(top-k)`` for top-k lists, 0 for a full softmax or for
    options scored directly, None where unknown (simulated or embedding respondents: not applicable)."""
    label_mass: tuple[float, ...] | None = None
    """Raw (not renormalised) probability seen on each option's label, presented order."""
    method: str = ""
    """How the probabilities were read: ``softmax`` (local full softmax), ``top-k`` (first-token top-k list),
    ``prompt-logprobs`` (each option scored as a continuation, completions echo), ``similarity``, ``simulated``."""
    top_tokens: dict[str, float] | None = None
    """The most likely first tokens and their log-probabilities (what the model wanted to say)."""
    note: str | None = None
    """Why the probabilities are incomplete (e.g. the first token was end-of-sequence and no list came back)."""
    rate_limits: dict[str, str] | None = None
    """As :attr:`Response.rate_limits`."""

    def to_record(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("raw")
        for key in ("unseen", "label_mass", "top_tokens", "note"):
            if d[key] is None:
                d.pop(key)
        if not d["method"]:
            d.pop("method")
        d.pop("rate_limits")
        return d

    @classmethod
    def from_record(cls, d: dict[str, Any], raw: dict[str, Any] | None = None) -> Scores:
        return cls(
            probs=tuple(d["probs"]),
            coverage=d.get("coverage", 1.0),
            missing=tuple(d.get("missing") or ()),
            model_version=d.get("model_version"),
            fingerprint=d.get("fingerprint"),
            usage=Usage(**(d.get("usage") or {})),
            raw=raw,
            unseen=d.get("unseen"),
            label_mass=tuple(d["label_mass"]) if d.get("label_mass") is not None else None,
            method=d.get("method", ""),
            top_tokens=d.get("top_tokens"),
            note=d.get("note"),
        )


@runtime_checkable
class Provider(Protocol):
    """What the runner needs from a backend."""

    name: str
    """Provider prefix: ``openai``, ``gemini``, ``hf``, ``embed``, ``sim``, ``replay``."""
    model: str
    """The model as the user named it (without the prefix)."""

    async def generate(self, request: Request) -> Response: ...

    async def score(self, request: Request) -> Scores: ...

    def cached(self, request: Request) -> Response | Scores | None:
        """A recorded answer for ``request`` (a cassette wrapper), or ``None``: call the model."""
        ...

    def should_retry(self, exc: BaseException) -> bool: ...

    async def aclose(self) -> None: ...


class BaseProvider:
    """Defaults for the optional parts of :class:`Provider`."""

    name = "base"

    def __init__(self, model: str) -> None:
        self.model = model

    async def generate(self, request: Request) -> Response:
        raise Unsupported(f"{self.name}:{self.model} cannot generate")

    async def score(self, request: Request) -> Scores:
        raise Unsupported(
            f"{self.name}:{self.model} cannot return answer probabilities",
            hint="use --mode sample",
        )

    def cached(self, request: Request) -> Response | Scores | None:
        return None

    def should_retry(self, exc: BaseException) -> bool:
        return isinstance(exc, RETRYABLE)

    async def prepare(self) -> None:
        """Work to do once before the first call (loading local weights); the runner awaits it untimed."""
        return None

    async def aclose(self) -> None:
        return None

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.model}"


def choice_required(request: Request, provider: str) -> Choice:
    """The request's choice, or a clear error for providers that need one."""
    if request.choice is None:
        raise ProviderError(f"{provider}: this respondent answers forced-choice questions only")
    return request.choice
