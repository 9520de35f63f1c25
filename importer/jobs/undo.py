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
from importer.jobs.order_operations import OPERATIONS, Confirm, OperationSpec, run_operation
from importer.jobs.results import RunResult, Warn
from importer.report.files import Report, new_run_id
from importer.report.summary import OperationSummary, report_file, run_head
from importer.resources import RESOURCES, Resource, Undo, find
from importer.settings import ApiSettings, RunOptions

NOT_UNDOABLE = "not_undoable.csv"


def undo_run(run_id: str, api: ApiSettings, run: RunOptions, warn: Warn, confirm: Confirm | None = None) -> RunResult:
    """Delete the orders run ``run_id`` created (``confirm(count)`` first, when given)."""
    if not run.state.exists():
        raise UsageError(
            f"There is no journal at {run.state}: no run can be undone.",
            "Give the --state file the run was recorded in.",
        )
    journal = Journal(run.state)
    try:
        with journal.lock():
            found = journal.run(run_id)
            if found is None:
                raise UsageError(f"The journal {run.state} has no run {run_id}.", "ecdp-import runs lists the runs.")
            if found["target"] != target_of(api):
                raise UsageError(
                    f"Run {run_id} sent to another business unit (API URL or key) than this one.",
                    "Undo it with the API URL and key (or profile) it was run with.",
                )
            declared = find(found["command"])
            if declared is None or declared.journal_kind is None or declared.undo is Undo.NOT_AT_ALL:
                undoable = " or ".join(r.command for r in RESOURCES if r.undo is Undo.DELETE_BY_ID)
                raise UsageError(
                    f"Run {run_id} is a {found['command']} run: only imports can be undone.",
                    f"Undo an {undoable} run (or see which records a run that cannot be undone sent).",
                )
            if declared.undo is Undo.LIST_ONLY:
                return _listed_only(declared, run_id, journal, api, run, warn)
            created = journal.created(run_id, declared.journal_kind)
            kept = len(journal.sent_keys(run_id, declared.journal_kind)) - len(created)
    finally:
        journal.close()
    if kept:
        warn(
            f"{declared.naming.count(kept)} of run {run_id} existed before it (an earlier run had them "
            "accepted, or the run only replaced them): kept."
        )
    if not created:
        return _nothing(run_id, api, run, kept)
    deleting = replace(_operation(declared.undone_by), command="undo")
    label = f"{declared.naming.plural} created by run {run_id}"
    with local_copies([pl.DataFrame({"id": created})], label=label) as paths:
        result = run_operation(deleting, paths, api, run, warn, confirm)
    return _with(result, run_id, kept)


def _operation(command: str | None) -> OperationSpec:
    """The bulk operation that deletes a record by its key (``Resource.undone_by``)."""
    found = next((spec for spec in OPERATIONS if spec.command == command), None)
    if found is None:
        raise TypeError(f"no bulk operation {command!r} deletes records")
    return found


def _listed_only(
    declared: Resource, run_id: str, journal: Journal, api: ApiSettings, run: RunOptions, warn: Warn
) -> RunResult:
    """A run of a resource the API cannot delete (customers): nothing is deleted; the keys it sent are listed."""
    keys = journal.sent_keys(run_id, declared.journal_kind or declared.name)
    warn(
        f"{declared.naming.plural.capitalize()} cannot be undone: the API has no delete for them. The "
        f"{declared.naming.count(len(keys))} run {run_id} sent are listed in {NOT_UNDOABLE}."
    )
    return _nothing(run_id, api, run, keys=keys, noun=declared.naming.plural)


def _nothing(
    run_id: str, api: ApiSettings, run: RunOptions, kept: int = 0, keys: list[str] | None = None, noun: str = ""
) -> RunResult:
    """The report of an undo that deletes nothing: no order the run created, or a run of ``noun`` the API cannot
    delete (customers: its ``keys`` listed in not_undoable.csv, exit 1 when there are any)."""
    started_at, clock = datetime.now(UTC), time.monotonic()
    undo_id = new_run_id(started_at)
    report = Report(run.report_dir or Path("reports") / undo_id)
    listed, count = None, len(keys or [])
    if keys is not None:
        listed = report.path(NOT_UNDOABLE)
        pl.DataFrame({"key": keys}, schema={"key": pl.String}).write_csv(listed)
        listed.chmod(0o600)
    summary = OperationSummary(
        **run_head("undo", undo_id, [], api.url, started_at, clock, report.dir),
        exit_code=1 if count else 0,
        rows_read=count,
        done="deleted",
        undo_of=run_id,
        records_kept=kept,
        not_undoable=count,
        not_undoable_file=report_file(listed),
        warnings=[f"{noun} cannot be undone: {count} listed in {NOT_UNDOABLE}"] if keys is not None else [],
    )
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
