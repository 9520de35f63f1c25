"""SQL sources beyond customers and orders: ``--db``/``--sql`` on order-status, delete-orders, verify and inspect;
``mysql://`` through ConnectorX against a real MariaDB server the test session starts (Debian's binaries); and a
query as a mapping file's own source (``[sources.orders] db = ..., sql = ...``). No mock of any database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.generate import order_lines
from importer.inputs.databases import SqlQuery, export
from tests.jobs.test_order_operations import seed_orders, stored_status
from tests.support import assert_accounted, run_cli, sandbox_env


def make_duckdb(path: Path, statements: str) -> str:
    import duckdb

    with duckdb.connect(str(path)) as db:
        db.execute(statements)
    return f"duckdb:///{path}"


# -- every command that reads exports takes --db -------------------------------------------------------


def test_order_status_and_delete_orders_read_a_query(sandbox, tmp_path):
    seed_orders(sandbox, tmp_path, ["o1", "o2", "o3"])
    url = make_duckdb(
        tmp_path / "ops.duckdb",
        "CREATE TABLE changes (order_id VARCHAR, new_status VARCHAR, "
        "gone BOOLEAN); INSERT INTO changes VALUES ('o1', 'paid', false), ('o2', 'shipped', false), "
        "('o3', NULL, true)",
    )
    status = run_cli(
        [
            "order-status",
            "--db",
            url,
            "--sql",
            "SELECT order_id AS id, new_status AS status FROM changes WHERE NOT gone ORDER BY id",
        ],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "status",
    )
    assert status.exit_code == 1, status.stderr  # 'shipped' is no status
    assert stored_status(sandbox, "o1") == "paid" and stored_status(sandbox, "o2") == "placed"
    assert status.summary["rows_read"] == 2 and status.summary["files"] == [url]
    assert [(r["_file"], r["_row"]) for r in status.rejected] == [(url, "3")]  # the result's row 2, as in its CSV

    delete = run_cli(
        ["delete-orders", "--db", url, "--sql", "SELECT order_id AS id FROM changes WHERE gone", "--yes"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "delete",
    )
    assert delete.exit_code == 0, delete.stderr
    assert stored_status(sandbox, "o3") is None and stored_status(sandbox, "o1") == "paid"
    assert delete.summary["files"] == [url]


def test_verify_and_inspect_read_a_query(sandbox, tmp_path):
    url = make_duckdb(
        tmp_path / "shop.duckdb",
        'CREATE TABLE people (email VARCHAR, "firstName" VARCHAR, joined DATE);'
        "INSERT INTO people VALUES ('ann@example.com', 'Ann', DATE '2024-01-02'), "
        "('bob@example.com', 'Bob', NULL)",
    )
    sql = 'SELECT email, "firstName" FROM people ORDER BY email'
    imported = run_cli(["customers", "--db", url, "--sql", sql], env=sandbox_env(sandbox), report_dir=tmp_path / "i")
    assert imported.exit_code == 0, imported.stderr
    verified = run_cli(
        ["verify", "customers", "--db", url, "--sql", sql],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "v",
        imports=False,
    )
    assert verified.exit_code == 0, verified.stderr + verified.stdout
    assert verified.summary["files"] == [url] and verified.summary["records_matching"] == 2
    make_duckdb(tmp_path / "shop.duckdb", "UPDATE people SET \"firstName\" = 'Robert' WHERE email LIKE 'bob@%'")
    differs = run_cli(
        ["verify", "customers", "--db", url, "--sql", sql],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "v2",
        imports=False,
    )
    assert differs.exit_code == 1 and differs.summary["records_different"] == 1

    inspected = run_cli(["inspect", "--db", url, "--sql", "SELECT * FROM people"], imports=False)
    assert inspected.exit_code == 0, inspected.stderr
    assert url in inspected.stdout and "joined" in inspected.stdout and "2024-01-02" in inspected.stdout
    assert "ann@example.com" in inspected.stdout or "email" in inspected.stdout
    nothing = run_cli(["inspect", "--db", url], imports=False)
    assert nothing.exit_code == 2 and "need a query" in nothing.stderr


# -- MySQL (MariaDB) through ConnectorX -------------------------------------------------------------------

#: as text: LOAD DATA reads a CSV's empty cell as '' (as the CSV reader does), where a number column would make it 0
COLUMNS = list(order_lines(1).columns)


def load_mysql_lines(mariadb: Any, lines: int, tmp_path: Path) -> tuple[Path, list[str]]:
    frame = order_lines(lines)
    csv = tmp_path / "lines.csv"
    frame.write_csv(csv)
    columns = ", ".join(f"`{name}` varchar(300)" for name in COLUMNS)
    quoted = ", ".join(f"`{c}`" for c in frame.columns)
    mariadb.sql(
        f"DROP TABLE IF EXISTS order_lines; CREATE TABLE order_lines ({columns}, "
        "n integer AUTO_INCREMENT PRIMARY KEY); "
        f"LOAD DATA LOCAL INFILE '{csv}' INTO TABLE order_lines CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' "
        f"LINES TERMINATED BY '\\n' IGNORE 1 LINES ({quoted})"
    )
    return csv, frame.get_column("id").unique().to_list()


def test_orders_from_mysql_are_stored_and_counted_as_the_same_csv(sandbox, mariadb_server, tmp_path):
    csv, ids = load_mysql_lines(mariadb_server, 300, tmp_path)
    select = "SELECT " + ", ".join(f"`{c}`" for c in COLUMNS) + " FROM order_lines ORDER BY n"
    env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": mariadb_server.password}
    from_db = run_cli(
        ["orders", "--db", mariadb_server.url_without_password, "--sql", select, "--max-rejects", "100%"],
        env=env,
        report_dir=tmp_path / "db",
    )
    assert from_db.exit_code in (0, 1), from_db.stderr
    db_orders = {i: sandbox.store.order(i) for i in ids}
    sandbox.reset()
    from_csv = run_cli(
        ["orders", str(csv), "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "csv"
    )
    csv_orders = {i: sandbox.store.order(i) for i in ids}
    for i in ids:
        assert db_orders[i] == csv_orders[i], (db_orders[i], csv_orders[i])
    counts = ("rows_read", "rows_rejected", "records_built", "records_accepted")
    assert {k: from_db.summary[k] for k in counts} == {k: from_csv.summary[k] for k in counts}
    assert from_db.summary["rows_read"] == 300 and from_db.summary["files"] == [mariadb_server.url_without_password]
    assert_accounted(from_db.summary)
    assert mariadb_server.password not in from_db.stdout + from_db.stderr


def test_typed_mysql_columns_and_batches(mariadb_server, tmp_path):
    mariadb_server.sql(
        "DROP TABLE IF EXISTS typed; CREATE TABLE typed (n integer, price decimal(12,2), at datetime, "
        "day date, note varchar(20)); INSERT INTO typed VALUES (1, 19.90, '2024-03-01 10:15:00', "
        "'2024-03-01', 'zażółć'), (2, NULL, NULL, NULL, NULL), (3, 0.10, NULL, NULL, 'x')"
    )
    import polars as pl

    target = export(
        SqlQuery(mariadb_server.url, "SELECT * FROM typed ORDER BY n"), tmp_path / "t.parquet", batch_rows=1
    )  # one row a batch: the file is the batches one after the other
    rows = pl.read_parquet(target).to_dicts()
    assert [r["n"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["at"] == "2024-03-01T10:15:00.000" and rows[0]["day"] == "2024-03-01"
    assert rows[0]["note"] == "zażółć" and rows[1]["price"] is None
    assert float(rows[0]["price"]) == 19.90  # (ConnectorX gives DECIMAL at scale 10: 19.9000000000)
    empty = export(SqlQuery(mariadb_server.url, "SELECT * FROM typed WHERE n > 9"), tmp_path / "e.parquet")
    assert pl.read_parquet(empty).columns == ["n", "price", "at", "day", "note"]


def test_mysql_errors_exit_2_with_one_clear_line(sandbox, mariadb_server, tmp_path):
    mariadb_server.sql(
        "DROP TABLE IF EXISTS people; CREATE TABLE people (email varchar(50), name varchar(50)); "
        "INSERT INTO people VALUES ('ann@example.com', 'Ann')"
    )
    good, password = mariadb_server.url_without_password, mariadb_server.password
    cases = {
        "unreachable": (good.replace(f":{mariadb_server.port}/", ":1/"), "SELECT * FROM people", "Connection refused"),
        "unknown table": (good, "SELECT * FROM persons", "Table 'shop.persons' doesn't exist"),
        "unknown column": (good, "SELECT mail FROM people", "Unknown column 'mail'"),
        "no identifier": (good, "SELECT name FROM people", "no 'email' column"),
    }
    for name, (url, sql, said) in cases.items():
        env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": password}
        run = run_cli(["customers", "--db", url, "--sql", sql], env=env, report_dir=tmp_path / name)
        assert run.exit_code == 2, (name, run.stdout, run.stderr)
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and said in errors[0], (name, run.stderr)
        assert "Traceback" not in run.stderr and password not in run.stderr + run.stdout, name
    assert sandbox.store.counts().customers == 0


@pytest.mark.slow  # ConnectorX's pool tries a refused login again for 30 s before it gives up
def test_a_wrong_mysql_password_is_one_clear_line(sandbox, mariadb_server, tmp_path):
    env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": mariadb_server.password + "x"}
    run = run_cli(
        ["customers", "--db", mariadb_server.url_without_password, "--sql", "SELECT 1"],
        env=env,
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2 and "Access denied for user 'ecdp_test'" in run.stderr, run.stderr
    assert [line for line in run.stderr.splitlines() if line.strip()][0].startswith("Error: Cannot connect")
    assert mariadb_server.password not in run.stderr


def test_a_missing_connectorx_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "connectorx", None)  # as where the [mysql] extra is not installed
    run = run_cli(
        ["customers", "--db", "mysql://reader@127.0.0.1:1/shop", "--sql", "SELECT 1", "--dry-run"],
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2 and "pip install 'ecdp-importer[mysql]'" in run.stderr, run.stderr
    mssql = run_cli(
        ["customers", "--db", "mssql://reader@127.0.0.1:1/shop", "--sql", "SELECT 1", "--dry-run"],
        report_dir=tmp_path / "r2",
    )
    assert mssql.exit_code == 2 and "pip install 'ecdp-importer[mssql]'" in mssql.stderr, mssql.stderr


# -- a query as a mapping file's own source -------------------------------------------------------------

SHOP_FIELDS = (
    '[fields]\nid = "order_id"\n"customer.email" = "orders.email"\ndate = "orders.created"\n'
    'status = "orders.state"\ncurrency = { value = "PLN" }\n"product.id" = "sku"\n"product.name" = "name"\n'
    '"product.price" = "price"\n"product.quantity" = "qty"\n'
)


def shop_tables(postgres: Any, tmp_path: Path) -> Path:
    postgres.sql(
        "DROP TABLE IF EXISTS shop_orders; CREATE TABLE shop_orders (id integer, email text, created timestamptz, "
        "state text); INSERT INTO shop_orders VALUES (7, 'ann@example.com', '2024-05-02 12:00:00+02', 'paid'), "
        "(8, 'bob@example.com', '2024-05-03 09:30:00+00', 'placed')"
    )
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "order_id,sku,name,price,qty\n7,SKU-1,Mug,19.90,2\n7,SKU-2,Tea,5.00,1\n8,SKU-1,Mug,19.90,1\n"
        "9,SKU-3,Lamp,99.00,1\n"
    )
    return lines


def test_a_mapping_joins_its_own_query_source_with_the_password_from_the_environment(
    sandbox, postgres_server, tmp_path
):
    lines = shop_tables(postgres_server, tmp_path)
    mapping = tmp_path / "shop.toml"
    mapping.write_text(
        'kind = "orders"\n[sources.lines]\n[sources.orders]\n'
        f'db = "{postgres_server.url_without_password}"\n'
        'sql = "SELECT id, email, created, state FROM shop_orders"\n'
        'join = { on = "order_id", to = "id" }\n' + SHOP_FIELDS
    )
    env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": postgres_server.password}
    run = run_cli(
        ["orders", str(lines), "--mapping", str(mapping), "--max-rejects", "100%"], env=env, report_dir=tmp_path / "r"
    )
    assert run.exit_code == 1, run.stderr  # order 9 has no order row
    assert run.summary["records_accepted"] == 2 and run.summary["rows_rejected"] == 1
    first = sandbox.store.order("7")
    assert first["customer"]["email"] == "ann@example.com" and first["date"].startswith("2024-05-02T10:00:00")
    assert run.summary["files"] == [str(lines), postgres_server.url_without_password]
    assert [r["_error"] for r in run.rejected] == ["orders: no row with id = '9' (join on order_id)"]
    assert postgres_server.password not in run.stdout + run.stderr
    assert not [
        p for p in (tmp_path / "r").rglob("*") if p.is_file() and postgres_server.password.encode() in p.read_bytes()
    ]

    rates = run_cli(["inspect", str(lines), "--mapping", str(mapping)], env=env, imports=False)
    assert rates.exit_code == 0, rates.stderr
    assert "orders" in rates.stdout and "3 of 4" in rates.stdout, rates.stdout


def test_a_mapping_reads_its_driving_table_from_a_sql_file_with_a_password_file(
    sandbox, postgres_server, tmp_path, monkeypatch
):
    monkeypatch.delenv("ECDP_DB_PASSWORD", raising=False)
    shop_tables(postgres_server, tmp_path)
    postgres_server.sql(
        "DROP TABLE IF EXISTS shop_lines; CREATE TABLE shop_lines (order_id integer, sku text, "
        "name text, price numeric(12,2), qty integer, n serial); INSERT INTO shop_lines "
        "(order_id, sku, name, price, qty) VALUES (7, 'SKU-1', 'Mug', 19.90, 2), (8, 'SKU-1', 'Mug', "
        "19.90, 1)"
    )
    (tmp_path / "lines.sql").write_text("SELECT order_id, sku, name, price, qty FROM shop_lines ORDER BY n")
    (tmp_path / "db-password").write_text(postgres_server.password + "\n")
    mapping = tmp_path / "shop.toml"
    mapping.write_text(
        f'kind = "orders"\n[sources.lines]\ndb = "{postgres_server.url_without_password}"\nsql_file = "lines.sql"\n'
        'password_file = "db-password"\n'
        f'[sources.orders]\ndb = "{postgres_server.url_without_password}"\npassword_file = "db-password"\n'
        'sql = "SELECT id, email, created, state FROM shop_orders"\njoin = { on = "order_id", to = "id" }\n'
        + SHOP_FIELDS
    )
    run = run_cli(["orders", "--mapping", str(mapping)], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr
    assert sandbox.store.order("8")["products"][0]["price"] == 19.9 and run.summary["rows_read"] == 2
    assert run.summary["files"] == [postgres_server.url_without_password] * 2


def test_a_mapping_with_a_password_in_its_db_url_is_refused(sandbox, postgres_server, tmp_path):
    lines = shop_tables(postgres_server, tmp_path)
    cases = {
        "password": (f'db = "{postgres_server.url}"\nsql = "SELECT * FROM shop_orders"', "db holds a password"),
        "libpq": (
            f'db = "{postgres_server.url_without_password}?password={postgres_server.password}"\n'
            'sql = "SELECT * FROM shop_orders"',
            "db holds a password",
        ),
        "both": ('path = "x.csv"\nsql = "SELECT 1"', "path and db/sql contradict"),
        "no query": (f'db = "{postgres_server.url_without_password}"', "give the query as sql"),
        "bad scheme": ('db = "oracle://h/db"\nsql = "SELECT 1"', "not one the importer reads"),
    }
    for name, (settings, said) in cases.items():
        mapping = tmp_path / f"{name}.toml"
        mapping.write_text(
            f'kind = "orders"\n[sources.lines]\n[sources.orders]\n{settings}\n'
            'join = { on = "order_id", to = "id" }\n' + SHOP_FIELDS
        )
        run = run_cli(
            ["orders", str(lines), "--mapping", str(mapping)], env=sandbox_env(sandbox), report_dir=tmp_path / name
        )
        assert run.exit_code == 2, (name, run.stderr)
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and said in errors[0], (name, run.stderr)
        assert postgres_server.password not in run.stderr + run.stdout, name
    assert sandbox.store.counts().orders == 0
