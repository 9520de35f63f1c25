"""Deliver chunks of records to the API: concurrent, polite, self-healing, and every record accounted for.

``Sender.run`` POSTs chunk bodies over one pooled ``httpx.AsyncClient`` with ``concurrency`` requests in
flight, paced by ``pacing.RateLimiter``, and files every record under exactly one outcome:

* accepted — a 2xx answer for a request holding it (or, after an ambiguous failure in Add mode, an
  "already exists" answer for a record the platform verifiably holds as sent);
* rejected — a 400 naming it (``data[i]...`` in ``errors``, list or dictionary), or it was alone in a
  request answered 400/413. A 400 stores nothing, so the rest of that request is sent again; when the
  answer names no record the request is split in halves until the bad records are isolated; a 413 (or a
  400 saying the request is too big) splits it too and lowers the chunk size for the rest of the run;
* failed — retries exhausted (429, 5xx, network errors, timeouts; exponential backoff with full jitter,
  ``Retry-After`` honoured), or the run stopped before an answer.

401/403 aborts the run: no new request starts and those in flight are cancelled. Ctrl-C once stops
taking new chunks and lets requests in flight finish; twice abandons them. Records never answered are
left for the caller to report as failed. Never logs the key or record contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import polars as pl
from tqdm import tqdm

from importer import __version__
from importer.delivery.chunk_queue import Feed
from importer.delivery.event_log import EventLog
from importer.delivery.pacing import RateLimiter, backoff_delay, retry_after_seconds
from importer.delivery.problem_details import (
    certificate_failure,
    describe_problem,
    is_too_big,
    parse_body,
    parse_record_errors,
    says_exists,
)
from importer.delivery.timeline import Timeline
from importer.errors import EXIT_ABORTED, EXIT_OK, EXIT_ROWS_NOT_IMPORTED, UsageError
from importer.records.json_text import Chunk
from importer.records.stored_match import matches
from importer.settings import ApiSettings

RETRIABLE = frozenset({429, 500, 502, 503, 504})
ABORT_KEY = "the API rejected the key"
CERTIFICATE = "the API's TLS certificate failed verification"
Lookup = Callable[[dict[str, Any]], str | None]


@dataclass
class ApiErrorEvent:
    """One error answer of the API (or a network error), for errors.jsonl."""

    chunk: int
    status: int | None
    response: Any
    row_ids: list[int]
    records: list[str]
    attempt: int = 1

    def entry(self, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The line of errors.jsonl (``rows``: where the request's rows are in the input)."""
        return {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "chunk": self.chunk,
            "status": self.status,
            "attempt": self.attempt,
            "response": self.response,
            **({"rows": rows} if rows is not None else {}),
            "records": [orjson.loads(r) for r in self.records],
        }


@dataclass
class Outcomes:
    """Where every sent record ended up, and what it took. Accepted records are counted per request
    (no Python object per record); rejected and failed ones are listed with their rows and reasons."""

    accepted_records: int = 0
    accepted_rows: int = 0
    rejected: list[tuple[list[int], str, str]] = field(default_factory=list)  # rows, field, error
    failed: list[tuple[list[int], str]] = field(default_factory=list)  # rows, error
    requests: int = 0
    answers: int = 0  # HTTP answers of any status
    records_sent: int = 0
    rows_sent: int = 0  # input rows of the records sent
    retries: int = 0
    throttled: int = 0
    verified: int = 0
    aborted: str | None = None
    # chunks taken but not fully answered, with the rows answered so far; chunks never taken
    unfinished: dict[int, tuple[Chunk, list[pl.Series]]] = field(default_factory=dict)
    unsent: list[Chunk] = field(default_factory=list)
    timeline: Timeline = field(default_factory=Timeline)  # the counts above per second, for the report

    def unanswered(self, after: str) -> list[tuple[list[int], str, str]]:
        """Failed reasons (rows, field, error) for the records without an answer, after an abort or Ctrl-C:
        "not sent", or "sent, but no answer came …: ``after``" for those of a request in flight."""
        stopped = self.aborted or "the run stopped"
        reasons = [(rids, "", f"not sent: {stopped}") for chunk in self.unsent for rids in chunk.row_ids]
        in_flight = f"sent, but no answer came before the run stopped ({stopped}): {after}"
        for chunk, answered in self.unfinished.values():
            done = set(pl.concat(answered).to_list()) if answered else set()
            reasons += [(rids, "", in_flight) for rids in chunk.row_ids if rids[0] not in done]
        return reasons

    def delivery(self) -> dict[str, Any]:
        """The summary's counts of what delivery took."""
        return {"requests": self.requests, "retries": self.retries, "throttled": self.throttled,
                "aborted": self.aborted}

    def exit_code(self, rows_left_out: bool) -> int:
        """3 when the key was refused, else 1 when rows were left out (``rows_left_out``), else 0."""
        if self.aborted and self.aborted.startswith(ABORT_KEY):
            return EXIT_ABORTED
        return EXIT_ROWS_NOT_IMPORTED if rows_left_out else EXIT_OK


@dataclass
class _Answer:
    status: int | None  # None: no answer (network error, timeout, stopped)
    problem: Any  # the parsed error body; for a successful GET, the parsed body
    ambiguous: bool  # an earlier attempt may have been stored
    stopped: bool = False  # the run stopped before this request could be (re)tried


@dataclass
class _Tally:
    """What happened to the records of one chunk, for its event."""

    accepted: int = 0
    rejected: int = 0
    failed: int = 0


class Sender:
    """Delivers the chunks of one run; the outcome of every record lands in ``outcomes``."""

    def __init__(
        self,
        api: ApiSettings,
        path: str,
        envelope: dict[str, str],
        on_error: Callable[[ApiErrorEvent], None],
        *,
        lookup: Lookup | None = None,
        on_accepted: Callable[[Chunk], None] | None = None,
        log: EventLog | None = None,
        progress: tqdm | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.api, self.path, self.envelope = api, path, envelope
        self.on_error, self.lookup, self.on_accepted = on_error, lookup, on_accepted
        self.log = log or EventLog()
        self.progress = progress
        self.transport = transport  # tests inject answers a server cannot give on demand
        self.rng = rng or random.Random()
        self.outcomes = Outcomes()
        self.limiter = RateLimiter(api.rate)
        self.max_records: int | None = None  # lowered by 413s for the rest of the run
        self.stopping = False
        self._workers: list[asyncio.Task[None]] = []
        self._reported_decreases = 0

    async def run(self, chunks: Iterable[Chunk] | Feed) -> Outcomes:
        if self.api.key is None:
            raise ValueError("an API key is required to send")
        headers = {
            "x-api-key": self.api.key.reveal(),
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": f"ecdp-importer/{__version__}",
        }
        limits = httpx.Limits(max_connections=self.api.concurrency, max_keepalive_connections=self.api.concurrency)
        pending = chunks if isinstance(chunks, Feed) else Feed.of(chunks)
        client = httpx.AsyncClient(
            base_url=self.api.url, headers=headers, timeout=self.api.timeout_s, limits=limits, transport=self.transport
        )
        async with client:
            with self._interrupts():
                await self._run_workers(client, pending)
        if self.outcomes.aborted and self.outcomes.aborted.startswith(CERTIFICATE) and not self.outcomes.answers:
            why = self.outcomes.aborted.removeprefix(CERTIFICATE)
            raise UsageError(f"The TLS certificate of {client.base_url.host} failed verification{why}: nothing was "
                             "sent.", "Check the API URL; behind a company proxy with its own CA, point SSL_CERT_FILE "
                             "at that CA's certificate.")
        return self.outcomes

    async def _run_workers(self, client: httpx.AsyncClient, pending: Feed) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._workers = [group.create_task(self._worker(client, pending)) for _ in range(self.api.concurrency)]
        except* _Abort as aborted:
            self.outcomes.aborted = aborted.exceptions[0].args[0]
            if not (self.outcomes.aborted.startswith(CERTIFICATE) and not self.outcomes.answers):  # run() says it
                self.log.emit("abort", f"Stopped: {self.outcomes.aborted}.", reason=self.outcomes.aborted)
        finally:
            pending.stop()
            self.outcomes.unsent.extend(pending.leftovers())

    @contextlib.contextmanager
    def _interrupts(self) -> Iterator[None]:
        """Ctrl-C once: finish what is in flight; twice: abandon it. (Main thread only.)"""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupt)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    def _interrupt(self) -> None:
        if not self.stopping:
            self.stopping = True
            self.outcomes.aborted = "interrupted (Ctrl-C)"
            self.log.emit("stopping", "Stopping: finishing the requests in flight (Ctrl-C again to abandon them).")
            return
        self.outcomes.aborted = "interrupted (Ctrl-C twice): requests in flight were abandoned"
        self.log.emit("abort", "Abandoning the requests in flight.", reason=self.outcomes.aborted)
        for task in self._workers:
            task.cancel()

    async def _worker(self, client: httpx.AsyncClient, pending: Feed) -> None:
        while not self.stopping:
            chunk = await pending.get()
            if chunk is None:
                return
            if self.stopping:
                pending.put_back(chunk)
                return
            self.outcomes.records_sent += len(chunk)
            self.outcomes.rows_sent += chunk.rows
            self.outcomes.unfinished[chunk.index] = (chunk, [])
            tally = _Tally()
            await self._deliver_in_pieces(client, chunk, False, tally)
            del self.outcomes.unfinished[chunk.index]
            self.log.emit("chunk", chunk=chunk.index, records=len(chunk), accepted=tally.accepted,
                          rejected=tally.rejected, failed=tally.failed)

    async def _deliver_in_pieces(self, client: httpx.AsyncClient, batch: Chunk, ambiguous: bool, tally: _Tally) -> None:
        """Deliver in requests of at most ``max_records``, re-read before each piece (413s lower it)."""
        start = 0
        while start < len(batch):
            end = len(batch) if self.max_records is None else min(len(batch), start + self.max_records)
            await self._deliver(client, batch.part(start, end), ambiguous, tally)
            start = end

    async def _deliver(self, client: httpx.AsyncClient, batch: Chunk, ambiguous: bool, tally: _Tally) -> None:
        answer = await self._post(client, batch)
        ambiguous = ambiguous or answer.ambiguous
        status, problem = answer.status, answer.problem
        if status is not None and 200 <= status < 300:
            self._accept(batch, tally)
            return
        if status in (401, 403):
            raise _Abort(f"{ABORT_KEY} (HTTP {status}); no further requests were sent")
        named = parse_record_errors(problem, len(batch)) if status == 400 else {}
        if named:
            for i, errors in named.items():
                if ambiguous and await self._held_as_sent(client, batch.index, batch.records[i], errors):
                    self._accept(batch.pick([i]), tally)
                else:
                    self._reject(batch.pick([i]), errors, tally)
            rest = [i for i in range(len(batch)) if i not in named]
            if rest:
                await self._deliver(client, batch.pick(rest), ambiguous, tally)
            return
        too_big = status == 413 or (status == 400 and is_too_big(status, problem))
        if status == 400 or too_big:
            if len(batch) == 1:
                message = "the record alone is larger than the API accepts" if too_big else describe_problem(status, problem)
                self._reject(batch, [("", message)], tally)
                return
            half = len(batch) // 2
            if not too_big:  # isolate the bad records by bisection
                await self._deliver(client, batch.part(0, half), ambiguous, tally)
                await self._deliver(client, batch.part(half, len(batch)), ambiguous, tally)
                return
            if self.max_records is None or half < self.max_records:
                self.max_records = half
                self.log.emit("chunk_size", f"The API refused a request as too large: sending at most {half} "
                              "records per request from now on.", chunk_size=half)
            await self._deliver_in_pieces(client, batch, ambiguous, tally)
            return
        if answer.stopped:
            reason = f"not sent: {self.outcomes.aborted or 'the run stopped'}"
        else:
            reason = describe_problem(status, problem)
        self.outcomes.failed.extend((rids, reason) for rids in batch.row_ids)
        self._answered(batch)
        self.outcomes.timeline.add("failed", len(batch))
        tally.failed += len(batch)
        self._advance(len(batch))

    def _accept(self, batch: Chunk, tally: _Tally) -> None:
        """The API acknowledged these records: only now are they accepted (and journaled)."""
        self.outcomes.accepted_records += len(batch)
        self.outcomes.accepted_rows += batch.rows
        self._answered(batch)
        self.outcomes.timeline.add("accepted", len(batch))
        if self.on_accepted is not None:
            self.on_accepted(batch)
        tally.accepted += len(batch)
        self._advance(len(batch))

    def _answered(self, batch: Chunk) -> None:
        unfinished = self.outcomes.unfinished.get(batch.index)
        if unfinished is not None:
            unfinished[1].append(batch.rids)

    async def _post(self, client: httpx.AsyncClient, batch: Chunk) -> _Answer:
        """POST a batch with retries; its errors go to the report."""

        def report(status: int | None, problem: Any, attempt: int) -> None:
            self.on_error(ApiErrorEvent(batch.index, status, problem, batch.rids.to_list(), batch.records, attempt))

        return await self._request(client, batch.index, "POST", self.path, batch.body(self.envelope), report)

    async def _request(
        self,
        client: httpx.AsyncClient,
        index: int,
        method: str,
        path: str,
        body: bytes | None,
        report: Callable[[int | None, Any, int], None] | None = None,
    ) -> _Answer:
        """Send with retries; the final answer, and whether an earlier attempt may have been processed."""
        ambiguous, attempt, throttles = False, 0, 0
        while True:
            if self.stopping and attempt + throttles > 0:
                return _Answer(None, None, ambiguous, stopped=True)
            await self.limiter.acquire()
            self.outcomes.requests += 1
            self.outcomes.timeline.add("requests")
            try:
                response = await client.request(method, path, content=body)
            except httpx.TransportError as exc:  # includes timeouts: the request may have been processed
                if (unverified := certificate_failure(exc)) is not None:  # no retry fixes that; nothing was sent
                    raise _Abort(f"{CERTIFICATE} ({unverified})") from None
                status, problem, retry_after = None, f"network error: {type(exc).__name__}: {exc}".rstrip(": "), None
                ambiguous = True
            else:
                status = response.status_code
                self.outcomes.answers += 1
                if response.is_success:
                    self.limiter.succeeded()
                    return _Answer(status, parse_body(response) if method == "GET" else None, ambiguous)
                problem = parse_body(response)
                retry_after = retry_after_seconds(response.headers.get("retry-after"))
                ambiguous = ambiguous or status >= 500
            if report is not None:
                report(status, problem, attempt + throttles + 1)
            if status is not None and status not in RETRIABLE:
                return _Answer(status, problem, ambiguous)
            if status == 429:
                throttles += 1
                self.outcomes.throttled += 1
                self.outcomes.timeline.add("throttled")
                self.limiter.throttled(retry_after)
                self.log.emit("throttled", chunk=index, retry_after_s=retry_after, rate=self.limiter.rate)
                self._rate_changed()
                if throttles > self.api.max_throttles:
                    return _Answer(status, problem, ambiguous)
                delay = retry_after if retry_after is not None else self._backoff(throttles - 1)
            else:
                if attempt >= self.api.max_retries:
                    return _Answer(status, problem, ambiguous)
                delay = max(retry_after or 0.0, self._backoff(attempt))
                attempt += 1
            self.outcomes.retries += 1
            self.outcomes.timeline.add("retries")
            self.log.emit("retry", chunk=index, attempt=attempt + throttles, status=status, delay_s=round(delay, 3))
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.rng, self.api.backoff_base_s)

    def _rate_changed(self) -> None:
        decreases = self.limiter.decreases
        if decreases != self._reported_decreases:
            self._reported_decreases = decreases
            rate = self.limiter.rate or 0.0
            self.log.emit("rate", f"The API asked to slow down (429): now at most {rate:.1f} requests/s.", rate=rate)

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
        answer = await self._request(client, index, "GET", path, None)
        body = answer.problem if answer.status == 200 else None
        stored = body.get("data") if isinstance(body, dict) else None
        held = isinstance(stored, dict) and matches(sent, stored)
        self.outcomes.verified += held
        return held

    def _reject(self, record: Chunk, errors: list[tuple[str, str]], tally: _Tally) -> None:
        """A chunk of one record the API refused."""
        fields = ";".join(dict.fromkeys(path for path, _ in errors if path))
        message = "; ".join(f"{path}: {msg}" if path else msg for path, msg in errors)
        self.outcomes.rejected.append((record.row_ids[0], fields, message))
        self._answered(record)
        self.outcomes.timeline.add("rejected")
        tally.rejected += 1
        self._advance(1)

    def _advance(self, count: int) -> None:
        if self.progress is not None:
            self.progress.update(count)


class _Abort(Exception):
    """Raised inside a worker to stop the whole run (the TaskGroup cancels the other workers)."""


def progress_bar(total: int | None, enabled: bool) -> tqdm | None:
    """A records bar on a terminal; None when disabled or stderr is not a TTY (cron, pipes)."""
    if not enabled or not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit="rec", desc="sending", file=sys.stderr, dynamic_ncols=True)
