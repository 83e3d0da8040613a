"""One model-call session for every study that asks a model (bell, words-generate, sweeps).

A session builds, from a model spec and a :class:`~probe.protocol.How`:

* the cassette (read-only when it is a shipped one, unless ``record`` is asked for),
* the provider: a :class:`~probe.cassette.Recorder` around the live backend, or a
  :class:`~probe.cassette.Replayer` when nothing may be called,
* the price of the model (``prices.toml``) and the budget check: a ``max_cost`` for a
  paid model without a price is an error *before any call*, never a silent pass,
* the :class:`~probe.runner.Runner` (concurrency, pacing, retries, budgets, progress),

and closes all of them, also after a failure. Use it as an async context manager::

    async with ModelSession(ref, how, cassette_path=out / "cassette.jsonl") as session:
        await session.run(jobs, on_outcome, description="bell openai:gpt-4o")
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from probe.batch import journal_path, settle
from probe.batch.status import batch_summary
from probe.cassette import Cassette, Recorder, Replayer
from probe.errors import BatchPending, ConfigError
from probe.pacing import LockedPacer, Pacer
from probe.pricing import Price, load_prices, price_for
from probe.protocol import How
from probe.providers import ModelRef, create_provider
from probe.runner import Job, Outcome, Runner, RunStats, SharedBudget

PAID_PROVIDERS = ("openai", "gemini")
"""Providers whose calls cost money (local, embedding and simulated respondents are free)."""

SHIPPED_CASSETTES = (Path(__file__).resolve().parents[1] / "cassettes", Path(__file__).resolve().parent / "_cassettes")


def is_shipped(path: Path) -> bool:
    """Whether ``path`` is one of the cassettes that come with probe (opened read-only)."""
    try:
        resolved = Path(path).resolve()
    except OSError:
        return False
    return any(resolved.is_relative_to(d) for d in SHIPPED_CASSETTES)


def model_price(ref: ModelRef, how: How) -> Price | None:
    """The model's price, or ``None`` (free or unknown); a budget in dollars needs a known price."""
    prices = load_prices(how.prices)  # a bad --prices file is an error whatever the model
    if ref.provider not in PAID_PROVIDERS or how.cassette_mode == "replay":
        return None
    price = price_for(ref.name, prices)
    if price is None and how.max_cost is not None:
        raise ConfigError(f"max_cost = {how.max_cost!r}: no price for {ref.spec} in "
                          f"{how.prices or 'probe/prices.toml'}, so the budget cannot be enforced",
                          hint="add the model to a price table and pass it with --prices FILE, or drop --max-cost")
    return price


KEY_VARIABLES = {"openai": ("OPENAI_API_KEY",), "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY")}


class SharedLimits:
    r"""One :class:`~probe.pacing.Pacer` per provider, endpoint and key for every session opened while it is
    active (:func:`shared_limits`; a sweep): the rpm, the server's stated budgets and the adaptive cap
    learned by one cell carry over to the next, so many cells look to a server like one client.

    The key enters only as a short hash held in memory (never on disk). The pacers are
    :class:`~probe.pacing.LockedPacer`\ s, so cells may run side by side in threads; a pacer is handed
    over (:meth:`~probe.pacing.Pacer.handover`) only to a session that finds it idle. ``budget`` is the
    study's :class:`~probe.runner.SharedBudget`: every session that may call (not a replayer) checks it.
    """

    def __init__(self, budget: SharedBudget | None = None) -> None:
        self._pacers: dict[tuple[str, str, str], Pacer] = {}
        self._users: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()
        self.budget = budget or SharedBudget()

    @staticmethod
    def limit_key(ref: ModelRef, how: How) -> tuple[str, str, str]:
        secret = next((os.environ[v] for v in KEY_VARIABLES.get(ref.provider, ()) if os.environ.get(v)), "")
        return ref.provider, how.base_url or "", hashlib.sha256(secret.encode()).hexdigest()[:12]

    def pacer(self, ref: ModelRef, how: How) -> Pacer:
        """The pacer of ``ref``'s provider, endpoint and key; the caller gives it back with :meth:`release`."""
        with self._lock:
            key = self.limit_key(ref, how)
            if key not in self._pacers:
                self._pacers[key] = LockedPacer(rpm=how.rpm)
            elif not self._users.get(key):  # idle since the last cell: its gap must not read as a slow server
                self._pacers[key].handover()
            self._users[key] = self._users.get(key, 0) + 1
            return self._pacers[key]

    def release(self, pacer: Pacer) -> None:
        """A session that used ``pacer`` closed."""
        with self._lock:
            for key, p in self._pacers.items():
                if p is pacer and self._users.get(key):
                    self._users[key] -= 1

    def __len__(self) -> int:
        return len(self._pacers)


_SHARED: SharedLimits | None = None


@contextlib.contextmanager
def shared_limits(budget: SharedBudget | None = None) -> Iterator[SharedLimits]:
    """While active, API sessions share one pacer per provider + endpoint + key, and every session that may
    call shares ``budget`` (see :class:`SharedLimits`)."""
    global _SHARED
    previous, _SHARED = _SHARED, SharedLimits(budget)
    try:
        yield _SHARED
    finally:
        _SHARED = previous


class ModelSession:
    """Cassette, provider, price, budget and runner for one study (see module docstring)."""

    def __init__(self, ref: ModelRef, how: How, *, cassette_path: Path) -> None:
        self.ref = ref
        self.how = how
        self.price = model_price(ref, how)
        read_only = is_shipped(cassette_path) and how.cassette_mode != "record"
        self.cassette = Cassette(cassette_path, how.cassette_mode, read_only=read_only)
        self.live_provider: Any = None
        """The backend itself (for batch request bodies and answers), or None when nothing may be called."""
        self.batch_report: Any = None
        if how.cassette_mode == "replay":
            self.provider: Any = Replayer(self.cassette, name=ref.provider, model=ref.name)
        elif read_only:
            # a shipped cassette never grows: what it lacks is a miss, not a call
            self.provider = Replayer(self.cassette, name=ref.provider, model=ref.name)
        else:
            inner = create_provider(ref, base_url=how.base_url, timeout=how.timeout_s, **dict(how.provider_kwargs))
            self.provider = Recorder(inner, self.cassette, base_url=how.base_url)
            self.live_provider = inner
        self.runner = Runner(self.provider, concurrency=how.concurrency, rpm=how.rpm, max_attempts=how.max_attempts,
                             max_calls=how.max_calls, max_cost=how.max_cost, price=self.price, progress=how.progress,
                             backoff_initial_s=how.backoff_initial_s, backoff_max_s=how.backoff_max_s)
        self._shared = _SHARED if not isinstance(self.provider, Replayer) else None
        self._shared_pacer: Pacer | None = None
        if self._shared is not None:
            self.runner.budget = self._shared.budget
            if ref.provider in PAID_PROVIDERS:
                self.runner.pacer = self._shared_pacer = self._shared.pacer(ref, how)

    @property
    def stats(self) -> RunStats:
        return self.runner.stats

    @property
    def provider_name(self) -> str:
        return self.ref.provider

    def key(self, job: Job) -> str:
        return job.request.key(self.ref.provider)

    async def run(self, jobs: Sequence[Job], on_outcome: Callable[[Outcome], Any], *, description: str) -> RunStats:
        """Run ``jobs``; with ``how.batch`` their answers come through batch jobs first (:func:`probe.batch.settle`),
        and :class:`~probe.errors.BatchPending` says that some are not in yet."""
        if self.how.batch and jobs:
            report = self.batch_report = await settle(self, list(jobs))
            if report.missing:
                ids = ", ".join(str(b.batch_id) for b in report.open) or "none open"
                held = f"; {report.held_back} held back by the budget" if report.held_back else ""
                raise BatchPending(f"{report.missing} of {report.planned} answers are not in yet "
                                   f"({len(report.open)} batches open: {ids}{held})",
                                   hint="run the same command again later to collect them (or add --wait)"
                                        + ("; raise --max-calls / --max-cost to send the rest" if held else ""),
                                   report=report)
        return await self.runner.run(jobs, on_outcome, description=description)

    def run_record(self) -> dict[str, Any]:
        """The ``run`` block of result.json: calls, cost, cassette and its recording dates."""
        held = self.cassette.summary()
        return {**self.stats.to_dict(), "cassette": str(self.cassette.path), "cassette_mode": self.cassette.mode,
                "cassette_read_only": self.cassette.read_only, "cassette_duplicates": self.cassette.stats.duplicates,
                "cassette_torn_tail": self.cassette.stats.torn_tail, "recorded_first": held["recorded_first"],
                "recorded_last": held["recorded_last"], "base_url": self.how.base_url,
                "price_per_mtok": None if self.price is None else {"input": self.price.input,
                                                                   "output": self.price.output},
                **({"batch": self.batch_record()} if self.how.batch or self.journal_path.is_file() else {})}

    @property
    def journal_path(self) -> Path:
        """The cassette's batches journal (``cassette.batches.jsonl``), written in batch mode."""
        return journal_path(self.cassette.path)

    def batch_record(self) -> dict[str, Any] | None:
        """The ``run.batch`` block: batches, answers collected, cost at batch rates (from the journal)."""
        if not self.journal_path.is_file():
            return None
        s = batch_summary(self.journal_path)
        return {"journal": self.journal_path.name, "batches": [b["batch_id"] for b in s["batches"]],
                "collected": s["collected"], "cost_usd": s["cost_usd"],
                "malformed": [m for b in s["batches"] for m in b["malformed"]]}

    async def aclose(self) -> None:
        try:
            await self.provider.aclose()
        finally:
            self.cassette.close()
            if self._shared_pacer is not None and self._shared is not None:
                self._shared.release(self._shared_pacer)
                self._shared_pacer = None

    async def __aenter__(self) -> ModelSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def settle_batches(ref: ModelRef, how: How, *, cassette_path: Path, jobs: Sequence[Job],
                         wait: bool | None = None) -> Any:
    """Bring the answers of ``jobs`` into ``cassette_path`` through batch jobs, without running anything else.

    For a sweep: gather the jobs of every cell that shares a model and a cassette, settle them here
    in one set of batches, then run each cell normally (every answer is then a cassette hit).
    Returns the :class:`probe.batch.BatchReport` (``report.missing``: answers not in yet).
    """
    async with ModelSession(ref, how.replace(batch=True), cassette_path=cassette_path) as session:
        return await settle(session, list(jobs), wait=wait)


__all__ = ["PAID_PROVIDERS", "ModelSession", "SharedLimits", "is_shipped", "model_price", "settle_batches",
           "shared_limits"]
