"""Ids a spreadsheet rewrote (``5.89746E+12``, ``4,8601E+10``, ``5897460000000``): their rows are rejected
with a reason that says the file was re-saved by a spreadsheet and how to export it again, never sent;
the other rows are imported. A rule of the records stage (``schemas.common.not_spreadsheet_number``), so it
holds with or without a mapping; money fields keep their own reasons (tests/inputs/test_bad_input.py)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from importer.frame import FILE_COL, RID_COL, ROW_COL
from importer.records import customers, orders
from importer.sandbox import SandboxServer
from importer.settings import CustomerOptions, OrderOptions
from tests.support import ORDER_LINE_COLUMNS, assert_accounted, customer, run_cli, sandbox_env, write_csv

RE_SAVED = "the file was re-saved by a spreadsheet; export it again from its source"
DAMAGED = ["5.89746E+12", "5,89746E+12", "4.8601E+10", "5897460000000", "48601000000000"]


def _frame(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(columns, schema={name: pl.String for name in columns})
    return frame.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(RID_COL),
        pl.lit("f.csv").alias(FILE_COL),
        (pl.int_range(pl.len()) + 2).alias(ROW_COL),
    )


@pytest.mark.parametrize("value", DAMAGED)
def test_rewritten_crm_id_and_phone_are_rejected_with_that_reason_alone(value: str) -> None:
    frame = _frame(
        {
            "email": ["a@example.com", "b@example.com", "c@example.com"],
            "crmId": [value, "7044811407599", None],
            "phone": [None, None, value],
        }
    )
    prepared = customers.prepare(frame, CustomerOptions())
    reasons = {rid: error for rid, error in prepared.reasons.select(RID_COL, "_error").iter_rows()}
    assert set(reasons) == {0, 2}
    assert reasons[0].startswith(f"crmId: '{value}' is an id a spreadsheet rewrote as a number")
    assert RE_SAVED in reasons[0]
    # a phone in scientific notation is not also "not a phone number": the spreadsheet is the reason
    assert reasons[2].startswith(f"phone: '{value}' is an id a spreadsheet rewrote") and "not a phone" not in reasons[2]
    assert prepared.records.get_column("_key").to_list() == ["b@example.com"]


@pytest.mark.parametrize(
    "value",
    ["7044811407599", "100000", "1e5", "12e4567", "5.5E-3", "SKU-1E+12", "10000000000", "+48600000000", "2024000001"],
)
def test_ids_a_spreadsheet_did_not_rewrite_pass(value: str) -> None:
    """Ids of digits (even with zeros), hex-like ids with an e, short numbers: not taken for damage (a
    scientific notation a spreadsheet writes has ``E+``; lost digits leave 12+ digits ending in 6 zeros)."""
    frame = _frame({"email": ["a@example.com"], "crmId": [value]})
    assert customers.prepare(frame, CustomerOptions()).reasons.is_empty()


def test_order_ids_customer_ids_and_product_ids_rewritten_reject_their_orders() -> None:
    frame = _frame(
        {
            "id": ["5.89746E+12", "5.89746E+12", "o-2", "o-3", "o-4", "o-4"],
            "date": ["2024-11-01"] * 6,
            "customer.email": ["a@example.com"] * 6,
            "customer.crmId": [None, None, "7,04481E+12", None, None, None],
            "product.id": ["p-1", "p-2", "p-3", "8.80001E+12", "p-5", "p-6"],
            "product.name": ["Thing"] * 6,
            "product.price": ["1.5e2"] * 6,
            "product.quantity": ["1"] * 6,
        }
    )
    prepared = orders.prepare(frame, OrderOptions())
    reasons = dict(prepared.reasons.select(RID_COL, "_error").iter_rows())
    assert set(reasons) == {0, 1, 2, 3}
    assert all(RE_SAVED in reasons[rid] for rid in (0, 1, 2, 3))
    assert reasons[2].startswith("customer.crmId: '7,04481E+12'") and reasons[3].startswith("product.id: '8.80001E+12'")
    assert prepared.records.get_column("_key").to_list() == ["o-4"]  # (a price of 1.5e2 is a number, and sent)


def test_customers_file_re_saved_by_a_spreadsheet(sandbox: SandboxServer, tmp_path: Path) -> None:
    rows = [
        [f"c{i}@example.com", f"{5.89746 + i / 1e5:.5f}E+12" if i % 3 == 0 else f"70448114{i:05d}", "Anna"]
        for i in range(12)
    ]
    rows[1][1] = "5897460000000"  # digits lost, written back as zeros
    path = write_csv(tmp_path / "customers.csv", ["email", "crmId", "firstName"], rows)
    run = run_cli(
        ["customers", str(path), "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 1, run.stderr
    damaged = {row[0]: row[1] for i, row in enumerate(rows) if i % 3 == 0 or i == 1}
    rejected = {row["email"]: row for row in run.rejected}
    assert set(rejected) == set(damaged) and all(RE_SAVED in row["_error"] for row in rejected.values())
    assert run.summary["rows_accepted"] == 12 - len(damaged) == sandbox.store.counts().customers
    assert_accounted(run.summary)
    for email, crm_id in damaged.items():
        assert customer(sandbox, email) is None and sandbox.store.customer_by("crmId", crm_id) is None
    assert customer(sandbox, "c2@example.com")["crmId"] == "7044811400002"  # type: ignore[index]


def test_shopify_export_re_saved_by_a_spreadsheet_under_the_preset(tmp_path: Path) -> None:
    """The same rule under a mapping (the Shopify preset reads ``Customer ID`` as crmId): no such id in
    the bodies the dry run wrote."""
    header = ["Customer ID", "First Name", "Last Name", "Email", "Phone"]
    rows = [
        ["5.89746E+12", "Anna", "Nowak", "anna@example.com", ""],
        ["7044811440367", "Piotr", "Nowak", "piotr@example.com", "4.86001E+10"],
        ["7044811473135", "Ewa", "Lis", "ewa@example.com", "+48601234567"],
    ]
    path = write_csv(tmp_path / "customers_export.csv", header, rows)
    run = run_cli(
        ["customers", str(path), "--preset", "shopify", "--dry-run", "--max-rejects", "100%"], report_dir=tmp_path / "r"
    )
    assert run.exit_code == 1, run.stderr
    assert [row["Email"] for row in run.rejected] == ["anna@example.com", "piotr@example.com"]
    assert all(RE_SAVED in row["_error"] for row in run.rejected)
    bodies = (tmp_path / "r" / "payloads.jsonl").read_text(encoding="utf-8")
    sent = [c for line in bodies.splitlines() for c in json.loads(line)["data"]]
    assert [c["crmId"] for c in sent] == ["7044811473135"]
    assert "E+" not in bodies and "4.86001" not in bodies


def test_orders_file_re_saved_by_a_spreadsheet(sandbox: SandboxServer, tmp_path: Path) -> None:
    header = ORDER_LINE_COLUMNS
    rows = [
        ["5.89746E+12", "2024-11-01", "10", "a@example.com", "p-1", "Thing", "10", "1"],
        ["5.89746E+12", "2024-11-02", "20", "b@example.com", "p-2", "Thing", "20", "1"],
        ["5897460000000", "2024-11-02", "20", "b@example.com", "p-2", "Thing", "20", "1"],
        ["o-1", "2024-11-03", "30", "c@example.com", "8.80001E+12", "Thing", "30", "1"],
        ["o-2", "2024-11-04", "1.5e2", "d@example.com", "p-4", "Thing", "1.5e2", "1"],
    ]
    path = write_csv(tmp_path / "orders.csv", header, rows)
    run = run_cli(["orders", str(path), "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 1, run.stderr
    assert len(run.rejected) == 4 and all(RE_SAVED in row["_error"] for row in run.rejected)
    assert sandbox.store.counts().orders == 1 and sandbox.store.order("o-2") is not None
    for order_id in ("5.89746E+12", "5897460000000", "o-1"):
        assert sandbox.store.order(order_id) is None
    assert_accounted(run.summary)
