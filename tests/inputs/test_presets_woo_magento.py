"""WooCommerce and Magento presets, every generation of their exports (tests/data/woocommerce/README.md,
tests/data/magento/README.md): each fixture imported with ``--preset`` into the sandbox, and every record
the platform holds compared, field by field, with what the file says, worked out here from the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import DATA, assert_accounted, customer, get, run_cli, sandbox_env

WOO, MAGENTO = DATA / "woocommerce", DATA / "magento"
WOO_STATUS = {
    "pending": "placed",
    "on-hold": "placed",
    "processing": "paid",
    "completed": "completed",
    "cancelled": "canceled",
    "refunded": "canceled",
    "failed": "canceled",
}
MAGENTO_STATUS = {
    "complete": "completed",
    "closed": "canceled",
    "canceled": "canceled",
    "processing": "paid",
    "pending": "placed",
    "holded": "placed",
    "pending_payment": "placed",
}
MAGENTO_STATE = {
    "complete": "completed",
    "closed": "canceled",
    "canceled": "canceled",
    "processing": "paid",
    "new": "placed",
    "holded": "placed",
    "pending_payment": "placed",
}
GENDER = {"Male": "Male", "Female": "Female", "Not Specified": "NotSpecified"}


def rows(path: Path) -> list[dict[str, str]]:
    """A fixture's rows as the export has them (mysql's NULL as an empty cell)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ",")
        return [{k: "" if v == "NULL" else v for k, v in row.items()} for row in reader]


def phone(text: str) -> str | None:
    """A phone as the platform holds it: digits and a leading +, the extension's ' guard gone."""
    return re.sub(r"[^\d+]", "", text) or None


def present(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v not in (None, "", {})}


def run_preset(sandbox, tmp_path: Path, command: str, files: list[Path], preset: str, exit_code: int):
    run = run_cli(
        [command, *map(str, files), "--preset", preset, "--max-rejects", "100%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == exit_code, run.stderr
    assert_accounted(run.summary)
    assert "neither uses nor ignores" not in run.stderr  # the preset knows every column of its export
    return run


def stored_order(sandbox, order_id: str) -> dict[str, Any] | None:
    response = get(sandbox, f"/orders/{order_id}")
    return None if response.status_code == 404 else response.json()["data"]


def assert_customers_stored(sandbox, expected: list[dict[str, Any]]) -> None:
    for record in expected:
        held = customer(sandbox, record["email"])
        assert held is not None, record["email"]
        held.pop("id")
        assert held == present(record)


# -- WooCommerce: the Customer / Order / Coupon Export extension --------------------------------------


def woo_orders(path: Path) -> dict[str, dict[str, Any]]:
    """The orders a Default - One Row per Item file holds, as the platform must hold them: a checkout
    draft is no order, a deleted product's line no product, a product without SKU known by its name."""
    orders: dict[str, dict[str, Any]] = {}
    for row in rows(path):
        if row["status"] == "checkout-draft":
            continue
        order = orders.setdefault(
            row["order_id"],
            present(
                {
                    "id": row["order_id"],
                    "date": row["date"].replace(" ", "T") + ".000Z",
                    "timeZone": "UTC",
                    "status": WOO_STATUS[row["status"]],
                    "currency": row["order_currency"],
                    "totalValue": float(row["order_total"]),
                    "returnsValue": float(row["refunded_total"]),
                    "customer": present(
                        {
                            "email": row["billing_email"],
                            "phone": phone(row["billing_phone"]),
                            "crmId": None if row["customer_id"] == "0" else row["customer_id"],
                        }
                    ),
                }
            )
            | {"products": []},
        )
        if row["item_sku"] != "unknown_product":
            order["products"].append(
                {
                    "id": row["item_sku"] or row["item_name"],
                    "name": row["item_name"],
                    "price": float(row["item_price"]),
                    "quantity": int(row["item_quantity"]),
                }
            )
    return orders


def test_woocommerce_orders_5_3_every_order_as_the_file_says(sandbox, tmp_path):
    run = run_preset(sandbox, tmp_path, "orders", [WOO / "orders-export.csv"], "woocommerce", 0)
    counts = ("rows_read", "rows_accepted", "rows_rejected", "rows_left_out", "records_accepted")
    assert tuple(run.summary[c] for c in counts) == (16, 14, 0, 2, 8)
    assert run.summary["read_as"].endswith("Default - One Row per Item (5.3 and later)")
    expected = woo_orders(WOO / "orders-export.csv")
    assert {o: stored_order(sandbox, o) for o in expected} == expected
    # the quirks, named: the extension's ' before +, a SKU-less line, a deleted product's line, a draft
    assert expected["1052"]["customer"] == {"email": "juergen.mueller@example.de", "phone": "+49301234567"}
    assert expected["1055"]["products"][1]["id"] == "Długopis żelowy"
    assert [p["id"] for p in expected["1058"]["products"]] == ["NTB-A5-DOT"]
    assert stored_order(sandbox, "1059") is None
    left_out = {(r["order_id"], r["_error"]) for r in run.rows("left_out.csv")}
    assert left_out == {
        ("1058", "the product was deleted from the shop (item_sku unknown_product): no product id to send"),
        ("1059", "a checkout draft (WooCommerce Blocks), not an order"),
    }


def test_woocommerce_orders_5_1_without_vat_number(sandbox, tmp_path):
    run = run_preset(sandbox, tmp_path, "orders", [WOO / "orders-export-5.1.csv"], "woocommerce", 0)
    assert run.summary["read_as"].endswith("Default - One Row per Item (5.1.1 to 5.2)")
    expected = woo_orders(WOO / "orders-export-5.1.csv")
    assert list(expected) == ["2051", "2052"]
    assert {o: stored_order(sandbox, o) for o in expected} == expected


def test_woocommerce_orders_before_5_1_1_name_the_missing_unit_price(sandbox, tmp_path):
    run = run_cli(
        ["orders", str(WOO / "orders-export-4.x.csv"), "--preset", "woocommerce"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2
    assert "no column 'item_price'" in run.stderr
    assert "before 5.1.1: no item_price, update the extension and export again" in run.stderr
    assert stored_order(sandbox, "3051") is None


def test_woocommerce_customers_default(sandbox, tmp_path):
    run = run_preset(sandbox, tmp_path, "customers", [WOO / "customers-export.csv"], "woocommerce", 1)
    assert run.summary["read_as"] == "WooCommerce Customer/Order/Coupon Export, customers, Default"
    [rejected] = run.rejected
    assert (rejected["email"], rejected["_field"]) == ("lukasz.zielinski@example.pl", "phone")
    assert_customers_stored(
        sandbox,
        [
            {
                "email": r["email"],
                "firstName": r["first_name"],
                "lastName": r["last_name"],
                "phone": phone(r["billing_phone"]),
                "crmId": None if r["customer_id"] == "0" else r["customer_id"],
            }
            for r in rows(WOO / "customers-export.csv")
            if r["email"] != rejected["email"]
        ],
    )
    assert customer(sandbox, "katarzyna.wisniewska@example.com")["phone"] == "+48602111222"  # '+48 602 ...


def test_woocommerce_customers_legacy(sandbox, tmp_path):
    run = run_preset(sandbox, tmp_path, "customers", [WOO / "customers-legacy.csv"], "woocommerce", 0)
    assert run.summary["read_as"] == "WooCommerce Customer/Order/Coupon Export, customers, Legacy"
    assert_customers_stored(
        sandbox,
        [
            {
                "email": r["Email"],
                "firstName": r["First Name"],
                "lastName": r["Last Name"],
                "phone": phone(r["Phone"]),
                "crmId": None if r["ID"] == "0" else r["ID"],
            }
            for r in rows(WOO / "customers-legacy.csv")
        ],
    )


def test_woocommerce_analytics_customers_downloads_both_spellings(sandbox, tmp_path):
    for name, generation in [
        ("customers-analytics.csv", "built by the browser"),
        ("customers-analytics-emailed.csv", "e-mailed"),
    ]:
        run = run_preset(sandbox, tmp_path / name, "customers", [WOO / name], "woocommerce", 0)
        assert run.summary["read_as"] == f"WooCommerce Analytics customers download ({generation})"
        assert_customers_stored(sandbox, [{"email": r["Email"]} for r in rows(WOO / name)])


# -- Magento: the customer exports -----------------------------------------------------------------


def magento_customer(row: dict[str, str], email: str = "email") -> dict[str, Any]:
    return {
        "email": row[email],
        "firstName": row["firstname"],
        "lastName": row["lastname"],
        "dateOfBirth": row["dob"][:10] + "T00:00:00.000Z" if row["dob"] else None,
        "gender": GENDER.get(row["gender"]),
    }


def test_magento_customers_main_file_open_source_and_adobe_commerce(sandbox, tmp_path):
    run = run_preset(sandbox, tmp_path / "os", "customers", [MAGENTO / "customer_20241120_093015.csv"], "magento", 1)
    assert run.summary["read_as"] == "Magento 2 Customers Main File export (Magento Open Source)"
    [rejected] = run.rejected  # MySQL's zero date
    assert (rejected["email"], rejected["_field"], rejected["dob"]) == (
        "malgorzata.wojcik@example.pl",
        "dateOfBirth",
        "0000-00-00",
    )
    assert rejected["_website"] == "base"  # Magento's _ columns are the row's own, kept for re-import
    assert_customers_stored(
        sandbox,
        [
            magento_customer(r)
            for r in rows(MAGENTO / "customer_20241120_093015.csv")
            if r["email"] != rejected["email"]
        ],
    )
    run = run_preset(sandbox, tmp_path / "ac", "customers", [MAGENTO / "customer_adobe_commerce.csv"], "magento", 0)
    assert run.summary["read_as"] == "Magento 2 Customers Main File export (Adobe Commerce)"
    assert_customers_stored(sandbox, [magento_customer(r) for r in rows(MAGENTO / "customer_adobe_commerce.csv")])


def test_magento_customer_addresses_give_the_default_billing_phone(sandbox, tmp_path):
    path = MAGENTO / "customer_address_20241120_093020.csv"
    run = run_preset(sandbox, tmp_path, "customers", [path], "magento", 0)
    assert run.summary["read_as"] == "Magento 2 Customer Addresses export"
    assert (run.summary["rows_accepted"], run.summary["rows_left_out"]) == (3, 2)
    assert_customers_stored(
        sandbox,
        [
            {"email": r["_email"], "phone": phone(r["telephone"])}
            for r in rows(path)
            if r["_address_default_billing_"] == "1"
        ],
    )
    assert customer(sandbox, "katarzyna.wisniewska@example.com")["phone"] == "+48602111222"  # her 2nd address
    left_out = [(r["_email"], r["_entity_id"], r["_error"]) for r in run.rows("left_out.csv")]
    assert left_out == [
        ("anna.kowalska@example.com", "12", "not the customer's default billing address"),
        ("katarzyna.wisniewska@example.com", "14", "not the customer's default billing address"),
    ]


def test_magento_1_customers_export_with_its_address_rows(sandbox, tmp_path):
    path = MAGENTO / "magento1_customers.csv"
    run = run_preset(sandbox, tmp_path, "customers", [path], "magento", 0)
    assert run.summary["read_as"].startswith("Magento 1 customers export")
    assert (run.summary["rows_accepted"], run.summary["rows_left_out"], run.summary["rows_blank"]) == (3, 2, 0)
    assert_customers_stored(
        sandbox, [magento_customer(r) | {"phone": phone(r["_address_telephone"])} for r in rows(path) if r["email"]]
    )
    assert customer(sandbox, "ewa.nowak@example.com")["dateOfBirth"] == "1979-03-02T00:00:00.000Z"
    assert [r["_address_city"] for r in run.rows("left_out.csv")] == ["Gniezno", "Wrocław"]


# -- Magento: the order tables ---------------------------------------------------------------------


def magento_orders(items: Path, orders: Path) -> dict[str, dict[str, Any]]:
    """The orders two order tables hold, as the platform must hold them: a parent item is the product,
    its child items none; a status of the shop's own read by its state."""
    heads = {r["entity_id"]: r for r in rows(orders)}
    found: dict[str, dict[str, Any]] = {}
    for item in rows(items):
        head = heads[item["order_id"]]
        order = found.setdefault(
            head["increment_id"],
            present(
                {
                    "id": head["increment_id"],
                    "date": head["created_at"].replace(" ", "T") + ".000Z",
                    "timeZone": "UTC",
                    "status": MAGENTO_STATUS.get(head["status"]) or MAGENTO_STATE[head["state"]],
                    "currency": head["order_currency_code"],
                    "totalValue": float(head["grand_total"]),
                    "returnsValue": float(head["total_refunded"]) if head["total_refunded"] else None,
                    "customer": {"email": head["customer_email"]},
                }
            )
            | {"products": []},
        )
        if not item["parent_item_id"]:
            order["products"].append(
                {
                    "id": item["sku"],
                    "name": item["name"],
                    "price": float(item["price_incl_tax"]),
                    "quantity": int(float(item["qty_ordered"])),
                    "returned": int(float(item["qty_refunded"])),
                }
            )
    return found


def whole(quantity: str) -> bool:
    return float(quantity).is_integer()


def assert_orders_stored(sandbox, expected: dict[str, dict[str, Any]], kept: Callable[[str], bool]) -> None:
    for order_id, order in expected.items():
        assert stored_order(sandbox, order_id) == (order if kept(order_id) else None), order_id


def test_magento_2_order_tables_every_order_as_the_tables_say(sandbox, tmp_path):
    files = [MAGENTO / "sales_order_item.tsv", MAGENTO / "sales_order.tsv"]
    run = run_preset(sandbox, tmp_path, "orders", files, "magento", 1)
    assert run.summary["read_as"] == "Magento 2 order tables (sales_order_item, sales_order)"
    fractional = {r["order_id"] for r in rows(files[0]) if not whole(r["qty_ordered"])}  # 2.5 m of rope
    heads = {r["increment_id"]: r["entity_id"] for r in rows(files[1])}
    assert_orders_stored(sandbox, magento_orders(*files), lambda o: heads[o] not in fractional)


def test_magento_1_order_tables_every_order_as_the_tables_say(sandbox, tmp_path):
    files = [MAGENTO / "sales_flat_order_item.tsv", MAGENTO / "sales_flat_order.tsv"]
    run = run_preset(sandbox, tmp_path, "orders", files, "magento", 0)
    assert run.summary["read_as"] == "Magento 1 order tables (sales_flat_order_item, sales_flat_order)"
    assert (run.summary["rows_read"], run.summary["records_accepted"]) == (6, 4)
    expected = magento_orders(*files)
    assert_orders_stored(sandbox, expected, lambda o: True)
    statuses = {o: stored_order(sandbox, o)["status"] for o in expected}
    assert statuses == {
        "100000001": "completed",
        "100000002": "canceled",
        "100000003": "placed",
        "100000004": "paid",
    }  # ready_for_pickup: the shop's own status, in state processing
    assert stored_order(sandbox, "100000001")["products"][0]["name"] == "Drill bit set &mdash; 21 pcs"  # as stored


def test_a_magento_rejected_csv_imports_again_its_own_columns_dropped_magentos_kept(sandbox, tmp_path):
    """The reader drops the report's columns (_error, _field, _row, ...) and keeps Magento's (_website)."""
    first = run_preset(
        sandbox, tmp_path / "first", "customers", [MAGENTO / "customer_20241120_093015.csv"], "magento", 1
    )
    fixed = tmp_path / "rejected.csv"
    fixed.write_text(
        (first.report_dir / "rejected.csv").read_text(encoding="utf-8").replace("0000-00-00", "1979-05-06"),
        encoding="utf-8",
    )
    again = run_preset(sandbox, tmp_path / "again", "customers", [fixed], "magento", 0)
    assert again.summary["read_as"] == "Magento 2 Customers Main File export (Magento Open Source)"
    assert customer(sandbox, "malgorzata.wojcik@example.pl")["dateOfBirth"] == "1979-05-06T00:00:00.000Z"
