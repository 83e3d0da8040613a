"""The one place where secrets are stripped from anything probe writes or prints.

Two layers, because servers echo headers back and SDK errors quote them:

1. by name: mapping keys that look like credentials (``authorization``,
   ``api-key``, ``x-goog-api-key``, ...) have their values replaced;
2. by value: every string is scanned for the values of credential-like
   environment variables (``*_API_KEY``, ``*_TOKEN``, ``*SECRET*``) and for
   bearer tokens / ``sk-`` style keys, which are replaced by ``[REDACTED]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_KEY_NAMES = re.compile(
    r"^(authorization|proxy-authorization|api[-_]?key|x-api-key|x-goog-api-key|openai-api-key|"
    r"cookie|set-cookie|access[-_]?token|refresh[-_]?token|client[-_]?secret|password)$",
    re.IGNORECASE,
)
_SECRET_ENV_NAMES = re.compile(r"(API_KEY|_TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
# Patterns for keys that may show up without us knowing the value (e.g. echoed by a server).
_SECRET_PATTERNS = re.compile(
    r"(Bearer\s+[A-Za-z0-9._~+/=-]{8,}|sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})"
)
_MIN_SECRET_LEN = 6


def secret_values(extra: Iterable[str] = ()) -> list[str]:
    """Values of credential-like environment variables (longest first), plus ``extra``."""
    values = {v for k, v in os.environ.items() if _SECRET_ENV_NAMES.search(k) and len(v) >= _MIN_SECRET_LEN}
    values.update(v for v in extra if v and len(v) >= _MIN_SECRET_LEN)
    return sorted(values, key=len, reverse=True)


def redact_text(text: str, values: Iterable[str] | None = None) -> str:
    """Replace every known secret value and key-shaped token in ``text``."""
    for value in secret_values() if values is None else values:
        if value in text:
            text = text.replace(value, REDACTED)
    return _SECRET_PATTERNS.sub(REDACTED, text)


def redact(obj: Any, values: Iterable[str] | None = None) -> Any:
    """Return a copy of ``obj`` (nested dicts/lists/strings) with secrets removed."""
    vals = secret_values() if values is None else list(values)
    return _redact(obj, vals)


def _redact(obj: Any, values: list[str]) -> Any:
    if isinstance(obj, str):
        return redact_text(obj, values)
    if isinstance(obj, dict):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEY_NAMES.match(k) and v else _redact(v, values))
            for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [_redact(v, values) for v in obj]
    return obj
