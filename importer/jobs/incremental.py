"""Incremental loads (``--since-column``): a watermark per job in the journal, the window a run reads, and
the watermark a run leaves.

A *job* is a run's series (``importer.jobs.drift.series_of``: what it reads and where it sends it), its
cursor column and its shard. Its watermark (journal table ``watermarks``) is a cursor value such that every
row at or below it *landed*: accepted, rejected for good (by validation or by the API), already in the
platform (``--resume``, ``--changed-only``), or set aside by the mapping. A run reads the rows after the
watermark minus the overlap (``--since-overlap``: rows committed late, with a cursor below ones already
read), and rows without a cursor; ``--full`` reads everything and starts the watermark again.

When the run ends (a dry run and a run stopped by an error store nothing), the new watermark is

* the greatest cursor read, when every row read landed (never below the old watermark);
* else, with L the least cursor of the rows that did not land (failed to send, held back by the error
  budget, the drift gate or a stop), the greatest cursor read below L (the input read again for it), or
  the old watermark if it is below L, or the window's start (rows at or below it were not read, and had
  landed): every row at or below it landed, and the next run reads L again. None of these (a first run
  whose least row failed): no watermark, and the next run reads everything.

A query's condition is pushed into its SQL (``push_down``, before the query runs), with its start as a
bound parameter of the column's type; the column must exist and be a timestamp, date or number (a text
column is read whole and windowed as a file's, parsed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from importer.errors import InputError
from importer.inputs.databases import SqlQuery
from importer.inputs.locations import Source, series_names
from importer.inputs.query_windows import can_window, column_type, windowed
from importer.inputs.windows import Value, Watermark, Window, bound_for, check_overlap, cursor_kind, overlap_of, shown
from importer.jobs import drift
from importer.jobs.journal import Journal, target_of
from importer.settings import ApiSettings, RunOptions

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def job_of(series: drift.Series, run: RunOptions) -> str:
    """The journal's name of a run's incremental job: its series, cursor column and shard."""
    return f"{series.id}#{run.since_column}#{run.shard or ''}"


def window_for(journal: Journal | None, series: drift.Series, run: RunOptions) -> Window | None:
    """The window a run reads (None without ``--since-column``): after its job's watermark, unless ``--full``.
    Without a journal (a dry run), the state file is read if it exists, and never written."""
    if not run.since_column:
        return None
    check_overlap(run.since_overlap)
    found = None
    if not run.full:
        if journal is not None:
            found = journal.watermark(job_of(series, run))
        elif run.state.exists():
            reader = Journal(run.state)
            try:
                found = reader.watermark(job_of(series, run))
            finally:
                reader.close()
    mark = Watermark(found[0], found[1]) if found and found[1] is not None else None
    return Window(run.since_column, mark, run.since_overlap)


def push_down(command: str, sources: Sequence[Source], api: ApiSettings, run: RunOptions) -> list[Source]:
    """``sources`` with each query's SQL windowed (``importer.inputs.query_windows.windowed``), after checking
    that the cursor column is in its result and can order rows (else an ``InputError``, exit 2, before
    anything is sent)."""
    listed = list(sources)
    if not run.since_column or not any(isinstance(source, SqlQuery) for source in listed):
        return listed
    window = window_for(None, drift.series_of(command, target_of(api), run, series_names(listed)), run)
    assert window is not None
    column = run.since_column
    pushed: list[Source] = []
    for source in listed:
        if isinstance(source, SqlQuery) and can_window(source):  # (other drivers: windowed as the rows are read)
            dtype = column_type(source, column)
            if dtype is None:
                raise InputError(
                    f"--since-column {column!r} is not a column of the query's result on {source.shown}.",
                    "Select the column that holds when a row last changed (e.g. updated_at).",
                )
            kind = cursor_kind(dtype)
            if kind is None:
                raise InputError(
                    f"--since-column {column!r} of the query on {source.shown} is of type {dtype}, "
                    "which cannot order rows.",
                    "Name a timestamp, date or number column (or cast it in the query).",
                )
            if kind and window.kind and kind != window.kind:
                raise InputError(
                    f"--since-column {column!r} of the query on {source.shown} holds {kind}s, but the "
                    f"job's watermark is a {window.kind}.",
                    "Run once with --full to read everything and start the watermark again.",
                )
            if kind:
                overlap_of(run.since_overlap, kind)  # (one that does not fit the column: refused now)
            bound = bound_for(window, dtype) if kind else None
            source = windowed(source, column, bound) if bound is not None else source
        pushed.append(source)
    return pushed


def next_watermark(window: Window, read_again: Callable[[], Iterator[pl.DataFrame]]) -> Watermark | None:
    """The watermark a run leaves (see the module's docstring); ``read_again`` reads the input again (only
    when some rows did not land). None: no row landed in order, and the next run reads everything."""
    old = window.watermark
    if window.kind is None:  # no row with a cursor was read
        return old
    old_value = old.parsed() if old is not None else None
    low = window.lowest_not_landed
    if low is None:
        if window.highest is None or window.highest_text is None:
            return old
        if old_value is not None and _le(window.highest, old_value):
            return old
        return Watermark(window.kind, window.highest_text)
    candidates: list[tuple[Value, str]] = []
    below = window.highest_below(read_again(), low)
    if below is not None:
        candidates.append(below)
    if old is not None and old_value is not None:
        start = window.start()
        if _lt(old_value, low):
            candidates.append((old_value, old.value))
        elif start is not None:
            candidates.append((start, shown(start)))
    if not candidates:
        return None
    best = max(candidates, key=lambda candidate: _key(candidate[0]))
    return Watermark(window.kind, best[1])


def closing(window: Window, next_mark: Watermark | None, stored: bool) -> dict[str, Any]:
    """The report's ``window``: what was read, and the watermark left (``up_to``; ``stored``: False in a dry
    run, which never moves it)."""
    return {**window.summary(), "up_to": next_mark.value if next_mark else None, "stored": stored}


def store(
    journal: Journal, series: drift.Series, run: RunOptions, window: Window, mark: Watermark | None, run_id: str
) -> None:
    """Keep the job's new watermark (before the run is marked finished)."""
    assert run.since_column is not None
    kind = mark.kind if mark else window.kind or ""
    journal.move_watermark(job_of(series, run), series.id, run.since_column, kind, mark.value if mark else None, run_id)


def _key(value: Value) -> Decimal:
    """A cursor value as an exact number (an instant: microseconds since 1970), for comparing."""
    return Decimal((value - _EPOCH) // timedelta(microseconds=1)) if isinstance(value, datetime) else value


def _lt(a: Value, b: Value) -> bool:
    return _key(a) < _key(b)


def _le(a: Value, b: Value) -> bool:
    return _key(a) <= _key(b)
