"""Run many model calls: concurrency, client-side rate limit, retries, budgets, resume, progress.

The runner is the one place with call policy (httpx's client over its
transport; inspect_ai's ``Model`` over ``ModelAPI``):

* ``concurrency`` calls in flight at once; a call waiting for its retry does
  not hold a slot (twice as many asyncio workers as slots take the slack);
* retries through tenacity on what the provider calls retryable (429, 5xx,
  timeouts, dropped connections, malformed bodies), exponential backoff with
  jitter, honouring ``Retry-After``;
* pacing of call starts by :class:`probe.pacing.Pacer`: ``rpm``, the server's
  stated request and token budgets (rate-limit headers, Gemini quota details),
  shared pauses on 429s that belong to a shared limit, and an adaptive cap
  that tells a rate limit from 429s that do not depend on the rate (see
  ``probe/pacing.py``); the progress bar says what is pacing the run;
* the provider may be a cassette wrapper (:class:`probe.cassette.Recorder` /
  :class:`~probe.cassette.Replayer`): what ``provider.cached(request)`` returns is
  neither paced nor paid; the recorder puts every paid answer on disk before it is
  handed on, so an interrupted run resumes without paying twice;
* ``max_calls`` / ``max_cost`` stop cleanly before the budget is exceeded
  (:class:`RunStopped`; resumable);
* a call that still fails stops scheduling, lets the calls in flight finish
  (they are paid for) and re-raises;
* Ctrl-C (SIGINT) does the same: no new calls, the ones in flight are awaited
  and recorded, then :class:`RunStopped` (reason ``"interrupted"``); a second
  Ctrl-C aborts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from probe.errors import ProviderError, RateLimited, RunStopped, retry_cause
from probe.pacing import Pacer
from probe.pricing import Price
from probe.progress import Progress, note
from probe.providers.base import Provider, Request, Response, Scores
from probe.ratelimits import estimate_tokens


@dataclass
class Job:
    """One request, with what the experiment needs to interpret its answer."""

    request: Request
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """One job's result."""

    job: Job
    key: str
    result: Response | Scores
    cached: bool
    latency_s: float = 0.0
    attempts: int = 1
    retry_causes: list[str] = field(default_factory=list)


@dataclass
class RunStats:
    """Counts for the report: what was paid for, replayed, retried and why."""

    planned: int = 0
    done: int = 0
    calls: int = 0
    cached: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    elapsed_s: float = 0.0
    stopped: str | None = None
    pacing: dict[str, Any] | None = None
    """What the pacing saw and did (:meth:`probe.pacing.Pacer.summary`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "planned": self.planned, "done": self.done, "calls": self.calls, "cached": self.cached,
            "retries": dict(self.retries), "retries_total": sum(self.retries.values()),
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "elapsed_s": round(self.elapsed_s, 3), "stopped": self.stopped, "pacing": self.pacing,
        }


class SharedBudget:
    """``max_calls`` / ``max_cost`` for many runners at once (a study's cells, also in several threads).

    Every paid call's first attempt asks :meth:`start` (under one lock) before it goes out and reports with
    :meth:`end`; a start is refused once the calls made plus the calls in flight reach ``max_calls``, or once
    the dollars spent plus the mean cost per call for each call in flight (and this one) would pass
    ``max_cost`` -- the rule of one runner's own budget, applied to the sum of all of them, so running cells
    side by side never spends more than running them one after another. While no call has ended the mean
    cost is unknown: then at most ``first_wave`` calls are in flight (one runner's concurrency), as in a
    single run. :meth:`stop` refuses every later start (Ctrl-C of the whole study).
    """

    WAIT = "wait"
    """What :meth:`start` returns while the first wave is in flight: not a stop, ask again shortly."""

    def __init__(self, max_calls: int | None = None, max_cost: float | None = None, *, first_wave: int = 8) -> None:
        self.max_calls, self.max_cost, self.first_wave = max_calls, max_cost, max(1, int(first_wave))
        self.calls = 0
        self.cost_usd = 0.0
        self.in_flight = 0
        self.stopped: str | None = None
        self._lock = threading.Lock()

    def start(self) -> str | None:
        """Book one call; ``None`` if it may go out, :attr:`WAIT` to ask again shortly, else why not (the run
        stops with that reason)."""
        with self._lock:
            if self.stopped is not None:
                return self.stopped
            if self.max_calls is not None and self.calls + self.in_flight >= self.max_calls:
                return f"max_calls = {self.max_calls} reached ({self.calls} paid calls made)"
            if self.max_cost is not None:
                if self.calls == 0 and self.in_flight >= self.first_wave:
                    return self.WAIT
                avg = self.cost_usd / self.calls if self.calls else 0.0
                if self.cost_usd + avg * (self.in_flight + 1) > self.max_cost:
                    return f"max_cost = ${self.max_cost:g} reached (${self.cost_usd:.4f} spent)"
            self.in_flight += 1
            return None

    def end(self, cost_usd: float | None) -> None:
        """A booked call ended: paid with ``cost_usd`` dollars, or failed (``None``; not counted)."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            if cost_usd is not None:
                self.calls += 1
                self.cost_usd += cost_usd

    def charge(self, calls: int, cost_usd: float = 0.0) -> None:
        """Count calls made outside the runners (a study's batch requests) against the budget."""
        with self._lock:
            self.calls += int(calls)
            self.cost_usd += float(cost_usd)

    def stop(self, reason: str = "interrupted") -> None:
        with self._lock:
            if self.stopped is None:
                self.stopped = reason


class _NotStarted(Exception):
    """A job's first attempt found the run stopping while it waited for a slot; it goes back to the queue."""


class Runner:
    """Executes jobs through a provider and a cassette (see module docstring).

    Parameters
    ----------
    provider : Provider
        A live provider, or a cassette wrapper around one (or a replayer); its
        ``name`` is the prefix of cassette keys (``openai``, ``hf``, ...).
    concurrency : int, default=8
    rpm : float, optional
        Client-side limit on call starts per minute.
    max_attempts : int, default=6
        Attempts per call, first one included.
    max_calls, max_cost : optional
        Budget for paid calls in this invocation (count; US dollars).
    price : Price, optional
        For cost estimates; ``None`` means unknown (cost reported as null).
    """

    def __init__(self, provider: Provider, *, concurrency: int = 8,
                 rpm: float | None = None, max_attempts: int = 6, max_calls: int | None = None,
                 max_cost: float | None = None, price: Price | None = None,
                 progress: bool | None = None, backoff_initial_s: float = 0.5, backoff_max_s: float = 30.0,
                 rng: random.Random | None = None) -> None:
        self.provider = provider
        self.provider_name = provider.name
        self.concurrency = max(1, int(concurrency))
        self.pacer = Pacer(rpm=rpm)
        self.max_attempts = max(1, int(max_attempts))
        self.max_calls = max_calls
        self.max_cost = max_cost
        self.price = price
        self.progress = progress
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()
        self._slots: asyncio.Semaphore | None = None
        self._may_start: Callable[[], bool | None] = lambda: True
        self._prepared = False
        self._prepare_lock = asyncio.Lock()
        self.stats = RunStats(cost_usd=0.0 if price is not None else None)
        self.budget: SharedBudget | None = None
        """A budget shared with other runners (a study's), checked besides this runner's own."""

    # -- retries ------------------------------------------------------------------------------------
    def _wait(self, state: RetryCallState) -> float:
        """The retry's own wait: the server's Retry-After (plus up to 0.1 s of jitter), else exponential backoff."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), 600.0) + self._rng.uniform(0, 0.1)
        return wait_exponential_jitter(initial=self.backoff_initial_s, max=self.backoff_max_s)(state)

    async def _prepare(self) -> None:
        """The provider's one-time setup (e.g. loading local weights), before any timed call."""
        async with self._prepare_lock:
            if not self._prepared:
                prepare = getattr(self.provider, "prepare", None)
                if prepare is not None:
                    local = getattr(getattr(self.provider, "inner", self.provider), "name", "") in ("hf", "embed")
                    t0 = time.monotonic()
                    if local:  # loading weights can take a minute: say so before the bar sits at 0
                        note(f"loading model {self.provider_name}:{self.provider.model} ...",
                             enabled=False if self.progress is False else None)
                    await prepare()
                    if local:
                        note(f"model loaded in {time.monotonic() - t0:.1f} s",
                             enabled=False if self.progress is False else None)
                self._prepared = True

    async def _call(self, request: Request, started: list[bool]) -> tuple[Response | Scores, int, list[str], float]:
        """Call with retries; ``started[0]`` turns True once the first attempt has passed the budget check."""
        assert self._slots is not None
        if not self._prepared:
            await self._prepare()
        causes: list[str] = []
        method = self.provider.generate if request.kind == "generate" else self.provider.score

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            cause = retry_cause(exc) if exc else "unknown"
            causes.append(cause)
            self.stats.retries[cause] += 1

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts), wait=self._wait, reraise=True,
            retry=retry_if_exception(self.provider.should_retry), before_sleep=before_sleep,
        )
        config = request.config
        attempts = 0
        async for attempt in retrying:
            with attempt:
                attempts += 1
                async with self._slots:  # held for the call only, not for the retry's wait
                    if attempts == 1:
                        while (may := self._may_start()) is None:  # a shared budget's first wave is out
                            await asyncio.sleep(0.02)
                        if not may:
                            raise _NotStarted  # the run is stopping (budget, failure, Ctrl-C): not begun
                        started[0] = True
                    estimate = estimate_tokens(request.messages, config.max_tokens, config.n,
                                               self.pacer.mean_output_tokens)
                    ticket = await self.pacer.before_call(estimate)
                    t0 = time.monotonic()
                    try:
                        result = await method(request)
                    except RateLimited as exc:
                        self.pacer.on_rate_limited(ticket, exc.retry_after, exc.rate_limits)
                        raise
                    except BaseException:
                        self.pacer.on_failure(ticket)
                        raise
                    latency = time.monotonic() - t0
                    self.pacer.on_success(ticket, result.rate_limits, input_tokens=result.usage.input_tokens,
                                          output_tokens=result.usage.output_tokens)
        return result, attempts, causes, latency

    # -- budget ---------------------------------------------------------------------------------------
    def _cost(self, result: Response | Scores) -> float:
        if self.price is None:
            return 0.0
        return self.price.cost(result.usage.input_tokens, result.usage.output_tokens)

    def _over_budget(self, in_flight: int) -> str | None:
        if self.max_calls is not None and self.stats.calls + in_flight >= self.max_calls:
            return f"max_calls = {self.max_calls} reached ({self.stats.calls} paid calls made)"
        if self.max_cost is not None and self.stats.cost_usd is not None:
            avg = self.stats.cost_usd / self.stats.calls if self.stats.calls else 0.0
            if self.stats.cost_usd + avg * (in_flight + 1) > self.max_cost:
                return f"max_cost = ${self.max_cost:g} reached (${self.stats.cost_usd:.4f} spent)"
        return None

    # -- the loop ---------------------------------------------------------------------------------------
    async def run(self, jobs: Sequence[Job], on_outcome: Callable[[Outcome], Any], *,
                  description: str = "calls") -> RunStats:
        """Run ``jobs``; ``on_outcome`` is called once per job, in completion order (awaited if it returns an
        awaitable, e.g. a deferred fsync)."""
        stats = self.stats
        stats.planned += len(jobs)
        queue: list[Job] = list(reversed(jobs))
        fatal: list[BaseException] = []
        in_flight = 0
        t_start = time.monotonic()
        progress = Progress(description, len(jobs), enabled=False if not jobs else self.progress, unit="calls")

        def info() -> str:
            cost = "" if stats.cost_usd is None or not stats.calls else f" ${stats.cost_usd:.4f}"
            retries = sum(stats.retries.values())
            paced = self.pacer.status()
            return (f"{stats.input_tokens + stats.output_tokens} tok{cost}"
                    + (f" retries {retries}" if retries else "") + (f" cached {stats.cached}" if stats.cached else "")
                    + (f" {paced}" if paced else ""))

        async def worker() -> None:
            nonlocal in_flight
            while queue and not fatal and stats.stopped is None:
                job = queue.pop()
                try:
                    key = job.request.key(self.provider_name)
                    cached = self.provider.cached(job.request)
                    if cached is not None:
                        stats.cached += 1
                        outcome = Outcome(job, key, cached, cached=True)
                    else:
                        started = [False]
                        try:
                            result, attempts, causes, latency = await self._call(job.request, started)
                        except _NotStarted:
                            queue.append(job)
                            return
                        except BaseException:
                            if started[0] and self.budget is not None:
                                self.budget.end(None)
                            raise
                        finally:
                            if started[0]:
                                in_flight -= 1
                        cost = self._cost(result)
                        if self.budget is not None:
                            self.budget.end(cost)
                        stats.calls += 1
                        stats.input_tokens += result.usage.input_tokens
                        stats.output_tokens += result.usage.output_tokens
                        if stats.cost_usd is not None:
                            stats.cost_usd += cost
                        outcome = Outcome(job, key, result, cached=False, latency_s=latency, attempts=attempts,
                                          retry_causes=causes)
                    pending = on_outcome(outcome)
                    if inspect.isawaitable(pending):
                        await pending
                    stats.done += 1
                    progress.advance(info=info())
                except Exception as exc:  # stop scheduling; in-flight workers finish their call
                    fatal.append(exc)
                    return

        async def refresh() -> None:  # keeps "paused: Retry-After ..." current while nothing completes
            while True:
                await asyncio.sleep(0.5)
                progress.update(info=info())

        def may_start() -> bool | None:  # a job about to make its first attempt, holding a slot: budget and stop
            nonlocal in_flight  # checks; None: not yet (the shared budget's first wave is in flight)
            if fatal or stats.stopped is not None:
                return False
            reason = self._over_budget(in_flight)
            if reason is None and self.budget is not None:
                reason = self.budget.start()
                if reason == SharedBudget.WAIT:
                    return None
            if reason is not None:
                stats.stopped = reason
                return False
            in_flight += 1
            return True

        self._slots = asyncio.Semaphore(self.concurrency)
        self._may_start = may_start
        workers = min(2 * self.concurrency + 2, max(1, len(jobs)))
        restore = self._catch_sigint()
        ticker = None
        try:
            progress.__enter__()
            if jobs and self.progress is not False:
                ticker = asyncio.ensure_future(refresh())
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            if ticker is not None:
                ticker.cancel()
            restore()
            stats.elapsed_s += time.monotonic() - t_start
            stats.pacing = self.pacer.summary()
            progress.__exit__(None, None, None)
        if fatal:
            exc = fatal[0]
            if isinstance(exc, ProviderError):  # say what survived: the paid answers are on disk
                exc.message = f"{exc.message}; {stats.done} of {stats.planned} answers saved"
                resume = "rerun the same command to resume (saved answers are not asked again)"
                exc.hint = f"{exc.hint}; {resume}" if exc.hint else resume
            raise exc
        if stats.stopped == "interrupted":
            raise RunStopped(f"interrupted; {stats.done} of {stats.planned} answers saved", reason="interrupted")
        if stats.stopped is not None:
            raise RunStopped(f"{stats.stopped}; {stats.done} of {stats.planned} answers saved",
                             hint="run the same command again (with a larger budget) to resume")
        return stats

    def request_stop(self) -> None:
        """Stop taking new jobs; the calls in flight finish and are recorded (first Ctrl-C)."""
        self.stats.stopped = "interrupted"

    def _catch_sigint(self) -> Callable[[], None]:
        """First SIGINT: graceful stop; second: the default KeyboardInterrupt. Returns the undo."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        loop = asyncio.get_running_loop()
        previous = signal.getsignal(signal.SIGINT)

        def first() -> None:
            self.request_stop()
            print("probe: stopping: waiting for the calls in flight (Ctrl-C again to abort)", file=sys.stderr)
            loop.remove_signal_handler(signal.SIGINT)
            signal.signal(signal.SIGINT, signal.default_int_handler)

        try:
            loop.add_signal_handler(signal.SIGINT, first)
        except (NotImplementedError, RuntimeError, ValueError):
            return lambda: None

        def restore() -> None:
            with contextlib.suppress(RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
            signal.signal(signal.SIGINT, previous)

        return restore
