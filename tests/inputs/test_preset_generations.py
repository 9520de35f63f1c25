"""Every generation of Shopify's exports (tests/data/shopify, written by its make_fixtures.py) imported with
``--preset shopify`` into the sandbox, and every field the platform stores compared with the file.

The expected values are read from the CSV here, independently of the importer: the apostrophe a
spreadsheet keeps ids as text with is gone, phones lose their separators, dates become UTC, a line
without a SKU has its name as product id, the lines that are no products are left out and listed.
"""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from importer.inputs.presets import choose, file_header, generations, hint, preset_names
from importer.sandbox import SandboxServer
from tests.support import DATA, assert_accounted, get, run_cli, sandbox_env

SHOPIFY = DATA / "shopify"
CUSTOMER_FILES = {  # file: (the generation it is read as, the preset file that reads it)
    "customers_A_oldest.csv": (
        "Shopify customers export, oldest format (Accepts Marketing, no Customer ID)",
        "shopify-customers-2022.toml",
    ),
    "customers_B_2022.csv": (
        "Shopify customers export, 2022 format (Accepts Email and SMS Marketing, no Customer ID)",
        "shopify-customers-2022.toml",
    ),
    "customers_B_2022_without_note.csv": (
        "Shopify customers export, 2022 format without Note",
        "shopify-customers-2022.toml",
    ),
    "customers_C_customer_id.csv": (
        "Shopify customers export with Customer ID, plain address columns",
        "shopify-customers.toml",
    ),
    "customers_D_2023.csv": ("Shopify customers export, 2023+ format", "shopify-customers.toml"),
    "customers_D_2023.xlsx": ("Shopify customers export, 2023+ format", "shopify-customers.toml"),
    "customers_D_without_phone.csv": ("Shopify customers export, 2023+ format", "shopify-customers.toml"),
}
ORDER_FILES = {  # file: (the generation, the status each order must have, the lines left out and why)
    "orders_1_oldest.csv": (
        "Shopify orders export, oldest format (no Employee, Location, Device ID, Payment ID)",
        {"#2001": "completed", "#2002": "canceled", "#2003": "placed", "#2004": "canceled"},
        {("#2003", "Tip"): "a tip, not a product"},
    ),
    "orders_2_employee_payment_id.csv": (
        "Shopify orders export with Employee, Location, Device ID and Payment ID",
        {"#3001": "completed", "#3002": "completed", "#3003": "placed"},
        {("#3001", "Route Package Protection"): "shipping protection, not a product"},
    ),
    "orders_3_payment_references.csv": (
        "Shopify orders export with Payment References (newest format)",
        {"#4001": "paid", "#4003": "canceled", "#4004": "canceled"},
        {("#4002", "Gift Card - 100 zł"): "a gift card purchase, not a product"},
    ),
}
PRODUCT_ID_MAX = 128


def rows_of(path: Path) -> list[dict[str, str]]:
    """The file's rows as written (csv module; the xlsx's twin is the CSV of its generation), blank ones out."""
    if path.suffix == ".xlsx":
        path = path.with_suffix(".csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if any(v.strip() for v in row.values())]


def text(value: str | None) -> str | None:
    """A cell as the platform should hold it: the spreadsheet's leading apostrophe gone, blank is absent."""
    value = (value or "").strip().removeprefix("'")
    return value or None


def phone(value: str | None) -> str | None:
    found = text(value)
    return re.sub(r"[\s\-.()]", "", found) if found else None


def utc(created_at: str) -> str:
    moment = datetime.strptime(created_at, "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def product_id(row: dict[str, str]) -> str:
    """Lineitem sku, else the name; a name longer than the field: its start, ~, 8 hex of its SHA-256."""
    value = text(row["Lineitem sku"]) or text(row["Lineitem name"]) or ""
    if len(value) <= PRODUCT_ID_MAX:
        return value
    return value[: PRODUCT_ID_MAX - 9] + "~" + hashlib.sha256(value.encode()).hexdigest()[:8]


def without_none(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


def import_file(server: SandboxServer, report: Path, command: str, path: Path, *more: str):
    run = run_cli([command, str(path), "--preset", "shopify", *more], env=sandbox_env(server), report_dir=report)
    assert_accounted(run.summary)
    return run


# -- customers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in CUSTOMER_FILES if "Customer ID" not in file_header(SHOPIFY / n)])
def test_customers_before_customer_id_are_imported_by_email(sandbox, tmp_path, name):
    generation, preset_file = CUSTOMER_FILES[name]
    run = import_file(sandbox, tmp_path / "r", "customers", SHOPIFY / name)
    assert run.exit_code == 0, run.stderr
    assert run.summary["read_as"] == generation and f"read as:   {generation}" in run.stdout
    assert choose("shopify", "customers", file_header(SHOPIFY / name)).generation.path.name == preset_file
    rows = rows_of(SHOPIFY / name)
    assert run.summary["rows_accepted"] == len(rows)
    for row in rows:
        stored = get(sandbox, f"/customers/email/{row['Email']}").json()["data"]
        expected = without_none(
            {
                "email": text(row["Email"]),
                "phone": phone(row.get("Phone")),
                "firstName": text(row["First Name"]),
                "lastName": text(row["Last Name"]),
            }
        )
        assert {k: stored.get(k) for k in (*expected, "crmId")} == {**expected, "crmId": None}


@pytest.mark.parametrize("name", [n for n in CUSTOMER_FILES if "Customer ID" in file_header(SHOPIFY / n)])
def test_customers_with_customer_id_are_stored_without_the_apostrophe(crm, tmp_path, name):
    generation, preset_file = CUSTOMER_FILES[name]
    run = import_file(crm, tmp_path / "r", "customers", SHOPIFY / name, "--match-by", "CrmId")
    assert run.exit_code == 0, run.stderr
    assert run.summary["read_as"] == generation
    assert choose("shopify", "customers", file_header(SHOPIFY / name)).generation.path.name == preset_file
    rows = rows_of(SHOPIFY / name)
    assert run.summary["rows_accepted"] == len(rows)
    has_phone = "Phone" in file_header(SHOPIFY / name)
    for row in rows:
        crm_id = text(row["Customer ID"])
        assert crm_id is not None and crm_id.isdigit()
        stored = get(crm, f"/customers/crmId/{crm_id}").json()["data"]
        expected = {
            "crmId": crm_id,
            "email": text(row["Email"]),
            "phone": phone(row["Phone"]) if has_phone else None,
            "firstName": text(row["First Name"]),
            "lastName": text(row["Last Name"]),
        }
        assert {k: stored.get(k) for k in expected} == expected
        assert not any(str(v).startswith("'") for v in stored.values())


def test_a_customers_export_without_phone_imports_with_a_warning(crm, tmp_path):
    run = import_file(
        crm, tmp_path / "r", "customers", SHOPIFY / "customers_D_without_phone.csv", "--match-by", "CrmId"
    )
    assert run.exit_code == 0, run.stderr
    [warning] = [w for w in run.summary["warnings"] if "Phone" in w]
    assert "phone" in warning and "optional" in warning
    assert f"Warning: {warning}" in run.stderr


def test_a_customers_file_with_no_id_column_stops_naming_the_columns_that_would_do(tmp_path):
    path = SHOPIFY / "customers_no_id_column.csv"
    run = run_cli(["customers", str(path), "--preset", "shopify", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    message = " ".join(run.stderr.split())
    assert "no column that identifies a customer" in message
    assert all(column in message for column in ("Customer ID", "Email", "Phone"))
    assert "Read as: Shopify customers export, 2023+ format (the closest: the header lacks Customer ID)" in message
    assert "Traceback" not in run.stderr


# -- orders ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ORDER_FILES))
def test_orders_of_every_generation_are_stored_as_the_file_says(sandbox, tmp_path, name):
    generation, statuses, left_out = ORDER_FILES[name]
    run = import_file(sandbox, tmp_path / "r", "orders", SHOPIFY / name)
    assert run.exit_code == 0, run.stderr
    assert run.summary["read_as"] == generation and f"read as:   {generation}" in run.stdout
    assert f"<th>read as</th><td>{generation}</td>" in (run.report_dir / "report.html").read_text()
    lines: dict[str, list[dict[str, str]]] = {}
    for row in rows_of(SHOPIFY / name):
        lines.setdefault(row["Name"], []).append(row)
    assert run.summary["rows_left_out"] == len(left_out)
    listed = {(r["Name"], r["Lineitem name"]): r["_error"] for r in run.rows("left_out.csv")}
    assert listed == left_out
    for order_id, order_lines in lines.items():
        stored = get(sandbox, f"/orders/{order_id.replace('#', '%23')}")
        if order_id not in statuses:  # every line left out: the order too, not sent, not rejected
            assert stored.status_code == 404 and all((order_id, r["Lineitem name"]) in left_out for r in order_lines)
            continue
        first = order_lines[0]
        products = [r for r in order_lines if (order_id, r["Lineitem name"]) not in left_out]
        expected = {
            "id": order_id,
            "date": utc(first["Created at"]),
            "status": statuses[order_id],
            "currency": first["Currency"],
            "totalValue": float(first["Total"]),
            "returnsValue": float(first["Refunded Amount"]),
            "customer": without_none({"email": text(first["Email"]), "phone": phone(first["Phone"])}),
            "products": [
                {
                    "id": product_id(r),
                    "name": r["Lineitem name"],
                    "price": float(r["Lineitem price"]),
                    "quantity": int(r["Lineitem quantity"]),
                }
                for r in products
            ],
        }
        assert {k: stored.json()["data"].get(k) for k in expected} == expected


def test_statuses_follow_cancelled_at_and_fulfilment_not_the_payment_alone(sandbox, tmp_path):
    import_file(sandbox, tmp_path / "r", "orders", SHOPIFY / "orders_3_payment_references.csv")
    cancelled = get(sandbox, "/orders/%234004").json()["data"]
    assert cancelled["status"] == "canceled"  # Financial Status paid, Cancelled at set
    import_file(sandbox, tmp_path / "r2", "orders", SHOPIFY / "orders_1_oldest.csv")
    assert get(sandbox, "/orders/%232001").json()["data"]["status"] == "completed"  # paid and fulfilled
    skuless = get(sandbox, "/orders/%232003").json()["data"]
    assert [p["id"] for p in skuless["products"]] == ["Grawerowanie na zamówienie"]  # the tip left out


def test_a_product_name_too_long_for_an_id_gets_a_stable_short_form(sandbox, tmp_path):
    import_file(sandbox, tmp_path / "r", "orders", SHOPIFY / "orders_2_employee_payment_id.csv")
    [product] = get(sandbox, "/orders/%233003").json()["data"]["products"]
    assert len(product["name"]) > PRODUCT_ID_MAX and len(product["id"]) == PRODUCT_ID_MAX
    assert product["id"].startswith(product["name"][: PRODUCT_ID_MAX - 9]) and product["id"][-9] == "~"


# -- recognition ---------------------------------------------------------------------------------------


def test_a_shopify_orders_export_without_preset_names_the_preset(tmp_path):
    run = run_cli(["orders", str(SHOPIFY / "orders_1_oldest.csv"), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert "This looks like a Shopify orders export: add --preset shopify." in run.stderr


def test_a_shopify_export_given_to_the_other_command_names_the_right_one(tmp_path):
    run = run_cli(
        ["customers", str(SHOPIFY / "orders_3_payment_references.csv"), "--dry-run"], report_dir=tmp_path / "r"
    )
    assert (
        "This looks like a Shopify orders export, not customers: import it with ecdp-import orders "
        "--preset shopify." in run.stderr
    )


def test_inspect_names_the_preset_of_a_known_export():
    for name, kind in (("customers_A_oldest.csv", "customers"), ("orders_2_employee_payment_id.csv", "orders")):
        run = run_cli(["inspect", str(SHOPIFY / name)], imports=False)
        assert run.exit_code == 0, run.stderr
        assert run.stdout.rstrip().endswith(f"This looks like a Shopify {kind} export: add --preset shopify.")
    plain = run_cli(["inspect", str(DATA / "formats" / "utf8_bom.csv")], imports=False)
    assert "looks like" not in plain.stdout


def test_inspect_with_a_preset_says_which_generation_it_reads():
    run = run_cli(
        ["inspect", str(SHOPIFY / "customers_B_2022_without_note.csv"), "--preset", "shopify", "--kind", "customers"],
        imports=False,
    )
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith("read as: Shopify customers export, 2022 format without Note\n")


def test_every_generation_is_recognised_by_its_own_header_only():
    """Each fixture fits exactly one generation of its kind (the generations exclude each other), and
    recognition without --preset finds it."""
    for name, (generation, _) in CUSTOMER_FILES.items():
        header = set(file_header(SHOPIFY / name))
        assert [g.name for g in generations("shopify", "customers") if g.fits(header)] == [generation]
    for name, (generation, _, _) in ORDER_FILES.items():
        header = set(file_header(SHOPIFY / name))
        assert [g.name for g in generations("shopify", "orders") if g.fits(header)] == [generation]
        assert hint(header) == "This looks like a Shopify orders export: add --preset shopify."
    assert preset_names() == ["magento", "shopify", "woocommerce"]


def test_the_library_api_reads_a_generation_with_its_preset_option(sandbox, tmp_path):
    import importer

    api = importer.ApiSettings(url=sandbox.url, key=importer.ApiKey(sandbox.api_key))
    result = importer.import_customers(
        SHOPIFY / "customers_A_oldest.csv",
        api=api,
        run=importer.RunOptions(report_dir=tmp_path / "r", preset="shopify"),
    )
    assert result.summary.exit_code == 0
    assert result.summary.read_as == CUSTOMER_FILES["customers_A_oldest.csv"][0]
    assert get(sandbox, "/customers/email/sofia.lind@example.com").json()["data"]["phone"] == "+46701234567"
