"""Run an import end to end: read → prepare → encode → send → report, and account for every row.

This is the library API the CLI calls: ``import_customers`` and ``import_orders`` return a ``RunResult``
whose summary is also written to the report directory; both are ``import_resource`` with their declaration
(``importer.resources``), which ``run_import`` runs bound to the run's options (a ``Binding``).
Every input row ends in exactly one count — accepted, rejected (validation or API, in ``rejected.csv``),
failed (sending attempted, not in the platform, in ``failed.csv``), held (valid, held back by a stop
before sending, in ``held.csv``), blank (skipped), unmatched (dropped by the mapping, in ``unmatched.csv``)
or left out (by the mapping's ``[[leave_out]]`` rules, in ``left_out.csv``), or, for custom events,
uncertain (sent, and perhaps processed: ``uncertain.csv``) — so ``rows_read = rows_accepted +
rows_rejected + rows_failed + rows_uncertain + rows_held + rows_blank + rows_unmatched + rows_left_out``
always holds (a dry run accepts none: its valid rows are ``rows_would_send``, in place of accepted);
rows the sender never got an answer for (abort, Ctrl-C) are counted as failed, or for custom events as
uncertain (``importer.jobs.accounting``).

The first pass is streamed (``importer.partitions.streamed``: partitions as the input is read) when nothing is sent
before every row is prepared — a dry run, or an error budget — and the records' rows turn out to lie
together; when they do not, the run forgets what it prepared and starts again partitioned
(``importer.partitions.hashed``). Other runs are partitioned from the start.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from importer import budget, scratch
from importer.delivery.bulk import BulkSender
from importer.delivery.event_log import EventLog, progress_bar
from importer.delivery.outcomes import ApiErrorEvent, Outcomes
from importer.delivery.sender import Sender
from importer.errors import ImporterError, Interrupted, LocalFault, UsageError, file_fault
from importer.frame import (
    FINGERPRINT_COL,
    KEY_COL,
)
from importer.inputs.batches import Inputs, open_inputs, with_mapping_conflicts, with_preset_hint
from importer.inputs.locations import series_name
from importer.jobs import drift, incremental
from importer.jobs.accounting import account, left_out_file, unmatched_file, where
from importer.jobs.dispatches import Dispatches, journal_start
from importer.jobs.journal import Journal, target_of
from importer.jobs.platform_settings import lists_reader, platform_for
from importer.jobs.results import RunResult, Warn, log_warning
from importer.jobs.second_pass import LARGE_PARTITION_WORKERS, Counts, SecondPass
from importer.jobs.sending import prepare_and_send
from importer.jobs.stops import Watch
from importer.partitions import Rows, hashed
from importer.partitions.hashed import HashedPartitions
from importer.partitions.shards import Shard
from importer.partitions.streamed import NotClustered, StreamedPartitions
from importer.records import orders
from importer.records.chunking import Chunk
from importer.records.validation import ignored_warning
from importer.report import html_page
from importer.report.files import Report, new_run_id
from importer.report.summary import (
    ImportSummary,
    RunHead,
    WarningLog,
    delivery_counts,
    options_in_effect,
    recording,
    report_file,
    run_head,
)
from importer.resources import Binding, Resource
from importer.resources.customers import CUSTOMERS
from importer.resources.orders import ORDERS
from importer.settings import (
    ApiSettings,
    CustomerOptions,
    OrderOptions,
    RunOptions,
)


def _quiet(message: str) -> None:
    """Warnings of a run started again nobody needs twice (they were given the first time)."""


def import_customers(
    paths: Sequence[Path], api: ApiSettings, options: CustomerOptions, run: RunOptions, warn: Warn = log_warning
) -> RunResult:
    """Import customers from ``paths``; raises ImporterError (exit 2) before sending if it cannot start."""
    return import_resource(CUSTOMERS, paths, api, options, run, warn)


def import_orders(
    paths: Sequence[Path], api: ApiSettings, options: OrderOptions, run: RunOptions, warn: Warn = log_warning
) -> RunResult:
    """Import orders from ``paths`` (order lines, orders and items files, or nested Parquet)."""
    return import_resource(ORDERS, paths, api, options, run, warn)


def import_resource(
    declared: Resource, paths: Sequence[Path], api: ApiSettings, options: Any, run: RunOptions, warn: Warn = log_warning
) -> RunResult:
    """Import the resource ``declared`` from ``paths`` with its ``options`` (bound before any file is read)."""
    if declared.line_conflicts:  # the mapping's ``conflict`` settings, under the options' own
        options = with_mapping_conflicts(declared.options(options), run, paths, declared.command)
    return run_import(declared.bind(options), paths, api, run, warn)


def run_import(
    resource: Binding, paths: Sequence[Path], api: ApiSettings, run: RunOptions, warn: Warn = log_warning
) -> RunResult:
    """Read, prepare, send (or write, in a dry run) and report; the summary is in summary.json too.

    Unless it is a dry run, the run holds the lock of its state file (``run.state``) from start to end,
    and is recorded in it: what the API accepted, so that ``--resume`` and ``--changed-only`` can skip it.
    """
    if run.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1.", "The default is 100 records per request.")
    if resource.at_most_once is not None:  # a request per record, each journaled as dispatched before it leaves
        run = replace(run, chunk_size=1)
    if not run.dry_run and api.key is None:
        raise UsageError("No API key.", "Set ECDP_API_KEY, pass --api-key-file, or use --dry-run.")
    warn = recording(warn)  # the summary lists the warnings: under cron nobody sees them printed
    try:
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
    except KeyboardInterrupt:  # (once it sends, _run says so itself)
        raise Interrupted(
            "The run was interrupted before anything was sent.", "Run the same command again.", sent=False
        ) from None


def _run(  # noqa: C901, PLR0912, PLR0915 (the import's whole course, one step after another)
    resource: Binding, paths: Sequence[Path], api: ApiSettings, run: RunOptions, warn: Warn, journal: Journal | None
) -> RunResult:
    started_at, clock = datetime.now(UTC), time.monotonic()
    run_id = new_run_id(started_at)
    scratch.sweep()  # private temporary folders a killed run left behind
    target = target_of(api)
    series = drift.series_of(resource.command, target, run, [series_name(p) for p in paths])
    window = incremental.window_for(journal, series, run)  # --since-column: the rows after the job's watermark
    inputs = open_inputs(resource.command, paths, run, warn, window=window)
    report = Report(run.report_dir or Path("reports") / run_id)  # its folder is made when the run holds it
    watch = Watch(report, journal, run_id, warn)
    shard = Shard.parse(run.shard) if run.shard else None
    # (a window's size is the changes', not the export's: its median judges nothing, as a --full load's)
    drift_gate = drift.gate_for(journal, series.id, replace(run, full=True) if window else run) if journal else None
    gated = not run.max_rejects.disabled or drift_gate is not None  # records held until every row is prepared
    # Streamed when nothing is sent before every row is prepared: a dry run, or records held by a gate.
    streamed = run.partitions is None and (run.dry_run or gated)

    def reopen() -> Inputs:  # the inputs again, from the start (their warnings were given the first time)
        return open_inputs(resource.command, paths, run, _quiet, window=window)

    rows: Rows = (
        StreamedPartitions(inputs.batches, resource.key, shard, lambda: reopen().batches)
        if streamed
        else _partitioned(inputs, resource, run, shard)
    )  # (input problems stop it here)
    known: list[tuple[str, pl.DataFrame]] = []
    dispatches: Dispatches | None = None
    uncertain: pl.DataFrame | None = None  # --resume: what the run resumed sent without an answer
    if journal is not None and resource.at_most_once is not None:  # (not idempotent: importer.jobs.dispatches)
        known, dispatches, uncertain = journal_start(
            journal,
            resource.command,
            resource.kind,
            inputs,
            run,
            run_id,
            target,
            {**resource.options, "chunk_size": run.chunk_size},
            series,
            warn,
            resource.at_most_once,
        )
    elif journal is not None:
        known = _start_journal(journal, resource, inputs, run, run_id, target, warn, series)

    read_lists = lists_reader(platform_for(api, run, warn))  # pre-flight: each settings list read once, if needed

    def attempt(rows: Rows) -> tuple[SecondPass, Outcomes]:
        def gate(counts: Counts) -> str | None:  # nothing is sent before every row is validated
            stopped = budget.judge(run.max_rejects, rows.rows, counts.rows_rejected, run.dry_run).stopped
            return stopped or (drift_gate.judge(counts.records_built) if drift_gate is not None else None)

        second_pass = SecondPass(
            resource.prepare,
            lambda frame: read_lists(resource.settings_lists(frame)),
            warn,
            report,
            run.chunk_size,
            resource.envelope,
            journaled=journal is not None,
            known=list(known),
            dry_run=run.dry_run,
            gate=gate if gated else None,
            workers=LARGE_PARTITION_WORKERS if _large(rows) else 0,
            uncertain=uncertain,
            on_withheld=window.lowest_of if window else None,
        )
        finished = False
        try:
            if run.dry_run:
                second_pass.run(rows, None)
                outcomes = Outcomes()
            else:
                assert journal is not None  # run_import opens one for every run that sends
                outcomes = _send(
                    second_pass, rows, api, resource, report, run, journal, run_id, target, watch, dispatches
                )
            finished = True
        finally:
            watch.rows_settled = 0 if run.dry_run else second_pass.counts.rows_settled  # (a dry run accepts none)
            second_pass.close(finished)
        return second_pass, outcomes

    def head() -> RunHead:  # what ran, where and when, for a summary
        return run_head(resource.command, run_id, inputs.files, api.url, started_at, clock, report.dir)

    def read() -> int:  # rows read
        return rows.rows + rows.set_aside.blank + rows.set_aside.unmatched + rows.set_aside.left_out

    try:
        report.claim()  # the folder is this run's until it ends: a second run into it is refused before sending
        try:
            second_pass, outcomes = attempt(rows)
        except NotClustered:  # nothing was sent: start again the partitioned way
            rows.close()
            report.discard()
            inputs.close()  # (the reader of the first attempt holds a piece of the file)
            rows = _partitioned(reopen(), resource, run, shard)
            second_pass, outcomes = attempt(rows)
        accounted = account(
            rows, outcomes, report, window.lowest_of if window else None, at_most_once=resource.at_most_once is not None
        )
        left_out = left_out_file(rows.set_aside, report)  # (with the lines the second pass left out: before close)
        held_file = report_file(report.finish_rows("held.csv"))
    except LocalFault as fault:  # a file of the run failed it (disk full, ...): say so, keep the counts reached
        watch.note(fault)
        raise watch.ended(None, head(), read()) from None
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (the CLI's) outside sending: before it, or writing the report
        raise watch.interrupted(head(), read()) from None
    except ImporterError as error:  # found while reading or preparing (e.g. columns the platform does not know)
        report.discard(abandon=True)  # a run stopped before it could start leaves no report
        report.release()
        if journal is not None:
            journal.finish_run(
                run_id,
                ImportSummary(
                    command=resource.command, run_id=run_id, exit_code=error.exit_code, aborted=error.message
                ),
                report.dir,
            )
        hinted = with_preset_hint(error, resource.command, paths, run)  # a platform's export without --preset
        if hinted is not error:
            raise hinted from None
        raise
    finally:
        rows.close()
        watch.guarded(report.close)(release=False)  # (errors.jsonl's last lines may fail to be written)
    counts = second_pass.counts
    try:
        unmatched = report_file(unmatched_file(rows.set_aside, report))
    except LocalFault as fault:
        watch.note(fault)
        unmatched = None
    if counts.ignored:  # before the summary, which lists the warnings
        warn(ignored_warning(f"{resource.command} fields", counts.ignored))
    verdict = budget.judge(run.max_rejects, rows.rows, counts.rows_rejected, run.dry_run)
    stopped = verdict.stopped or second_pass.stopped  # the error budget's, or the drift gate's
    next_mark = (
        incremental.next_watermark(window, lambda: open_inputs(resource.command, paths, run, _quiet).batches)
        if window
        else None
    )
    rows_rejected = counts.rows_rejected + accounted.rows_rejected
    rows_failed = accounted.rows_failed  # attempted and failed; the rows a stop held back are rows_held
    rows_uncertain = counts.rows_uncertain + accounted.rows_uncertain
    summary = ImportSummary(
        **head(),
        exit_code=(
            budget.EXIT_STOPPED if stopped else outcomes.exit_code(bool(rows_rejected or rows_failed or rows_uncertain))
        ),
        mapping=str(run.mapping) if run.mapping else None,
        preset=run.preset,
        read_as=inputs.read_as,
        **_shown(resource),
        orders_total_computed=counts.notes.get("orders_total_computed"),
        orders_conflicts_taken=_conflicts_taken(counts.notes, resource),
        rows_read=read(),
        rows_blank=rows.set_aside.blank,
        rows_unmatched=rows.set_aside.unmatched,
        rows_left_out=rows.set_aside.left_out + counts.rows_left_out,
        rows_accepted=0 if run.dry_run else counts.rows_settled + outcomes.accepted_rows,
        rows_would_send=counts.rows_settled if run.dry_run else None,
        rows_held=counts.rows_withheld,
        rows_rejected=rows_rejected,
        rows_failed=rows_failed,
        rows_uncertain=rows_uncertain,
        rows_valid=None if verdict.rows_valid is None else verdict.rows_valid - counts.rows_left_out,
        rows_sent=outcomes.rows_sent,
        records_built=counts.records_built,
        records_sent=outcomes.records_sent,
        records_accepted=outcomes.accepted_records,
        records_rejected=len(outcomes.rejected),
        records_failed=accounted.records_failed,
        records_unchanged=counts.records_unchanged,
        records_already_accepted=counts.records_already_accepted,
        verified_after_ambiguous=outcomes.verified,
        **delivery_counts(outcomes, report.error_count),
        rejected_file=accounted.rejected_file,
        failed_file=accounted.failed_file,
        uncertain_file=accounted.uncertain_file,
        unmatched_file=unmatched,
        left_out_file=report_file(left_out),
        shard=run.shard,
        rows_in_other_shards=rows.other_shards,
        first_pass="streamed" if isinstance(rows, StreamedPartitions) else "partitioned",
        partitions=rows.partitions,
        dry_run=run.dry_run,
        chunk_size=run.chunk_size,
        payloads_file=str(report.path("payloads.jsonl")) if run.dry_run and second_pass.stopped is None else None,
        held_file=held_file,
        ignored_columns=counts.ignored,
        max_rejects=str(run.max_rejects),
        stopped=stopped,
        options=options_in_effect(api, run),
        origin=dict(run.origin),
        warnings=list(warn.messages) if isinstance(warn, WarningLog) else [],
        timeline=outcomes.timeline.as_dict(),
        window=incremental.closing(window, next_mark, journal is not None) if window else None,
    )
    try:
        if watch.fault is None:
            report.summary(summary.to_dict())
            if journal is not None:
                if window is not None:  # (before the run is finished: a crash between leaves it running)
                    incremental.store(journal, series, run, window, next_mark, run_id)
                journal.finish_run(run_id, summary, report.dir)
            if run.report_html:
                html_page.write(report.dir)
    except OSError as exc:  # (report.html)
        watch.note(file_fault(exc, report.dir, "the report", "--report-dir"))
    except LocalFault as fault:
        watch.note(fault)
    except KeyboardInterrupt:
        raise watch.interrupted(head(), read()) from None
    finally:
        report.release()
    if watch.fault is not None:  # the run's files failed it: the summary kept where it can be
        raise watch.ended(summary, head(), read())
    return RunResult(summary=summary, report_dir=report.dir)


def _shown(resource: Binding) -> dict[str, Any]:
    """The options the resource's summary shows (mode, match_by, customer_match, time_zone_names), as the run had
    them."""
    return {name: resource.options.get(name) for name in resource.resource.summary_options}


def _conflicts_taken(notes: dict[str, Any], resource: Binding) -> dict[str, int] | None:
    """A resource of records of several rows (orders): per field with a ``conflict`` policy, in how many
    records sent one row's value was taken; None for the others."""
    if not resource.resource.line_conflicts:
        return None
    return {
        name.removeprefix(orders.CONFLICTS_TAKEN): int(count)
        for name, count in notes.items()
        if name.startswith(orders.CONFLICTS_TAKEN)
    }


def _large(rows: Rows) -> bool:
    """Partitions of an input over LARGE_INPUT_BYTES: fewer are prepared at once (memory)."""
    return isinstance(rows, HashedPartitions) and rows.large


def _partitioned(inputs: Inputs, resource: Binding, run: RunOptions, shard: Shard | None) -> HashedPartitions:
    """The partitioned first pass: every row read and filed under its key's hash partition."""
    partitioned = hashed.for_inputs(inputs.files, shard, run.partitions)
    try:
        partitioned.fill(inputs.batches, resource.key)
    except BaseException:
        partitioned.close()
        raise
    return partitioned


def _start_journal(
    journal: Journal,
    resource: Binding,
    inputs: Inputs,
    run: RunOptions,
    run_id: str,
    target: str,
    warn: Warn,
    series: drift.Series,
) -> list[tuple[str, pl.DataFrame]]:
    """Record the run in the state file; the records it need not send (--resume, --changed-only)."""
    options = {**resource.options, "chunk_size": run.chunk_size}
    series_of = (series.id, series.name)
    _, resume = journal.begin_run(run_id, resource.command, target, inputs, options, series_of, resume=run.resume)
    if run.resume and resume is None:
        warn("Nothing to resume: no earlier run on these inputs left records unsent; sending everything.")
    known = []
    if resume:
        known.append(("records_already_accepted", journal.known(target, resource.kind, resume.run_ids)))
    if run.changed_only:
        known.append(("records_unchanged", journal.known(target, resource.kind)))
    return known


def _send(  # noqa: PLR0913 (a run's parts, handed on as they are)
    second_pass: SecondPass,
    rows: Rows,
    api: ApiSettings,
    resource: Binding,
    report: Report,
    run: RunOptions,
    journal: Journal,
    run_id: str,
    target: str,
    watch: Watch,
    dispatches: Dispatches | None = None,
) -> Outcomes:
    """Prepare and send at once; API errors go to errors.jsonl, accepted records to the journal (a fault writing
    either stops the sending gracefully: ``watch``)."""

    def on_error(event: ApiErrorEvent) -> None:  # (once something is sent, the files' starts are known)
        firsts = [first for first, _ in rows.starts]
        report.api_error(event.entry([where(rows.starts, firsts, rid) for rid in event.row_ids]))

    may_create = resource.may_create

    def on_accepted(chunk: Chunk) -> None:
        frame = chunk.frame  # (its two columns as lists: a polars query per answer cost more than the lists)
        keys = zip(frame.get_column(KEY_COL).to_list(), frame.get_column(FINGERPRINT_COL).to_list(), strict=True)
        journal.accepted(run_id, target, resource.kind, list(keys), may_create)

    bar = progress_bar(None, run.progress)
    log = EventLog(run.log_format)
    pace, max_records = journal.pace(target, resource.path)  # where the last run to this endpoint settled
    if pace is not None and (api.rate is None or pace < api.rate):
        log.emit("pace", f"Starting at {pace:.1f} requests/s, the pace the API allowed the last run.", rate=pace)
    sender: Sender
    if dispatches is not None and resource.at_most_once is not None:
        sender = dispatches.sender(
            api,
            resource.path,
            watch,
            watch.guarded(on_error),
            resource.at_most_once,
            log=log,
            progress=bar,
            interrupts=run.interrupts,
            pace=pace,
        )
    else:
        sender = BulkSender(
            api,
            resource.path,
            resource.envelope,
            watch.guarded(on_error),
            lookup=resource.lookup,
            on_accepted=watch.guarded(on_accepted),
            log=log,
            progress=bar,
            interrupts=run.interrupts,
            pace=pace,
            max_records=max_records,
        )
    watch.sender = sender
    try:
        return prepare_and_send(second_pass, rows, sender)
    finally:
        if bar is not None:
            bar.close()
        watch.guarded(journal.remember_pace)(
            target,
            resource.path,
            sender.limiter.settled(),
            sender.max_records if isinstance(sender, BulkSender) else None,
        )
