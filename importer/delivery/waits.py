"""The waits of a run between the attempts of its requests: how long the API may make it wait, and saying
so when it waits.

``Waits`` is asked before every wait of the delivery engine (``importer.delivery.sender``) and answers
with the reason to stop the run instead, or None; its limits are the run's ``RetryPolicy``
(``importer.delivery.retry_policy``):

* a ``Retry-After`` longer than ``max_retry_after_s`` (``--max-retry-after``, 300 s) is not waited out:
  the run stops (exit 3) saying what the API asked, and what was not sent is left for ``--resume``;
* the waits after 429 answers count against ``max_throttle_wait_s`` (``--max-throttle-wait``) as wall
  time: requests waiting at the same moment count once, so the total is how long the run stood still
  because the API throttled it; past the limit the run stops alike;
* a wait of ``SHOWN_S`` or more is shown (the event ``wait``: a line on stderr in text mode, INFO on the
  library's logger), once per stretch of waiting, not once per request that waits in it.

Nothing here sleeps or sends; the clock can be replaced in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from importer.delivery.event_log import EventLog
from importer.delivery.outcomes import Aborted
from importer.delivery.retry_policy import RetryPolicy
from importer.errors import AbortReason

RESUME = "what was not sent is left for --resume"
SHOWN_S = 5.0


class Waits:
    """The limits of a run's waits, what it has waited so far, and which waits were shown."""

    def __init__(self, policy: RetryPolicy, log: EventLog, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_retry_after_s = policy.max_retry_after_s
        self.max_throttle_wait_s = policy.max_throttle_wait_s
        self.policy = policy
        self.log = log
        self.clock = clock
        self.throttled_s = 0.0  # wall time covered by waits after 429 answers
        self._throttled_until = 0.0
        self._shown_until = 0.0

    def refuse(self, retry_after: float | None) -> Aborted | None:
        """The reason to stop when the API asks for a longer wait than allowed; None when it may be waited."""
        if retry_after is None or not self.policy.too_long(retry_after):
            return None
        reason = AbortReason.WAIT_TOO_LONG
        return Aborted(
            reason,
            f"{reason.words} {retry_after:.0f} s (Retry-After), more than the "
            f"{self.max_retry_after_s:g} s --max-retry-after allows; {RESUME}",
        )

    def before(self, delay: float, status: int | None, retry_after: float | None) -> Aborted | None:
        """Account for a wait of ``delay`` seconds about to start after an answer of ``status`` (None: no
        answer); the reason to stop the run instead, or None (and the wait is shown when it is long)."""
        refused = self.refuse(retry_after)
        if refused is not None:
            return refused
        now = self.clock()
        end = now + delay
        if status == 429:
            added = max(0.0, end - max(now, self._throttled_until))
            if self.throttled_s + added > self.max_throttle_wait_s:
                reason = AbortReason.THROTTLED_TOO_LONG
                return Aborted(
                    reason,
                    f"{reason.words}: it would have waited {self.throttled_s + added:.0f} s in "
                    f"all on 429 answers, more than the {self.max_throttle_wait_s:g} s "
                    f"--max-throttle-wait allows; {RESUME}",
                )
            self.throttled_s += added
            self._throttled_until = max(self._throttled_until, end)
        if delay >= SHOWN_S and end > self._shown_until + 1.0:
            self._shown_until = end
            why = "no answer" if status is None else f"HTTP {status}"
            asked = f", Retry-After {retry_after:g} s" if retry_after is not None else ""
            self.log.emit(
                "wait",
                f"Waiting {delay:.0f} s before sending again ({why}{asked}).",
                delay_s=round(delay, 3),
                status=status,
                retry_after_s=retry_after,
            )
        return None
