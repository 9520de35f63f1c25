"""Where every sent record ended up: the outcomes a delivery hands back, the final ``Answer`` to each of its
requests, and the API's error answers.

``Outcomes`` counts accepted records per request (no Python object per record) and lists rejected and
failed ones with their input rows and reasons; records taken but never answered (an abort, Ctrl-C) are
``unfinished`` or ``unsent``, and ``unanswered`` turns them into failed reasons for the report. A sender
whose ``RetryPolicy`` is not idempotent (a custom event sent twice is two events) files the records of a
request that may or may not have been processed (a timeout, a connection dropped after sending, a 5xx)
under ``uncertain``, apart from the failed ones: they must not be sent again unasked. Why sending stopped
early is ``aborted`` (the message) and ``abort_reason`` (an ``errors.AbortReason``: what the exit code and
the report decide by). Every error answer is handed to the caller as an ``ApiErrorEvent`` (a line of
``errors.jsonl``). Nothing here sends a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from importer.delivery.problem_details import describe_problem
from importer.delivery.timeline import Timeline
from importer.errors import EXIT_ABORTED, EXIT_OK, EXIT_ROWS_NOT_IMPORTED, AbortReason
from importer.frame import ApiReason, Reason
from importer.records.chunking import Chunk

SHORT = 300  # characters of an error answer's description where its body is not kept


@dataclass(frozen=True)
class Aborted:
    """Why sending stops early: the reason code decides by, and the message a person reads."""

    reason: AbortReason
    message: str


CTRL_C = Aborted(AbortReason.INTERRUPTED, f"{AbortReason.INTERRUPTED.words} (Ctrl-C)")  # a KeyboardInterrupt


@dataclass
class Answer:
    """The final answer to one request, after its retries."""

    status: int | None  # None: no answer (network error, timeout, stopped)
    problem: Any  # the parsed error body; for a successful GET, the parsed body
    ambiguous: bool  # an attempt may have been processed (retry_policy.may_have_reached)
    stopped: bool = False  # the run stopped before this request could be (re)tried
    unexpected: str | None = None  # a 2xx that is not the documented answer: why (its records fail)
    uncertain: bool = False  # not retried, and it may have been processed (a policy that is not idempotent)

    @property
    def accepted(self) -> bool:
        """The documented success answer: the request's records are accepted."""
        return self.status is not None and 200 <= self.status < 300 and self.unexpected is None


@dataclass
class ApiErrorEvent:
    """One error answer of the API (or a network error), for errors.jsonl."""

    chunk: int
    status: int | None
    response: Any
    row_ids: list[int]
    records: list[str]
    attempt: int = 1

    final: bool = True  # no further attempt of these records follows: their answer is kept whole

    def entry(self, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The line of errors.jsonl (``rows``: where the request's rows are in the input). The answer's body
        (read up to 64 KB) is written once per record, with its final answer; an attempt retried or split
        after it gives its one-line description instead (``"final": false``)."""
        return {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "chunk": self.chunk,
            "status": self.status,
            "attempt": self.attempt,
            **({} if self.final else {"final": False}),
            "response": self.response if self.final else describe_problem(self.status, self.response)[:SHORT],
            **({"rows": rows} if rows is not None else {}),
            "records": [orjson.loads(r) for r in self.records],
        }


@dataclass
class Tally:
    """What happened to the records of one chunk, for its event."""

    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    uncertain: int = 0  # (a policy that is not idempotent only)

    def counts(self) -> dict[str, Any]:
        """The chunk event's counts (``uncertain`` only when there are some)."""
        counts: dict[str, Any] = {"accepted": self.accepted, "rejected": self.rejected, "failed": self.failed}
        return counts | {"uncertain": self.uncertain} if self.uncertain else counts


@dataclass
class Outcomes:
    """Where every sent record ended up, and what it took. Accepted records are counted per request
    (no Python object per record); rejected and failed ones are listed with their rows and reasons."""

    accepted_records: int = 0
    accepted_rows: int = 0
    rejected: list[ApiReason] = field(default_factory=list)  # rows, field, error, substatus, type
    failed: list[tuple[list[int], str]] = field(default_factory=list)  # rows, error
    uncertain: list[tuple[list[int], str]] = field(default_factory=list)  # rows, error: sent, may be stored
    not_found: list[tuple[list[int], str]] = field(default_factory=list)  # rows, reason: a 404 filed apart
    requests: int = 0
    answers: int = 0  # HTTP answers of any status
    records_sent: int = 0
    rows_sent: int = 0  # input rows of the records sent
    retries: int = 0
    throttled: int = 0
    verified: int = 0
    aborted: str | None = None  # why sending stopped early, in words
    abort_reason: AbortReason | None = None  # and as a code
    # chunks taken but not fully answered, with their parts answered so far; chunks never taken
    unfinished: dict[int, tuple[Chunk, list[Chunk]]] = field(default_factory=dict)
    unsent: list[Chunk] = field(default_factory=list)
    timeline: Timeline = field(default_factory=Timeline)  # the counts above per second, for the report

    def unanswered(self, after: str) -> list[Reason]:
        """Failed reasons (rows, field, error) for the records without an answer, after an abort or Ctrl-C:
        "not sent", or "sent, but no answer came …: ``after``" for those of a request in flight."""
        return self.not_sent() + self.in_flight(after)

    def not_sent(self) -> list[Reason]:
        """Failed reasons of the records never sent (their chunks were not taken, or handed back)."""
        stopped = self.aborted or "the run stopped"
        return [(rids, "", f"not sent: {stopped}") for chunk in self.unsent for rids in chunk.row_ids]

    def in_flight(self, after: str) -> list[Reason]:
        """Reasons of the records of requests in flight when the run stopped: sent, never answered."""
        stopped = self.aborted or "the run stopped"
        reasons: list[Reason] = []
        in_flight = f"sent, but no answer came before the run stopped ({stopped}): {after}"
        for chunk, answered in self.unfinished.values():
            done = set(pl.concat([part.rids for part in answered]).to_list()) if answered else set()
            reasons += [(rids, "", in_flight) for rids in chunk.row_ids if rids[0] not in done]
        return reasons

    def abort(self, why: Aborted) -> None:
        """Sending stops early, for this reason."""
        self.aborted, self.abort_reason = why.message, why.reason

    @property
    def key_refused(self) -> bool:
        """The API refused the key (401/403): the run was aborted."""
        return self.abort_reason is AbortReason.KEY_REFUSED

    @property
    def stopped_by_api(self) -> bool:
        """The run stopped for what the API answered (``AbortReason.by_api``): the key refused, a wait longer
        than allowed, answers that are not the documented ones."""
        return self.abort_reason is not None and self.abort_reason.by_api

    def exit_code(self, rows_left_out: bool) -> int:
        """3 when the run stopped for what the API answered, else 1 when rows were left out
        (``rows_left_out``), else 0."""
        if self.stopped_by_api:
            return EXIT_ABORTED
        return EXIT_ROWS_NOT_IMPORTED if rows_left_out else EXIT_OK
