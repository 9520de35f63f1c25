"""At-most-once delivery: one request per record, for an endpoint whose requests are not idempotent.

``AtMostOnceSender`` is a ``RecordSender`` (``importer.delivery.single``: one request per record; the
engine, ``importer.delivery.sender``, does the concurrency, pacing, abort and Ctrl-C) for POST
/scenariocustomevents: a custom event triggers the business unit's scenarios (an e-mail, an SMS), so sending
one twice may message a customer twice. Hence:

* ``on_dispatch`` is told of a chunk's records *before* its first request leaves (the job records them in
  the journal as dispatched; False: they could not be, and none is sent), ``on_accepted`` when the API
  acknowledged one, ``on_settled`` when one certainly is not stored (rejected, or never sent), so a crash
  at any moment leaves at most the records in flight dispatched and unanswered;
* a request is retried only when it certainly did not reach the API (no connection made, 429, 503 with
  ``Retry-After``: a ``RetryPolicy`` that is not idempotent); after a timeout, a dropped connection, another 5xx
  or a 2xx that is not the documented answer, the record is *uncertain* (``Outcomes.uncertain``): it may
  be stored, and is never sent again by this run;
* a 400 that ``stop_on`` recognises (the custom event does not exist) stops the run after the
  requests in flight: every other record would be refused alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from tqdm import tqdm

from importer.delivery.event_log import EventLog
from importer.delivery.outcomes import Aborted, Answer, ApiErrorEvent, Tally
from importer.delivery.problem_details import describe_problem
from importer.delivery.retry_policy import RetryPolicy
from importer.delivery.single import Operation, RecordSender, record_errors
from importer.errors import AbortReason
from importer.records.chunking import Chunk
from importer.settings import ApiSettings


@dataclass(frozen=True)
class AtMostOnce:
    """How a resource that is not idempotent is sent: what stops its run, and whether ``--resume`` sends the
    records whose earlier sending is uncertain again."""

    stop_on: Callable[[Any, str], str | None]  # a 400's problem, its record -> why the run stops (all would fail)
    resend_uncertain: bool = False


class AtMostOnceSender(RecordSender):
    """POSTs every record of a chunk to ``path`` as a request of its own (see the module docstring)."""

    def __init__(  # noqa: PLR0913 (the engine's own arguments passed through, as BulkSender's)
        self,
        api: ApiSettings,
        path: str,
        on_error: Callable[[ApiErrorEvent], None],
        *,
        on_dispatch: Callable[[Chunk], bool],
        on_settled: Callable[[Chunk], None],
        on_accepted: Callable[[Chunk], None] | None = None,
        stop_on: Callable[[Any, str], str | None] = lambda _problem, _record: None,
        log: EventLog | None = None,
        progress: tqdm[Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        interrupts: bool = False,
        pace: float | None = None,
    ) -> None:
        super().__init__(
            api,
            Operation("POST", lambda record: (path, orjson.dumps(record))),
            on_error,
            on_accepted=on_accepted,
            log=log,
            progress=progress,
            transport=transport,
            interrupts=interrupts,
            pace=pace,
            policy=RetryPolicy.of(api, idempotent=False),
        )
        self.path = path
        self.on_dispatch, self.on_settled, self.stop_on = on_dispatch, on_settled, stop_on

    async def deliver(self, client: httpx.AsyncClient, chunk: Chunk, tally: Tally) -> None:
        if not self.on_dispatch(chunk):  # not recorded (the journal failed, the run stops): none may leave
            self._not_sent(chunk)
            return
        for i in range(len(chunk)):  # (recorded before anything leaves: a crash from here on finds them)
            if self.stopping:  # (stopped meanwhile: the rest never left)
                rest = chunk.part(i, len(chunk))
                self.on_settled(rest)
                self._not_sent(rest)
                return
            await self._deliver_one(client, chunk.part(i, i + 1), tally)

    def target(self, one: Chunk) -> tuple[str, bytes | None]:
        """The record's text as read (not parsed and dumped again)."""
        return self.path, one.joined if one.joined is not None else one.records[0].encode()

    def refused(self, one: Chunk, answer: Answer, tally: Tally) -> None:
        """Any 4xx but a 429 is a rejection (nothing was stored), perhaps one that stops the run (``stop_on``);
        the rest failed, or is uncertain."""
        if answer.status is not None and 400 <= answer.status < 500 and answer.status != 429:
            self.on_settled(one)  # refused: nothing was stored
            errors = record_errors(answer.problem, {}) if answer.status == 400 else []
            self.reject(one, errors or [("", describe_problem(answer.status, answer.problem))], tally, answer.problem)
            stop = self.stop_on(answer.problem, one.records[0]) if answer.status == 400 else None
            if stop is not None:
                self.stop(Aborted(AbortReason.UNKNOWN_TARGET, stop), f"Stopping: {stop}.")
            return
        if not answer.uncertain:  # (the policy's verdict: under this one, the same as ``ambiguous``)
            self.on_settled(one)  # certainly never processed: a later run may send it
        self.fail(one, answer, tally)  # (an uncertain answer is filed as such)

    def _not_sent(self, batch: Chunk) -> None:
        """Records of a chunk taken that never left: handed back, as chunks never taken are."""
        self.outcomes.unsent.append(batch)
        self.answered(batch)
