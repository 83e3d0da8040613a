"""A local transformers causal language model (``hf:PATH``, ``hf:FILE.gguf``, ``gguf:FILE``, ``hf:gemma-3-270m``).

Loading goes through :mod:`probe.providers.local_models` (folders, GGUF files
with a cached float copy, shipped models). The model is loaded in
:meth:`HFProvider.prepare`, which the runner awaits before its first timed
call, so recorded latencies exclude the load.

Prompt (both modes):

* a tokenizer with a chat template gets ``apply_chat_template(...,
  add_generation_prompt=True)``, token ids straight from the template (which
  writes BOS itself where the model wants it);
* otherwise (base models, or ``?format=plain``) the plain-text format of
  :mod:`probe.providers.plain_text`, tokenised with ``add_special_tokens=True`` so
  that BOS is added exactly as the tokenizer is configured to (Gemma: ``<bos>``;
  without it Gemma continues with "\\n\\n" and " Assistant").

``generate`` (sample mode): ``model.generate`` with every sampling setting passed
explicitly (temperature, top_p, top_k, min_p, repetition_penalty), so the
checkpoint's ``generation_config.json`` defaults (Gemma ships top_k 64, top_p
0.95) never apply silently; unset means the model's own distribution (top_p 1,
top_k off, min_p off, penalty 1). Seeded per request from its cassette key.
``Response.sampling`` records what was used.

``score`` (exact mode): one forward pass over the prompt gives the full
next-token softmax; a label's probability is the sum over its spellings ``"2"``
and ``" 2"`` (:func:`probe.providers.plain_text.label_spellings`). A spelling
that is one token is read from that softmax directly; longer spellings are
scored together in one batched pass that continues from the prompt's KV cache,
``log p(cont | prompt) = sum_t log p(tok_t | prompt, tok_<t)``. Nothing is
truncated to a top-k (``Scores.unseen = 0``).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
from typing import Any

from probe.errors import ConfigError, ProviderError
from probe.providers import local_models
from probe.providers.base import (
    BaseProvider,
    GenerateConfig,
    Request,
    Response,
    Scores,
    Usage,
    choice_required,
)
from probe.providers.plain_text import label_spellings, render_plain

FORMATS = ("auto", "chat", "plain")


def sampling_kwargs(cfg: GenerateConfig) -> dict[str, Any]:
    """``generate`` keyword arguments for ``cfg``, every setting explicit (see the module docstring)."""
    temperature = 1.0 if cfg.temperature is None else cfg.temperature
    if temperature <= 0:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None,
                "repetition_penalty": cfg.repeat_penalty or 1.0}
    out: dict[str, Any] = {"do_sample": True, "temperature": temperature,
                           "top_p": 1.0 if cfg.top_p is None else cfg.top_p,
                           "top_k": 0 if cfg.top_k is None else cfg.top_k,
                           "repetition_penalty": 1.0 if cfg.repeat_penalty is None else cfg.repeat_penalty}
    if cfg.min_p:
        out["min_p"] = cfg.min_p
    return out


class HFProvider(BaseProvider):
    """Local transformers causal LM (options ``device``, ``dtype``, ``format`` = auto|chat|plain)."""

    name = "hf"

    def __init__(self, model: str, *, options: dict[str, str] | None = None, **_: Any) -> None:
        super().__init__(model)
        options = options or {}
        self.local = local_models.resolve(model, prefix=self.name)
        self.device = options.get("device", "cpu")
        self.dtype = options.get("dtype", "float32")
        self.format = options.get("format", "auto")
        if self.format not in FORMATS:
            raise ConfigError(f"--model {self.name}:{model}?format={self.format}: use one of {', '.join(FORMATS)}")
        self._lock = threading.RLock()
        self._model: Any = None
        self._tok: Any = None
        self._spellings: dict[str, list[tuple[int, ...]]] = {}
        self.version = self.local.path.name

    # -- loading --------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is None:
                self._tok, self._model, self.version = local_models.load_causal_lm(
                    self.local, device=self.device, dtype=self.dtype)

    async def prepare(self) -> None:
        """Load the weights (the runner awaits this before timing any call)."""
        await asyncio.to_thread(self._load)

    @property
    def uses_chat_template(self) -> bool:
        self._load()
        has = bool(getattr(self._tok, "chat_template", None))
        if self.format == "chat" and not has:
            raise ConfigError(f"--model {self.spec}?format=chat: this tokenizer defines no chat template",
                              hint="drop ?format=chat: base models use the plain-text format")
        return has and self.format != "plain"

    def prompt_ids(self, request: Request) -> list[int]:
        """Token ids of the prompt the model continues (chat template or plain text; BOS as the tokenizer says)."""
        messages = [m for m in request.messages if m["role"] != "system" or m["content"]]
        if self.uses_chat_template:
            out = self._tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            ids = out["input_ids"] if hasattr(out, "keys") else out
            return list(ids[0] if ids and isinstance(ids[0], list) else ids)
        return list(self._tok(render_plain(messages), add_special_tokens=True)["input_ids"])

    def render(self, request: Request) -> str:
        """The prompt as text, special tokens included."""
        return self._tok.decode(self.prompt_ids(request))

    # -- sampling --------------------------------------------------------------------------------
    def _generate_sync(self, request: Request) -> Response:
        import torch

        self._load()
        with self._lock:
            ids = torch.tensor([self.prompt_ids(request)], device=self.device)
            cfg = request.config
            n = cfg.n or 1
            sampling = sampling_kwargs(cfg)
            eos = self._tok.eos_token_id
            kwargs: dict[str, Any] = {
                "max_new_tokens": cfg.max_tokens or 16, "num_return_sequences": n,
                "pad_token_id": self._tok.pad_token_id if self._tok.pad_token_id is not None else eos,
                "attention_mask": torch.ones_like(ids), **sampling,
            }
            torch.manual_seed(int(request.key(self.name), 16) % (2**63))
            with torch.no_grad():
                out = self._model.generate(ids, **kwargs)
            new = out[:, ids.shape[1]:]
            texts, reasons = [], []
            for row in new.tolist():
                if eos is not None and eos in row:
                    row = row[: row.index(eos)]
                    reasons.append("stop")
                else:
                    reasons.append("length")
                texts.append(self._tok.decode(row, skip_special_tokens=True))
            sent = {k: v for k, v in sampling.items() if v is not None}
            sent["max_new_tokens"] = kwargs["max_new_tokens"]
            return Response(texts=tuple(texts), finish_reasons=tuple(reasons), model_version=self.version,
                            usage=Usage(input_tokens=int(ids.shape[1]), output_tokens=int(new.numel())),
                            sampling=sent)

    async def generate(self, request: Request) -> Response:
        return await asyncio.to_thread(self._generate_sync, request)

    # -- exact mode --------------------------------------------------------------------------------
    def continuation_logprob(self, prompt_ids: list[int], cont_ids: list[int]) -> float:
        """log p(cont | prompt) by one full forward pass (natural log; the slow reference for tests)."""
        import torch

        self._load()
        ids = torch.tensor([prompt_ids + cont_ids], device=self.device)
        with torch.no_grad():
            logits = self._model(ids).logits[0].double()
        logp = torch.log_softmax(logits, dim=-1)
        start = len(prompt_ids)
        return float(sum(logp[start - 1 + i, t] for i, t in enumerate(cont_ids)))

    def _label_spellings(self, label: str) -> list[tuple[int, ...]]:
        if label not in self._spellings:
            found = {tuple(self._tok(s, add_special_tokens=False)["input_ids"]) for s in label_spellings(label)}
            self._spellings[label] = sorted(v for v in found if v)
        return self._spellings[label]

    def score_spellings(self, prompt_ids: list[int], spellings: list[tuple[int, ...]]) -> tuple[dict[tuple[int, ...],
                                                                                                    float], Any]:
        """``{spelling: log p(spelling | prompt)}`` and the first-position log-softmax (a 1-D tensor)."""
        import torch

        with torch.no_grad():
            out = self._model(torch.tensor([prompt_ids], device=self.device), use_cache=True)
            first = torch.log_softmax(out.logits[0, -1].double(), dim=-1)
            result = {s: float(first[s[0]]) for s in spellings if len(s) == 1}
            long = [s for s in spellings if len(s) > 1]
            if long:
                width = max(len(s) for s in long)
                pad = self._tok.pad_token_id if self._tok.pad_token_id is not None else 0
                cont = torch.tensor([list(s) + [pad] * (width - len(s)) for s in long], device=self.device)
                mask = torch.ones(len(long), len(prompt_ids) + width, dtype=torch.long, device=self.device)
                for i, s in enumerate(long):
                    mask[i, len(prompt_ids) + len(s):] = 0
                # transformers 5 names the KV cache ``cache``; 4.x called it ``past_key_values``
                past = getattr(out, "cache", None) or out.past_key_values
                past.batch_repeat_interleave(len(long))
                positions = torch.arange(len(prompt_ids), len(prompt_ids) + width, device=self.device)
                name = "cache" if "cache" in inspect.signature(self._model.forward).parameters else "past_key_values"
                step = self._model(input_ids=cont, attention_mask=mask, position_ids=positions.expand(len(long), -1),
                                   use_cache=False, **{name: past})
                logp = torch.log_softmax(step.logits.double(), dim=-1)
                for i, s in enumerate(long):
                    total = float(first[s[0]])
                    for t in range(1, len(s)):
                        total += float(logp[i, t - 1, s[t]])
                    result[s] = total
        return result, first

    def _score_sync(self, request: Request) -> Scores:
        choice = choice_required(request, self.spec)
        self._load()
        with self._lock:
            prompt_ids = self.prompt_ids(request)
            if not prompt_ids:
                raise ProviderError(f"{self.spec}: the prompt tokenised to nothing")
            per_option = [self._label_spellings(o.label) for o in choice.options]
            logps, first = self.score_spellings(prompt_ids, sorted({s for ss in per_option for s in ss}))
            masses = [sum(math.exp(logps[s]) for s in ss) for ss in per_option]
            top = first.topk(5)
            top_tokens = {self._tok.decode([int(i)]): float(v) for v, i in zip(top.values, top.indices, strict=True)}
        total = sum(masses)
        if total <= 0:
            raise ProviderError(f"{self.spec}: zero probability on every option label")
        return Scores(probs=tuple(m / total for m in masses), coverage=min(1.0, total), model_version=self.version,
                      usage=Usage(input_tokens=len(prompt_ids)), unseen=0.0, label_mass=tuple(masses),
                      method="softmax", top_tokens=top_tokens)

    async def score(self, request: Request) -> Scores:
        return await asyncio.to_thread(self._score_sync, request)


class GGUFProvider(HFProvider):
    """``gguf:FILE.gguf``: the same as ``hf:FILE.gguf`` (a GGUF checkpoint through transformers, float copy cached)."""

    name = "gguf"

    def __init__(self, model: str, *, options: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(model, options=options, **kwargs)
        if not self.local.is_gguf:
            raise ConfigError(f"--model gguf:{model}: not a .gguf file", hint=f"use hf:{model} for a model folder")
