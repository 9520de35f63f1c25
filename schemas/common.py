"""Checks shared by the resource schemas, declared as field metadata and applied by ``with_checks``.

Every frame the schemas validate holds strings (as written, or normalised), so numbers are checked as
text: the failure case is then what the user wrote, not a null left by a failed cast.

* ``max_length``: counted the way the platform counts: the API is an ASP.NET service, whose
  ``[StringLength]``/``[MaxLength]`` count UTF-16 code units, so a character outside the Basic
  Multilingual Plane (most emoji) counts twice. pandera's ``str_length`` counts characters.
* ``whole_number``: an integer within a range (int32 fields).
* ``number``: a finite decimal number (``12``, ``-3.50``, ``1e3``).

And on every text field, whatever its metadata (``text_checks``), because no real value holds them:

* ``control_character``: C0/C1 control characters other than tab and line breaks (NUL, ESC, …) and a
  byte order mark (U+FEFF) inside the text: signs of a damaged file, a wrong encoding or joined files;
* ``spreadsheet_error``: a spreadsheet's error value (``#N/A``, ``#DIV/0!``, ``#REF!``, ``Err:502``…):
  a formula failed before the export, and the cell holds no data.

And on identifier fields (metadata ``identifier``: a customer's crmId and phone, an order's id, its
customer's crmId and phone, a product's id), because a spreadsheet that opened and re-saved the file
rewrote them as numbers (``spreadsheet_number``): an id in scientific notation (``5.89746E+12``,
``4,8601E+10``: Excel, LibreOffice and Google Sheets show a number of 12 digits or more so), or a
digit-only id of 12 digits or more that ends in 6 zeros (the digits the notation dropped, written back
as zeros). Such ids are wrong and collide with each other; the rows are rejected, never sent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

MAX_LENGTH, WHOLE_NUMBER, NUMBER = "max_length", "whole_number", "number"
CONTROL_CHARACTER, SPREADSHEET_ERROR = "control_character", "spreadsheet_error"
IDENTIFIER, SPREADSHEET_NUMBER = "identifier", "spreadsheet_number"
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
#: An id a spreadsheet rewrote: scientific notation (a decimal point or comma, ``E+`` and the exponent), or
#: 12+ digits of which the last 6 or more are zeros.
SPREADSHEET_NUMBER_PATTERN = r"^\s*(\d([.,]\d+)?[eE]\+\d{1,3}|\d{6,}0{6})\s*$"
CONTROL_PATTERN = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\x{FEFF}]"
#: Error values of Excel (2010-2024), LibreOffice (Err:nnn) and Google Sheets, upper-cased.
SPREADSHEET_ERRORS = (
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#BUSY!",
    "#UNKNOWN!",
    "#EXTERNAL!",
    "#PYTHON!",
    "#ERROR!",
)


def utf16_units(expr: pl.Expr) -> pl.Expr:
    """Length in UTF-16 code units (what .NET's ``string.Length`` returns)."""
    return expr.str.len_chars() + expr.str.count_matches(r"[\x{10000}-\x{10FFFF}]")


def max_length(limit: int) -> pa.Check:
    """At most ``limit`` UTF-16 code units."""

    def within(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(data.key)
        # UTF-16 units never exceed UTF-8 bytes, so only values longer than ``limit`` bytes need counting;
        # polars skips the counting regex where no value is that long, which is nearly always.
        counted = pl.when(value.str.len_bytes() > limit).then(utf16_units(value) <= limit).otherwise(True)
        return data.lazyframe.select(value.is_null() | counted)

    return pa.Check(within, name=MAX_LENGTH, statistics={"max_value": limit}, error=f"{MAX_LENGTH}({limit})")


def whole_number(minimum: int, maximum: int) -> pa.Check:
    """A whole number from ``minimum`` to ``maximum`` (written as digits, optionally signed)."""

    def within(data: PolarsData) -> pl.LazyFrame:
        written = pl.col(data.key)
        value = written.str.strip_chars()
        parsed = value.cast(pl.Int64, strict=False)
        valid = value.str.contains(r"^[+-]?\d+$") & parsed.is_between(minimum, maximum)
        # A value polars casts as it is (a sign and ASCII digits, nothing else) is one the pattern takes, so
        # only the others are stripped and matched (polars evaluates that branch for them alone).
        quick = written.cast(pl.Int64, strict=False)
        fast = pl.when(quick.is_not_null()).then(quick.is_between(minimum, maximum))
        decided = fast.otherwise(valid.fill_null(False))
        return data.lazyframe.select(written.is_null() | decided)

    return pa.Check(
        within,
        name=WHOLE_NUMBER,
        statistics={"min_value": minimum, "max_value": maximum},
        error=f"{WHOLE_NUMBER}({minimum}, {maximum})",
    )


def number() -> pa.Check:
    """A finite decimal number."""

    def finite(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(data.key)
        valid = value.str.contains(NUMBER_PATTERN) & value.cast(pl.Float64, strict=False).is_finite()
        return data.lazyframe.select(value.is_null() | valid.fill_null(False))

    return pa.Check(finite, name=NUMBER, error=NUMBER)


def no_control_characters() -> pa.Check:
    """No control character but tab, CR and LF; no byte order mark inside the text."""

    def clean(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(data.key)
        return data.lazyframe.select(value.is_null() | ~value.str.contains(CONTROL_PATTERN))

    return pa.Check(
        clean,
        name=CONTROL_CHARACTER,
        error="contains a control character (such as NUL or ESC) or a byte order mark: the file may be "
        "damaged, in another encoding, or several files joined",
    )


def not_spreadsheet_error() -> pa.Check:
    """Not a spreadsheet's error value such as ``#N/A`` (any letter case, surrounding blanks ignored)."""

    def data_not_error(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(data.key).str.strip_chars().str.to_uppercase()
        error = value.is_in(SPREADSHEET_ERRORS) | value.str.contains(r"^ERR:\d{3}$")
        return data.lazyframe.select(~error.fill_null(False))

    return pa.Check(data_not_error, name=SPREADSHEET_ERROR, error=SPREADSHEET_ERROR)


def identifier(limit: int) -> dict[str, int | bool]:
    """An identifier field's metadata: its max length, and the check for ids a spreadsheet rewrote."""
    return {MAX_LENGTH: limit, IDENTIFIER: True}


def not_spreadsheet_number() -> pa.Check:
    """Not an id a spreadsheet rewrote as a number (``SPREADSHEET_NUMBER_PATTERN``; the values are trimmed, as
    normalisation leaves them)."""

    def not_rewritten(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(data.key)  # (one anchored regex: docs/benchmarks.md has its cost)
        return data.lazyframe.select(value.is_null() | ~value.str.contains(SPREADSHEET_NUMBER_PATTERN))

    return pa.Check(not_rewritten, name=SPREADSHEET_NUMBER, error=SPREADSHEET_NUMBER)


# Every value either text check refuses matches this: a control character or BOM, or a leading # or Err:.
SUSPECT_TEXT_PATTERN = f"{CONTROL_PATTERN}|^\\s*(#|[Ee][Rr][Rr]:)"


def not_suspect(name: str) -> pl.Expr:
    """Passes wherever both text checks pass, and fails at least wherever either fails: one regex where
    the checks take two passes and a copy (used to find the rows worth checking, ``importer.records.schema_screen``)."""
    value = pl.col(name)
    return value.is_null() | ~value.str.contains(SUSPECT_TEXT_PATTERN)


#: Per check name: a cheaper expression that fails at least wherever the check fails
#: (``importer.records.schema_screen``).
COARSE_CHECKS = {CONTROL_CHARACTER: not_suspect, SPREADSHEET_ERROR: not_suspect}


def text_checks() -> list[pa.Check]:
    """The checks every text field gets (see the module docstring)."""
    return [no_control_characters(), not_spreadsheet_error()]


#: The one column of a value schema (``value_schema``).
VALUE = "value"


def value_schema(checks: list[pa.Check]) -> pa.DataFrameSchema:
    """The schema of the cells of many columns checked alike (a file's ``attr.*`` columns), one cell a row.

    Such columns are checked in long form (``importer.records.validation.column_group_reasons``), so a
    run's cost grows with its cells, not with a schema column per input column (a file of 10,000
    attribute columns would otherwise make pandera copy 10,000 columns and the screen plan one query of
    30,000 expressions)."""
    return pa.DataFrameSchema({VALUE: pa.Column(str, checks=checks, nullable=True)})


@functools.cache
def text_value_schema() -> pa.DataFrameSchema:
    """The value schema of attribute columns: the checks every text field gets (made once, shared)."""
    return value_schema(text_checks())


def _checks_for(metadata: dict[str, Any]) -> list[pa.Check]:
    checks = []
    if MAX_LENGTH in metadata:
        checks.append(max_length(int(metadata[MAX_LENGTH])))
    if WHOLE_NUMBER in metadata:
        minimum, maximum = metadata[WHOLE_NUMBER]
        checks.append(whole_number(int(minimum), int(maximum)))
    if metadata.get(NUMBER):
        checks.append(number())
    if metadata.get(IDENTIFIER):
        checks.append(not_spreadsheet_number())
    return checks


def with_checks(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """The schema with the checks its columns' metadata declare (max_length, whole_number, number,
    identifier), and
    the text checks on every column."""
    return schema.update_columns(
        {
            name: {"checks": [*column.checks, *_checks_for(column.metadata or {}), *text_checks()]}
            for name, column in schema.columns.items()
        }
    )


@dataclass(frozen=True)
class FieldRules:
    """One field of a schema model as its declaration says it, read once (``fields_of``): what the record
    stages, the mapping and the tests need to know of it, so that no other module declares it again."""

    name: str  # the column: "websiteId", "product.price", "customer.email"
    member: str  # its JSON member, the column without its object's prefix: "price", "email"
    required: bool  # not nullable
    max_length: int | None  # UTF-16 code units (metadata ``max_length``)
    whole_number: tuple[int, int] | None  # an integer within (minimum, maximum) (metadata ``whole_number``)
    number: bool  # a finite decimal number (metadata ``number``)
    identifier: bool  # an id a spreadsheet may have rewritten (metadata ``identifier``)
    values: tuple[str, ...] | None  # the documented values (an ``isin`` check)
    patterns: tuple[str, ...]  # the regular expressions it must match (``str_matches`` checks)

    @property
    def parent(self) -> str:
        """The object it is a member of, by its column's prefix: "" (the record), "customer", "product"."""
        return self.name.rsplit(".", 1)[0] if "." in self.name else ""

    @property
    def numeric(self) -> bool:
        """Sent as a JSON number: a number or a whole number."""
        return self.number or self.whole_number is not None


def fields_of(model: type[pa.DataFrameModel]) -> tuple[FieldRules, ...]:
    """The fields of a schema model, in its order, with what their declarations say (read once per model)."""
    return _fields_of(model)


@functools.cache
def _fields_of(model: type[pa.DataFrameModel]) -> tuple[FieldRules, ...]:
    return tuple(_rules(name, column) for name, column in model.to_schema().columns.items())


def _rules(name: str, column: Any) -> FieldRules:
    metadata = column.metadata or {}
    values = next(
        (tuple(str(v) for v in check.statistics["allowed_values"]) for check in column.checks if check.name == "isin"),
        None,
    )
    patterns = tuple(str(check.statistics["pattern"]) for check in column.checks if check.name == "str_matches")
    whole = metadata.get(WHOLE_NUMBER)
    return FieldRules(
        name=name,
        member=name.rsplit(".", 1)[-1],
        required=not column.nullable,
        max_length=int(metadata[MAX_LENGTH]) if MAX_LENGTH in metadata else None,
        whole_number=(int(whole[0]), int(whole[1])) if whole is not None else None,
        number=bool(metadata.get(NUMBER)),
        identifier=bool(metadata.get(IDENTIFIER)),
        values=values,
        patterns=patterns,
    )
