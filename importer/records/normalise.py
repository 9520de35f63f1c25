"""Normalisation expressions shared by the resources (customers, orders).

Each function takes and returns a polars expression over string cells. The rule everywhere: a value
that can be normalised is rewritten in the form the API takes; a value that cannot is left exactly as
the user wrote it, so the schema check that follows fails *with that value* and the report shows it.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from schemas.customers import PHONE_PATTERN

_PHONE_SEPARATORS = r"[\s\-.()]"
_SAMPLE = 2_000  # values looked at to choose how ``per_value`` works
API_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"
#: A date-time that says its offset (``Z``, ``+02:00``, ``-0500``) after its time of day.
SAYS_OFFSET = r"[T ]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)$"
_FIRST_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"  # the usual form of a date-time in an export (after ``instant``'s tidying)
# Its most usual values, which ``_by_parts`` parses: whole seconds, an offset of hours and minutes (no
# leap second, no hour 24: those are left to the format's own parser).
_USUAL_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9][+-]([01][0-9]|2[0-3]):[0-5][0-9]$"


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Trimmed; an empty or blank cell is null ("absent")."""
    return expr.cast(pl.String).str.strip_chars().replace("", None)


def per_value(frame: pl.DataFrame, column: str, normalise: Callable[[pl.Series], pl.Series]) -> pl.DataFrame:
    """``frame`` with ``normalise`` (of a Series of the column's values) applied to ``column``, computed
    once per distinct value (for values that repeat, like an order's date on each of its lines; the
    result is the same as row by row)."""
    series = frame.get_column(column)
    sample = series.head(_SAMPLE)
    if sample.n_unique() * 2 > sample.len():  # mostly distinct (judged from the first values, which is cheap
        return frame.with_columns(normalise(series).alias(column))  # and only chooses how): no join
    values = series.unique().drop_nulls()
    table = pl.DataFrame({column: values, "_normalised": normalise(values)})
    normalised = frame.select(column).join(table, on=column, how="left", maintain_order="left")
    return frame.with_columns(normalised.get_column("_normalised").alias(column))  # (one column joined)


def of_series(normalise: Callable[[pl.Expr], pl.Expr]) -> Callable[[pl.Series], pl.Series]:
    """An expression's normalisation as one of a Series (for ``per_value``)."""
    return lambda values: values.to_frame().select(normalise(pl.col(values.name))).to_series()


def email(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase()


def phone(expr: pl.Expr) -> pl.Expr:
    """Without spaces, dashes, dots and parentheses when that makes a phone number; else as written.
    (The compact form is used once: an eager select computes a subexpression used twice twice.)"""
    compact = expr.str.replace_all(_PHONE_SEPARATORS, "")
    return pl.coalesce(compact.str.extract(f"({PHONE_PATTERN})"), expr)


def spelling(expr: pl.Expr, allowed: tuple[str, ...], aliases: dict[str, str] | None = None) -> pl.Expr:
    """The documented spelling of a case-insensitive enum value (or of an alias); other values unchanged."""
    mapping = {v.lower(): v for v in allowed} | {k.lower(): v for k, v in (aliases or {}).items()}
    return expr.str.to_lowercase().replace_strict(mapping, default=expr, return_dtype=pl.String)


def instant(expr: pl.Expr) -> pl.Expr:
    """Parse an ISO 8601 date or date-time (``T`` or a space; ``Z`` or an offset) as a UTC datetime.

    A date-time without an offset is taken as UTC; a date alone is midnight UTC. Null when unparsable.
    """
    iso = expr.str.replace(" ", "T").str.replace(r"[zZ]$", "+00:00")
    first, *with_offset = [
        iso.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
        for fmt in (_FIRST_FORMAT, "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%:z")
    ]
    naive = [
        iso.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")
    ]
    date_only = iso.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    # The first format that parses wins. Written as a ``when`` for speed: polars skips a branch that no
    # row takes, so when every value has the usual form the other five formats are never tried.
    return pl.when(first.is_not_null()).then(first).otherwise(pl.coalesce([*with_offset, *naive, date_only]))


def api_datetime(expr: pl.Expr) -> pl.Expr:
    """The instant as the API takes it (``YYYY-MM-DDTHH:MM:SS.fffZ``), or the value as written: also when
    the instant falls outside the years 0001-9999 the platform can hold (``9999-12-31T23:30-01:00``)."""
    return _as_api(instant(expr), expr)


def api_datetimes(values: pl.Series) -> pl.Series:
    """``api_datetime`` of each value, with the usual forms parsed first (``instants``)."""
    return (
        pl.DataFrame({values.name: values, "_moment": instants(values)})
        .select(_as_api(pl.col("_moment"), pl.col(values.name)).alias(values.name))
        .to_series()
    )


def instants(values: pl.Series) -> pl.Series:
    """``instant`` of each value (UTC datetimes), with the usual forms parsed first. A value without a
    space or a trailing ``Z`` is what ``instant`` tries its first format on, so where that format parses it
    the answer is the same; a value of ten characters that is a date is one no date-time format takes, so
    it is ``instant``'s date at midnight. The other formats are tried only on the values neither parses."""
    raw = pl.col(values.name)
    plain = ~raw.str.contains(" ", literal=True) & ~raw.str.ends_with("Z") & ~raw.str.ends_with("z")
    usual = (
        pl.when(raw.str.contains(_USUAL_SHAPE))
        .then(_by_parts(raw))
        .otherwise(raw.str.to_datetime(_FIRST_FORMAT, strict=False, time_zone="UTC", time_unit="us"))
    )
    day = raw.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    moments = (
        values.to_frame()
        .select(pl.when(plain & (raw.str.len_bytes() == 10)).then(day).when(plain).then(usual))
        .to_series()
    )
    others = (moments.is_null() & values.is_not_null()).arg_true()
    if others.len():
        moments = moments.scatter(others, values.gather(others).to_frame().select(instant(raw)).to_series())
    return moments.alias("_moment")


def _by_parts(raw: pl.Expr) -> pl.Expr:
    """A value of ``_USUAL_SHAPE`` as the UTC instant the usual format gives, parsed by parts: the date
    and time with polars' own parser for that plain format, the offset as two numbers (the offset format
    goes through a general parser, twice as slow; a value it takes differently, or not at all, is null
    here, so the caller's other formats decide, as before)."""
    local = raw.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us")
    minutes = raw.str.slice(20, 2).cast(pl.Int64) * 60 + raw.str.slice(23, 2).cast(pl.Int64)
    east = pl.when(raw.str.slice(19, 1) == "-").then(-minutes).otherwise(minutes)
    return (local - pl.duration(minutes=east)).dt.replace_time_zone("UTC")


def _as_api(moment: pl.Expr, written: pl.Expr) -> pl.Expr:
    within = moment.dt.year().is_between(1, 9999)
    return pl.when(within).then(moment.dt.strftime(API_DATETIME_FORMAT)).otherwise(written)


def json_number(expr: pl.Expr) -> pl.Expr:
    """A validated decimal text as a JSON number literal (``+5`` → ``5.0``, ``.5`` → ``0.5``)."""
    return expr.cast(pl.Float64, strict=False).cast(pl.String)


def json_integer(expr: pl.Expr) -> pl.Expr:
    """A validated whole-number text as a JSON integer literal (``+007`` → ``7``)."""
    return expr.str.strip_chars().cast(pl.Int64, strict=False).cast(pl.String)


def as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A typed column (Parquet, xlsx) as the strings a CSV export would hold: dates ISO 8601, booleans
    ``True``/``False``; lists and structs as they are (the orders stage flattens them)."""
    col = pl.col(name)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d").alias(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC")
        return col.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ" if dtype.time_zone else "%Y-%m-%dT%H:%M:%S%.3f").alias(name)
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("True")).when(~col).then(pl.lit("False")).alias(name)
    if dtype.is_nested():
        return col  # lists and structs are left for the resource module to interpret
    return col.cast(pl.String).alias(name)
