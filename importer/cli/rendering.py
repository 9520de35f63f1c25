"""What a run prints: the full summary for a person at a terminal, one line for cron.

``--output auto`` (the default) prints the multi-line summary (and warnings on stderr) when stdout is a
terminal, and otherwise exactly one line on stdout at the end, so that a cron mail is one line (here
folded)::

    customers (shop-pl): imported with problems (exit 1): 23 read, 20 valid, 20 sent, 20 accepted,
    3 rejected, 0 failed; report reports/20261125T021500Z-9616/report.html

A dry run attempted nothing, so its line counts the valid rows that would be sent (``20 would be sent``),
never sent, accepted or failed ones; a run stopped before sending counts the valid rows it held back.

In ``line`` mode nothing else is printed: warnings go to the report (summary.json, report.html) only,
and run events are not printed, unless ``--log-format json`` asks for them as JSON lines on stderr
(warnings then are ``{"event": "warning", ...}`` lines too). Errors that stop a run before it has a
report are printed on stderr in every mode (one sentence and a hint, see ``importer.cli.group``).

Only counts, field names and paths are printed: never record contents (names, e-mail addresses,
values), which may be personal data and belong in the private report only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from importer.delivery.event_log import EventLog
from importer.report.outcome import outcome
from importer.report.summary import (
    ImportSummary,
    OperationSummary,
    RunSummary,
    VerifySummary,
    WarningLog,
    window_text,
)
from importer.resources import find, resource


class Console:
    """The printing choices of one command run."""

    def __init__(self, output: str = "auto", log_format: str = "text", terminal: bool | None = None) -> None:
        on_terminal = sys.stdout.isatty() if terminal is None else terminal
        self.one_line = output == "line" or (output == "auto" and not on_terminal)
        self.log_format = log_format
        self.warnings = WarningLog(self._show)

    @property
    def event_format(self) -> str:
        """The run's event log: as asked, except no text notes under cron (``quiet``)."""
        return "quiet" if self.one_line and self.log_format == "text" else self.log_format

    def _show(self, message: str) -> None:
        if not self.one_line:
            click.echo(f"Warning: {message}", err=True)
        elif self.log_format == "json":
            EventLog("json").emit("warning", text=message)

    def show(self, summary: RunSummary, target: str) -> None:
        """The run's summary on stdout: one line under cron, else the lines of its kind."""
        click.echo(summary_line(summary) if self.one_line else "\n".join(summary_lines(summary, target)))


def summary_line(s: RunSummary) -> str:
    """The one line: command (profile), outcome, exit code, row counts, and the report to open."""
    if isinstance(s, VerifySummary):  # its own counts, and no report.html (see importer.jobs.verify)
        found = "all match" if s.exit_code == 0 else "differences or problems found"
        counts = (
            f"{s.rows_read} read, {s.records_checked} checked, {s.records_matching} match, "
            f"{s.records_different} different, {s.records_missing} missing, {s.records_failed} failed"
        )
        counts += "".join(f", {c}" for c in s.set_aside_counts())
        return f"verify {s.kind}: {found} (exit {s.exit_code}): {counts}; report {s.report_dir}"
    assert isinstance(s, (ImportSummary, OperationSummary))
    profile = s.origin.get("profile") if isinstance(s, ImportSummary) else None
    who = (s.command or "import") + (f" ({profile})" if profile else "")
    valid = s.rows_valid if s.rows_valid is not None else s.rows_read
    held = s.rows_held if isinstance(s, ImportSummary) else 0
    if s.dry_run:  # nothing was attempted: no row was sent, accepted or failed
        would = "" if held else f", {s.rows_would_send or 0} would be sent"
        counts = f"{s.rows_read} read, {valid} valid{would}, {s.rows_rejected} rejected"
        counts += f", {held} held back (a real run would send none)" if held else ""
    else:
        counts = (
            f"{s.rows_read} read, {valid} valid, {s.rows_sent or 0} sent, {s.rows_accepted} accepted, "
            f"{s.rows_rejected} rejected, {s.rows_failed} failed"
        )
        counts += f", {held} held back (not sent)" if held else ""
        counts += f", {s.rows_uncertain} uncertain" if isinstance(s, ImportSummary) and s.rows_uncertain else ""
    if isinstance(s, OperationSummary) and s.rows_not_found:
        counts += f", {s.rows_not_found} not found"
    counts += "".join(f", {c}" for c in s.set_aside_counts())
    report = Path(s.report_dir or ".") / "report.html"
    return f"{who}: {outcome(s).short} (exit {s.exit_code}): {counts}; report {report}"


def summary_lines(s: RunSummary, target: str) -> list[str]:
    """The multi-line summary of a run into ``target``."""
    if isinstance(s, ImportSummary):
        return import_lines(s, target)
    if isinstance(s, OperationSummary):
        return operation_lines(s, target)
    assert isinstance(s, VerifySummary)
    return verify_lines(s, target)


def import_lines(s: ImportSummary, target: str) -> list[str]:
    """customers and orders."""
    verb = "checked (dry run, nothing sent)" if s.dry_run else f"imported into {target}"
    lines = [f"{s.command}: {s.rows_read} rows read from {', '.join(s.files)}, {verb}"]
    if s.read_as:
        lines.append(_line("read as", s.read_as))
    if s.window:
        lines.append(_line("window", window_text(s.window)))
    if s.dry_run:
        valid = f"{s.rows_would_send or 0} valid (would be sent)" if not s.stopped else f"{s.rows_valid} valid"
        lines.append(_line("rows", f"{valid}, {s.rows_rejected} rejected{_blank(s)}"))
        lines.append(_line(s.command, f"{s.records_built} built  ({s.duration_s:.2f} s)"))
        if s.payloads_file:
            lines.append(_line("payloads", s.payloads_file))
    else:
        held = f", {s.rows_held} held back" if s.rows_held else ""
        held += f", {s.rows_uncertain} uncertain (sent, no answer)" if s.rows_uncertain else ""
        lines.append(
            _line(
                "rows",
                f"{s.rows_accepted} accepted, {s.rows_rejected} rejected, {s.rows_failed} failed{held}{_blank(s)}",
            )
        )
        lines.append(
            _line(
                s.command,
                f"{s.records_built} built, {s.records_sent} sent in "
                f"{_count(s.requests, 'request')}, {s.records_accepted} accepted  "
                f"({s.duration_s:.2f} s)",
            )
        )
    taken = {name: n for name, n in (s.orders_conflicts_taken or {}).items() if n}
    if taken:
        naming = resource(s.command).naming
        lines.append(
            _line(
                "conflicts",
                "lines disagreed, one line's value taken (the mapping's conflict): "
                + ", ".join(f"{name} in {naming.count(n)}" for name, n in taken.items()),
            )
        )
    if s.stopped or s.aborted:
        lines.append(_line("stopped", s.stopped or s.aborted or ""))
    if s.rows_held:
        sent = "a real run would send none of them" if s.dry_run else "nothing was sent (they are in held.csv)"
        lines.append(_line("held back", f"{_count(s.rows_held, 'valid row')}: {sent}"))
    lines.append(_line("report", s.report_dir))
    lines.append(_line("", "report.html: the run at a glance (open it in a browser)"))
    return lines + _files(
        [
            (s.rejected_file, "rows to fix and re-import"),
            (s.failed_file, "rows whose sending failed: import again to retry"),
            (s.uncertain_file, "events sent without an answer: perhaps stored, not resent by --resume"),
            (s.held_file, "valid rows held back by the stop: import them with the fixed rows"),
            (s.unmatched_file, "rows the mapping dropped: no match in a joined file"),
            (s.left_out_file, "rows the mapping's leave_out rules left out, with the reasons"),
        ]
    )


def operation_lines(s: OperationSummary, target: str) -> list[str]:
    """order-status and delete-orders."""
    declared = find(s.command)  # (None for undo: its deletes are counted as an operation's, not found left out)
    deletes = declared is not None and declared.not_found_apart
    noun = declared.naming.plural if declared is not None else "orders"  # (undo deletes the orders a run created)
    verb = "checked (dry run, nothing sent)" if s.dry_run else f"sent to {target}"
    lines = [f"{s.command}: {s.rows_read} rows read from {', '.join(s.files)}, {verb}"]
    not_found = f", {s.rows_not_found} not found" if deletes else ""
    if s.dry_run:
        lines.append(
            _line("rows", f"{s.rows_would_send or 0} valid (would be sent), {s.rows_rejected} rejected{_blank(s)}")
        )
        lines.append(_line(noun, f"{s.records_built} to be {s.done}  ({s.duration_s:.2f} s)"))
        lines.append(_line("payloads", str(s.payloads_file)))
    else:
        lines.append(
            _line(
                "rows",
                f"{s.rows_accepted} accepted, {s.rows_rejected} rejected, {s.rows_failed} failed{not_found}{_blank(s)}",
            )
        )
        found = f", {s.records_not_found} not found" if deletes else ""
        lines.append(
            _line(
                noun,
                f"{s.records_built} to be {s.done}, {s.records_sent} sent in "
                f"{_count(s.requests, 'request')}, {s.records_accepted} {s.done}{found}"
                f"  ({s.duration_s:.2f} s)",
            )
        )
    if s.aborted:
        lines.append(_line("stopped", s.aborted))
    lines.append(_line("report", s.report_dir))
    return lines + _files(
        [
            (s.rejected_file, "rows to fix and send again"),
            (s.failed_file, f"rows to send again (ecdp-import {s.command} failed.csv)"),
            (s.not_found_file, "orders the platform does not hold: check these ids"),
        ]
    )


def verify_lines(s: VerifySummary, target: str) -> list[str]:
    """verify customers|orders."""
    noun = s.kind
    sampled = f"a sample of {s.records_checked} of {s.records_built}" if s.sample else "all"
    lines = [
        f"verify {noun}: {s.rows_read} rows read from {', '.join(s.files)}, compared with {target}",
        _line(
            noun,
            f"{s.records_checked} checked ({sampled}): {s.records_matching} match, "
            f"{s.records_different} different, {s.records_missing} missing, "
            f"{s.records_failed} failed  ({s.duration_s:.2f} s)",
        ),
    ]
    if s.fields_different:
        counts = ", ".join(f"{name} ({n})" for name, n in s.fields_different.items())
        lines.append(_line("differ", counts))
    if s.rows_invalid:
        lines.append(_line("rows", f"{s.rows_invalid} not checked: invalid in the file, so never sent"))
    if s.rows_set_aside:
        lines.append(
            _line(
                "rows",
                "; ".join(
                    s.set_aside_counts(
                        blank="blank, skipped",
                        unmatched="unmatched, dropped by the mapping",
                        left_out="left out by the mapping",
                    )
                ),
            )
        )
    if s.aborted:
        lines.append(_line("stopped", s.aborted))
    lines.append(_line("report", s.report_dir))
    return lines + _files(
        [
            (s.mismatched_file, "rows whose record differs in the platform (_error names the fields)"),
            (s.missing_file, "rows whose record the platform does not hold: import it to fill the gap"),
            (s.failed_file, "rows that could not be read back (verify it again)"),
            (s.rejected_file, "rows invalid in the file"),
            (s.unmatched_file, "rows the mapping dropped: no match in a joined file"),
            (s.left_out_file, "rows the mapping's leave_out rules left out, with the reasons"),
        ]
    )


def _blank(s: RunSummary) -> str:
    """The rows set aside, for a summary's rows line: ", 3 blank (skipped), 2 unmatched (dropped), 1 left out
    (by the mapping)"."""
    return "".join(
        f", {c}"
        for c in s.set_aside_counts(
            blank="blank (skipped)", unmatched="unmatched (dropped)", left_out="left out (by the mapping)"
        )
    )


def _files(files: list[tuple[str | None, str]]) -> list[str]:
    return [_line("", f"{Path(path).name}: {what}") for path, what in files if path]


def _line(label: str, text: str) -> str:
    return f"  {label + ':' if label else '':<11}{text}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
