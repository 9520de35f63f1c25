"""Warehouses as SQL sources: Snowflake and BigQuery through their ADBC drivers, read as ``databases`` reads
every DB-API connection (Arrow batches through ``polars.read_database``, text, a private Parquet file).

``snowflake://user@account/database/schema?warehouse=W&role=R`` (Snowflake's own DSN, as its SQLAlchemy
dialect writes it, behind a scheme) becomes the driver's options: ``username``, ``adbc.snowflake.sql.account``,
``.db``, ``.schema``, ``.warehouse``, ``.role``, and the password (the URL's, ``--db-password-file`` or
``ECDP_DB_PASSWORD``) as its ``password`` option: the password is in no string a driver could echo, and
needs no escaping (Snowflake's DSN parser would take the URL's text as it is). Logging in is bounded by
``adbc.snowflake.sql.client_option.login_timeout`` (a name that does not resolve: an error after seconds).

``bigquery://PROJECT/DATASET`` becomes ``adbc.bigquery.sql.project_id`` and ``.dataset_id``; the credentials
are Google's usual ones (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``),
never the URL's: a user or password in it is a ``UsageError``.

Each driver is an optional extra (``[snowflake]``, ``[bigquery]``: Go binaries of 70 and 40 MB installed).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from importer.errors import UsageError

SCHEMES = ("snowflake", "bigquery")
LOGIN_TIMEOUT_S = 15
SNOWFLAKE_FORM = "snowflake://user@account/database/schema?warehouse=W&role=R"
BIGQUERY_FORM = "bigquery://project/dataset"
#: the snowflake:// URL's parameters -> the driver's options
_SNOWFLAKE_PARAMETERS = {"warehouse": "adbc.snowflake.sql.warehouse", "role": "adbc.snowflake.sql.role"}
#: scheme -> what to check when connecting fails
HINTS = {
    "snowflake": "Check the account, user, database, warehouse and password (ECDP_DB_PASSWORD or --db-password-file).",
    "bigquery": "Check the project and dataset, and GOOGLE_APPLICATION_CREDENTIALS (or gcloud auth "
    "application-default login).",
}


def check(url: str, shown: str) -> None:
    """Raise a ``UsageError`` when a ``snowflake://`` or ``bigquery://`` URL lacks a part the driver needs."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "snowflake":
        path = [p for p in parts.path.split("/") if p]
        if not parts.hostname or not parts.username or parts.port is not None or len(path) > 2:
            raise UsageError(
                f"The Snowflake URL {shown} is not one the importer reads.", f"Write it as {SNOWFLAKE_FORM}."
            )
        unknown = sorted({name for name, _ in parse_qsl(parts.query)} - set(_SNOWFLAKE_PARAMETERS))
        if unknown:
            raise UsageError(
                f"The Snowflake URL {shown} has parameters the importer does not pass on: {', '.join(unknown)}.",
                "Give only warehouse= and role= (the database and schema go in the path).",
            )
    elif scheme == "bigquery":
        if parts.username or parts.password:
            raise UsageError(
                f"The BigQuery URL {shown} holds a user or password; BigQuery takes Google's credentials.",
                f"Write it as {BIGQUERY_FORM} and set GOOGLE_APPLICATION_CREDENTIALS to a key file.",
            )
        if (
            not parts.hostname
            or parts.port is not None
            or len([p for p in parts.path.split("/") if p]) > 1
            or parts.query
        ):
            raise UsageError(
                f"The BigQuery URL {shown} is not one the importer reads.", f"Write it as {BIGQUERY_FORM}."
            )


def options(url: str, secret: str | None) -> dict[str, str]:
    """The driver's database options for the URL (``check``ed), the password ``secret`` among them."""
    parts = urlsplit(url)
    path = [unquote(p) for p in parts.path.split("/") if p]
    if parts.scheme.lower() == "bigquery":
        found = {"adbc.bigquery.sql.project_id": unquote(parts.netloc)}
        if path:
            found["adbc.bigquery.sql.dataset_id"] = path[0]
        return found
    account = unquote(parts.netloc.rsplit("@", 1)[-1])
    found = {
        "username": unquote(parts.username or ""),
        "adbc.snowflake.sql.account": account,
        "adbc.snowflake.sql.client_option.login_timeout": f"{LOGIN_TIMEOUT_S}s",
    }
    for name, value in zip(("adbc.snowflake.sql.db", "adbc.snowflake.sql.schema"), path, strict=False):
        found[name] = value
    for name, value in parse_qsl(parts.query):
        found[_SNOWFLAKE_PARAMETERS[name]] = value
    if secret:
        found["password"] = secret
    return found


def connect(driver: ModuleType, url: str, secret: str | None) -> Any:
    """A DB-API connection of the warehouse's ADBC driver (``adbc_driver_snowflake.dbapi``,
    ``adbc_driver_bigquery.dbapi``) for the URL."""
    return driver.connect(db_kwargs=options(url, secret))
