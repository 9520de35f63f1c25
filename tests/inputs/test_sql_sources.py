"""SQL sources (``--db``/``--sql``, ``importer.SqlQuery``): a real PostgreSQL server started by the test session
(Debian's binaries), SQLite and DuckDB files, read through the importer's own path into the sandbox over real
HTTP. No mock of any database: the rows, the typed columns, the errors and the password are the servers'."""

from __future__ import annotations

import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import importer
from bench.generate import order_lines
from importer.inputs import postgres_copy
from importer.inputs.databases import SqlQuery, export
from importer.inputs.files import ReadOptions, read_file
from importer.sandbox import SandboxServer
from tests.support import assert_accounted, customer, run_cli, sandbox_env

#: the order lines' columns as a database holds them: typed where a shop's database types them
LINE_TYPES = {
    "id": "text",
    "date": "timestamptz",
    "status": "text",
    "currency": "text",
    "timeZone": "text",
    "websiteId": "integer",
    "customer.email": "text",
    "customer.phone": "text",
    "attr.channel": "text",
    "attr.couponCode": "text",
    "product.id": "text",
    "product.name": "text",
    "product.category": "text",
    "product.price": "numeric(12,2)",
    "product.quantity": "integer",
    "product.returned": "integer",
    "product.url": "text",
    "product.imageUrl": "text",
    "product.attr.color": "text",
    "product.attr.size": "text",
}
SELECT_LINES = "SELECT " + ", ".join(f'"{c}"' for c in LINE_TYPES) + " FROM lines ORDER BY n"


def api_of(server: SandboxServer) -> importer.ApiSettings:
    return importer.ApiSettings(url=server.url, key=importer.ApiKey(server.api_key))


def load_lines(postgres: Any, frame: pl.DataFrame, tmp_path: Path) -> Path:
    """The order lines as table ``lines`` (typed columns, ``n`` their order) and as the CSV they came from."""
    csv = tmp_path / "lines.csv"
    frame.write_csv(csv)
    columns = ", ".join(f'"{name}" {kind}' for name, kind in LINE_TYPES.items())
    postgres.sql(f"DROP TABLE IF EXISTS lines; CREATE TABLE lines ({columns}, n serial)")
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    postgres.sql(rf"\copy lines ({quoted}) from '{csv}' csv header")
    return csv


def stored_orders(server: SandboxServer, ids: list[str]) -> dict[str, Any]:
    return {order_id: server.store.order(order_id) for order_id in ids}


def db_env(sandbox: SandboxServer, postgres: Any) -> dict[str, str]:
    return {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": postgres.password}


# -- the same rows from PostgreSQL as from CSV ----------------------------------------------------------


@pytest.mark.parametrize("lines", [600, pytest.param(100_000, marks=pytest.mark.slow)])  # the 100k: ~35 s
def test_orders_from_postgres_are_stored_rejected_and_counted_as_the_same_csv(
    lines, sandbox, postgres_server, tmp_path
):
    frame = order_lines(lines)  # ~1-3 % of the lines invalid (bench.generate): rejects to compare too
    csv = load_lines(postgres_server, frame, tmp_path)
    ids = frame.get_column("id").unique().to_list()

    from_db = run_cli(
        ["orders", "--db", postgres_server.url_without_password, "--sql", SELECT_LINES, "--max-rejects", "100%"],
        env=db_env(sandbox, postgres_server),
        report_dir=tmp_path / "db",
    )
    assert from_db.exit_code in (0, 1), from_db.stderr
    db_orders = stored_orders(sandbox, ids)
    sandbox.reset()
    from_csv = run_cli(
        ["orders", str(csv), "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "csv"
    )
    assert from_csv.exit_code == from_db.exit_code, from_csv.stderr

    assert db_orders == stored_orders(sandbox, ids)
    assert sum(order is not None for order in db_orders.values()) > lines // 6
    assert from_db.summary["files"] == [postgres_server.url_without_password]
    counts = ("rows_read", "rows_rejected", "rows_accepted", "records_built", "records_sent", "records_accepted")
    assert {k: from_db.summary[k] for k in counts} == {k: from_csv.summary[k] for k in counts}
    assert from_db.summary["rows_read"] == lines and from_db.summary["rows_rejected"] > 0
    assert_accounted(from_db.summary)

    def rejects(run: Any) -> list[dict[str, str]]:  # a reason names another row by its input's last name
        return [
            {k: v.replace("lines.csv row", "shop row") for k, v in row.items() if k not in ("_file", "date")}
            for row in run.rejected
        ]

    def instants(run: Any) -> list[Any]:  # a timestamptz is read as UTC (...Z), the CSV's cell as written (+01:00)
        return [datetime.fromisoformat(row["date"]) for row in run.rejected]

    assert rejects(from_db) == rejects(from_csv)  # the same rows, reasons and row numbers
    assert instants(from_db) == instants(from_csv)
    assert all(row["date"].endswith("Z") for row in from_db.rejected)
    assert {row["_file"] for row in from_db.rejected} == {postgres_server.url_without_password}


# -- typed columns --------------------------------------------------------------------------------------


def test_typed_postgres_columns_become_the_text_a_csv_export_holds(postgres_server, tmp_path):
    postgres_server.sql(
        "DROP TABLE IF EXISTS typed; CREATE TABLE typed (price numeric(12,2), at timestamptz, day date, "
        "ok boolean, local timestamp, n integer, ratio double precision, note text, doc jsonb); "
        "INSERT INTO typed VALUES (19.90, '2024-03-01 10:15:00+01', '2024-03-01', true, '2024-03-01 10:15:00', "
        "7, 0.5, 'zażółć', '{\"a\": 1}'), (0.10, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL)"
    )
    target = export(
        SqlQuery(postgres_server.url, "SELECT * FROM typed ORDER BY price DESC"), tmp_path / "t.parquet", batch_rows=1
    )  # one row a batch: the file is the batches written one after the other
    rows = pl.read_parquet(target).to_dicts()
    assert rows[0] == {
        "price": "19.90",
        "at": "2024-03-01T09:15:00.000Z",
        "day": "2024-03-01",
        "ok": "True",
        "local": "2024-03-01T10:15:00.000",
        "n": "7",
        "ratio": "0.5",
        "note": "zażółć",
        "doc": '{"a": 1}',
    }
    assert rows[1] == {
        "price": "0.10",
        "at": None,
        "day": None,
        "ok": "False",
        "local": None,
        "n": None,
        "ratio": None,
        "note": None,
        "doc": None,
    }


def test_a_uuid_column_must_be_cast_to_text(postgres_server, tmp_path):
    with pytest.raises(importer.InputError, match=r"'key' as bytes.*") as caught:
        export(SqlQuery(postgres_server.url, "SELECT gen_random_uuid() AS key"), tmp_path / "u.parquet")
    assert "key::text" in str(caught.value.hint)
    assert export(SqlQuery(postgres_server.url, "SELECT gen_random_uuid()::text AS key"), tmp_path / "u.parquet")


def test_postgres_copies_its_rows_as_the_same_text_the_arrow_path_gives(postgres_server, tmp_path):
    postgres_server.sql(
        "DROP TABLE IF EXISTS typed; CREATE TABLE typed (price numeric(12,2), at timestamptz, day date, "
        "ok boolean, local timestamp, n integer, ratio double precision, note text, doc jsonb); "
        "INSERT INTO typed VALUES (19.90, '2024-03-01 10:15:00.123456+01', '2024-03-01', true, "
        "'2024-03-01 10:15:00', 7, 0.5, 'zażółć, \"1\"\nline 2', '{\"a\": 1}'), "
        "(0.10, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL)"
    )
    query = SqlQuery(postgres_server.url, "SELECT * FROM typed ORDER BY price DESC; -- the query as a file holds it")
    target = postgres_copy.export(query, tmp_path / "t.csv")
    # read as the run reads it: the dialect fixed, whatever --delimiter says for the user's files
    rows = read_file(target, ReadOptions(delimiter=";")).drop("_file", "_row").to_dicts()
    assert rows[0] == {
        "price": "19.90",
        "at": "2024-03-01T09:15:00.123Z",
        "day": "2024-03-01",
        "ok": "True",
        "local": "2024-03-01T10:15:00.000",
        "n": "7",
        "ratio": "0.5",
        "note": 'zażółć, "1"\nline 2',
        "doc": '{"a": 1}',
    }
    assert rows[1] == {
        "price": "0.10",
        "at": None,
        "day": None,
        "ok": "False",
        "local": None,
        "n": None,
        "ratio": None,
        "note": None,
        "doc": None,
    }
    arrow = export(SqlQuery(postgres_server.url, "SELECT * FROM typed ORDER BY price DESC"), tmp_path / "t.parquet")
    assert rows == pl.read_parquet(arrow).to_dicts()  # the same text as ADBC's batches turned by polars


def test_a_postgres_copy_keeps_a_one_column_row_of_null_and_refuses_bytes(postgres_server, tmp_path):
    one = postgres_copy.export(
        SqlQuery(postgres_server.url, "SELECT v FROM (VALUES ('a'), (NULL), ('c')) AS t (v)"), tmp_path / "one.csv"
    )
    frame = read_file(one)
    assert frame.get_column("v").to_list() == ["a", None, "c"] and frame.get_column("_row").to_list() == [2, 3, 4]
    uuid = postgres_copy.export(
        SqlQuery(postgres_server.url, "SELECT '0cc103b7-08ad-455f-bbf7-749f478debf1'::uuid AS key"), tmp_path / "u.csv"
    )
    assert read_file(uuid).get_column("key").to_list() == ["0cc103b7-08ad-455f-bbf7-749f478debf1"]
    with pytest.raises(importer.InputError, match=r"'blob' as bytes") as caught:
        postgres_copy.export(SqlQuery(postgres_server.url, "SELECT 'x'::bytea AS blob"), tmp_path / "b.csv")
    assert "encode(blob, 'hex')" in str(caught.value.hint)
    with pytest.raises(importer.InputError, match='relation "nowhere" does not exist'):
        postgres_copy.export(SqlQuery(postgres_server.url, "SELECT * FROM nowhere"), tmp_path / "n.csv")
    assert not (tmp_path / "n.csv").exists()


# -- SQLite and DuckDB files ----------------------------------------------------------------------------


def make_sqlite(path: Path) -> str:
    with sqlite3.connect(path) as db:
        db.execute('CREATE TABLE people (email TEXT, "firstName" TEXT, "attr.loyaltyTier" TEXT, joined TEXT)')
        db.executemany(
            "INSERT INTO people VALUES (?, ?, ?, ?)",
            [
                ("ann@example.com", "Ann", "gold", "2024-01-02"),
                ("bob@example.com", "Bob", None, None),
                ("not-an-email", "X", None, None),
            ],
        )
    db.close()
    return f"sqlite:///{path}"  # an absolute path: four slashes


def make_duckdb(path: Path) -> str:
    import duckdb

    with duckdb.connect(str(path)) as db:
        db.execute('CREATE TABLE people (email VARCHAR, "firstName" VARCHAR, "attr.loyaltyTier" VARCHAR, joined DATE)')
        db.execute(
            "INSERT INTO people VALUES ('ann@example.com', 'Ann', 'gold', DATE '2024-01-02'), "
            "('bob@example.com', 'Bob', NULL, NULL), ('not-an-email', 'X', NULL, NULL)"
        )
    return f"duckdb:///{path}"


@pytest.mark.parametrize("make", [make_sqlite, make_duckdb], ids=["sqlite", "duckdb"])
def test_customers_from_a_sqlite_or_duckdb_file_through_the_library(make, sandbox, tmp_path):
    url = make(tmp_path / "shop.db")
    query = importer.SqlQuery(url, "SELECT * FROM people ORDER BY email")
    result = importer.import_customers(
        query,
        api=api_of(sandbox),
        run=importer.RunOptions(report_dir=tmp_path / "r", max_rejects=importer.Budget.parse("50%")),
    )
    assert customer(sandbox, "ann@example.com")["firstName"] == "Ann"
    assert result.summary.rows_read == 3 and result.summary.rows_accepted == 2
    assert result.summary.files == [url]
    rejected = result.rejected()
    assert rejected.get_column("_row").cast(pl.Int64).to_list() == [4]  # row 3 of the result, as in its CSV
    assert rejected.get_column("_file").to_list() == [url]


def test_an_empty_result_is_a_run_of_no_rows(sandbox, tmp_path):
    url = make_duckdb(tmp_path / "shop.duckdb")
    run = run_cli(
        ["customers", "--db", url, "--sql", "SELECT * FROM people WHERE false"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 0, run.stderr
    assert run.summary["rows_read"] == 0


def test_a_missing_driver_names_the_extra_to_install(tmp_path, monkeypatch):
    url = make_duckdb(tmp_path / "shop.duckdb")
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as where the [duckdb] extra is not installed
    run = run_cli(["customers", "--db", url, "--sql", "SELECT * FROM people", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert "pip install 'ecdp-importer[duckdb]'" in run.stderr and "Traceback" not in run.stderr


def test_a_missing_psycopg_names_the_postgres_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as where the [postgres] extra is not installed
    run = run_cli(
        ["customers", "--db", "postgresql://reader@127.0.0.1:1/shop", "--sql", "SELECT 1", "--dry-run"],
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2, run.stderr
    assert "pip install 'ecdp-importer[postgres]'" in run.stderr and "Traceback" not in run.stderr


# -- errors a person can act on -------------------------------------------------------------------------


def test_errors_exit_2_with_one_clear_line_before_anything_is_sent(sandbox, postgres_server, tmp_path):
    postgres_server.sql(
        "DROP TABLE IF EXISTS people; CREATE TABLE people (email text, name text); "
        "INSERT INTO people VALUES ('ann@example.com', 'Ann')"
    )
    good, password = postgres_server.url_without_password, postgres_server.password
    closed = good.replace(f":{postgres_server.port}/", ":1/")
    cases = {
        "unreachable": (closed, password, "SELECT * FROM people", "Connection refused"),
        "wrong password": (good, password + "x", "SELECT * FROM people", "password authentication failed"),
        "no password": (good, None, "SELECT * FROM people", "no password supplied"),
        "unknown table": (good, password, "SELECT * FROM persons", 'relation "persons" does not exist'),
        "unknown column": (good, password, "SELECT mail FROM people", 'column "mail" does not exist'),
        "no identifier": (good, password, "SELECT name FROM people", "no 'email' column"),
    }
    for name, (url, secret, sql, said) in cases.items():
        env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": secret or ""}
        run = run_cli(["customers", "--db", url, "--sql", sql], env=env, report_dir=tmp_path / name)
        assert run.exit_code == 2, (name, run.stdout, run.stderr)
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and said in errors[0], (name, run.stderr)
        assert "Traceback" not in run.stderr and password not in run.stderr + run.stdout, name
    assert sandbox.store.counts().customers == 0


def test_usage_errors_of_the_sql_options(tmp_path, monkeypatch):
    monkeypatch.delenv("ECDP_DB_URL", raising=False)
    for args, said in [
        (["--sql", "SELECT 1"], "--sql needs a database"),
        (["--db", "sqlite:///x.db"], "need a query"),
        (["--db", "oracle://h/db", "--sql", "SELECT 1"], "not one the importer reads"),
        (["--db", "sqlite:///x.db", "--sql", "SELECT 1", "--sql-file", str(tmp_path / "q.sql")], "contradict"),
    ]:
        run = run_cli(["customers", *args, "--dry-run"], report_dir=tmp_path / "r")
        assert run.exit_code == 2 and said in run.stderr, (args, run.stderr)


# -- the password ---------------------------------------------------------------------------------------


def test_a_password_on_the_command_line_is_warned_about_and_shown_nowhere(sandbox, tmp_path):
    url = make_duckdb(tmp_path / "shop.duckdb").replace("duckdb:///", "duckdb://me:hunter22@")  # (DuckDB ignores it)
    run = run_cli(
        ["customers", "--db", url, "--sql", "SELECT * FROM people", "--max-rejects", "50%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1, run.stderr
    assert "The --db URL holds a password" in run.stderr and "hunter22" not in run.stderr + run.stdout
    assert not [p.name for p in (tmp_path / "r").iterdir() if b"hunter22" in p.read_bytes()]


def test_a_query_shows_its_url_without_the_password_and_gives_the_driver_one(monkeypatch):
    monkeypatch.setenv("ECDP_DB_PASSWORD", "p@ss/word")
    query = SqlQuery("postgresql://reader@db.example.com:5433/shop?sslmode=require", "SELECT 1")
    assert query.shown == "postgresql://reader@db.example.com:5433/shop"
    assert query.connection_url() == (
        "postgresql://reader:p%40ss%2Fword@db.example.com:5433/shop?sslmode=require&connect_timeout=15"
    )
    assert query.scrub("auth failed for p@ss/word at " + query.url) == "auth failed for *** at " + query.shown
    inline = SqlQuery("postgres://reader:in-url@db.example.com/shop", "SELECT 1", password="ignored")
    assert inline.shown == "postgres://reader@db.example.com/shop" and inline.secret() == "in-url"
    assert "in-url" not in repr(inline) and "in-url" not in str(inline)
    assert SqlQuery("postgresql://db.example.com/shop?password=q1", "SELECT 1").scrub("q1!") == "***!"
    assert SqlQuery("sqlite:////data/shop.db", "SELECT 1").local_path() == "/data/shop.db"
    assert SqlQuery("duckdb:///shop.duckdb", "SELECT 1").local_path() == "shop.duckdb"


def test_the_password_appears_in_no_artefact_of_a_run_or_a_failed_run(sandbox, postgres_server, tmp_path):
    postgres_server.sql(
        'DROP TABLE IF EXISTS people; CREATE TABLE people (email text, "firstName" text); '
        "INSERT INTO people VALUES ('ann@example.com', 'Ann'), ('bad', 'B'), "
        "('cy@example.com', 'Cy')"
    )
    state, metrics = tmp_path / "state.db", tmp_path / "metrics.prom"
    query = tmp_path / "q.sql"
    query.write_text("SELECT * FROM people ORDER BY email")
    password_file = tmp_path / "db-password"
    password_file.write_text(postgres_server.password + "\n")
    common = ["--state", str(state), "--metrics-file", str(metrics), "--log-format", "json", "--max-rejects", "50%"]
    # the whole URL in ECDP_DB_URL; then the password from a file; then a run that fails on the server
    ok = run_cli(
        ["customers", "--sql-file", str(query), *common],
        env={**sandbox_env(sandbox), "ECDP_DB_URL": postgres_server.url},
        report_dir=tmp_path / "r1",
    )
    assert ok.exit_code == 1, ok.stderr  # one row rejected
    assert customer(sandbox, "cy@example.com")["firstName"] == "Cy"
    from_file = run_cli(
        [
            "customers",
            "--db",
            postgres_server.url_without_password,
            "--db-password-file",
            str(password_file),
            "--sql-file",
            str(query),
            *common,
        ],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r2",
    )
    assert from_file.exit_code == 1, from_file.stderr
    failed = run_cli(
        ["customers", "--sql", "SELECT * FROM nowhere", *common],
        env={**sandbox_env(sandbox), "ECDP_DB_URL": postgres_server.url},
        report_dir=tmp_path / "r3",
    )
    assert failed.exit_code == 2
    runs = run_cli(["runs", "--state", str(state)], imports=False)
    assert runs.exit_code == 0 and "customers" in runs.stdout

    secret = postgres_server.password.encode()
    printed = [ok.stdout, ok.stderr, from_file.stdout, from_file.stderr, failed.stdout, failed.stderr, runs.stdout]
    assert not [text for text in printed if postgres_server.password in text]
    assert "holds a password" not in ok.stderr + from_file.stderr  # neither was on the command line
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != password_file]
    assert state in written and metrics in written and len(written) > 8
    assert [p.name for p in written if secret in p.read_bytes()] == []
    assert postgres_server.password not in repr(SqlQuery(postgres_server.url, "SELECT 1"))


# -- a query as a mapping's joined source ---------------------------------------------------------------


def test_a_query_is_joined_by_a_mapping_like_a_file(sandbox, postgres_server, tmp_path):
    postgres_server.sql(
        "DROP TABLE IF EXISTS shop_orders; CREATE TABLE shop_orders (id integer, email text, created timestamptz, "
        "state text); INSERT INTO shop_orders VALUES (7, 'ann@example.com', '2024-05-02 12:00:00+02', 'paid'), "
        "(8, 'bob@example.com', '2024-05-03 09:30:00+00', 'placed')"
    )
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "order_id,sku,name,price,qty\n7,SKU-1,Mug,19.90,2\n7,SKU-2,Tea,5.00,1\n8,SKU-1,Mug,19.90,1\n"
        "9,SKU-3,Lamp,99.00,1\n"
    )
    mapping = tmp_path / "shop.toml"
    mapping.write_text(
        'kind = "orders"\n[sources.lines]\n[sources.orders]\njoin = { on = "order_id", to = "id" }\n'
        '[fields]\nid = "order_id"\n"customer.email" = "orders.email"\ndate = "orders.created"\n'
        'status = "orders.state"\ncurrency = { value = "PLN" }\n"product.id" = "sku"\n"product.name" = "name"\n'
        '"product.price" = "price"\n"product.quantity" = "qty"\n'
    )
    query = importer.SqlQuery(postgres_server.url, "SELECT id, email, created, state FROM shop_orders")
    result = importer.import_orders(
        [lines, query],
        api=api_of(sandbox),
        run=importer.RunOptions(mapping=mapping, report_dir=tmp_path / "r", max_rejects=importer.Budget.parse("100%")),
    )
    assert result.summary.records_accepted == 2 and result.summary.rows_rejected == 1  # order 9 has no order row
    first = sandbox.store.order("7")
    assert first["customer"]["email"] == "ann@example.com" and len(first["products"]) == 2
    assert first["date"].startswith("2024-05-02T10:00:00")  # the timestamptz's instant, in UTC
    assert result.summary.files == [str(lines), postgres_server.url_without_password]
