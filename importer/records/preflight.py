"""Pre-flight: reject locally what the platform's settings would reject, before anything is sent.

The resource stages (``customers``, ``orders``) call ``check`` with their attribute and consent columns
and the settings lists the job read for them (``needed`` says which; see ``importer.records.definitions``);
it returns a reasons frame (``_rid``, ``_field``, ``_error``) for the rows whose values do not fit an
attribute's type, with the warnings it has, and raises ``InputError`` (exit 2) when a column names an
attribute or a consent the platform does not define. It sends no request and prints nothing.

Why unknown *columns* stop the run instead of rejecting rows: the column header is wrong for every row,
so a million identical row reasons would help nobody, and importing only the rows that leave the column
empty would leave the data half done. One message lists every unknown column at once, with the closest
defined name and the defined names; a column naming nothing but holding no value is only a warning.

Names are matched without regard to letter case (the platform's own lookup is not documented; a name
that differs only in case is sent as written, with a warning). Value rules per attribute type (a value is
the trimmed cell; empty cells are not sent, so never checked):

=============  ==================================================================================
Number         a decimal number: ``42``, ``-3.5``, ``1e3``
Money          a decimal number without exponent: ``19.99``, ``-5``
Date           ``YYYY-MM-DD`` that exists on the calendar
DateTime       ISO 8601 date and time with ``T``, optional seconds, fraction and ``Z``/offset
Boolean        ``true`` or ``false`` in any letter case
Url            an absolute address: ``scheme://host...`` without spaces
SingleSelect   one of the options, spelt exactly, when the platform lists them
other types    (String, Text, or a type this version does not know) any value
=============  ==================================================================================
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from importer.errors import InputError, listed
from importer.frame import ERROR_COL, FIELD_COL, REASONS_SCHEMA, RID_COL, no_reasons
from importer.records import normalise
from importer.records.definitions import CONSENTS, WHERE, Definition, Lists
from importer.records.validation import MAX_VALUE_SHOWN
from schemas.common import NUMBER_PATTERN

MONEY_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?$"
URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#]+\S*$"
SHOWN_NAMES = 10

#: What a value that does not fit a type is not, for the report.
NOT_A = {
    "number": "is not a Number",
    "money": "is not a Money amount such as 19.99",
    "date": "is not a Date such as 2024-05-17",
    "datetime": "is not a DateTime such as 2024-05-17T08:30:00Z",
    "boolean": "is not a Boolean, true or false",
    "url": "is not a Url such as https://example.com/page",
}


@dataclass(frozen=True)
class AttributeColumns:
    """Columns holding attributes of one kind: canonical column -> attribute name, and where they are defined."""

    columns: Mapping[str, str]
    path: str  # the settings list: importer.records.definitions.CUSTOMER_ATTRIBUTES ...
    label: str  # "customer attribute", for messages


def needed(attributes: list[AttributeColumns], consents: Mapping[str, int]) -> list[str]:
    """The settings lists ``check`` reads for these columns (none for a kind without columns)."""
    return [group.path for group in attributes if group.columns] + ([CONSENTS] if consents else [])


def check(
    frame: pl.DataFrame,
    attributes: list[AttributeColumns],
    consents: Mapping[str, int],
    lists: Lists | None,
) -> tuple[pl.DataFrame, list[str]]:
    """(reasons for values that do not fit their attribute's type, warnings); InputError for undefined
    names. ``lists`` holds the lists ``needed`` names; None: nothing is checked (and a list that is None,
    one the platform does not expose, checks nothing of its columns)."""
    if lists is None:
        return no_reasons(), []
    problems: list[str] = []
    known: dict[str, Definition] = {}
    hints: list[str] = []
    warnings: list[str] = []
    filled = _with_values(frame, [c for group in attributes for c in group.columns] + list(consents))
    for group in attributes:
        if not group.columns:
            continue
        definitions = lists.get(group.path, ())
        if definitions is None:
            continue
        by_name = {d.name.lower(): d for d in definitions}
        missing: list[str] = []
        empty: list[str] = []
        for column, name in group.columns.items():
            found = by_name.get(name.lower())
            if found is not None:
                known[column] = found
                if found.name != name:
                    warnings.append(
                        f"Column {column}: the platform spells the {group.label} {found.name!r}; "
                        "it is sent as the column names it."
                    )
            elif column in filled:
                missing.append(column)
                problems.append(f"{column} ({group.label} {name!r}" + _closest(name, definitions) + ")")
            else:
                empty.append(column)
        if len(empty) == 1:
            warnings.append(
                f"Column {empty[0]} names no {group.label} the platform defines; it is empty, so "
                "nothing is sent for it."
            )
        elif empty:
            warnings.append(
                f"Columns {listed(empty)} ({len(empty):,}) name no {group.label} the platform "
                "defines; they are empty, so nothing is sent for them."
            )
        if missing:
            hints.append(f"{group.label}s defined: {_listed([d.name for d in definitions])} ({WHERE[group.path]})")
    defined = lists.get(CONSENTS, ())
    if consents and defined is not None:
        ids = {d.id for d in defined}
        unknown = [c for c, consent_id in consents.items() if consent_id not in ids and c in filled]
        problems += [f"{c} (no consent with id {consents[c]})" for c in unknown]
        if unknown:
            hints.append(f"consents defined: {_listed([f'{d.id} {d.name}' for d in defined])} ({WHERE[CONSENTS]})")
    if problems:
        count = f"{len(problems):,} column{'s' if len(problems) > 1 else ''}"
        raise InputError(
            f"The platform defines no attribute or consent for {count} of the input: " + listed(problems, "; ") + ".",
            "Rename the columns or define them in the platform; "
            + "; ".join(hints)
            + ". --no-preflight sends them anyway.",
        )
    return value_reasons(frame, known), warnings


def value_reasons(frame: pl.DataFrame, known: Mapping[str, Definition]) -> pl.DataFrame:
    """A reason per cell whose value does not fit its column's attribute type (one filter per column)."""
    reasons = [no_reasons()]
    for column, definition in known.items():
        rule = _rule(definition)
        if rule is None:
            continue
        valid, complaint = rule
        value = pl.col(column)
        reasons.append(
            frame.filter(value.is_not_null() & ~valid(value).fill_null(False)).select(
                pl.col(RID_COL),
                pl.lit(column).alias(FIELD_COL),
                pl.concat_str(
                    [
                        pl.lit(f"{column}: '"),
                        _shorten(value),
                        pl.lit(f"' {complaint} (attribute '{definition.name}' in the platform's settings)"),
                    ]
                ).alias(ERROR_COL),
            )
        )
    return pl.concat([r.cast(REASONS_SCHEMA) for r in reasons])


def _rule(definition: Definition) -> tuple[Callable[[pl.Expr], pl.Expr], str] | None:
    """(expression builder of validity, complaint) for a definition's type; None: any value fits."""
    kind = definition.type.lower()
    if kind == "number":
        return (lambda v: v.str.contains(NUMBER_PATTERN) & v.cast(pl.Float64, strict=False).is_finite()), NOT_A[kind]
    if kind == "money":
        return (lambda v: v.str.contains(MONEY_PATTERN)), NOT_A[kind]
    if kind == "date":
        return (
            lambda v: v.str.contains(DATE_PATTERN) & v.str.to_date("%Y-%m-%d", strict=False).is_not_null(),
            NOT_A[kind],
        )
    if kind == "datetime":
        return (lambda v: v.str.contains(DATETIME_PATTERN) & normalise.instant(v).is_not_null()), NOT_A[kind]
    if kind == "boolean":
        return (lambda v: v.str.to_lowercase().is_in(["true", "false"])), NOT_A[kind]
    if kind == "url":
        return (lambda v: v.str.contains(URL_PATTERN)), NOT_A[kind]
    if kind == "singleselect" and definition.options:
        options = list(definition.options)
        return (lambda v: v.is_in(options)), f"is not one of the options {_listed(options)}"
    return None


def _with_values(frame: pl.DataFrame, columns: list[str]) -> set[str]:
    """Those of ``columns`` that hold a value in some row of ``frame`` (one query for them all)."""
    present = set(frame.columns)
    asked = [c for c in columns if c in present]
    if not asked:
        return set()
    counts = frame.select(pl.col(asked).is_not_null().any()).row(0)
    return {column for column, has in zip(asked, counts, strict=True) if has}


def _closest(name: str, definitions: tuple[Definition, ...]) -> str:
    names = {d.name.lower(): d.name for d in definitions}
    close = difflib.get_close_matches(name.lower(), list(names), n=1, cutoff=0.6)
    return f"; did you mean {names[close[0]]!r}?" if close else ""


def _listed(names: list[str]) -> str:
    return listed(names, shown=SHOWN_NAMES) if names else "none"


def _shorten(value: pl.Expr) -> pl.Expr:
    return (
        pl.when(value.str.len_chars() > MAX_VALUE_SHOWN)
        .then(value.str.slice(0, MAX_VALUE_SHOWN - 1) + pl.lit("…"))
        .otherwise(value)
    )
