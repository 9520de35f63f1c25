"""Presets: a platform's standard export imported as it is, with --preset."""

from __future__ import annotations

from pathlib import Path

from tests.support import assert_accounted, customer, get, run_cli, sandbox_env

SHOPIFY = Path(__file__).resolve().parent / "data" / "shopify"


def test_shopify_orders_export(sandbox, tmp_path):
    run = run_cli(["orders", str(SHOPIFY / "orders_export.csv"), "--preset", "shopify", "--max-rejects", "100%"],
                  env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 1, run.stderr
    assert_accounted(run.summary)
    assert "neither uses nor ignores" not in run.stderr  # the preset knows every column of the export
    first = get(sandbox, "/orders/%231001").json()["data"]
    assert (first["date"], first["status"], first["totalValue"], first["currency"]) == (
        "2024-11-06T09:10:00.000Z", "paid", 299.97, "PLN")
    assert first["customer"] == {"email": "anna.kowalska@example.com", "phone": "+48601234567"}
    assert [(p["id"], p["quantity"]) for p in first["products"]] == [("TSH-LIN-M", 2), ("MUG-350", 1)]
    refunded = get(sandbox, "/orders/%231002").json()["data"]
    assert (refunded["status"], refunded["returnsValue"]) == ("canceled", 45.0)
    [rejected] = run.rejected
    assert rejected["Name"] == "#1003" and rejected["_field"] == "product.id"


def test_shopify_customers_export(sandbox, tmp_path):
    run = run_cli(["customers", str(SHOPIFY / "customers_export.csv"), "--preset", "shopify"],
                  env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr
    anna = customer(sandbox, "anna.kowalska@example.com")
    assert (anna["firstName"], anna["lastName"], anna["crmId"], anna["phone"]) == (
        "Anna", "Kowalska", "7044811407599", "+48601234567")


def test_preset_and_mapping_cannot_be_combined(tmp_path):
    run = run_cli(["orders", str(SHOPIFY / "orders_export.csv"), "--preset", "shopify", "--mapping", "m.toml",
                   "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "cannot be combined" in run.stderr
