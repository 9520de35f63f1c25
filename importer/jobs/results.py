"""What a run hands back to its caller: the typed summary, the report's files, and its rows on request.

``RunResult`` is what every job returns (imports, order status, deletes, verify, retry). Its counts are
the summary's (``result.summary.rows_accepted``, ``result.exit_code``); ``files`` names the report's
files that exist; ``rejected()``, ``failed()`` and ``unmatched()`` read the rows of those files as polars
DataFrames of strings (``_error``, ``_field``, ``_stage``, ... and the row's own columns), when asked:
a run that rejected a million rows does not hold them in memory for a caller who only wants counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from importer.report.summary import RunSummary

Warn = Callable[[str], None]
LOGGER = logging.getLogger("ecdp_importer")
REPORT_FILES = (
    "summary.json",
    "report.html",
    "rejected.csv",
    "failed.csv",
    "held.csv",
    "unmatched.csv",
    "not_found.csv",
    "mismatched.csv",
    "missing.csv",
    "errors.jsonl",
    "payloads.jsonl",
)


def log_warning(message: str) -> None:
    """The default warning sink of a library call: the ``ecdp_importer`` logger (the CLI prints them)."""
    LOGGER.warning(message)


def finished(result: RunResult) -> str:
    """One line of what a run did, for a task's log: ``customers run 2026…: exit 1; 13 rows read, ...``."""
    counts = result.summary.to_dict()
    shown = [
        f"{counts[name]} {label}"
        for name, label in (
            ("rows_read", "read"),
            ("rows_accepted", "accepted"),
            ("rows_would_send", "would be sent"),
            ("rows_rejected", "rejected"),
            ("rows_failed", "failed"),
            ("rows_held", "held back"),
            ("rows_uncertain", "uncertain"),
            ("rows_not_found", "not found"),
            ("rows_different", "different"),
            ("rows_missing", "missing"),
        )
        if counts.get(name)
    ]
    return (
        f"{result.summary.command} run {result.summary.run_id}: exit {result.exit_code}; "
        f"{', '.join(shown) or 'no rows'}; report in {result.report_dir}"
    )


@dataclass(frozen=True)
class RunResult:
    """What a run did: its summary (``summary.json`` holds it too) and where the report is."""

    summary: RunSummary
    report_dir: Path

    @property
    def exit_code(self) -> int:
        """0 every row done, 1 some rows left out (rejected, failed, different), 2 nothing sent, 3 key refused
        (a run that raised ``LocalFault`` after sending has exit 4: ``error.summary`` holds its counts)."""
        return self.summary.exit_code

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def files(self) -> dict[str, Path]:
        """The report's files that exist, by name (``rejected.csv`` -> its path)."""
        return {name: self.report_dir / name for name in REPORT_FILES if (self.report_dir / name).is_file()}

    def rejected(self) -> pl.DataFrame:
        """The rows to fix (``rejected.csv``), every cell a string; an empty frame when there are none."""
        return self.rows("rejected.csv")

    def failed(self) -> pl.DataFrame:
        """The valid rows whose sending failed (``failed.csv``): import them again to retry."""
        return self.rows("failed.csv")

    def held(self) -> pl.DataFrame:
        """The valid rows a stop before sending held back (``held.csv``: the error budget, the drift gate):
        never sent; import them once the run's rejected rows are fixed (or with them)."""
        return self.rows("held.csv")

    def unmatched(self) -> pl.DataFrame:
        """The rows a mapping dropped because a join found nothing for them (``unmatched.csv``)."""
        return self.rows("unmatched.csv")

    def rows(self, name: str) -> pl.DataFrame:
        """The rows of one of the report's CSV files, as strings (cells the report neutralised keep their
        leading ``'``, as the file has them); an empty frame when the run wrote no such file."""
        path = self.report_dir / name
        if not path.is_file():
            return pl.DataFrame()
        return pl.read_csv(path, infer_schema=False)
