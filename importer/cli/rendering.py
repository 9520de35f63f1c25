"""What a run prints: the full summary for a person at a terminal, one line for cron.

``--output auto`` (the default) prints the multi-line summary (and warnings on stderr) when stdout is a
terminal, and otherwise exactly one line on stdout at the end, so that a cron mail is one line::

    customers (shop-pl): imported with problems (exit 1): 23 read, 20 valid, 20 sent, 20 accepted, 3 rejected, 0 failed; report reports/20261125T021500Z-9616/report.html

In ``line`` mode nothing else is printed: warnings go to the report (summary.json, report.html) only,
and run events are not printed, unless ``--log-format json`` asks for them as JSON lines on stderr
(warnings then are ``{"event": "warning", ...}`` lines too). Errors that stop a run before it has a
report are printed on stderr in every mode (one sentence and a hint, see ``importer.cli.group``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from importer.delivery.event_log import EventLog
from importer.report.outcome import outcome
from importer.report.summary import WarningLog

OUTPUTS = ("auto", "full", "line")
OUTPUT_OPTION = click.option(
    "--output", type=click.Choice(OUTPUTS), default="auto", show_default=True,
    help="What to print: full (the summary over several lines, warnings on stderr), line (one summary line "
         "on stdout and nothing else: for cron), auto (full on a terminal, else line).")


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


def summary_line(s: dict[str, Any]) -> str:
    """The one line: command (profile), outcome, exit code, row counts, and the report to open."""
    profile = (s.get("origin") or {}).get("profile")
    who = f"{s.get('command', 'import')}" + (f" ({profile})" if profile else "")
    read = s.get("rows_read", 0)
    counts = (f"{read} read, {s.get('rows_valid', read)} valid, {s.get('rows_sent', 0)} sent, "
              f"{s.get('rows_accepted', 0)} accepted, {s.get('rows_rejected', 0)} rejected, {s.get('rows_failed', 0)} failed")
    report = Path(str(s.get("report_dir", "."))) / "report.html"
    if s.get("command") == "verify":  # its own counts, and no report.html (see importer.jobs.verify)
        found = "all match" if s.get("exit_code") == 0 else "differences or problems found"
        counts = (f"{read} read, {s.get('records_checked', 0)} checked, {s.get('records_matching', 0)} match, "
                  f"{s.get('records_different', 0)} different, {s.get('records_missing', 0)} missing, "
                  f"{s.get('records_failed', 0)} failed")
        return f"verify {s.get('kind', '')}: {found} (exit {s.get('exit_code')}): {counts}; report {s.get('report_dir')}"
    if s.get("rows_not_found"):
        counts += f", {s['rows_not_found']} not found"
    return f"{who}: {outcome(s).short} (exit {s.get('exit_code')}): {counts}; report {report}"
