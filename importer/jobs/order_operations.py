"""Bulk order operations: status updates (PUT /orders/status) and deletes (DELETE /orders/{id}).

``update_order_status`` takes rows of ``id,status``; ``delete_orders`` rows of ``id``. Both read files as
the imports do, validate each row (``schemas.operations``), send one request per order through
``importer.delivery.single`` (the imports' concurrency, retries, rate limiting and abort), and write the same
report as an import. Every input row ends in exactly one count: accepted, rejected (``rejected.csv``,
stage ``validation`` or ``api``), failed (``failed.csv``: import it again to retry) or — deletes only —
not found (``not_found.csv``: the platform holds no such order; not a failure of the run), so
``rows_read = rows_accepted + rows_rejected + rows_failed + rows_not_found`` (a dry run accepts none: its
valid rows are ``rows_would_send``).

Rows repeating an order id with the same status (or, for deletes, at all) are one request: they share
its outcome. Rows giving one order different statuses are all rejected: which one is meant is unknown,
and concurrent requests would apply them in any order. Operations are not recorded in the run journal:
both are idempotent, so running a command again on its ``failed.csv`` settles what failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from importer.delivery.event_log import EventLog, progress_bar
from importer.delivery.outcomes import CTRL_C, ApiErrorEvent, Outcomes
from importer.delivery.sender import run_loop
from importer.delivery.single import Operation, RecordSender
from importer.errors import InputError, UsageError
from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    FILE_COL,
    JSON_COL,
    KEY_COL,
    RID_COL,
    ROW_COL,
    STAGE_COL,
    Reason,
    api_reasons_of,
    is_bookkeeping,
    reasons_of,
)
from importer.inputs.files import ReadOptions, read_inputs
from importer.inputs.set_aside import without_blank_rows
from importer.jobs.results import RunResult, Warn
from importer.records import json_text, normalise
from importer.records.chunking import Chunk, in_chunks
from importer.records.url_paths import path_segment, unroutable_warning
from importer.records.validation import (
    Prepared,
    combine,
    ignored_warning,
    pre_rejected,
    readable,
    schema_reasons,
)
from importer.report import html_page
from importer.report.files import Report, new_run_id
from importer.report.summary import OperationSummary, delivery_counts, recording, report_file, run_head
from importer.resources import Resource
from importer.resources.order_deletions import ORDER_DELETIONS
from importer.resources.order_statuses import ORDER_STATUSES
from importer.settings import ApiSettings, RunOptions
from schemas.operations import order_id_schema, order_status_schema
from schemas.orders import STATUS_ALIASES, STATUSES

ALIASES = {"orderid": "id", "orderstatus": "status"}  # PUT /orders/status's own names are understood too
Confirm = Callable[[int], bool]


@dataclass(frozen=True)
class OperationSpec:
    """One bulk operation: its declaration (``importer.resources``), how its rows become records, its request."""

    declared: Resource
    prepare: Callable[[pl.DataFrame], Prepared]
    operation: Operation
    command: str = ""  # the summary's command: the declaration's, unless given (``undo``)

    def __post_init__(self) -> None:
        if not self.command:
            object.__setattr__(self, "command", self.declared.command)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.declared.columns

    @property
    def done(self) -> str:  # what an accepted record is, for the summary: "updated", "deleted"
        return self.declared.done

    @property
    def id_in_path(self) -> bool:  # the order id is sent in the URL path (else in the body)
        return self.declared.key_in_path


@dataclass(frozen=True)
class _Asked:
    """What an operation's run was asked, and when it started: the summary's head."""

    run_id: str
    paths: Sequence[Path]
    api_url: str
    dry_run: bool
    started_at: datetime
    clock: float  # time.monotonic() at the start


def plan(columns: Sequence[str], wanted: tuple[str, ...], command: str) -> tuple[dict[str, str], list[str]]:
    """(input column -> field, ignored columns); InputError when a wanted column is missing."""
    rename: dict[str, str] = {}
    ignored: list[str] = []
    for column in columns:
        if is_bookkeeping(column):
            continue
        name = ALIASES.get(column.lower(), column.lower())
        if name in wanted and name not in rename.values():
            rename[column] = name
        else:
            ignored.append(column)
    missing = [w for w in wanted if w not in rename.values()]
    if missing:
        raise InputError(
            f"The input has no {missing[0]!r} column, which {command} needs.",
            f"Give it the columns {', '.join(wanted)} (a header line first).",
        )
    return rename, ignored


def prepare_status(frame: pl.DataFrame) -> Prepared:
    """Rows of ``id,status`` -> one ``{"orderId","orderStatus"}`` record per order."""
    rename, ignored = plan(frame.columns, ORDER_STATUSES.columns, ORDER_STATUSES.command)
    rows = _rows(frame, rename).with_columns(normalise.spelling(pl.col("status"), STATUSES, STATUS_ALIASES))
    required = {"id": "is required: the id of the order to update", "status": "is required"}
    valid, invalid = _validated(frame, rows, order_status_schema(), required)
    where = pl.format("{} row {}", pl.col(FILE_COL).str.split("/").list.last(), pl.col(ROW_COL))
    seen = (
        valid.join(frame.select(RID_COL, FILE_COL, ROW_COL), on=RID_COL)
        .group_by("id", "status", maintain_order=True)
        .agg(where.first().alias("_where"))
        .group_by("id", maintain_order=True)
        .agg(pl.format("'{}' ({})", pl.col("status"), pl.col("_where")).str.join(", ").alias("_seen"), pl.len())
        .filter(pl.col("len") > 1)
    )
    conflicts = valid.join(seen, on="id").select(
        RID_COL,
        pl.lit("status").alias(FIELD_COL),
        pl.format("status: order {} is given different statuses: {}", pl.col("id"), pl.col("_seen")).alias(ERROR_COL),
    )
    body = json_text.obj(
        [
            json_text.member("orderId", json_text.text(pl.col("id"))),
            json_text.member("orderStatus", json_text.text(pl.col("status"))),
        ]
    )
    records = _records(valid.join(conflicts.select(RID_COL), on=RID_COL, how="anti"), body, pl.col("status"))
    return Prepared(records, combine([invalid, conflicts]), ignored=ignored)


def prepare_deletes(frame: pl.DataFrame) -> Prepared:
    """Rows of ``id`` -> one ``{"id"}`` record per order."""
    rename, ignored = plan(frame.columns, ORDER_DELETIONS.columns, ORDER_DELETIONS.command)
    required = {"id": "is required: the id of the order to delete"}
    valid, invalid = _validated(frame, _rows(frame, rename), order_id_schema(), required)
    records = _records(valid, json_text.obj([json_text.member("id", json_text.text(pl.col("id")))]))
    return Prepared(records, combine([invalid]), ignored=ignored)


def _rows(frame: pl.DataFrame, rename: dict[str, str]) -> pl.DataFrame:
    return frame.select(RID_COL, *[normalise.blank_to_null(pl.col(s)).alias(t) for s, t in rename.items()])


def _validated(
    frame: pl.DataFrame, rows: pl.DataFrame, schema: Any, required: dict[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    checked = rows.join(readable(frame).select(RID_COL), on=RID_COL, how="semi")
    invalid = pl.concat([pre_rejected(frame), schema_reasons(checked, schema, {}, required)])
    return rows.join(invalid.select(RID_COL).unique(), on=RID_COL, how="anti"), invalid


def _records(rows: pl.DataFrame, body: pl.Expr, *first: pl.Expr) -> pl.DataFrame:
    """One record per order id, in input order; ``_rid`` lists the rows it stands for."""
    return (
        rows.group_by("id", maintain_order=True)
        .agg(pl.col(RID_COL), *[f.first() for f in first])
        .select(RID_COL, body.alias(JSON_COL), pl.col("id").alias(KEY_COL))
    )


STATUS = OperationSpec(
    ORDER_STATUSES,
    prepare_status,
    Operation(
        ORDER_STATUSES.method,
        lambda record: (ORDER_STATUSES.path, orjson.dumps(record)),
        missing="id: the platform holds no order with this id",
        fields={"orderId": "id", "orderStatus": "status"},
    ),
)
DELETE = OperationSpec(
    ORDER_DELETIONS,
    prepare_deletes,
    Operation(
        ORDER_DELETIONS.method,
        lambda record: (ORDER_DELETIONS.path.format(id=path_segment(record["id"])), None),
        not_found_apart=ORDER_DELETIONS.not_found_apart,
        missing="not found: the platform holds no order with this id (never imported, or deleted)",
    ),
)
OPERATIONS = (STATUS, DELETE)


def update_order_status(paths: Sequence[Path], api: ApiSettings, run: RunOptions, warn: Warn) -> RunResult:
    """Set the status of every order in ``paths`` (rows of ``id,status``)."""
    return run_operation(STATUS, paths, api, run, warn)


def delete_orders(
    paths: Sequence[Path], api: ApiSettings, run: RunOptions, warn: Warn, confirm: Confirm | None = None
) -> RunResult:
    """Delete every order in ``paths`` (rows of ``id``); ``confirm(count)`` is asked first unless None."""
    return run_operation(DELETE, paths, api, run, warn, confirm)


def run_operation(
    spec: OperationSpec,
    paths: Sequence[Path],
    api: ApiSettings,
    run: RunOptions,
    warn: Warn,
    confirm: Confirm | None = None,
) -> RunResult:
    """Read, validate, (confirm,) send or write (dry run), and report; the summary is in summary.json too."""
    warn = recording(warn)  # the summary lists the warnings: under cron nobody sees them printed
    if not run.dry_run and api.key is None:
        raise UsageError("No API key.", "Set ECDP_API_KEY, pass --api-key-file, or use --dry-run.")
    started_at, clock = datetime.now(UTC), time.monotonic()
    frame, blank = without_blank_rows(read_inputs(paths, ReadOptions(run.encoding, run.delimiter, run.limits)))
    prepared = spec.prepare(frame)
    if prepared.ignored:
        warn(ignored_warning(", ".join(spec.columns), prepared.ignored))
    records = prepared.records
    if risky := unroutable_warning(records.get_column(KEY_COL), "order id", in_body=not spec.id_in_path):
        warn(risky)
    if confirm is not None and not run.dry_run and records.height and not confirm(records.height):
        raise UsageError(
            f"Nothing was sent: {spec.command} of {records.height} orders was not confirmed.",
            "Answer y, or pass --yes to go ahead without asking (e.g. under cron).",
        )
    run_id = new_run_id(started_at)
    report = Report(run.report_dir or Path("reports") / run_id)
    chunks = list(in_chunks(records, 1))
    sender: RecordSender | None = None
    payloads = None
    try:
        if run.dry_run:
            payloads = report.write_payloads([_request_line(spec.operation, c.records[0]) for c in chunks])
        else:
            sender = _send(spec, chunks, api, report, frame, run)
    finally:
        report.close()
    asked = _Asked(run_id, paths, api.url, run.dry_run, started_at, clock)
    summary = _summary(
        spec,
        frame,
        prepared,
        chunks,
        sender,
        report,
        asked=asked,
        payloads=payloads,
        blank=blank,
        warnings=list(warn.messages),
    )
    report.summary(summary.to_dict())
    if run.report_html:
        html_page.write(report.dir)
    return RunResult(summary=summary, report_dir=report.dir)


def _request_line(operation: Operation, record: str) -> bytes:
    """A dry run's view of one request: method, path and body, as they would be sent."""
    path, body = operation.target(orjson.loads(record))
    return orjson.dumps({"method": operation.method, "path": path, **({"body": orjson.loads(body)} if body else {})})


def _send(
    spec: OperationSpec, chunks: list[Chunk], api: ApiSettings, report: Report, frame: pl.DataFrame, run: RunOptions
) -> RecordSender:
    files, rows = frame.get_column(FILE_COL), frame.get_column(ROW_COL)

    def on_error(event: ApiErrorEvent) -> None:
        report.api_error(event.entry([{"file": files[rid], "row": rows[rid]} for rid in event.row_ids]))

    bar = progress_bar(len(chunks), run.progress)
    sender = RecordSender(
        api, spec.operation, on_error, log=EventLog(run.log_format), progress=bar, interrupts=run.interrupts
    )
    try:
        run_loop(sender.run(chunks))
    except KeyboardInterrupt:  # only where the sender cannot handle SIGINT itself (not the main thread)
        sender.outcomes.abort(CTRL_C)
    finally:
        if bar is not None:
            bar.close()
    return sender


def _summary(
    spec: OperationSpec,
    frame: pl.DataFrame,
    prepared: Prepared,
    chunks: list[Chunk],
    sender: RecordSender | None,
    report: Report,
    *,
    asked: _Asked,
    payloads: Path | None,
    blank: int,
    warnings: list[str],
) -> OperationSummary:
    """The report's files and the run's summary; in a dry run (no sender) every valid row would be sent and
    none is accepted (``blank``: the blank rows left out of ``frame``)."""
    outcomes = sender.outcomes if sender is not None else Outcomes()
    sent = [rids for c in chunks for rids in c.row_ids]
    failed_items: list[Reason] = [(rids, "", e) for rids, e in outcomes.failed]
    failed_items += outcomes.unanswered(f"it may have been applied; running {spec.command} on failed.csv settles it")
    rejected = pl.concat(
        [
            prepared.reasons.with_columns(pl.lit("validation").alias(STAGE_COL)),
            api_reasons_of(outcomes.rejected).with_columns(pl.lit("api").alias(STAGE_COL)),
        ],
        how="diagonal",
    )
    failed = reasons_of(failed_items).with_columns(pl.lit("api").alias(STAGE_COL))
    missing = reasons_of([(rids, "id", e) for rids, e in outcomes.not_found])
    missing = missing.with_columns(pl.lit("api").alias(STAGE_COL))
    files = {
        name: report.rows(name, reasons, frame)
        for name, reasons in (("rejected.csv", rejected), ("failed.csv", failed), ("not_found.csv", missing))
    }
    rows_rejected, rows_failed = rejected.get_column(RID_COL).n_unique(), failed.get_column(RID_COL).n_unique()
    return OperationSummary(
        **run_head(spec.command, asked.run_id, asked.paths, asked.api_url, asked.started_at, asked.clock, report.dir),
        exit_code=outcomes.exit_code(bool(rows_rejected or rows_failed)),
        rows_read=frame.height + blank,
        rows_blank=blank,
        rows_accepted=0 if sender is None else outcomes.accepted_rows,
        rows_would_send=sum(len(rids) for rids in sent) if sender is None else None,
        rows_rejected=rows_rejected,
        rows_failed=rows_failed,
        rows_not_found=missing.get_column(RID_COL).n_unique(),
        rows_valid=frame.height - prepared.reasons.get_column(RID_COL).n_unique(),
        rows_sent=outcomes.rows_sent,
        records_built=prepared.records.height,
        records_sent=outcomes.records_sent,
        records_accepted=outcomes.accepted_records,
        records_rejected=len(outcomes.rejected),
        records_failed=len(failed_items),
        records_not_found=len(outcomes.not_found),
        **delivery_counts(outcomes, report.error_count),
        rejected_file=report_file(files["rejected.csv"]),
        failed_file=report_file(files["failed.csv"]),
        not_found_file=report_file(files["not_found.csv"]),
        ignored_columns=prepared.ignored,
        dry_run=asked.dry_run,
        payloads_file=report_file(payloads),
        done=spec.done,
        warnings=warnings,
    )
