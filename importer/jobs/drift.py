"""The drift gate: a nightly export that is suddenly empty, a tenth of its size or ten times it, stops
before anything is sent.

Every import run is filed under a *series*: what it reads and where it sends it. Its command, target
(public API URL and key hash), profile, ``--series`` label, mapping (resolved path and a hash of its
content) or preset, the files the mapping names, and the command-line input names with digits masked
(``orders-2026-12-03.csv`` and ``orders-2026-12-04.csv`` are one series, ``s3://exports/#-#-#/lines.csv.gz``
too). Two imports that read different things never share a history; a changed mapping starts a new one.
When every row is prepared, and before the first record is sent, the gate compares the run's valid
records (``records_built``) with

* ``min_records`` (``--min-records``): fewer stops the run, on any run but one let through (a first run
  included);
* the median of the last ``HISTORY`` successful runs of the series (exit 0 or 1), once it has
  ``MIN_HISTORY`` of them: a deviation of more than ``max_drift`` (``--max-drift``, default 50 %) either
  way, and by ``MIN_DIFFERENCE`` records at least, stops it. A series with fewer earlier runs and a
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
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from importer.errors import InputError
from importer.inputs.mapping import load_mapping
from importer.jobs.journal import Journal
from importer.settings import RunOptions

HISTORY = 5
MIN_HISTORY = 3  # fewer earlier successful runs are no history: one or two runs are not a job's usual volume
MIN_DIFFERENCE = 10  # fewer records more or less are never drift: small files would stop on noise
NAMED_FILES = 3  # file names a series' readable name lists before "and N more"


@dataclass(frozen=True)
class Series:
    """A run's series: ``id`` (a hash of what identifies it) and ``name`` (what ``runs`` shows)."""

    id: str
    name: str


def series_of(command: str, target: str, run: RunOptions, names: Sequence[str]) -> Series:
    """The series of a run of ``command`` to ``target`` (``journal.target_of``) reading ``names`` (the
    command-line inputs as the report names them) with ``run``'s mapping or preset, profile and label."""
    masked = [_masked(name) for name in names]
    mapping, mapped = _mapping_identity(run.mapping)
    profile, label = run.origin.get("profile") or "", run.series or ""
    identity = [command, target, profile, label, mapping, run.preset or "", mapped, masked]
    parts = [command, *([f"profile {profile}"] if profile else []), *([f"series {label}"] if label else [])]
    if run.mapping is not None:
        parts.append(f"mapping {run.mapping.name}")
    elif run.preset:
        parts.append(f"preset {run.preset}")
    files = [Path(name).name or name for name in [*masked, *mapped]]
    if files:
        more = len(files) - NAMED_FILES
        parts.append(", ".join(files[:NAMED_FILES]) + (f" and {more:,} more" if more > 0 else ""))
    host = urlsplit(target.rsplit("#", 1)[0]).netloc or target
    return Series(hashlib.sha256(orjson.dumps(identity)).hexdigest()[:24], " · ".join(parts) + f" → {host}")


def _masked(name: str) -> str:
    return re.sub(r"\d+", "#", name)


def _mapping_identity(path: Path | None) -> tuple[str, list[str]]:
    """(resolved path and SHA-256 of the mapping file, the files its sources name); empty without one.
    A mapping that cannot be read (the run stops on it) is its path alone."""
    if path is None:
        return "", []
    resolved = path.resolve()
    try:
        digest = hashlib.sha256(resolved.read_bytes()).hexdigest()
        sources = [shown for shown in (source.shown() for source in load_mapping(resolved).sources) if shown]
    except (OSError, InputError):
        return str(resolved), []
    return f"{resolved}#{digest}", sources


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
        if self.max_drift is None or len(self.history) < MIN_HISTORY:
            return None
        median = statistics.median(self.history)
        if median <= 0:
            return None
        deviation = (records - median) / median
        if abs(deviation) <= self.max_drift or abs(records - median) < MIN_DIFFERENCE:
            return None
        return (
            f"volume drift: {records:,} valid records, {deviation:+.0%} from the median {median:,.0f} of the "
            f"last {len(self.history)} successful run{'s' if len(self.history) != 1 else ''} "
            f"(--max-drift {self.max_drift:.0%}); {let_through}"
        )


def gate_for(journal: Journal, series: str, run: RunOptions) -> DriftGate | None:
    """The gate of a run that sends, or None when nothing is to be judged (``accept_drift``, no limits)."""
    if run.accept_drift or run.dry_run:
        return None
    max_drift = None if run.full or run.max_drift is None else run.max_drift
    history = tuple(s.records_built for s in journal.succeeded(series, HISTORY)) if max_drift is not None else ()
    if len(history) < MIN_HISTORY:
        history = ()  # too short a history to judge by
    if run.min_records is None and not history:
        return None
    return DriftGate(run.min_records, max_drift, history)
