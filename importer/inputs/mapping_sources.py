"""A mapping's sources: ``[sources.<name>]`` tables, each a file (``path``), a SQL query (``db``, ``sql``), or
a FILE of the command line; every one after the first joined onto the tables before it (``join``).

``read_sources`` checks them (each problem one item of ``load_mapping``'s list). A query's settings
(``query_source``): ``db`` (else ``ECDP_DB_URL``), ``sql`` or ``sql_file`` (a path beside the mapping file),
``password_file`` (likewise). A ``db`` URL that holds a password is refused: a mapping file is shared and
kept in version control, so the password comes from ``ECDP_DB_PASSWORD`` or the ``password_file``. The query
runs once per run into a private local copy (``importer.inputs.locations.query_copy``), read as Parquet, and
the report names its rows by the URL without the password, as it names a ``--db`` query's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from importer.errors import ImporterError
from importer.inputs import joins
from importer.inputs.databases import DB_PASSWORD_ENV, DB_URL_ENV, SqlQuery, read_password_file
from importer.inputs.locations import query_copy

QUERY_KEYS = {"db", "sql", "sql_file", "password_file"}
_SOURCE_KEYS = {"path", "encoding", "delimiter", "join", "null", "unmatched", *QUERY_KEYS}
UNMATCHED_CHOICES = ("reject", "drop")


@dataclass(frozen=True)
class Source:
    """A named table of the mapping: a file (``path``), a query (``query``: ``db`` and ``sql``), or, with
    neither, a FILE given on the command line."""

    name: str
    path: Path | None
    encoding: str | None = None
    delimiter: str | None = None
    join_on: str | None = None  # a column of the tables before it (driving or joined)
    join_to: str | None = None  # its own column
    null: str | None = None  # a cell holding exactly this text is empty (MySQL tools write NULL)
    unmatched: str = "reject"  # a driving row this join finds no row for: "reject" it, or "drop" it
    query: SqlQuery | None = None  # db = "...", sql = "..." (importer.inputs.mapping_queries)

    @property
    def from_command_line(self) -> bool:
        """The source takes a FILE of the command line (it names neither a file nor a query)."""
        return self.path is None and self.query is None

    def local_file(self) -> Path | None:
        """The file the source reads: its ``path``, or its query's local copy for this run; None for a FILE
        of the command line."""
        return query_copy(self.query) if self.query is not None else self.path

    def shown(self) -> str | None:
        """What the source is called where the mapping's identity is kept (drift series): its path, or its query's
        ``identity`` (its URL and a digest of its SQL, which a ``sql_file`` keeps out of the mapping's own hash)."""
        return self.query.identity if self.query is not None else str(self.path.resolve()) if self.path else None

    @property
    def join(self) -> joins.Join:
        """The source's join (a joined source: ``join_on`` and ``join_to`` are set)."""
        assert self.join_on is not None and self.join_to is not None
        return joins.Join(self.name, self.join_on, self.join_to, drop=self.unmatched == "drop")


def read_sources(raw: dict[str, Any], base: Path, problems: list[str]) -> list[Source]:
    sources = []
    for position, (name, spec) in enumerate(raw.items()):
        join = spec.get("join")
        if position > 0 and not (isinstance(join, dict) and {"on", "to"} <= set(join)):
            problems.append(f'sources.{name}: a joined source needs join = {{ on = "...", to = "..." }}')
            join = None
        problems += [f"sources.{name}: unknown setting {k!r}" for k in sorted(set(spec) - _SOURCE_KEYS)]
        null = spec.get("null")
        if null is not None and not isinstance(null, str):
            problems.append(f'sources.{name}: null must be a text, e.g. null = "NULL"')
            null = None
        unmatched = spec.get("unmatched", "reject")
        if unmatched not in UNMATCHED_CHOICES:
            problems.append(f'sources.{name}: unmatched must be "reject" or "drop", not {unmatched!r}')
            unmatched = "reject"
        elif position == 0 and "unmatched" in spec:
            problems.append(f"sources.{name}: unmatched belongs on a joined source, not the driving table")
        path = spec.get("path")
        sources.append(
            Source(
                name,
                base / path if path else None,
                spec.get("encoding"),
                spec.get("delimiter"),
                join["on"] if join else None,
                join["to"] if join else None,
                null,
                unmatched,
                query_source(name, spec, base, problems),
            )
        )
    return sources or [Source("main", None)]


def query_source(name: str, spec: dict[str, Any], base: Path, problems: list[str]) -> SqlQuery | None:
    """The query source ``name`` of a mapping (its files relative to ``base``), or None: a file source, or a
    problem noted."""
    if not QUERY_KEYS & set(spec):
        return None
    where = f"sources.{name}"
    if "path" in spec:
        problems.append(f"{where}: path and db/sql contradict each other (a source is a file or a query)")
        return None
    sql, sql_file = spec.get("sql"), spec.get("sql_file")
    if (sql is None) == (sql_file is None):
        problems.append(f'{where}: give the query as sql = "SELECT ..." or sql_file = "query.sql" (one of them)')
        return None
    if sql_file is not None:
        try:
            sql = (base / str(sql_file)).read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(f"{where}: cannot read sql_file {sql_file}: {exc.strerror or exc}")
            return None
    url = spec.get("db") or os.environ.get(DB_URL_ENV)
    if not isinstance(url, str) or not url:
        problems.append(f'{where}: the query needs db = "postgresql://user@host:5432/database" (or {DB_URL_ENV})')
        return None
    if "db" in spec and _holds_password(url):
        problems.append(
            f"{where}: db holds a password, and a mapping file is no place for one: remove it and give "
            f'it by {DB_PASSWORD_ENV} or password_file = "..."'
        )
        return None
    try:
        password = read_password_file(base / str(spec["password_file"])) if "password_file" in spec else None
        return SqlQuery(url, str(sql), password=password)
    except ImporterError as exc:
        problems.append(f"{where}: {exc.message.rstrip('.')}")
        return None


def _holds_password(url: str) -> bool:
    """The URL carries a password: ``user:password@`` or libpq's ``?password=``."""
    try:
        parts = urlsplit(url)
        return bool(parts.password) or "password" in parse_qs(parts.query)
    except ValueError:  # not a URL SqlQuery reads either: it says so
        return False
