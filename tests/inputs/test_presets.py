"""Presets: a platform's standard export imported as it is, with --preset."""

from __future__ import annotations

from importer.cli import cli
from importer.inputs.mapping import PRESETS
from importer.inputs.presets import preset_names
from tests.support import DATA, assert_accounted, customer, get, run_cli, sandbox_env

SHOPIFY = DATA / "shopify"
WOOCOMMERCE = DATA / "woocommerce"
MAGENTO = DATA / "magento"
MAGENTO_TABLES = [str(MAGENTO / "sales_order_item.tsv"), str(MAGENTO / "sales_order.tsv")]


def import_export(sandbox, tmp_path, command: str, files: list, preset: str, exit_code: int = 1):
    """Import a platform's export with its preset into the sandbox: the expected exit code, every row
    accounted for, and no column the preset neither uses nor ignores (it knows the whole export)."""
    run = run_cli(
        [command, *map(str, files), "--preset", preset, "--max-rejects", "100%"],  # exports with broken rows
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == exit_code, run.stderr
    assert_accounted(run.summary)
    assert "neither uses nor ignores" not in run.stderr
    return run


def test_shopify_orders_export(sandbox, tmp_path):
    run = import_export(sandbox, tmp_path, "orders", [SHOPIFY / "orders_export.csv"], "shopify", exit_code=0)
    first = get(sandbox, "/orders/%231001").json()["data"]
    assert (first["date"], first["status"], first["totalValue"], first["currency"]) == (
        "2024-11-06T09:10:00.000Z",
        "paid",
        299.97,
        "PLN",
    )
    assert first["customer"] == {"email": "anna.kowalska@example.com", "phone": "+48601234567"}
    assert [(p["id"], p["quantity"]) for p in first["products"]] == [("TSH-LIN-M", 2), ("MUG-350", 1)]
    refunded = get(sandbox, "/orders/%231002").json()["data"]
    assert (refunded["status"], refunded["returnsValue"]) == ("canceled", 45.0)
    # #1003 buys a gift card (no SKU): not a product, so the order is left out whole, listed, not rejected
    assert not run.rejected and get(sandbox, "/orders/%231003").status_code == 404
    [left_out] = run.rows("left_out.csv")
    assert (left_out["Name"], left_out["_error"]) == ("#1003", "a gift card purchase, not a product")


def test_shopify_customers_export(sandbox, tmp_path):
    run = run_cli(
        ["customers", str(SHOPIFY / "customers_export.csv"), "--preset", "shopify"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 0, run.stderr
    anna = customer(sandbox, "anna.kowalska@example.com")
    assert (anna["firstName"], anna["lastName"], anna["crmId"], anna["phone"]) == (
        "Anna",
        "Kowalska",
        "7044811407599",
        "+48601234567",
    )


def test_preset_and_mapping_cannot_be_combined(tmp_path):
    run = run_cli(
        ["orders", str(SHOPIFY / "orders_export.csv"), "--preset", "shopify", "--mapping", "m.toml", "--dry-run"],
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2 and "cannot be combined" in run.stderr


def test_every_shipped_preset_is_a_choice_of_the_import_commands_and_verify():
    shipped = {path.stem.split("-", 1)[0] for path in PRESETS.glob("*.toml")}
    assert set(preset_names()) == shipped
    for command in ("customers", "orders", "verify"):
        [option] = [p for p in cli.commands[command].params if p.name == "preset"]
        assert set(option.type.choices) == shipped
        assert command == "verify" or all((PRESETS / f"{name}-{command}.toml").exists() for name in shipped)


def test_woocommerce_orders_export(sandbox, tmp_path):
    run = import_export(sandbox, tmp_path, "orders", [WOOCOMMERCE / "orders-export.csv"], "woocommerce", exit_code=0)
    counts = ("rows_read", "rows_accepted", "rows_rejected", "rows_left_out", "records_accepted")
    assert tuple(run.summary[c] for c in counts) == (16, 14, 0, 2, 8)
    first = get(sandbox, "/orders/1051").json()["data"]
    assert (first["date"], first["status"], first["totalValue"], first["currency"]) == (
        "2024-11-06T10:10:00.000Z",
        "completed",
        205.0,
        "PLN",
    )  # the shop's local time read as UTC
    assert first["customer"] == {"email": "anna.kowalska@example.com", "phone": "601234567", "crmId": "12"}
    assert [(p["id"], p["quantity"], p["price"]) for p in first["products"]] == [
        ("TSH-LIN-M", 2, 60.98),
        ("MUG-350", 1, 32.52),
    ]
    orders = {n: get(sandbox, f"/orders/{n}").json()["data"] for n in range(1052, 1059)}
    assert {n: o["status"] for n, o in orders.items()} == {
        1052: "paid",
        1053: "canceled",
        1054: "canceled",
        1055: "placed",
        1056: "placed",
        1057: "completed",
        1058: "paid",
    }
    assert (orders[1053]["returnsValue"], orders[1057]["returnsValue"]) == (280.0, 75.01)
    guest = orders[1052]
    assert guest["customer"] == {"email": "juergen.mueller@example.de", "phone": "+49301234567"}  # no crmId "0"
    assert [(p["name"], p["quantity"]) for p in guest["products"]] == [("Świeca sojowa „Las”", 3)]
    # a deleted product's line (item_sku unknown_product) is left out, its order kept with its other line
    assert [p["id"] for p in orders[1058]["products"]] == ["NTB-A5-DOT"]
    assert get(sandbox, "/orders/1059").status_code == 404  # a checkout draft, left out whole


def test_woocommerce_dates_in_the_shops_time_zone_with_a_copy_of_the_preset(sandbox, tmp_path):
    preset = (PRESETS / "woocommerce-orders.toml").read_text(encoding="utf-8")
    mapping = tmp_path / "woocommerce-orders.toml"
    mapping.write_text(preset.replace('timezone = "UTC"', 'timezone = "Europe/Warsaw"'), encoding="utf-8")
    run = run_cli(
        ["orders", str(WOOCOMMERCE / "orders-export.csv"), "--mapping", str(mapping), "--max-rejects", "100%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 0, run.stderr
    assert get(sandbox, "/orders/1051").json()["data"]["date"] == "2024-11-06T09:10:00.000Z"  # 10:10 CET
    assert get(sandbox, "/orders/1056").json()["data"]["date"] == "2024-11-14T23:30:00.000Z"  # 00:30 CET


def test_woocommerce_customers_export(sandbox, tmp_path):
    run = import_export(sandbox, tmp_path, "customers", [WOOCOMMERCE / "customers-export.csv"], "woocommerce")
    assert (run.summary["rows_accepted"], run.summary["rows_rejected"]) == (5, 1)
    anna = customer(sandbox, "anna.kowalska@example.com")
    assert (anna["firstName"], anna["lastName"], anna["crmId"], anna["phone"]) == (
        "Anna",
        "Kowalska",
        "12",
        "601234567",
    )
    guest = customer(sandbox, "juergen.mueller@example.de")
    assert (guest["firstName"], guest["lastName"], "crmId" in guest) == ("Jürgen", "Müller", False)
    [rejected] = run.rejected
    assert (rejected["email"], rejected["_field"]) == ("lukasz.zielinski@example.pl", "phone")
    assert customer(sandbox, "lukasz.zielinski@example.pl") is None


def test_magento_orders_from_the_order_tables(sandbox, tmp_path):
    run = import_export(sandbox, tmp_path, "orders", MAGENTO_TABLES, "magento")
    counts = ("rows_read", "rows_accepted", "rows_rejected", "records_accepted")
    assert tuple(run.summary[c] for c in counts) == (21, 19, 2, 7)  # child items are accepted with their order
    first = get(sandbox, "/orders/000000101").json()["data"]
    assert (first["date"], first["status"], first["totalValue"], first["currency"]) == (
        "2024-11-06T09:10:00.000Z",
        "completed",
        205.0,
        "PLN",
    )
    assert first["customer"] == {"email": "anna.kowalska@example.com"}
    assert "returnsValue" not in first  # total_refunded NULL
    # the configurable shirt once (its parent item), not again as its child item at price 0
    assert [(p["id"], p["name"], p["quantity"], p["price"]) for p in first["products"]] == [
        ("TSH-LIN-M", "Koszulka lniana", 2, 75.0),
        ("MUG-350", "Kubek ceramiczny 350 ml", 1, 40.0),
    ]
    orders = {n: get(sandbox, f"/orders/00000010{n}").json()["data"] for n in range(2, 8)}
    assert {n: o["status"] for n, o in orders.items()} == {
        2: "paid",
        3: "canceled",
        4: "canceled",
        5: "placed",
        6: "placed",
        7: "completed",
    }
    assert [p["id"] for p in orders[2]["products"]] == ["CND-LAS", "GIFT-SET-CND-LAS-MUG-350"]  # the bundle once
    assert orders[2]["customer"] == {"email": "juergen.mueller@example.de"}  # a guest
    closed = orders[3]
    assert (closed["returnsValue"], [p["returned"] for p in closed["products"]]) == (280.0, [1, 2])
    assert (orders[7]["returnsValue"], [p["returned"] for p in orders[7]["products"]]) == (75.0, [0, 1])
    rope, sibling = run.rejected
    assert (rope["item_id"], rope["sku"], rope["_field"]) == ("320", "JUT-ROPE-M", "product.quantity")
    assert rope["_error"] == "product.quantity: '2.5000' is not a whole number from 1 to 2147483647"
    assert sibling["_error"] == "another line of order 000000108 is invalid (sales_order_item.tsv row 21)"
    assert get(sandbox, "/orders/000000108").status_code == 404


def test_magento_orders_need_both_tables_in_order(tmp_path):
    run = run_cli(["orders", MAGENTO_TABLES[0], "--preset", "magento", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert "reads 2 files, in this order: sales_order_item, sales_order; 1 given" in run.stderr
    assert "ecdp-import orders sales_order_item.csv sales_order.csv --preset magento" in run.stderr
    swapped = run_cli(
        ["orders", *reversed(MAGENTO_TABLES), "--preset", "magento", "--dry-run"], report_dir=tmp_path / "r2"
    )
    assert swapped.exit_code == 2
    assert "(FILEs are read as: sales_order_item, sales_order)" in swapped.stderr
    assert "join on 'order_id', which no earlier table has" in swapped.stderr


def test_magento_customers_main_file(sandbox, tmp_path):
    run = import_export(sandbox, tmp_path, "customers", [MAGENTO / "customer_20241120_093015.csv"], "magento")
    assert (run.summary["rows_accepted"], run.summary["rows_rejected"]) == (5, 1)
    anna = customer(sandbox, "anna.kowalska@example.com")
    assert (anna["firstName"], anna["lastName"], anna["dateOfBirth"], anna["gender"]) == (
        "Anna",
        "Kowalska",
        "1988-04-12T00:00:00.000Z",
        "Female",
    )
    assert customer(sandbox, "grzegorz.brzeczyszczykiewicz@example.pl")["gender"] == "NotSpecified"
    assert customer(sandbox, "dieter.schaefer@example.de")["lastName"] == "Schäfer"
    katarzyna = customer(sandbox, "katarzyna.wisniewska@example.com")
    assert "gender" not in katarzyna and "dateOfBirth" not in katarzyna  # blank in the export: not sent
    [rejected] = run.rejected
    assert (rejected["email"], rejected["_field"]) == ("malgorzata.wojcik@example.pl", "dateOfBirth")
    assert "'0000-00-00'" in rejected["_error"]
