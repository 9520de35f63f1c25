"""Where inputs are: local files as they are; object storage, URLs and data frames as private local copies.

A source may be a local path, a URL — ``s3://``, ``gs://`` (``gcs://``), ``az://`` (``abfs://``,
``abfss://``), ``https://`` (``http://``) — or, through the library API, a polars ``DataFrame`` or
``LazyFrame``. ``local_copies`` gives a local path for each, for the run's duration:

* a URL is downloaded once (``importer.inputs.downloads``: a block at a time, memory flat, the disk holding
  the object once) into a private scratch folder, and then read exactly like a local file of that name:
  a ``.csv.gz`` is decompressed in pieces, Parquet read a row group at a time, and a second pass reads
  the copy, not the network again;
* a frame is written to Parquet (a ``LazyFrame`` is sunk, streaming) and read as Parquet;
* a ``SqlQuery`` (``importer.inputs.databases``) is run and its result streamed, a batch at a time, into a
  Parquet file of text columns, read as Parquet; PostgreSQL's as the server's own CSV text into a CSV file
  (``importer.inputs.postgres_copy``), read as CSV while it is written; it is called by its database URL
  without the password;
* a lake table or dataset (``importer.inputs.lake_tables``: ``delta://…``, ``iceberg://…``, a folder, prefix
  or glob of Parquet files) is scanned and streamed into a Parquet file of text columns the same way.

``shown(path)`` is what rows, summaries and the journal call a copy: its URL without query, or
``DataFrame #1`` (so a nightly run of the same URL is the same input for ``--resume`` and
``--changed-only``), and ``series_name(path)`` what it is in a run's series (a query's URL and a digest of its
SQL: ``SqlQuery.identity``); ``renamed(text)`` puts those names into a warning or an error message. The copies are
removed when the run ends (a killed run's by the next run's sweep of dead processes' scratch folders).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from importer import scratch
from importer.errors import ImporterError, UsageError
from importer.inputs import growing_files
from importer.inputs.databases import POSTGRES_SCHEMES, SqlQuery, export
from importer.inputs.downloads import download, is_url
from importer.inputs.lake_tables import export as export_table
from importer.inputs.lake_tables import lake_table
from importer.inputs.postgres_copy import export as copy_from_postgres
from importer.settings import public_url

Source = str | os.PathLike[str] | pl.DataFrame | pl.LazyFrame | SqlQuery
_SHOWN: dict[str, str] = {}
_SERIES: dict[str, str] = {}  # a query's copy -> its identity in a run's series (``SqlQuery.identity``)
_LOCK = threading.Lock()
_SCOPES = threading.local()  # the open local_copies of each thread (a run's job runs in the thread that opened it)


def shown(path: Path | str) -> str:
    """What a local copy stands for (a URL, ``DataFrame #1``), or the path itself."""
    return _SHOWN.get(str(path), str(path))


def series_name(path: Path | str) -> str:
    """What a local copy is in a run's series (``importer.jobs.drift.series_of``): a query's ``identity`` (its
    URL and a digest of its SQL), else ``shown(path)``; ``series_names`` says the same of the sources."""
    with _LOCK:
        found = _SERIES.get(str(path))
    return found or shown(path)


def renamed(text: str) -> str:
    """``text`` with every local copy's path replaced by what it stands for (for warnings and errors)."""
    with _LOCK:
        names = sorted(_SHOWN.items(), key=lambda item: -len(item[0]))
    for path, name in names:
        text = text.replace(path, name)
    return text


@contextmanager
def local_copies(sources: Sequence[Source], label: str | None = None) -> Iterator[list[Path]]:
    """A local path for each source (local paths as they are), the copies removed afterwards. An
    ``ImporterError`` raised meanwhile names the sources, not their copies; ``label`` names a frame (else
    ``DataFrame #n``). Meanwhile ``query_copy`` gives a mapping's own SQL sources their copies too."""
    scope = _Scope()
    _SCOPES.__dict__.setdefault("stack", []).append(scope)
    try:
        paths: list[Path] = []
        for number, source in enumerate(sources, start=1):
            if isinstance(source, (pl.DataFrame, pl.LazyFrame)):
                paths.append(_frame_copy(source, scope.folder() / f"{number}-dataframe.parquet"))
                scope.name(paths[-1], label or f"DataFrame #{number}")
            elif isinstance(source, SqlQuery):
                paths.append(_query_copy(source, scope.folder() / f"{number}-query"))
                scope.name(paths[-1], source.shown, source.identity)
            elif (table := lake_table(source)) is not None:
                paths.append(export_table(table, scope.folder() / f"{number}-{table.kind}.parquet"))
                scope.name(paths[-1], table.shown)
            elif is_url(source):
                assert isinstance(source, str)
                paths.append(download(source, scope.folder() / f"{number}-{_basename(source)}"))
                scope.name(paths[-1], public_url(source))
            else:
                paths.append(Path(source))
        try:
            yield paths
        except ImporterError as exc:  # named while the copies' names are known, then raised on
            exc.message, exc.hint = renamed(exc.message), renamed(exc.hint) if exc.hint else exc.hint
            exc.args = (exc.message,)
            raise
    finally:
        _SCOPES.stack.remove(scope)
        scope.close()


def query_copy(query: SqlQuery) -> Path:
    """The local copy of a query a mapping names as a source (``[sources.orders] db = ..., sql = ...``): run
    once per ``local_copies`` (the run's), into its folder, and named by its URL without the password. A
    ``UsageError`` outside one (a program error: the library's entry points always open one)."""
    stack: list[_Scope] = _SCOPES.__dict__.get("stack", [])
    if not stack:
        raise UsageError("A mapping's SQL source is read only within a run.", "Call the importer through importer.api.")
    scope = stack[-1]
    if query not in scope.queries:
        path = _query_copy(query, scope.folder() / f"source-{len(scope.queries) + 1}-query")
        scope.name(path, query.shown, query.identity)
        scope.queries[query] = path
    return scope.queries[query]


def _query_copy(query: SqlQuery, stem: Path) -> Path:
    """The query's result as a file: PostgreSQL's own CSV text (``COPY``, ``importer.inputs.postgres_copy``),
    every other database's Arrow batches as a Parquet file of text columns (``importer.inputs.databases``)."""
    if query.scheme in POSTGRES_SCHEMES:
        return copy_from_postgres(query, stem.with_name(stem.name + ".csv"))
    return export(query, stem.with_name(stem.name + ".parquet"))


class _Scope:
    """The copies of one ``local_copies``: its scratch folder (made when first needed) and their names."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self.made: list[str] = []
        self.queries: dict[SqlQuery, Path] = {}

    def folder(self) -> Path:
        if self._folder is None:
            self._folder = scratch.scratch_dir("copy")
        return self._folder

    def name(self, path: Path, name: str, series: str | None = None) -> None:
        with _LOCK:
            _SHOWN[str(path)] = name
            if series is not None:
                _SERIES[str(path)] = series
        self.made.append(str(path))

    def close(self) -> None:
        for made in self.made:  # (a query's COPY still being written is cancelled first)
            growing_files.stop(Path(made))
        with _LOCK:
            for key in self.made:
                _SHOWN.pop(key, None)
                _SERIES.pop(key, None)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def _basename(url: str) -> str:
    """The object's file name (its extension says how to read it), made safe for a local name."""
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "input.csv"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _frame_copy(frame: pl.DataFrame | pl.LazyFrame, target: Path) -> Path:
    scratch.private_file(target)
    if isinstance(frame, pl.LazyFrame):
        frame.sink_parquet(target)  # streaming: the frame is never held whole
    else:
        frame.write_parquet(target)
    return target


def described(sources: Sequence[Any]) -> list[str]:
    """How sources are named in messages before they are copied (a frame as ``DataFrame #n``)."""
    return [
        f"DataFrame #{n}"
        if isinstance(s, (pl.DataFrame, pl.LazyFrame))
        else s.shown
        if isinstance(s, SqlQuery)
        else _described(s)
        for n, s in enumerate(sources, start=1)
    ]


def series_names(sources: Sequence[Any]) -> list[str]:
    """What sources are in a run's series before they are copied: ``described``, a query by its ``identity``
    (as ``series_name`` calls its copy)."""
    named = zip(sources, described(sources), strict=True)
    return [source.identity if isinstance(source, SqlQuery) else name for source, name in named]


def _described(source: Any) -> str:
    try:
        table = lake_table(source)
    except ImporterError:  # a delta:// without a table: named as written
        table = None
    return table.shown if table is not None else public_url(source) if is_url(source) else str(source)
