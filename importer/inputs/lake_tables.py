"""Lake tables and datasets: a Delta table, an Iceberg table or a folder of Parquet files as an input.

``lake_table(source)`` tells which sources are one (else ``None``: a file, or a URL of one object):

* ``delta://PATH_OR_URL`` — the Delta table whose root (the folder holding ``_delta_log``) is the local
  path or the ``s3://``/``gs://``/``az://`` URL after ``delta://``, at its latest version; read by polars'
  ``scan_delta`` with delta-rs (extra ``[delta]``);
* ``iceberg://PATH_OR_URL`` — an Iceberg table by its metadata file (``…/metadata/00002-….metadata.json``,
  local or in object storage) or, locally, by its folder (the newest metadata file in ``metadata/``, or the
  one ``metadata/version-hint.text`` names); read by polars' ``scan_iceberg`` with PyIceberg (extra
  ``[iceberg]``);
* a folder of Parquet files — a local folder, an object-storage prefix written with a trailing slash
  (``s3://bucket/orders/``) or a glob (``s3://bucket/orders/**/*.parquet``, ``exports/*.parquet``): every
  Parquet file under it, in the order of their paths, hive partitions (``year=2026/month=11/``) becoming
  columns holding the folder names' text (``11``, ``01`` kept as written); read by polars' ``scan_parquet``.

``export`` streams the scan into a private Parquet file, each column turned into the importer's text form by
the Parquet reader's rule (``records.normalise.as_text``), with polars' streaming engine: memory holds a
morsel of rows, never the table. The run then reads that file as any Parquet input (a second pass, resume and
``--changed-only`` read the copy, not the lake again); ``shown`` is what reports call it (the URL without
query or credentials). Credentials come from the environment only, as each store's client finds them
(``AWS_*``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``); an ``http://`` ``AWS_ENDPOINT_URL`` (an
S3-compatible store such as MinIO) is allowed as the user set it.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import polars as pl

from importer import scratch
from importer.errors import InputError, UsageError, missing_extra
from importer.records import normalise
from importer.settings import public_url

Kind = Literal["delta", "iceberg", "parquet"]
PREFIXES: dict[str, Kind] = {"delta://": "delta", "iceberg://": "iceberg"}
#: kind -> (extra, module polars needs for it, what it is)
EXTRAS = {
    "delta": ("delta", "deltalake", "delta-rs (the deltalake package)"),
    "iceberg": ("iceberg", "pyiceberg", "PyIceberg"),
}
STORES = ("s3", "gs", "gcs", "az", "abfs", "abfss")
ROW_GROUP_ROWS = 50_000  # the copy's row groups: what the run's Parquet reader then holds at a time
PREFETCH_ENV = "POLARS_ROW_GROUP_PREFETCH_SIZE"
_GLOB = re.compile(r"[*?\[]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class LakeTable:
    """A lake table or dataset: ``kind``, and ``location`` (the local path or URL polars scans)."""

    kind: Kind
    location: str

    @property
    def shown(self) -> str:
        """What reports call it: ``delta://`` (``iceberg://``) and the path, or the URL without credentials."""
        prefix = {"delta": "delta://", "iceberg": "iceberg://", "parquet": ""}[self.kind]
        if not _URL.match(self.location):
            return prefix + self.location
        slash = "/" if self.location.endswith("/") else ""
        return prefix + public_url(self.location) + slash

    @property
    def scheme(self) -> str:
        """The store's scheme (``s3``, ``gs``, ``az`` ...), or ``file`` for a local path."""
        return self.location.split("://", 1)[0].lower() if _URL.match(self.location) else "file"


def lake_table(source: object) -> LakeTable | None:
    """The lake table or Parquet dataset ``source`` names, or ``None`` when it names a file or one object."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    text = os.fspath(source)
    for prefix, kind in PREFIXES.items():
        if text[: len(prefix)].lower() == prefix:
            location = text[len(prefix) :]
            if not location.strip():
                raise UsageError(
                    f"{text} names no table.",
                    f"Write it as {prefix}/data/lake/orders or {prefix}s3://bucket/lake/orders.",
                )
            return LakeTable(kind, location)
    if _URL.match(text):
        scheme = text.split("://", 1)[0].lower()
        path = urlsplit(text).path
        if scheme in STORES and (text.endswith("/") or _GLOB.search(path)):
            return LakeTable("parquet", text)
        return None
    if Path(text).is_dir() or (_GLOB.search(text) and not Path(text).exists()):
        return LakeTable("parquet", text)
    return None


def storage_options(table: LakeTable) -> dict[str, str] | None:
    """The options a store needs beyond its client's own environment. For S3 only: an S3-compatible store put at
    an ``http://`` ``AWS_ENDPOINT_URL`` is allowed to be one (delta-rs refuses it otherwise); PyIceberg's
    S3 reader does not read the endpoint and region from the environment, so they are handed to it."""
    if table.scheme != "s3":
        return None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
    if table.kind == "iceberg":
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        found = {"s3.endpoint": endpoint, "s3.region": region or ""}
        return {name: value for name, value in found.items() if value} or None
    return {"aws_allow_http": "true"} if endpoint.lower().startswith("http://") else None


def _needs(table: LakeTable) -> None:
    if table.kind not in EXTRAS:
        return
    extra, module, name = EXTRAS[table.kind]
    try:
        importlib.import_module(module)
    except ImportError:
        raise missing_extra(f"{table.kind}:// tables", name, extra) from None


def _iceberg_metadata(location: str) -> str:
    """The metadata file of a local table folder: the one ``metadata/version-hint.text`` names, else the newest
    ``*.metadata.json`` (by its leading number, as catalogs name them); a file or a URL as it is."""
    folder = Path(location)
    if _URL.match(location) or not folder.is_dir():
        return location
    metadata = folder / "metadata"
    hint = metadata / "version-hint.text"
    if hint.is_file():
        return location  # (PyIceberg reads the hint itself)
    found = sorted(metadata.glob("*.metadata.json"), key=lambda p: (_leading_number(p.name), p.name))
    if not found:
        raise InputError(
            f"{LakeTable('iceberg', location).shown} is not an Iceberg table: {metadata} holds no *.metadata.json.",
            "Name the table's folder or its metadata file "
            "(iceberg:///data/lake/orders/metadata/00002-….metadata.json).",
        )
    return str(found[-1])


def _leading_number(name: str) -> int:
    digits = re.match(r"v?(\d+)", name)
    return int(digits.group(1)) if digits else -1


def _hive_columns(location: str, options: dict[str, str] | None) -> dict[str, pl.DataType]:
    """The dataset's hive partition columns (``year=2026/`` folders), each to be read as the folder's text."""
    plain = pl.scan_parquet(location, hive_partitioning=False, storage_options=options).collect_schema()
    hived = pl.scan_parquet(
        location, hive_partitioning=True, try_parse_hive_dates=False, storage_options=options
    ).collect_schema()
    return {name: pl.String() for name in hived if name not in plain}


def _not_a_table(location: str) -> None:
    """A local folder that is a Delta or Iceberg table is refused as a plain folder of Parquet files: its files
    include those of rows deleted or replaced since, which only the table's log or metadata leave out."""
    folder = Path(location)
    if _URL.match(location) or not folder.is_dir():
        return
    if (folder / "_delta_log").is_dir():
        raise InputError(
            f"{location} is a Delta table: read as a folder of Parquet files it would bring back deleted rows.",
            f"Write it as delta://{location}.",
        )
    if any((folder / "metadata").glob("*.metadata.json")):
        raise InputError(
            f"{location} is an Iceberg table: read as a folder of Parquet files it would bring back deleted rows.",
            f"Write it as iceberg://{location}.",
        )


def scan(table: LakeTable) -> pl.LazyFrame:
    """The table as a lazy frame of its typed columns (nothing read but the metadata and a footer)."""
    _needs(table)
    options = storage_options(table)
    if table.kind == "delta":
        return pl.scan_delta(table.location, storage_options=options)
    if table.kind == "iceberg":
        return pl.scan_iceberg(_iceberg_metadata(table.location), storage_options=options)
    _not_a_table(table.location)
    hive = _hive_columns(table.location, options)
    return pl.scan_parquet(
        table.location,
        hive_partitioning=True,
        hive_schema=hive or None,
        try_parse_hive_dates=False,
        storage_options=options,
    )


def _not_readable(table: LakeTable, exc: BaseException) -> InputError:
    """What went wrong, as one sentence naming the table (its URL without credentials) and what to check."""
    said = _first_line(exc).replace(table.location, table.shown.removeprefix(f"{table.kind}://"))
    if table.kind == "delta" and (
        "TableNotFound" in type(exc).__name__
        or "No files in log segment" in said
        or "not a Delta table" in said.lower()
    ):
        return InputError(
            f"{table.shown} is not a Delta table (no _delta_log in it).",
            "Name the table's root folder, the one that holds _delta_log.",
        )
    if table.kind == "iceberg" and isinstance(exc, (FileNotFoundError, IsADirectoryError)):
        return InputError(
            f"{table.shown} is not an Iceberg table (no metadata file there).",
            "Name the table's metadata file (…/metadata/00002-….metadata.json) or, locally, its folder.",
        )
    if table.kind == "parquet" and "expanded paths were empty" in said:
        return InputError(
            f"{table.shown} is a folder that holds no Parquet files.",
            "Name the files to read, or a folder, prefix (ending in /) or glob (**/*.parquet) of Parquet files.",
        )
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{table.shown} does not exist.", "Check the path or URL.")
    if table.kind == "parquet" and table.scheme == "file":
        return InputError(
            f"Cannot read {table.shown} as a folder of Parquet files: {said}",
            "Every file in it must be a complete Parquet file; name CSV or xlsx files one by one.",
        )
    hint = {
        "file": "Check the path and that every file in it is complete.",
        "s3": "Check the AWS credentials in the environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL "
        "for an S3-compatible store) and the permissions.",
    }.get(table.scheme, "Check the store's credentials in the environment and the permissions.")
    return InputError(f"Cannot read {table.shown}: {said}", hint)


def _first_line(exc: BaseException) -> str:
    """The library's message, its first line without the error chain's decoration, and no URL's query."""
    text = str(exc).strip() or type(exc).__name__
    line = next((line.strip() for line in text.splitlines() if line.strip()), text)
    return re.sub(r"\?\S*", "", line)[:300]


def _errors() -> tuple[type[BaseException], ...]:
    """What the scanners raise for a table they cannot read: polars', delta-rs', PyIceberg's errors, and I/O."""
    found: list[type[BaseException]] = [pl.exceptions.PolarsError, OSError, ValueError]
    for module, name in (("deltalake.exceptions", "DeltaError"), ("pyiceberg.exceptions", "NoSuchTableError")):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except ImportError:  # that extra is not installed: its tables are refused before they are read
            pass
    return tuple(found)


@contextmanager
def _one_row_group_ahead() -> Iterator[None]:
    """polars' Parquet scan decoding one row group ahead, not several (its default prefetches many: 3M rows in
    row groups of 100k peaked at 586 MB, 245 MB so), for the export's duration; the setting is restored."""
    before = os.environ.get(PREFETCH_ENV)
    os.environ[PREFETCH_ENV] = before or "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PREFETCH_ENV, None)


def export(table: LakeTable, target: Path) -> Path:
    """The table's rows written to the Parquet file ``target`` as text, streamed: memory holds a row group (the
    unit a Parquet file is decoded in) and the morsels being written, never the table."""
    errors = _errors()
    scratch.private_file(target)
    try:
        frame = scan(table)
        schema: Any = frame.collect_schema()
        texts = frame.select(normalise.as_text(name, dtype) for name, dtype in schema.items())
        with _one_row_group_ahead():
            texts.sink_parquet(target, row_group_size=ROW_GROUP_ROWS, engine="streaming")
    except BaseException as exc:
        target.unlink(missing_ok=True)  # (no file at all, never a part of the table)
        if isinstance(exc, errors):
            raise _not_readable(table, exc) from None
        raise
    return target
