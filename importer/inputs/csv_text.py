"""Parse CSV text (UTF-8, already decoded) into frames of strings, a piece at a time, keeping the rows
it cannot parse.

The file is cut into pieces of about ``BLOCK_BYTES`` that end at a line end outside quotes, so memory
stays flat whatever the file's size. polars parses a clean piece at full speed. It rejects lines with
too many fields or broken quotes, and pads short ones silently, so when the last column has nulls the
piece's line structure is checked (quote-aware, in polars). Only a piece with a problem is read again,
record by record, with Python's ``csv`` module: each record that cannot be parsed becomes a row of
nulls, and a message quoting the line goes to the ``_unreadable`` column. An unclosed quote costs one
row, not the rest of the file. The header is always read with the csv module (polars is lenient with a
broken quote there).

The read limits (``importer.settings.ReadLimits``) are judged here as the text is cut and parsed: a line
longer than ``line_bytes`` stops the read as soon as that many bytes pass without a line end (a piece never
holds more than the limit and a block); where quotes stay open that long (a stray quote, or a quoted cell
past the limit) the piece is cut at a line end all the same, and its lines read one by one. A header of more
than ``columns`` names, a line of more fields (its delimiters counted, in the pieces read record by record),
and a cell longer than ``cell_bytes`` stop the read too.

This module knows nothing of files' formats, encodings or compression: ``importer.inputs.files`` hands it text.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

import polars as pl

from importer.errors import InputError
from importer.frame import UNREADABLE_COL, is_own_column
from importer.inputs.csv_dialect import UTF8
from importer.inputs.streams import ByteStream, check_cells, limit_crossed
from importer.settings import DEFAULT_LIMITS, ReadLimits

BLOCK_BYTES = 8 << 20  # text parsed at a time; a piece ends at a record's end, so it may be longer
RAMP = (3, 2, 1)  # the first pieces are BLOCK_BYTES >> 3, >> 2, >> 1 (1, 2, 4 MB): the second pass starts on
# the first records sooner (a partition is handed on once the next piece is read)
MAX_CELLS = 2_400_000  # a piece's rows × (columns + ROW_CELLS), at most, as far as the pieces before it tell:
# memory follows rows and cells, not bytes (a sparse export's 8 MB hold many more lines than a dense one's: see
# docs/benchmarks.md); ROW_CELLS is a row's share of the frames its record is made with
ROW_CELLS = 40  # (measured on order lines: what a line holds beside its cells; docs/benchmarks.md)
_SHOWN_CHARS = 200  # of an unreadable line, in its message


def not_text(source: Path, encoding: str, offset: int | None = None) -> InputError:
    where = f" (byte {offset})" if offset is not None else ""
    return InputError(
        f"{source} is not {'UTF-8' if encoding in UTF8 else encoding} text{where}.",
        "Name its encoding (e.g. --encoding cp1250 or cp1252), or save it as UTF-8 "
        "(most spreadsheet programs offer 'CSV UTF-8').",
    )


def iter_csv(
    text: Path | ByteStream, delimiter: str, source: Path, encoding: str, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[pl.DataFrame]:
    """The records of UTF-8 CSV text as frames of strings, a piece of about ``BLOCK_BYTES`` at a time.

    The first frame has the header's columns even when the file has no records; a frame gets an
    ``_unreadable`` column only when one of its rows could not be parsed. ``text`` is the UTF-8 text (a
    file, or a stream whose read errors are the caller's), ``source`` the file the user named (for messages).
    """
    try:
        if isinstance(text, Path):
            try:
                with text.open("rb") as handle:
                    yield from _parsed(handle, delimiter, source, limits)
            except OSError as exc:
                raise InputError(
                    f"Cannot read {source}: {exc.strerror or exc}.", "Check the file's permissions."
                ) from None
        else:
            yield from _parsed(text, delimiter, source, limits)
    except UnicodeDecodeError as exc:
        raise not_text(source, encoding) from exc


def _parsed(handle: ByteStream, delimiter: str, source: Path, limits: ReadLimits) -> Iterator[pl.DataFrame]:
    sizes = _Sizes()
    yield from _frames(_pieces(handle, sizes, limits.line_bytes), delimiter, source, sizes, limits)


class _LongLine(Exception):
    """A line longer than the limit, starting ``lines`` line ends into the text not yet handed on."""

    def __init__(self, lines: int) -> None:
        super().__init__(lines)
        self.lines = lines


class _WideLine(Exception):
    """A line of more fields than the limit (its number)."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


class _Sizes:
    """How much text to read for the next piece: the first pieces smaller (``RAMP``), then ``BLOCK_BYTES``, or
    less when the pieces parsed so far say that many bytes hold more than ``MAX_CELLS`` (rows × (columns +
    ``ROW_CELLS``))."""

    def __init__(self) -> None:
        self._first = [max(1, BLOCK_BYTES >> shift) for shift in RAMP]
        self._bytes = self._cells = 0

    def parsed(self, size: int, rows: int, width: int) -> None:
        self._bytes, self._cells = self._bytes + size, self._cells + rows * (width + ROW_CELLS)

    def __iter__(self) -> Iterator[int]:
        while True:
            if self._first:
                yield self._first.pop(0)
            elif self._cells > MAX_CELLS * self._bytes / BLOCK_BYTES:  # denser than MAX_CELLS per block
                yield max(1, int(MAX_CELLS * self._bytes / self._cells))
            else:
                yield BLOCK_BYTES


def _pieces(handle: ByteStream, sizes: Iterable[int], longest: int) -> Iterator[bytes]:
    """The file in pieces that end where a line ends outside quotes (whole records, as far as the quotes
    are balanced), each of about the next of ``sizes`` bytes. A piece grows past its size only while no
    such line end is in sight, and only up to ``longest`` bytes: then it ends at its last line end (the
    quotes stay open that long only after a stray quote, or in a quoted cell past the limits), and a line
    longer than ``longest`` raises ``_LongLine`` as soon as that many bytes of it are read."""
    carry = bytearray()  # grown in place and cut from the front (a long record is not copied at every block)
    for size in sizes:
        data = handle.read(size)
        if not data:
            if carry:
                yield bytes(carry)
            return
        start = carry.rfind(b"\n") + 1  # where the line going on into ``data`` starts
        end = data.find(b"\n")
        if len(carry) - start + (len(data) if end < 0 else end) > longest:
            raise _LongLine(carry.count(b"\n", 0, start))
        if len(data) > longest and max(map(len, data.split(b"\n"))) > longest:  # (a limit below the block size)
            first = next(i for i, line in enumerate(data.split(b"\n")) if len(line) > longest)
            raise _LongLine(carry.count(b"\n") + first)
        carry += data
        del data
        cut = _record_end(carry)
        if cut is None and len(carry) > longest:
            cut = carry.rfind(b"\n") + 1  # (there is one: no line is longer than ``longest``)
        if cut is None:
            continue
        with memoryview(carry) as view:
            piece = bytes(view[:cut])
        del carry[:cut]
        yield piece
        del piece


def _record_end(buffer: bytes | bytearray) -> int | None:
    """The position after the last newline with an even number of quotes before it, if any (RFC 4180
    doubles quotes inside fields, so an even count means the newline is outside a quoted field)."""
    end = buffer.rfind(b"\n")
    if b'"' not in buffer:  # (a search for one byte is much faster than counting them)
        return end + 1 if end >= 0 else None
    quotes, tries = buffer.count(b'"'), 0
    while end >= 0 and tries < 64:
        if (quotes - buffer.count(b'"', end)) % 2 == 0:
            return end + 1
        end, tries = buffer.rfind(b"\n", 0, end), tries + 1
    return None


def _frames(
    pieces: Iterator[bytes], delimiter: str, source: Path, sizes: _Sizes, limits: ReadLimits
) -> Iterator[pl.DataFrame]:
    """Parse each piece with polars when every line of it is sound, else record by record (``sizes`` is told
    what each piece held); a limit crossed is an InputError."""
    header: list[str] | None = None
    line = 1  # the number of the piece's first line
    rows = 0  # records handed on
    try:
        for piece in pieces:
            if header is None:
                header, body_start, header_lines = _header(piece, delimiter, source, limits.columns)
                if len(header) > limits.columns:
                    raise limit_crossed(source, f"its header has {len(header)} columns", "columns", limits)
                piece, line = piece[body_start:], 1 + header_lines
                user = [c for c in header if not is_own_column(c)]
                if not header:
                    yield pl.DataFrame()
                    return
                if not piece:
                    continue
            frame, unreadable = _fast(piece, delimiter, header), None
            if frame is None:
                frame, unreadable = _slow(piece.decode("utf-8"), delimiter, header, line, limits.columns)
            frame = frame.select(user)  # an input column named like the importer's own is not the user's data
            if len(piece) > limits.cell_bytes:  # (a smaller piece cannot hold a longer cell)
                check_cells(frame, rows, source, limits)
            sizes.parsed(len(piece), frame.height, frame.width)
            rows += frame.height
            line += piece.count(b"\n")
            del piece  # (not held while the frame is worked on)
            yield frame if unreadable is None else frame.with_columns(unreadable)
    except _LongLine as long:
        raise limit_crossed(source, f"line {line + long.lines} is longer", "line_bytes", limits) from None
    except _WideLine as wide:
        raise limit_crossed(source, f"line {wide.number} has more fields", "columns", limits) from None
    if header is None:
        yield pl.DataFrame()
    elif line == 1 + header_lines:  # header only
        yield pl.DataFrame(schema=dict.fromkeys(header, pl.String))


def _fast(piece: bytes, delimiter: str, header: list[str]) -> pl.DataFrame | None:
    """polars' parse of the piece, or None when a line of it has a problem polars would hide or raise."""
    try:
        frame = pl.read_csv(
            piece,
            has_header=False,
            new_columns=header,
            schema=dict.fromkeys(header, pl.String),
            separator=delimiter,
            encoding="utf8",
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.width != len(header):
        return None
    if frame.width > 1 and frame.get_column(header[-1]).null_count():
        sound = _quote_free_sound(piece, delimiter, frame.width, frame.height)
        if not (_lines_sound(piece, delimiter, frame.width, frame.height) if sound is None else sound):
            return None
    return frame


def _quote_free_sound(piece: bytes, delimiter: str, width: int, height: int) -> bool | None:
    """``_lines_sound`` of a piece without quotes, blank lines or lone CRs (an export whose last column is
    often empty, as a shop's are), from byte counts: a line is a record, polars raised at a line with too
    many fields, so the lines are sound when they hold ``width - 1`` delimiters each, on average. None for
    other pieces (the quote-aware check decides). A fraction of that check's cost (docs/benchmarks.md)."""
    if b'"' in piece or b"\n\n" in piece or piece.startswith(b"\n"):
        return None
    if b"\r" in piece and (
        b"\n\r\n" in piece or piece.startswith(b"\r\n") or piece.count(b"\r") != piece.count(b"\r\n")
    ):
        return None
    lines = piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1)
    return lines == height and piece.count(delimiter.encode()) == (width - 1) * lines


def _lines_sound(piece: bytes, delimiter: str, width: int, height: int) -> bool:
    """Whether every record of the piece has ``width`` fields (a blank line aside) and there are ``height``.

    polars pads a short line with nulls without a word, so the piece's lines are grouped into records
    (a record goes on while a quote is open) and the delimiters outside quotes counted.
    """
    line, quotes, inside = pl.col("line"), pl.col("quotes"), pl.col("inside")
    after_close = line.str.replace(r'^[^"]*"', "")  # the line after the quote closing an earlier one
    outside = (
        pl.when(inside).then(after_close).otherwise(line).str.replace_all(r'"[^"]*"', "").str.replace(r'"[^"]*$', "")
    )
    plain = pl.when(inside).then(0).otherwise(line.str.count_matches(delimiter, literal=True))
    delimiters = pl.when(quotes == 0).then(plain).otherwise(outside.str.count_matches(delimiter, literal=True))
    text = pl.Series([piece.decode("utf-8", errors="replace")]).str.strip_suffix("\n")
    counts = (
        pl.LazyFrame({"line": text.str.split("\n").explode().str.strip_suffix("\r")})
        .with_columns(quotes=line.str.count_matches('"', literal=True))
        .with_columns(inside=(quotes.cum_sum() - quotes) % 2 == 1)
        .with_columns(record=(~inside).cum_sum(), delimiters=delimiters, blank=line == "")
        .group_by("record", maintain_order=True)
        .agg(fields=pl.col("delimiters").sum() + 1, blank=pl.col("blank").all() & (pl.len() == 1))
        .select(records=pl.len(), bad=((pl.col("fields") != width) & ~pl.col("blank")).sum())
        .collect()
    )
    return bool(counts.item(0, "records") == height and counts.item(0, "bad") == 0)


def _header(piece: bytes, delimiter: str, source: Path, fields: int) -> tuple[list[str], int, int]:
    """(column names, where the records start in the piece, lines the header takes); InputError when the
    names cannot be read or repeat, _WideLine when a line has more than ``fields``. Read with the csv module:
    polars is lenient with a broken quote."""
    bom = len(codecs.BOM_UTF8) if piece.startswith(codecs.BOM_UTF8) else 0
    text = piece[bom:].decode("utf-8")
    first = next(_records(io.StringIO(text, newline=""), delimiter, most_fields=fields), None)
    if first is None:
        return [], len(piece), 0
    _, names, raw, problem = first
    if problem:
        raise InputError(
            f"The header line of {source} cannot be read: {problem}.",
            "The first line must be the column names, separated by the delimiter.",
        )
    return clean_header(names, source), bom + len(raw.encode("utf-8")), raw.count("\n")


def _slow(
    text: str, delimiter: str, header: list[str], first_line: int, most_fields: int
) -> tuple[pl.DataFrame, pl.Series | None]:
    """The piece record by record with Python's csv module; a record that cannot be read becomes a null
    row whose ``_unreadable`` column says why, quoting the line (_WideLine for a line of more fields than
    ``most_fields``: the csv module would make a list of them)."""
    width = len(header)
    rows: list[list[str | None]] = []
    messages: list[str | None] = []
    for number, fields, raw, problem in _records(io.StringIO(text, newline=""), delimiter, first_line, most_fields):
        if problem is None and fields and len(fields) != width:
            problem = f"it has {len(fields)} fields but the header has {width}"
        messages.append(None if problem is None else _sentence(number, problem, raw))
        rows.append([v or None for v in fields] if fields and problem is None else [None] * width)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(header, pl.String), orient="row")
    unreadable = pl.Series(UNREADABLE_COL, messages, dtype=pl.String)
    return frame, unreadable if unreadable.null_count() < len(unreadable) else None


class _Lines:
    """The physical lines of a text file for ``csv.reader``, remembering the lines of the current record."""

    def __init__(self, handle: TextIO, first_line: int = 1, delimiter: str = ",", fields: int | None = None) -> None:
        self._handle, self._delimiter, self._fields = handle, delimiter, fields
        self._again: list[str] = []  # lines to read again, last first
        self.taken: list[str] = []
        self.done = first_line - 1  # lines accounted for

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._again.pop() if self._again else next(self._handle)
        if self._fields is not None and line.count(self._delimiter) >= self._fields:
            raise _WideLine(self.done + len(self.taken) + 1)
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


def _records(
    handle: TextIO, delimiter: str, first_line: int = 1, most_fields: int | None = None
) -> Iterator[tuple[int, list[str], str, str | None]]:
    """(first line number, fields, raw text, problem or None) for each record, header included.

    A record the csv module rejects is reported as its first line alone and reading resumes on the
    next line: an unclosed quote costs one row, not the rest of the file (the csv module's field size
    limit bounds how far it reads ahead). A blank line is a record without fields (a null row, as polars).
    """
    lines = _Lines(handle, first_line, delimiter, most_fields)
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
