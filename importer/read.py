"""Read input files (CSV, Parquet) into frames of strings, one row per input row, nothing dropped.

Every cell becomes a string (or null) so that one normalisation and validation path serves both
formats; typed Parquet values are rendered the way a CSV export would hold them (dates ISO 8601,
booleans ``True``/``False``). Each row keeps where it came from: ``_file`` and ``_row`` (the row number
as a spreadsheet shows it, header = 1) and ``_rid``, a run-wide row id.

Columns whose name starts with ``_`` are dropped (so a fixed ``rejected.csv`` can be re-imported), and
the formula neutralisation the report applies (a leading ``'`` before ``= + - @``) is undone.
This module must not interpret column meanings: that is the job of the resource modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from importer.errors import InputError

FILE_COL, ROW_COL, RID_COL = "_file", "_row", "_rid"
HEADER_ROWS = 1
FORMULA_TRIGGERS = "=+-@\t\r"
_NEUTRALISED = r"^'[=+\-@\t\r]"
_POLARS_DUPLICATE = "_duplicated_"  # polars renames a repeated header "a" to "a_duplicated_0"


def read_inputs(paths: Sequence[Path]) -> pl.DataFrame:
    """Read every file and stack them (columns are the union of all files' columns)."""
    if not paths:
        raise InputError("No input file given.", "Name one or more CSV or Parquet files.")
    frames = [read_file(path) for path in paths]
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    return frame.with_row_index(RID_COL).with_columns(pl.col(RID_COL).cast(pl.Int64))


def read_file(path: Path) -> pl.DataFrame:
    """One file as strings, user columns first, then ``_file`` and ``_row``."""
    if not path.exists():
        raise InputError(f"Input file {path} does not exist.", "Check the path.")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a file.", "Name the CSV or Parquet files inside it.")
    suffix = path.suffix.lower()
    frame = _read_parquet(path) if suffix in (".parquet", ".pq") else _read_csv(path)
    frame = frame.rename({c: c.strip().lstrip("\ufeff").strip() for c in frame.columns})
    _check_header(frame.columns, path)
    frame = frame.select([c for c in frame.columns if not c.startswith("_")])
    return frame.with_columns(
        pl.col(pl.String).pipe(_undo_neutralisation),
        pl.lit(str(path)).alias(FILE_COL),
        (pl.int_range(pl.len(), dtype=pl.Int64) + HEADER_ROWS + 1).alias(ROW_COL),
    )


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        return pl.read_csv(
            path,
            infer_schema=False,
            encoding="utf8",
            glob=False,
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "utf-8" in text.lower() or "utf8" in text.lower():
            raise InputError(
                f"{path} is not UTF-8 text.",
                "Save the file as UTF-8 (most spreadsheet programs offer 'CSV UTF-8').",
            ) from None
        raise InputError(f"Cannot read {path} as CSV: {text}", "Check that it is a comma-separated file.") from None
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}.", "Check the file's permissions.") from None


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"Cannot read {path} as Parquet: {first}", "Check that the file is complete.") from None
    return frame.select([as_text(name, dtype) for name, dtype in frame.schema.items()])


def as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """Render a typed Parquet column as the strings a CSV export would hold."""
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


def _undo_neutralisation(expr: pl.Expr) -> pl.Expr:
    """``'=1+1`` → ``=1+1``: reverse of the report's formula-injection guard."""
    return pl.when(expr.str.contains(_NEUTRALISED)).then(expr.str.slice(1)).otherwise(expr)


def _check_header(columns: list[str], path: Path) -> None:
    blank = [i + 1 for i, c in enumerate(columns) if not c]
    if blank:
        raise InputError(
            f"{path} has a column without a name (column {blank[0]}).",
            "Give every column a header; the first line must be the header.",
        )
    for name in columns:
        original, marker, _ = name.partition(_POLARS_DUPLICATE)
        if marker and original in columns:
            raise InputError(f"{path} has the column {original!r} twice.", "Remove or rename one of them.")
