"""Incremental loads' windows: the rows after a watermark in a cursor column, compared in their type.

A ``Window`` names the cursor column (``--since-column``), the watermark the job's last run left (a
``Watermark``: its kind and value as text) and the overlap (``--since-overlap``). ``within`` lets the rows
of every batch through whose cursor is greater than the watermark minus the overlap, or empty (a row
that cannot be placed is always read), and counts the rest; it is applied where every input's batches
pass (``importer.inputs.batches``), so files, lake tables and query results are windowed alike. A query
gets the same condition pushed into its SQL as well (``importer.inputs.databases``), so the database does
the work; the filter here then lets every row through (its ``rows_outside`` is 0).

Values are compared as what they are, never as text: a file's text that reads as a number (``42``,
``-1.5``) is a number; one that reads as an ISO 8601 date or time (``2026-12-07``, ``2026-12-07 10:00``,
``2026-12-07T10:00:00.5+01:00``, ``…Z``) is an instant, a time without a zone taken as UTC and a date as
its midnight UTC; a column whose values are neither, or mixed, cannot order rows (``InputError``). A
query's typed column arrives as the same text (``records.normalise.as_text``), so one rule serves both.

While the rows pass, the window keeps the greatest cursor read (``highest``); the job keeps the least
cursor of the rows that did not land (``lowest_of``) and, when there are some, reads the input again for
the greatest cursor below it (``highest_below``): ``importer.jobs.incremental`` makes the next watermark.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from importer.errors import InputError, UsageError
from importer.frame import SOURCE_PREFIX
from importer.inputs.files import close_reader

NUMBER = "number"
INSTANT = "datetime"
KINDS = (NUMBER, INSTANT)
DEFAULT_OVERLAP = {NUMBER: "0", INSTANT: "10m"}  # a time cursor re-reads 10 minutes: rows committed late
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_ZONED = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
_LOCAL = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")
Value = Decimal | datetime
NUMBER_TYPE = pl.Decimal(38, 9)
_CURSOR = "_cursor"  # (a batch's parsed cursor, while it is filtered)


@dataclass(frozen=True)
class Watermark:
    """Where a job's last run left its cursor: every row at or below ``value`` landed."""

    kind: str  # NUMBER or INSTANT
    value: str  # a number as its file wrote it; an instant as ISO 8601 in UTC

    def parsed(self) -> Value:
        parsed = parse_value(self.value, self.kind)
        if parsed is None:
            raise InputError(
                f"The stored watermark {self.value!r} is not a {self.kind}.",
                "Run once with --full to read everything and start the watermark again.",
            )
        return parsed


def instants(expr: pl.Expr) -> pl.Expr:
    """ISO 8601 text as UTC instants (a zone given: converted; none: UTC; a date: its midnight); else null."""
    text = expr.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2})[ Tt]", "${1}T").str.replace(r"[Zz]$", "+00:00")
    return pl.coalesce(
        *[text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC") for f in _ZONED],
        *[text.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC") for f in _LOCAL],
        text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    )


def numbers(expr: pl.Expr) -> pl.Expr:
    """Text as exact numbers (decimals of up to 29 digits before the point and 9 after: a 64-bit id compares
    exactly, as a float would not); else null."""
    return expr.str.strip_chars().cast(NUMBER_TYPE, strict=False)


def parsed(expr: pl.Expr, kind: str) -> pl.Expr:
    return numbers(expr) if kind == NUMBER else instants(expr)


def parse_value(text: str, kind: str) -> Value | None:
    value = pl.select(parsed(pl.lit(text, pl.String), kind)).item()
    return value if isinstance(value, (Decimal, datetime)) else None


def shown(value: Value) -> str:
    """A cursor value as the watermark stores it (an instant in UTC, ISO 8601)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return format(value.normalize(), "f")


def overlap_of(text: str | None, kind: str) -> Decimal | timedelta:
    """``--since-overlap`` for a cursor of ``kind``: a duration (``30s``, ``10m``, ``2h``, ``1d``, ``1w``) for
    times, a number for numbers, ``0`` for either; None: the kind's default (10 minutes, 0)."""
    text = DEFAULT_OVERLAP[kind] if text is None else text
    duration, number = _DURATION.match(text), _NUMBER.match(text)
    if number and float(text) == 0:
        return timedelta(0) if kind == INSTANT else Decimal(0)
    if kind == INSTANT and duration:
        return timedelta(seconds=float(duration.group(1)) * _UNITS[duration.group(2)])
    if kind == NUMBER and number:
        return Decimal(text.strip())
    wanted = "a duration such as 10m, 2h or 1d" if kind == INSTANT else "a number such as 100"
    raise UsageError(f"--since-overlap {text.strip()!r} does not fit a cursor of {kind}s.", f"Give {wanted}, or 0.")


def check_overlap(text: str | None) -> None:
    """Refuse an overlap that fits no cursor, before anything is read."""
    if text is not None and not (_DURATION.match(text) or _NUMBER.match(text)):
        raise UsageError(
            f"--since-overlap {text.strip()!r} is neither a duration nor a number.",
            "Give a duration such as 10m, 2h or 1d for a time cursor, a number for a numeric one.",
        )


@dataclass
class Window:
    """The rows a run reads of its cursor column, and what it saw of them."""

    column: str
    watermark: Watermark | None = None  # the job's last one; None: everything is read (a first run, --full)
    overlap: str | None = None  # --since-overlap as given; None: the kind's default
    kind: str | None = None  # known from the watermark, or the first values read
    rows_outside: int = 0  # rows read before the window (at or below its start)
    rows_empty: int = 0  # rows without a cursor value: always read
    highest: Value | None = None
    highest_text: str | None = None
    _lowest_not_landed: Value | None = field(default=None, repr=False)
    _counted: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.watermark is not None:
            self.kind = self.watermark.kind

    def start(self) -> Value | None:
        """The window's start (exclusive): the watermark minus the overlap; None: from the first row."""
        if self.watermark is None:
            return None
        value, overlap = self.watermark.parsed(), overlap_of(self.overlap, self.watermark.kind)
        if isinstance(value, datetime):
            assert isinstance(overlap, timedelta)
            return value - overlap
        assert isinstance(overlap, Decimal)
        return value - overlap

    def within(self, batches: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        """``batches`` with only the window's rows (the highest cursor kept as they pass)."""
        start = self.start()
        try:
            yield from self._within(batches, start)
        finally:  # (closed early: the reader holds a piece of the file)
            close_reader(batches)

    def _within(self, batches: Iterator[pl.DataFrame], start: Value | None) -> Iterator[pl.DataFrame]:
        outside = empty = 0  # counted for the first whole pass (a run may read its input again)
        for batch in batches:
            column = self.cursor_column(batch)
            values = self._values(batch, column)
            inside = values.is_null() | (values > start) if start is not None else pl.lit(True)
            kept = batch.with_columns(values.alias(_CURSOR)).filter(inside)
            outside += batch.height - kept.height
            empty += kept.get_column(_CURSOR).null_count()
            self._see(kept.get_column(_CURSOR), kept.get_column(column))
            yield kept.drop(_CURSOR)
        if not self._counted:
            self._counted, self.rows_outside, self.rows_empty = True, outside, empty

    def cursor_column(self, batch: pl.DataFrame) -> str:
        """The cursor's column in a batch: the user's column (``_in.<name>`` in a mapped run's batches)."""
        for name in (SOURCE_PREFIX + self.column, self.column):
            if name in batch.columns:
                return name
        shown_columns = ", ".join(c for c in batch.columns if not c.startswith("_"))
        raise InputError(
            f"--since-column {self.column!r} is not a column of the input (it has: {shown_columns}).",
            "Name the column that holds when a row last changed (e.g. updated_at).",
        )

    def _values(self, batch: pl.DataFrame, column: str) -> pl.Expr:
        """The batch's cursor values in their kind (decided by the first values, then held to)."""
        text = pl.col(column).cast(pl.String)
        given = batch.select(text.str.strip_chars().alias("t")).filter(pl.col("t") != "")
        unreadable = given
        for kind in [self.kind] if self.kind else KINDS:
            unreadable = given.filter(parsed(pl.col("t"), kind).is_null())
            if unreadable.is_empty():
                if not given.is_empty() and self.kind is None:
                    overlap_of(self.overlap, kind)  # (an overlap that does not fit: refused before anything is sent)
                    self.kind = kind
                return parsed(text, kind)
        what = f"{self.kind}s (as the watermark)" if self.kind else "numbers or ISO 8601 dates and times"
        raise InputError(
            f"--since-column {self.column!r} cannot order the rows: its values are not all {what} "
            f"(e.g. {str(unreadable.item(0, 0))[:40]!r}).",
            "Name a column of numbers or ISO 8601 times, or run once with --full after its values changed kind.",
        )

    def _see(self, values: pl.Series, texts: pl.Series) -> None:
        top = values.max()
        if top is None or (self.highest is not None and top <= self.highest):  # type: ignore[operator]
            return
        assert isinstance(top, (Decimal, datetime))
        self.highest = top
        text = texts.filter(values == top).cast(pl.String).item(0) if self.kind == NUMBER else None
        self.highest_text = text.strip() if text else shown(top)

    def lowest_of(self, rows: pl.DataFrame) -> None:
        """Note the cursors of rows that did not land (failed, held back): user-view rows."""
        if self.column not in rows.columns or self.kind is None or rows.is_empty():
            return
        low = rows.select(parsed(pl.col(self.column).cast(pl.String), self.kind).min()).item()
        if low is not None and (self._lowest_not_landed is None or low < self._lowest_not_landed):
            self._lowest_not_landed = low

    @property
    def lowest_not_landed(self) -> Value | None:
        return self._lowest_not_landed

    def highest_below(self, batches: Iterator[pl.DataFrame], limit: Value) -> tuple[Value, str] | None:
        """The greatest cursor below ``limit`` among the window's rows of ``batches`` (the input read again)."""
        best: tuple[Value, str] | None = None
        start = self.start()
        for batch in batches:
            column = self.cursor_column(batch)
            kept = batch.select(
                parsed(pl.col(column).cast(pl.String), self.kind or NUMBER).alias("v"),
                pl.col(column).cast(pl.String).alias("t"),
            )
            kept = kept.filter(pl.col("v") < limit, *([pl.col("v") > start] if start is not None else []))
            if kept.is_empty():
                continue
            top = kept.get_column("v").max()
            assert isinstance(top, (Decimal, datetime))
            if best is None or top > best[0]:  # type: ignore[operator]
                text = kept.filter(pl.col("v") == top).item(0, "t") if self.kind == NUMBER else shown(top)
                best = (top, str(text).strip())
        return best

    def summary(self) -> dict[str, Any]:
        """What the report says of the window read (``up_to`` is added by the job)."""
        start = self.start()
        return {
            "column": self.column,
            "watermark": self.watermark.value if self.watermark else None,
            "overlap": (self.overlap or DEFAULT_OVERLAP[self.kind]) if self.kind else self.overlap,
            "after": shown(start) if start is not None else None,
            "kind": self.kind,
            "rows_outside": self.rows_outside,
            "rows_empty": self.rows_empty,
        }


def bound_for(window: Window, dtype: pl.DataType) -> Any | None:
    """The window's start as a query parameter of a column typed ``dtype`` (a timestamp with or without
    zone, a date, an integer or another number); None when the start is open or the type is text (read
    whole, filtered as rows are read)."""
    start = window.start()
    if start is None:
        return None
    if isinstance(start, datetime):
        if isinstance(dtype, pl.Datetime):
            return start if dtype.time_zone else start.astimezone(UTC).replace(tzinfo=None)
        if isinstance(dtype, pl.Date):  # a date d is after the start when its midnight is
            floor: date = start.astimezone(UTC).date()
            return floor
        return None
    if dtype.is_integer():
        return math.floor(start)
    if dtype.is_float():
        return float(start)
    if isinstance(dtype, pl.Decimal) or _numeric_extension(dtype):
        return start
    return None


def cursor_kind(dtype: pl.DataType) -> str | None:
    """The kind of cursor a query column typed ``dtype`` is; None: it cannot order rows (booleans, bytes,
    nested values)."""
    if isinstance(dtype, (pl.Datetime, pl.Date)):
        return INSTANT
    if dtype.is_numeric() or _numeric_extension(dtype):
        return NUMBER
    if dtype in (pl.String, pl.Null) or isinstance(dtype, pl.Extension):  # text: parsed as a file's (SQLite
        return ""  # keeps times as text)
    return None


def _numeric_extension(dtype: pl.DataType) -> bool:
    """PostgreSQL's ``numeric`` as ADBC gives it: an opaque extension type whose storage is its text."""
    return isinstance(dtype, pl.Extension) and '"numeric"' in str(dtype)
