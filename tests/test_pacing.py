"""The pacing policy: header parsing, the stated budgets, and the adaptive cap under both kinds of 429.

The runner-level cases run the real :class:`probe.runner.Runner` against a
simulated server in *virtual time* (an event loop whose clock jumps to the next
timer instead of sleeping), so minutes of pacing take milliseconds and every
number is deterministic. ``tests/reliability/test_pacing_loopback.py`` repeats
the main cases over real HTTP.
"""

from __future__ import annotations

import asyncio
import random
import selectors
from collections.abc import Callable

import pytest

from probe.errors import RateLimited
from probe.pacing import FLOOR_PER_S, Pacer
from probe.providers.base import BaseProvider, Request, Response, Usage
from probe.ratelimits import Budget, budgets_from, estimate_tokens, parse_duration, parse_retry_after
from probe.runner import Job, Runner

# -- virtual time -------------------------------------------------------------------------------------


class _JumpSelector(selectors.DefaultSelector):
    """Polls the real selector; when nothing is ready, moves the loop's clock to the next timer."""

    loop: VirtualLoop

    def select(self, timeout: float | None = None):  # type: ignore[override]
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:
            return ready if ready or timeout is not None else super().select(None)
        self.loop.now += timeout
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _JumpSelector()
        super().__init__(selector)
        selector.loop = self
        self.now = 0.0

    def time(self) -> float:
        return self.now


def run_virtual(coro):
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


class SimServer(BaseProvider):
    """A model server in virtual time: ``latency`` per answer, 429s at random and/or above a limit.

    ``limit`` (req/s) may be a function of the seconds since the first call; the
    limit is a token bucket holding 10 % of a second's worth, as the loopback server's.
    """

    name = "sim"

    def __init__(self, *, latency: float = 0.2, p429: float = 0.0, limit: float | Callable[[float], float] | None = None,
                 retry_after: float | None = 0.1, rtt: float = 0.002, seed: int = 0,
                 stated_rpm: float | None = None) -> None:
        super().__init__("m")
        self.latency, self.p429, self.limit, self.retry_after, self.rtt = latency, p429, limit, retry_after, rtt
        self.rng = random.Random(seed)
        self.t0: float | None = None
        self._level, self._t = 0.0, 0.0
        self.stated_rpm = stated_rpm
        self.answers: list[float] = []
        self.limited = 0
        self.random_429 = 0

    def _limit_now(self, now: float) -> float | None:
        assert self.t0 is not None
        return self.limit(now - self.t0) if callable(self.limit) else self.limit

    def _over_limit(self, now: float) -> bool:
        limit = self._limit_now(now)
        if not limit:
            return False
        self._level = max(0.0, self._level - (now - self._t) * limit)
        self._t = now
        if self._level + 1 > max(1.0, 0.1 * limit):
            return True
        self._level += 1
        return False

    def _headers(self, now: float) -> dict[str, str] | None:
        if not self.stated_rpm:
            return None
        remaining = max(0.0, max(1.0, 0.1 * self.stated_rpm / 60) - self._level)
        return {"x-ratelimit-limit-requests": f"{self.stated_rpm:.0f}",
                "x-ratelimit-remaining-requests": f"{remaining:.0f}", "x-ratelimit-reset-requests": "1s"}

    async def generate(self, request: Request) -> Response:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.t0 is None:
            self.t0, self._t = now, now
        await asyncio.sleep(self.rtt)
        if self._over_limit(now):
            self.limited += 1
            raise RateLimited("429 (limit)", retry_after=self.retry_after, rate_limits=self._headers(now))
        if self.rng.random() < self.p429:
            self.random_429 += 1
            raise RateLimited("429 (random)", retry_after=self.retry_after)
        await asyncio.sleep(max(0.0, self.latency - self.rtt))
        self.answers.append(loop.time())
        return Response(texts=("1",), usage=Usage(10, 1), rate_limits=self._headers(now))


def jobs(n: int) -> list[Job]:
    return [Job(Request(model="sim:m", messages=({"role": "user", "content": f"q{i}"},), trial=i)) for i in range(n)]


def simulate(server: SimServer, n: int, *, concurrency: int = 4, rpm: float | None = None,
             max_attempts: int = 50) -> tuple[float, Runner]:
    """Run ``n`` calls; returns (answers per virtual second, the runner)."""
    runner = Runner(server, concurrency=concurrency, rpm=rpm, max_attempts=max_attempts, progress=False,
                    backoff_initial_s=0.05, backoff_max_s=0.5, rng=random.Random(1))

    async def go() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await runner.run(jobs(n), lambda outcome: None)
        return n / (loop.time() - t0)

    return run_virtual(go()), runner


def rate_between(times: list[float], t0: float, t1: float) -> float:
    return sum(1 for t in times if t0 <= t < t1) / (t1 - t0)


# -- parsing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,seconds", [("6m0s", 360.0), ("1s", 1.0), ("12ms", 0.012), ("17.426s", 17.426),
                                          ("1h2m3s", 3723.0), ("58.934310785s", 58.934310785), ("0.5", 0.5),
                                          ("250us", 0.00025)])
def test_parse_duration_reads_openai_and_protobuf_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 s", "1x", "-3", "s"])
def test_parse_duration_rejects_what_it_cannot_read(text):
    assert parse_duration(text) is None


def test_retry_after_in_seconds_and_as_http_date():
    assert parse_retry_after("120") == 120.0
    # RFC 9110's example date, read 10 s before it
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0  # already past
    assert parse_retry_after("tomorrow") is None


def test_openai_headers_become_budgets():
    headers = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59",
               "x-ratelimit-reset-requests": "1s", "x-ratelimit-limit-tokens": "150000",
               "x-ratelimit-remaining-tokens": "149984", "x-ratelimit-reset-tokens": "6m0s"}
    budgets = budgets_from(headers)
    assert budgets["requests"] == Budget(60, 59, 1.0)
    assert budgets["requests"].refill_per_s == pytest.approx(1.0)  # 60/min
    assert budgets["tokens"].refill_per_s == pytest.approx(2500.0)  # 150000/min
    assert budgets_from({"x-ratelimit-limit-requests": "60"}) == {}  # no remaining: nothing to pace on


def test_gemini_quota_details_become_a_request_budget():
    details = {"retryDelay": "58s", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
               "quotaValue": "15"}
    budgets = budgets_from(details)
    assert budgets["requests"].limit == 15 and budgets["requests"].remaining == 0
    assert budgets["requests"].refill_per_s == pytest.approx(15 / 60)
    assert budgets_from({**details, "quotaId": "GenerateContentInputTokensPerModelPerMinute"})["tokens"].limit == 15
    # a per-day quota is not paced (the retries end the run with the server's message)
    assert budgets_from({"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaValue": "50"}) == {}


def test_token_estimate_is_prompt_plus_reserved_output():
    messages = ({"role": "user", "content": "x" * 400},)
    assert estimate_tokens(messages, 16, 2, mean_output=5.0) == 100 + 32
    assert estimate_tokens(messages, None, 1, mean_output=5.0) == 105


# -- the pacer alone, on a fake clock -------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_stated_request_budget_spaces_starts_at_its_refill_rate():
    clock = Clock()
    pacer = Pacer(clock=clock)
    first = pacer.reserve()
    pacer.on_success(first, {"x-ratelimit-limit-requests": "120", "x-ratelimit-remaining-requests": "0",
                             "x-ratelimit-reset-requests": "1m0s"})
    starts = [pacer.reserve().start for _ in range(4)]
    assert starts == pytest.approx([0.5, 1.0, 1.5, 2.0])  # 120/min = one every 0.5 s, from an empty bucket
    assert pacer.status() == "paced: server limit 120/min"


def test_token_budget_paces_with_the_estimate_and_is_corrected_by_usage():
    clock = Clock()
    pacer = Pacer(clock=clock)
    t = pacer.reserve(100)
    pacer.on_success(t, {"x-ratelimit-limit-tokens": "6000", "x-ratelimit-remaining-tokens": "0"},
                     input_tokens=60, output_tokens=40)
    # 6000 tokens/min = 100/s; each call is estimated at 100 tokens
    assert [pacer.reserve(100).start for _ in range(3)] == pytest.approx([1.0, 2.0, 3.0])
    assert "token budget 6,000/min" in pacer.status()
    # an answer without headers corrects the bucket by its real usage (estimated 100, used 20: 80 back)
    clock.t = 3.0
    ticket = pacer.reserve(100)
    assert ticket.start == pytest.approx(4.0)
    pacer.on_success(ticket, None, input_tokens=10, output_tokens=10)
    assert pacer.reserve(100).start == pytest.approx(4.2)  # 80 of the next 100 tokens are there already


def test_a_shared_pause_only_for_429s_tied_to_the_rate():
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.background = 0.2  # as an experiment would have found
    for i in range(40):  # a 20 % share of 429s, as the background says
        clock.t = i * 0.1
        ticket = pacer.reserve()
        if i % 5 == 0:
            assert pacer.on_rate_limited(ticket, retry_after=5.0) is False
        else:
            pacer.on_success(ticket)
    assert pacer.reserve().start == pytest.approx(clock.t)  # no pause
    for _ in range(12):  # more than the background explains: counted (a decrease), but no flood yet
        counted = pacer.on_rate_limited(pacer.reserve(), retry_after=5.0)
    assert counted and pacer.reserve().start < clock.t + 1.0
    for _ in range(10):  # half the recent calls refused: a pause for every call
        pacer.on_rate_limited(pacer.reserve(), retry_after=5.0)
    assert pacer.reserve().start >= clock.t + 5.0 - 1e-9
    assert pacer.status().startswith("paused: Retry-After 5 s")


def test_server_stated_exhaustion_pauses_without_guessing():
    clock = Clock()
    pacer = Pacer(clock=clock)
    ticket = pacer.reserve()
    assert pacer.on_rate_limited(ticket, retry_after=2.0, rate_limits={"x-ratelimit-limit-requests": "60",
                                                                       "x-ratelimit-remaining-requests": "0"})
    assert pacer.cap is None and pacer.counts["decreases"] == 0  # the server said why: no experiment
    assert pacer.reserve().start >= 2.0


# -- the runner against simulated servers, in virtual time ------------------------------------------------


@pytest.mark.parametrize("share", [0.1, 0.2])
def test_random_429s_keep_at_least_80_percent_of_the_fault_free_rate(share):
    clean, _ = simulate(SimServer(latency=0.2), 400)
    faulty, runner = simulate(SimServer(latency=0.2, p429=share, seed=3), 400)
    assert faulty >= 0.8 * clean, (faulty, clean, runner.pacer.summary())
    assert runner.pacer.cap is None or runner.pacer.cap > 0.8 * clean  # no lasting cap


def test_random_429s_do_not_collapse_over_a_long_run():
    """Issue 12's case: 4 workers, 20 % random 429s (Retry-After 0.1 s), 4000 calls."""
    server = SimServer(latency=0.8, p429=0.2, seed=5)
    rate, runner = simulate(server, 4000)
    late = rate_between(server.answers, server.answers[-400], server.answers[-1])
    clean = 4 / 0.8
    assert late >= 0.8 * clean, (late, runner.pacer.summary())
    assert rate >= 0.8 * clean


def test_a_server_limit_is_found_and_held_near_it():
    server = SimServer(latency=0.05, limit=50.0, retry_after=0.05)
    rate, runner = simulate(server, 800, concurrency=16)
    assert rate >= 0.9 * 50, runner.pacer.summary()
    assert runner.pacer.counts["rate_dependent"] >= 1
    assert server.limited < 0.5 * 800  # it does not live off 429s


def test_a_changing_limit_is_followed_within_seconds():
    def limit(t: float) -> float:
        return 20.0 if 8.0 <= t < 16.0 else 50.0

    server = SimServer(latency=0.05, limit=limit, retry_after=0.05)
    simulate(server, 1500, concurrency=16)
    t0, ans = server.t0, server.answers
    assert t0 is not None
    assert rate_between(ans, t0 + 2, t0 + 8) >= 0.85 * 50
    assert rate_between(ans, t0 + 11, t0 + 16) >= 0.8 * 20  # settled at the lower limit within 3 s
    assert rate_between(ans, t0 + 20, t0 + 24) >= 0.85 * 50  # and back up within 4 s


def test_limit_plus_random_429s():
    # the random 429s are drawn among admitted calls (as in the loopback server), so 90 % of 40/s can succeed
    server = SimServer(latency=0.05, limit=40.0, p429=0.1, retry_after=0.05, seed=2)
    rate, runner = simulate(server, 800, concurrency=16)
    assert rate >= 0.9 * 0.9 * 40, runner.pacer.summary()


def test_the_floor_and_recovery_from_it():
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.cap = FLOOR_PER_S
    pacer._last_decrease = pacer._quiet_since = 0.0
    pacer._last_growth = 0.0
    for i in range(1, 41):  # calls keep starting as the cap allows
        clock.t = i * 1.0
        pacer.on_success(pacer.reserve())
    assert pacer.cap > 5.0  # 1/min to more than 5/s in 40 s without a counted 429


def test_rpm_still_caps_starts():
    rate, runner = simulate(SimServer(latency=0.05), 60, concurrency=8, rpm=600)
    assert rate <= 10.5
    assert runner.pacer.summary()["longest_wait_s"]["--rpm"] > 0
