"""Custom events: from input columns to validated JSON records for POST /scenariocustomevents, one per row.

Three steps, each a pure function over frames (no Python per row):

1. ``plan_columns`` maps the header: the event's fields by their API names (``customEventId`` and the
   customer identifiers, case-insensitive), ``data.<name>`` columns to data fields, each with its declared
   type (``EventOptions.field_types``) or none (inferred per value: ``inferred_type``); it stops the run
   (exit 2) when no column identifies a customer, when the event id has no source or two, or when a
   declared type is unknown or names no column.
2. ``normalise_rows``: trimmed, e-mail and hashes lower-cased, phone without separators, a Boolean's
   yes/no/1/0 as true/false, a DateTime as the API's UTC instant; a value that cannot be is left as
   written and fails its check with that value.
3. ``prepare`` validates against ``schemas.events`` (a data field by its type: a Number that is not a
   number, a Date that is not a date, a URL without a scheme rejects the row naming the column), rejects
   rows without any customer identifier, and builds one record per row; its ``_key`` is the row's place in
   the input (file and row: events have no key of their own, ``key_expression``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from importer.errors import InputError, UsageError, listed
from importer.frame import ERROR_COL, FIELD_COL, FILE_COL, JSON_COL, KEY_COL, RID_COL, ROW_COL, is_bookkeeping
from importer.records import json_text, normalise
from importer.records.validation import (
    Prepared,
    column_group_reasons,
    combine,
    pre_rejected,
    readable_rows,
    require_flat,
    schema_reasons,
)
from importer.settings import EventOptions
from schemas.events import (
    DATA_FIELD_TYPES,
    DATE_PATTERN,
    EVENT_FIELDS,
    EVENT_PATTERN_MEANINGS,
    FIELD_NAME_MAX,
    IDENTIFIERS,
    data_field_schema,
    event_schema,
)

DATA_PREFIX = "data."
EVENT_ID = "customEventId"
BOOLEAN_ALIASES = {"yes": "true", "no": "false", "1": "true", "0": "false", "y": "true", "n": "false"}
#: A value of an undeclared data field is typed by what it certainly is: a web address, an instant with a
#: time and an offset, or a calendar date; anything else is String (never Number: ids, codes and postal
#: codes look like numbers, and a leading zero would be lost).
INSTANT = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?([zZ]|[+-]\d{2}:?\d{2})$"
INFERRED = (("URL", r"^https?://\S+$"), ("DateTime", INSTANT), ("Date", DATE_PATTERN))
NO_IDENTIFIER = "customer"  # the reason's field of a row without any customer identifier


@dataclass(frozen=True)
class EventColumns:
    """How this input's columns map to the event's fields."""

    rename: dict[str, str]  # input column -> canonical column (a field of EVENT_FIELDS, or data.<name>)
    data: dict[str, str] = field(default_factory=dict)  # canonical data.<name> column -> the field's name
    types: dict[str, str] = field(default_factory=dict)  # canonical data column -> declared type (else inferred)
    ignored: list[str] = field(default_factory=list)


def plan_columns(columns: list[str], options: EventOptions) -> EventColumns:
    """Map input columns to the event's fields; InputError (or UsageError for the options) when the input
    cannot be imported at all."""
    wanted = {name.lower(): name for name in EVENT_FIELDS if name != EVENT_ID}
    wanted[options.event_id_column.lower()] = EVENT_ID
    rename: dict[str, str] = {}
    data: dict[str, str] = {}
    ignored: list[str] = []
    for column in columns:
        lower = column.lower()
        if is_bookkeeping(column):
            continue
        if lower in wanted:
            target = wanted[lower]
        elif lower.startswith(DATA_PREFIX):
            name = column[len(DATA_PREFIX) :].strip()
            if not 1 <= len(name) <= FIELD_NAME_MAX:
                raise InputError(
                    f"Column {column!r}: a data field's name must have 1 to {FIELD_NAME_MAX} characters.",
                    "Name the column data.<the field's name>.",
                )
            target = DATA_PREFIX + name
            data[target] = name
        else:
            ignored.append(column)
            continue
        if target in rename.values():
            first = next(source for source, known in rename.items() if known == target)
            raise InputError(f"Columns {first!r} and {column!r} both mean {target!r}.", "Keep one of them.")
        rename[column] = target
    _check_event_id(rename, options)
    if not set(IDENTIFIERS) & set(rename.values()):
        raise InputError(
            f"The input has no column that identifies a customer: give one of {', '.join(IDENTIFIERS)}.",
            "Name a column as the API names the identifier (e.g. customerEmail), or map one.",
        )
    return EventColumns(rename, data, _declared_types(data, options), ignored)


def _check_event_id(rename: dict[str, str], options: EventOptions) -> None:
    column = next((source for source, target in rename.items() if target == EVENT_ID), None)
    if options.event_id is not None and column is not None:
        raise UsageError(
            f"--event-id {options.event_id} and the column {column!r} both give the custom event.",
            "Drop --event-id to use each row's id, or leave the column out of the file.",
        )
    if options.event_id is None and column is None:
        raise UsageError(
            f"No custom event: the input has no {options.event_id_column!r} column and no --event-id was given.",
            "Give --event-id N (Automation > Scenarios > Custom events), or "
            "--event-id-column COLUMN for an id per row.",
        )


def _declared_types(data: dict[str, str], options: EventOptions) -> dict[str, str]:
    unknown = {name: kind for name, kind in options.field_types.items() if kind not in DATA_FIELD_TYPES}
    if unknown:
        raise UsageError(
            f"Unknown data field type: {listed([f'{n}={k}' for n, k in unknown.items()])}.",
            f"The types are {', '.join(DATA_FIELD_TYPES)}.",
        )
    by_name = {name: column for column, name in data.items()}
    missing = [name for name in options.field_types if name not in by_name]
    if missing:
        raise UsageError(
            f"A type is declared for data fields the input has no column for: {listed(missing)}.",
            "Name the columns data.<field name>, or correct the field names given with --field-type.",
        )
    return {by_name[name]: kind for name, kind in options.field_types.items()}


def key_expression(_columns: list[str]) -> pl.Expr:  # (a key's signature: an event needs no column)
    """An event's key: its row's place in the input (``file:row``); rows are events of their own."""
    return pl.concat_str([pl.col(FILE_COL), pl.lit(":"), pl.col(ROW_COL).cast(pl.String)])


def inferred_type(value: pl.Expr) -> pl.Expr:
    """The type of an undeclared data field's value (``INFERRED``; String for anything else)."""
    typed = pl.lit("String")
    for kind, pattern in reversed(INFERRED):
        certain = value.str.contains(pattern)
        if kind == "Date":  # (2026-02-30 is no date: String)
            certain = certain & value.str.to_date("%Y-%m-%d", strict=False).is_not_null()
        typed = pl.when(certain).then(pl.lit(kind)).otherwise(typed)
    return typed


def normalise_rows(frame: pl.DataFrame, columns: EventColumns, options: EventOptions) -> pl.DataFrame:
    """Canonical columns, normalised; values that cannot be are left as written."""
    present = frame.select(RID_COL, *[pl.col(src).cast(pl.String).alias(dst) for src, dst in columns.rename.items()])
    event_id = [] if options.event_id is None else [pl.lit(str(options.event_id)).alias(EVENT_ID)]
    given = {*present.columns, *(EVENT_ID for _ in event_id)}
    missing = [pl.lit(None, dtype=pl.String).alias(f) for f in EVENT_FIELDS if f not in given]
    rows = present.with_columns(*event_id, *missing).with_columns(
        normalise.blank_to_null(pl.col(c)).alias(c) for c in present.columns if c != RID_COL
    )
    typed = {column: columns.types.get(column) for column in columns.data}
    rows = rows.with_columns(
        normalise.email(pl.col("customerEmail")),
        pl.col("customerEmailMd5").str.to_lowercase(),
        pl.col("customerEmailSha256").str.to_lowercase(),
        normalise.phone(pl.col("customerPhone")),
        *[
            pl.col(c).str.to_lowercase().replace_strict(BOOLEAN_ALIASES, default=pl.col(c).str.to_lowercase())
            for c, kind in typed.items()
            if kind == "Boolean"
        ],
    )
    for column, kind in typed.items():
        if kind == "DateTime":
            rows = normalise.per_value(rows, column, normalise.api_datetimes)
        elif kind is None and rows.select(pl.col(column).str.contains(INSTANT).any()).item():
            # an undeclared value is sent as the API's instant only where it looks like one (a date stays a date)
            at = normalise.per_value(rows.select(RID_COL, column), column, normalise.api_datetimes)
            rows = (
                rows.with_columns(at.get_column(column).alias("_at"))
                .with_columns(
                    pl.when(pl.col(column).str.contains(INSTANT))
                    .then(pl.col("_at"))
                    .otherwise(pl.col(column))
                    .alias(column)
                )
                .drop("_at")
            )
    return rows


def records(rows: pl.DataFrame, columns: EventColumns, frame: pl.DataFrame) -> pl.DataFrame:
    """The event objects as JSON text (``_json``), absent fields left out, with their ``_key``."""
    absent = json_text.Absent()
    values = _data_fields(rows, columns).with_columns(pl.col(EVENT_ID).cast(pl.Int64))
    event = pl.struct(absent.members(values, [*EVENT_FIELDS, "dataFields"]))
    keyed = values.join(frame.select(RID_COL, key_expression(frame.columns).alias(KEY_COL)), on=RID_COL)
    return keyed.select(RID_COL, absent.cut(event.struct.json_encode()).alias(JSON_COL), KEY_COL)


def _data_fields(rows: pl.DataFrame, columns: EventColumns) -> pl.DataFrame:
    """``rows`` with ``dataFields``: per row the list of ``{name, type, value}`` of its non-empty data cells,
    in column order (null when it has none)."""
    if not columns.data:
        return rows.with_columns(pl.lit(None).alias("dataFields"))
    order = list(columns.data)
    declared = [columns.types.get(c) for c in order]
    cells = (
        rows.select(RID_COL, *order)
        .unpivot(on=order, index=RID_COL, variable_name="_column", value_name="value")
        .drop_nulls("value")
        .with_columns(pl.col("_column").replace_strict(order, declared, return_dtype=pl.String).alias("_declared"))
        .select(
            RID_COL,
            pl.struct(
                pl.col("_column").replace_strict(order, list(columns.data.values())).alias("name"),
                pl.coalesce("_declared", inferred_type(pl.col("value"))).alias("type"),
                "value",
            ).alias("dataFields"),
        )
    )
    lists = cells.group_by(RID_COL, maintain_order=True).agg("dataFields")
    return rows.join(lists, on=RID_COL, how="left", maintain_order="left")


def prepare(frame: pl.DataFrame, options: EventOptions) -> Prepared:
    """Validate and build the event of every row of ``frame`` (as read by ``importer.inputs.files``)."""
    columns = plan_columns(frame.columns, options)
    require_flat(frame, list(columns.rename))
    rows = normalise_rows(frame, columns, options)
    checked = readable_rows(rows, frame)
    required = {EVENT_ID: "is required (give --event-id N, or an id in every row of the column)"}
    by_type: dict[str, list[str]] = {}
    for column in columns.data:
        by_type.setdefault(columns.types.get(column, "String"), []).append(column)
    invalid = pl.concat(
        [
            pre_rejected(frame),
            schema_reasons(checked, event_schema(), EVENT_PATTERN_MEANINGS, required),
            *[
                column_group_reasons(checked, group, data_field_schema(kind), EVENT_PATTERN_MEANINGS)
                for kind, group in by_type.items()
            ],
            _without_identifier(checked),
        ]
    )
    valid = rows.join(invalid.select(RID_COL).unique(), on=RID_COL, how="anti")
    return Prepared(records(valid, columns, frame), combine([invalid]), ignored=columns.ignored)


def _without_identifier(rows: pl.DataFrame) -> pl.DataFrame:
    """Reasons for the rows that give no customer identifier at all."""
    return rows.filter(pl.all_horizontal(pl.col(c).is_null() for c in IDENTIFIERS)).select(
        RID_COL,
        pl.lit(NO_IDENTIFIER).alias(FIELD_COL),
        pl.lit(f"no customer identifier: give one of {', '.join(IDENTIFIERS)}").alias(ERROR_COL),
    )
