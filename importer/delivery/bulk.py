"""Bulk delivery: a chunk of records POSTed as one request, and the bad records in it isolated.

``BulkSender`` is the imports' ``Sender`` (``importer.delivery.sender`` does the concurrency, pacing,
retries and abort). It files every record of a chunk under exactly one outcome:

* accepted — a 2xx answer for a request holding it (or, after an ambiguous failure in Add mode, an
  "already exists" answer for a record the platform verifiably holds as sent: ``lookup`` gives the GET);
* rejected — a 400 naming it (``data[i]...`` in ``errors``, list or dictionary), or it was alone in a
  request answered 400/413. A 400 stores nothing, so the rest of that request is sent again; when the
  answer names no record the request is split in halves until the bad records are isolated; a 413 (or a
  400 saying the request is too big) splits it too and lowers the chunk size for the rest of the run;
* failed — retries exhausted (429, 5xx, network errors, timeouts), the run stopped before an answer, or
  a 2xx that is not the documented answer (a proxy's login page: the records may or may not be stored).

Each error answer goes to errors.jsonl; its body (capped at 64 KB by the engine) only with a record's
final answer: an attempt that is retried, or split to isolate the bad records, is written with its one-line
description, so a large body is kept once per record, not once per attempt.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from tqdm import tqdm

from importer.delivery.event_log import EventLog
from importer.delivery.outcomes import Answer, ApiErrorEvent, Tally
from importer.delivery.pacing import RateLimiter
from importer.delivery.problem_details import (
    describe_problem,
    is_too_big,
    parse_record_errors,
    says_exists,
)
from importer.delivery.retry_policy import RetryPolicy
from importer.delivery.sender import Sender
from importer.records.chunking import Chunk
from importer.records.comparison import matches
from importer.settings import ApiSettings

Lookup = Callable[[dict[str, Any]], str | None]  # where the platform shows a record as sent (GET path), if anywhere


class BulkSender(Sender):
    """Delivers the chunks of one import: POST ``path`` with ``envelope`` and the chunk's records as ``data``."""

    def __init__(  # noqa: PLR0913 (seven of them are the Sender's own options, passed through)
        self,
        api: ApiSettings,
        path: str,
        envelope: dict[str, str],
        on_error: Callable[[ApiErrorEvent], None],
        *,
        lookup: Lookup | None = None,
        on_accepted: Callable[[Chunk], None] | None = None,
        log: EventLog | None = None,
        progress: tqdm[Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        interrupts: bool = False,
        pace: float | None = None,
        max_records: int | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            api,
            on_error,
            on_accepted=on_accepted,
            log=log,
            progress=progress,
            transport=transport,
            rng=rng,
            interrupts=interrupts,
            pace=pace,
            policy=policy,
        )
        # An import's first run (no pace remembered for the endpoint) starts slowly (pacing.RateLimiter).
        self.limiter = RateLimiter(api.rate, remembered=pace, slow_start=True)
        self.path, self.envelope, self.lookup = path, envelope, lookup
        self.max_records = max_records  # lowered by 413s for the rest of the run (it may start from the last run's)

    async def deliver(self, client: httpx.AsyncClient, chunk: Chunk, tally: Tally) -> None:
        await self._deliver_in_pieces(client, chunk, False, tally)

    async def _deliver_in_pieces(self, client: httpx.AsyncClient, batch: Chunk, ambiguous: bool, tally: Tally) -> None:
        """Deliver in requests of at most ``max_records``, re-read before each piece (413s lower it)."""
        start = 0
        while start < len(batch):
            end = len(batch) if self.max_records is None else min(len(batch), start + self.max_records)
            await self._deliver(client, batch.part(start, end), ambiguous, tally)
            start = end

    async def _deliver(self, client: httpx.AsyncClient, batch: Chunk, ambiguous: bool, tally: Tally) -> None:
        answer = await self._post(client, batch)
        ambiguous = ambiguous or answer.ambiguous
        status, problem = answer.status, answer.problem
        if answer.accepted:
            self.accept(batch, tally)
            return
        self.abort_if_refused(status)
        named = parse_record_errors(problem, len(batch)) if status == 400 else {}
        if named:
            for i, errors in named.items():
                if ambiguous and await self._held_as_sent(client, batch.index, batch.records[i], errors):
                    self.accept(batch.pick([i]), tally)
                else:
                    self.reject(batch.pick([i]), errors, tally, problem)
            rest = [i for i in range(len(batch)) if i not in named]
            if rest:
                await self._deliver(client, batch.pick(rest), ambiguous, tally)
            return
        too_big = status == 413 or (status == 400 and is_too_big(status, problem))
        if status == 400 or too_big:
            if len(batch) == 1:
                message = (
                    "the record alone is larger than the API accepts" if too_big else describe_problem(status, problem)
                )
                self.reject(batch, [("", message)], tally, problem)
                return
            half = len(batch) // 2
            if not too_big:  # isolate the bad records by bisection
                await self._deliver(client, batch.part(0, half), ambiguous, tally)
                await self._deliver(client, batch.part(half, len(batch)), ambiguous, tally)
                return
            if self.max_records is None or half < self.max_records:
                self.max_records = half
                self.log.emit(
                    "chunk_size",
                    f"The API refused a request as too large: sending at most {half} records per request from now on.",
                    chunk_size=half,
                )
            await self._deliver_in_pieces(client, batch, ambiguous, tally)
            return
        self.fail(batch, answer, tally)

    async def _post(self, client: httpx.AsyncClient, batch: Chunk) -> Answer:
        """POST a batch with retries; its errors go to the report."""

        def report(status: int | None, problem: Any, attempt: int, final: bool) -> None:
            split = final and status in (400, 413) and len(batch) > 1 and not parse_record_errors(problem, len(batch))
            self.on_error(
                ApiErrorEvent(
                    batch.index, status, problem, batch.rids.to_list(), batch.records, attempt, final and not split
                )
            )

        return await self.request(client, batch.index, "POST", self.path, batch.body(self.envelope), report)

    async def _held_as_sent(
        self, client: httpx.AsyncClient, index: int, record: str, errors: list[tuple[str, str]]
    ) -> bool:
        """After an ambiguous failure: is an "already exists" record in the platform exactly as sent?"""
        if self.lookup is None or not all(says_exists(message) for _, message in errors):
            return False
        sent = orjson.loads(record)
        path = self.lookup(sent)
        if path is None:
            return False
        answer = await self.request(client, index, "GET", path, None)
        body = answer.problem if answer.accepted else None
        stored = body.get("data") if isinstance(body, dict) else None
        held = isinstance(stored, dict) and matches(sent, stored)
        self.outcomes.verified += held
        return held
