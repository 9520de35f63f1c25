"""The rules of retrying, in one place: what is tried again, how long to wait first, how far the API's
``Retry-After`` is honoured, and how many attempts a request gets.

A ``RetryPolicy`` decides; it never sends or sleeps. The delivery engine (``importer.delivery.sender``:
every sender, bulk or one record per request) asks it after each attempt, and so does the run's
notification (``importer.jobs.monitoring``, with an instance of its own: fewer attempts, no jitter).

* **What is retried** (``verdict``): a request of an *idempotent* policy (the default: customers and
  orders are upserts, a status is set, an order deleted; sending one twice stores it once) is tried again
  after a network error or a timeout (the request may have been processed: it is ``ambiguous``), and after
  an answer whose status is in ``statuses`` (429, 500, 502, 503, 504); any other answer is final. Whether an
  attempt may have been processed (``may_have_reached``) makes the request's answer ``ambiguous`` either way.
  A policy for requests that are **not idempotent** (``idempotent=False``: a custom event sent twice is
  two events) tries again only when the request certainly did not reach the platform: a connection that
  could not be made (``NOT_SENT``: refused, unreachable, its connect timed out, no connection of the pool
  free), a 429, a 503 with ``Retry-After``. A timeout or a connection dropped after the request was sent,
  and any other 5xx, are ``UNCERTAIN``: never sent again, the caller files them apart from the failed
  ones (``Outcomes.uncertain``), since the platform may hold them.
* **The backoff** (``backoff``): ``backoff_base_s × backoff_factor ** n`` for the n-th retry (from 0),
  at most ``backoff_cap_s``, with full jitter (a random wait up to that: AWS architecture blog,
  "Exponential Backoff And Jitter") so retrying clients spread out, or that wait exactly (``jitter``
  False, the notification).
* **Retry-After** (``delay``): a 429 waits what the API asked (the backoff when it asked nothing); a 5xx
  or a network error waits the backoff, or longer when the API asked for longer. A wait beyond
  ``max_retry_after_s`` (``--max-retry-after``) is not waited out, and the 429 waits of a run count
  against ``max_throttle_wait_s`` (``--max-throttle-wait``): past either, ``importer.delivery.waits``
  (a run's ``Waits`` under its policy) stops the run instead.
* **Attempts** (``gives_up``): ``max_retries`` retries after errors (5xx, network) and ``max_throttles``
  after 429s, counted apart per request.

``RetryPolicy.of(api)`` is the policy of the run's ``ApiSettings`` (the command line's options).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from enum import Enum

import httpx

from importer.settings import ApiSettings

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# The request never left this machine: no connection was made (refused, unreachable, DNS, the connect timed
# out) or none of the pool's came free; nothing can have been processed.
NOT_SENT: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def may_have_reached(status: int | None, error: BaseException | None = None, retry_after: float | None = None) -> bool:
    """Whether a failed attempt may have been processed by the platform: no answer after the request left
    (``error`` is not one of ``NOT_SENT``), or a 5xx, but for a 503 that asks to come back (``retry_after``:
    it was not taken)."""
    if status is None:
        return not isinstance(error, NOT_SENT)
    return status >= 500 and not (status == 503 and retry_after is not None)


class Verdict(Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"  # try again (while attempts are left)
    FINAL = "final"  # the answer stands
    UNCERTAIN = "uncertain"  # not tried again, and the request may have been processed (not idempotent)


@dataclass(frozen=True)
class RetryPolicy:
    """When a request is tried again, after how long, and how often (see the module docstring)."""

    max_retries: int = 8  # per request, after 5xx answers, network errors and timeouts
    max_throttles: int = 50  # per request, after 429 answers
    backoff_base_s: float = 0.5  # the first retry waits up to this
    backoff_factor: float = 2.0  # each further retry up to this times longer
    backoff_cap_s: float = 30.0  # and never longer than this
    jitter: bool = True  # a random wait up to the backoff (full jitter); False: the backoff exactly
    max_retry_after_s: float = 300.0  # a longer Retry-After is not waited out (the run stops)
    max_throttle_wait_s: float = 1800.0  # the run's waits after 429s, in wall time
    statuses: frozenset[int] = RETRIED_STATUSES  # answers tried again (an idempotent request's)
    idempotent: bool = True  # sending it twice stores it once; False: retried only when certainly not sent

    @classmethod
    def of(cls, api: ApiSettings, *, idempotent: bool = True) -> RetryPolicy:
        """The policy the run's settings (``--max-retries``, ``--max-retry-after``, ...) say."""
        return cls(
            max_retries=api.max_retries,
            max_throttles=api.max_throttles,
            backoff_base_s=api.backoff_base_s,
            max_retry_after_s=api.max_retry_after_s,
            max_throttle_wait_s=api.max_throttle_wait_s,
            idempotent=idempotent,
        )

    def not_idempotent(self) -> RetryPolicy:
        """This policy for requests that must not be processed twice."""
        return replace(self, idempotent=False)

    def verdict(
        self, status: int | None, error: BaseException | None = None, retry_after: float | None = None
    ) -> Verdict:
        """After an error answer of ``status`` (None: no answer, ``error`` why) that asked to wait
        ``retry_after`` seconds (None: it did not say): try again, stop there, or stop uncertain."""
        if self.idempotent:
            return Verdict.RETRY if status is None or status in self.statuses else Verdict.FINAL
        if may_have_reached(status, error, retry_after):
            return Verdict.UNCERTAIN
        return Verdict.RETRY if status in (None, 429, 503) else Verdict.FINAL

    def gives_up(self, status: int | None, retries: int) -> bool:
        """No attempt follows one answered ``status`` after ``retries`` retries of its kind (429s are counted
        apart from the other errors)."""
        return retries >= (self.max_throttles if status == 429 else self.max_retries)

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first)."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * self.backoff_factor**retry)
        return (rng or random).uniform(0, ceiling) if self.jitter else ceiling

    def delay(
        self, status: int | None, retry: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``retry`` (of its kind) after an answer of ``status``: a 429
        waits what the API asked; anything else the backoff, or longer when the API asked for longer."""
        if status == 429:
            return retry_after if retry_after is not None else self.backoff(retry, rng)
        return max(retry_after or 0.0, self.backoff(retry, rng))

    def waited(self, retry_after: float | None) -> float | None:
        """The part of a ``Retry-After`` that is waited (at most ``max_retry_after_s``)."""
        return None if retry_after is None else min(retry_after, self.max_retry_after_s)

    def too_long(self, retry_after: float | None) -> bool:
        """The API asked for a longer wait than this policy waits out."""
        return retry_after is not None and retry_after > self.max_retry_after_s
