"""The input stage every command that reads exports shares: the files as they are, or through a mapping.

``open_inputs`` checks the mapping or preset (before any row is read), then gives the rows in batches
in the importer's columns. A mapped run's batches keep the original columns beside the mapped ones,
named ``_in.<name>``: the resource stages ignore ``_`` columns, and ``user_view`` turns them back into
the rows as the user's file has them, which is what reports show.

``without_blank_rows`` takes out the rows whose every cell is empty or white space (a spreadsheet saves
its unused rows as ``,,,,,,``; every CSV tool skips them): they are counted (``rows_blank``), never
checked, sent or reported as rejected. A row the reader could not parse is never blank: it is rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from importer.errors import UsageError
from importer.frame import FILE_COL, RID_COL, ROW_COL, SOURCE_PREFIX, UNREADABLE_COL, is_bookkeeping
from importer.inputs.files import ReadOptions, iter_inputs
from importer.inputs.mapping import (
    apply_mapping,
    load_mapping,
    preset_path,
    unmapped_columns,
)
from importer.settings import RunOptions

_SOURCES = f"^{SOURCE_PREFIX.replace('.', '[.]')}.*$"


@dataclass(frozen=True)
class Inputs:
    """The rows in batches, the data files (the mapping's own sources included), and the mapping file."""

    batches: Iterator[pl.DataFrame]
    files: list[Path]
    mapping: Path | None = None

    def close(self) -> None:
        """Stop reading (the rows not yet read are not needed)."""
        close = getattr(self.batches, "close", None)
        if close is not None:
            close()

    def whole(self) -> pl.DataFrame:
        """Every batch in one frame (for commands that hold their rows in memory)."""
        frames = list(self.batches)
        return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]


def open_inputs(command: str, paths: Sequence[Path], run: RunOptions, warn: Callable[[str], None],
                usage: str = "ecdp-import") -> Inputs:
    """The rows ``command`` (customers or orders) imports from ``paths`` with ``run``'s reading options,
    mapping or preset; ``usage`` starts the command line suggested for a mapping of the other kind."""
    if run.mapping is not None and run.preset is not None:
        raise UsageError("--mapping and --preset cannot be combined.", "Copy the preset's file and extend it.")
    mapping_path = run.mapping or (preset_path(run.preset, command) if run.preset else None)
    read = ReadOptions(encoding=run.encoding, delimiter=run.delimiter)
    if mapping_path is None:
        return Inputs(iter_inputs(paths, read), list(paths))
    mapping = load_mapping(mapping_path)
    if mapping.kind != command:
        raise UsageError(f"The mapping {mapping_path} is for {mapping.kind}, not {command}.",
                         f"Use it with: {usage} {mapping.kind} --mapping {mapping_path}")
    mapped, original = apply_mapping(mapping, paths, read)
    unmapped = unmapped_columns(mapping, original)
    if unmapped:
        warn("Columns the mapping neither uses nor ignores: " + ", ".join(unmapped) + ".")
    driving, *joined = mapping.sources  # the command line's files first (driving, then joined without a path)
    files = [*(paths or ([driving.path] if driving.path else [])), *(s.path for s in joined if s.path is not None)]
    kept = original.select(RID_COL, *[pl.col(c).alias(SOURCE_PREFIX + c) for c in original.columns
                                      if not is_bookkeeping(c)])
    batch = mapped.join(kept, on=RID_COL, how="left")
    return Inputs(iter([batch]), files, mapping_path)


def mapped(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows in the importer's columns (what the resource stages prepare)."""
    return frame.select(pl.exclude(_SOURCES))


def user_view(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows as the user's file has them: ``_rid``, ``_file``, ``_row`` and the user's columns."""
    sources = [c for c in frame.columns if c.startswith(SOURCE_PREFIX)]
    if sources:
        return frame.select(RID_COL, FILE_COL, ROW_COL, *[pl.col(c).alias(c[len(SOURCE_PREFIX):]) for c in sources])
    return frame.select(RID_COL, FILE_COL, ROW_COL, *[c for c in frame.columns if not is_bookkeeping(c)])


def without_blank_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """``frame`` without its blank rows (every one of the user's cells empty, or only white space once
    trimmed), and how many there were; ``frame`` itself when it has none.

    White space is looked for where it can matter: the text column with the fewest empty cells shows a
    value for nearly every row of an export, and only the rows it shows none for are looked at whole, so
    the check costs one pass over one column, not a regular expression over every cell."""
    user = [c for c in frame.columns if c.startswith(SOURCE_PREFIX)] or [c for c in frame.columns
                                                                        if not is_bookkeeping(c)]
    if not frame.height or not user:
        return frame, 0
    schema = frame.schema  # (made anew at each access: a file of 10,000 columns would pay it 10,000 times)
    texts = [c for c in user if schema[c] == pl.String]
    others = [c for c in user if schema[c] != pl.String]

    def shown(columns: list[str]) -> pl.Expr:
        """A row shows a value in one of these columns (or is a line the reader could not parse)."""
        found = [pl.col(c).str.contains(r"\S").fill_null(False) for c in columns]
        found += [pl.col(c).is_not_null() for c in others]
        if UNREADABLE_COL in frame.columns:
            found.append(pl.col(UNREADABLE_COL).is_not_null())
        return pl.any_horizontal(found) if found else pl.lit(False)

    probe = [min(texts, key=lambda c: frame.get_column(c).null_count())] if texts else []
    probed = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("i"), shown(probe).alias("shown"))
    unsure = probed.filter(~pl.col("shown")).get_column("i")
    if unsure.is_empty():
        return frame, 0
    blank = unsure.filter(~frame.select(pl.all().gather(unsure)).select(shown(texts)).to_series())
    if blank.is_empty():
        return frame, 0
    return frame.filter(~pl.int_range(pl.len(), dtype=pl.UInt32).is_in(blank.implode())), blank.len()
