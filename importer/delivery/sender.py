"""The delivery engine every sending shares: concurrency, pacing, retries, abort and Ctrl-C.

``Sender.run`` takes chunks (from a list, or from a ``ChunkQueue`` that a preparing thread fills) and
sends them over one pooled ``httpx.AsyncClient`` with ``concurrency`` workers, each taking the next
chunk when it is done with one. What a chunk's requests are is the subclass's: ``BulkSender``
(``importer.delivery.bulk``) POSTs a chunk as one request and isolates bad records; ``RecordSender``
(``importer.delivery.single``) sends one request per record. This base does the rest, alike for both:

* ``request`` sends with retries as the sender's ``RetryPolicy`` (``retry_policy``) says: 429 (paced down
  by the adaptive ``pacing.RateLimiter``), 5xx, network errors and timeouts; each attempt is one
  ``wire.exchange``: the whole answer within ``--timeout``, its body read up to a cap;
* a wait the API asks for beyond ``--max-retry-after``, or throttling past ``--max-throttle-wait``
  (``waits.Waits``), and ``UNEXPECTED_IN_A_ROW`` successes that are not the documented answer
  (``wire.unexpected``: their records fail) stop the run (exit 3); what was not sent is left for --resume;
* 401/403 raises ``Abort`` in a worker: no new request starts and those in flight are cancelled; a TLS
  certificate that fails verification before any answer stops the run as a ``UsageError``; every stop
  carries an ``errors.AbortReason`` (what the exit code and the report decide by) with its message;
* with ``interrupts`` (the command line), Ctrl-C (SIGINT) or SIGTERM once stops taking new chunks and
  lets requests in flight finish, for at most ``STOP_GRACE_S``; a second signal, or the grace running
  out, abandons them (a library call leaves signals to its caller); ``stop`` does the same for the
  caller (a report or journal that can no longer be written);
* ``accept``, ``reject`` and ``fail`` (or ``uncertain``) file records under exactly one outcome
  (``Outcomes``); records never answered are left for the caller to report as failed.

Never logs the key or record contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

import httpx
from tqdm import tqdm

from importer.delivery import wire
from importer.delivery.chunk_queue import ChunkQueue
from importer.delivery.event_log import EventLog
from importer.delivery.outcomes import Aborted, Answer, ApiErrorEvent, Outcomes, Tally
from importer.delivery.pacing import RateLimiter, retry_after_seconds
from importer.delivery.problem_details import (
    certificate_failure,
    describe_problem,
    problem_kind,
)
from importer.delivery.retry_policy import RetryPolicy, Verdict, may_have_reached
from importer.delivery.waits import RESUME, Waits
from importer.errors import AbortReason, UsageError
from importer.records.chunking import Chunk
from importer.settings import ApiSettings
from importer.version import __version__

T = TypeVar("T")
UNEXPECTED_IN_A_ROW = 3  # successes in a row that are not the documented answer: the run stops
STOP_GRACE_S = 10.0  # after a stop, requests in flight have this long to be answered, then they are abandoned
SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}  # what a person or a supervisor sends to stop
# (status, problem, attempt, final) of an error answer; final: no further attempt follows (a record's answer)
Report = Callable[[int | None, Any, int, bool], None]


class Abort(Exception):
    """Raised inside a worker to stop the whole sending (the TaskGroup cancels the other workers)."""

    def __init__(self, why: Aborted) -> None:
        super().__init__(why.message)
        self.why = why


class Sender(ABC):
    """Delivers the chunks of one run; the outcome of every record lands in ``outcomes``. What is retried is
    the ``policy``'s: one that is not idempotent never sends again an attempt that may have been processed."""

    def __init__(
        self,
        api: ApiSettings,
        on_error: Callable[[ApiErrorEvent], None],
        *,
        on_accepted: Callable[[Chunk], None] | None = None,
        log: EventLog | None = None,
        progress: tqdm[Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        interrupts: bool = False,
        pace: float | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.api = api
        self.policy = policy or RetryPolicy.of(api)  # what is retried, how long it waits, how often
        self.interrupts = interrupts
        self.on_error, self.on_accepted = on_error, on_accepted
        self.log = log or EventLog()
        self.progress = progress
        self.transport = transport  # tests inject answers a server cannot give on demand
        self.rng = rng or random.Random()
        self.outcomes = Outcomes()
        self.limiter = RateLimiter(api.rate, remembered=pace)
        self.waits = Waits(self.policy, self.log)
        self.stopping = False
        self._stop: Aborted | None = None  # why the run stops, once a worker found it (raised as Abort)
        self._unexpected_in_a_row, self._unexpected_kind = 0, ""
        self._stopped_by: str | None = None  # the signal that asked to stop first
        self._grace: asyncio.TimerHandle | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._reported_decreases = 0

    @abstractmethod
    async def deliver(self, client: httpx.AsyncClient, chunk: Chunk, tally: Tally) -> None:
        """Send one chunk and file each of its records (``accept``, ``reject``, ``fail``)."""

    async def run(self, chunks: Iterable[Chunk] | ChunkQueue) -> Outcomes:
        """Send every chunk; the outcomes of their records."""
        if self.api.key is None:
            raise ValueError("an API key is required to send")
        headers = {
            "x-api-key": self.api.key.reveal(),
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": f"ecdp-importer/{__version__}",
        }
        limits = httpx.Limits(max_connections=self.api.concurrency, max_keepalive_connections=self.api.concurrency)
        pending = chunks if isinstance(chunks, ChunkQueue) else ChunkQueue.of(chunks)
        client = httpx.AsyncClient(
            base_url=self.api.url, headers=headers, timeout=self.api.timeout_s, limits=limits, transport=self.transport
        )
        async with client:
            with self._interrupts():
                await self._run_workers(client, pending)
        if self.outcomes.abort_reason is AbortReason.CERTIFICATE and not self.outcomes.answers:
            why = (self.outcomes.aborted or "").removeprefix(AbortReason.CERTIFICATE.words)
            raise UsageError(
                f"The TLS certificate of {client.base_url.host} failed verification{why}: nothing was sent.",
                "Check the API URL; behind a company proxy with its own CA, point SSL_CERT_FILE "
                "at that CA's certificate.",
            )
        return self.outcomes

    async def _run_workers(self, client: httpx.AsyncClient, pending: ChunkQueue) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._workers = [group.create_task(self._worker(client, pending)) for _ in range(self.api.concurrency)]
        except* Abort as aborted:
            first = aborted.exceptions[0]
            assert isinstance(first, Abort)  # (a worker raises one Abort, never a group)
            self.outcomes.abort(first.why)
            if not (self.outcomes.abort_reason is AbortReason.CERTIFICATE and not self.outcomes.answers):  # run()
                self.log.emit("abort", f"Stopped: {self.outcomes.aborted}.", reason=self.outcomes.aborted)
        finally:
            if self._grace is not None:  # (everything in flight was answered within it)
                self._grace.cancel()
            pending.stop()
            self.outcomes.unsent.extend(pending.leftovers())

    @contextlib.contextmanager
    def _interrupts(self) -> Iterator[None]:
        """Ctrl-C or SIGTERM once: finish what is in flight; twice: abandon it. (Asked for, and in the main thread
        only; the handlers there before are put back afterwards.)"""
        if not self.interrupts or threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        previous = {number: signal.getsignal(number) for number in SIGNALS}
        for number, name in SIGNALS.items():
            loop.add_signal_handler(number, self._interrupt, name)
        try:
            yield
        finally:
            for number, handler in previous.items():
                loop.remove_signal_handler(number)  # (which leaves the default action behind)
                if handler is not None:
                    signal.signal(number, handler)

    def _interrupt(self, name: str) -> None:
        if not self.stopping:
            self._stopped_by = name
            self.stop(
                Aborted(AbortReason.INTERRUPTED, f"{AbortReason.INTERRUPTED.words} ({name})"),
                f"Stopping: finishing the requests in flight ({name} again to abandon them).",
            )
            return
        again = (
            f"{name} twice"
            if name == self._stopped_by or self._stopped_by is None
            else (f"{self._stopped_by}, then {name}")
        )
        self._abandon(
            Aborted(
                AbortReason.INTERRUPTED, f"{AbortReason.INTERRUPTED.words} ({again}): requests in flight were abandoned"
            )
        )

    def stop(self, why: Aborted, note: str | None = None) -> None:
        """Take no new chunk: requests in flight get ``STOP_GRACE_S`` to be answered, then are abandoned; the
        rest is left unsent. ``why`` is the run's ``aborted`` (and its reason); ``note`` what the log says."""
        if self.stopping:
            return
        self.stopping = True
        self.outcomes.abort(why)
        self.log.emit("stopping", note or f"Stopping ({why.message}): finishing the requests in flight.")
        abandoned = Aborted(why.reason, f"{why.message}: requests in flight were abandoned after {STOP_GRACE_S:g} s")
        with contextlib.suppress(RuntimeError):  # (no loop runs: nothing is in flight)
            self._grace = asyncio.get_running_loop().call_later(STOP_GRACE_S, self._abandon, abandoned)

    def _abandon(self, why: Aborted) -> None:
        if not any(not task.done() for task in self._workers):
            return
        self.outcomes.abort(why)
        self.log.emit("abort", "Abandoning the requests in flight.", reason=self.outcomes.aborted)
        for task in self._workers:
            task.cancel()

    async def _worker(self, client: httpx.AsyncClient, pending: ChunkQueue) -> None:
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
            tally = Tally()
            await self.deliver(client, chunk, tally)
            del self.outcomes.unfinished[chunk.index]
            self.log.emit("chunk", chunk=chunk.index, records=len(chunk), **tally.counts())

    # -- for the subclasses: one request with its retries, and the outcome of records ------------------

    async def request(
        self,
        client: httpx.AsyncClient,
        index: int,
        method: str,
        path: str,
        body: bytes | None,
        report: Report | None = None,
    ) -> Answer:
        """Send with retries (as ``policy`` says); the final answer, and whether an earlier attempt may have been
        processed (or, under a policy that is not idempotent, this one: ``uncertain``). ``report`` is told of
        every error answer (status, problem, attempt, and whether it is final: no attempt follows, so its body
        is the one to keep), and of a success that is not the documented one."""
        policy = self.policy
        ambiguous, attempt, throttles = False, 0, 0
        while True:
            self.stop_if_asked()
            if self.stopping and attempt + throttles > 0:
                return Answer(None, None, ambiguous, stopped=True)
            await self.limiter.acquire()
            self.outcomes.requests += 1
            self.outcomes.timeline.add("requests")
            number = attempt + throttles + 1
            error: httpx.TransportError | None = None
            try:
                received = await wire.exchange(client, method, path, body, self.api.timeout_s)
            except httpx.TransportError as exc:  # a timeout, a dropped connection: it may have been processed
                if (unverified := certificate_failure(exc)) is not None:  # no retry fixes that; nothing was sent
                    raise Abort(
                        Aborted(AbortReason.CERTIFICATE, f"{AbortReason.CERTIFICATE.words} ({unverified})")
                    ) from None
                status, problem, retry_after = None, f"network error: {type(exc).__name__}: {exc}".rstrip(": "), None
                error = exc
            else:
                status = received.status
                self.outcomes.answers += 1
                if received.is_success:
                    return self._succeeded(method, received, ambiguous, number, report)
                problem = wire.parse(received)
                retry_after = retry_after_seconds(received.retry_after)
            ambiguous = ambiguous or may_have_reached(status, error, retry_after)
            verdict = policy.verdict(status, error, retry_after)
            if verdict is not Verdict.RETRY:
                final = True
            elif status == 429:
                throttles += 1
                self._throttled(index, retry_after)
                final = policy.gives_up(status, throttles - 1)
                delay = policy.delay(status, throttles - 1, retry_after, self.rng)
            else:
                final = policy.gives_up(status, attempt)
                delay = policy.delay(status, attempt, retry_after, self.rng)
                attempt += 0 if final else 1
            stop = None if final else self.waits.before(delay, status, retry_after)
            if report is not None:
                report(status, problem, number, final or stop is not None)
            if final:
                return Answer(status, problem, ambiguous, uncertain=verdict is Verdict.UNCERTAIN)
            if stop is not None:  # the other workers stop once this request's records are filed (fail)
                self._stop = self._stop or stop
                return Answer(status, problem, ambiguous, stopped=True)
            self.outcomes.retries += 1
            self.outcomes.timeline.add("retries")
            self.log.emit("retry", chunk=index, attempt=attempt + throttles, status=status, delay_s=round(delay, 3))
            await asyncio.sleep(delay)

    def _succeeded(
        self, method: str, received: wire.Received, ambiguous: bool, number: int, report: Report | None
    ) -> Answer:
        """A 2xx: the documented answer, or one that is not (not retried: it may be processed, and come again)."""
        unexpected = wire.unexpected(method, received)
        if unexpected is None:
            self.limiter.succeeded()
            self._unexpected_in_a_row = 0
            return Answer(received.status, wire.parse(received) if method == "GET" else None, ambiguous)
        self._unexpected_kind = wire.kind(method, received)
        if report is not None:
            report(received.status, wire.parse(received), number, True)
        return Answer(received.status, unexpected, True, unexpected=unexpected, uncertain=not self.policy.idempotent)

    def _throttled(self, index: int, retry_after: float | None) -> None:
        """A 429: counted, and the pace lowered (waiting out at most what the policy waits)."""
        self.outcomes.throttled += 1
        self.outcomes.timeline.add("throttled")
        self.limiter.throttled(self.policy.waited(retry_after))
        self.log.emit("throttled", chunk=index, retry_after_s=retry_after, rate=self.limiter.rate)
        self._rate_changed()

    def stop_if_asked(self) -> None:
        """Once a worker found a reason to stop the run (``waits``, unexpected answers): ``Abort``."""
        if self._stop is not None:
            raise Abort(self._stop)

    def abort_if_refused(self, status: int | None) -> None:
        """401/403: the key was refused, so the whole sending stops (``Abort``)."""
        if status in (401, 403):
            why = AbortReason.KEY_REFUSED
            raise Abort(Aborted(why, f"{why.words} (HTTP {status}); no further requests were sent"))

    def accept(self, batch: Chunk, tally: Tally) -> None:
        """The API acknowledged these records: only now are they accepted (and ``on_accepted`` is told)."""
        self.outcomes.accepted_records += len(batch)
        self.outcomes.accepted_rows += batch.rows
        self.answered(batch)
        self.outcomes.timeline.add("accepted", len(batch))
        if self.on_accepted is not None:
            self.on_accepted(batch)
        tally.accepted += len(batch)
        self.advance(len(batch))

    def reject(self, record: Chunk, errors: list[tuple[str, str]], tally: Tally, problem: Any = None) -> None:
        """A chunk of one record the API refused, with its (field, message) errors and the problem answer
        that said so (its ``substatus`` and ``type`` are kept for the report)."""
        fields = ";".join(dict.fromkeys(path for path, _ in errors if path))
        message = "; ".join(f"{path}: {msg}" if path else msg for path, msg in errors)
        self.outcomes.rejected.append((record.row_ids[0], fields, message, *problem_kind(problem)))
        self.answered(record)
        self.outcomes.timeline.add("rejected")
        tally.rejected += 1
        self.advance(1)

    def fail(self, batch: Chunk, answer: Answer, tally: Tally) -> None:
        """Records whose request got no final answer (retries exhausted, or the run stopped first), or an
        answer that is not the documented one; then the run stops if that is what the answer asked. Those of
        an ``uncertain`` answer (it may have been processed) are filed as such, not as failed."""
        stopped = (self._stop.message if self._stop else None) or self.outcomes.aborted or "the run stopped"
        reason = (
            f"not sent: {stopped}"
            if answer.stopped
            else answer.unexpected or describe_problem(answer.status, answer.problem)
        )
        if answer.uncertain:
            self.outcomes.uncertain.extend((rids, reason) for rids in batch.row_ids)
            tally.uncertain += len(batch)
        else:
            self.outcomes.failed.extend((rids, reason) for rids in batch.row_ids)
            self.outcomes.timeline.add("failed", len(batch))
            tally.failed += len(batch)
        self.answered(batch)
        self.advance(len(batch))
        if answer.unexpected is not None:
            self._unexpected_in_a_row += 1
            if self._unexpected_in_a_row >= UNEXPECTED_IN_A_ROW:
                why = AbortReason.UNEXPECTED_ANSWERS
                self._stop = self._stop or Aborted(
                    why,
                    f"{why.words}: {self._unexpected_in_a_row} in a row (the "
                    f"last: {self._unexpected_kind}); is a proxy or a login page "
                    f"answering for the API? {RESUME}",
                )
        self.stop_if_asked()

    def answered(self, batch: Chunk) -> None:
        """These records of a chunk in flight have their outcome (the rest are unanswered if the run stops)."""
        unfinished = self.outcomes.unfinished.get(batch.index)
        if unfinished is not None:
            unfinished[1].append(batch)  # (its rows are looked up only if the run stops before the chunk's end)

    def advance(self, count: int) -> None:
        if self.progress is not None:
            self.progress.update(count)

    def _rate_changed(self) -> None:
        decreases = self.limiter.decreases
        if decreases != self._reported_decreases:
            self._reported_decreases = decreases
            rate = self.limiter.rate or 0.0
            self.log.emit("rate", f"The API asked to slow down (429): now at most {rate:.1f} requests/s.", rate=rate)


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` without the SIGINT handler ``asyncio.run`` installs in a main thread: a library
    call leaves signals to its caller (Ctrl-C is a KeyboardInterrupt, as anywhere else), and the CLI's
    ``interrupts`` install their own while sending."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # as asyncio.run does: the thread's loop while it runs
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
