"""The reconciliation report: files a person can act on and a cron job can check.

A report directory holds:

* ``summary.json`` — counts, options and exit code of the run (never the API key);
* ``rejected.csv`` — one row per input row that needs fixing (validation or API rejection):
  ``_error, _field, _stage, _substatus, _type, _file, _row`` and then the row's original columns, so the
  file can be fixed and imported again as it is (``_`` columns are ignored on input); ``_substatus`` and
  ``_type`` are those of the API's problem answer for a row the API rejected (empty otherwise);
* ``failed.csv`` — the same layout for valid rows whose sending failed (network, 5xx, abort): import it
  again to retry;
* ``held.csv`` — the same layout for valid rows held back, never sent: the run stopped before sending
  (the error budget, the drift gate);
* ``errors.jsonl`` — every error answer of the API, with the rows of the request;
* ``payloads.jsonl`` — with ``--dry-run``, one request body per line, exactly as it would be sent.

Everything is created readable by the owner only (directories 0700, files 0600): it holds personal
data. Cells that a spreadsheet would run as a formula are neutralised with a leading ``'`` (OWASP
CSV injection); ``importer.inputs.files`` undoes this when the file is imported again.

A folder is one run's at a time: an import holds an ``flock`` on it (``Report.claim``; the kernel releases
it if the process dies), and a second run into it is refused before it sends anything. A file that cannot
be written (disk full, no permission) is a ``LocalFault`` naming it, never a bare ``OSError``.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import secrets
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

import orjson
import polars as pl

from importer.errors import UsageError, file_fault
from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    FILE_COL,
    RID_COL,
    ROW_COL,
    STAGE_COL,
    SUBSTATUS_COL,
    TYPE_COL,
    is_own_column,
)
from importer.records import json_text

REPORT_COLUMNS = (ERROR_COL, FIELD_COL, STAGE_COL, SUBSTATUS_COL, TYPE_COL, FILE_COL, ROW_COL)
_FORMULA_START = r"^[=+\-@\t\r]"
DIR_MODE, FILE_MODE = 0o700, 0o600
WINDOW_ROWS = 100_000  # rows of rejected.csv / failed.csv put in order at a time
_PART_GROUP_ROWS = 8_192
P = ParamSpec("P")
T = TypeVar("T")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as ``20261125T104500Z-3f9a``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(2)}"


def neutralise(expr: pl.Expr) -> pl.Expr:
    """Prefix ``'`` to a cell a spreadsheet would evaluate (starts with = + - @ tab or CR)."""
    return pl.when(expr.str.contains(_FORMULA_START)).then(pl.lit("'") + expr).otherwise(expr)


def open_private(path: Path, mode: str = "wb") -> IO[Any]:
    """Open for writing, creating the file 0600 (``"ab"``: appending to an existing one, tightened).

    ``"wb"`` replaces an existing file by a new one rather than truncating it: ext4 writes a file that was
    truncated and written again to disk when it is closed (``auto_da_alloc``), which made a dry run into a
    report folder used before wait for its ``payloads.jsonl`` (docs/benchmarks.md)."""
    if "a" in mode:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another run (a thread, a shard) made it meanwhile: it is theirs to set
            continue
        os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def _written(method: Callable[Concatenate[Report, P], T]) -> Callable[Concatenate[Report, P], T]:
    """A report method whose ``OSError`` (disk full, no permission) becomes one ``LocalFault`` naming the file."""

    def written(self: Report, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            raise file_fault(exc, self.dir, "the report", "--report-dir") from None

    written.__name__, written.__doc__ = method.__name__, method.__doc__
    return written


class Report:
    """One run's report directory; files are written as the run goes."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory  # created with the first file: a run stopped before writing leaves no folder
        self._existed = directory.exists()
        self._errors: IO[bytes] | None = None
        self._held: int | None = None  # the folder's descriptor while this run holds its lock
        self._refused = False  # another run holds the folder: this one leaves its files alone
        self.error_count = 0
        self._parts: dict[str, int] = {}

    @_written
    def claim(self) -> None:
        """Make the folder (private) and hold it for this run; ``UsageError`` when another run holds it."""
        if self._held is not None:
            return
        make_private_dir(self.dir)
        held = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(held)
            self._refused = True
            raise UsageError(
                f"The report folder {self.dir} is in use by another run: nothing was sent.",
                "Give each run its own --report-dir (the default, reports/<run id>, is new for "
                "every run), or wait for the other run to end.",
            ) from None
        self._held = held

    def release(self) -> None:
        """Let other runs use the folder again."""
        if self._held is not None:
            os.close(self._held)  # (closing the descriptor releases its flock)
            self._held = None

    @_written
    def path(self, name: str) -> Path:
        """Where the report file ``name`` goes (the folder is created, private, if need be)."""
        make_private_dir(self.dir)
        return self.dir / name

    @_written
    def api_error(self, entry: dict[str, Any]) -> None:
        """Append one API error answer to errors.jsonl."""
        if self._errors is None:
            self._errors = open_private(self.path("errors.jsonl"), "ab")
        self._errors.write(orjson.dumps(entry) + b"\n")
        self._errors.flush()
        self.error_count += 1

    @_written
    def payloads(self) -> IO[bytes]:
        """``payloads.jsonl``, opened for one request body per line (a dry run writes as it goes)."""
        return open_private(self.path("payloads.jsonl"))

    @_written
    def add_rows(self, name: str, table: pl.DataFrame) -> None:
        """Add rows (as made by :func:`report_table`) to the CSV file ``name``; written out by ``finish_rows``.

        Parts wait in a private folder of the report as Parquet, so rows from every part of the run end
        up in input order without being held in memory meanwhile."""
        if table.is_empty():
            return
        parts = make_private_dir(self.path(".parts") / name)
        number = self._parts.get(name, 0)
        with open_private(parts / f"{number:06d}.parquet") as out:  # sorted, in small row groups: see finish_rows
            table.sort(RID_COL, maintain_order=True).write_parquet(
                out, compression="lz4", row_group_size=_PART_GROUP_ROWS
            )
        self._parts[name] = number + 1

    def rows(self, name: str, reasons: pl.DataFrame, inputs: pl.DataFrame) -> Path | None:
        """Write ``name`` at once from reasons and the input rows (for runs that hold their rows in memory)."""
        view = inputs.select(RID_COL, FILE_COL, ROW_COL, *[c for c in inputs.columns if not is_own_column(c)])
        self.add_rows(name, report_table(reasons, view))
        return self.finish_rows(name)

    @_written
    def write_payloads(self, bodies: list[bytes]) -> Path:
        with self.payloads() as out:
            for body in bodies:
                out.write(body + b"\n")
        return self.path("payloads.jsonl")

    @_written
    def finish_rows(self, name: str) -> Path | None:
        """Write ``name`` from its parts, in input order; None when no row was added.

        Each part is sorted by row id, in row groups of a few thousand rows with their id ranges in the
        Parquet statistics, so the file is written a window of row ids at a time: only the row groups
        that overlap the window are read, and memory does not grow with the number of rows (a broken
        export can reject millions)."""
        if not self._parts.get(name):
            return None
        folder = self.dir / ".parts" / name
        parts = sorted(folder.iterdir())
        schema: dict[str, pl.DataType] = {}
        for part in parts:  # the union of the parts' columns (several input files may differ)
            schema.update((c, t) for c, t in pl.read_parquet_schema(part).items() if c not in schema)
        rows = pl.scan_parquet(parts, schema=schema, missing_columns="insert")
        rids = rows.select(RID_COL).collect().get_column(RID_COL).sort()
        bounds = sorted({*rids.gather_every(WINDOW_ROWS).to_list(), rids[-1] + 1})  # windows of as many rows
        columns = [*REPORT_COLUMNS, *[c for c in schema if c not in (RID_COL, *REPORT_COLUMNS)]]
        target = self.path(name)
        try:
            with open_private(target) as out:
                for number, (start, end) in enumerate(itertools.pairwise(bounds)):
                    window = rows.filter(pl.col(RID_COL).is_between(start, end, closed="left")).collect()
                    window.sort(RID_COL, maintain_order=True).select(columns).write_csv(out, include_header=number == 0)
        except BaseException:
            target.unlink(missing_ok=True)  # a file cut short would look whole
            raise
        shutil.rmtree(folder)
        return target

    @_written
    def summary(self, summary: dict[str, Any]) -> Path:
        target = self.path("summary.json")
        with open_private(target) as out:
            out.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
        return target

    def discard(self, abandon: bool = False) -> None:
        """Forget the rows and request bodies written so far (the run starts again); with ``abandon``, the
        run stopped before it could start, and the folder goes too if this run made it and it is empty. (A
        folder another run holds is left as it is.)"""
        if self._refused:
            return
        shutil.rmtree(self.dir / ".parts", ignore_errors=True)
        self._parts.clear()
        (self.dir / "payloads.jsonl").unlink(missing_ok=True)
        if abandon and not self._existed and self.dir.is_dir() and not any(self.dir.iterdir()):
            self.dir.rmdir()

    @_written
    def close(self, release: bool = True) -> None:
        """Close errors.jsonl and drop the parts; ``release``: the run is done with the folder."""
        try:
            if self._errors is not None:
                self._errors.close()
                self._errors = None
        finally:
            if not self._refused:
                shutil.rmtree(self.dir / ".parts", ignore_errors=True)
            if release:
                self.release()


def report_table(reasons: pl.DataFrame, view: pl.DataFrame) -> pl.DataFrame:
    """Rows with their reasons (``_rid, _field, _error, _stage`` and, from the API, ``_substatus, _type``)
    and the user's columns (``view``, see ``importer.inputs.batches.user_view``), formula cells
    neutralised; ``_rid`` kept for ordering."""
    originals = [c for c in view.columns if not is_own_column(c)]
    reasons = reasons.with_columns(
        pl.lit(None, pl.String).alias(c) for c in (SUBSTATUS_COL, TYPE_COL) if c not in reasons.columns
    )
    schema = view.schema  # (made anew at each access: once, not once per column)
    as_text = [  # a CSV cell holds text: nested Parquet values are written as their JSON
        (json_text.text(pl.col(c)) if schema[c].is_nested() else pl.col(c).cast(pl.String)).alias(c) for c in originals
    ]
    return (
        reasons.join(view.select(RID_COL, FILE_COL, ROW_COL, *as_text), on=RID_COL, how="left")
        .select(RID_COL, *REPORT_COLUMNS, *originals)
        .with_columns(
            neutralise(pl.col(c)).alias(c)
            for c in (ERROR_COL, FIELD_COL, SUBSTATUS_COL, TYPE_COL, FILE_COL, *originals)
        )
    )
