"""Run a pandera schema over a frame and turn its failure cases into per-row reasons.

Reasons are built from pandera's structured ``failure_cases`` (``index``, ``column``, ``check_number``)
and the schema's own ``Check`` objects (name, statistics, custom error), never by parsing message text.
Message templates are made once per (column, check), then filled in with polars expressions, so the
cost does not grow with a Python loop over failing rows.

The result is a *reasons* frame: one row per failure with ``_rid``, ``_field``, ``_error``. Callers
collect reasons from several sources (schema, duplicates, grouping) and hand them to ``reject``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import polars as pl

from importer.errors import InputError, listed
from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    REASONS_SCHEMA,
    REJECT_COL,
    RID_COL,
    SOLE_REASON_COLUMNS,
    UNJOINED_COL,
    UNREADABLE_COL,
    no_reasons,
)
from importer.records import schema_screen
from schemas.common import (
    COARSE_CHECKS,
    MAX_LENGTH,
    NUMBER,
    SPREADSHEET_ERROR,
    SPREADSHEET_NUMBER,
    VALUE,
    WHOLE_NUMBER,
    utf16_units,
)

MAX_VALUE_SHOWN = 60
#: Why an id a spreadsheet rewrote is refused, and how to get the file right (after the value).
SPREADSHEET_NUMBER_REASON = (
    "' is an id a spreadsheet rewrote as a number (scientific notation, or lost digits as zeros): the file was "
    "re-saved by a spreadsheet; export it again from its source and import that file unopened (or open the CSV "
    "in the spreadsheet with this column as Text)"
)


@dataclass(frozen=True)
class Prepared:
    """What a resource stage hands to the job: records to send, and reasons for rows left out."""

    records: pl.DataFrame  # _rid (one row id, or the list of an order's row ids), _json, _key
    reasons: pl.DataFrame  # one row per rejected input row: _rid, _field, _error
    ignored: list[str] = field(default_factory=list)  # input columns that are not fields
    notes: dict[str, Any] = field(default_factory=dict)  # resource-specific counts for the summary
    warnings: list[str] = field(default_factory=list)  # for the user, once per run (the pre-flight's)
    # order lines a mapping left out ([[leave_out]]) of orders made records of: _rid, _field, _error (the reason)
    left_out: pl.DataFrame = field(default_factory=no_reasons)


#: Columns in which an earlier stage (reader, mapping) says why a row cannot be imported.
PRE_REJECT_COLUMNS = (UNREADABLE_COL, UNJOINED_COL, REJECT_COL)


def pre_rejected(frame: pl.DataFrame) -> pl.DataFrame:
    """Reasons the reader or the mapping already found (unparseable lines, join misses, unmapped values);
    a line that could not be parsed, or whose join missed, has that reason alone."""
    present = [c for c in PRE_REJECT_COLUMNS if c in frame.columns]
    if not present:
        return no_reasons()
    reason = pl.concat_str([pl.col(c) for c in present], separator="; ", ignore_nulls=True)
    for column in reversed([c for c in SOLE_REASON_COLUMNS if c in present]):
        reason = pl.when(pl.col(column).is_not_null()).then(pl.col(column)).otherwise(reason)
    return (
        frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in present))
        .select(RID_COL, pl.lit("").alias(FIELD_COL), reason.alias(ERROR_COL))
        .unique(RID_COL, keep="first", maintain_order=True)
    )


def _sole(frame: pl.DataFrame) -> pl.Expr | None:
    """True for rows whose pre-rejection stands alone (None: ``frame`` has no such column)."""
    present = [pl.col(c).is_not_null() for c in SOLE_REASON_COLUMNS if c in frame.columns]
    return pl.any_horizontal(present) if present else None


def readable(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows worth checking: not a line the reader could not parse (its cells are all empty), nor a row
    a mapping's join found nothing for (its joined cells are empty); ``pre_rejected`` reports those."""
    sole = _sole(frame)
    return frame if sole is None else frame.filter(~sole)


def readable_rows(rows: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (derived from ``frame``, by ``_rid``) without those of ``frame``'s rows that ``readable``
    leaves out; when it leaves out none, ``rows`` as they are (no join)."""
    if _sole(frame) is None:
        return rows
    return rows.join(readable(frame).select(RID_COL).unique(), on=RID_COL, how="semi")


def sole_reasons(frame: pl.DataFrame, reasons: pl.DataFrame) -> pl.DataFrame:
    """``reasons`` where the rows ``readable`` leaves out have their pre-rejection alone (an order line
    whose join missed would otherwise also carry its order's reasons, e.g. "date: is required")."""
    sole = _sole(frame)
    if sole is None:
        return reasons
    alone = pre_rejected(frame.filter(sole))
    if alone.is_empty():
        return reasons
    return pl.concat([reasons.join(alone.select(RID_COL), on=RID_COL, how="anti"), alone]).sort(RID_COL)


def require_flat(frame: pl.DataFrame, columns: list[str]) -> None:
    """InputError when a field column holds nested values (a Parquet list or struct): text, numbers,
    dates and booleans can be checked and sent; a list rendered as text would be sent as nonsense."""
    schema = frame.schema  # (built anew at each access: once, not per column)
    nested = [c for c in columns if (dtype := schema.get(c)) is not None and dtype.is_nested()]
    if nested:
        raise InputError(
            f"The column {nested[0]!r} holds nested values ({schema[nested[0]]}), not text or numbers.",
            "Export it as a plain column, or leave it out of the file.",
        )


def ignored_warning(what: str, columns: Sequence[str], shown: int = 20) -> str:
    """The warning naming input columns that are not fields: the first ``shown`` of them, then a count
    (a file with thousands of columns must not make a line of many kilobytes)."""
    more = " (all in summary.json)" if len(columns) > shown else ""
    return f"Ignored columns (not {what}): {listed(columns, shown=shown)}{more}."


def schema_reasons(
    frame: pl.DataFrame,
    schema: pa.DataFrameSchema,
    pattern_meanings: Mapping[str, str],
    required_meanings: Mapping[str, str],
) -> pl.DataFrame:
    """Every way each row of ``frame`` breaks ``schema``, as a reasons frame (empty when all pass).

    The failure cases are those ``importer.records.schema_screen`` finds (pandera's own, made without pandera's cost per
    check and per call); pandera validates the whole frame only when the schema cannot be screened."""
    found = schema_screen.failing(frame, schema, COARSE_CHECKS)
    if found is not None and not found.columns:
        return no_reasons()
    if found is not None:
        frame = frame[found.rows]
        cases = schema_screen.failure_cases(frame, found)
        if not cases.height:
            return no_reasons()
    else:
        try:
            schema.validate(_columns_checked(frame, schema), lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
        else:
            return no_reasons()
    frame_level = cases.filter(pl.col("index").is_null())
    if frame_level.height:
        # Column presence and dtypes are arranged by the caller; reaching this is a bug worth stating.
        first = frame_level.row(0, named=True)
        raise InputError(f"Internal schema mismatch on column {first['column']}: {first['check']}.")
    templates = pl.DataFrame(
        [
            (
                *_template(schema, column, check_number, pattern_meanings, required_meanings),
                _stands_alone(schema, column, check_number),
            )
            for column, check_number in cases.select("column", "check_number").unique().iter_rows()
        ],
        schema={
            "column": pl.String,
            "check_number": pl.Int32,
            "prefix": pl.String,
            "shows": pl.String,
            "suffix": pl.String,
            "alone": pl.Boolean,
        },
        orient="row",
    )
    # A reason that stands alone for its value (an id a spreadsheet rewrote is not also "not a phone number").
    alone = pl.col("alone").any().over("index", "column")
    value = pl.col("failure_case").cast(pl.String)
    # Each value as its reason shows it, first: the cases' values go no further (a 50 MB cell that fails
    # three checks would be copied by every join and branch below, ~17 times the cell in all).
    cases = cases.select(
        "column", "check_number", "index", utf16_units(value).alias("length"), _shorten(value).alias("value")
    )
    shown = (
        pl.when(pl.col("shows") == "length")
        .then(pl.col("length").cast(pl.String))
        .when(pl.col("shows") == "value")
        .then(pl.col("value"))
        .otherwise(pl.lit(""))
    )
    row_ids = frame.select(pl.int_range(pl.len(), dtype=pl.Int32).alias("index"), RID_COL)
    return (
        cases.join(templates, on=["column", "check_number"], how="left", nulls_equal=True)
        .filter(pl.col("alone") | ~alone)
        .join(row_ids, on="index")
        .select(
            RID_COL,
            pl.col("column").alias(FIELD_COL),
            pl.concat_str([pl.col("column"), pl.lit(": "), pl.col("prefix"), shown, pl.col("suffix")]).alias(ERROR_COL),
        )
        .sort(RID_COL, maintain_order=True)
    )


def column_group_reasons(
    frame: pl.DataFrame, columns: Sequence[str], schema: pa.DataFrameSchema, pattern_meanings: Mapping[str, str]
) -> pl.DataFrame:
    """Every way each row of ``frame`` breaks ``schema`` (a ``schemas.common.value_schema``) in any of
    ``columns``, as a reasons frame naming the column: the columns are checked alike, so they are checked
    in long form, one cell a row (a run's cost grows with its cells, not with the square of its columns)."""
    if not columns:
        return no_reasons()
    checks = schema.columns[VALUE]
    skip_empty = checks.nullable and all(check.ignore_na for check in checks.checks)  # (an empty cell passes)
    cells = frame.select(RID_COL, *[pl.col(c).cast(pl.String) for c in columns]).unpivot(
        index=RID_COL, on=list(columns), variable_name=FIELD_COL, value_name=VALUE
    )
    if skip_empty:
        cells = cells.filter(pl.col(VALUE).is_not_null())
    cells = cells.with_row_index(_CELL, offset=0)
    reasons = schema_reasons(
        cells.select(pl.col(_CELL).cast(pl.Int64).alias(RID_COL), VALUE), schema, pattern_meanings, {}
    )
    if reasons.is_empty():
        return reasons
    named = reasons.join(
        cells.select(pl.col(_CELL).cast(pl.Int64), RID_COL, FIELD_COL), left_on=RID_COL, right_on=_CELL, suffix="_cell"
    )
    return named.sort(f"{RID_COL}_cell", RID_COL, maintain_order=True).select(  # (a row's columns in file order)
        pl.col(f"{RID_COL}_cell").alias(RID_COL),
        pl.col(f"{FIELD_COL}_cell").alias(FIELD_COL),
        (pl.col(f"{FIELD_COL}_cell") + pl.col(ERROR_COL).str.slice(len(VALUE))).alias(ERROR_COL),
    )


_CELL = "_cell"


def _columns_checked(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """The columns of ``frame`` that ``schema`` checks (pandera's per-validation cost grows with the frame's
    width: a quarter of it for an order line's 35 columns), or ``frame`` itself when the schema may look at
    other columns (strict, frame-wide checks, columns by pattern)."""
    if schema.strict or schema.checks or any(column.regex for column in schema.columns.values()):
        return frame
    return frame.select([name for name in schema.columns if name in frame.columns])


def _template(
    schema: pa.DataFrameSchema,
    column: str,
    check_number: int | None,
    pattern_meanings: Mapping[str, str],
    required_meanings: Mapping[str, str],
) -> tuple[str, int | None, str, str, str]:
    """(column, check_number, prefix, what to show, suffix) for one failing check of one column."""
    if check_number is None:  # not_nullable has no check number
        return column, None, required_meanings.get(column, "is required"), "", ""
    check = schema.columns[column].checks[check_number]
    stats = check.statistics or {}
    if check.name == MAX_LENGTH:
        return column, check_number, "has ", "length", f" characters; at most {stats['max_value']} are allowed"
    if check.name == WHOLE_NUMBER:
        bounds = f"from {stats['min_value']} to {stats['max_value']}"
        return column, check_number, "'", "value", f"' is not a whole number {bounds}"
    if check.name == NUMBER:
        return column, check_number, "'", "value", "' is not a number (digits, optionally a sign and a decimal point)"
    if check.name == SPREADSHEET_ERROR:
        return (
            column,
            check_number,
            "'",
            "value",
            "' is a spreadsheet error value, not data (a formula failed before the export)",
        )
    if check.name == SPREADSHEET_NUMBER:
        return column, check_number, "'", "value", SPREADSHEET_NUMBER_REASON
    if check.name == "isin" and not _has_custom_error(check):
        allowed = ", ".join(str(v) for v in stats["allowed_values"])
        return column, check_number, "'", "value", f"' is not one of {allowed}"
    if check.name == "str_matches" and stats.get("pattern") in pattern_meanings:
        return column, check_number, "'", "value", f"' {pattern_meanings[stats['pattern']]}"
    return column, check_number, str(check.error), "", ""


def _stands_alone(schema: pa.DataFrameSchema, column: str, check_number: int | None) -> bool:
    """Whether this check's failure is its value's only reason (the value's other failures follow from it)."""
    return check_number is not None and schema.columns[column].checks[check_number].name == SPREADSHEET_NUMBER


def _has_custom_error(check: pa.Check) -> bool:
    return bool(check.error) and not str(check.error).startswith(f"{check.name}(")


def _shorten(value: pl.Expr) -> pl.Expr:
    return (
        pl.when(value.str.len_chars() > MAX_VALUE_SHOWN)
        .then(value.str.slice(0, MAX_VALUE_SHOWN - 1) + pl.lit("…"))
        .otherwise(value)
    )


def combine(reasons: list[pl.DataFrame]) -> pl.DataFrame:
    """All reasons of all rows, one row per rejected row: fields joined by ``;``, errors by ``; ``."""
    stacked = pl.concat([r.select(REASONS_SCHEMA.keys()).cast(REASONS_SCHEMA) for r in reasons])
    return (
        stacked.group_by(RID_COL, maintain_order=True)
        .agg(
            pl.col(FIELD_COL).unique(maintain_order=True).str.join(";"),
            pl.col(ERROR_COL).str.join("; "),
        )
        .sort(RID_COL)
    )
