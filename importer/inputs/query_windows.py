"""A query's rows after a watermark, asked of the database: ``--since-column`` pushed into its SQL.

``jobs.incremental`` asks ``can_window`` (does the importer know the driver's placeholder?), checks the
cursor column's type with ``column_type`` (the query planned with ``LIMIT 0``), and runs ``windowed``: the
user's query wrapped as ``SELECT * FROM (<query>) AS q WHERE "col" > <placeholder> OR "col" IS NULL`` with
the window's start as a bound parameter, never text put into the SQL (``postgres_copy`` writes it as a
literal psycopg quotes: COPY takes no parameter). Other drivers' rows are windowed as they are read
(``inputs.windows``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from importer.inputs.databases import (
    WINDOW_MARKER,
    SqlQuery,
    _bare,
    _connected,
    _database_errors,
    _driver,
    _first_line,
    _query_failed,
)

#: scheme -> the placeholder of a query's first parameter
_PLACEHOLDERS = {"postgresql": "$1", "postgres": "$1", "sqlite": "?", "duckdb": "?"}


def can_window(query: SqlQuery) -> bool:
    """Whether the query's driver takes a bound parameter the importer knows how to write (``windowed``)."""
    return query.scheme in _PLACEHOLDERS


def column_type(query: SqlQuery, column: str) -> pl.DataType | None:
    """The type of the query's result column ``column`` as the driver gives it (None: no such column); the
    database plans the query without returning a row (SQLite, typed by its values, returns one)."""
    limit = 1 if query.scheme == "sqlite" else 0
    driver = _driver(query)
    errors: tuple[type[BaseException], ...] = (*_database_errors(driver), pl.exceptions.PolarsError)
    with _connected(query) as connection:
        try:
            schema = pl.read_database(f"SELECT * FROM (\n{_bare(query.sql)}\n) AS q LIMIT {limit}", connection).schema
        except errors as exc:
            raise _query_failed(query, _first_line(exc)) from None
    return schema.get(column)


def windowed(query: SqlQuery, column: str, start: Any) -> SqlQuery:
    """``query`` with only the rows whose ``column`` is greater than ``start`` (a bound parameter, never text
    put into the SQL) or empty; ``query`` itself for a driver whose placeholder the importer does not know (the
    rows are then windowed as they are read)."""
    placeholder = _PLACEHOLDERS.get(query.scheme)
    if placeholder is None:
        return query
    name = '"' + column.replace('"', '""') + '"'
    sql = f"SELECT * FROM (\n{_bare(query.sql)}{WINDOW_MARKER}{name} > {placeholder} OR {name} IS NULL"
    return replace(query, sql=sql, params=(start,), written=query.written or query.sql)
