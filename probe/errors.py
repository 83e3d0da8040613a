"""The one exception tree users see.

::

    ProbeError(message, *, hint=None)
    ├── ConfigError          (also ValueError)  bad flags, TOML, model specs
    │   └── SettingError                        one study setting out of range (names the parameter)
    ├── DataError            (also ValueError)  bad counts, CSV, arrays, texts
    ├── ProviderError                           a model backend failed
    │   ├── AuthError                           missing or rejected key
    │   ├── RateLimited                         429; carries retry_after (s) and rate_limits
    │   ├── ProviderUnavailable                 5xx, timeouts, dropped connections
    │   ├── BadResponse                         malformed / empty body (retryable)
    │   └── Unsupported                         the backend cannot do this (e.g. logprobs)
    ├── CassetteError                           unreadable cassette
    │   └── CassetteMiss                        replay asked for a call never recorded
    ├── MissingDependency                       an optional package is not installed
    └── RunStopped                              budget reached or run interrupted; resumable
        └── BatchPending                        answers are in provider batch jobs not done yet

The CLI prints ``str(exc)`` (one line, secrets redacted) and exits non-zero;
anything that is not a ``ProbeError`` is a bug and keeps its traceback under ``--debug``.
"""

from __future__ import annotations


class ProbeError(Exception):
    """Base of every error probe raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong and where (file, line, field).
    hint : str, optional
        How to fix it; printed after the message.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ConfigError(ProbeError, ValueError):
    """A flag, TOML file or model spec is invalid."""


class SettingError(ConfigError):
    """One setting of a study is invalid; ``param`` names it as the library spells it.

    The message reads ``trials = 0: need at least 1 answer per context``; the CLI
    rewrites the parameter into its flag (``--trials 0: ...``) in one place
    (:func:`probe.commands.flags.flag_message`), so a notebook user never reads
    about flags they did not type.
    """

    def __init__(self, param: str, value: object, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{param} = {value!r}: {reason}", hint=hint)
        self.param = param
        self.value = value
        self.reason = reason


class DataError(ProbeError, ValueError):
    """Input data (counts, CSV, arrays, texts) is invalid."""


class ProviderError(ProbeError):
    """A model backend failed; not retryable unless a subclass says so."""

    exit_code = 1


class AuthError(ProviderError):
    """An API key is missing or was rejected."""

    exit_code = 2


class RateLimited(ProviderError):
    """The backend answered 429.

    ``retry_after`` is the server's wait in seconds (``Retry-After`` or Gemini's
    ``RetryInfo``), if it sent one; ``rate_limits`` what it said about its limits,
    as raw strings (OpenAI's ``x-ratelimit-*`` headers; Gemini's ``retryDelay``,
    ``quotaId``, ``quotaValue``), read by :mod:`probe.pacing`.
    """

    def __init__(self, message: str, *, retry_after: float | None = None,
                 rate_limits: dict[str, str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after
        self.rate_limits = rate_limits


class ProviderUnavailable(ProviderError):
    """A 5xx answer, a timeout or a dropped connection: worth retrying."""


class BadResponse(ProviderError):
    """The backend answered, but the body was malformed or empty: worth retrying."""


class Unsupported(ProviderError):
    """The backend cannot do what was asked (e.g. return log-probabilities)."""

    exit_code = 2


class CassetteError(ProbeError):
    """A cassette file cannot be read or written."""


class CassetteMiss(CassetteError):
    """Replay asked for a call that the cassette does not hold."""


class MissingDependency(ProbeError):
    """An optional package is needed; the hint carries the pip command."""


class RunStopped(ProbeError):
    """A run stopped early on purpose (budget, interrupt); its folder can be resumed.

    ``reason`` is ``"budget"`` or ``"interrupted"``.
    """

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None, reason: str = "budget") -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class BatchPending(RunStopped):
    """Some answers are in provider batch jobs that are not done yet (``--batch``); run again to collect.

    ``report`` is the :class:`probe.batch.BatchReport` of the submission (batch ids, counts, cost).
    Exit code 75 (``EX_TEMPFAIL``: try again later).
    """

    exit_code = 75

    def __init__(self, message: str, *, hint: str | None = None, report: object = None) -> None:
        super().__init__(message, hint=hint, reason="batch")
        self.report = report


RETRYABLE = (RateLimited, ProviderUnavailable, BadResponse)


def retry_cause(exc: BaseException) -> str:
    """A short label for why a call was retried (cassette records, run statistics)."""
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, BadResponse):
        return "bad_response"
    if isinstance(exc, ProviderUnavailable):
        text = str(exc)
        if "timed out" in text:
            return "timeout"
        if "connect" in text:
            return "connection"
        return "server_error"
    return type(exc).__name__
