"""What servers say about their rate limits, read into numbers: durations, Retry-After, budgets, token estimates.

The raw values come from the providers (``Response.rate_limits``,
``RateLimited.rate_limits``: OpenAI's ``x-ratelimit-*`` headers, Gemini's
``google.rpc`` error details) and are recorded as the server wrote them;
:mod:`probe.pacing` paces on what this module reads from them.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|ns|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_duration(text: str | None) -> float | None:
    """Seconds in a duration as rate-limit headers write it.

    Accepts OpenAI's Go-style durations (``"6m0s"``, ``"12ms"``, ``"1s"``,
    ``"1h2m3.5s"``), protobuf ``Duration`` JSON (``"58.934310785s"``, Gemini's
    ``retryDelay``) and a bare number of seconds. ``None`` if unreadable.

    Examples
    --------
    >>> parse_duration("6m0s"), parse_duration("12ms"), parse_duration("58.5s")
    (360.0, 0.012, 58.5)
    """
    if text is None:
        return None
    text = str(text).strip()
    with contextlib.suppress(ValueError):
        value = float(text)
        return value if math.isfinite(value) and value >= 0 else None
    total, pos = 0.0, 0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    return total if pos and pos == len(text) else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).

    ``now`` is the wall-clock time (``time.time()``) that an HTTP-date is measured from.

    Examples
    --------
    >>> parse_retry_after("2"), parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
    (2.0, 10.0)
    """
    if value is None:
        return None
    text = str(value).strip()
    with contextlib.suppress(ValueError):
        seconds = float(text)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    with contextlib.suppress(TypeError, ValueError, OverflowError, IndexError):
        date = email.utils.parsedate_to_datetime(text)
        if date is not None and date.tzinfo is not None:
            return max(0.0, date.timestamp() - (time.time() if now is None else now))
    return None


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget a server states: ``limit`` per ``window_s``, ``remaining`` now, full again in ``reset_s``."""

    limit: float
    remaining: float
    reset_s: float | None = None
    window_s: float = 60.0

    @property
    def refill_per_s(self) -> float:
        return self.limit / self.window_s


def budgets_from(signals: Mapping[str, str] | None) -> dict[str, Budget]:
    """The request and token budgets in a rate-limit record (OpenAI headers or Gemini quota details).

    Returns ``{"requests": Budget, "tokens": Budget}`` with what is present.
    """
    out: dict[str, Budget] = {}
    if not signals:
        return out
    for kind in ("requests", "tokens"):
        limit = _number(signals.get(f"x-ratelimit-limit-{kind}"))
        remaining = _number(signals.get(f"x-ratelimit-remaining-{kind}"))
        if limit and limit > 0 and remaining is not None:
            out[kind] = Budget(limit, max(0.0, remaining), parse_duration(signals.get(f"x-ratelimit-reset-{kind}")))
    quota, value = signals.get("quotaId") or "", _number(signals.get("quotaValue"))
    if value and value > 0 and "PerMinute" in quota:  # a per-day quota is not paced: the retries end the run
        kind = "tokens" if "Token" in quota else "requests"
        out.setdefault(kind, Budget(value, 0.0, parse_duration(signals.get("retryDelay"))))
    return out


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def estimate_tokens(messages: Any, max_tokens: int | None, n: int | None, mean_output: float) -> int:
    """Tokens a request will be charged before it is answered: prompt characters / 4 plus the output.

    The output is ``max_tokens`` for each of the ``n`` answers (what OpenAI
    reserves); without ``max_tokens``, the mean output per request seen so far.
    """
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    output = max_tokens * max(1, n or 1) if max_tokens is not None else mean_output
    return math.ceil(chars / 4 + output)
