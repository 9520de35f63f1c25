"""Presets: a platform's standard export imported as it is, with --preset."""

from __future__ import annotations

from pathlib import Path

from importer.cli import cli
from importer.mapping import PRESETS
from tests.support import assert_accounted, customer, get, run_cli, sandbox_env

DATA = Path(__file__).resolve().parent / "data"
SHOPIFY = DATA / "shopify"
WOOCOMMERCE = DATA / "woocommerce"


def test_shopify_orders_export(sandbox, tmp_path):
    run = run_cli(["orders", str(SHOPIFY / "orders_export.csv"), "--preset", "shopify"], env=sandbox_env(sandbox),
                  report_dir=tmp_path / "r")
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


def test_every_shipped_preset_is_a_choice_of_both_import_commands():
    shipped = {path.stem.rsplit("-", 1)[0] for path in PRESETS.glob("*.toml")}
    for command in ("customers", "orders"):
        [option] = [p for p in cli.commands[command].params if p.name == "preset"]
        assert set(option.type.choices) == shipped
        assert all((PRESETS / f"{name}-{command}.toml").exists() for name in shipped)


def test_woocommerce_orders_export(sandbox, tmp_path):
    run = run_cli(["orders", str(WOOCOMMERCE / "orders-export.csv"), "--preset", "woocommerce"],
                  env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 1, run.stderr
    assert_accounted(run.summary)
    counts = ("rows_read", "rows_accepted", "rows_rejected", "records_accepted")
    assert tuple(run.summary[c] for c in counts) == (15, 13, 2, 7)
    assert "neither uses nor ignores" not in run.stderr  # the preset knows every column of the export
    first = get(sandbox, "/orders/1051").json()["data"]
    assert (first["date"], first["status"], first["totalValue"], first["currency"]) == (
        "2024-11-06T10:10:00.000Z", "completed", 205.0, "PLN")  # the shop's local time read as UTC
    assert first["customer"] == {"email": "anna.kowalska@example.com", "phone": "601234567", "crmId": "12"}
    assert [(p["id"], p["quantity"], p["price"]) for p in first["products"]] == [
        ("TSH-LIN-M", 2, 60.98), ("MUG-350", 1, 32.52)]
    orders = {n: get(sandbox, f"/orders/{n}").json()["data"] for n in range(1052, 1058)}
    assert {n: o["status"] for n, o in orders.items()} == {
        1052: "paid", 1053: "canceled", 1054: "canceled", 1055: "placed", 1056: "placed", 1057: "completed"}
    assert (orders[1053]["returnsValue"], orders[1057]["returnsValue"]) == (280.0, 75.01)
    guest = orders[1052]
    assert guest["customer"] == {"email": "juergen.mueller@example.de", "phone": "+49301234567"}  # no crmId "0"
    assert [(p["name"], p["quantity"]) for p in guest["products"]] == [("Świeca sojowa „Las”", 3)]
    deleted, sibling = run.rejected
    assert (deleted["order_id"], deleted["item_sku"], deleted["_field"]) == ("1058", "unknown_product", "product.id")
    assert sibling["_error"] == "another line of order 1058 is invalid (orders-export.csv row 15)"
    assert get(sandbox, "/orders/1058").status_code == 404


def test_woocommerce_dates_in_the_shops_time_zone_with_a_copy_of_the_preset(sandbox, tmp_path):
    preset = (PRESETS / "woocommerce-orders.toml").read_text(encoding="utf-8")
    mapping = tmp_path / "woocommerce-orders.toml"
    mapping.write_text(preset.replace('timezone = "UTC"', 'timezone = "Europe/Warsaw"'), encoding="utf-8")
    run = run_cli(["orders", str(WOOCOMMERCE / "orders-export.csv"), "--mapping", str(mapping)],
                  env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 1, run.stderr
    assert get(sandbox, "/orders/1051").json()["data"]["date"] == "2024-11-06T09:10:00.000Z"  # 10:10 CET
    assert get(sandbox, "/orders/1056").json()["data"]["date"] == "2024-11-14T23:30:00.000Z"  # 00:30 CET


def test_woocommerce_customers_export(sandbox, tmp_path):
    run = run_cli(["customers", str(WOOCOMMERCE / "customers-export.csv"), "--preset", "woocommerce"],
                  env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 1, run.stderr
    assert_accounted(run.summary)
    assert (run.summary["rows_accepted"], run.summary["rows_rejected"]) == (5, 1)
    assert "neither uses nor ignores" not in run.stderr
    anna = customer(sandbox, "anna.kowalska@example.com")
    assert (anna["firstName"], anna["lastName"], anna["crmId"], anna["phone"]) == ("Anna", "Kowalska", "12", "601234567")
    guest = customer(sandbox, "juergen.mueller@example.de")
    assert (guest["firstName"], guest["lastName"], "crmId" in guest) == ("Jürgen", "Müller", False)
    [rejected] = run.rejected
    assert (rejected["email"], rejected["_field"]) == ("lukasz.zielinski@example.pl", "phone")
    assert customer(sandbox, "lukasz.zielinski@example.pl") is None
