"""The input stage every command that reads exports shares: the files as they are, or through a mapping.

``open_inputs`` checks the mapping or preset (before any row is read; a preset's generation is chosen by
the first file's header, ``importer.inputs.presets``), then gives the rows in batches in the importer's
columns. A file read without either whose header is a known export gets a warning naming the preset
(and the error that stops its run that hint: ``with_preset_hint``). A mapped run's batches keep the
original columns beside the mapped ones, named ``_in.<name>``: the resource stages ignore ``_`` columns,
and ``user_view`` turns them back into the rows as the user's file has them, which is what reports show.

The rows no stage checks (blank ones, and those a mapping drops) are taken out after the first pass,
by ``importer.inputs.set_aside``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from importer.errors import ImporterError, InputError, UsageError, listed
from importer.frame import (
    FILE_COL,
    RID_COL,
    ROW_COL,
    SOURCE_PREFIX,
    is_own_column,
)
from importer.inputs.files import ReadOptions, check_path, close_reader, iter_inputs
from importer.inputs.mapping import (
    Mapping,
    apply_mapping,
    load_mapping,
    read_files,
    unmapped_columns,
)
from importer.inputs.presets import Choice, choose_for_files, file_header, hint, preset_files
from importer.inputs.windows import Window
from importer.settings import OrderOptions, RunOptions

_SOURCES = f"^{SOURCE_PREFIX.replace('.', '[.]')}.*$"


@dataclass(frozen=True)
class Inputs:
    """The rows in batches, the data files (the mapping's own sources included), the mapping file, and the
    generation of a preset's export the files were read as."""

    batches: Iterator[pl.DataFrame]
    files: list[Path]
    mapping: Path | None = None
    read_as: str | None = None

    def close(self) -> None:
        """Stop reading (the rows not yet read are not needed)."""
        close_reader(self.batches)

    def whole(self) -> pl.DataFrame:
        """Every batch in one frame (for commands that hold their rows in memory)."""
        frames = list(self.batches)
        return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]


def open_inputs(
    command: str,
    paths: Sequence[Path],
    run: RunOptions,
    warn: Callable[[str], None],
    usage: str = "ecdp-import",
    window: Window | None = None,
) -> Inputs:
    """The rows ``command`` (customers or orders) imports from ``paths`` with ``run``'s reading options,
    mapping or preset; ``usage`` starts the command line suggested for a mapping of the other kind; with a
    ``window`` (``--since-column``), only its rows (``importer.inputs.windows``)."""
    read = ReadOptions(encoding=run.encoding, delimiter=run.delimiter, limits=run.limits)
    mapping, choice = chosen_mapping(command, run, paths, usage, always=True)
    if mapping is None:
        for path in paths:
            check_path(path)  # now, not when first read: the journal reads every file before that
        batches = _hinted(iter_inputs(paths, read), command, warn)
        return Inputs(window.within(batches) if window else batches, list(paths))
    mapping_path = mapping.path
    try:
        mapped, original = apply_mapping(mapping, paths, read, warn)
    except InputError as error:  # (a preset's closest generation: say which one was tried)
        if choice is None:
            raise
        raise InputError(f"{error.message} Read as: {choice.read_as}.", error.hint) from None
    unmapped = unmapped_columns(mapping, original)
    if unmapped:
        warn("Columns the mapping neither uses nor ignores: " + listed(unmapped) + ".")
    files = read_files(mapping, paths)
    kept = original.select(
        RID_COL, *[pl.col(c).alias(SOURCE_PREFIX + c) for c in original.columns if not is_own_column(c)]
    )
    batch = mapped.join(kept, on=RID_COL, how="left")
    batches = window.within(iter([batch])) if window else iter([batch])
    return Inputs(batches, files, mapping_path, choice.read_as if choice else None)


def mapping_for(
    command: str, run: RunOptions, usage: str = "ecdp-import", paths: Sequence[Path] = ()
) -> Mapping | None:
    """The checked mapping of ``run`` (``--mapping`` or ``--preset``, its generation chosen by the header of
    the first of ``paths``) for ``command``; None without one."""
    return chosen_mapping(command, run, paths, usage)[0]


def chosen_mapping(
    command: str, run: RunOptions, paths: Sequence[Path], usage: str = "ecdp-import", always: bool = False
) -> tuple[Mapping | None, Choice | None]:
    """The checked mapping of ``run`` and, for a preset, the generation of its export the files are read as
    (the header is read only when the preset has several files, or ``always``)."""
    if run.mapping is not None and run.preset is not None:
        raise UsageError("--mapping and --preset cannot be combined.", "Copy the preset's file and extend it.")
    choice = None
    if run.preset is not None:
        files = preset_files(run.preset, command)
        if len(files) > 1 or always:
            read = ReadOptions(run.encoding, run.delimiter, limits=run.limits)
            choice = choose_for_files(run.preset, command, paths, read)
        mapping_path: Path | None = choice.generation.path if choice else files[0]
    else:
        mapping_path = run.mapping
    if mapping_path is None:
        return None, None
    mapping = load_mapping(mapping_path)
    if mapping.kind != command:
        raise UsageError(
            f"The mapping {mapping_path} is for {mapping.kind}, not {command}.",
            f"Use it with: {usage} {mapping.kind} --mapping {mapping_path}",
        )
    return mapping, choice


def _hinted(batches: Iterator[pl.DataFrame], command: str, warn: Callable[[str], None]) -> Iterator[pl.DataFrame]:
    """``batches``, with a warning naming the preset when the first one's columns are a known export's."""
    first = True
    try:
        for batch in batches:
            if first:
                first = False
                found = hint([c for c in batch.columns if not is_own_column(c)], command)
                if found:
                    warn(found)
            yield batch
    finally:  # (closed early: the reader holds a piece of the file)
        close_reader(batches)


def with_preset_hint(error: ImporterError, command: str, paths: Sequence[Path], run: RunOptions) -> ImporterError:
    """``error``, or (the input read without --mapping or --preset could not be imported, and the first
    file looks like a platform's export) an InputError whose hint names the preset to use."""
    if not isinstance(error, InputError) or run.mapping is not None or run.preset is not None or not paths:
        return error
    try:
        header = file_header(paths[0], ReadOptions(encoding=run.encoding, delimiter=run.delimiter, limits=run.limits))
    except ImporterError:
        return error
    looks_like = hint(header, command)
    return error if looks_like is None else InputError(error.message, looks_like)


def with_mapping_conflicts(
    options: OrderOptions, run: RunOptions, paths: Sequence[Path] = (), command: str = "orders"
) -> OrderOptions:
    """``options`` with the ``conflict`` settings of the run's mapping for ``command`` (the options' own come
    first)."""
    mapping = mapping_for(command, run, paths=paths)
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
        return frame.select(RID_COL, FILE_COL, ROW_COL, *[pl.col(c).alias(c[len(SOURCE_PREFIX) :]) for c in sources])
    return frame.select(RID_COL, FILE_COL, ROW_COL, *[c for c in frame.columns if not is_own_column(c)])
