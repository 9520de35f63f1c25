"""The input stage every command that reads exports shares: the files as they are, or through a mapping.

``open_inputs`` checks the mapping or preset (before any row is read), then gives the rows in batches
in the importer's columns. A mapped run's batches keep the original columns beside the mapped ones,
named ``_in.<name>``: the resource stages ignore ``_`` columns, and ``user_view`` turns them back into
the rows as the user's file has them, which is what reports show.

The rows no stage checks (blank ones, and those a mapping drops) are taken out after the first pass,
by ``importer.inputs.set_aside``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from importer.errors import UsageError
from importer.frame import (
    FILE_COL,
    RID_COL,
    ROW_COL,
    SOURCE_PREFIX,
    is_bookkeeping,
)
from importer.inputs.files import ReadOptions, check_path, iter_inputs
from importer.inputs.mapping import (
    Mapping,
    apply_mapping,
    load_mapping,
    preset_path,
    unmapped_columns,
)
from importer.settings import OrderOptions, RunOptions

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
    read = ReadOptions(encoding=run.encoding, delimiter=run.delimiter, limits=run.limits)
    mapping = mapping_for(command, run, usage)
    if mapping is None:
        for path in paths:
            check_path(path)  # now, not when first read: the journal reads every file before that
        return Inputs(iter_inputs(paths, read), list(paths))
    mapping_path = mapping.path
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


def mapping_for(command: str, run: RunOptions, usage: str = "ecdp-import") -> Mapping | None:
    """The checked mapping of ``run`` (``--mapping`` or ``--preset``) for ``command``; None without one."""
    if run.mapping is not None and run.preset is not None:
        raise UsageError("--mapping and --preset cannot be combined.", "Copy the preset's file and extend it.")
    mapping_path = run.mapping or (preset_path(run.preset, command) if run.preset else None)
    if mapping_path is None:
        return None
    mapping = load_mapping(mapping_path)
    if mapping.kind != command:
        raise UsageError(f"The mapping {mapping_path} is for {mapping.kind}, not {command}.",
                         f"Use it with: {usage} {mapping.kind} --mapping {mapping_path}")
    return mapping


def with_mapping_conflicts(options: OrderOptions, run: RunOptions) -> OrderOptions:
    """``options`` with the ``conflict`` settings of the run's mapping (the options' own come first)."""
    mapping = mapping_for("orders", run)
    if mapping is None or not mapping.conflicts:
        return options
    return replace(options, conflicts={**mapping.conflicts, **options.conflicts})


def mapped(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows in the importer's columns (what the resource stages prepare)."""
    return frame.select(pl.exclude(_SOURCES))


def user_view(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows as the user's file has them: ``_rid``, ``_file``, ``_row`` and the user's columns."""
    sources = [c for c in frame.columns if c.startswith(SOURCE_PREFIX)]
    if sources:
        return frame.select(RID_COL, FILE_COL, ROW_COL, *[pl.col(c).alias(c[len(SOURCE_PREFIX):]) for c in sources])
    return frame.select(RID_COL, FILE_COL, ROW_COL, *[c for c in frame.columns if not is_bookkeeping(c)])
