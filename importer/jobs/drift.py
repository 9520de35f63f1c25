"""The drift gate: a nightly export that is suddenly empty, a tenth of its size or ten times it, stops
before anything is sent.

Every import run is filed under a *series*: its command, target (API URL and key hash), profile and
input names, digits masked (``orders-2026-12-03.csv`` and ``orders-2026-12-04.csv`` are one series,
``s3://exports/#-#-#/lines.csv.gz`` too). When every row is prepared, and before the first record is
sent, the gate compares the run's valid records (``records_built``) with

* ``min_records`` (``--min-records``): fewer stops the run, on any run but one let through;
* the median of the last ``HISTORY`` successful runs of the series (exit 0 or 1): a deviation of more
  than ``max_drift`` (``--max-drift``, default 50 %) either way, and by ``MIN_DIFFERENCE`` records at
  least, stops it. A first run (no history) and a
  ``full`` load (``--full``: a migration or a reload, not a night's delta) are not judged against it.

A stopped run sends nothing and exits 2 (as the error budget's stop), its valid rows held back in held.csv and
the numbers in its summary; ``accept_drift`` (``--accept-drift``) lets one run through, and it then
counts in the history like any other.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from importer.jobs.journal import Journal
from importer.settings import RunOptions

HISTORY = 5
MIN_DIFFERENCE = 10  # fewer records more or less are never drift: small files would stop on noise


def series_of(command: str, target: str, profile: str | None, names: Sequence[str]) -> str:
    """The series of a run: a hash of its command, target, profile and input names with digits masked."""
    masked = [re.sub(r"\d+", "#", name) for name in names]
    return hashlib.sha256(orjson.dumps([command, target, profile or "", masked])).hexdigest()[:24]


@dataclass(frozen=True)
class DriftGate:
    """What a run's valid-record count is judged against."""

    min_records: int | None
    max_drift: float | None  # a fraction (0.5 = 50 %); None: the median is not consulted
    history: tuple[int, ...]  # valid records of the last successful runs, newest first

    def judge(self, records: int) -> str | None:
        """Why the run must stop, in one sentence with the numbers; None when it may go on."""
        let_through = "nothing was sent (--accept-drift lets one run through)"
        if self.min_records is not None and records < self.min_records:
            return f"volume drift: {records:,} valid records < --min-records {self.min_records:,}; {let_through}"
        if self.max_drift is None or not self.history:
            return None
        median = statistics.median(self.history)
        if median <= 0:
            return None
        deviation = (records - median) / median
        if abs(deviation) <= self.max_drift or abs(records - median) < MIN_DIFFERENCE:
            return None
        return (f"volume drift: {records:,} valid records, {deviation:+.0%} from the median {median:,.0f} of the "
                f"last {len(self.history)} successful run{'s' if len(self.history) != 1 else ''} "
                f"(--max-drift {self.max_drift:.0%}); {let_through}")


def gate_for(journal: Journal, series: str, run: RunOptions) -> DriftGate | None:
    """The gate of a run that sends, or None when nothing is to be judged (``accept_drift``, no limits)."""
    if run.accept_drift or run.dry_run:
        return None
    max_drift = None if run.full or run.max_drift is None else run.max_drift
    history = tuple(s.records_built for s in journal.succeeded(series, HISTORY)) if max_drift is not None else ()
    if run.min_records is None and not history:
        return None
    return DriftGate(run.min_records, max_drift, history)
