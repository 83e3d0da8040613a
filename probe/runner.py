"""Run many model calls: concurrency, client-side rate limit, retries, budgets, resume, progress.

The runner is the one place with call policy (httpx's client over its
transport; inspect_ai's ``Model`` over ``ModelAPI``):

* ``concurrency`` calls in flight at once (asyncio workers);
* ``rpm``: call starts are spaced at least 60/rpm seconds apart;
* retries through tenacity on what the provider calls retryable (429, 5xx,
  timeouts, dropped connections, malformed bodies), exponential backoff with
  jitter, honouring ``Retry-After``; a 429 also pauses every worker until the
  server's wait is over;
* adaptive pacing (as TCP's congestion control): a 429 caps the rate of call
  starts below the rate that was getting through; successes raise the cap
  again, fast up to the last known good rate and slowly beyond it; never above
  ``rpm``; so the runner settles near a server's limit without being told it;
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
import time
from collections import Counter, deque
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
from probe.pricing import Price
from probe.progress import Progress
from probe.providers.base import Provider, Request, Response, Scores


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "planned": self.planned, "done": self.done, "calls": self.calls, "cached": self.cached,
            "retries": dict(self.retries), "retries_total": sum(self.retries.values()),
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "elapsed_s": round(self.elapsed_s, 3), "stopped": self.stopped,
        }


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
        self.min_interval = 60.0 / rpm if rpm else 0.0
        self._rate_cap: float | None = None  # adaptive, requests/s; None until the first 429
        self._recent: deque[float] = deque(maxlen=4096)
        self._t0 = time.monotonic()
        self._last_decrease = -1e9
        self._threshold: float | None = None
        self.max_attempts = max(1, int(max_attempts))
        self.max_calls = max_calls
        self.max_cost = max_cost
        self.price = price
        self.progress = progress
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()
        self._next_start = 0.0
        self._cooldown_until = 0.0
        self._throttle_lock = asyncio.Lock()
        self._prepared = False
        self._prepare_lock = asyncio.Lock()
        self.stats = RunStats(cost_usd=0.0 if price is not None else None)

    # -- pacing -------------------------------------------------------------------------------------
    async def _throttle(self) -> None:
        async with self._throttle_lock:
            now = time.monotonic()
            start = max(now, self._next_start, self._cooldown_until)
            interval = self.min_interval if self._rate_cap is None else max(self.min_interval, 1 / self._rate_cap)
            self._next_start = start + interval
        delay = start - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def _slow_down(self) -> None:
        """Multiplicative decrease on a 429 (at most once per 0.5 s: a burst of 429s is one signal).

        The first 429 caps call starts at 90% of the rate that got through and starts
        a "slow start" (the first estimate is taken during start-up and runs low);
        later ones set the cap, and a threshold above which growth turns slow, to 90%
        of the current cap.
        """
        now = time.monotonic()
        if now - self._last_decrease < 0.5:
            return
        if self._rate_cap is None:
            window = min(2.0, max(now - self._t0, 0.25))
            got_through = sum(1 for t in self._recent if now - t <= window)
            if got_through < 8:  # too early to measure: the Retry-After cooldown alone handles it
                return
            self._last_decrease = now
            self._rate_cap = 0.9 * got_through / window
        else:
            self._last_decrease = now
            self._rate_cap = max(0.9 * self._rate_cap, 0.2)
            self._threshold = self._rate_cap

    def _speed_up(self) -> None:
        """Growth after each success: +2% per answer below the threshold, +0.2% above it."""
        self._recent.append(time.monotonic())
        if self._rate_cap is not None:
            self._rate_cap *= 1.02 if self._threshold is None or self._rate_cap < self._threshold else 1.002

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited):
            self._slow_down()
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            wait = min(max(exc.retry_after, 0.0), 600.0) + self._rng.uniform(0, 0.1)
            self._cooldown_until = max(self._cooldown_until, time.monotonic() + wait)
            return wait
        wait = wait_exponential_jitter(initial=self.backoff_initial_s, max=self.backoff_max_s)(state)
        if isinstance(exc, RateLimited):
            self._cooldown_until = max(self._cooldown_until, time.monotonic() + wait)
        return wait

    async def _prepare(self) -> None:
        """The provider's one-time setup (e.g. loading local weights), before any timed call."""
        async with self._prepare_lock:
            if not self._prepared:
                prepare = getattr(self.provider, "prepare", None)
                if prepare is not None:
                    await prepare()
                self._prepared = True

    async def _call(self, request: Request) -> tuple[Response | Scores, int, list[str], float]:
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
        attempts = 0
        async for attempt in retrying:
            with attempt:
                attempts += 1
                await self._throttle()
                t0 = time.monotonic()
                result = await method(request)
                latency = time.monotonic() - t0
        self._speed_up()
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
            return (f"{stats.input_tokens + stats.output_tokens} tok{cost}"
                    + (f" retries {retries}" if retries else "") + (f" cached {stats.cached}" if stats.cached else ""))

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
                        reason = self._over_budget(in_flight)
                        if reason is not None:
                            queue.append(job)
                            stats.stopped = reason
                            return
                        in_flight += 1
                        try:
                            result, attempts, causes, latency = await self._call(job.request)
                        finally:
                            in_flight -= 1
                        stats.calls += 1
                        stats.input_tokens += result.usage.input_tokens
                        stats.output_tokens += result.usage.output_tokens
                        if stats.cost_usd is not None:
                            stats.cost_usd += self._cost(result)
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

        restore = self._catch_sigint()
        try:
            progress.__enter__()
            await asyncio.gather(*(worker() for _ in range(min(self.concurrency, max(1, len(jobs))))))
        finally:
            restore()
            stats.elapsed_s += time.monotonic() - t_start
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
