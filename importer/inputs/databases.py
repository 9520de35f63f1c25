"""SQL sources: a query's result, read from a database in batches, as an input like a Parquet file.

A ``SqlQuery`` names a database by URL and a query. The driver follows the URL's scheme:
``postgresql://`` (``postgres://``) through ADBC's PostgreSQL driver, ``sqlite:///path.db`` through ADBC's
SQLite driver, ``duckdb:///path.db`` through DuckDB (a relative path after three slashes, an absolute one
after four, as SQLAlchemy writes them), ``mysql://`` and ``mssql://`` through ConnectorX, ``snowflake://`` and
``bigquery://`` through their ADBC drivers (``importer.inputs.warehouses``); each is an optional extra (``pip
install 'ecdp-importer[postgres]'``, ``[sqlite]``, ``[duckdb]``, ...), and a missing one is a ``UsageError``
naming it.

``export`` runs the query with ``polars.read_database(..., iter_batches=True)`` and streams the batches
into a private Parquet file, each turned into the importer's text form on the way with the Parquet
reader's own rule (``records.normalise.as_text``: dates ISO 8601, a ``timestamptz`` as UTC with ``Z``,
booleans ``True``/``False``, a ``numeric(12,2)`` as its digits, ``19.90``). The run then reads that file as
it reads any Parquet input, a batch at a time: memory holds one batch, the disk the result once, and every
row is accounted for as a file's row is (row N of the report is the result's row N - 1, as in the same
result exported to CSV with its header line).

The password is never shown: ``SqlQuery.shown`` (what rows, reports and the journal call the input) is the
URL without it, ``repr`` hides it, and every driver message is scrubbed of it before it becomes an error.
It may be in the URL, in ``SqlQuery.password`` (``--db-password-file``), or in ``ECDP_DB_PASSWORD``.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

import polars as pl

from importer import scratch
from importer.errors import InputError, UsageError, missing_extra
from importer.inputs import warehouses
from importer.records import normalise

DB_URL_ENV = "ECDP_DB_URL"
DB_PASSWORD_ENV = "ECDP_DB_PASSWORD"
BATCH_ROWS = 50_000  # rows a batch, and a row group of the copy: files.PARQUET_BATCH_ROWS reads one at a time
CONNECT_TIMEOUT_S = 15
HIDDEN = "***"
QUERY_DIGEST = 12  # hex digits of the SQL's SHA-256 in a query's identity (48 bits: two jobs' queries never meet)
_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")

#: scheme -> (extra, module to import, what it is)
_DRIVERS = {
    "postgresql": ("postgres", "adbc_driver_postgresql.dbapi", "ADBC's PostgreSQL driver"),
    "postgres": ("postgres", "adbc_driver_postgresql.dbapi", "ADBC's PostgreSQL driver"),
    "sqlite": ("sqlite", "adbc_driver_sqlite.dbapi", "ADBC's SQLite driver"),
    "duckdb": ("duckdb", "duckdb", "DuckDB"),
    "mysql": ("mysql", "connectorx", "ConnectorX"),
    "mssql": ("mssql", "connectorx", "ConnectorX"),
    "snowflake": ("snowflake", "adbc_driver_snowflake.dbapi", "ADBC's Snowflake driver"),
    "bigquery": ("bigquery", "adbc_driver_bigquery.dbapi", "ADBC's BigQuery driver"),
}
#: scheme -> the type a query casts bytes to for their text, where it is not CHAR
_TEXT_TYPES = {"snowflake": "VARCHAR", "bigquery": "STRING"}
#: the schemes of a database file (``SqlQuery.local_path``) -> what it is called
_FILE_DATABASES = {"sqlite": "SQLite", "duckdb": "DuckDB"}
#: the schemes whose run reads PostgreSQL's own CSV text (``importer.inputs.postgres_copy``), not Arrow batches
POSTGRES_SCHEMES = ("postgresql", "postgres")
#: the schemes ConnectorX reads (its own connection pool and Arrow record batches, not DB-API)
CONNECTORX_SCHEMES = ("mysql", "mssql")
#: scheme -> the URL parameter that bounds connecting (a server behind a firewall that drops packets)
_TIMEOUT_PARAMETERS = {
    "postgresql": f"connect_timeout={CONNECT_TIMEOUT_S}",
    "postgres": f"connect_timeout={CONNECT_TIMEOUT_S}",
    "mysql": f"tcp_connect_timeout_ms={CONNECT_TIMEOUT_S * 1000}",
}


@dataclass(frozen=True)
class SqlQuery:
    """The result of ``sql`` on the database at ``url`` as an input. ``password`` (else the URL's, else
    ``ECDP_DB_PASSWORD``) is never shown: not in ``repr``, ``shown``, reports or errors."""

    url: str
    sql: str
    password: str | None = field(default=None, repr=False)
    params: tuple[Any, ...] = field(default=(), repr=False)  # bound to the query's placeholders (``windowed``)
    written: str = field(default="", repr=False)  # the SQL as the user wrote it, when ``windowed`` wrapped ``sql``

    def __post_init__(self) -> None:
        if not self.sql.strip():
            raise UsageError("The SQL query is empty.", "Give a SELECT with --sql or --sql-file.")
        try:
            port = urlsplit(self.url).port
        except ValueError:  # not a number, or out of range
            port = -1
        if port == -1:
            raise UsageError(
                f"The database URL {self.shown} has no valid port.", "Write it as postgresql://user@host:5432/database."
            )
        if self.scheme not in _DRIVERS:
            known = ", ".join(f"{s}://" for s in _DRIVERS)
            raise UsageError(
                f"The database URL {self.shown} is not one the importer reads (scheme {self.scheme!r}).",
                f"Use one of {known} (e.g. duckdb:////data/shop.duckdb).",
            )
        warehouses.check(self.url, self.shown)

    def __repr__(self) -> str:
        return f"SqlQuery(url={self.shown!r}, sql={self.sql!r})"

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    @property
    def shown(self) -> str:
        """The URL without its password (user, host, port, database and path kept; the query string dropped)."""
        parts = urlsplit(self.url)
        if parts.scheme.lower() in _FILE_DATABASES:
            return f"{parts.scheme}:///{self.local_path()}"
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = parts.netloc.rsplit("@", 1)[-1].rsplit("]", 1)[-1].partition(":")[2]  # as written, checked or not
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{':' + port if port else ''}{parts.path}"

    @property
    def identity(self) -> str:
        """What the query is in a run's series (``importer.jobs.drift.series_of``): ``shown`` and a digest of the
        SQL as the user wrote it (before ``windowed``), in letters (``a``-``p`` for hex digits, which the series
        would mask): ``sqlite:///shop.db (query kbfhnmdpaeoc)``. Two queries on one database are two jobs."""
        digest = hashlib.sha256((self.written or self.sql).strip().encode()).hexdigest()[:QUERY_DIGEST]
        return f"{self.shown} (query {digest.translate(_LETTERS)})"

    def secret(self) -> str | None:
        """The password in use: the URL's (``user:pw@`` or libpq's ``?password=``), else ``password``, else
        ``ECDP_DB_PASSWORD``'s."""
        parts = urlsplit(self.url)
        in_url = unquote(parts.password) if parts.password else parse_qs(parts.query).get("password", [None])[0]
        return in_url or self.password or os.environ.get(DB_PASSWORD_ENV) or None

    def scrub(self, text: str) -> str:
        """``text`` without the password (as written, and as written in a URL) and with the URL shown."""
        text = text.replace(self.url, self.shown)
        secret = self.secret()
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, HIDDEN)
        return text

    def connection_url(self) -> str:
        """The URL the driver gets: with the password put in when it comes from elsewhere, and libpq's
        ``connect_timeout`` (MySQL's ``tcp_connect_timeout_ms``) unless the URL sets it, so a server behind a
        firewall that drops packets is an error after seconds, not a run that hangs."""
        parts = urlsplit(self.url)
        if self.scheme in _FILE_DATABASES:
            return self.url
        netloc, secret = parts.netloc, self.secret()
        if secret and not parts.password and "password=" not in parts.query:
            user = quote(unquote(parts.username or ""), safe="")
            netloc = f"{user}:{quote(secret, safe='')}@{netloc.rsplit('@', 1)[-1]}"
        query, timeout = parts.query, _TIMEOUT_PARAMETERS.get(self.scheme)
        if timeout and timeout.split("=")[0] + "=" not in query:
            query = f"{query}&{timeout}" if query else timeout
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    def local_path(self) -> str:
        """The database file of a ``sqlite://`` or ``duckdb://`` URL, as SQLAlchemy writes them: three slashes
        and a relative path (``sqlite:///shop.db``), four for an absolute one (``duckdb:////data/shop.duckdb``);
        ``sqlite:///:memory:`` is ``:memory:``."""
        parts = urlsplit(self.url)
        path = unquote(parts.path)
        if parts.netloc:
            return unquote(parts.netloc.rsplit("@", 1)[-1]) + path
        return path[1:] if path.startswith("/") else path


def read_password_file(path: Path) -> str:
    """The password in ``path`` (its first line), for ``--db-password-file``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(
            f"Cannot read the database password file {path}: {exc.strerror or exc}.",
            "Check the path and its permissions.",
        ) from None
    if not lines or not lines[0].strip():
        raise UsageError(f"The database password file {path} is empty.", "Write the password on its first line.")
    return lines[0].strip()


def _driver(query: SqlQuery) -> ModuleType:
    extra, module, name = _DRIVERS[query.scheme]
    if module == "connectorx" and module not in sys.modules:
        os.environ.setdefault("RUST_LOG", "off")  # its pool logs each failed try to stderr, read when it loads
    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing_extra(f"{query.scheme}://", name, extra) from None


def _first_line(exc: BaseException) -> str:
    """The driver's message, its first line, without the driver's own prefixes (``NOT_FOUND: [libpq] ...``):
    what the server said (``relation "orders" does not exist``), or why it could not be reached."""
    text = str(exc).strip() or type(exc).__name__
    line = next((line.strip() for line in text.splitlines() if line.strip()), text)
    said = re.search(r"\b(?:ERROR|FATAL):\s+(.*)", line)
    if said:
        return said.group(1).strip()
    line = re.sub(r"^(?:[A-Z_]+: )?(?:\[\w+\] )?", "", line).strip()
    return re.sub(r'^[A-Z][a-z]+ "https?://[^"]*": ', "", line)  # (Go's "Post \"https://...\": dial tcp: ...")


def _database_errors(driver: ModuleType) -> tuple[type[BaseException], ...]:
    found = getattr(driver, "Error", None)  # DB-API 2's base class (ADBC's dbapi modules and duckdb have it)
    return (found,) if isinstance(found, type) and issubclass(found, BaseException) else ()


@contextmanager
def _connected(query: SqlQuery) -> Iterator[Any]:
    """A connection to the query's database (read-only where the driver can say so); closed afterwards."""
    driver = _driver(query)
    errors = _database_errors(driver)
    try:
        if query.scheme in _FILE_DATABASES:
            path = query.local_path()
            if path != ":memory:" and not Path(path).is_file():
                raise InputError(
                    f"The {_FILE_DATABASES[query.scheme]} database {query.shown} does not exist.",
                    "Check the path in the URL.",
                )
            read_only = {"read_only": path != ":memory:"} if query.scheme == "duckdb" else {}
            connection = driver.connect(path, **read_only)
        elif query.scheme in warehouses.SCHEMES:
            connection = warehouses.connect(driver, query.url, query.secret())
        else:
            connection = driver.connect(query.connection_url())
    except errors as exc:
        raise _cannot_connect(query, _first_line(exc)) from None
    try:
        yield connection
    finally:
        try:
            connection.close()
        except errors:  # closing a connection whose server went away: nothing left to close
            pass


def _as_text(query: SqlQuery, batch: pl.DataFrame) -> pl.DataFrame:
    """A batch of the result as the importer's text: a driver's extension types by their storage (PostgreSQL's
    ``numeric`` comes as its text, ``19.90``; ``json`` as its text), then the Parquet reader's rule for typed
    columns. Bytes (a ``uuid``, ``bytea``) have no text form an export would hold: the query must cast them."""
    extensions = [name for name, dtype in batch.schema.items() if isinstance(dtype, pl.Extension)]
    if extensions:
        batch = batch.with_columns(pl.col(name).ext.storage() for name in extensions)
    for name, dtype in batch.schema.items():
        if dtype == pl.Binary:
            cast = (
                f"{name}::text"
                if query.scheme.startswith("postgres")
                else f"CAST({name} AS {_TEXT_TYPES.get(query.scheme, 'CHAR')})"
            )
            raise InputError(
                f"The query on {query.shown} returns column {name!r} as bytes (a uuid or bytea?).",
                f"Cast it to text in the query (e.g. {cast}).",
            )
    return batch.select(normalise.as_text(name, dtype) for name, dtype in batch.schema.items())


def export(query: SqlQuery, target: Path, batch_rows: int = BATCH_ROWS) -> Path:
    """Run the query and write its rows to the Parquet file ``target`` as text, a batch at a time."""
    import pyarrow as pa  # every database extra brings pyarrow (ADBC's DB-API, DuckDB, ConnectorX need it)
    import pyarrow.parquet as pq

    read = _connectorx_batches if query.scheme in CONNECTORX_SCHEMES else _dbapi_batches
    scratch.private_file(target)
    writer: Any = None
    try:
        for batch in read(query, batch_rows):  # (the first one, empty or not, gives the columns)
            table = _as_text(query, batch).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema)
            elif table.schema != writer.schema:
                table = table.cast(writer.schema)
            writer.write_table(table)
    except BaseException:
        if writer is not None:
            writer.close()
        target.unlink(missing_ok=True)  # (no file at all, never a part of the result)
        raise
    finally:
        pa.default_memory_pool().release_unused()  # (the batches' memory, for the run that reads the file next)
    if writer is not None:
        writer.close()
    return target


def _dbapi_batches(query: SqlQuery, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The result through a DB-API connection (ADBC, DuckDB) and ``polars.read_database``, in batches; an
    empty result is one empty batch with its columns."""
    driver = _driver(query)
    errors: tuple[type[BaseException], ...] = (*_database_errors(driver), pl.exceptions.PolarsError)
    with _connected(query) as connection:
        try:
            bound = {"parameters": list(query.params)} if query.params else None
            # (ADBC's PostgreSQL driver runs it inside COPY (...): a closing ";" or "-- comment" would break that)
            sql = _bare(query.sql) + "\n"
            given = False
            for batch in pl.read_database(
                sql, connection, iter_batches=True, batch_size=batch_rows, execute_options=bound
            ):
                given = True
                yield batch
            if not given:  # no batch at all: an empty result, whose columns a read of it tells
                yield pl.read_database(sql, connection, execute_options=bound)
        except errors as exc:
            raise _query_failed(query, _first_line(exc)) from None


def _cannot_connect(query: SqlQuery, said: str) -> InputError:
    """The driver could not connect: what it said (scrubbed of the password), and what to check."""
    return InputError(
        f"Cannot connect to {query.shown}: {query.scrub(said)}",
        warehouses.HINTS.get(
            query.scheme, "Check the host, port, database, user and password (ECDP_DB_PASSWORD or --db-password-file)."
        ),
    )


def _query_failed(query: SqlQuery, said: str) -> InputError:
    return InputError(
        f"The query on {query.shown} failed: {query.scrub(said)}",
        "Check the table and column names in the query (--sql or --sql-file).",
    )


def _connectorx_batches(query: SqlQuery, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The result through ConnectorX (``mysql://``, ``mssql://``) as Arrow record batches of ``batch_rows``
    (``read_sql(..., return_type="arrow_stream")``); an empty result is one empty batch with its columns.
    ConnectorX reports everything as ``RuntimeError``: one that says it could not get a connection from its
    pool is a connection error, any other the query's."""
    connectorx = _driver(query)
    _reachable(query)
    try:
        reader = connectorx.read_sql(
            query.connection_url(), query.sql, return_type="arrow_stream", batch_size=batch_rows
        )
        given = False
        for record_batch in reader:
            given = True
            yield pl.DataFrame(pl.from_arrow(record_batch))
        if not given:
            yield pl.DataFrame(pl.from_arrow(reader.schema.empty_table()))
    except RuntimeError as exc:
        said = _connectorx_line(exc)
        if "waiting for connection" in str(exc) or "Unknown URL parameter" in str(exc):
            raise _cannot_connect(query, said) from None
        raise _query_failed(query, said) from None


def _reachable(query: SqlQuery) -> None:
    """Raise the connection error now when nothing listens at the URL's host and port (ConnectorX's pool would
    try again for 30 s before it says so)."""
    parts = urlsplit(query.url)
    port = parts.port or {"mysql": 3306, "mssql": 1433}.get(query.scheme)
    if not parts.hostname or port is None:
        return
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise InputError(
            f"Cannot connect to {query.shown}: {exc.strerror or exc}.",
            "Check the host and port, and that the server is running and reachable from here.",
        ) from None


def _connectorx_line(exc: BaseException) -> str:
    """ConnectorX's message without its wrapping: ``timed out waiting for connection: MySqlError { ERROR 1045
    (28000): Access denied ... }`` is ``Access denied ...``; ``DriverError { Could not connect ... }`` its inside."""
    line = _first_line(exc)
    said = re.search(r"ERROR \d+ \(\w+\): (.*?)\s*\}?\s*$", line) or re.search(r"\w+Error \{ (.*?)\s*\}\s*$", line)
    return said.group(1).strip() if said else line


WINDOW_MARKER = "\n) AS q WHERE "  # where ``query_windows.windowed`` puts its condition after the user's query


#: the ``;`` that ends a query, and a comment after it (one without quotes: not a string's ``;--``)
_LAST_SEMICOLON = re.compile(r"(?:\s*;)+\s*(?:--[^'\"\n]*)?$")


def _bare(sql: str) -> str:
    """A query to be put inside another, on lines of its own (a ``--`` comment on its last line would swallow
    what follows): without the comment lines that end it and the ``;`` that may end it (and a comment after it,
    as a query file has them)."""
    lines = sql.strip().splitlines()
    while lines and lines[-1].strip().startswith("--"):
        lines.pop()
    return _LAST_SEMICOLON.sub("", "\n".join(lines).rstrip())
