"""The bookkeeping-column contract: the ``_`` columns the stages' frames carry beside the user's columns.

Every stage hands polars frames to the next; beside the user's columns (all strings) they carry these,
and only these, bookkeeping columns. The reader drops a file's columns named like them (``OWN_COLUMNS``:
a report's ``rejected.csv``, fixed, can be imported again); a file's other ``_`` columns (Magento's
``_website``, ``_email``, ``_address_telephone``) are kept for a mapping to read, and skipped as
bookkeeping by the stages when none does::

    rows (inputs/)      _file _row _rid       where a row came from, and its run-wide id
                        _unreadable           why the reader could not parse the line (only when one was not)
                        _reject               why the mapping rejects the row (only when it rejects one)
                        _unjoined             why a mapping's join found no row (or several) for the row: its
                                              one reason, the other cells are not checked
                        _unmatched            why a join found no row, where the mapping drops such rows
                                              (``unmatched = "drop"``): counted apart, never prepared
                        _left_out             why a mapping's ``[[leave_out]]`` rule leaves the row out: set
                                              aside, counted apart (``rows_left_out``), never prepared
                        _left_line            the same, for an order line kept for its order's cells (its
                                              product emptied); counted as left out when its order is sent
                        _in.<name>            a mapped run's original columns, kept for the report
    reasons (records/)  _rid _field _error    one row per way a row fails (``REASONS_SCHEMA``)
                        _stage                where it failed (validation, api, budget, verify): the report's
                        _substatus _type      for a rejection by the API, the ``substatus`` and ``type`` of its
                                              problem answer (``API_REASONS_SCHEMA``)
    records (records/)  _rid _json _key       the input rows of a record, its JSON text, its identity
                        _fp                   the fingerprint of its JSON (the run journal's)

``_row`` is the row number as a spreadsheet shows it: the header is row 1 (``HEADER_ROWS``), so the first
data row is row 2. ``_rid`` counts the rows of all input files one after the other, from 0.

This module names the columns and makes reasons frames; it holds no logic of any stage.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

FILE_COL, ROW_COL, RID_COL = "_file", "_row", "_rid"
UNREADABLE_COL = "_unreadable"
REJECT_COL = "_reject"
UNJOINED_COL, UNMATCHED_COL = "_unjoined", "_unmatched"
LEFT_OUT_COL, LEFT_LINE_COL = "_left_out", "_left_line"
#: The reasons that stand alone: the row's other cells are empty or not its own (a line the reader could
#: not parse; a row a join found nothing for), so checking them would only add noise.
SOLE_REASON_COLUMNS = (UNREADABLE_COL, UNJOINED_COL)
SOURCE_PREFIX = "_in."
FIELD_COL, ERROR_COL, STAGE_COL = "_field", "_error", "_stage"
SUBSTATUS_COL, TYPE_COL = "_substatus", "_type"
JSON_COL, KEY_COL, FINGERPRINT_COL = "_json", "_key", "_fp"
HEADER_ROWS = 1  # lines of a file before its first row (a spreadsheet's row 1)
#: The columns the importer names itself: a file's columns of these names (a report read again) are dropped.
OWN_COLUMNS = frozenset(
    {
        FILE_COL,
        ROW_COL,
        RID_COL,
        UNREADABLE_COL,
        REJECT_COL,
        UNJOINED_COL,
        UNMATCHED_COL,
        LEFT_OUT_COL,
        LEFT_LINE_COL,
        FIELD_COL,
        ERROR_COL,
        STAGE_COL,
        SUBSTATUS_COL,
        TYPE_COL,
        JSON_COL,
        KEY_COL,
        FINGERPRINT_COL,
    }
)

REASONS_SCHEMA = pl.Schema({RID_COL: pl.Int64(), FIELD_COL: pl.String(), ERROR_COL: pl.String()})
API_REASONS_SCHEMA = pl.Schema({**REASONS_SCHEMA, SUBSTATUS_COL: pl.String(), TYPE_COL: pl.String()})
Reason = tuple[list[int], str, str]  # the row ids of a record, the field, the message
ApiReason = tuple[list[int], str, str, str | None, str | None]  # ... and the answer's substatus and type


def is_bookkeeping(column: str) -> bool:
    """A column of this contract (or another ``_`` column), never one of the user's fields."""
    return column.startswith("_")


def is_own_column(column: str) -> bool:
    """A column the importer names itself (``OWN_COLUMNS``, ``_in.<name>``): what the reader drops from a file."""
    return column in OWN_COLUMNS or column.startswith(SOURCE_PREFIX)


def no_reasons() -> pl.DataFrame:
    """An empty reasons frame."""
    return pl.DataFrame(schema=REASONS_SCHEMA)


def reasons_of(items: Sequence[Reason]) -> pl.DataFrame:
    """A reasons frame from (row ids, field, error) items: one row per input row of each item."""
    return (
        pl.DataFrame(
            {
                RID_COL: [rids for rids, _, _ in items],
                FIELD_COL: [f for _, f, _ in items],
                ERROR_COL: [e for _, _, e in items],
            },
            schema={RID_COL: pl.List(pl.Int64), FIELD_COL: pl.String, ERROR_COL: pl.String},
        )
        .explode(RID_COL)
        .cast(REASONS_SCHEMA)
    )


def api_reasons_of(items: Sequence[ApiReason]) -> pl.DataFrame:
    """A reasons frame with ``_substatus`` and ``_type`` from (row ids, field, error, substatus, type) items."""
    return (
        pl.DataFrame(
            {
                RID_COL: [item[0] for item in items],
                FIELD_COL: [item[1] for item in items],
                ERROR_COL: [item[2] for item in items],
                SUBSTATUS_COL: [item[3] for item in items],
                TYPE_COL: [item[4] for item in items],
            },
            schema={RID_COL: pl.List(pl.Int64), **{c: pl.String for c in API_REASONS_SCHEMA if c != RID_COL}},
        )
        .explode(RID_COL)
        .cast(API_REASONS_SCHEMA)
    )
