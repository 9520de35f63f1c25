"""How fast to send: ``Retry-After``, and an adaptive rate limiter (the backoff between retries, and what
is retried, are ``importer.delivery.retry_policy``'s).

* ``retry_after_seconds`` — a ``Retry-After`` header as seconds or as an HTTP date (what the API asked,
  uncapped: the sender's ``waits`` decide whether it is waited).
* ``RateLimiter`` — spaces request starts ``1/rate`` apart (no bursts). The rate starts at ``--rate``,
  or at the remembered pace, or unlimited; an import's (``slow_start``: the bulk sender, whose pace the
  journal remembers) with neither (a first run against a limit nobody knows) *starts slowly*:
  ``START_RATE`` requests/s, ``SLOW_START_GAIN`` requests/s more for each success (the rate doubles about
  every 0.25 s while the pacing holds the requests back, as TCP's slow start doubles its window each round
  trip)
  until the first 429. On a 429 it drops to ``DECREASE`` × the rate the API has been *accepting* requests
  at (what it can take, not what was tried) and, once two 429s lie ``MEASURED_S`` apart, to ``SETTLE`` ×
  the rate measured between them at most (see ``settled``); at most once per cool-down; every sender
  waits out the ``Retry-After``, those already waiting for their turn too. After successes it climbs
  back additively (``RAMP`` of the rate it dropped to, per second, ``MIN_RAMP`` at least), never above
  ``--rate``. A run
  therefore settles just under the platform's limit instead of hammering it (AIMD, as TCP does): against
  the sandbox's 20 requests/s, a first run stays under 2 % of 429 answers (docs/benchmarks.md).
* A remembered pace (``remembered``: what ``settled()`` gave at the end of the last run to the same
  endpoint, kept in the journal) starts the limiter there instead of slowly, and above it the pace
  climbs at a quarter of ``RAMP``: the run probes for a higher limit without bursts of 429s.
  ``settled()`` measures the limit from the run's 429s: at each, a token bucket is empty, so what went
  through from one 429 to a later one, or to the end of the run, is at most what the bucket refilled
  meanwhile — a lower bound of its rate, bursts excluded; the highest bound over stretches of 3 s or
  more, less 5 %, is remembered. A 429 before anything went through, or 429s too close to the run's end
  to measure, teach nothing; with no 429, the remembered pace as far as this run raised it without one.

Nothing here does I/O except sleeping; the clock can be replaced in tests.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

DECREASE = 0.9
RAMP = 0.01  # of the rate after the last decrease (or the start), per second of success
MIN_RATE = 0.2
MIN_RAMP = 0.2  # requests/s per second of success at least: stray 429s at a low rate must not keep it there
START_RATE = 8.0  # requests/s of a slow start: a first run against an unknown limit
SLOW_START_GAIN = 3.0  # requests/s more per success, until the first 429 (and at most twice what was tried)
WINDOW_S = 2.0
PROBE = RAMP / 4  # the climb above a remembered pace
SETTLE = 0.95  # of the rate accepted between 429s: where the next run starts
MEASURED_S = 3.0  # the least time between the first and last 429 to measure the rate between them (the
#                   answers in flight at each make the count uncertain by the concurrency)


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

    def __init__(
        self,
        rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        remembered: float | None = None,
        slow_start: bool = False,
    ) -> None:
        self.ceiling = rate  # the user's --rate: never exceeded
        self.remembered = remembered if rate is None or remembered is None else min(rate, remembered)
        self.slow_start = slow_start and self.remembered is None and rate is None  # nothing known of the limit
        self.rate = START_RATE if self.slow_start else self.remembered if self.remembered is not None else rate
        # (the current pace; None: unlimited, until the first 429)
        self._base = self.rate  # the rate the additive increase is a share of: the start's, or the last decrease's
        self._accepted = 0  # requests that went through
        self._last_success = clock()
        self._marks: list[tuple[float, int, int]] = []  # (when, accepted so far, in flight) at each 429
        self._started = self._throttled = 0  # requests that went out; 429 answers
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
        if start > now:
            await asyncio.sleep(start - now)
            if self._pause_until > start:  # a 429 came while this one waited for its turn: wait that out too
                await self.acquire()
                return
        self._starts.append(start)
        self._started += 1

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
        self._throttled += 1
        if now < self._cool_until:  # the other answers of the same burst: one decrease is enough
            if self._marks and self._marks[-1][2] > 0:  # (one of those in flight at the mark: not through)
                when, accepted_then, in_flight = self._marks[-1]
                self._marks[-1] = (when, accepted_then, in_flight - 1)
            return
        accepted, attempted = self.accepted_rate(), self.attempted_rate()
        tried = self.rate if self.rate is not None else attempted
        # What the API took is the best measure of what it can take; if it took nothing lately, halve.
        capacity = min(accepted, tried) if accepted > 0 else tried / 2
        if accepted > 0:  # (a 429 before anything went through tells nothing of a rate)
            in_flight = max(0, self._started - self._accepted - self._throttled)  # (other answers: fewer)
            self._marks.append((now, self._accepted, in_flight))
        rate = DECREASE * capacity  # (the last seconds' answers include a bucket's burst: measured is surer)
        measured = self._measured(self._marks)
        self.rate = self._base = max(MIN_RATE, rate if measured is None else min(rate, SETTLE * measured))
        self.slow_start = False
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
        if self.slow_start:  # at most twice what was tried: a pace the requests never reach is no pace
            self.rate = min(self.rate + SLOW_START_GAIN, max(self.rate, 2 * self.attempted_rate() + START_RATE))
            return
        elapsed = now - self._last_raise
        if elapsed <= 0:
            return
        self._last_raise = now
        above = self.remembered is not None and self.rate >= self.remembered
        step = PROBE * (self._base or self.rate) if above else max(MIN_RAMP, RAMP * (self._base or self.rate))
        raised = self.rate + step * elapsed
        self.rate = raised if self.ceiling is None else min(self.ceiling, raised)

    def settled(self) -> float | None:
        """The pace for the next run to start from; None when this run learnt nothing of a limit.

        A token bucket is empty at each 429, so what went through from one 429 to a later one, or to the end
        of the run, is at most what it refilled meanwhile: each such stretch of ``MEASURED_S`` or more
        gives a lower bound of the limit (shorter ones are uncertain by the answers in flight); the
        highest, less 5 %, is the pace."""
        if self._marks:
            measured = self._measured([*self._marks, (self._last_success, self._accepted, 0)])
            return round(SETTLE * measured, 3) if measured is not None else self.remembered
        if self.remembered is None or self.rate is None:
            return self.remembered
        return round(max(self.remembered, self.rate), 3)

    def _measured(self, ends: list[tuple[float, int, int]]) -> float | None:
        """The highest rate that went through from a 429 to a later point of ``ends`` (429s, or the last
        success) ``MEASURED_S`` or more after it: a lower bound of the limit; None without one. The answers
        in flight at the 429 went out before it, when the bucket still held tokens: they do not count."""
        bounds = [
            (n_end - n_start - flight) / (t_end - t_start)
            for i, (t_start, n_start, flight) in enumerate(self._marks)
            for t_end, n_end, _ in ends[i + 1 :]
            if t_end - t_start >= MEASURED_S and n_end > n_start + flight
        ]
        return max(bounds) if bounds else None
