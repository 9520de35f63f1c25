"""``undo RUN_ID``: delete the orders an import run created, and list what cannot be undone.

The journal keeps, per run, every key the API accepted and whether it was *new* then (``run_records``):
no earlier run on this state file had it accepted, and the run's mode could create it (``Add``,
``AddOrReplace``; ``Replace`` only changes orders that exist). ``undo`` deletes those orders and no
other: an order any earlier run got accepted existed before the run and is kept, whatever the run did
to it (the API keeps no earlier version to restore). The deletes go through the same engine and checks
as ``delete-orders`` (one ``DELETE /orders/{id}`` each, retries, 404 counted as done), after the count
is confirmed, with a report of their own whose summary says which run was undone.

Customers cannot be undone: the API has no delete for them. Undoing a customers run deletes nothing,
exits 1 and writes the keys the run got accepted to ``not_undoable.csv`` in its report.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import polars as pl

from importer.errors import UsageError
from importer.inputs.locations import local_copies
from importer.jobs.journal import Journal, target_of
from importer.jobs.order_operations import DELETE, Confirm, run_operation
from importer.jobs.results import RunResult, Warn
from importer.report.files import Report, new_run_id
from importer.report.summary import OperationSummary, report_file, run_head
from importer.settings import ApiSettings, RunOptions

UNDO = replace(DELETE, command="undo")
NOT_UNDOABLE = "not_undoable.csv"


def undo_run(run_id: str, api: ApiSettings, run: RunOptions, warn: Warn, confirm: Confirm | None = None) -> RunResult:
    """Delete the orders run ``run_id`` created (``confirm(count)`` first, when given)."""
    if not run.state.exists():
        raise UsageError(f"There is no journal at {run.state}: no run can be undone.",
                         "Give the --state file the run was recorded in.")
    journal = Journal(run.state)
    try:
        with journal.lock():
            found = journal.run(run_id)
            if found is None:
                raise UsageError(f"The journal {run.state} has no run {run_id}.", "ecdp-import runs lists the runs.")
            if found["target"] != target_of(api):
                raise UsageError(f"Run {run_id} sent to another business unit (API URL or key) than this one.",
                                 "Undo it with the API URL and key (or profile) it was run with.")
            if found["command"] == "customers":
                return _customers(run_id, journal, api, run, warn)
            if found["command"] != "orders":
                raise UsageError(f"Run {run_id} is a {found['command']} run: only imports can be undone.",
                                 "Undo an orders run (or see which customers a customers run sent).")
            created = journal.created(run_id, "orders")
            kept = len(journal.sent_keys(run_id, "orders")) - len(created)
    finally:
        journal.close()
    if kept:
        warn(f"{kept} order{'s' if kept != 1 else ''} of run {run_id} existed before it (an earlier run had them "
             "accepted, or the run only replaced them): kept.")
    if not created:
        return _nothing(run_id, api, run, kept)
    with local_copies([pl.DataFrame({"id": created})], label=f"orders created by run {run_id}") as paths:
        result = run_operation(UNDO, paths, api, run, warn, confirm)
    return _with(result, run_id, kept)


def _customers(run_id: str, journal: Journal, api: ApiSettings, run: RunOptions, warn: Warn) -> RunResult:
    """A customers run: nothing is deleted; the keys it sent are listed."""
    keys = journal.sent_keys(run_id, "customers")
    warn(f"Customers cannot be undone: the API has no delete for them. The {len(keys)} customer"
         f"{'s' if len(keys) != 1 else ''} run {run_id} sent are listed in {NOT_UNDOABLE}.")
    return _nothing(run_id, api, run, customers=keys)


def _nothing(run_id: str, api: ApiSettings, run: RunOptions, kept: int = 0,
             customers: list[str] | None = None) -> RunResult:
    """The report of an undo that deletes nothing: no order the run created, or a customers run (its
    ``customers`` listed in not_undoable.csv, exit 1 when there are any)."""
    started_at, clock = datetime.now(UTC), time.monotonic()
    undo_id = new_run_id(started_at)
    report = Report(run.report_dir or Path("reports") / undo_id)
    listed, count = None, len(customers or [])
    if customers is not None:
        listed = report.path(NOT_UNDOABLE)
        pl.DataFrame({"key": customers}, schema={"key": pl.String}).write_csv(listed)
        listed.chmod(0o600)
    summary = OperationSummary(**run_head("undo", undo_id, [], api.url, started_at, clock, report.dir),
                               exit_code=1 if count else 0, rows_read=count, done="deleted", undo_of=run_id,
                               records_kept=kept, not_undoable=count, not_undoable_file=report_file(listed),
                               warnings=[f"customers cannot be undone: {count} listed in {NOT_UNDOABLE}"]
                               if customers is not None else [])
    report.summary(summary.to_dict())
    report.close()
    return RunResult(summary=summary, report_dir=report.dir)


def _with(result: RunResult, run_id: str, kept: int) -> RunResult:
    """The delete's result as the undo of ``run_id``, summary.json written again."""
    assert isinstance(result.summary, OperationSummary)
    summary = replace(result.summary, undo_of=run_id, records_kept=kept)
    path = result.report_dir / "summary.json"
    path.write_bytes(orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    return RunResult(summary=summary, report_dir=result.report_dir)
