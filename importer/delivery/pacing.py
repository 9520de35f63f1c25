"""How fast and how often to send: retry backoff, ``Retry-After``, and an adaptive rate limiter.

* ``backoff_delay`` — exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff
  And Jitter"): a random wait in ``[0, min(cap, base * 2**attempt)]`` so retrying clients spread out.
* ``retry_after_seconds`` — a ``Retry-After`` header as seconds or as an HTTP date (what the API asked,
  uncapped: the sender's ``waits`` decide whether it is waited).
* ``RateLimiter`` — spaces request starts ``1/rate`` apart (no bursts). The rate starts at ``--rate``
  (or unlimited). On a 429 it drops to ``DECREASE`` × the rate the API has been *accepting* requests at
  (what it can take, not what was tried), at most once per cool-down, and every sender waits out the
  ``Retry-After``; after successes it climbs back slowly (``RAMP`` of the rate per second), never above
  ``--rate``. A long run therefore
  settles just under the platform's limit instead of hammering it (AIMD, as TCP does).
* A remembered pace (``remembered``: what ``settled()`` gave at the end of the last run to the same
  endpoint, kept in the journal) starts the limiter there instead of unlimited, and above it the pace
  climbs at a quarter of ``RAMP``: the run probes for a higher limit without bursts of 429s.
  ``settled()`` measures the limit from the run's 429s: at each, a token bucket is empty, so what went
  through from one 429 to a later one, or to the end of the run, is at most what the bucket refilled
  meanwhile — a lower bound of its rate, bursts excluded; the highest bound over stretches of 3 s or
  more, less 5 %, is remembered. A 429 before anything went through, or 429s too close to the run's end
  to measure, teach nothing; with no 429, the remembered pace as far as this run raised it without one.

Nothing here does I/O except sleeping; the clock and the random source can be replaced in tests.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

BACKOFF_BASE_S, BACKOFF_CAP_S = 0.5, 30.0
DECREASE = 0.9
RAMP = 0.01  # of the current rate, per second of success
MIN_RATE = 0.2
WINDOW_S = 2.0
PROBE = RAMP / 4  # the climb above a remembered pace
SETTLE = 0.95  # of the rate accepted between 429s: where the next run starts
MEASURED_S = 3.0  # the least time between the first and last 429 to measure the rate between them (the
#                   answers in flight at each make the count uncertain by the concurrency)


def backoff_delay(attempt: int, rng: random.Random | None = None, base_s: float = BACKOFF_BASE_S) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
    ceiling = min(BACKOFF_CAP_S, base_s * 2**attempt)
    return (rng or random).uniform(0, ceiling)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds == float("inf"):  # NaN, inf
        return None
    return max(seconds, 0.0)


class RateLimiter:
    """Paces request starts; adapts to 429s. One instance per run, shared by all senders."""

    def __init__(self, rate: float | None = None, clock: Callable[[], float] = time.monotonic,
                 remembered: float | None = None) -> None:
        self.ceiling = rate  # the user's --rate: never exceeded
        self.remembered = remembered if rate is None or remembered is None else min(rate, remembered)
        self.rate = self.remembered if self.remembered is not None else rate  # the current pace; None = unlimited
        self._accepted = 0  # requests that went through
        self._last_success = clock()
        self._marks: list[tuple[float, int]] = []  # (when, accepted so far) at each 429
        self.clock = clock
        self.decreases = 0
        self._next_start = 0.0
        self._pause_until = 0.0
        self._cool_until = 0.0
        self._last_raise = clock()
        self._began: float | None = None  # the first request's start: rates are per second of sending
        self._starts: deque[float] = deque()
        self._successes: deque[float] = deque()

    async def acquire(self) -> None:
        """Wait until a request may start (no lock needed: the event loop runs this atomically)."""
        now = self.clock()
        if self._began is None:
            self._began = now
        start = max(now, self._pause_until)
        if self.rate is not None:
            start = max(start, self._next_start)
            self._next_start = start + 1.0 / self.rate
        self._starts.append(start)
        if start > now:
            await asyncio.sleep(start - now)

    def _per_second(self, events: deque[float]) -> float:
        """Events per second over the last ``WINDOW_S`` (or since the run began, if that is shorter)."""
        now = self.clock()
        while events and events[0] < now - WINDOW_S:
            events.popleft()
        span = min(WINDOW_S, max(now - (self._began if self._began is not None else now), 0.1))
        return len(events) / span

    def accepted_rate(self) -> float:
        return self._per_second(self._successes)

    def attempted_rate(self) -> float:
        return self._per_second(self._starts)

    def throttled(self, retry_after: float | None) -> None:
        """A 429: everyone waits out ``retry_after``; the pace drops (once per cool-down)."""
        now = self.clock()
        pause = retry_after if retry_after is not None else 1.0
        self._pause_until = max(self._pause_until, now + pause)
        if now < self._cool_until:
            return  # the other answers of the same burst: one decrease is enough
        accepted, attempted = self.accepted_rate(), self.attempted_rate()
        tried = self.rate if self.rate is not None else attempted
        # What the API took is the best measure of what it can take; if it took nothing lately, halve.
        capacity = min(accepted, tried) if accepted > 0 else tried / 2
        if accepted > 0:  # (a 429 before anything went through tells nothing of a rate)
            self._marks.append((now, self._accepted))
        self.rate = max(MIN_RATE, DECREASE * capacity)
        self.decreases += 1
        self._cool_until = now + max(pause, 1.0) + 1.0
        self._last_raise = now + pause

    def succeeded(self) -> None:
        """A request went through: raise the pace slowly, back towards --rate (or without bound)."""
        now = self.clock()
        self._successes.append(now)
        self._accepted += 1
        self._last_success = now
        if self.rate is None:
            return
        elapsed = now - self._last_raise
        if elapsed <= 0:
            return
        self._last_raise = now
        above = self.remembered is not None and self.rate >= self.remembered
        raised = self.rate * (1 + (PROBE if above else RAMP) * elapsed)
        self.rate = raised if self.ceiling is None else min(self.ceiling, raised)

    def settled(self) -> float | None:
        """The pace for the next run to start from; None when this run learnt nothing of a limit.

        A token bucket is empty at each 429, so what went through from one 429 to a later one, or to the end
        of the run, is at most what it refilled meanwhile: each such stretch of ``MEASURED_S`` or more
        gives a lower bound of the limit (shorter ones are uncertain by the answers in flight); the
        highest, less 5 %, is the pace."""
        if self._marks:
            ends = [*self._marks, (self._last_success, self._accepted)]
            bounds = [(n_end - n_start) / (t_end - t_start) for i, (t_start, n_start) in enumerate(self._marks)
                      for t_end, n_end in ends[i + 1:] if t_end - t_start >= MEASURED_S and n_end > n_start]
            return round(SETTLE * max(bounds), 3) if bounds else self.remembered
        if self.remembered is None or self.rate is None:
            return self.remembered
        return round(max(self.remembered, self.rate), 3)
