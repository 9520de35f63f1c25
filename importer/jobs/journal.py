"""The run journal: an embedded SQLite state file that makes runs resumable, incremental and exclusive.

Tables:

* ``runs`` — one row per run: command, target, inputs (paths, sizes, SHA-256), options, status
  (``running`` until it ends; a run killed with -9 stays ``running``), exit code, summary, report dir;
* ``records`` — per target (public API URL + a hash of the key, never the key), kind and record key (order
  id, or the matched customer field): the fingerprint of the payload last *accepted*, and by which run.
  A row is written only after the API acknowledged the record, in the same transaction for a whole answer;
* ``run_records`` — per run, every key it got accepted and whether it was *new* to the journal then (no
  earlier run had it accepted, and the mode could create it): what ``undo`` may delete;
* ``paces`` — per target and endpoint, the request rate the adaptive limiter settled at and the chunk
  size after a 413, so the next run starts there instead of finding the limit again with 429s;
* ``watermarks`` — per job (a series and its ``--since-column``), the cursor value every row at or below
  which landed, and the run that moved it there (``importer.jobs.incremental``).

A run's ``series`` (a hash of what it reads and where it sends it: ``importer.jobs.drift.series_of``) groups
the nightly runs of one job: the drift gate compares a run with the last successful ones of its series, the
metrics give its last success; ``series_name`` is what ``runs`` shows of it. Runs recorded before series
named what they read (issue 31) keep their old ids, which match no new run: their series has no name.

``records`` serves both resume (skip what the interrupted run already got accepted) and delta sync (skip
what the platform already holds as it is now). SQLite in WAL mode with one transaction per write keeps
the file consistent through a crash at any moment. The lock is ``flock`` on a side file that names the
holder (pid, start time): the kernel releases it when the process dies, so a stale lock is taken over.
Files are created readable by the owner only: keys are personal data (e-mail addresses). A journal that
cannot be opened or written (damaged, read-only, the disk full) is a ``LocalFault`` naming the file and the
way out (``journal_fault``), never a bare ``sqlite3`` error.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import orjson
import polars as pl

from importer.errors import LocalFault, UsageError, file_fault
from importer.frame import FINGERPRINT_COL, KEY_COL
from importer.inputs import growing_files
from importer.inputs.batches import Inputs
from importer.inputs.locations import shown
from importer.report.files import FILE_MODE, make_private_dir, open_private
from importer.report.summary import RunSummary
from importer.settings import ApiSettings, public_url

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, command TEXT NOT NULL, target TEXT NOT NULL, inputs_hash TEXT NOT NULL,
    inputs TEXT NOT NULL, options TEXT NOT NULL, resume_of TEXT, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL, exit_code INTEGER, summary TEXT, report_dir TEXT, pid INTEGER
);
CREATE TABLE IF NOT EXISTS records (
    target TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    run_id TEXT NOT NULL, accepted_at TEXT NOT NULL, PRIMARY KEY (target, kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_by_inputs ON runs (command, target, inputs_hash, started_at);
CREATE TABLE IF NOT EXISTS run_records (
    run_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, new INTEGER NOT NULL, PRIMARY KEY (run_id, kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_records_by_key ON run_records (kind, key);
CREATE TABLE IF NOT EXISTS paces (
    target TEXT NOT NULL, endpoint TEXT NOT NULL, rate REAL, max_records INTEGER, updated_at TEXT NOT NULL,
    PRIMARY KEY (target, endpoint)
);
"""
_WATERMARKS = """
CREATE TABLE IF NOT EXISTS watermarks (
    job TEXT PRIMARY KEY, series TEXT NOT NULL, column_name TEXT NOT NULL, kind TEXT NOT NULL, value TEXT,
    run_id TEXT NOT NULL, updated_at TEXT NOT NULL
);
"""
P = ParamSpec("P")
T = TypeVar("T")
_SUCCEEDED = "status = 'finished' AND exit_code IN (0, 1)"  # the run finished and sent (rejected rows aside)


#: a record the API accepted: (target, kind, key, fingerprint, run_id, accepted_at), its latest acceptance kept
RECORD_ACCEPTED = (
    "INSERT INTO records (target, kind, key, fingerprint, run_id, accepted_at) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (target, kind, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
    " run_id = excluded.run_id, accepted_at = excluded.accepted_at"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def target_of(api: ApiSettings) -> str:
    """Which business unit: the public API URL and a hash of its key (never the key itself)."""
    key = api.key.reveal() if api.key is not None else ""
    return f"{public_url(api.url)}#{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def describe_inputs(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], str]:
    """(path, size, SHA-256) of every input, and one hash of them all (the run's "same inputs")."""
    inputs = []
    for path in paths:
        growing_files.wait_for(path)  # (a query's result still being written: its digest is the whole result's)
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        inputs.append({"path": shown(path), "size": path.stat().st_size, "sha256": digest})
    combined = hashlib.sha256(orjson.dumps([(i["path"], i["sha256"]) for i in inputs])).hexdigest()
    return inputs, combined


def fingerprints(texts: pl.Series) -> list[str]:
    """A stable fingerprint of each record's JSON (what was, or would be, sent): BLAKE2b of its UTF-8 bytes,
    taken from polars as bytes (not made Python text and encoded again)."""
    blake2b = hashlib.blake2b
    return [blake2b(text, digest_size=16).hexdigest() for text in texts.cast(pl.Binary).to_list()]


def journal_fault(exc: sqlite3.Error | OSError, path: Path) -> LocalFault:
    """One sentence for a journal that cannot be opened or written, with the way out and what it costs."""
    if isinstance(exc, OSError):
        return file_fault(exc, path, "the journal", "--state")
    text = str(exc)
    if "full" in text or "I/O error" in text:
        return LocalFault(
            f"Could not write the journal {path} ({text}: the disk is full, at a size limit, or failing).",
            f"Free space on that disk (df -h {path.parent}) or give --state another place; then run "
            "the same command with --resume to send what was not sent.",
            path,
        )
    if "not a database" in text or "malformed" in text or "disk image" in text:
        return LocalFault(
            f"The journal {path} is damaged ({text}).",
            f"Move it aside with its -wal and -shm files (mv {path} {path}.damaged) and run again, or "
            "give --state another file: a new journal starts empty, so --resume and --changed-only "
            "forget earlier runs (the next run sends every record once) and runs, retry and undo no "
            "longer know them.",
            path,
        )
    return LocalFault(
        f"The journal {path} cannot be written ({text}).",
        f"Let this user write {path} and its folder (and its -wal and -shm files), or give --state "
        "another file (a new journal forgets earlier runs: --resume and --changed-only start over).",
        path,
    )


def _journaled(method: Callable[Concatenate[Journal, P], T]) -> Callable[Concatenate[Journal, P], T]:
    """A journal method whose ``sqlite3`` or ``OSError`` failure becomes one ``LocalFault`` naming the file."""

    def journaled(self: Journal, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise journal_fault(exc, self.path) from None

    journaled.__name__, journaled.__doc__ = method.__name__, method.__doc__
    return journaled


@dataclass(frozen=True)
class ResumePoint:
    """The run a ``--resume`` continues: its chain of run ids (the original and earlier resumes)."""

    root: str
    run_ids: tuple[str, ...]


class Journal:
    """One state file; open it, take the lock, then record a run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # SQLite creates the -wal and -shm files itself: keep them owner-only too.
        self._umask = os.umask(0o077)
        try:
            self._open(path)
        except (sqlite3.Error, OSError) as exc:
            os.umask(self._umask)
            raise journal_fault(exc, path) from None

    def _open(self, path: Path) -> None:
        make_private_dir(path.parent)
        if not path.exists():  # (an existing one may be read-only for this command: it is not opened for writing)
            open_private(path, "ab").close()  # (never truncates: another process may have made it meanwhile)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        os.chmod(path, FILE_MODE)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(runs)")}
        if "series" not in columns:  # a journal of 0.1
            self.db.execute("ALTER TABLE runs ADD COLUMN series TEXT")
        if "series_name" not in columns:  # a journal written before series were named (issue 31)
            self.db.execute("ALTER TABLE runs ADD COLUMN series_name TEXT")
        self.db.execute("CREATE INDEX IF NOT EXISTS runs_by_series ON runs (series, started_at)")
        self.db.executescript(_WATERMARKS)  # a journal written before incremental loads (issue 33)

    def close(self) -> None:
        self.db.close()
        os.umask(self._umask)

    @contextlib.contextmanager
    def lock(self) -> Iterator[str | None]:
        """Hold the state file for this process; yields a note when a stale lock was taken over."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE), "r+")
        except OSError as exc:
            raise journal_fault(exc, lock_path) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UsageError(
                f"Another import is running on the state file {self.path} ({holder}).",
                "Wait for it to finish, or give this run its own --state file.",
            ) from None
        try:
            handle.seek(0)
            previous = handle.read().strip()
            handle.truncate(0)
            handle.write(f"pid {os.getpid()}, started {_now()}\n")
            handle.flush()
            yield f"took over a stale lock ({previous}, no longer running)" if previous else None
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    # -- runs --------------------------------------------------------------------------------

    def begin_run(
        self,
        run_id: str,
        command: str,
        target: str,
        inputs: Inputs,
        options: dict[str, Any],
        series: tuple[str, str],
        *,
        resume: bool,
        finished_too: bool = False,
    ) -> tuple[str, ResumePoint | None]:
        """Record the run as running, with its inputs described (the files and the mapping: a changed mapping
        is other inputs) and its series (id, name); the inputs' hash, and with ``resume`` the run it resumes
        (``resume_point``, None when there is none)."""
        mapping = [inputs.mapping] if inputs.mapping else []
        described, inputs_hash = describe_inputs([*inputs.files, *mapping])
        point = self.resume_point(command, target, inputs_hash, finished_too=finished_too) if resume else None
        self.start_run(run_id, command, target, described, inputs_hash, options, point.root if point else None, *series)
        return inputs_hash, point

    @_journaled
    def start_run(
        self,
        run_id: str,
        command: str,
        target: str,
        inputs: list[dict[str, Any]],
        inputs_hash: str,
        options: dict[str, Any],
        resume_of: str | None,
        series: str | None = None,
        series_name: str | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO runs (id, command, target, inputs_hash, inputs, options, resume_of, started_at, status, pid,"
            " series, series_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            (
                run_id,
                command,
                target,
                inputs_hash,
                orjson.dumps(inputs).decode(),
                orjson.dumps(options).decode(),
                resume_of,
                _now(),
                os.getpid(),
                series,
                series_name,
            ),
        )

    @_journaled
    def succeeded(self, series: str, limit: int = 5) -> list[RunSummary]:
        """The summaries of the last ``limit`` successful runs of ``series`` (exit 0 or 1), newest first."""
        rows = self.db.execute(
            f"SELECT summary FROM runs WHERE series = ? AND {_SUCCEEDED} ORDER BY started_at DESC, rowid DESC LIMIT ?",
            (series, limit),
        ).fetchall()
        return [RunSummary.from_dict(orjson.loads(summary)) for (summary,) in rows if summary]

    @_journaled
    def last_success(self, series: str) -> str | None:
        """When the last successful run of ``series`` finished (ISO 8601), or None."""
        row = self.db.execute(
            f"SELECT MAX(finished_at) FROM runs WHERE series = ? AND {_SUCCEEDED}", (series,)
        ).fetchone()
        return row[0] if row else None

    @_journaled
    def finish_run(self, run_id: str, summary: RunSummary, report_dir: Path) -> None:
        status = "interrupted" if summary.aborted else "finished"
        self.db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, summary = ?, report_dir = ? WHERE id = ?",
            (_now(), status, summary.exit_code, orjson.dumps(summary.to_dict()).decode(), str(report_dir), run_id),
        )

    @_journaled
    def resume_point(
        self, command: str, target: str, inputs_hash: str, *, finished_too: bool = False
    ) -> ResumePoint | None:
        """The latest run on these inputs, if it left records unaccepted (killed, interrupted, failures); with
        ``finished_too``, even one that finished without failures (custom events: its dispatched records)."""
        row = self.db.execute(
            "SELECT id, resume_of, status, summary FROM runs WHERE command = ? AND target = ? AND inputs_hash = ?"
            " ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (command, target, inputs_hash),
        ).fetchone()
        if row is None:
            return None
        run_id, resume_of, status, summary = row
        done = RunSummary.from_dict(orjson.loads(summary or "{}"))
        if not finished_too and status == "finished" and not (done.rows_failed or getattr(done, "rows_held", 0)):
            return None
        root = resume_of or run_id
        chain = [r[0] for r in self.db.execute("SELECT id FROM runs WHERE id = ? OR resume_of = ?", (root, root))]
        return ResumePoint(root, tuple(chain))

    @_journaled
    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT id, command, started_at, finished_at, status, exit_code, summary, report_dir, inputs, options, pid,"
            " series_name FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    @_journaled
    def run(self, run_id: str) -> dict[str, Any] | None:
        cursor = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,))
        row = cursor.fetchone()
        return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))

    # -- records -----------------------------------------------------------------------------

    @_journaled
    def accepted(
        self, run_id: str, target: str, kind: str, keys: Sequence[tuple[str, str]], may_create: bool = True
    ) -> None:
        """Record (key, fingerprint) pairs the API acknowledged, in one transaction, and for the run which
        keys were new to the journal (never accepted before; ``may_create``: the mode can create records)."""
        now = _now()
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR IGNORE INTO run_records (run_id, kind, key, new) VALUES (?, ?, ?, ? AND NOT EXISTS"
                " (SELECT 1 FROM records WHERE target = ? AND kind = ? AND key = ?))",
                [(run_id, kind, key, int(may_create), target, kind, key) for key, _ in keys],
            )
            self.db.executemany(RECORD_ACCEPTED, [(target, kind, key, fp, run_id, now) for key, fp in keys])

    @_journaled
    def known(self, target: str, kind: str, run_ids: Sequence[str] | None = None) -> pl.DataFrame:
        """Accepted (key, fingerprint) pairs for a target, optionally only those accepted by ``run_ids``."""
        query = "SELECT key, fingerprint FROM records WHERE target = ? AND kind = ?"
        params: list[Any] = [target, kind]
        if run_ids is not None:
            query += f" AND run_id IN ({', '.join('?' * len(run_ids))})"
            params += list(run_ids)
        rows = self.db.execute(query, params).fetchall()
        return pl.DataFrame(rows, schema={KEY_COL: pl.String, FINGERPRINT_COL: pl.String}, orient="row")

    # -- what a run created (undo) -----------------------------------------------------------

    @_journaled
    def created(self, run_id: str, kind: str) -> list[str]:
        """The keys of ``kind`` that run ``run_id`` created: new to the journal when accepted, and accepted
        by no run that started before it (sorted)."""
        rows = self.db.execute(
            "SELECT r.key FROM run_records r JOIN runs this ON this.id = r.run_id WHERE r.run_id = ? AND r.kind = ?"
            " AND r.new = 1 AND NOT EXISTS (SELECT 1 FROM run_records e JOIN runs earlier ON earlier.id = e.run_id"
            " WHERE e.kind = r.kind AND e.key = r.key AND earlier.target = this.target AND e.run_id != r.run_id"
            " AND earlier.started_at <= this.started_at) ORDER BY r.key",
            (run_id, kind),
        ).fetchall()
        return [key for (key,) in rows]

    @_journaled
    def sent_keys(self, run_id: str, kind: str) -> list[str]:
        """Every key of ``kind`` (``orders``; ``customers`` for any match field) run ``run_id`` got accepted."""
        rows = self.db.execute(
            "SELECT key FROM run_records WHERE run_id = ? AND (kind = ? OR kind LIKE ?) ORDER BY key",
            (run_id, kind, kind + ":%"),
        ).fetchall()
        return [key for (key,) in rows]

    # -- the remembered pace -----------------------------------------------------------------

    @_journaled
    def pace(self, target: str, endpoint: str) -> tuple[float | None, int | None]:
        """The rate (requests/s) and chunk size the last run to ``endpoint`` of ``target`` settled at."""
        row = self.db.execute(
            "SELECT rate, max_records FROM paces WHERE target = ? AND endpoint = ?", (target, endpoint)
        ).fetchone()
        return (None, None) if row is None else (row[0], row[1])

    @_journaled
    def remember_pace(self, target: str, endpoint: str, rate: float | None, max_records: int | None) -> None:
        self.db.execute(
            "INSERT INTO paces (target, endpoint, rate, max_records, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (target, endpoint) DO UPDATE SET rate = excluded.rate, max_records = excluded.max_records,"
            " updated_at = excluded.updated_at",
            (target, endpoint, rate, max_records, _now()),
        )

    # -- incremental loads' watermarks ---------------------------------------------------------

    @_journaled
    def watermark(self, job: str) -> tuple[str, str | None] | None:
        """(kind, value) of ``job``'s watermark (value None: a run read everything and none landed in order);
        None: no run of the job stored one."""
        row = self.db.execute("SELECT kind, value FROM watermarks WHERE job = ?", (job,)).fetchone()
        return None if row is None else (row[0], row[1])

    @_journaled
    def move_watermark(self, job: str, series: str, column: str, kind: str, value: str | None, run_id: str) -> None:
        """Store ``job``'s watermark (one transaction: the old one or the new one, never half)."""
        self.db.execute(
            "INSERT INTO watermarks (job, series, column_name, kind, value, run_id, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job) DO UPDATE SET kind = excluded.kind,"
            " value = excluded.value, run_id = excluded.run_id, updated_at = excluded.updated_at",
            (job, series, column, kind, value, run_id, _now()),
        )
