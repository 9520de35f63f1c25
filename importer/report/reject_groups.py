"""Rejected rows grouped by field and reason, for a report a person reads at a glance.

``rejected.csv`` holds one row per rejected input row, with every reason it failed in ``_error``
(``field: message`` pieces joined by ``; ``, fields listed in ``_field``). Thousands of rows usually
share a handful of reasons that differ only in the value quoted, so the report groups them by
(stage, field, reason *without the value*) and keeps a few examples (file, row, offending value,
truncated) per group.

The reason without its value comes from the message shapes the importer itself writes (``validate``,
``customers``, ``orders``, ``csv_text``, ``mapping``: ``'value' is not ...``, ``has N characters; ...``,
``another line of order X is invalid (...)``); an unknown shape is kept whole with quoted values masked.
This module reads a report; it never changes one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    FILE_COL,
    ROW_COL,
    STAGE_COL,
    is_bookkeeping,
)

MAX_EXAMPLES = 3
MAX_VALUE = 40
_FORMULA = re.compile(r"^'(?=[=+\-@\t\r])")  # the guard report.neutralise adds for spreadsheets


@dataclass
class Example:
    """One rejected row shown as an example: where it is, and the value that broke the rule."""

    file: str
    row: str
    value: str


@dataclass
class RejectGroup:
    """Rows rejected for one reason in one field."""

    stage: str  # "validation" or "api"
    field: str  # "" when the reason concerns the whole row
    reason: str
    rows: int = 0
    examples: list[Example] = dataclasses.field(default_factory=list)
    candidates: list[int] = dataclasses.field(default_factory=list, repr=False)  # the indices of its first rows


@dataclass
class RejectSummary:
    """All groups, largest first, and how many rows were rejected (a row may fail in several fields)."""

    groups: list[RejectGroup]
    rows: int
    by_stage: dict[str, int]


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_RULES: list[Rule] = [
    (re.compile(r"^'(?P<value>.*)'(?P<rest> [^']*)$", re.S), lambda m: m["rest"].strip()),
    (
        re.compile(r"^has (?:\d+) characters; (?P<rest>at most \d+) are allowed$"),
        lambda m: f"is too long ({m['rest']} characters are allowed)",
    ),
    (
        re.compile(r"^another line of order (?P<value>.*) is invalid \(.*\)$", re.S),
        lambda _m: "another line of the same order is invalid (the order is sent whole or not at all)",
    ),
    (
        re.compile(r"^the lines of order (?P<value>.*?) disagree: .*$", re.S),
        lambda _m: "the lines of the order give different values",
    ),
    (re.compile(r"^order (?P<value>.*) has no product lines$", re.S), lambda _m: "the order has no product lines"),
    (
        re.compile(r"^the same (?P<what>\S+) as row \d+ of .*; only the first row of a customer is imported$", re.S),
        lambda m: f"the same {m['what']} as an earlier row (only the first row of a customer is imported)",
    ),
    (
        re.compile(r"^Line \d+ could not be read because (?P<why>.*?): (?P<value>.*)$", re.S),
        lambda m: f"the line could not be read because {m['why']}",
    ),
]


def reason_of(message: str) -> tuple[str, str | None]:
    """(the reason without the value, the value it quoted or None) of one ``field: message`` piece."""
    for pattern, label in _RULES:
        found = pattern.match(message)
        if found is not None:
            return label(found), found.groupdict().get("value")
    return re.sub(r"'[^']*'", "'…'", message), None


def pieces(fields: str, error: str) -> list[tuple[str, str]]:
    """Split a row's ``_error`` into (field, message) pieces, using its ``_field`` list to find them."""
    names = [name for name in fields.split(";") if name]
    if not names:
        return [("", error)]
    starts = re.compile("(?:^|; )(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + "): ")
    found = list(starts.finditer(error))
    if not found or found[0].start() != 0:
        return [(names[0] if len(names) == 1 else "", error)]
    ends = [m.start() for m in found[1:]] + [len(error)]
    return [(m.group(1), error[m.end() : end]) for m, end in zip(found, ends, strict=True)]


def shorten(value: str, limit: int = MAX_VALUE) -> str:
    value = _FORMULA.sub("", value).replace("\r", " ").replace("\n", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def summarise(path: Path, max_examples: int = MAX_EXAMPLES) -> RejectSummary:
    """Group the rows of a ``rejected.csv`` (absent or empty: no groups).

    Polars groups the rows by their error text with quoted values and numbers masked, reading only the
    bookkeeping columns; the Python below runs once per such group and per example row, not per row, so
    a file of millions of rejected rows is summarised in seconds and bounded memory."""
    if not path.exists() or path.stat().st_size == 0:
        return RejectSummary([], 0, {})
    scan = pl.scan_csv(path, infer_schema=False).with_row_index("_i")
    marks = scan.select("_i", *(pl.col(c).fill_null("") for c in (ERROR_COL, FIELD_COL, STAGE_COL)))
    shape = pl.col(ERROR_COL).str.replace_all(r"'[^']*'", "'…'").str.replace_all(r"\d+", "0")
    distinct = (
        marks.group_by(STAGE_COL, FIELD_COL, shape.alias("_shape"), maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("_i").head(max_examples).alias("examples"), pl.col(ERROR_COL).first())
        .collect()
    )
    if distinct.is_empty():
        return RejectSummary([], 0, {})
    groups: dict[tuple[str, str, str], RejectGroup] = {}
    for stage, fields, _, count, examples, error in distinct.iter_rows():
        for name, message in pieces(_FORMULA.sub("", fields), _FORMULA.sub("", error)):
            reason = reason_of(message)[0]
            group = groups.setdefault((stage, name, reason), RejectGroup(stage, name, reason))
            group.rows += count
            group.candidates = sorted({*group.candidates, *examples})[:max_examples]  # the first rows of the file
    wanted = sorted({i for group in groups.values() for i in group.candidates})
    rows = {row["_i"]: row for row in scan.filter(pl.col("_i").is_in(wanted)).collect().iter_rows(named=True)}
    columns = {name.lower(): name for name in scan.collect_schema().names() if not is_bookkeeping(name)}
    for group in groups.values():
        for i in group.candidates:
            row = rows[i]
            quoted = {
                (name, reason): value
                for name, message in pieces(
                    _FORMULA.sub("", row[FIELD_COL] or ""), _FORMULA.sub("", row[ERROR_COL] or "")
                )
                for reason, value in [reason_of(message)]
            }
            value = quoted.get((group.field, group.reason))
            shown = value if value is not None else row.get(columns.get(group.field.lower(), ""), "") or ""
            group.examples.append(Example(_file_name(row[FILE_COL] or ""), row[ROW_COL] or "", shorten(shown)))
    by_stage = dict(marks.group_by(STAGE_COL).len().collect().iter_rows())
    ordered = sorted(groups.values(), key=lambda g: (-g.rows, g.stage, g.field, g.reason))
    return RejectSummary(ordered, sum(by_stage.values()), by_stage)


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
