"""Gemini through the official ``google-genai`` SDK (async client).

``google-genai`` is Google's current SDK; the older ``google-generativeai``
package is deprecated and not used. The SDK's own retries are switched off
(``HttpRetryOptions(attempts=1)``) so that the runner retries and counts.
``--base-url`` is passed as ``HttpOptions(base_url=...)`` (used by the tests'
loopback server and by proxies).

Exact mode asks for one token with ``response_logprobs=True`` and ``logprobs=k``
and merges label variants as the OpenAI provider does, with the same unseen-mass
bound (``Scores.unseen``). The SDK documents ``logprobs`` only as the "number of
top candidate tokens to return the log probabilities for at each generation
step", with no maximum; the Gemini API reference gives 0-20 as we recall it
(not re-verified here): probe asks for 20 and reports what came back. Support
varies by model. Sampling in exact mode is set neutral (temperature 1, top_p 1).

Sampling settings: temperature, top_p, seed and ``top_k`` (when > 0) are sent;
Gemini has no min_p or repeat penalty (its presence/frequency penalties are
different things), so those are recorded as not sent (``Response.sampling``).

Keys: google-genai sends the API key in the ``x-goog-api-key`` header. Some
Gemini-compatible servers expect ``Authorization: Bearer`` (or ``?key=``); model
option ``?auth=bearer`` also sends that header. A rejected key says which header
carried it.

A 429 (``RESOURCE_EXHAUSTED``) carries the ``google.rpc`` details of its body
(``RetryInfo.retryDelay``, ``QuotaFailure`` quota id and value) on
:class:`~probe.errors.RateLimited` for the runner's pacing; a quota whose value
is 0 (the model is not available on this tier) is not retried. The rate-limit
headers of an answer, if a proxy sends any, come from ``sdk_http_response``.
"""

from __future__ import annotations

import contextlib
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
)
from probe.providers._logprobs import scores_from_top
from probe.providers._ratelimits import (
    gemini_details,
    rate_limit_headers,
    retry_after_seconds,
    retry_delay_seconds,
)
from probe.providers.base import (
    BaseProvider,
    GenerateConfig,
    Request,
    Response,
    Scores,
    Usage,
    choice_required,
)

KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
_TRANSPORT_MODULES = {"httpx", "httpx2", "httpcore", "aiohttp", "h11", "h2", "anyio", "ssl"}


class GeminiProvider(BaseProvider):
    """``gemini:NAME``."""

    name = "gemini"

    def __init__(self, model: str, *, options: dict[str, str] | None = None, base_url: str | None = None,
                 timeout: float = 60.0, api_key: str | None = None, **_: Any) -> None:
        super().__init__(model)
        try:
            from google import genai
            from google.genai import errors, types
        except ImportError:
            raise MissingDependency("the gemini: provider needs google-genai", hint="pip install google-genai") from None
        self._types, self._errors = types, errors
        self.base_url = base_url
        key = api_key or next((os.environ[k] for k in KEY_ENVS if os.environ.get(k)), None)
        if not key:
            if base_url is None:
                raise AuthError("GEMINI_API_KEY (or GOOGLE_API_KEY) is not set",
                                hint="export GEMINI_API_KEY=..., or replay a cassette with --cassette FILE --replay")
            key = "not-needed"
        options = options or {}
        self.auth = options.get("auth", "x-goog-api-key")
        if self.auth not in ("x-goog-api-key", "bearer"):
            raise ConfigError(f"--model gemini:{model}?auth={self.auth}: use x-goog-api-key (default) or bearer")
        headers = {"Authorization": f"Bearer {key}"} if self.auth == "bearer" else None
        http = types.HttpOptions(base_url=base_url, timeout=int(timeout * 1000), headers=headers,
                                 retry_options=types.HttpRetryOptions(attempts=1))
        self._client = genai.Client(api_key=key, http_options=http)

    @contextlib.contextmanager
    def _sdk_errors(self) -> Iterator[None]:
        errors = self._errors
        where = f"gemini:{self.model}" + (f" at {self.base_url}" if self.base_url else "")
        try:
            yield
        except errors.APIError as exc:
            code = int(getattr(exc, "code", 0) or 0)
            headers = getattr(getattr(exc, "response", None), "headers", None)
            if code == 429:
                details = gemini_details(getattr(exc, "details", None))
                if details.get("quotaValue") == "0":
                    raise ProviderError(f"{where}: quota {details.get('quotaId')} is 0 (429)",
                                        hint="this model is not available on the key's tier; retrying does not help") from exc
                wait = retry_after_seconds(headers)
                raise RateLimited(f"{where}: rate limited (429)",
                                  retry_after=wait if wait is not None else retry_delay_seconds(details),
                                  rate_limits={**(rate_limit_headers(headers) or {}), **details} or None) from exc
            if code in (401, 403):
                sent = "x-goog-api-key" + (" and Authorization: Bearer" if self.auth == "bearer" else "")
                raise AuthError(f"{where}: key rejected ({code}; google-genai sent it in the {sent} header)",
                                hint="check GEMINI_API_KEY" + ("" if self.auth == "bearer" else
                                     "; a server that wants Authorization: Bearer needs --model gemini:NAME?auth=bearer")
                                ) from exc
            if code >= 500 or code in (408, 409):
                raise ProviderUnavailable(f"{where}: server error {code}") from exc
            if code == 404:
                raise ProviderError(f"{where}: model not found (404)", hint="check the model name") from exc
            raise ProviderError(f"{where}: request rejected ({code}: {exc.message})") from exc
        except ValueError as exc:
            raise BadResponse(f"{where}: malformed response ({exc})") from exc
        except Exception as exc:
            # google-genai talks through httpx, httpx2 or aiohttp; their transport errors all mean "try again"
            module = type(exc).__module__.split(".")[0]
            name = type(exc).__name__
            if "Timeout" in name or isinstance(exc, TimeoutError):
                raise ProviderUnavailable(f"{where}: request timed out") from exc
            if module in _TRANSPORT_MODULES or isinstance(exc, OSError):
                raise ProviderUnavailable(f"{where}: connection failed ({name})",
                                          hint="check --base-url and your network") from exc
            raise

    def _config(self, request: Request, config: GenerateConfig) -> Any:
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system" and m["content"])
        kwargs: dict[str, Any] = {}
        if system:
            kwargs["system_instruction"] = system
        if config.temperature is not None:
            kwargs["temperature"] = config.temperature
        if config.top_p is not None:
            kwargs["top_p"] = config.top_p
        if config.top_k:
            kwargs["top_k"] = config.top_k
        if config.n and config.n != 1:
            kwargs["candidate_count"] = config.n
        if config.max_tokens is not None:
            kwargs["max_output_tokens"] = config.max_tokens
        if config.seed is not None:
            kwargs["seed"] = config.seed
        if config.top_logprobs:
            kwargs["response_logprobs"] = True
            kwargs["logprobs"] = min(config.top_logprobs, 20)
        return self._types.GenerateContentConfig(**kwargs)

    def _contents(self, request: Request) -> list[Any]:
        t = self._types
        return [t.Content(role="model" if m["role"] == "assistant" else "user", parts=[t.Part(text=m["content"])])
                for m in request.messages if m["role"] != "system"]

    async def _call(self, request: Request, config: GenerateConfig) -> Any:
        with self._sdk_errors():
            resp = await self._client.aio.models.generate_content(
                model=self.model, contents=self._contents(request), config=self._config(request, config))
        return self._checked(resp)

    def _checked(self, resp: Any) -> Any:
        if not resp.candidates:
            feedback = getattr(resp, "prompt_feedback", None)
            raise BadResponse(f"gemini:{self.model}: no candidates returned"
                              + (f" (prompt feedback: {feedback})" if feedback else ""))
        return resp

    @staticmethod
    def _text(candidate: Any) -> str:
        parts = getattr(getattr(candidate, "content", None), "parts", None) or []
        return "".join(p.text for p in parts if getattr(p, "text", None) and not getattr(p, "thought", False))

    @staticmethod
    def _top(candidate: Any) -> dict[str, float] | None:
        result = getattr(candidate, "logprobs_result", None)
        if result is None or not result.top_candidates:
            return None
        top = {c.token: float(c.log_probability) for c in result.top_candidates[0].candidates or []}
        if result.chosen_candidates:
            chosen = result.chosen_candidates[0]
            top.setdefault(chosen.token, float(chosen.log_probability))
        return top

    @staticmethod
    def _usage(resp: Any) -> Usage:
        u = getattr(resp, "usage_metadata", None)
        return Usage(input_tokens=int(getattr(u, "prompt_token_count", 0) or 0),
                     output_tokens=int(getattr(u, "candidates_token_count", 0) or 0))

    @staticmethod
    def _raw(resp: Any) -> dict[str, Any]:
        return resp.model_dump(mode="json", exclude={"sdk_http_response"}, exclude_none=True)

    @staticmethod
    def sampling_record(config: GenerateConfig) -> dict[str, Any]:
        """What ``config`` sends to Gemini, and which of its settings Gemini does not accept."""
        record: dict[str, Any] = {k: getattr(config, k) for k in ("temperature", "top_p", "seed")
                                  if getattr(config, k) is not None}
        if config.top_k:
            record["top_k"] = config.top_k
        not_sent = [k for k in ("min_p", "repeat_penalty") if getattr(config, k) is not None]
        if config.top_k == 0:
            not_sent.append("top_k")  # 0 = off has no Gemini spelling: the model's default top_k applies
        if not_sent:
            record["not_sent"] = not_sent
        return record

    @staticmethod
    def _limits(resp: Any) -> dict[str, str] | None:
        return rate_limit_headers(getattr(getattr(resp, "sdk_http_response", None), "headers", None))

    async def generate(self, request: Request) -> Response:
        return self._response(request, await self._call(request, request.config))

    def _response(self, request: Request, resp: Any) -> Response:
        tops = [self._top(c) for c in resp.candidates]
        return Response(
            texts=tuple(self._text(c) for c in resp.candidates),
            finish_reasons=tuple(str(getattr(c.finish_reason, "value", c.finish_reason)) if c.finish_reason else None
                                 for c in resp.candidates),
            model_version=resp.model_version or self.model, usage=self._usage(resp),
            first_token_logprobs=tuple(t or {} for t in tops) if any(t is not None for t in tops) else None,
            raw=self._raw(resp), sampling=self.sampling_record(request.config),
            rate_limits=self._limits(resp),
        )

    SCORE_CONFIG = GenerateConfig(temperature=1.0, top_p=1.0, n=1, max_tokens=1, top_logprobs=20)

    async def score(self, request: Request) -> Scores:
        choice_required(request, self.spec)
        return self._scores(request, await self._call(request, self.SCORE_CONFIG))

    def _scores(self, request: Request, resp: Any) -> Scores:
        choice = choice_required(request, self.spec)
        scores = scores_from_top(self._top(resp.candidates[0]), choice, where=f"gemini:{self.model}",
                                 model_version=resp.model_version or self.model, usage=self._usage(resp),
                                 raw=self._raw(resp))
        return replace(scores, rate_limits=self._limits(resp))

    # -- batch jobs (probe.batch) -----------------------------------------------------------------------
    def batch_body(self, request: Request) -> dict[str, Any]:
        """``request`` as a google-genai ``InlinedRequest`` (contents + config), JSON-ready.

        Exact mode sends ``response_logprobs``/``logprobs`` in the inline request's config: the
        batch request is a full ``GenerateContentRequest``, so the fields are accepted; whether a
        model returns ``logprobsResult`` in batch is not documented (probe reports what came back).
        """
        config = self.SCORE_CONFIG if request.kind == "score" else request.config
        if request.kind == "score":
            choice_required(request, self.spec)
        inline = self._types.InlinedRequest(contents=self._contents(request), config=self._config(request, config))
        return inline.model_dump(mode="json", exclude_none=True)

    def batch_result(self, request: Request, body: dict[str, Any]) -> Response | Scores:
        """An inlined batch response (a ``GenerateContentResponse`` as JSON) as the result a call gives."""
        try:
            resp = self._types.GenerateContentResponse.model_validate(body)
        except Exception as exc:  # pydantic's ValidationError
            raise BadResponse(f"gemini:{self.model}: batch result is not a GenerateContentResponse ({exc})") from None
        resp = self._checked(resp)
        return self._scores(request, resp) if request.kind == "score" else self._response(request, resp)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.aio.aclose()
