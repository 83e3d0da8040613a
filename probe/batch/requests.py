"""Cassette requests to and from their journal form: the canonical request rebuilt as a :class:`Request`."""

from __future__ import annotations

from typing import Any

from probe.providers.base import Choice, GenerateConfig, Option, Request


def request_from_canonical(canonical: dict[str, Any]) -> Request:
    """The :class:`Request` whose ``canonical(provider)`` is ``canonical`` (so its key is the same)."""
    choice = None
    if canonical.get("choice") is not None:
        c = canonical["choice"]
        choice = Choice(options=tuple(Option(o["label"], o["text"], dict(o.get("tags") or {})) for o in c["options"]),
                        query=c.get("query"))
    return Request(model=canonical["model"], messages=tuple(dict(m) for m in canonical["messages"]),
                   config=GenerateConfig(**(canonical.get("config") or {})), choice=choice,
                   kind=canonical.get("kind", "generate"), trial=int(canonical.get("trial", 0)),
                   tag=str(canonical.get("tag", "")))


def estimate_tokens(canonical: dict[str, Any]) -> tuple[int, int]:
    """(input tokens ~ characters / 4 + 4, output tokens <= max_tokens x n) of one request, for budgets."""
    chars = sum(len(str(m.get("content", ""))) for m in canonical.get("messages") or [])
    config = canonical.get("config") or {}
    out = 1 if canonical.get("kind") == "score" else int(config.get("max_tokens") or 16) * int(config.get("n") or 1)
    return chars // 4 + 4, out


def requests_within_budget(canonicals: list[dict[str, Any]], *, max_calls: int | None, max_cost: float | None,
                           price: Any) -> int:
    """How many of these requests (in order) fit ``max_calls`` and ``max_cost`` at ``price`` (already the
    batch price), with the upper-bound token estimate of :func:`estimate_tokens`."""
    n = len(canonicals) if max_calls is None else min(len(canonicals), max(0, max_calls))
    if max_cost is None or price is None:
        return n
    spent = 0.0
    for i, canonical in enumerate(canonicals[:n]):
        spent += price.cost(*estimate_tokens(canonical))
        if spent > max_cost:
            return i
    return n


__all__ = ["estimate_tokens", "request_from_canonical", "requests_within_budget"]
