"""What the provider back-ends of :mod:`probe.batch` hand back: a poll, and one result per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Poll:
    """A batch's state at one poll: provider state name, whether it is final, request counts."""

    state: str
    done: bool
    counts: dict[str, int] = field(default_factory=dict)
    handle: dict[str, Any] = field(default_factory=dict)
    """What collecting needs (OpenAI: output/error file ids; Gemini: the inlined responses)."""


@dataclass
class LineResult:
    """One request's outcome in a finished batch: a response ``body``, or ``why`` it has none."""

    key: str | None
    line: int
    body: dict[str, Any] | None = None
    why: str | None = None
    malformed: bool = False
    expired: bool = False


__all__ = ["LineResult", "Poll"]
