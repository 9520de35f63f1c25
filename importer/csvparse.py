"""Parse CSV text (UTF-8, already decoded) into a frame of strings, keeping the rows it cannot parse.

polars reads a clean file at full speed. It rejects lines with too many fields or broken quotes, and
pads short ones silently, so when the last column has nulls the line structure is checked (quote-aware,
in polars). Only a file with a problem is read again, record by record, with Python's ``csv`` module
(slower, streaming, in batches): each record that cannot be parsed becomes a row of nulls, and a message
quoting the line goes to the ``_unreadable`` column. An unclosed quote costs one row, not the rest of
the file. The header is always read with the csv module (polars is lenient with a broken quote there).

This module knows nothing of files' formats, encodings or compression: ``importer.read`` hands it text.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import polars as pl

from importer.detect import UTF8
from importer.errors import InputError

HEADER_ROWS = 1
UNREADABLE_COL = "_unreadable"
_BATCH_ROWS = 50_000  # rows per frame while reading record by record
_SHOWN_CHARS = 200  # of an unreadable line, in its message


def not_text(source: Path, encoding: str, offset: int | None = None) -> InputError:
    where = f" (byte {offset})" if offset is not None else ""
    return InputError(
        f"{source} is not {'UTF-8' if encoding in UTF8 else encoding} text{where}.",
        "Name its encoding (e.g. --encoding cp1250 or cp1252), or save it as UTF-8 "
        "(most spreadsheet programs offer 'CSV UTF-8').",
    )


def parse_csv(path: Path, delimiter: str, source: Path, encoding: str) -> tuple[pl.DataFrame, pl.Series | None]:
    """polars when every line is sound, else record by record; the messages of unreadable rows.

    The header is read with the csv module either way: polars is lenient with a broken quote there.
    """
    header = _header(path, delimiter, source, encoding)
    try:
        frame = pl.read_csv(path, infer_schema=False, separator=delimiter, encoding="utf8", glob=False,
                            raise_if_empty=False)
    except pl.exceptions.PolarsError:
        return _parse_records(path, delimiter, source, encoding)
    except OSError as exc:
        raise InputError(f"Cannot read {source}: {exc.strerror or exc}.", "Check the file's permissions.") from None
    if frame.width != len(header):
        return _parse_records(path, delimiter, source, encoding)
    frame.columns = header
    if frame.width > 1 and frame.get_column(frame.columns[-1]).null_count() and not _lines_sound(
        path, delimiter, frame.width, frame.height
    ):
        return _parse_records(path, delimiter, source, encoding)
    return frame, None


def _lines_sound(path: Path, delimiter: str, width: int, height: int) -> bool:
    """Whether every record has ``width`` fields (a blank line aside) and there are ``height`` of them.

    polars pads a short line with nulls without a word, so the file's lines are grouped into records
    (a record goes on while a quote is open) and the delimiters outside quotes counted.
    """
    line, quotes, inside = pl.col("line"), pl.col("quotes"), pl.col("inside")
    after_close = line.str.replace(r'^[^"]*"', "")  # the line after the quote closing an earlier one
    outside = (pl.when(inside).then(after_close).otherwise(line)
               .str.replace_all(r'"[^"]*"', "").str.replace(r'"[^"]*$', ""))
    plain = pl.when(inside).then(0).otherwise(line.str.count_matches(delimiter, literal=True))
    delimiters = pl.when(quotes == 0).then(plain).otherwise(outside.str.count_matches(delimiter, literal=True))
    counts = (
        pl.scan_lines(path)
        .with_columns(quotes=line.str.count_matches('"', literal=True))
        .with_columns(inside=(quotes.cum_sum() - quotes) % 2 == 1)
        .with_columns(record=(~inside).cum_sum(), delimiters=delimiters, blank=line == "")
        .group_by("record", maintain_order=True)
        .agg(fields=pl.col("delimiters").sum() + 1, blank=pl.col("blank").all() & (pl.len() == 1))
        .select(records=pl.len(), bad=((pl.col("fields") != width) & ~pl.col("blank")).sum())
        .collect()
    )
    return counts.item(0, "records") == height + HEADER_ROWS and counts.item(0, "bad") == 0


def _header(path: Path, delimiter: str, source: Path, encoding: str) -> list[str]:
    """The column names on the first line(s), trimmed; InputError when they cannot be read or repeat."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _read_header(_records(handle, delimiter), source)
    except UnicodeDecodeError as exc:
        raise not_text(source, encoding) from exc


def _read_header(records: Iterator[tuple[int, list[str], str, str | None]], source: Path) -> list[str]:
    first = next(records, None)
    if first is None:
        return []
    _, header, _, problem = first
    if problem:
        raise InputError(f"The header line of {source} cannot be read: {problem}.",
                         "The first line must be the column names, separated by the delimiter.")
    return clean_header(header, source)


def _parse_records(path: Path, delimiter: str, source: Path, encoding: str) -> tuple[pl.DataFrame, pl.Series | None]:
    """Read record by record with Python's csv module; a record that cannot be read becomes a null row."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = _records(handle, delimiter)
            names = _read_header(records, source)
            if not names:
                return pl.DataFrame(), None
            schema = dict.fromkeys(names, pl.String)
            batches, rows, messages = [], [], []
            for number, fields, raw, problem in records:
                if problem is None and fields and len(fields) != len(names):
                    problem = f"it has {len(fields)} fields but the header has {len(names)}"
                messages.append(None if problem is None else _sentence(number, problem, raw))
                rows.append([v or None for v in fields] if fields and problem is None else [None] * len(names))
                if len(rows) == _BATCH_ROWS:
                    batches.append(pl.DataFrame(rows, schema=schema, orient="row"))
                    rows = []
            batches.append(pl.DataFrame(rows, schema=schema, orient="row"))
    except UnicodeDecodeError as exc:
        raise not_text(source, encoding) from exc
    unreadable = pl.Series(UNREADABLE_COL, messages, dtype=pl.String)
    return pl.concat(batches), unreadable if unreadable.null_count() < len(unreadable) else None


class _Lines:
    """The physical lines of a text file for ``csv.reader``, remembering the lines of the current record."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self._again: list[str] = []  # lines to read again, last first
        self.taken: list[str] = []
        self.done = 0  # lines accounted for

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._again.pop() if self._again else next(self._handle)
        self.taken.append(line)
        return line

    def settle(self) -> tuple[int, str]:
        """The record just read is done: its first line's number and its text."""
        number, text = self.done + 1, "".join(self.taken)
        self.done, self.taken = self.done + len(self.taken), []
        return number, text

    def give_back_all_but_first(self) -> tuple[int, str]:
        """The record failed: only its first line is spent; the others will be read again."""
        number, first = self.done + 1, self.taken[0]
        self._again.extend(reversed(self.taken[1:]))
        self.done, self.taken = self.done + 1, []
        return number, first


def _records(handle: TextIO, delimiter: str) -> Iterator[tuple[int, list[str], str, str | None]]:
    """(first line number, fields, raw text, problem or None) for each record, header included.

    A record the csv module rejects is reported as its first line alone and reading resumes on the
    next line: an unclosed quote costs one row, not the rest of the file (the csv module's field size
    limit bounds how far it reads ahead). A blank line is a record without fields (a null row, as polars).
    """
    lines = _Lines(handle)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            several = len(lines.taken) > 1
            number, raw = lines.give_back_all_but_first()
            yield number, [], raw, _quote_problem(str(exc), several)
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            continue
        number, raw = lines.settle()
        yield number, fields, raw, None


def _quote_problem(error: str, several_lines: bool) -> str:
    if several_lines or "unexpected end of data" in error:
        return "a quote opened on it is never closed"
    if "expected after" in error:
        return "a quoted field has more text after its closing quote (a quote inside a field must be doubled)"
    if "field larger than field limit" in error:
        return f"a field is longer than {csv.field_size_limit()} characters"
    return f"it is not valid CSV ({error})"


def _sentence(number: int, problem: str, raw: str) -> str:
    shown = raw.rstrip("\r\n").replace("\r\n", "\n").replace("\n", "\\n")
    if len(shown) > _SHOWN_CHARS:
        shown = shown[:_SHOWN_CHARS] + "…"
    return f"Line {number} could not be read because {problem}: {shown}"


def clean_header(columns: Sequence[str], path: Path) -> list[str]:
    """Names trimmed and BOM-free; a blank or repeated name is an InputError."""
    names = [c.strip().lstrip("\ufeff").strip() for c in columns]
    blank = [i + 1 for i, c in enumerate(names) if not c]
    if blank:
        raise InputError(
            f"{path} has a column without a name (column {blank[0]}).",
            "Give every column a header; the first line must be the header.",
        )
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise InputError(f"{path} has the column {repeated[0]!r} twice.", "Remove or rename one of them.")
    return names
