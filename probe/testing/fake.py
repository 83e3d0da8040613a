"""``FakeProvider(fn)``: any function becomes a model (httpx's MockTransport idea; STYLE.md rule 15)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from probe.providers.base import BaseProvider, Request, Response, Scores


class FakeProvider(BaseProvider):
    """A provider that answers with ``fn(request)`` (a :class:`Response`, a :class:`Scores`, or a str).

    ``fn`` may be async, and may raise any :class:`probe.errors.ProbeError` to script
    failures. ``calls`` counts calls; ``requests`` keeps them in call order.
    """

    def __init__(self, fn: Callable[[Request], Any], *, name: str = "fake", model: str = "m") -> None:
        super().__init__(model)
        self.name = name
        self.fn = fn
        self.calls = 0
        self.requests: list[Request] = []

    async def _answer(self, request: Request) -> Any:
        self.calls += 1
        self.requests.append(request)
        out = self.fn(request)
        if inspect.isawaitable(out):
            out = await out
        return out

    async def generate(self, request: Request) -> Response:
        out = await self._answer(request)
        return Response(texts=(out,)) if isinstance(out, str) else out

    async def score(self, request: Request) -> Scores:
        return await self._answer(request)


__all__ = ["FakeProvider"]
