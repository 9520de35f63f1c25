"""Run an import end to end: read → prepare → encode → send → report, and account for every row.

This is the library API the CLI calls: ``import_customers`` and ``import_orders`` return a ``RunResult``
whose summary is also written to the report directory; both are ``run_import`` with a ``Resource``. Every input row ends in exactly
one of three counts — accepted, rejected (validation or API, in ``rejected.csv``) or failed (valid but
not in the platform, in ``failed.csv``) — so ``rows_read = rows_accepted + rows_rejected + rows_failed``
always holds; rows the sender never got an answer for (abort, Ctrl-C) are counted as failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from importer import budget, customers, encode, html_report, orders
from importer.errors import EXIT_ABORTED, EXIT_OK, EXIT_ROWS_NOT_IMPORTED, UsageError
from importer.read import FILE_COL, RID_COL, ROW_COL, ReadOptions, read_inputs
from importer.report import Report, new_run_id
from importer.runfacts import recording, run_facts
from importer.events import EventLog
from importer.journal import FINGERPRINT_COL, Journal, describe_inputs, fingerprints, target_of
from importer.mapping import apply_mapping, load_mapping, preset_path, unmapped_columns
from importer.send import ABORT_KEY, ApiErrorEvent, Lookup, Outcomes, Sender, progress_bar
from importer.orders import OrderOptions
from importer.settings import ApiSettings, CustomerOptions, RunOptions, public_url
from importer.validate import ERROR_COL, FIELD_COL, KEY_COL, REASONS_SCHEMA, STAGE_COL, Prepared

Warn = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default warning sink of the library API: callers that want warnings pass their own."""


@dataclass(frozen=True)
class RunResult:
    """What a run did: the summary (as written to summary.json) and where the report is."""

    summary: dict[str, Any]
    report_dir: Path

    @property
    def exit_code(self) -> int:
        return int(self.summary["exit_code"])


@dataclass(frozen=True)
class Resource:
    """What differs between imports: the endpoint, the request envelope and how rows become records."""

    command: str
    kind: str  # what a record key means, for the journal: "orders", or "customers:<match field>"
    path: str
    envelope: dict[str, str]
    prepare: Callable[[pl.DataFrame], Prepared]
    options: dict[str, Any]  # as shown in the summary
    lookup: Lookup | None = None  # GET path of a sent record, to verify ambiguous "already exists"


def import_customers(
    paths: Sequence[Path], api: ApiSettings, options: CustomerOptions, run: RunOptions, warn: Warn = _quiet
) -> RunResult:
    """Import customers from ``paths``; raises ImporterError (exit 2) before sending if it cannot start."""
    _ = options.match_field  # refuses GUID before any file is read
    resource = Resource(
        command="customers",
        kind=f"customers:{options.match_field}",
        path="/customers",
        envelope={"mode": options.mode, "matchBy": options.match_by},
        prepare=lambda frame: customers.prepare(frame, options),
        options={"mode": options.mode, "match_by": options.match_by},
        lookup=lambda record: customers.lookup_path(options.match_field, record),
    )
    return run_import(resource, paths, api, run, warn)


def import_orders(
    paths: Sequence[Path], api: ApiSettings, options: OrderOptions, run: RunOptions, warn: Warn = _quiet
) -> RunResult:
    """Import orders from ``paths`` (order lines, orders and items files, or nested Parquet)."""
    resource = Resource(
        command="orders",
        kind="orders",
        path="/orders",
        envelope={"mode": options.mode},
        prepare=lambda frame: orders.prepare(frame, options),
        options={"mode": options.mode, "customer_match": options.customer_match},
        lookup=orders.lookup_path,
    )
    return run_import(resource, paths, api, run, warn)


def run_import(
    resource: Resource, paths: Sequence[Path], api: ApiSettings, run: RunOptions, warn: Warn = _quiet
) -> RunResult:
    """Read, prepare, send (or write, in a dry run) and report; the summary is in summary.json too.

    Unless it is a dry run, the run holds the lock of its state file (``run.state``) from start to end,
    and is recorded in it: what the API accepted, so that ``--resume`` and ``--changed-only`` can skip it.
    """
    if run.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1.", "The default is 100 records per request.")
    if not run.dry_run and api.key is None:
        raise UsageError("No API key.", "Set ECDP_API_KEY, pass --api-key-file, or use --dry-run.")
    warn = recording(warn)  # the summary lists the warnings: under cron nobody sees them printed
    if run.dry_run:
        return _run(resource, paths, api, run, warn, None)
    journal = Journal(run.state)
    try:
        with journal.lock() as took_over:
            if took_over:
                warn(f"State file {run.state}: {took_over}.")
            return _run(resource, paths, api, run, warn, journal)
    finally:
        journal.close()


def _run(
    resource: Resource, paths: Sequence[Path], api: ApiSettings, run: RunOptions, warn: Warn, journal: Journal | None
) -> RunResult:
    started_at, clock = datetime.now(UTC), time.monotonic()
    inputs_read = _inputs(resource, paths, run, warn)
    frame = inputs_read.frame
    prepared = resource.prepare(inputs_read.mapped)
    if prepared.ignored:
        warn(f"Ignored columns (not {resource.command} fields): " + ", ".join(prepared.ignored) + ".")
    run_id = new_run_id(started_at)
    records = prepared.records
    to_send, skipped = records, {"records_unchanged": 0, "records_already_accepted": 0}
    settled: list[list[int]] = []  # rows counted as accepted without an answer in this run
    target = target_of(api)
    if journal is not None:  # only what is journaled needs a fingerprint
        to_send = records = records.with_columns(
            pl.Series(FINGERPRINT_COL, fingerprints(records.get_column(encode.JSON_COL).to_list()), dtype=pl.String)
        )
        mapping = [inputs_read.mapping] if inputs_read.mapping else []  # a changed mapping is other inputs
        inputs, inputs_hash = describe_inputs([*inputs_read.files, *mapping])
        resume = journal.resume_point(resource.command, target, inputs_hash) if run.resume else None
        if run.resume and resume is None:
            warn("Nothing to resume: no earlier run on these inputs left records unsent; sending everything.")
        known = [("records_already_accepted", resume.run_ids)] if resume else []
        known += [("records_unchanged", None)] if run.changed_only else []
        for count, run_ids in known:
            held = to_send.join(journal.known(target, resource.kind, run_ids), on=[KEY_COL, FINGERPRINT_COL], how="semi")
            skipped[count] = held.height
            settled += _row_lists(held)
            to_send = to_send.join(held.select(RID_COL), on=RID_COL, how="anti")
        journal.start_run(run_id, resource.command, target, inputs, inputs_hash,
                          {**resource.options, "chunk_size": run.chunk_size}, resume.root if resume else None)
    report = Report(run.report_dir or Path("reports") / run_id)
    chunks = list(encode.chunks(to_send, run.chunk_size))
    verdict = budget.judge(run.max_rejects, frame.height, prepared.reasons.get_column(RID_COL).n_unique(), run.dry_run)
    payloads = None
    try:
        if verdict.stopped:  # over the error budget: nothing is sent, valid rows are reported as not sent
            outcomes = Outcomes(aborted=verdict.stopped)
        elif run.dry_run:  # rows that passed every local check count as accepted; nothing is sent
            payloads = report.payloads([c.body(resource.envelope) for c in chunks])
            settled += [rids for c in chunks for rids in c.row_ids]
            outcomes, chunks = Outcomes(), []
        else:
            assert journal is not None  # run_import opens one for every run that sends
            keys = list(zip(to_send.get_column(KEY_COL).to_list(), to_send.get_column(FINGERPRINT_COL).to_list(),
                            strict=True))

            def on_accepted(positions: list[int], journal: Journal = journal) -> None:
                journal.accepted(run_id, target, resource.kind, [keys[p] for p in positions])

            outcomes = _send(chunks, api, resource, report, frame, run, on_accepted)
    finally:
        report.close()
    summary = _account(frame, prepared.reasons, chunks, outcomes, report, settled)
    summary.update(
        run_id=run_id,
        command=resource.command,
        files=[str(p) for p in inputs_read.files],
        mapping=str(run.mapping) if run.mapping else None,
        preset=run.preset,
        api_url=public_url(api.url),
        **resource.options,
        **prepared.notes,
        **skipped,
        records_built=records.height,
        dry_run=run.dry_run,
        chunk_size=run.chunk_size,
        started_at=started_at.isoformat(timespec="seconds"),
        duration_s=round(time.monotonic() - clock, 3),
        report_dir=str(report.dir),
        payloads_file=str(payloads) if payloads else None,
        ignored_columns=prepared.ignored,
        **verdict.summary_fields(),
        **run_facts(api, run, outcomes, warn),
    )
    report.summary(summary)
    if journal is not None:
        journal.finish_run(run_id, summary, report.dir)
    html_report.write(report.dir)
    return RunResult(summary=summary, report_dir=report.dir)


@dataclass(frozen=True)
class _Inputs:
    """The rows as read (what the report shows), the rows in the importer's columns (what is prepared:
    the same frame unless a mapping joined and converted sources), the data files, and the mapping."""

    frame: pl.DataFrame
    mapped: pl.DataFrame
    files: list[Path]
    mapping: Path | None = None


def _inputs(resource: Resource, paths: Sequence[Path], run: RunOptions, warn: Warn) -> _Inputs:
    if run.mapping is not None and run.preset is not None:
        raise UsageError("--mapping and --preset cannot be combined.", "Copy the preset's file and extend it.")
    mapping_path = run.mapping or (preset_path(run.preset, resource.command) if run.preset else None)
    read = ReadOptions(encoding=run.encoding, delimiter=run.delimiter)
    if mapping_path is None:
        frame = read_inputs(paths, read)
        return _Inputs(frame, frame, list(paths))
    mapping = load_mapping(mapping_path)
    if mapping.kind != resource.command:
        raise UsageError(f"The mapping {mapping_path} is for {mapping.kind}, not {resource.command}.",
                         f"Use it with: ecdp-import {mapping.kind} --mapping {mapping_path}")
    mapped, original = apply_mapping(mapping, paths, read)
    unmapped = unmapped_columns(mapping, original)
    if unmapped:
        warn("Columns the mapping neither uses nor ignores: " + ", ".join(unmapped) + ".")
    sources = [s.path for s in mapping.sources if s.path is not None]
    return _Inputs(original, mapped, [*(paths or sources[:1]), *sources[1:]], mapping_path)


def _row_lists(records: pl.DataFrame) -> list[list[int]]:
    """The input rows of each record (an order has several)."""
    rid = records.get_column(RID_COL)
    return rid.to_list() if isinstance(rid.dtype, pl.List) else [[r] for r in rid.to_list()]


def _send(
    chunks: list[encode.Chunk], api: ApiSettings, resource: Resource, report: Report, frame: pl.DataFrame,
    run: RunOptions, on_accepted: Callable[[list[int]], None],
) -> Outcomes:
    files, rows = frame.get_column(FILE_COL), frame.get_column(ROW_COL)

    def on_error(event: ApiErrorEvent) -> None:
        report.api_error(
            {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "chunk": event.chunk,
                "status": event.status,
                "attempt": event.attempt,
                "response": event.response,
                "rows": [{"file": files[rid], "row": rows[rid]} for rid in event.row_ids],
                "records": [orjson.loads(r) for r in event.records],
            }
        )

    bar = progress_bar(sum(len(c.records) for c in chunks), run.progress)
    sender = Sender(api, resource.path, resource.envelope, on_error, lookup=resource.lookup,
                    on_accepted=on_accepted, log=EventLog(run.log_format), progress=bar)
    try:
        return asyncio.run(sender.run(chunks))
    except KeyboardInterrupt:  # only where the sender cannot handle SIGINT itself (not the main thread)
        sender.outcomes.aborted = "interrupted (Ctrl-C)"
        return sender.outcomes
    finally:
        if bar is not None:
            bar.close()


def _account(
    frame: pl.DataFrame,
    validation: pl.DataFrame,
    chunks: list[encode.Chunk],
    outcomes: Outcomes,
    report: Report,
    settled: list[list[int]],
) -> dict[str, Any]:
    """Counts, rejected.csv and failed.csv from the validation reasons, the send outcomes, and the rows
    settled without an answer (dry run, resume, unchanged). Each input row is in at most one record, so
    row counts are sums of the records' row lists."""
    api_rejected = _reason_frame([(rids, f, e) for rids, f, e in outcomes.rejected])
    failed_reasons = [(rids, "", e) for rids, e in outcomes.failed]
    sent = [rids for c in chunks for rids in c.row_ids]
    if len(outcomes.accepted) + len(outcomes.rejected) + len(outcomes.failed) < len(sent):
        failed_reasons += _unanswered(sent, outcomes)  # only after an abort or Ctrl-C
    failed = _reason_frame(failed_reasons)

    rejected = pl.concat(
        [
            validation.with_columns(pl.lit("validation").alias(STAGE_COL)),
            api_rejected.with_columns(pl.lit("api").alias(STAGE_COL)),
        ]
    )
    failed = failed.with_columns(pl.lit("api").alias(STAGE_COL))
    rejected_file = report.rows("rejected.csv", rejected, frame)
    failed_file = report.rows("failed.csv", failed, frame)

    summary: dict[str, Any] = {
        "rows_read": frame.height,
        "rows_accepted": sum(len(rids) for rids in [*outcomes.accepted, *settled]),
        "rows_rejected": rejected.get_column(RID_COL).n_unique(),
        "rows_failed": failed.get_column(RID_COL).n_unique(),
        "records_sent": outcomes.records_sent,
        "records_accepted": len(outcomes.accepted),
        "records_rejected": len(outcomes.rejected),
        "records_failed": len(failed_reasons),
        "requests": outcomes.requests,
        "retries": outcomes.retries,
        "throttled": outcomes.throttled,
        "verified_after_ambiguous": outcomes.verified,
        "api_errors": report.error_count,
        "aborted": outcomes.aborted,
        "rejected_file": str(rejected_file) if rejected_file else None,
        "failed_file": str(failed_file) if failed_file else None,
    }
    if outcomes.aborted and outcomes.aborted.startswith(ABORT_KEY):
        summary["exit_code"] = EXIT_ABORTED
    elif summary["rows_rejected"] or summary["rows_failed"]:
        summary["exit_code"] = EXIT_ROWS_NOT_IMPORTED
    else:
        summary["exit_code"] = EXIT_OK
    return summary


def _unanswered(sent: list[list[int]], outcomes: Outcomes) -> list[tuple[list[int], str, str]]:
    """Failed reasons for sent records that got no answer: sent and unanswered, or never sent."""
    answered = {rid for rids in outcomes.accepted for rid in rids}
    answered |= {rid for rids, _, _ in outcomes.rejected for rid in rids}
    answered |= {rid for rids, _ in outcomes.failed for rid in rids}
    stopped = outcomes.aborted or "the run stopped"
    unsent = f"not sent: {stopped}"
    unanswered = f"sent, but no answer came before the run stopped ({stopped}): it may be stored; importing " \
                 "failed.csv again settles it (safe in the AddOrUpdate and AddOrReplace modes)"
    return [
        (rids, "", unanswered if set(rids) & outcomes.started else unsent)
        for rids in sent
        if not set(rids) <= answered
    ]


def _reason_frame(items: list[tuple[list[int], str, str]]) -> pl.DataFrame:
    """One reasons row per input row of each (row ids, field, error) item."""
    return pl.DataFrame(
        {
            RID_COL: [rids for rids, _, _ in items],
            FIELD_COL: [f for _, f, _ in items],
            ERROR_COL: [e for _, _, e in items],
        },
        schema={RID_COL: pl.List(pl.Int64), FIELD_COL: pl.String, ERROR_COL: pl.String},
    ).explode(RID_COL).cast(REASONS_SCHEMA)
