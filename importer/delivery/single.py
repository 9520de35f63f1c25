"""Single-record API operations: one request per record, with the delivery machinery of the imports.

``PUT /orders/status`` (order-status), ``DELETE /orders/{id}`` (delete-orders) and ``GET`` (verify, the
settings reads of the pre-flight checks) take one record per request. ``RecordSender`` is a sibling of
the imports' ``BulkSender``: a ``Sender`` (``importer.delivery.sender``) whose ``deliver`` sends each
record of a chunk as a request of its own; everything else is the engine's: requests in flight
(``--concurrency``), the adaptive rate limiter, retries with backoff and ``Retry-After``, the 401/403
abort, Ctrl-C, progress bar and events.

Each record ends in exactly one outcome:

* accepted — a 2xx answer (for a GET, ``on_answer`` gets the parsed body);
* not found — a 404, where the operation files it apart (``Outcomes.not_found``; delete: the order is
  not there; verify: the record is missing); elsewhere a 404 is a rejection;
* rejected — a 400 (the API's errors, with the API's field names mapped to the input's columns);
* failed — retries exhausted (429, 5xx, network), the run stopped before an answer, or a 2xx that is not
  the documented answer (the engine's ``wire.unexpected``);
* uncertain — under a ``RetryPolicy`` that is not idempotent (``policy``), a request that may have been
  processed and is not sent again (``Outcomes.uncertain``).

``get_many`` reads a few paths (the settings lists) through the same engine. Nothing here reads files or
knows what a record means beyond building its request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from tqdm import tqdm

from importer.delivery.event_log import EventLog
from importer.delivery.outcomes import Answer, ApiErrorEvent, Tally
from importer.delivery.problem_details import describe_problem
from importer.delivery.retry_policy import RetryPolicy
from importer.delivery.sender import Sender, run_loop
from importer.records.chunking import Chunk, chunk_of
from importer.settings import ApiSettings

Target = Callable[[dict[str, Any]], tuple[str, bytes | None]]


@dataclass(frozen=True)
class Operation:
    """What one record's request is, and how its answers are filed."""

    method: str
    target: Target  # record (the parsed JSON of the chunk's record) -> (path, body)
    not_found_apart: bool = False  # a 404 is an outcome of its own ("not found"), not a rejection
    missing: str = "not found in the platform (HTTP 404)"  # the reason of a 404
    fields: dict[str, str] = field(default_factory=dict)  # API error paths -> the input's column names


class RecordSender(Sender):
    """Sends every record of a chunk as a request of its own (see the module docstring)."""

    def __init__(  # noqa: PLR0913 (the engine's own options passed through, as BulkSender's)
        self,
        api: ApiSettings,
        operation: Operation,
        on_error: Callable[[ApiErrorEvent], None],
        *,
        on_answer: Callable[[int, Any], None] | None = None,
        on_accepted: Callable[[Chunk], None] | None = None,
        log: EventLog | None = None,
        progress: tqdm[Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        interrupts: bool = False,
        pace: float | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            api,
            on_error,
            on_accepted=on_accepted,
            log=log,
            progress=progress,
            transport=transport,
            interrupts=interrupts,
            pace=pace,
            policy=policy,
        )
        self.operation = operation
        self.on_answer = on_answer

    async def deliver(self, client: httpx.AsyncClient, chunk: Chunk, tally: Tally) -> None:
        for i in range(len(chunk)):
            await self._deliver_one(client, chunk.pick([i]), tally)

    def target(self, one: Chunk) -> tuple[str, bytes | None]:
        """The path and body of the request of a chunk of one record."""
        return self.operation.target(orjson.loads(one.records[0]))

    async def _deliver_one(self, client: httpx.AsyncClient, one: Chunk, tally: Tally) -> None:
        operation = self.operation
        path, body = self.target(one)

        def report(status: int | None, problem: Any, attempt: int, final: bool) -> None:
            if not (status == 404 and operation.not_found_apart):  # an expected outcome, not an error
                self.on_error(
                    ApiErrorEvent(one.index, status, problem, one.rids.to_list(), one.records, attempt, final)
                )

        answer = await self.request(client, one.index, operation.method, path, body, report)
        if answer.accepted:
            if self.on_answer is not None:
                self.on_answer(one.index, answer.problem)  # one record per chunk: its index is its position
            self.accept(one, tally)
            return
        self.abort_if_refused(answer.status)
        self.refused(one, answer, tally)

    def refused(self, one: Chunk, answer: Answer, tally: Tally) -> None:
        """File a record whose request was not accepted (nor its key refused): not found, rejected or failed."""
        operation, status = self.operation, answer.status
        if status == 404 and operation.not_found_apart:
            lost = " (an earlier attempt whose answer was lost may have done it)" if answer.ambiguous else ""
            self.outcomes.not_found.append((one.row_ids[0], operation.missing + lost))
            self.answered(one)
            self.advance(1)
        elif status in (400, 404):
            errors = record_errors(answer.problem, operation.fields) if status == 400 else []
            why = operation.missing if status == 404 else describe_problem(status, answer.problem)
            self.reject(one, errors or [("", why)], tally, answer.problem)
        else:
            self.fail(one, answer, tally)


def record_errors(problem: Any, fields: dict[str, str]) -> list[tuple[str, str]]:
    """(column, "column: message") pairs from a 400's ``errors`` (a list of strings or a dictionary)."""
    errors = problem.get("errors") if isinstance(problem, dict) else None
    pairs: list[tuple[str, str]] = []
    if isinstance(errors, list):
        pairs = [(p, m) for p, _, m in (str(e).partition(": ") for e in errors) if m]
    elif isinstance(errors, dict):
        pairs = [(str(p), str(m)) for p, ms in errors.items() for m in (ms if isinstance(ms, list) else [ms])]
    return [(fields.get(p.strip(), p.strip()), m) for p, m in pairs]


class GetFailed(Exception):
    """A GET of ``get_many`` did not succeed: why, whether the key was refused, and the final HTTP status
    (None: no answer)."""

    def __init__(self, reason: str, key_refused: bool = False, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key_refused = key_refused
        self.status = status


def get_many(api: ApiSettings, paths: Sequence[str], log_format: str = "text") -> list[Any]:
    """The parsed bodies of GET ``paths`` (in order), fetched concurrently with retries; GetFailed if any
    of them fails (401/403: ``key_refused``)."""
    bodies: dict[int, Any] = {}
    chunks = [chunk_of(i, [orjson.dumps({"path": p}).decode()], [[i]]) for i, p in enumerate(paths)]
    errors: list[ApiErrorEvent] = []
    sender = RecordSender(
        api,
        Operation("GET", lambda record: (record["path"], None)),
        errors.append,
        on_answer=bodies.__setitem__,
        log=EventLog(log_format),
    )
    outcomes = run_loop(sender.run(chunks))
    if outcomes.aborted:
        last = errors[-1].status if errors else None
        raise GetFailed(f"HTTP {last}" if last else outcomes.aborted, key_refused=outcomes.key_refused)
    problems = [reason for _, reason in outcomes.failed] + [rejected[2] for rejected in outcomes.rejected]
    if problems or len(bodies) < len(paths):
        raise GetFailed(problems[0] if problems else "no answer", status=errors[-1].status if errors else None)
    return [bodies[i] for i in range(len(paths))]
