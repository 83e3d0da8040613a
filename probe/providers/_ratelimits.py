"""What a server says about its rate limits, picked out of the SDKs' raw responses and errors.

The values stay raw strings (they go to the cassette as the server wrote them);
:mod:`probe.pacing` interprets them.

* OpenAI (and compatible servers) send, with answers and 429s alike,
  ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` (OpenAI, "Rate
  limits" guide, section "Rate limits in headers"; ``reset`` is a duration such
  as ``1s`` or ``6m0s``), and ``retry-after`` / ``retry-after-ms`` on some 429s.
* Gemini answers a 429 with ``RESOURCE_EXHAUSTED`` and ``google.rpc`` details in
  the error body: ``RetryInfo.retryDelay`` (a protobuf Duration, ``"58s"``) and
  ``QuotaFailure.violations[].quotaId`` / ``quotaValue`` (which quota, e.g.
  ``GenerateRequestsPerMinutePerProjectPerModel-FreeTier``, and its size).
"""

from __future__ import annotations

import contextlib
from typing import Any

from probe.ratelimits import parse_duration, parse_retry_after

HEADERS = (*(f"x-ratelimit-{what}-{kind}" for kind in ("requests", "tokens") for what in ("limit", "remaining", "reset")),
           "retry-after", "retry-after-ms")
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"


def rate_limit_headers(headers: Any) -> dict[str, str] | None:
    """The rate-limit headers among ``headers`` (any mapping with ``.get``, case-insensitive or lower-case)."""
    if headers is None:
        return None
    found = {}
    for name in HEADERS:
        value = None
        with contextlib.suppress(Exception):
            value = headers.get(name)
        if value is not None:
            found[name] = str(value)
    return found or None


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` (OpenAI) or ``retry-after`` (seconds or HTTP-date)."""
    if headers is None:
        return None
    with contextlib.suppress(TypeError, ValueError, AttributeError):
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return float(ms) / 1000
    with contextlib.suppress(AttributeError):
        return parse_retry_after(headers.get("retry-after"))
    return None


def gemini_details(body: Any) -> dict[str, str]:
    """``retryDelay``, ``quotaId`` and ``quotaValue`` from a Gemini error body (``APIError.details``)."""
    error = body.get("error", body) if isinstance(body, dict) else {}
    details = error.get("details") if isinstance(error, dict) else None
    found: dict[str, str] = {}
    for item in details if isinstance(details, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("@type") == RETRY_INFO and item.get("retryDelay") is not None:
            found["retryDelay"] = str(item["retryDelay"])
        elif item.get("@type") == QUOTA_FAILURE:
            for violation in item.get("violations") or []:
                if isinstance(violation, dict) and violation.get("quotaId"):
                    found.setdefault("quotaId", str(violation["quotaId"]))
                    if violation.get("quotaValue") is not None:
                        found.setdefault("quotaValue", str(violation["quotaValue"]))
    return found


def retry_delay_seconds(details: dict[str, str]) -> float | None:
    """Gemini's ``RetryInfo`` delay in seconds."""
    return parse_duration(details.get("retryDelay"))
