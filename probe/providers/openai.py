"""OpenAI chat completions through the official ``openai`` SDK (async), and any compatible server.

``--base-url`` points it at vLLM, llama.cpp, Ollama or a test server on
127.0.0.1. The SDK's own retries are switched off (``max_retries=0``): the runner
retries, counts and reports, once for every provider.

Exact mode (``score``) asks for one token with ``logprobs=true`` and
``top_logprobs`` (at most 20) and reads the probability of each option label
at the first position, merging tokenisation variants ("2", " 2", "2.") by
summing; labels outside the top-k are reported in ``Scores.missing``
(their probability is only bounded above by the smallest returned one).

Calls go through ``with_raw_response`` so that the rate-limit headers of every
answer (``x-ratelimit-*``) reach the runner's pacing and the cassette
(``Response.rate_limits``); a 429 carries them, and its ``Retry-After``, on
:class:`~probe.errors.RateLimited`. A 429 whose code is ``insufficient_quota``
is a billing stop, not a rate limit: it is not retried.
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

KEY_ENV = "OPENAI_API_KEY"


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
        self._client = openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=timeout)

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
        for name in ("temperature", "top_p", "seed"):
            value = getattr(config, name)
            if value is not None:
                params[name] = value
        if config.max_tokens is not None:
            params[self.max_tokens_param] = config.max_tokens
        if config.top_logprobs:
            params["logprobs"] = True
            params["top_logprobs"] = min(config.top_logprobs, 20)
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
        content = getattr(getattr(choice, "logprobs", None), "content", None)
        if not content:
            return None
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
            raw=resp.model_dump(mode="json"), rate_limits=limits,
        )

    async def score(self, request: Request) -> Scores:
        choice = choice_required(request, self.spec)
        config = request.config.merge(GenerateConfig(n=1, max_tokens=1, top_logprobs=request.config.top_logprobs or 20))
        resp, limits = await self._create(self._params(request, config))
        scores = scores_from_top(self._first_token_top(resp.choices[0]), choice, where=f"openai:{self.model}",
                                 model_version=resp.model, fingerprint=getattr(resp, "system_fingerprint", None),
                                 usage=self._usage(resp), raw=resp.model_dump(mode="json"))
        return replace(scores, rate_limits=limits)

    async def aclose(self) -> None:
        await self._client.close()
