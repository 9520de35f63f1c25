"""Read input files (CSV, gzip or zip CSV, xlsx, Parquet) into frames of strings, one row per input row.

Every cell becomes a string (or null) so that one normalisation and validation path serves every
format; typed values (Parquet, xlsx) are rendered the way a CSV export would hold them (dates ISO 8601,
booleans ``True``/``False``). Each row keeps where it came from: ``_file`` and ``_row`` (the row number
as a spreadsheet shows it, header = 1; a quoted multi-line cell is one row) and ``_rid``, a run-wide
row id.

CSV text is decoded with the encoding in :class:`ReadOptions` or the one :mod:`importer.inputs.csv_dialect` finds,
and split on the delimiter given or sniffed. polars parses UTF-8 only, so other encodings are recoded
as they are read, and CSV inside ``.gz`` or ``.zip`` is decompressed as it is read (``importer.inputs.streams``):
no copy on disk, memory flat, and the read limits (``ReadLimits``: line, cell, columns, decompressed size and
ratio, zip entries) judged on the way; crossing one stops the read with an ``InputError`` naming the limit.

A line that cannot be parsed (more or fewer fields than the header, a broken or unclosed quote) does
not stop the read: it becomes a row whose user columns are null and whose ``_unreadable`` column says
why, quoting the line; that column exists only when some row is unreadable (see ``importer.inputs.csv_text``).

Columns whose name starts with ``_`` are dropped (so a fixed ``rejected.csv`` can be re-imported), and
the formula neutralisation the report applies (a leading ``'`` before ``= + - @``) is undone.
This module must not interpret column meanings: that is the job of the resource modules.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from importer.errors import InputError
from importer.frame import (
    FILE_COL,
    HEADER_ROWS,
    RID_COL,
    ROW_COL,
    UNREADABLE_COL,
    is_own_column,
)
from importer.inputs.csv_dialect import (
    SAMPLE_BYTES,
    UTF8,
    delimiter_char,
    detect_encoding,
    encoding_name,
    sniff_delimiter,
)
from importer.inputs.csv_text import clean_header, iter_csv, not_text
from importer.inputs.growing_files import reader
from importer.inputs.locations import shown
from importer.inputs.postgres_copy import dialect
from importer.inputs.streams import ByteStream, Utf8, limit_crossed, open_gzip, open_zip_member
from importer.records import normalise
from importer.settings import DEFAULT_LIMITS, ReadLimits

_NEUTRALISED = r"^'[=+\-@\t\r]"
_CSV_MEMBERS = (".csv", ".txt", ".tsv")
PARQUET_BATCH_ROWS = 50_000  # a SQL source's row group: 1M lines' dry run peaked 80 MB lower than at 100,000


@dataclass(frozen=True)
class ReadOptions:
    """How to read CSV text; ``None`` means detect it (see :mod:`importer.inputs.csv_dialect`)."""

    encoding: str | None = None
    delimiter: str | None = None
    limits: ReadLimits = DEFAULT_LIMITS  # how much a file may hold (line, cell, columns, decompressed size...)


@dataclass(frozen=True)
class SourceInfo:
    """What reading a file found out: its format, and for CSV text the encoding and delimiter used."""

    path: Path
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    member: str | None = None  # the CSV inside a zip


def read_inputs(paths: Sequence[Path], options: ReadOptions = ReadOptions()) -> pl.DataFrame:
    """Read every file and stack them (columns are the union of all files' columns)."""
    frames = list(iter_inputs(paths, options))
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    return _in_order(frame)


def close_reader(batches: Iterator[Any]) -> None:
    """Stop a reader of batches early: a generator holds its file, and a piece of it, until closed (an
    iterator without ``close`` holds nothing)."""
    close = getattr(batches, "close", None)
    if close is not None:
        close()


def iter_inputs(paths: Sequence[Path], options: ReadOptions = ReadOptions()) -> Iterator[pl.DataFrame]:
    """Every file's rows in batches, with a run-wide ``_rid`` (the files one after the other)."""
    if not paths:
        raise InputError("No input file given.", "Name CSV, xlsx or Parquet files, or a query (--db, --sql).")
    for path in paths:  # a missing file stops the run before any row is read
        check_path(path)
    rid = 0
    for path in paths:
        for batch in Source(path, options).batches():
            yield batch.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + rid).alias(RID_COL))
            rid += batch.height


def note_start(starts: list[tuple[int, str]], batch: pl.DataFrame) -> None:
    """Add (first row id, file) to ``starts`` when ``batch`` (of ``iter_inputs``) begins another file's rows,
    so a row id can be told as file and row number later."""
    if batch.height and (not starts or batch.item(0, FILE_COL) != starts[-1][1]):
        starts.append((batch.item(0, RID_COL), batch.item(0, FILE_COL)))


def read_file(path: Path, options: ReadOptions = ReadOptions()) -> pl.DataFrame:
    """One file as strings: user columns first, then ``_unreadable`` (if any row is), ``_file``, ``_row``."""
    return read_source(path, options)[0]


def read_source(path: Path, options: ReadOptions = ReadOptions()) -> tuple[pl.DataFrame, SourceInfo]:
    """:func:`read_file`, and what was found out about the file on the way."""
    source = Source(path, options)
    frames = list(source.batches())
    frame = pl.concat(frames, how="diagonal") if len(frames) > 1 else frames[0]
    assert source.info is not None
    return _in_order(frame), source.info


def _in_order(frame: pl.DataFrame) -> pl.DataFrame:
    """User columns first, then ``_unreadable`` (when some batch had it), ``_file``, ``_row``, ``_rid``."""
    tail = [c for c in (UNREADABLE_COL, FILE_COL, ROW_COL, RID_COL) if c in frame.columns]
    return frame.select(*[c for c in frame.columns if c not in tail], *tail)


def check_path(path: Path) -> None:
    """InputError unless ``path`` is an existing file."""
    if not path.exists():
        raise InputError(f"Input file {path} does not exist.", "Check the path.")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a file.", "Name the CSV, xlsx or Parquet files inside it.")


class Source:
    """One input file read in batches of rows; ``info`` is set once reading has started."""

    def __init__(self, path: Path, options: ReadOptions = ReadOptions()) -> None:
        self.path, self.options = path, options
        self.info: SourceInfo | None = None

    def batches(self) -> Iterator[pl.DataFrame]:
        """Frames of strings with ``_file`` and ``_row``; the first has every column even with no rows."""
        path = self.path
        check_path(path)
        kind = file_format(path)
        row = HEADER_ROWS + 1
        if kind == "parquet":
            self.info, frames = SourceInfo(path, kind), _parquet_batches(path)
        elif kind == "xlsx":
            self.info, frames = SourceInfo(path, kind), iter([_read_xlsx(path)])
        else:
            frames = self._text_batches(kind)
        for frame in frames:
            if frame.width > self.options.limits.columns:
                raise limit_crossed(path, f"it has {frame.width} columns", "columns", self.options.limits)
            frame = frame.rename(dict(zip(frame.columns, clean_header(frame.columns, path), strict=True)))
            if kind in ("parquet", "xlsx"):  # (the CSV parser drops them itself, keeping its _unreadable)
                frame = frame.select([c for c in frame.columns if not is_own_column(c)])
            yield frame.with_columns(
                pl.col(pl.String).exclude(UNREADABLE_COL).pipe(_undo_neutralisation),
                pl.lit(shown(path)).alias(FILE_COL),
                (pl.int_range(pl.len(), dtype=pl.Int64) + row).alias(ROW_COL),
            )
            row += frame.height

    def _text_batches(self, kind: str) -> Iterator[pl.DataFrame]:
        path, options = self.path, self.options
        encoding = None if options.encoding is None else encoding_name(options.encoding)
        delimiter = None if options.delimiter is None else delimiter_char(options.delimiter)
        if (own := dialect(path)) is not None:  # a copy the run wrote itself: its dialect is known, not the user's
            encoding, delimiter = own
        with _open_bytes(path, kind, options.limits) as (stream, member), _broken_stream(path, kind):
            head = stream.read(SAMPLE_BYTES + 1)
            encoding = encoding or detect_encoding(head[:SAMPLE_BYTES], complete=len(head) <= SAMPLE_BYTES)
            if delimiter is None:
                sample = head[: SAMPLE_BYTES // 4]
                delimiter = sniff_delimiter(
                    sample.decode(encoding, errors="replace"), complete=len(sample) == len(head)
                )
            self.info = SourceInfo(path, kind, encoding, delimiter, member)
            found = encoding
            text = Utf8(head, stream, found, found in UTF8, lambda offset: not_text(path, found, offset))
            yield from iter_csv(text, delimiter, path, encoding, options.limits)


def file_format(path: Path) -> str:
    """``csv``, ``csv.gz``, ``zip``, ``xlsx`` or ``parquet``, by the file's name (anything else is CSV)."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(".gz"):
        return "csv.gz"
    return "csv"


# -- CSV text ------------------------------------------------------------------------------------


@contextmanager
def _open_bytes(path: Path, kind: str, limits: ReadLimits) -> Iterator[tuple[ByteStream, str | None]]:
    """The file's CSV bytes as a stream (decompressed as read, within ``limits``), and the zip member's name."""
    try:
        if kind == "csv.gz":
            with open_gzip(path, limits) as unzipped:
                yield unzipped, None
        elif kind == "zip":
            with open_zip_member(path, limits, lambda archive: _zip_member(archive, path)) as (stream, member):
                yield stream, member
        elif (growing := reader(path)) is not None:  # a query's result still being written: read as it grows
            with growing:
                yield growing, None
        else:
            with path.open("rb") as stream:
                yield stream, None
    except zipfile.BadZipFile:
        raise InputError(f"{path} is not a valid zip file.", "Check that the download is complete.") from None
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}.", "Check the file's permissions.") from None


def _zip_member(archive: zipfile.ZipFile, path: Path) -> str:
    files = [i.filename for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    files = [f for f in files if not f.rsplit("/", 1)[-1].startswith(".")]
    tables = [f for f in files if f.lower().endswith(_CSV_MEMBERS)]
    if len(tables) == 1:
        return tables[0]
    listing = ", ".join(files) if files else "nothing"
    found = "no CSV file" if not tables else f"{len(tables)} CSV files"
    raise InputError(
        f"{path} holds {found} (members: {listing}).",
        "Put exactly one CSV file in the zip, or unpack it and name the files.",
    )


@contextmanager
def _broken_stream(path: Path, kind: str) -> Iterator[None]:
    """A broken compressed stream is an InputError."""
    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise InputError(
            f"Cannot read {path} as {kind}: {exc or 'it is truncated'}.", "Check that the file is complete."
        ) from None


# -- typed formats --------------------------------------------------------------------------------


def _parquet_batches(path: Path) -> Iterator[pl.DataFrame]:
    """Row groups' worth of rows at a time, typed values rendered as text."""
    try:
        schema = pl.read_parquet_schema(path)
        batches = pl.scan_parquet(path).collect_batches(chunk_size=PARQUET_BATCH_ROWS)
        first = True
        for frame in batches:
            first = False
            yield frame.select([normalise.as_text(name, dtype) for name, dtype in frame.schema.items()])
        if first:
            yield pl.DataFrame(schema=schema).select([normalise.as_text(name, dtype) for name, dtype in schema.items()])
    except (pl.exceptions.PolarsError, OSError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"Cannot read {path} as Parquet: {first_line}", "Check that the file is complete.") from None


def _read_xlsx(path: Path) -> pl.DataFrame:
    """The first sheet; the header is its first row, empty rows are kept (row numbers stay true).

    Cells are read as text (fastexcel's ``dtypes="string"``, polars' ``infer_schema_length=0``): a number
    cell is the number as written, never a float (``5897460000000``, ``19.9``, not ``5897460000000.0``), and
    no column's type is guessed, so fastexcel has nothing to warn about (it logs "Could not determine dtype
    for column N" for a column without values when it guesses). Only the columns whose text may come from a
    date or boolean cell are read again with their types, to render those cells as a CSV export holds them
    (ISO dates, ``True``/``False``); each of them has a value, so its type is found without a warning."""

    def sheet(**options: Any) -> pl.DataFrame:
        read: pl.DataFrame = pl.read_excel(
            path,
            sheet_id=1,
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
            infer_schema_length=0,
            **options,
        )
        return read

    try:
        header = sheet(has_header=False, read_options={"n_rows": 1})
        texts = sheet()
        maybe_typed = [name for name in texts.columns if texts.get_column(name).str.contains(_TYPED_CELL_TEXT).any()]
        typed = (
            pl.read_excel(
                path,
                sheet_id=1,
                drop_empty_rows=False,
                drop_empty_cols=False,
                raise_if_empty=False,
                infer_schema_length=None,
                columns=maybe_typed,
            )
            if maybe_typed
            else pl.DataFrame()
        )
    except Exception as exc:  # noqa: BLE001 - fastexcel raises its own types; any of them means "cannot read"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"Cannot read {path} as an xlsx workbook: {first}", "Check that the file is complete."
        ) from None
    names = ["" if v is None else str(v) for v in (header.row(0) if header.height else ())]
    clean_header(names, path)  # fastexcel renames a repeated or blank header; the user should fix it
    rendered = [name for name, dtype in typed.schema.items() if dtype == pl.Boolean or dtype.is_temporal()]
    frame = texts.select(pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in texts.columns)
    if rendered:  # an error cell (#N/A) in a typed column is null there: the text keeps it, to be rejected
        dtypes = typed.schema
        cells = typed.select(normalise.as_text(name, dtypes[name]) for name in rendered)
        frame = frame.with_columns(
            pl.coalesce(cells.get_column(name), pl.col(name).str.strip_chars()).alias(name) for name in rendered
        )
    return frame.rename(dict(zip(frame.columns, names, strict=True))) if len(names) == frame.width else frame


#: The text fastexcel gives a date, date-time or boolean cell (a text cell may read so too: it is then
#: typed as text, and kept as written).
_TYPED_CELL_TEXT = r"^(\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d+)?)?|true|false)$"


# -- shared ---------------------------------------------------------------------------------------


def _undo_neutralisation(expr: pl.Expr) -> pl.Expr:
    """``'=1+1`` → ``=1+1``: reverse of the report's formula-injection guard. (The outer ``when`` is for
    speed: polars skips the regex where no cell starts with a quote, which is nearly always.)"""
    neutralised = pl.when(expr.str.contains(_NEUTRALISED)).then(expr.str.slice(1)).otherwise(expr)
    return pl.when(expr.str.starts_with("'")).then(neutralised).otherwise(expr)
