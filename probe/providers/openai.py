"""OpenAI chat completions through the official ``openai`` SDK (async), and any compatible server.

``--base-url`` points it at vLLM, llama.cpp, Ollama or a test server on
127.0.0.1. The SDK's own retries are switched off (``max_retries=0``): the runner
retries, counts and reports, once for every provider.

Exact mode (``score``) has two routes (model option ``?score=``):

* ``chat`` (default): one chat request with ``max_tokens=1``, ``logprobs=true`` and
  ``top_logprobs`` (the SDK documents "an integer between 0 and 20"; option
  ``?top_logprobs=N`` asks a compatible server for more), reading the list at
  the first position. That list is the model's distribution at position 1 and does
  not depend on which token was sampled, except that servers list only the tokens
  they generated: when the first token is end-of-sequence (llama.cpp) the list is
  empty. Sampling is set neutral (temperature 1, top_p 1, and on compatible
  servers top_k 0, min_p 0, repeat penalty 1) in case a server reports
  post-sampling probabilities. Tokens that read as a label ("2", " 2", "2.") are
  summed; a logprob of -9999 (OpenAI's "not in the top 20") counts as absent.
  ``Scores.unseen = 1 - sum(top-k)`` bounds everything not listed: labels missing
  from the list are never renormalised away (the analysis bounds S instead).
* ``completions``: each option scored directly, the lm-evaluation-harness way: a
  legacy *completions* request per spelling of each label ("2" and " 2") with
  ``echo=true``, ``logprobs=1`` and ``max_tokens=1`` over the plain-text prompt of
  :mod:`probe.providers.plain_text` + the spelling, summing the echoed prompt
  log-probabilities of the tokens that start at or after the end of the prompt
  (found by ``text_offset``). Needs a server that returns prompt log-probabilities
  (llama.cpp's llama-cpp-python server, vLLM); it gives exact label masses with
  nothing truncated (``unseen = 0``), for base models (no chat template is applied).

Sampling settings are sent explicitly: temperature, top_p and seed always; top_k,
min_p and the repeat penalty (as both ``repeat_penalty``, llama.cpp's name, and
``repetition_penalty``, vLLM's) only with ``--base-url``, because the OpenAI API
does not accept them. ``Response.sampling`` records what was sent.

Calls go through ``with_raw_response`` so that the rate-limit headers of every
answer (``x-ratelimit-*``) reach the runner's pacing and the cassette
(``Response.rate_limits``); a 429 carries them, and its ``Retry-After``, on
:class:`~probe.errors.RateLimited`. A 429 whose code is ``insufficient_quota``
is a billing stop, not a rate limit: it is not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from probe.errors import (
    AuthError,
    BadResponse,
    ConfigError,
    MissingDependency,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Unsupported,
)
from probe.providers._logprobs import scores_from_top
from probe.providers._ratelimits import rate_limit_headers, retry_after_seconds
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

SCORE_ROUTES = ("chat", "completions")
# exact mode reads the model's own distribution: neutral sampling in case a server reports post-sampling probabilities
NEUTRAL = GenerateConfig(temperature=1.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0)

KEY_ENV = "OPENAI_API_KEY"


@functools.cache
def _ssl_context() -> Any:
    """One TLS context per process, as the SDK's HTTP client (httpx2 for openai >= 3, httpx before) builds it
    by default (certifi; SSL_CERT_FILE/SSL_CERT_DIR honoured).

    Building it reads the CA bundle (~25-50 ms); a study makes a client per cell, so the context is shared.
    """
    try:
        import httpx2 as http
    except ImportError:  # older openai SDKs talk through httpx
        import httpx as http  # type: ignore[no-redef]
    return http.create_ssl_context()


class OpenAIProvider(BaseProvider):
    """``openai:NAME`` (options: ``max_tokens_param`` = ``max_tokens``|``max_completion_tokens``)."""

    name = "openai"

    def __init__(self, model: str, *, options: dict[str, str] | None = None, base_url: str | None = None,
                 timeout: float = 60.0, api_key: str | None = None, **_: Any) -> None:
        super().__init__(model)
        options = options or {}
        try:
            import openai
        except ImportError:
            raise MissingDependency("the openai: provider needs the openai package", hint="pip install openai") from None
        self._openai = openai
        self.base_url = base_url
        key = api_key or os.environ.get(KEY_ENV)
        if not key:
            if base_url is None:
                raise AuthError(f"{KEY_ENV} is not set",
                                hint=f"export {KEY_ENV}=..., or replay a cassette with --cassette FILE --replay")
            key = "not-needed"  # local OpenAI-compatible servers accept any key
        self.max_tokens_param = options.get("max_tokens_param", "max_tokens" if base_url else "max_completion_tokens")
        if self.max_tokens_param not in ("max_tokens", "max_completion_tokens"):
            raise ConfigError(f"--model openai:{model}?max_tokens_param=...: use max_tokens or max_completion_tokens")
        self.score_route = options.get("score", "chat")
        if self.score_route not in SCORE_ROUTES:
            raise ConfigError(f"--model openai:{model}?score={self.score_route}: use chat or completions")
        try:
            self.top_logprobs = int(options.get("top_logprobs", 20))
        except ValueError:
            raise ConfigError(f"--model openai:{model}?top_logprobs={options['top_logprobs']}: not a number") from None
        if not 1 <= self.top_logprobs <= (20 if base_url is None else 10_000):
            raise ConfigError(f"--model openai:{model}?top_logprobs={self.top_logprobs}: the OpenAI API allows 0-20",
                              hint="larger lists only from a compatible server (--base-url)")
        self._client = openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=timeout,
                                          http_client=openai.DefaultAsyncHttpxClient(verify=_ssl_context()))

    @contextlib.contextmanager
    def _sdk_errors(self) -> Iterator[None]:
        """Translate SDK exceptions into probe's tree, at this one seam."""
        oa = self._openai
        where = f"openai:{self.model}" + (f" at {self.base_url}" if self.base_url else "")
        try:
            yield
        except oa.RateLimitError as exc:
            raise self._rate_limited(where, exc) from exc
        except (oa.AuthenticationError, oa.PermissionDeniedError) as exc:
            raise AuthError(f"{where}: key rejected ({exc.status_code})", hint=f"check {KEY_ENV}") from exc
        except oa.NotFoundError as exc:
            raise ProviderError(f"{where}: model or endpoint not found (404)",
                                hint="check the model name and --base-url (it usually ends in /v1)") from exc
        except oa.APITimeoutError as exc:
            raise ProviderUnavailable(f"{where}: request timed out") from exc
        except oa.APIConnectionError as exc:
            raise ProviderUnavailable(f"{where}: cannot connect ({exc.__cause__ or exc})",
                                      hint="check --base-url and that the server is running") from exc
        except oa.APIResponseValidationError as exc:
            raise BadResponse(f"{where}: malformed response ({exc})") from exc
        except oa.APIStatusError as exc:
            if exc.status_code == 429:
                raise self._rate_limited(where, exc) from exc
            if exc.status_code >= 500 or exc.status_code in (408, 409):
                raise ProviderUnavailable(f"{where}: server error {exc.status_code}") from exc
            raise ProviderError(f"{where}: request rejected ({exc.status_code}: {exc.message})") from exc
        except ValueError as exc:  # JSON decoding of a broken body
            raise BadResponse(f"{where}: malformed response body ({exc})") from exc

    def _sampling(self, config: GenerateConfig) -> tuple[dict[str, Any], dict[str, Any]]:
        """(top-level params, extra_body) for the sampling settings of ``config``."""
        params: dict[str, Any] = {}
        for name in ("temperature", "top_p", "seed"):
            value = getattr(config, name)
            if value is not None:
                params[name] = value
        extra: dict[str, Any] = {}
        if self.base_url is not None:
            if config.top_k is not None:
                extra["top_k"] = config.top_k
            if config.min_p is not None:
                extra["min_p"] = config.min_p
            if config.repeat_penalty is not None:
                extra["repeat_penalty"] = extra["repetition_penalty"] = config.repeat_penalty
        return params, extra

    def sampling_record(self, config: GenerateConfig) -> dict[str, Any]:
        """What ``config`` sends, and which of its settings this backend does not accept."""
        params, extra = self._sampling(config)
        record = {**params, **extra}
        not_sent = [k for k in ("top_k", "min_p", "repeat_penalty")
                    if getattr(config, k) is not None and k not in extra]
        if not_sent:
            record["not_sent"] = not_sent
        return record

    @staticmethod
    def _rate_limited(where: str, exc: Any) -> ProviderError:
        """A 429 as probe's error: the server's wait and rate-limit headers, or a billing stop."""
        if getattr(exc, "code", None) == "insufficient_quota" or getattr(exc, "type", None) == "insufficient_quota":
            return ProviderError(f"{where}: quota exhausted (429 insufficient_quota)",
                                 hint="check the plan and billing of the account; retrying does not help")
        headers = exc.response.headers
        return RateLimited(f"{where}: rate limited (429)", retry_after=retry_after_seconds(headers),
                           rate_limits=rate_limit_headers(headers))

    def _params(self, request: Request, config: GenerateConfig) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model,
                                  "messages": [m for m in request.messages if m["role"] != "system" or m["content"]]}
        if config.n and config.n != 1:
            params["n"] = config.n
        sampling, extra = self._sampling(config)
        params.update(sampling)
        if extra:
            params["extra_body"] = extra
        if config.max_tokens is not None:
            params[self.max_tokens_param] = config.max_tokens
        if config.top_logprobs:
            params["logprobs"] = True
            params["top_logprobs"] = config.top_logprobs
        return params

    async def _create(self, params: dict[str, Any]) -> tuple[Any, dict[str, str] | None]:
        """The parsed completion and the rate-limit headers it came with."""
        with self._sdk_errors():
            raw = await self._client.chat.completions.with_raw_response.create(**params)
            resp = raw.parse()
        if not getattr(resp, "choices", None):
            raise BadResponse(f"openai:{self.model}: response has no choices")
        return resp, rate_limit_headers(raw.headers)

    @staticmethod
    def _first_token_top(choice: Any) -> dict[str, float] | None:
        """The first position's top list; ``{}`` when logprobs came back for no token; None when not at all."""
        logprobs = getattr(choice, "logprobs", None)
        if logprobs is None:
            return None
        content = getattr(logprobs, "content", None)
        if not content:
            return {}
        first = content[0]
        top = {t.token: float(t.logprob) for t in (first.top_logprobs or [])}
        top.setdefault(first.token, float(first.logprob))
        return top

    @staticmethod
    def _usage(resp: Any) -> Usage:
        u = getattr(resp, "usage", None)
        return Usage(input_tokens=int(getattr(u, "prompt_tokens", 0) or 0),
                     output_tokens=int(getattr(u, "completion_tokens", 0) or 0))

    async def generate(self, request: Request) -> Response:
        resp, limits = await self._create(self._params(request, request.config))
        return self._response(request, resp, limits)

    def _response(self, request: Request, resp: Any, limits: dict[str, str] | None) -> Response:
        texts, reasons, tops = [], [], []
        for choice in resp.choices:
            message = choice.message
            text = message.content if message is not None and message.content is not None else ""
            if not text and message is not None and getattr(message, "refusal", None):
                text = message.refusal
            texts.append(text)
            reasons.append(choice.finish_reason)
            tops.append(self._first_token_top(choice))
        return Response(
            texts=tuple(texts), finish_reasons=tuple(reasons), model_version=resp.model,
            fingerprint=getattr(resp, "system_fingerprint", None), usage=self._usage(resp),
            first_token_logprobs=tuple(t or {} for t in tops) if any(t is not None for t in tops) else None,
            raw=resp.model_dump(mode="json"), sampling=self.sampling_record(request.config),
            rate_limits=limits,
        )

    def _score_config(self) -> GenerateConfig:
        return NEUTRAL.merge(GenerateConfig(n=1, max_tokens=1, top_logprobs=self.top_logprobs))

    async def score(self, request: Request) -> Scores:
        choice_required(request, self.spec)
        if self.score_route == "completions":
            return await self._score_completions(request)
        resp, limits = await self._create(self._params(request, self._score_config()))
        return self._scores(request, resp, limits)

    def _scores(self, request: Request, resp: Any, limits: dict[str, str] | None) -> Scores:
        choice = choice_required(request, self.spec)
        first = resp.choices[0]
        top = self._first_token_top(first)
        note = None
        if top == {}:
            note = (f"no log-probabilities listed (finish_reason {first.finish_reason!r}: the first token was probably "
                    "end-of-sequence, which this server does not list); every label counts as unseen")
        scores = scores_from_top(top, choice, where=f"openai:{self.model}",
                                 model_version=resp.model, fingerprint=getattr(resp, "system_fingerprint", None),
                                 usage=self._usage(resp), raw=resp.model_dump(mode="json"), note=note)
        return replace(scores, rate_limits=limits)

    # -- batch jobs (probe.batch): the same request body and the same reading of the answer -------------
    def batch_body(self, request: Request) -> dict[str, Any]:
        """The JSON body of ``request`` for a line of a Batch API input file (``/v1/chat/completions``).

        Exact mode goes through batches on the chat route (logprobs and top_logprobs are accepted by
        batch chat completions); the completions route scores each option with several requests and
        is refused (:class:`~probe.errors.Unsupported`).
        """
        if request.kind == "score":
            choice_required(request, self.spec)
            if self.score_route == "completions":
                raise Unsupported(f"openai:{self.model}?score=completions cannot be batched",
                                  hint="use ?score=chat (the default) with --batch, or drop --batch")
            params = self._params(request, self._score_config())
        else:
            params = self._params(request, request.config)
        extra = params.pop("extra_body", None) or {}
        return {**params, **extra}

    def batch_result(self, request: Request, body: dict[str, Any]) -> Response | Scores:
        """A batch output line's response body as the same :class:`Response`/:class:`Scores` a call gives."""
        try:
            resp = self._openai.types.chat.ChatCompletion.model_validate(body)
        except Exception as exc:  # pydantic's ValidationError
            raise BadResponse(f"openai:{self.model}: batch result is not a chat completion ({exc})") from None
        if not resp.choices:
            raise BadResponse(f"openai:{self.model}: batch result has no choices")
        return self._scores(request, resp, None) if request.kind == "score" else self._response(request, resp, None)

    # -- exact mode, completions route ------------------------------------------------------------------
    async def _echo_logprob(self, prompt: str, spelling: str) -> tuple[float, Any]:
        """log p(spelling | prompt) from the echoed prompt log-probabilities of one completions request."""
        params: dict[str, Any] = {"model": self.model, "prompt": prompt + spelling, "echo": True, "logprobs": 1,
                                  "max_tokens": 1}
        sampling, extra = self._sampling(NEUTRAL)
        params.update(sampling)
        if extra:
            params["extra_body"] = extra
        with self._sdk_errors():
            resp = await self._client.completions.create(**params)
        where = f"openai:{self.model}?score=completions"
        lp = getattr(resp.choices[0], "logprobs", None) if getattr(resp, "choices", None) else None
        offsets = list(getattr(lp, "text_offset", None) or [])
        values = list(getattr(lp, "token_logprobs", None) or [])
        if not offsets or len(offsets) != len(values):
            raise Unsupported(f"{where}: the server returned no prompt log-probabilities (echo + logprobs)",
                              hint="use ?score=chat, or a server that scores prompts (llama.cpp, vLLM)")
        start, end = len(prompt), len(prompt) + len(spelling)
        tokens = list(getattr(lp, "tokens", None) or [""] * len(offsets))
        picked = [v for o, v in zip(offsets, values, strict=True) if start <= o < end]
        if not picked or any(v is None for v in picked):
            raise BadResponse(f"{where}: cannot find the tokens of {spelling!r} after the prompt in the echo")
        last_before = max((i for i, o in enumerate(offsets) if o < start), default=None)
        if last_before is not None and offsets[last_before] + len(tokens[last_before]) > start:
            raise ProviderError(f"{where}: the tokenizer merges the end of the prompt with {spelling!r}",
                                hint="score=completions needs the label to start a new token; use ?score=chat")
        return float(sum(picked)), resp

    async def _score_completions(self, request: Request) -> Scores:
        choice = choice_required(request, self.spec)
        prompt = render_plain(request.messages)
        jobs = [(i, s) for i, o in enumerate(choice.options) for s in label_spellings(o.label)]
        results = await asyncio.gather(*(self._echo_logprob(prompt, s) for _, s in jobs))
        masses = [0.0] * len(choice.options)
        for (i, _), (logprob, _) in zip(jobs, results, strict=True):
            masses[i] += math.exp(logprob)
        total = sum(masses)
        last = results[-1][1]
        usage = Usage(input_tokens=sum(self._usage(r).input_tokens for _, r in results),
                      output_tokens=sum(self._usage(r).output_tokens for _, r in results))
        raw = {"route": "completions", "prompt": prompt,
               "spelling_logprobs": {f"{choice.options[i].label}|{s!r}": lp for (i, s), (lp, _) in
                                     zip(jobs, results, strict=True)}}
        return Scores(probs=tuple(m / total if total > 0 else 0.0 for m in masses), coverage=min(1.0, total),
                      model_version=getattr(last, "model", None), usage=usage, raw=raw, unseen=0.0,
                      label_mass=tuple(masses), method="prompt-logprobs")

    async def aclose(self) -> None:
        await self._client.close()
