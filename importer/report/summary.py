"""The run summary: a typed object per kind of command, what ``summary.json`` holds, and how it is read back.

Every command's run ends in one summary, built in one place by its job (``importer.jobs``) and read by
everything that shows a run: the console line and the cron line (``importer.cli.rendering``),
``report.html`` (``importer.report.html_page``, ``outcome``), the run journal and ``ecdp-import runs``::

    RunSummary          what every run has: command, files, where, when, how long, exit code, rows read
                        and failed, the delivery's requests, retries, 429s and abort, files of the report
    ├── ImportSummary   customers and orders: accepted, rejected, valid, sent (a dry run: would send); first
    │                   pass, shard, error budget, options in effect, where settings came from, warnings, timeline
    ├── OperationSummary order-status and delete-orders: as an import, plus the orders not found
    └── VerifySummary   verify: records checked, matching, different (and which fields), missing

``to_dict`` is ``summary.json`` (a field marked ``OMIT_IF_NONE`` is left out when it has no value, as the
resource-specific ones are for the other resource); ``from_dict`` reads one back, older summaries
included (a field they lack takes its default; an ``abort_reason``, the ``errors.AbortReason`` of an
``aborted`` run, is read from their ``aborted`` message). Counts and names only: never the API key, never a value
of a row (those are personal data: the report's CSV files hold them, readable by the owner only).

``WarningLog`` keeps the warnings a run gave, so that the summary lists them even when nobody saw them
(under cron, warnings are not printed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from importer.delivery.outcomes import Outcomes
from importer.errors import AbortReason
from importer.inputs.locations import shown
from importer.resources import find
from importer.settings import ApiSettings, RunOptions, public_url

OMIT_IF_NONE = {"omit_if_none": True}


@dataclass(kw_only=True)
class RunSummary:
    """What every command's summary holds."""

    command: str = ""
    run_id: str | None = None
    files: list[str] = field(default_factory=list)
    api_url: str = ""
    started_at: str = ""
    duration_s: float = 0.0
    report_dir: str = ""
    exit_code: int = 0
    rows_read: int = 0
    rows_blank: int = 0  # every cell empty: skipped, never checked or sent
    rows_unmatched: int = 0  # a mapping's join found no row and the mapping drops such rows (unmatched = "drop")
    rows_left_out: int = 0  # a mapping's [[leave_out]] rule leaves them out (a tip, a gift card): never sent
    rows_failed: int = 0  # valid, sending was attempted and failed (failed.csv); not those held back unsent
    records_built: int = 0
    records_failed: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429 answers
    aborted: str | None = None  # why sending stopped early (the key refused, Ctrl-C), in words
    abort_reason: AbortReason | None = field(default=None, metadata=OMIT_IF_NONE)  # and as a code
    api_errors: int = 0  # error answers in errors.jsonl
    ignored_columns: list[str] = field(default_factory=list)
    rejected_file: str | None = None
    failed_file: str | None = None
    unmatched_file: str | None = None  # the rows the mapping dropped (no match in a joined file), and why
    left_out_file: str | None = None  # the rows the mapping's [[leave_out]] rules left out, each with its reason
    warnings: list[str] = field(default_factory=list)  # every warning the run gave (WarningLog), once

    @property
    def rows_set_aside(self) -> int:
        """Rows never checked or sent: blank, those the mapping drops (a join found nothing) and those its
        ``[[leave_out]]`` rules leave out."""
        return self.rows_blank + self.rows_unmatched + self.rows_left_out

    def set_aside_counts(
        self, blank: str = "blank", unmatched: str = "unmatched", prose: bool = False, left_out: str = "left out"
    ) -> list[str]:
        """``["3 blank", "2 unmatched", "4 left out"]``: the rows set aside, each kind named only when there
        are some (``prose``: "1,000 rows blank", for sentences)."""
        counts = [(self.rows_blank, blank), (self.rows_unmatched, unmatched), (self.rows_left_out, left_out)]
        if prose:
            return [f"{n:,} row{'' if n == 1 else 's'} {what}" for n, what in counts if n]
        return [f"{n} {what}" for n, what in counts if n]

    def to_dict(self) -> dict[str, Any]:
        """The summary as ``summary.json`` holds it."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if not (f.metadata.get("omit_if_none") and getattr(self, f.name) is None)
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> RunSummary:
        """A summary read back (``summary.json``, the journal), of the kind its command says; the fields an
        older summary lacks take their defaults, keys this version does not know are left out. A dry run
        written when ``rows_accepted`` held its would-send count is read as a dry run is written now."""
        command = data.get("command")
        declared = find(command) if isinstance(command, str) else None
        kind: type[RunSummary] = (
            VerifySummary
            if command == "verify"
            else OperationSummary
            if declared is not None and not declared.is_import
            else ImportSummary
        )
        if data.get("dry_run") and kind is not VerifySummary and data.get("rows_accepted"):
            data = {
                **data,
                "rows_would_send": data.get("rows_would_send", data["rows_accepted"]),
                "rows_accepted": 0,
                "records_accepted": 0,
            }
        names = {f.name for f in fields(kind)} - {"abort_reason"}
        return kind(**{key: value for key, value in data.items() if key in names}, abort_reason=_abort_reason(data))


@dataclass(kw_only=True)
class ImportSummary(RunSummary):
    """``ecdp-import customers``, ``orders`` and ``events`` (and ``retry``, which imports a run's failed rows
    again)."""

    mapping: str | None = None
    preset: str | None = None
    read_as: str | None = field(default=None, metadata=OMIT_IF_NONE)  # a preset's generation of the export
    mode: str = ""
    match_by: str | None = field(default=None, metadata=OMIT_IF_NONE)  # customers
    customer_match: str | None = field(default=None, metadata=OMIT_IF_NONE)  # orders
    time_zone_names: str | None = field(default=None, metadata=OMIT_IF_NONE)  # orders: how timeZone was sent
    event_id: int | None = field(default=None, metadata=OMIT_IF_NONE)  # events: --event-id (None: a column's)
    orders_total_computed: int | None = field(default=None, metadata=OMIT_IF_NONE)  # orders: Σ price × quantity
    # orders: per field with a conflict policy, the orders sent whose lines disagreed and one line's value was taken
    orders_conflicts_taken: dict[str, int] | None = field(default=None, metadata=OMIT_IF_NONE)
    rows_accepted: int = 0  # in the platform (0 in a dry run: it attempts nothing)
    rows_would_send: int | None = field(default=None, metadata=OMIT_IF_NONE)  # dry run: valid rows a real run sends
    rows_held: int = 0  # valid, but held back and never sent: the run stopped before sending (held.csv)
    # custom events: sent, and whether the platform processed them is unknown (uncertain.csv): never resent by itself
    rows_uncertain: int = 0
    uncertain_file: str | None = field(default=None, metadata=OMIT_IF_NONE)
    rows_rejected: int = 0  # by validation or by the API (rejected.csv)
    rows_valid: int | None = None  # (None: a summary written before it was counted)
    rows_sent: int | None = None
    records_sent: int = 0
    records_accepted: int = 0
    records_rejected: int = 0
    verified_after_ambiguous: int = 0  # "already exists" after a lost answer, and held as sent
    records_unchanged: int = 0  # --changed-only: the platform holds them as they are
    records_already_accepted: int = 0  # --resume: the run resumed got them accepted
    shard: str | None = None
    rows_in_other_shards: int = 0
    first_pass: str = ""  # streamed or partitioned
    partitions: int = 0
    dry_run: bool = False
    chunk_size: int = 0
    payloads_file: str | None = None
    held_file: str | None = None  # the valid rows held back by a stop before sending (error budget, drift gate)
    max_rejects: str = ""
    stopped: str | None = None  # why the error budget stopped the run before sending
    options: dict[str, Any] = field(default_factory=dict)  # the options in effect, for the report
    origin: dict[str, str] = field(default_factory=dict)  # config file, profile, where the key came from
    timeline: dict[str, Any] = field(default_factory=dict)  # sending over time (Timeline.as_dict)
    # --since-column: the window read (column, watermark, overlap, after, kind, rows_outside, rows_empty) and the
    # watermark left (up_to; stored: False in a dry run) (importer.jobs.incremental)
    window: dict[str, Any] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(kw_only=True)
class OperationSummary(RunSummary):
    """``ecdp-import order-status`` and ``delete-orders``: one request per order."""

    rows_accepted: int = 0  # (0 in a dry run: it attempts nothing)
    rows_would_send: int | None = field(default=None, metadata=OMIT_IF_NONE)  # dry run: valid rows a real run sends
    rows_rejected: int = 0
    rows_valid: int | None = None
    rows_sent: int | None = None
    rows_not_found: int = 0  # the platform holds no such order (not_found.csv)
    records_sent: int = 0
    records_accepted: int = 0
    records_rejected: int = 0
    records_not_found: int = 0
    not_found_file: str | None = None
    dry_run: bool = False
    payloads_file: str | None = None
    done: str = ""  # what an accepted record is: "updated", "deleted"
    undo_of: str | None = None  # ``undo``: the run whose created orders were deleted
    records_kept: int = 0  # ``undo``: orders of that run that existed before it (never deleted)
    not_undoable: int = 0  # ``undo`` of a customers run: the customers it sent (the API cannot delete them)
    not_undoable_file: str | None = None


@dataclass(kw_only=True)
class VerifySummary(RunSummary):
    """``ecdp-import verify``: what the platform holds, against the file."""

    kind: str = ""  # customers or orders
    sample: int | None = None
    seed: int | None = None
    rows_invalid: int = 0  # invalid in the file, so never sent and not checked (rejected.csv)
    rows_not_sampled: int = 0
    rows_matching: int = 0
    rows_different: int = 0
    rows_missing: int = 0
    records_checked: int = 0
    records_matching: int = 0
    records_different: int = 0
    records_missing: int = 0
    fields_different: dict[str, int] = field(default_factory=dict)  # field -> records that differ in it
    mismatched_file: str | None = None
    missing_file: str | None = None


class RunHead(TypedDict):
    """What, where and when, as every kind of summary records it."""

    command: str
    run_id: str
    files: list[str]
    api_url: str
    started_at: str
    duration_s: float
    report_dir: str


def run_head(
    command: str, run_id: str, files: Sequence[Path], api_url: str, started_at: datetime, clock: float, report_dir: Path
) -> RunHead:
    """The summary's fields of what ran, where and when (``clock``: ``time.monotonic()`` at the start)."""
    return {
        "command": command,
        "run_id": run_id,
        "files": [shown(p) for p in files],
        "api_url": public_url(api_url),
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - clock, 3),
        "report_dir": str(report_dir),
    }


class DeliveryCounts(TypedDict):
    """What sending took, as every kind of summary records it."""

    requests: int
    retries: int
    throttled: int
    aborted: str | None
    abort_reason: AbortReason | None
    api_errors: int


def delivery_counts(outcomes: Outcomes, api_errors: int) -> DeliveryCounts:
    """The summary's fields of what sending took (``api_errors``: the answers in errors.jsonl)."""
    return {
        "requests": outcomes.requests,
        "retries": outcomes.retries,
        "throttled": outcomes.throttled,
        "aborted": outcomes.aborted,
        "abort_reason": outcomes.abort_reason,
        "api_errors": api_errors,
    }


def _abort_reason(summary: Mapping[str, Any]) -> AbortReason | None:
    """The reason a summary read back gives; an older summary's (or a later version's unknown to this one)
    from its ``aborted`` message."""
    given = summary.get("abort_reason")
    if given in tuple(AbortReason):
        return AbortReason(given)
    return AbortReason.of_message(summary.get("aborted"))


def report_file(path: Path | None) -> str | None:
    """A file of the report as the summary names it (None: the run wrote none)."""
    return str(path) if path else None


class WarningLog:
    """A warning sink that remembers every message and passes it on to ``sink`` (if any)."""

    def __init__(self, sink: Callable[[str], None] | None = None) -> None:
        self.messages: list[str] = []
        self.sink = sink

    def __call__(self, message: str) -> None:
        if message in self.messages:  # a warning every partition gives (pre-flight's) is given once
            return
        self.messages.append(message)
        if self.sink is not None:
            self.sink(message)


def recording(warn: Callable[[str], None]) -> WarningLog:
    """``warn`` itself when it already records, else a recorder passing messages on to it."""
    return warn if isinstance(warn, WarningLog) else WarningLog(warn)


def window_text(window: Mapping[str, Any] | None, short: bool = False) -> str:
    """The window an incremental run read (``--since-column``) and the watermark it left, as the console,
    report.html and ``runs`` give it ("" for a run without one); ``short``: for a table."""
    if not window:
        return ""
    column, after, up_to = window.get("column"), window.get("after"), window.get("up_to")
    read = f"{column} after {after}" if after else f"{column}: every row"
    if short:
        return f"{read} -> {up_to or 'none'}"
    if window.get("watermark"):
        read += f" (the watermark {window['watermark']} less the overlap {window.get('overlap')})"
    outside = window.get("rows_outside")
    if outside:
        read += f", {outside:,} row{'s' if outside != 1 else ''} before it not read"
    if not window.get("stored"):
        return f"{read}; the watermark would be {up_to or 'none'} (a dry run does not move it)"
    return f"{read}; next run after {up_to} (less the overlap)" if up_to else f"{read}; next run reads every row"


def options_in_effect(api: ApiSettings, run: RunOptions) -> dict[str, Any]:
    """The options a run used, as the report shows them (never the key: only where it came from)."""
    return {
        "api_url": public_url(api.url),
        "chunk_size": run.chunk_size,
        "concurrency": api.concurrency,
        "rate": api.rate,
        "timeout_s": api.timeout_s,
        "max_retries": api.max_retries,
        "max_retry_after_s": api.max_retry_after_s,
        "max_throttle_wait_s": api.max_throttle_wait_s,
        "max_rejects": str(run.max_rejects),
        "mapping": str(run.mapping) if run.mapping else None,
        "preset": run.preset,
        "encoding": run.encoding,
        "delimiter": run.delimiter,
        "changed_only": run.changed_only,
        "since_column": run.since_column,
        "since_overlap": run.since_overlap,
        "full": run.full,
        "resume": run.resume,
        "dry_run": run.dry_run,
        "state": None if run.dry_run else str(run.state),
    }
