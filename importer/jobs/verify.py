"""Verify: read a file as its import would, read every record (or a sample) back, and compare.

``verify_customers`` / ``verify_orders`` read and prepare the files exactly as ``ecdp-import customers``
/ ``orders`` would (mapping, preset, encoding, delimiter, normalisation, validation, pre-flight), so the
records compared are the ones an import sends. Each record is read back with one GET (by the matched
field, or ``/orders/{id}``), through the imports' delivery machinery (``importer.delivery.single``), and
compared field by field (``importer.records.comparison``).

Every input row ends in one count: invalid (never sent, so not checked: ``rejected.csv``), not sampled
(``--sample``), matching, different (``mismatched.csv``, the fields in ``_error``), missing
(``missing.csv``: import it to fill the gap) or failed (the GET did not succeed: ``failed.csv``), or it
is set aside as an import sets it aside (blank, unmatched by the mapping, left out by its rules).
The exit code is 0 when every record checked matches, 1 otherwise, 3 when the key was refused.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from importer.delivery.event_log import EventLog, progress_bar
from importer.delivery.outcomes import CTRL_C, Outcomes
from importer.delivery.sender import run_loop
from importer.delivery.single import Operation, RecordSender
from importer.errors import UsageError
from importer.frame import JSON_COL, KEY_COL, RID_COL, STAGE_COL, Reason, reasons_of
from importer.inputs.batches import mapped, open_inputs, user_view, with_mapping_conflicts
from importer.inputs.set_aside import SetAside
from importer.jobs.accounting import left_out_file, unmatched_file
from importer.jobs.platform_settings import lists_reader, platform_for
from importer.jobs.results import RunResult, Warn
from importer.records.chunking import Chunk, in_chunks
from importer.records.comparison import Difference
from importer.records.url_paths import unroutable_warning
from importer.records.validation import Prepared, ignored_warning
from importer.report.files import Report, new_run_id, report_table
from importer.report.summary import VerifySummary, delivery_counts, recording, report_file, run_head
from importer.resources import IMPORTS, Binding, Resource
from importer.resources.customers import CUSTOMERS
from importer.resources.orders import ORDERS
from importer.settings import (
    ApiSettings,
    CustomerOptions,
    OrderOptions,
    RunOptions,
)


@dataclass(frozen=True)
class Sampling:
    """Which records to check: all (``size`` None), or ``size`` drawn at random (``seed`` repeats a draw)."""

    size: int | None = None
    seed: int | None = None


def verify_customers(
    paths: Sequence[Path], api: ApiSettings, options: CustomerOptions, run: RunOptions, sampling: Sampling, warn: Warn
) -> RunResult:
    """Compare the customers of ``paths`` with what the platform holds."""
    return verify_resource(CUSTOMERS, paths, api, options, run, sampling, warn)


def verify_orders(
    paths: Sequence[Path], api: ApiSettings, options: OrderOptions, run: RunOptions, sampling: Sampling, warn: Warn
) -> RunResult:
    """Compare the orders of ``paths`` with what the platform holds."""
    return verify_resource(ORDERS, paths, api, options, run, sampling, warn)


def verify_resource(
    declared: Resource,
    paths: Sequence[Path],
    api: ApiSettings,
    options: Any,
    run: RunOptions,
    sampling: Sampling,
    warn: Warn,
) -> RunResult:
    """Compare the records of ``declared`` in ``paths`` with what the platform holds."""
    if not declared.verifiable:
        raise UsageError(
            f"{declared.naming.plural.capitalize()} cannot be verified: verify reads imported records back.",
            f"Verify one of {', '.join(r.command for r in IMPORTS if r.verifiable)}.",
        )
    if declared.line_conflicts:  # read as its import reads them
        options = with_mapping_conflicts(declared.options(options), run, paths, declared.command)
    kind = declared.bind(options)
    if kind.cannot_verify is not None:
        raise UsageError(*kind.cannot_verify)
    return _verify(kind, paths, api, run, sampling, warn)


@dataclass(frozen=True)
class _Asked:
    """What a verify run was asked, and when it started: the summary's head."""

    run_id: str
    kind: str  # "customers" or "orders"
    files: list[Path]
    api_url: str
    sampling: Sampling
    started_at: datetime
    clock: float  # time.monotonic() at the start


def _verify(
    kind: Binding, paths: Sequence[Path], api: ApiSettings, run: RunOptions, sampling: Sampling, warn: Warn
) -> RunResult:
    warn = recording(warn)  # the summary lists the warnings: under cron nobody sees them printed
    if api.key is None:
        raise UsageError(
            "No API key: verify reads records back from the platform.", "Set ECDP_API_KEY or pass --api-key-file."
        )
    if sampling.size is not None and sampling.size < 1:
        raise UsageError("--sample must be at least 1.", "Leave it out to check every record.")
    started_at, clock = datetime.now(UTC), time.monotonic()
    inputs = open_inputs(kind.command, paths, run, warn, usage="ecdp-import verify")
    set_aside = SetAside()
    rows, files = set_aside.take(inputs.whole()), inputs.files
    frame = user_view(rows)  # as read, for the report
    fields = mapped(rows)
    lists = lists_reader(platform_for(api, run, warn))(kind.settings_lists(fields))  # pre-flight, read if needed
    prepared = kind.prepare(fields, lists)
    for warning in prepared.warnings:
        warn(warning)
    if prepared.ignored:
        warn(ignored_warning(f"{kind.command} fields", prepared.ignored))
    records = prepared.records
    checked = records
    if sampling.size is not None and sampling.size < records.height:
        checked = records.with_row_index("_pos").sample(n=sampling.size, seed=sampling.seed).sort("_pos").drop("_pos")
    if risky := unroutable_warning(checked.get_column(KEY_COL), kind.key_name):
        warn(risky)
    chunks = list(in_chunks(checked, 1))
    found: dict[int, list[Difference]] = {}
    compare = kind.compare
    assert compare is not None  # (every resource verify binds declares its comparison)
    texts = checked.get_column(JSON_COL).to_list()

    def on_answer(position: int, body: Any) -> None:
        stored = body.get("data") if isinstance(body, dict) else None
        found[position] = (
            compare(orjson.loads(texts[position]), stored, lists or {})
            if isinstance(stored, dict)
            else [Difference("(answer)", "a record", "no record in the answer")]
        )

    run_id = new_run_id(started_at)
    report = Report(run.report_dir or Path("reports") / run_id)
    lookup = kind.lookup
    operation = Operation(
        "GET",
        lambda record: ((lookup(record) if lookup else None) or "", None),
        not_found_apart=True,
        missing="missing: the platform holds no such record",
    )
    bar = progress_bar(len(chunks), run.progress)
    sender = RecordSender(
        api,
        operation,
        lambda event: report.api_error(event.entry()),
        on_answer=on_answer,
        log=EventLog(run.log_format),
        progress=bar,
        interrupts=run.interrupts,
    )
    try:
        run_loop(sender.run(chunks))
    except KeyboardInterrupt:  # only where the sender cannot handle SIGINT itself (not the main thread)
        sender.outcomes.abort(CTRL_C)
    finally:
        report.close()
        if bar is not None:
            bar.close()
    asked = _Asked(run_id, kind.command, files, api.url, sampling, started_at, clock)
    summary = _summary(
        frame,
        prepared,
        checked,
        chunks,
        sender.outcomes,
        found,
        report,
        asked=asked,
        set_aside=set_aside,
        warnings=list(warn.messages),
    )
    report.summary(summary.to_dict())
    return RunResult(summary=summary, report_dir=report.dir)


def _summary(
    frame: pl.DataFrame,
    prepared: Prepared,
    checked: pl.DataFrame,
    chunks: list[Chunk],
    outcomes: Outcomes,
    found: dict[int, list[Difference]],
    report: Report,
    *,
    asked: _Asked,
    set_aside: SetAside,
    warnings: list[str],
) -> VerifySummary:
    """The report's files, and the run's summary (``set_aside``: the blank rows and those the mapping
    drops, left out of ``frame``)."""
    rows_of = {c.index: c.row_ids[0] for c in chunks}
    different = {p: d for p, d in found.items() if d}
    mismatched: list[Reason] = [
        (rows_of[p], ";".join(dict.fromkeys(d.field for d in diffs)), "; ".join(d.describe() for d in diffs))
        for p, diffs in different.items()
    ]
    failed_items: list[Reason] = [(rids, "", e) for rids, e in outcomes.failed]
    failed_items += [(rids, field, error) for rids, field, error, *_ in outcomes.rejected]
    failed_items += outcomes.unanswered("it may have been applied; verify again")
    stage = pl.lit("verify").alias(STAGE_COL)
    buckets = {
        "rejected.csv": prepared.reasons.with_columns(pl.lit("validation").alias(STAGE_COL)),
        "mismatched.csv": reasons_of(mismatched).with_columns(stage),
        "missing.csv": reasons_of([(rids, "", e) for rids, e in outcomes.not_found]).with_columns(stage),
        "failed.csv": reasons_of(failed_items).with_columns(stage),
    }
    written = {name: report.rows(name, reasons, frame) for name, reasons in buckets.items()}
    rows = {name: reasons.get_column(RID_COL).n_unique() for name, reasons in buckets.items()}
    records = prepared.records
    left_out = bool(different or outcomes.not_found or failed_items)
    return VerifySummary(
        **run_head("verify", asked.run_id, asked.files, asked.api_url, asked.started_at, asked.clock, report.dir),
        kind=asked.kind,
        sample=asked.sampling.size,
        seed=asked.sampling.seed,
        warnings=warnings,
        ignored_columns=prepared.ignored,
        exit_code=outcomes.exit_code(left_out),
        rows_read=frame.height + set_aside.blank + set_aside.unmatched + set_aside.left_out,
        rows_blank=set_aside.blank,
        rows_unmatched=set_aside.unmatched,
        rows_left_out=set_aside.left_out + prepared.left_out.height,
        unmatched_file=report_file(unmatched_file(set_aside, report)),
        left_out_file=report_file(_left_out_file(set_aside, prepared, frame, report)),
        rows_invalid=rows["rejected.csv"],
        rows_not_sampled=_row_count(records) - _row_count(checked),
        rows_matching=sum(len(rows_of[p]) for p, d in found.items() if not d),
        rows_different=rows["mismatched.csv"],
        rows_missing=rows["missing.csv"],
        rows_failed=rows["failed.csv"],
        records_built=records.height,
        records_checked=checked.height,
        records_matching=sum(1 for d in found.values() if not d),
        records_different=len(different),
        records_missing=len(outcomes.not_found),
        records_failed=len(failed_items),
        fields_different=dict(Counter(f for _, fields, _ in mismatched for f in fields.split(";")).most_common()),
        **delivery_counts(outcomes, report.error_count),
        rejected_file=report_file(written["rejected.csv"]),
        mismatched_file=report_file(written["mismatched.csv"]),
        missing_file=report_file(written["missing.csv"]),
        failed_file=report_file(written["failed.csv"]),
    )


def _left_out_file(set_aside: SetAside, prepared: Prepared, frame: pl.DataFrame, report: Report) -> Path | None:
    """left_out.csv: the rows set aside by the mapping's rules, and the order lines it left out of records."""
    if prepared.left_out.height:
        lines = frame.join(prepared.left_out.select(RID_COL), on=RID_COL, how="semi")
        report.add_rows(
            "left_out.csv", report_table(prepared.left_out.with_columns(pl.lit("mapping").alias(STAGE_COL)), lines)
        )
    return left_out_file(set_aside, report)


def _row_count(records: pl.DataFrame) -> int:
    rid = records.get_column(RID_COL)
    return int(rid.list.len().sum()) if isinstance(rid.dtype, pl.List) else rid.len()
