"""What sending looked like over time: per-second counts of requests, outcomes, retries and 429s.

The sender calls ``Timeline.add`` where it already counts (a request goes out, records are accepted,
rejected or fail, a retry is scheduled, a 429 comes back); the summary stores the result as a compact
table (``as_dict``) that the HTML report draws. Long runs are folded into wider buckets so the table
stays small (at most ``MAX_POINTS`` rows). No record contents, only counts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

COLUMNS = ("requests", "accepted", "rejected", "failed", "retries", "throttled")
_INDEX = {name: i for i, name in enumerate(COLUMNS)}
MAX_POINTS = 600
BUCKET_WIDTHS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)


class Timeline:
    """Counts per whole second since the timeline was created (the start of sending)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start = clock()
        self._buckets: dict[int, list[int]] = {}

    def add(self, what: str, count: int = 1) -> None:
        """Count ``count`` of ``what`` (one of ``COLUMNS``; records for the outcomes) in the current second."""
        second = int(self._clock() - self._start)
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = [0] * len(COLUMNS)
        bucket[_INDEX[what]] += count

    def as_dict(self, max_points: int = MAX_POINTS) -> dict[str, Any]:
        """``{"bucket_s", "columns", "rows"}``: one row ``[t, requests, accepted, ...]`` per non-empty bucket,
        ``t`` the bucket's start in seconds from the start of sending."""
        if not self._buckets:
            return {"bucket_s": 1, "columns": ["t", *COLUMNS], "rows": []}
        span = max(self._buckets) + 1
        width = next((w for w in BUCKET_WIDTHS if math.ceil(span / w) <= max_points), BUCKET_WIDTHS[-1])
        folded: dict[int, list[int]] = {}
        for second, counts in sorted(self._buckets.items()):
            start = second - second % width
            target = folded.setdefault(start, [0] * len(COLUMNS))
            for i, value in enumerate(counts):
                target[i] += value
        return {"bucket_s": width, "columns": ["t", *COLUMNS], "rows": [[t, *c] for t, c in folded.items()]}
