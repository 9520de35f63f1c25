"""A PostgreSQL query's result as CSV text PostgreSQL writes itself: ``COPY (...) TO STDOUT`` into a private file.

The server turns its rows into text anyway; ``COPY ... (FORMAT csv, HEADER, ENCODING 'UTF8')`` hands that
text over a row a message. ``export`` checks the query here, then a process of its own
(``postgres_copy_writer``: libpq's loop, no GIL shared with the run) writes the rows to the file in blocks,
and the run reads the file as it grows (``importer.inputs.growing_files``), as it reads any CSV input, with
its dialect fixed (``dialect``: UTF-8, ``,``), never guessed: the server's work and the run's overlap. 1M
order lines: the server's ~4 s, the writer's CPU ~2.3 s; through Arrow batches and polars, 7 s more of
conversion (docs/design.md).

The text is the importer's text form, the one the Arrow path gives (``databases._as_text``): the columns
are found first (the query with ``LIMIT 0``: names and type OIDs), and the COPY's outer SELECT turns the few
types whose server text differs into it: a ``timestamptz`` as UTC with ``Z`` (``2024-03-01T09:15:00.000Z``),
a ``timestamp`` as ``2024-03-01T10:15:00.000``, a ``boolean`` as ``True``/``False``. The session's
``DateStyle`` is ISO (the day order kept: the query's own date literals mean what they meant),
``IntervalStyle`` ISO 8601 and ``extra_float_digits`` 1 (a ``double precision`` as its shortest exact
digits, ``0.5``); ``numeric(12,2)`` is its digits (``19.90``), ``json`` its text, a ``date`` ``2024-03-01``,
a ``uuid`` its text. ``bytea`` has no text an export would hold: the query must cast it. The user's query
stands inside the COPY as a subquery, its columns renamed by position (``AS q (c1, c2, ...)``), so names
that repeat or need quotes are kept as the query gives them (the CSV reader then says when one repeats).

A result of one column gets a second, ``_in.`` (an own column the reader drops), always ``1``: COPY writes
a row whose one value is NULL as an empty line, which a CSV reader would skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from importer import scratch
from importer.errors import InputError, UsageError, missing_extra
from importer.frame import SOURCE_PREFIX
from importer.inputs import postgres_copy_writer
from importer.inputs.databases import WINDOW_MARKER, SqlQuery, _bare, _cannot_connect, _first_line, _query_failed
from importer.inputs.growing_files import GrowingFile

COPY_BLOCK_BYTES = 1 << 20  # the writer's block: written, flushed and reported at a time
#: type OID -> the SQL that turns the column ``{}`` into the importer's text
_AS_TEXT = {
    1184: """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')""",  # timestamptz
    1114: """to_char({}, 'YYYY-MM-DD"T"HH24:MI:SS.MS')""",  # timestamp
    16: "CASE WHEN {0} THEN 'True' WHEN NOT {0} THEN 'False' END",  # boolean
}
_BYTEA = 17
_SESSION = "SET DateStyle = 'ISO'; SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 1"
_FILLER = SOURCE_PREFIX + "copy"
_WRITTEN: set[str] = set()
_LOCK = threading.Lock()


def dialect(path: Path) -> tuple[str, str] | None:
    """(encoding, delimiter) of a file ``export`` wrote, else None (a user's file: found or given as usual)."""
    with _LOCK:
        return ("utf-8", ",") if str(path) in _WRITTEN else None


def export(query: SqlQuery, target: Path) -> Path:
    """Start the PostgreSQL query's COPY into the CSV file ``target`` (the importer's text) and return it at once.

    What can go wrong before the first row (the server unreachable, the password wrong, a table or column
    unknown, a ``bytea`` column) is raised here; the rows are then written by a process of their own
    (``postgres_copy_writer``) while the run reads them (``growing_files``), and an error past the first row
    (the connection lost, a cast failing on a row) reaches whoever reads the file up to it, before anything of
    it is sent."""
    psycopg = _psycopg(query)
    try:
        connection = psycopg.connect(query.connection_url())
    except psycopg.Error as exc:
        raise _cannot_connect(query, _first_line(exc)) from None
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(_SESSION)
            statement = _copy_statement(query, psycopg.sql, _columns(query, cursor, psycopg.sql)).as_string(connection)
    except psycopg.Error as exc:
        raise _query_failed(query, _first_line(exc)) from None
    job = {
        "conninfo": query.connection_url(),
        "session": _SESSION,
        "statement": statement,
        "target": str(target),
        "block": COPY_BLOCK_BYTES,
    }
    scratch.private_file(target)  # (there at once, for the run to open)
    crash_log = target.with_name(target.name + ".stderr")  # what the writer printed if it crashed (scrubbed when shown)
    try:
        with os.fdopen(os.open(scratch.private_file(crash_log), os.O_WRONLY), "wb") as stderr:
            # (run by its file, -P keeping its folder off the path: the package need not be importable there)
            writer = subprocess.Popen(
                [sys.executable, "-P", postgres_copy_writer.__file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
    except OSError as exc:
        raise InputError(
            f"Cannot start the copy of the query on {query.shown}: {exc.strerror or exc}.",
            "Check the machine's free memory and process limits.",
        ) from None
    with _LOCK:
        _WRITTEN.add(str(target))

    def follow(growing: GrowingFile) -> None:
        """Pass the writer's reports on to the file's readers, until its end."""
        assert writer.stdin is not None and writer.stdout is not None
        done, failed = False, None
        try:
            with writer.stdin:
                writer.stdin.write(json.dumps(job) + "\n")
            for line in writer.stdout:
                what, _, said = line.rstrip("\n").partition(" ")
                if what in ("written", "done"):
                    growing.grew(int(said))
                    done = what == "done"
                elif what in ("cannot-connect", "failed"):
                    failed = (_cannot_connect if what == "cannot-connect" else _query_failed)(
                        query, _first_line(RuntimeError(json.loads(said)))
                    )
        except (OSError, ValueError):  # (the writer gone before reading its job, or a line cut short)
            done = False
        finally:
            writer.stdout.close()
            writer.wait()
            growing.ended(None if done else failed or _stopped(query, crash_log))

    GrowingFile(target, writer.kill).start(follow)
    return target


def _stopped(query: SqlQuery, said: Path) -> InputError:
    """The writer ended without saying how (killed, or crashed: the last line it printed, ``said``)."""
    try:
        last = said.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
    except OSError:
        last = []
    why = f": {query.scrub(last[0])}" if last else ""
    return InputError(
        f"The copy of the query on {query.shown} stopped before its end{why}",
        "Run the import again; if it stops again, check the database server's log.",
    )


def _psycopg(query: SqlQuery) -> Any:
    try:
        import psycopg
        import psycopg.sql
    except ImportError:
        raise missing_extra(f"{query.scheme}://", "psycopg", "postgres") from None
    return psycopg


def _inner(query: SqlQuery, sql: Any) -> Any:
    """The user's query as a subquery (``databases._bare``: on lines of its own, without the ``;`` that ends it)."""
    return sql.SQL("(\n{}\n) AS q").format(_bound(query, _bare(query.sql), sql))


def _bound(query: SqlQuery, text: str, sql: Any) -> Any:
    """``text`` with the window's start (``query_windows.windowed``: ``... AS q WHERE "col" > $1 ...``) written in
    as a literal psycopg quotes (COPY takes no bound parameter); the user's SQL itself is left as written."""
    if not query.params:
        return sql.SQL(text)
    head, marker, tail = text.rpartition(WINDOW_MARKER)
    if not marker or "$1" not in tail:
        raise UsageError(
            f"The query on {query.shown} has parameters the importer did not put there.",
            "Write the query without $1 placeholders.",
        )
    before, _, after = tail.partition("$1")
    return sql.Composed([sql.SQL(head + marker + before), sql.Literal(query.params[0]), sql.SQL(after)])


def _columns(query: SqlQuery, cursor: Any, sql: Any) -> list[tuple[str, int]]:
    """The result's columns: (name, type OID), from the query run with ``LIMIT 0``."""
    cursor.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(_inner(query, sql)))
    columns = [(column.name, column.type_code) for column in cursor.description or ()]
    for name, oid in columns:
        if oid == _BYTEA:
            raise InputError(
                f"The query on {query.shown} returns column {name!r} as bytes (bytea).",
                f"Cast it to text in the query (e.g. encode({name}, 'hex')).",
            )
    return columns


def _copy_statement(query: SqlQuery, sql: Any, columns: list[tuple[str, int]]) -> Any:
    """``COPY (SELECT <each column as text> FROM (<query>) AS q (c1, ...)) TO STDOUT (FORMAT csv, HEADER)``."""
    renamed = [sql.Identifier(f"c{number}") for number in range(1, len(columns) + 1)]
    cells = [
        sql.SQL("{} AS {}").format(sql.SQL(_AS_TEXT.get(oid, "{}")).format(column), sql.Identifier(name))
        for column, (name, oid) in zip(renamed, columns, strict=True)
    ]
    if len(cells) == 1:
        cells.append(sql.SQL("1 AS {}").format(sql.Identifier(_FILLER)))
    inner = _inner(query, sql)
    if renamed:
        inner = sql.SQL("{} ({})").format(inner, sql.SQL(", ").join(renamed))
    return sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT csv, HEADER, ENCODING 'UTF8')").format(
        sql.SQL(", ").join(cells), inner
    )
