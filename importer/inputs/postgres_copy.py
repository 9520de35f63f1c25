"""A PostgreSQL query's result as CSV text PostgreSQL writes itself: ``COPY (...) TO STDOUT`` into a private file.

The server turns its rows into text anyway; ``COPY ... (FORMAT csv, HEADER, ENCODING 'UTF8')`` hands that
text over in blocks, which psycopg 3 (``cursor.copy()``) writes to the file as they come, with next to no
work on this side (1M order lines: the server's 7 s, the client's CPU under 1 s; through Arrow batches and
polars, 7 s more of conversion). The run then reads the file as it reads any CSV input, with its dialect
fixed (``dialect``: UTF-8, ``,``), never guessed.

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

import threading
from pathlib import Path
from typing import Any

from importer.errors import InputError, UsageError, missing_extra
from importer.frame import SOURCE_PREFIX
from importer.inputs.databases import WINDOW_MARKER, SqlQuery, _bare, _cannot_connect, _first_line, _query_failed

COPY_BLOCK_BYTES = 1 << 20  # written at a time (psycopg hands over the server's messages, ~64 kB each)
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
    """Run the PostgreSQL query and write its rows, as the importer's text, to the CSV file ``target``."""
    psycopg = _psycopg(query)
    try:
        connection = psycopg.connect(query.connection_url())
    except psycopg.Error as exc:
        raise _cannot_connect(query, _first_line(exc)) from None
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(_SESSION)
            statement = _copy_statement(query, psycopg.sql, _columns(query, cursor, psycopg.sql))
            with target.open("wb") as file, cursor.copy(statement) as copy:
                for block in copy:
                    file.write(block)
    except psycopg.Error as exc:
        target.unlink(missing_ok=True)
        raise _query_failed(query, _first_line(exc)) from None
    with _LOCK:
        _WRITTEN.add(str(target))
    return target


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
