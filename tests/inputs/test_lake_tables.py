"""Lake tables and datasets as inputs (``delta://``, ``iceberg://``, a folder, prefix or glob of Parquet files):
tables written here by delta-rs and PyIceberg (a local SQLite catalog), a hive-partitioned folder, and a Delta
table and a dataset in moto's S3 server (started by the test session), read through the importer's own path into
the sandbox over real HTTP. No mock of any reader: the rows, types and errors are the libraries'."""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import importer
from bench.generate import order_lines
from importer.inputs.lake_tables import LakeTable, export, lake_table
from importer.sandbox import SandboxServer
from tests.support import assert_accounted, customer, run_cli, sandbox_env, write_csv

COUNTS = ("rows_read", "rows_rejected", "rows_accepted", "records_built", "records_sent", "records_accepted")


def api_of(server: SandboxServer) -> importer.ApiSettings:
    return importer.ApiSettings(url=server.url, key=importer.ApiKey(server.api_key))


def typed(frame: pl.DataFrame) -> pl.DataFrame:
    """The order lines as a lake table types them: integers, a decimal(12,2) price; the rest text."""
    return frame.with_columns(
        pl.col("websiteId", "product.quantity", "product.returned").cast(pl.Int64),
        pl.col("product.price").cast(pl.Decimal(12, 2)),
    )


def write_delta(frame: pl.DataFrame, where: str, storage_options: dict[str, str] | None = None) -> str:
    from deltalake import write_deltalake

    write_deltalake(where, frame.to_arrow(), storage_options=storage_options)
    return where


def write_iceberg(frame: pl.DataFrame, folder: Path, warehouse: str | None = None, **properties: str) -> str:
    """The frame as table shop.lines of a local SQL catalog (SQLite) in ``folder``, its files in ``warehouse``
    (else the folder), in two appends cut between two orders (two snapshots, two data files: scanned newest
    first); its newest metadata file."""
    from pyiceberg.catalog.sql import SqlCatalog

    folder.mkdir()
    catalog = SqlCatalog(
        "local", uri=f"sqlite:///{folder}/catalog.db", warehouse=warehouse or f"file://{folder}", **properties
    )
    catalog.create_namespace("shop")
    table = catalog.create_table("shop.lines", schema=frame.to_arrow().schema)
    ids = frame.get_column(frame.columns[0])  # (order lines: cut where the order id changes)
    half = next((n for n in range(frame.height // 2, frame.height) if ids[n] != ids[n - 1]), frame.height // 2)
    table.append(frame.head(half).to_arrow())
    table.append(frame.tail(frame.height - half).to_arrow())
    return str(catalog.load_table("shop.lines").metadata_location).removeprefix("file://")


def write_hive(frame: pl.DataFrame, folder: Path) -> Path:
    """The frame as a folder of Parquet files partitioned by channel (an order's lines share it) and a month."""
    for (channel,), part in frame.group_by("attr.channel", maintain_order=True):
        where = folder / f"attr.channel={channel}" / "month=01"
        where.mkdir(parents=True)
        part.drop("attr.channel").write_parquet(where / "part-0.parquet")
    (folder / "_SUCCESS").write_bytes(b"")  # what Spark leaves beside its files: not a Parquet file, skipped
    return folder


def stored_orders(server: SandboxServer, ids: list[str]) -> dict[str, Any]:
    """The stored orders, their attributes in the order of their names."""
    found = {order_id: server.store.order(order_id) for order_id in ids}
    for order in found.values():
        if order and order.get("orderAttributes"):
            order["orderAttributes"] = sorted(order["orderAttributes"], key=lambda attribute: attribute["name"])
    return found


def reasons(run: Any, numbered: bool) -> list[tuple[str, str]]:
    """Each rejected row's reasons; a reason names another row by its input's last name (lines.csv, lines) and,
    where the order of rows is the same, its row number."""

    def said(reason: str) -> str:
        return re.sub(r"\(lines(?:\.csv)? row (\d+)\)", r"(row \1)" if numbered else "(row)", reason)

    return sorted((row["id"], said(row["_error"])) for row in run.rejected)


# -- the same rows from a lake table as from CSV -------------------------------------------------------


@pytest.mark.parametrize("kind", ["delta", "iceberg", "hive"])
def test_orders_from_a_lake_table_are_stored_rejected_and_counted_as_the_same_csv(kind, sandbox, tmp_path):
    frame = order_lines(600)  # ~1-3 % of the lines invalid (bench.generate): rejects to compare too
    csv = tmp_path / "lines.csv"
    frame.write_csv(csv)
    ids = frame.get_column("id").unique().to_list()
    if kind == "delta":
        source, shown = f"delta://{write_delta(typed(frame), str(tmp_path / 'lines'))}", None
    elif kind == "iceberg":
        source, shown = f"iceberg://{tmp_path / 'warehouse' / 'shop' / 'lines'}", None
        write_iceberg(typed(frame), tmp_path / "warehouse")  # named by the table's folder: its newest metadata
    else:
        source = shown = str(write_hive(frame, tmp_path / "lines"))

    from_lake = run_cli(
        ["orders", source, "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "lake"
    )
    assert from_lake.exit_code in (0, 1), from_lake.stderr
    lake_orders = stored_orders(sandbox, ids)
    sandbox.reset()
    from_csv = run_cli(
        ["orders", str(csv), "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "csv"
    )
    assert from_csv.exit_code == from_lake.exit_code, from_csv.stderr

    assert lake_orders == stored_orders(sandbox, ids)  # (a partition column comes last: its attribute too)
    assert sum(order is not None for order in lake_orders.values()) > 100
    assert {k: from_lake.summary[k] for k in COUNTS} == {k: from_csv.summary[k] for k in COUNTS}
    assert from_lake.summary["rows_read"] == 600 and from_lake.summary["rows_rejected"] > 0
    assert_accounted(from_lake.summary)
    assert from_lake.summary["files"] == [shown or source]  # the report names the table, not a scratch copy
    assert {row["_file"] for row in from_lake.rejected} == {shown or source}
    numbered = kind == "delta"  # a folder is read in its files' order, an Iceberg table newest data file first
    assert reasons(from_lake, numbered) == reasons(from_csv, numbered)
    if numbered:
        assert [r["_row"] for r in from_lake.rejected] == [r["_row"] for r in from_csv.rejected]


def test_typed_lake_columns_and_partitions_become_text(tmp_path):
    frame = pl.DataFrame(
        {
            "price": [Decimal("19.90"), Decimal("5.00")],
            "n": [1, 2],
            "ok": [True, False],
            "at": pl.Series([0, 86_400_000_000], dtype=pl.Datetime("us", "UTC")),
        },
        schema_overrides={"price": pl.Decimal(12, 2)},
    )
    delta = LakeTable("delta", write_delta(frame, str(tmp_path / "t")))
    copy = pl.read_parquet(export(delta, tmp_path / "t.parquet"))
    assert copy.to_dicts()[0] == {"price": "19.90", "n": "1", "ok": "True", "at": "1970-01-01T00:00:00.000Z"}
    for month in ("01", "11"):  # a partition's text as the folder writes it: 01, not 1
        (tmp_path / "ds" / "year=2026" / f"month={month}").mkdir(parents=True)
        frame.select("n").write_parquet(tmp_path / "ds" / "year=2026" / f"month={month}" / "part-0.parquet")
    table = lake_table(str(tmp_path / "ds"))
    assert table == LakeTable("parquet", str(tmp_path / "ds"))
    rows = pl.read_parquet(export(table, tmp_path / "ds.parquet"))
    assert rows.schema == pl.Schema({"n": pl.String, "year": pl.String, "month": pl.String})
    assert rows.rows() == [("1", "2026", "01"), ("2", "2026", "01"), ("1", "2026", "11"), ("2", "2026", "11")]
    glob = lake_table(str(tmp_path / "ds" / "*" / "month=11" / "*.parquet"))  # a glob is a dataset too
    assert glob is not None and pl.read_parquet(export(glob, tmp_path / "g.parquet")).height == 2


def test_what_a_source_names(tmp_path):
    (tmp_path / "one.parquet").write_bytes(b"")
    assert lake_table(str(tmp_path / "one.parquet")) is None  # a file is a file
    assert lake_table("s3://exports/daily/orders.parquet") is None  # one object: downloaded as before
    assert lake_table("s3://exports/daily/") == LakeTable("parquet", "s3://exports/daily/")
    assert lake_table("gs://exports/daily/**/*.parquet") == LakeTable("parquet", "gs://exports/daily/**/*.parquet")
    assert lake_table("delta://s3://lake/orders") == LakeTable("delta", "s3://lake/orders")
    assert LakeTable("delta", "s3://key:secret@lake/orders?sig=x").shown == "delta://s3://lake/orders"
    assert LakeTable("parquet", "s3://exports/daily/").shown == "s3://exports/daily/"


# -- every command, and the library -------------------------------------------------------------------


def test_customers_from_a_delta_table_through_the_library_verify_and_inspect(sandbox, tmp_path):
    people = pl.DataFrame({"email": ["ann@example.com", "bob@example.com"], "firstName": ["Ann", "Bob"]})
    table = "delta://" + write_delta(people, str(tmp_path / "people"))
    result = importer.import_customers(table, api=api_of(sandbox), run=importer.RunOptions(report_dir=tmp_path / "r"))
    assert result.exit_code == 0 and result.summary.rows_accepted == 2
    assert customer(sandbox, "bob@example.com")["firstName"] == "Bob"
    checked = run_cli(["verify", "customers", table], env=sandbox_env(sandbox), report_dir=tmp_path / "verify")
    assert checked.exit_code == 0, checked.stderr
    assert checked.summary["records_checked"] == 2 and checked.summary["files"] == [table]
    seen = run_cli(["inspect", table], imports=False)
    assert seen.exit_code == 0 and f"{table}: format parquet, 2 rows" in seen.stdout
    assert "ann@example.com" in seen.stdout and str(tmp_path / "people") + ".parquet" not in seen.stdout


def test_order_status_and_delete_orders_read_a_lake_table(sandbox, tmp_path):
    frame = order_lines(30)
    ids = frame.get_column("id").unique(maintain_order=True).to_list()
    first = run_cli(
        ["orders", "delta://" + write_delta(frame, str(tmp_path / "lines")), "--max-rejects", "100%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "import",
    )
    stored = [order_id for order_id in ids if sandbox.store.order(order_id) is not None]
    assert first.exit_code in (0, 1) and stored
    statuses = pl.DataFrame({"id": stored, "status": ["Cancelled"] * len(stored)})
    run = run_cli(
        [
            "order-status",
            str(write_hive(statuses.with_columns(pl.lit("web").alias("attr.channel")), tmp_path / "statuses")),
        ],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "status",
    )
    assert run.exit_code == 0, run.stderr
    assert {sandbox.store.order(order_id)["status"] for order_id in stored} == {"canceled"}  # as the API stores it
    gone = run_cli(
        ["delete-orders", "--yes", "delta://" + write_delta(statuses.select("id"), str(tmp_path / "ids"))],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "delete",
    )
    assert gone.exit_code == 0, gone.stderr
    assert all(sandbox.store.order(order_id) is None for order_id in stored)


# -- object storage (moto's S3 server) ------------------------------------------------------------------


def test_a_delta_table_and_a_partitioned_dataset_in_s3(sandbox, s3, s3_server, tmp_path):
    people = pl.DataFrame(
        {"email": ["s3a@example.com", "s3b@example.com", "not-an-email"], "firstName": ["A", "B", "X"]}
    )
    write_delta(people, "s3://exports/lake/people", {"AWS_ALLOW_HTTP": "true"})
    table = "delta://s3://exports/lake/people"
    run = run_cli(["customers", table, "--max-rejects", "50%"], env=sandbox_env(sandbox), report_dir=tmp_path / "delta")
    assert run.exit_code == 1, run.stderr  # one row rejected
    assert customer(sandbox, "s3b@example.com")["firstName"] == "B"
    assert run.summary["files"] == [table] and {r["_file"] for r in run.rejected} == {table}
    assert_accounted(run.summary)

    for day in ("01", "02"):
        path = tmp_path / f"{day}.parquet"
        pl.DataFrame({"email": [f"d{day}@example.com"], "firstName": [f"D{day}"]}).write_parquet(path)
        s3.put_object(Bucket="exports", Key=f"ds/day={day}/part-0.parquet", Body=path.read_bytes())
    result = importer.import_customers(
        "s3://exports/ds/", api=api_of(sandbox), run=importer.RunOptions(report_dir=tmp_path / "ds")
    )
    assert result.exit_code == 0 and result.summary.rows_accepted == 2
    assert customer(sandbox, "d02@example.com")["firstName"] == "D02"
    assert result.summary.files == ["s3://exports/ds/"]


def test_an_iceberg_table_in_s3_by_its_metadata_file(sandbox, s3, s3_server, tmp_path):
    people = pl.DataFrame({"email": ["ice1@example.com", "ice2@example.com"], "firstName": ["I1", "I2"]})
    metadata = write_iceberg(
        people,
        tmp_path / "catalog",
        "s3://exports/warehouse",
        **{
            "s3.endpoint": s3_server,
            "s3.region": "us-east-1",
            "s3.access-key-id": "testing",
            "s3.secret-access-key": "testing",
        },
    )
    assert metadata.startswith("s3://exports/warehouse/shop/lines/metadata/")
    run = run_cli(["customers", f"iceberg://{metadata}"], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr
    assert customer(sandbox, "ice2@example.com")["firstName"] == "I2"
    assert run.summary["files"] == [f"iceberg://{metadata}"] and run.summary["rows_accepted"] == 2


# -- errors a person can act on -------------------------------------------------------------------------


def test_errors_exit_2_with_one_clear_line_before_anything_is_sent(sandbox, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    pl.DataFrame({"email": ["ann@example.com"]}).write_parquet(plain / "part-0.parquet")
    (tmp_path / "empty").mkdir()
    csvs = tmp_path / "csvs"
    csvs.mkdir()
    write_csv(csvs / "people.csv", ["email"], [["ann@example.com"]])
    cases = {
        "not delta": (f"delta://{plain}", "is not a Delta table"),
        "no such delta": (f"delta://{tmp_path / 'nowhere'}", "does not exist"),
        "not iceberg": (f"iceberg://{plain}", "is not an Iceberg table"),
        "no such metadata": (f"iceberg://{tmp_path / 'v1.metadata.json'}", "is not an Iceberg table"),
        "empty folder": (str(tmp_path / "empty"), "holds no Parquet files"),
        "a folder of CSV": (str(csvs), f"Cannot read {csvs} as a folder of Parquet files"),
        "no table": ("delta://", "names no table"),
        "a Delta table as a folder": (
            write_delta(pl.DataFrame({"email": ["a@example.com"]}), str(tmp_path / "dt")),
            "is a Delta table",
        ),
    }
    for name, (source, said) in cases.items():
        run = run_cli(["customers", source], env=sandbox_env(sandbox), report_dir=tmp_path / name.replace(" ", "-"))
        assert run.exit_code == 2, (name, run.stdout, run.stderr)
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and said in errors[0], (name, run.stderr)
        assert "Traceback" not in run.stderr, name
    assert sandbox.store.counts().customers == 0


def test_a_tables_credentials_and_query_are_in_no_artefact(sandbox, s3, tmp_path):
    write_delta(pl.DataFrame({"email": ["q@example.com"]}), "s3://exports/lake/q", {"AWS_ALLOW_HTTP": "true"})
    for name, source in {
        "found": "delta://s3://reader:PASSWORD@exports/lake/q?X-Signature=SIGNATURE",
        "missing": "delta://s3://reader:PASSWORD@exports/lake/nowhere?X-Signature=SIGNATURE",
    }.items():
        run = run_cli(["customers", source], env=sandbox_env(sandbox), report_dir=tmp_path / name)
        assert run.exit_code == (0 if name == "found" else 2), run.stderr
        written = [p.read_bytes() for p in (tmp_path / name).rglob("*") if p.is_file()]
        for text in [run.stdout.encode(), run.stderr.encode(), *written]:
            assert b"PASSWORD" not in text and b"SIGNATURE" not in text, name
        if name == "found":
            assert run.summary["files"] == ["delta://s3://exports/lake/q"]
        else:
            assert "delta://s3://exports/lake/nowhere is not a Delta table" in run.stderr


@pytest.mark.parametrize("kind, module", [("delta", "deltalake"), ("iceberg", "pyiceberg")])
def test_a_missing_extra_is_named(kind, module, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # as where the extra is not installed
    run = run_cli(["customers", f"{kind}://{tmp_path}", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert f"pip install 'ecdp-importer[{kind}]'" in run.stderr and "Traceback" not in run.stderr
