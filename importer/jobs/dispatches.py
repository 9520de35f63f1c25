"""The journal's part of at-most-once sending (custom events): what was sent and not yet answered.

A custom event is not idempotent: sent twice, it may message a customer twice. So the run journal
(``importer.jobs.journal``, the same SQLite file) records each event before its request leaves and settles
it when its answer came:

* ``dispatched`` — per target, kind and key: the run that handed the record to the network, until its
  answer is journaled. ``dispatch`` writes a chunk's records (one transaction) before the chunk's first
  request; ``accept`` moves acknowledged ones to ``records`` (as ``Journal.accepted`` does, in the same
  transaction as their ``dispatched`` rows go); ``settle`` drops those that certainly are not stored
  (refused, or never sent). What is left after a run is *uncertain*: in flight at a crash, or answered
  by a timeout, a dropped connection or a 5xx, so perhaps stored.

An event's kind is ``events:<hash of the inputs>`` and its key its row's place in them (``file:row``): the
key means something only for the same inputs, which is what ``--resume`` requires. The run a ``--resume``
continues is the journal's ``resume_point`` (the latest run on these inputs and its resumes), finished or not:
a finished run's events are all answered, and none is sent again; ``uncertain`` the keys that chain left
dispatched.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl
from tqdm import tqdm

from importer.delivery.at_most_once import AtMostOnce, AtMostOnceSender
from importer.delivery.event_log import EventLog
from importer.delivery.outcomes import ApiErrorEvent
from importer.errors import LocalFault, UsageError
from importer.frame import FINGERPRINT_COL, KEY_COL
from importer.inputs.batches import Inputs
from importer.jobs.drift import Series
from importer.jobs.journal import RECORD_ACCEPTED, Journal, journal_fault
from importer.jobs.stops import Watch
from importer.records.chunking import Chunk
from importer.settings import ApiSettings, RunOptions

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dispatched (
    target TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, run_id TEXT NOT NULL, dispatched_at TEXT NOT NULL,
    PRIMARY KEY (target, kind, key)
) WITHOUT ROWID;
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def _journaled(journal: Journal) -> Iterator[sqlite3.Connection]:
    """The journal's connection; a ``sqlite3`` or ``OSError`` failure is one ``LocalFault`` naming the file."""
    try:
        yield journal.db
    except (sqlite3.Error, OSError) as exc:
        raise journal_fault(exc, journal.path) from None


class Dispatches:
    """The dispatched records of one run of one kind, in ``journal`` (which this uses, never closes)."""

    def __init__(self, journal: Journal, run_id: str, target: str, kind: str) -> None:
        self.journal, self.run_id, self.target, self.kind = journal, run_id, target, kind
        with _journaled(journal) as db:
            db.executescript(_SCHEMA)

    def dispatch(self, keys: Sequence[str]) -> None:
        """These records' requests are about to leave (one transaction; a resent uncertain one is now this run's)."""
        now = _now()
        with _journaled(self.journal) as db, db:
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR REPLACE INTO dispatched VALUES (?, ?, ?, ?, ?)",
                [(self.target, self.kind, key, self.run_id, now) for key in keys],
            )

    def accept(self, keys: Sequence[tuple[str, str]]) -> None:
        """(key, fingerprint) pairs the API acknowledged: in ``records``, no longer dispatched (one transaction)."""
        now = _now()
        with _journaled(self.journal) as db, db:
            db.execute("BEGIN")
            db.executemany(RECORD_ACCEPTED, [(self.target, self.kind, key, fp, self.run_id, now) for key, fp in keys])
            db.executemany(
                "DELETE FROM dispatched WHERE target = ? AND kind = ? AND key = ?",
                [(self.target, self.kind, key) for key, _ in keys],
            )

    def settle(self, keys: Sequence[str]) -> None:
        """These records certainly are not stored (refused, or never sent): a later run may send them."""
        with _journaled(self.journal) as db, db:
            db.execute("BEGIN")
            db.executemany(
                "DELETE FROM dispatched WHERE target = ? AND kind = ? AND key = ?",
                [(self.target, self.kind, key) for key in keys],
            )

    def sender(
        self,
        api: ApiSettings,
        path: str,
        watch: Watch,
        on_error: Callable[[ApiErrorEvent], None],
        resource: AtMostOnce,
        *,
        log: EventLog,
        progress: tqdm[Any] | None,
        interrupts: bool,
        pace: float | None,
    ) -> AtMostOnceSender:
        """The run's sender, its records journaled as dispatched, accepted and settled (a fault writing the
        journal stops the sending, ``watch``; records not journaled as dispatched are never sent)."""

        def on_dispatch(chunk: Chunk) -> bool:
            try:
                self.dispatch(chunk.frame.get_column(KEY_COL).to_list())
            except LocalFault as fault:
                watch.note(fault)
                return False
            return True

        def on_accepted(chunk: Chunk) -> None:
            frame = chunk.frame
            self.accept(
                list(zip(frame.get_column(KEY_COL).to_list(), frame.get_column(FINGERPRINT_COL).to_list(), strict=True))
            )

        def on_settled(chunk: Chunk) -> None:
            self.settle(chunk.frame.get_column(KEY_COL).to_list())

        return AtMostOnceSender(
            api,
            path,
            on_error,
            on_dispatch=on_dispatch,
            on_settled=watch.guarded(on_settled),
            on_accepted=watch.guarded(on_accepted),
            stop_on=resource.stop_on,
            log=log,
            progress=progress,
            interrupts=interrupts,
            pace=pace,
        )

    def uncertain(self, run_ids: Sequence[str]) -> pl.DataFrame:
        """The keys (``_key``) that ``run_ids`` dispatched and never settled, with the run (``run_id``)."""
        with _journaled(self.journal) as db:
            rows = db.execute(
                f"SELECT key, run_id FROM dispatched WHERE target = ? AND kind = ? AND run_id IN"
                f" ({', '.join('?' * len(run_ids))})",
                (self.target, self.kind, *run_ids),
            ).fetchall()
        return pl.DataFrame(rows, schema={KEY_COL: pl.String, "run_id": pl.String}, orient="row")


def journal_start(  # noqa: PLR0913 (the run's journal entry: Journal.begin_run and the run's dispatches)
    journal: Journal,
    command: str,
    kind: str,
    inputs: Inputs,
    run: RunOptions,
    run_id: str,
    target: str,
    options: dict[str, Any],
    series: Series,
    warn: Callable[[str], None],
    resource: AtMostOnce,
) -> tuple[list[tuple[str, pl.DataFrame]], Dispatches, pl.DataFrame | None]:
    """Record the run in the journal; what it need not send (``--resume``: what the run resumed got accepted),
    its ``Dispatches``, and the keys whose sending the run resumed left uncertain (None: none, or they are
    sent again: ``resend_uncertain``). The kind's records are those of these inputs (``kind:<hash>``)."""
    if run.changed_only:
        raise UsageError(
            f"--changed-only does not apply to {command}: they have no key of their own, so nothing "
            "says an event is one the platform already has.",
            "Use --resume to continue a run.",
        )
    inputs_hash, resume = journal.begin_run(
        run_id, command, target, inputs, options, (series.id, series.name), resume=run.resume, finished_too=True
    )
    dispatches = Dispatches(journal, run_id, target, f"{kind}:{inputs_hash[:16]}")
    if run.resume and resume is None:
        warn("Nothing to resume: no earlier run on these inputs; sending everything.")
    known: list[tuple[str, pl.DataFrame]] = []
    uncertain = None
    if resume is not None:
        known.append(("records_already_accepted", journal.known(target, dispatches.kind, resume.run_ids)))
        if not resource.resend_uncertain:
            uncertain = dispatches.uncertain(resume.run_ids)
    return known, dispatches, uncertain
