"""A local transformers causal language model.

* ``generate``: sampling with ``model.generate`` (``do_sample=True`` unless
  temperature is 0), seeded per request from its cassette key, so answers are
  reproducible on the same hardware and library versions.
* ``score`` (exact mode): the log-likelihood of each option's label as the
  continuation of the prompt, log p(label | prompt) = sum_t log p(tok_t | prompt, tok_<t).
  Variants of one label ("2" and " 2") are merged by summing their probabilities,
  as for API top-k logprobs (methods note bell.md section 5.3). Unlike hosted APIs
  the full softmax is available, so nothing is truncated to a top-k.

The prompt is rendered with the tokenizer's chat template when it has one, else as
``"System: ...\\n\\nUser: ...\\n\\nAssistant:"``.
"""

from __future__ import annotations

import asyncio
import math
import threading
from pathlib import Path
from typing import Any

from probe.errors import ConfigError, ProviderError
from probe.providers.base import BaseProvider, Request, Response, Scores, Usage, choice_required


class HFProvider(BaseProvider):
    """Local transformers causal LM (``hf:PATH``; options ``device``, ``dtype``)."""

    name = "hf"

    def __init__(self, model: str, *, options: dict[str, str] | None = None, **_: Any) -> None:
        super().__init__(model)
        options = options or {}
        self.path = Path(model).expanduser()
        if not self.path.is_dir():
            raise ConfigError(f"--model hf:{model}: no such folder",
                              hint="hf: takes a local transformers model folder (config.json + weights)")
        if not (self.path / "config.json").exists():
            raise ConfigError(f"--model hf:{model}: no config.json in that folder",
                              hint="save the model with model.save_pretrained(folder)")
        self.device = options.get("device", "cpu")
        self.dtype = options.get("dtype", "float32")
        self._lock = threading.Lock()
        self._model: Any = None
        self._tok: Any = None
        self.version = f"{self.path.name}"

    # -- loading --------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from probe.providers.embed import quiet_hf

        quiet_hf()
        try:
            self._tok = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self._model = AutoModelForCausalLM.from_pretrained(
                self.path, local_files_only=True, dtype=getattr(torch, self.dtype)
            ).to(self.device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--model hf:{self.model}: cannot load ({exc})") from exc
        self._model.eval()
        commit = getattr(self._model.config, "_commit_hash", None)
        self.version = f"{self.path.name}@{commit}" if commit else f"{self.path.name}:{self._model.config.model_type}"

    def render(self, request: Request) -> str:
        """The prompt string the model continues."""
        self._load()
        messages = [m for m in request.messages if m["role"] != "system" or m["content"]]
        if getattr(self._tok, "chat_template", None):
            return self._tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        parts = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n\n".join(parts) + "\n\nAssistant:"

    def _ids(self, text: str) -> list[int]:
        return self._tok(text, add_special_tokens=False)["input_ids"]

    # -- sampling --------------------------------------------------------------------------------
    def _generate_sync(self, request: Request) -> Response:
        import torch

        with self._lock:
            prompt = self.render(request)
            ids = torch.tensor([self._ids(prompt)], device=self.device)
            cfg = request.config
            temperature = 1.0 if cfg.temperature is None else cfg.temperature
            n = cfg.n or 1
            kwargs: dict[str, Any] = {
                "max_new_tokens": cfg.max_tokens or 16,
                "num_return_sequences": n,
                "pad_token_id": self._tok.pad_token_id if self._tok.pad_token_id is not None
                else self._tok.eos_token_id,
                "attention_mask": torch.ones_like(ids),
            }
            if temperature > 0:
                kwargs.update(do_sample=True, temperature=temperature, top_p=cfg.top_p or 1.0, top_k=0)
            else:
                kwargs.update(do_sample=False)
            torch.manual_seed(int(request.key(self.name), 16) % (2**63))
            with torch.no_grad():
                out = self._model.generate(ids, **kwargs)
            new = out[:, ids.shape[1]:]
            texts, reasons = [], []
            eos = self._tok.eos_token_id
            for row in new.tolist():
                if eos is not None and eos in row:
                    row = row[: row.index(eos)]
                    reasons.append("stop")
                else:
                    reasons.append("length")
                texts.append(self._tok.decode(row, skip_special_tokens=True))
            return Response(
                texts=tuple(texts), finish_reasons=tuple(reasons), model_version=self.version,
                usage=Usage(input_tokens=int(ids.shape[1]), output_tokens=int(new.numel())),
            )

    async def generate(self, request: Request) -> Response:
        return await asyncio.to_thread(self._generate_sync, request)

    # -- exact mode --------------------------------------------------------------------------------
    def continuation_logprob(self, prompt_ids: list[int], cont_ids: list[int]) -> float:
        """log p(cont | prompt) summed over the continuation's tokens (natural log)."""
        import torch

        ids = torch.tensor([prompt_ids + cont_ids], device=self.device)
        with torch.no_grad():
            logits = self._model(ids).logits[0].double()
        logp = torch.log_softmax(logits, dim=-1)
        start = len(prompt_ids)
        return float(sum(logp[start - 1 + i, t] for i, t in enumerate(cont_ids)))

    def _score_sync(self, request: Request) -> Scores:
        choice = choice_required(request, self.spec)
        with self._lock:
            prompt_ids = self._ids(self.render(request))
            if not prompt_ids:
                raise ProviderError(f"hf:{self.model}: the prompt tokenised to nothing")
            masses = []
            for option in choice.options:
                variants = {tuple(self._ids(v)) for v in (option.label, " " + option.label)}
                masses.append(sum(math.exp(self.continuation_logprob(prompt_ids, list(v))) for v in variants if v))
        total = sum(masses)
        if total <= 0:
            raise ProviderError(f"hf:{self.model}: zero probability on every option label")
        return Scores(probs=tuple(m / total for m in masses), coverage=min(1.0, total),
                      model_version=self.version, usage=Usage(input_tokens=len(prompt_ids)))

    async def score(self, request: Request) -> Scores:
        return await asyncio.to_thread(self._score_sync, request)
