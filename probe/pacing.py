"""When to start the next model call: the runner's pacing policy, as one small class.

The runner asks :class:`Pacer` for a start time before every attempt
(:meth:`Pacer.before_call`) and reports how the attempt ended
(:meth:`Pacer.on_success`, :meth:`Pacer.on_rate_limited`, :meth:`Pacer.on_failure`).
A start waits for the latest of four clocks:

1. **the user's ``--rpm``**: starts at least 60/rpm s apart;
2. **what the server states** (read by :mod:`probe.ratelimits`). OpenAI sends
   ``x-ratelimit-{limit,remaining,reset}-requests`` and the ``-tokens`` three
   with every answer and 429 (OpenAI, "Rate limits" guide, section "Rate limits
   in headers"; limits per minute, resets as durations such as ``1s``,
   ``6m0s``). The pacer keeps a copy of each bucket: level = ``remaining``
   minus the calls it has let go that the server may not have counted yet,
   refilled at limit/60 per second (``reset`` is recorded; for OpenAI it says
   the same, e.g. one request of a 5000-per-minute budget resets in 12 ms).
   The token bucket is charged with the tokens each request will use,
   estimated before the call as OpenAI counts them ("your rate limit is
   calculated as the maximum of max_tokens and the estimated number of tokens
   based on the character count of your request": we charge prompt
   characters / 4 plus ``max_tokens`` per answer, an upper bound of either
   reading) and corrected after by the server's ``remaining`` or, without one,
   by the usage the answer reports. Gemini sends no such headers; its 429s
   carry ``google.rpc.QuotaFailure`` (the quota, ``...PerMinute...``, and its
   ``quotaValue``), which sets the same kind of bucket, and ``RetryInfo``;
3. **a shared pause** until a 429's ``Retry-After`` (seconds or HTTP-date,
   RFC 9110 §10.2.3) or ``RetryInfo`` delay has passed, for every call, when
   the server says its budget is exhausted or when half of the last 40 calls
   were refused (a flood). Any other 429 delays only its own retry, and the
   runner lets another call use the slot meanwhile;
4. **an adaptive cap on the start rate**, for servers that limit without saying so.

**Telling a rate limit from 429s that do not depend on the rate.** A server
limit admits a fixed number of calls per second: above it the 429 share is
``1 - limit/rate`` and falls when the client slows down. Overload, or a budget
shared with other clients, refuses a fixed share of calls whatever our rate,
and slowing down only loses throughput. The old rule (every 429 lowers the cap
by 10 %, each success raises it by 0.2 %) cannot tell them apart, and under the
second kind it ratchets the rate down to its floor (issue 12: 5 calls/s decayed
to one call every 3.8 s). Here a 429 *counts* only if the 429 share of the last
``WINDOW`` calls is more than the *background* (the share found not to depend
on the rate; 0 until found) explains (binomial tail < 0.1 %), and every
decrease is an *experiment*. The cap is set to 90 % of the rate the server was
admitting (answers per second over the last second, pauses excluded, divided
by 1 minus the background share); once ``MIN_EVAL`` attempts booked under the
new cap have ended, their 429 share is compared with the share of the last
``HISTORY`` attempts before (one-sided two-proportion z-test at 1 %; the long
"before" keeps the window that triggered the decrease, extreme by selection,
from making any share seem to fall afterwards; a decrease also waits for 60
attempts of history, 30 in a flood):

* the share **fell**: the 429s track the rate; the cap stays, later 429s lower it again;
* it **rose**, or fell but not beyond chance: up to three times the attempts
  are collected; if it still rose, the limit itself moved (e.g. 50 -> 20 req/s)
  and the lower cap stays; so it does if the new cap did not bind (our rate did
  not change, so neither could the share);
* otherwise slowing down did not help: the 429s do not depend on the rate.
  The cap returns to where it was before the decreases since the last verdict
  (unpaced, if it was), and their share becomes the background.

A server that states its budgets needs no experiment. One experiment runs at a
time, and decreases are at least ``HOLD_S`` apart.

**Recovery.** The cap grows with time, not per success: per-success growth is
slowest exactly when the cap is lowest, which is how the old rule collapsed.
It grows by 20 % per second after a verdict, and the growth rate doubles with
every 1.5 s without a counted 429 (a CUBIC-like probe), so a limit that was
lowered and raised again (50 -> 20 -> 50 req/s) is found again within a few
seconds, while near a steady limit the cap oscillates between 90 % and a
little over 100 % of it. It is frozen while an experiment runs, never grows
beyond 1.5 times the answers actually received per second (a cap the
concurrency never reaches tells nothing), and never above ``--rpm``.

**The floor** is one call per minute. It keeps the cap from reaching zero, and
it is low enough for the smallest published limits (Gemini's free tiers allow a
few requests per minute). Since a decrease sets the cap to 90 % of what the
server was admitting, and a decrease that did not help is undone, the floor is
reached only when the server admits (almost) nothing; then the retries' own
limit ends the run with the server's error instead of waiting forever, and the
same command resumes it.

:meth:`Pacer.status` names what is holding the run back (server limit,
Retry-After, token budget, ``--rpm``, the adaptive cap) for the progress bar;
:meth:`Pacer.summary` goes into ``result.json``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from probe.ratelimits import Budget, budgets_from

DECREASE = 0.9
"""A decrease sets the cap to this fraction of the goodput."""
HOLD_S = 0.5
"""Decreases at least this far apart: a burst of 429s is one signal."""
FLOOR_PER_S = 1 / 60
"""The lowest cap: one call per minute (see module docstring)."""
WINDOW = 40
"""Outcomes in the sliding window that decides whether a 429 counts."""
HISTORY = 200
"""Outcomes behind an experiment's "before" share: longer than ``WINDOW``, so that the window that
triggered the decrease (extreme by selection) does not make the share seem to fall afterwards."""
MIN_EVAL = 30
"""Attempts started under a new cap before the experiment is judged."""
EVAL_MAX_S = 20.0
"""An experiment with at least 5 attempts after it is judged after this long anyway."""
GROWTH = 0.2
"""Cap growth per second right after a decrease; doubles every ``GROWTH_DOUBLING_S``."""
GROWTH_DOUBLING_S = 1.5
FLOOD = 0.5
"""A counted 429 pauses every call only if this share of the recent calls was refused (or the server says so)."""
STATUS_S = 2.0
"""How long a pacing reason stays on the progress bar after it last delayed a start."""

_UNSET = object()


class _Bucket:
    """A copy of a server's bucket in virtual time: ``level`` at ``t`` (may lie in the future)."""

    def __init__(self, budget: Budget, level: float, t: float) -> None:
        self.sync(budget, level, t)

    def sync(self, budget: Budget, level: float, t: float) -> None:
        self.capacity = budget.limit  # a full window's worth; a server with a smaller burst corrects us by 429s
        self.rate = max(budget.refill_per_s, 1e-9)
        self.limit = budget.limit
        self.level, self.t = min(level, self.capacity), t

    def reserve(self, need: float, now: float) -> float:
        """Book ``need`` units; the earliest start time."""
        t = max(now, self.t)
        level = min(self.capacity, self.level + (t - self.t) * self.rate)
        need = min(need, self.capacity)
        start = t if level >= need else t + (need - level) / self.rate
        self.level = min(self.capacity, level + (start - t) * self.rate) - need
        self.t = start
        return start


@dataclass
class Ticket:
    """One attempt's booking: when it was made, when the call may start, and the tokens it was charged."""

    booked: float
    start: float
    tokens: int = 0
    settled: bool = False


@dataclass
class _Experiment:
    t: float
    cap_before: float | None
    k_before: int
    n_before: int
    rate_before: float


@dataclass
class _Reason:
    text: str
    t: float = -1e9


@dataclass
class Pacer:
    """The pacing policy (see module docstring). Not thread-safe; one per runner (one event loop), or a
    :class:`LockedPacer` for runners in several threads.

    Parameters
    ----------
    rpm : float, optional
        The user's limit on call starts per minute.
    clock : callable, optional
        Monotonic seconds; default: the running event loop's clock (what ``asyncio.sleep`` waits on).
    """

    rpm: float | None = None
    clock: Callable[[], float] | None = None
    cap: float | None = None
    """The adaptive cap on starts per second; ``None`` while unpaced."""
    background: float = 0.0
    """The share of 429s that did not depend on the rate (from the last experiment that found so)."""
    mean_output_tokens: float = 16.0
    """Running mean of output tokens per request, for requests without ``max_tokens``."""
    counts: dict[str, int] = field(default_factory=lambda: {
        "rate_limited": 0, "counted": 0, "shared_pauses": 0, "decreases": 0, "rate_dependent": 0, "independent": 0,
        "inconclusive": 0})

    def __post_init__(self) -> None:
        self.min_interval = 60.0 / self.rpm if self.rpm else 0.0
        self._next_start = 0.0
        self._last_sent = -1e9
        self._cooldown_until = 0.0
        self._cooldown_reason = ""
        self._outcomes: deque[bool] = deque(maxlen=WINDOW)  # was it a 429? (the trigger's window)
        self._history: deque[bool] = deque(maxlen=HISTORY)  # the same, longer (the experiments' "before")
        self._answers: deque[float] = deque(maxlen=64)
        self._starts: deque[float] = deque(maxlen=256)
        self._experiment: _Experiment | None = None
        self._after: list[bool] = []
        self._anchor: float | object | None = _UNSET  # the cap before the decreases still awaiting a verdict
        self._last_decrease = -1e9
        self._quiet_since = -1e9
        self._last_growth = 0.0
        self._buckets: dict[str, _Bucket] = {}
        self._reserved = 0
        self._reserved_tokens = 0
        self._reason = _Reason("")
        self._longest: dict[str, float] = {}
        self._pauses: deque[tuple[float, float]] = deque(maxlen=64)

    def _now(self) -> float:
        if self.clock is not None:
            return self.clock()
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    # -- the interface the runner uses ----------------------------------------------------------
    async def before_call(self, estimated_tokens: int = 0) -> Ticket:
        """Wait until this call may start; the ticket goes back with the outcome."""
        ticket = self.reserve(estimated_tokens)
        delay = ticket.start - self._now()
        if delay > 0:
            await asyncio.sleep(delay)
        # a stalled event loop wakes several booked starts at once; under a cap they still go out spaced
        while (gap := self._claim_start()) > 0:
            await asyncio.sleep(gap)
        return ticket

    def _claim_start(self) -> float:
        """0.0 when a booked call may go out now (marked as sent), else the seconds until the spacing allows it."""
        interval = self._interval()
        now = self._now()
        if interval:
            gap = self._last_sent + interval - now
            if gap > 1e-3:
                return gap
        self._last_sent = now
        return 0.0

    def handover(self) -> None:
        """A new run takes over this pacer (the next cell of a study): keep what was learned (the cap, the
        background share, the server's stated budgets, a pause still running) and restart the measuring
        windows, so that the idle time between runs never reads as a slow server."""
        now = self._now()
        self._answers.clear()
        self._starts.clear()
        self._pauses.clear()
        self._experiment = None
        self._after = []
        self._last_growth = now

    def _interval(self) -> float:
        return max(self.min_interval, 1 / self.cap if self.cap else 0.0)

    def reserve(self, estimated_tokens: int = 0) -> Ticket:
        """Book the earliest start every clock allows (the synchronous part of :meth:`before_call`)."""
        now = self._now()
        self._grow(now)
        interval = self._interval()
        spacing = "--rpm" if self.min_interval >= interval else "adaptive"
        candidates = [(now, ""), (self._cooldown_until, "cooldown")]
        if interval:
            candidates.append((self._next_start, spacing))
        for kind, bucket in self._buckets.items():
            candidates.append((bucket.reserve(estimated_tokens if kind == "tokens" else 1, now), kind))
        start, reason = max(candidates, key=lambda c: c[0])
        self._next_start = start + interval
        if start > now + 1e-3:
            self._note(reason, now, start - now)
        self._reserved += 1
        self._reserved_tokens += estimated_tokens
        self._starts.append(start)
        return Ticket(now, start, estimated_tokens)

    def on_success(self, ticket: Ticket, rate_limits: Mapping[str, str] | None = None, *,
                   input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        """An answer arrived; ``rate_limits`` is what the server said with it, the tokens are its usage."""
        now = self._now()
        self._settle(ticket)
        self._answers.append(now)
        if output_tokens is not None and output_tokens > 0:
            self.mean_output_tokens = 0.9 * self.mean_output_tokens + 0.1 * output_tokens
        synced = self._sync(rate_limits, now)
        if "tokens" not in synced and "tokens" in self._buckets and input_tokens is not None:
            used = input_tokens + (output_tokens or 0)
            self._buckets["tokens"].level += ticket.tokens - used  # correct the estimate by the usage
        self._record(ticket, now, was_429=False)

    def on_rate_limited(self, ticket: Ticket, retry_after: float | None = None,
                        rate_limits: Mapping[str, str] | None = None) -> bool:
        """A 429. Returns whether it counted as a shared limit (a pause for every call, perhaps a decrease)."""
        now = self._now()
        self._settle(ticket)
        self.counts["rate_limited"] += 1
        self._record(ticket, now, was_429=True)
        budgets = self._sync(rate_limits, now)
        need = {"requests": 1.0, "tokens": max(1.0, float(ticket.tokens))}
        server_says = (any(b.remaining < need[k] for k, b in budgets.items())
                       or bool(rate_limits and rate_limits.get("quotaId")))
        if not (server_says or self._excess()):
            return False
        self.counts["counted"] += 1
        self._quiet_since = now
        k, n = sum(self._outcomes), len(self._outcomes)
        flood = n >= 8 and k >= FLOOD * n  # half the recent calls refused
        if retry_after is not None and retry_after > 0 and (server_says or flood):
            until = now + min(retry_after, 600.0)
            if until > self._cooldown_until:
                self._pauses.append((max(now, self._cooldown_until), until))
                self._cooldown_until = until
                self._cooldown_reason = f"Retry-After {retry_after:g} s" + (" (server limit)" if server_says else "")
                self.counts["shared_pauses"] += 1
        if not server_says:
            self._decrease(now, flood=flood)
        return True

    def on_failure(self, ticket: Ticket) -> None:
        """Any other failure (5xx, timeout, cancelled): frees the booking, says nothing about the rate."""
        self._settle(ticket)

    # -- reporting ------------------------------------------------------------------------------------
    def status(self) -> str:
        """What held starts back in the last few seconds, for the progress bar ('' if nothing)."""
        now = self._now()
        if self._cooldown_until > now:
            return f"paused: {self._cooldown_reason}"
        if now - self._reason.t <= STATUS_S:
            return f"paced: {self._reason.text}"
        if self.counts["independent"] and self.background > 0:
            return f"429s not rate-related ({100 * self.background:.0f}% of calls): not paced for them"
        return ""

    def summary(self) -> dict[str, Any]:
        """For ``result.json``: what the pacing saw and did."""
        return {
            "cap_per_s": None if self.cap is None else round(self.cap, 3),
            "background_429_share": round(self.background, 4),
            "server_limits": {k: {"limit": b.limit, "refill_per_s": round(b.rate, 4)} for k, b in self._buckets.items()},
            "longest_wait_s": {k: round(v, 3) for k, v in self._longest.items()},
            **self.counts,
        }

    # -- internals ------------------------------------------------------------------------------------
    def _note(self, reason: str, now: float, wait: float) -> None:
        if reason == "cooldown":
            text = self._cooldown_reason
        elif reason == "--rpm":
            text = f"--rpm {self.rpm:g}"
        elif reason == "adaptive":
            text = f"{self.cap:.1f} calls/s, 429s track the rate (server limit)"
        else:
            b = self._buckets[reason]
            text = f"token budget {b.limit:,.0f}/min" if reason == "tokens" else f"server limit {b.limit:,.0f}/min"
        self._reason = _Reason(text, now)
        self._longest[reason] = max(self._longest.get(reason, 0.0), wait)

    def _settle(self, ticket: Ticket) -> None:
        if not ticket.settled:
            ticket.settled = True
            self._reserved = max(0, self._reserved - 1)
            self._reserved_tokens = max(0, self._reserved_tokens - ticket.tokens)

    def _sync(self, rate_limits: Mapping[str, str] | None, now: float) -> dict[str, Budget]:
        """Copy the server's stated budgets into the buckets (less what is booked but maybe not yet counted)."""
        budgets = budgets_from(rate_limits)
        for kind, budget in budgets.items():
            level = budget.remaining - (self._reserved_tokens if kind == "tokens" else self._reserved)
            if kind in self._buckets:
                self._buckets[kind].sync(budget, level, now)
            else:
                self._buckets[kind] = _Bucket(budget, level, now)
        return budgets

    def _record(self, ticket: Ticket, now: float, *, was_429: bool) -> None:
        self._outcomes.append(was_429)
        self._history.append(was_429)
        exp = self._experiment
        if exp is not None and ticket.booked >= exp.t:  # booked under the new cap
            self._after.append(was_429)
            self._judge(now)

    def _excess(self) -> bool:
        """Is the recent 429 share more than the background explains?"""
        k, n = sum(self._outcomes), len(self._outcomes)
        if self.background <= 0:
            return k > 0
        return _binomial_tail(k, n, self.background) < 1e-3

    def _goodput(self, now: float) -> float | None:
        """Answers per second over the last second (at least the last 8 answers, within 30 s), not counting
        the time every call was held by a shared pause; None if too few to tell."""
        answers = [t for t in self._answers if now - t <= 30.0]
        recent = [t for t in answers if now - t <= 1.0]
        answers = recent if len(recent) >= 8 else answers[-8:]
        if len(answers) < 6 or answers[-1] - answers[0] < 0.2:
            return None
        span = answers[-1] - answers[0]
        unpaused = span - self._paused_between(answers[0], answers[-1])
        return (len(answers) - 1) / (unpaused if unpaused >= 0.2 else span)

    def _paused_between(self, t0: float, t1: float) -> float:
        return sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in self._pauses)

    def _start_rate(self, now: float, since: float | None = None) -> float | None:
        """Starts per second since ``since`` (default: over the last 5 s)."""
        t0 = now - 5.0 if since is None else since
        starts = [t for t in self._starts if t0 <= t <= now]
        if len(starts) < 5:
            return None
        return len(starts) / max(now - (starts[0] if since is None else since), 0.25)

    def _decrease(self, now: float, *, flood: bool = False) -> None:
        sample = MIN_EVAL if flood else 2 * MIN_EVAL  # a flood cannot be a few unlucky draws
        if self._experiment is not None or now - self._last_decrease < HOLD_S or len(self._history) < sample:
            return  # one experiment at a time; and its "before" needs a sample (the shared pause acts meanwhile)
        goodput = self._goodput(now)
        if goodput is None:  # too early to measure: the shared pause alone handles it
            return
        self._experiment = _Experiment(now, self.cap, sum(self._history), len(self._history),
                                       self._start_rate(now) or goodput)
        if self._anchor is _UNSET:
            self._anchor = self.cap
        self._after = []
        self._last_decrease = now
        admitted = goodput / (1 - min(self.background, 0.5))  # the background's 429s took slots below the limit too
        self.cap = max(FLOOR_PER_S, DECREASE * (admitted if self.cap is None else min(self.cap, admitted)))
        self._next_start = max(self._next_start, now)
        self.counts["decreases"] += 1

    def _judge(self, now: float) -> None:
        """Compare the 429 share after the decrease with the share before (see module docstring)."""
        exp = self._experiment
        assert exp is not None
        n2, elapsed = len(self._after), now - exp.t
        if n2 < MIN_EVAL and not (elapsed >= 3.0 and n2 >= 10) and not (elapsed >= EVAL_MAX_S and n2 >= 5):
            return
        k1, n1, k2 = exp.k_before, exp.n_before, sum(self._after)
        z = _z_fall(k1, n1, k2, n2)
        more = n2 < 3 * MIN_EVAL and elapsed < EVAL_MAX_S
        if more and (z < -Z_1PCT or (k1 >= 5 and 1.0 < z <= Z_1PCT)):
            return  # the share rose, or fell but not beyond chance: collect more before believing either
        self._experiment = None
        self._last_growth = self._quiet_since = now
        if z > Z_1PCT:
            self.counts["rate_dependent"] += 1
            self._anchor = _UNSET
            self.background = min(self.background, k2 / n2)  # what is left below a limit does not depend on the rate
            return
        rate_after = self._start_rate(now, since=exp.t)
        if z < -Z_1PCT or rate_after is None or rate_after > 0.95 * exp.rate_before:
            # the share rose (the limit itself moved), or the new cap did not bind (our rate did not change,
            # so neither could the share): keep the lower cap; the next 429 may lower it again
            self.counts["inconclusive"] += 1
            return
        # slowing down did not lower the share: the 429s do not follow the rate. Undo the decreases since
        # the last verdict, and remember their share
        self.counts["independent"] += 1
        self.cap = exp.cap_before if self._anchor is _UNSET else self._anchor  # type: ignore[assignment]
        self._anchor = _UNSET
        self.background = (k1 + k2) / max(1, n1 + n2)

    def _grow(self, now: float) -> None:
        """Time-based growth of the cap, frozen while an experiment runs (see module docstring)."""
        dt, self._last_growth = now - self._last_growth, now
        if self.cap is None or self._experiment is not None or dt <= 0:
            return
        quiet = max(0.0, now - max(self._last_decrease, self._quiet_since))
        rate = GROWTH * 2 ** min(quiet / GROWTH_DOUBLING_S, 10.0)
        grown = self.cap * math.exp(min(rate * dt, 2.0))
        used = self._goodput(now)
        ceiling = 1.5 * used + 1 if used is not None else grown
        if self.rpm:
            ceiling = min(ceiling, self.rpm / 60)
        self.cap = max(self.cap, min(grown, ceiling))


class LockedPacer(Pacer):
    """A :class:`Pacer` for runners in several threads (the concurrent API cells of a study, each with its own
    event loop): every entry point holds one lock, so the bookings of all threads form one sequence. The clock
    is the same in every thread (an event loop's ``time()`` is ``time.monotonic()``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lock = threading.RLock()

    def reserve(self, estimated_tokens: int = 0) -> Ticket:
        with self._lock:
            return super().reserve(estimated_tokens)

    def _claim_start(self) -> float:
        with self._lock:
            return super()._claim_start()

    def handover(self) -> None:
        with self._lock:
            super().handover()

    def on_success(self, ticket: Ticket, rate_limits: Mapping[str, str] | None = None, *,
                   input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        with self._lock:
            super().on_success(ticket, rate_limits, input_tokens=input_tokens, output_tokens=output_tokens)

    def on_rate_limited(self, ticket: Ticket, retry_after: float | None = None,
                        rate_limits: Mapping[str, str] | None = None) -> bool:
        with self._lock:
            return super().on_rate_limited(ticket, retry_after, rate_limits)

    def on_failure(self, ticket: Ticket) -> None:
        with self._lock:
            super().on_failure(ticket)

    def status(self) -> str:
        with self._lock:
            return super().status()

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return super().summary()


Z_1PCT = 2.326
"""One-sided 1 % point of the normal distribution."""


def _z_fall(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-proportion z statistic for "k2/n2 is smaller than k1/n1" (pooled standard error)."""
    if n1 == 0 or n2 == 0:
        return 0.0
    p1, p2 = k1 / n1, k2 / n2
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0
    return (p1 - p2) / se


def _binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
