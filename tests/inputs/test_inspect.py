"""inspect_file: what a file holds; suggest_mapping: a mapping skeleton that parses and guesses well."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from importer.errors import UsageError
from importer.inputs.files import ReadOptions
from importer.inputs.profile import (
    ColumnProfile,
    Inspection,
    inspect_file,
    render_inspection,
    suggest_mapping,
)
from tests.support import DATA

FORMATS = DATA / "formats"


def columns(ins: Inspection) -> dict[str, ColumnProfile]:
    return {c.name: c for c in ins.columns}


def test_types_null_shares_and_samples():
    ins = inspect_file(FORMATS / "crm_customers.csv")
    assert (ins.format, ins.encoding, ins.delimiter, ins.rows, ins.unreadable_rows) == ("csv", "utf-8", ",", 4, 0)
    cols = columns(ins)
    assert {name: c.type for name, c in cols.items()} == {
        "Customer ID": "integer",
        "Email Address": "text",
        "First Name": "text",
        "Last Name": "text",
        "Phone": "text",
        "Birthday": "date",
        "Gender": "text",
        "VIP": "boolean",
        "Points": "integer",
        "Balance": "number",
    }
    assert {name: c.null_share for name, c in cols.items() if c.null_share} == {
        "Phone": 0.5,
        "Birthday": 0.25,
        "Gender": 0.25,
        "Points": 0.25,
    }
    assert cols["Gender"].samples == ("F", "M")
    assert cols["Customer ID"].samples == ("17", "18", "19")
    assert cols["Last Name"].samples == ("Lee", "Ode", "Young")  # at most 3 of the 4 distinct values
    assert cols["Birthday"].format == "%Y-%m-%d"


def test_long_samples_are_cut_to_40_characters(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("name\n" + "Ray-Lopez-Fitzgerald-Montgomery-Smithson-Wright\n")
    (sample,) = inspect_file(path).columns[0].samples
    assert sample == "Ray-Lopez-Fitzgerald-Montgomery-Smithso…" and len(sample) == 40


def test_regional_formats_are_recognised():
    cols = columns(inspect_file(FORMATS / "cp1250_polish.csv"))
    assert (cols["Saldo"].type, cols["Saldo"].decimal, cols["Saldo"].thousands) == ("number", ",", None)
    assert (cols["Data urodzenia"].type, cols["Data urodzenia"].format) == ("date", "%d.%m.%Y")
    cols = columns(inspect_file(FORMATS / "semicolon_decimal_comma.csv"))
    assert (cols["price"].decimal, cols["price"].thousands) == (",", ".")
    cols = columns(inspect_file(FORMATS / "us_orders.csv"))
    assert (cols["Order Date"].type, cols["Order Date"].format) == ("datetime", "%m/%d/%Y %H:%M")
    cols = columns(inspect_file(FORMATS / "shopify_orders.csv"))
    assert (cols["Created at"].type, cols["Created at"].format) == ("datetime", "%Y-%m-%d %H:%M:%S %z")
    assert cols["Phone"].type == "text"  # "+48600100200" is a phone number, not an integer


def test_unreadable_rows_are_counted_and_left_out_of_the_profiles():
    ins = inspect_file(FORMATS / "unterminated_quote.csv")
    assert (ins.rows, ins.unreadable_rows) == (5, 3)
    email = columns(ins)["email"]
    assert email.null_share == 0.0 and email.samples == ("b@example.com", "c@example.com")


def test_xlsx_and_options():
    ins = inspect_file(FORMATS / "people.xlsx")
    assert (ins.format, ins.encoding, ins.delimiter, ins.rows) == ("xlsx", None, None, 4)
    assert columns(ins)["dateOfBirth"].type == "date" and columns(ins)["vip"].type == "boolean"
    ins = inspect_file(FORMATS / "cp1250_polish.csv", ReadOptions(encoding="cp1250", delimiter=";"))
    assert ins.columns[1].name == "Imię"


def test_render_inspection():
    text = render_inspection(inspect_file(FORMATS / "cp1250_polish.csv"))
    lines = text.splitlines()
    assert lines[0].endswith('cp1250_polish.csv: format csv, encoding cp1250, delimiter ";", 4 rows')
    assert lines[2].split() == ["column", "type", "nulls", "samples"]
    assert "Saldo" in lines[7] and "number (decimal comma)" in lines[7] and "1234,50 | 99,99 | 0,00" in lines[7]
    assert "date (%d.%m.%Y)" in lines[8]
    assert "(3 unreadable)" in render_inspection(inspect_file(FORMATS / "unterminated_quote.csv"))
    assert "delimiter tab" in render_inspection(inspect_file(FORMATS / "tab.tsv"))


def test_shopify_orders_mapping():
    mapping = tomllib.loads(suggest_mapping(inspect_file(FORMATS / "shopify_orders.csv"), "orders"))
    assert mapping["kind"] == "orders"
    assert mapping["sources"]["main"] == {"path": "shopify_orders.csv", "encoding": "utf-8", "delimiter": ","}
    assert mapping["fields"] == {
        "id": "Name",
        "date": {"column": "Created at", "format": "%Y-%m-%d %H:%M:%S %z"},
        "totalValue": "Total",
        "currency": "Currency",
        "status": "Financial Status",
        "customer.email": "Email",
        "customer.phone": "Phone",
        "product.id": "Lineitem sku",
        "product.name": "Lineitem name",
        "product.price": "Lineitem price",
        "product.quantity": "Lineitem quantity",
    }


def test_skeleton_comments_unmatched_fields_and_lists_the_other_columns():
    text = suggest_mapping(inspect_file(FORMATS / "shopify_orders.csv"), "orders")
    assert '# timeZone = ""  # no column found' in text
    assert '# "product.category" = ""  # no column found' in text
    assert '# "Paid at", "Subtotal", "Notes"' in text
    assert 'id = "Name"  # e.g. "#1001", "#1002"' in text


def test_us_dates_and_decimal_commas_get_conversions():
    fields = tomllib.loads(suggest_mapping(inspect_file(FORMATS / "us_orders.csv"), "orders"))["fields"]
    assert fields["date"] == {"column": "Order Date", "format": "%m/%d/%Y %H:%M"}
    assert (fields["id"], fields["customer.email"], fields["totalValue"], fields["product.id"]) == (
        "Order ID",
        "Customer Email",
        "Amount",
        "SKU",
    )
    fields = tomllib.loads(suggest_mapping(inspect_file(FORMATS / "semicolon_decimal_comma.csv"), "orders"))["fields"]
    assert fields["product.price"] == {"column": "price", "number": {"decimal": ",", "thousands": "."}}
    assert fields["id"] == "order_id" and fields["product.quantity"] == "quantity"


def test_polish_customers_mapping():
    mapping = tomllib.loads(suggest_mapping(inspect_file(FORMATS / "cp1250_polish.csv"), "customers"))
    assert mapping["sources"]["main"] == {"path": "cp1250_polish.csv", "encoding": "cp1250", "delimiter": ";"}
    assert mapping["fields"] == {
        "email": "E-mail",
        "firstName": "Imię",
        "lastName": "Nazwisko",
        "dateOfBirth": {"column": "Data urodzenia", "format": "%d.%m.%Y"},
    }


def test_iso_dates_need_no_format_and_xlsx_has_no_text_options():
    mapping = tomllib.loads(suggest_mapping(inspect_file(FORMATS / "crm_customers.csv"), "customers"))
    assert mapping["fields"]["dateOfBirth"] == "Birthday" and mapping["fields"]["crmId"] == "Customer ID"
    mapping = tomllib.loads(suggest_mapping(inspect_file(FORMATS / "people.xlsx"), "customers"))
    assert mapping["sources"]["main"] == {"path": "people.xlsx"}


def skeleton(*names: str, delimiter: str = ",") -> Inspection:
    cols = tuple(ColumnProfile(name, "text", 0.0, ()) for name in names)
    return Inspection(Path("export.csv"), "csv", "utf-8", delimiter, 1, 0, cols)


@pytest.mark.parametrize(
    ("kind", "column", "field"),
    [
        ("customers", "E-mail", "email"),
        ("customers", "Email Address", "email"),
        ("customers", "customer_email", "email"),
        ("orders", "E-mail", "customer.email"),
        ("orders", "customer.email", "customer.email"),
        ("orders", "Order ID", "id"),
        ("orders", "Name", "id"),
        ("orders", "order_number", "id"),
        ("orders", "Lineitem name", "product.name"),
        ("orders", "Lineitem quantity", "product.quantity"),
        ("orders", "Lineitem price", "product.price"),
        ("orders", "Created at", "date"),
        ("orders", "Order Date", "date"),
        ("orders", "Total", "totalValue"),
        ("orders", "Currency", "currency"),
        ("orders", "Financial Status", "status"),
        ("orders", "Status", "status"),
        ("customers", "Phone", "phone"),
        ("orders", "Phone", "customer.phone"),
        ("customers", "First Name", "firstName"),
        ("customers", "Last Name", "lastName"),
        ("orders", "SKU", "product.id"),
        ("customers", "Imię", "firstName"),
        ("customers", "Płeć", "gender"),
        ("customers", "Mobile Phone Number", "phone"),
        ("orders", "Image URL", "product.imageUrl"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_field_guesses_by_column_name(kind, column, field):
    fields = tomllib.loads(suggest_mapping(skeleton(column, "Something else"), kind))["fields"]
    assert fields == {field: column}


def test_the_stronger_name_wins_and_columns_are_used_once():
    fields = tomllib.loads(
        suggest_mapping(skeleton("Fulfillment Status", "Financial Status", "Subtotal", "Total"), "orders")
    )["fields"]
    assert fields == {"status": "Financial Status", "totalValue": "Total"}


def test_awkward_names_still_make_valid_toml():
    ins = skeleton('He said "hi" \\ \x7f', "E-mail\tx", delimiter="\t")
    mapping = tomllib.loads(suggest_mapping(ins, "customers"))
    assert mapping["sources"]["main"]["delimiter"] == "\t"


def test_unknown_kind_is_a_usage_error():
    with pytest.raises(UsageError, match="Unknown kind"):
        suggest_mapping(skeleton("a"), "products")


def test_a_date_column_is_suggested_by_its_type_when_no_name_matches(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("Ref,When,Amount\nA1,11/03/2024 09:15 AM,5\nA2,11/04/2024 11:02 PM,6\n", encoding="utf-8")
    fields = tomllib.loads(suggest_mapping(inspect_file(path), "orders"))["fields"]
    assert fields["date"] == {"column": "When", "format": "%m/%d/%Y %I:%M %p"}


def test_xlsx_money_in_number_cells_is_a_number_not_an_integer():
    """A spreadsheet writes 25.00 as 25: a price column of mostly whole amounts and one 19.9 is a number
    column (an integer field would refuse 19.9); ids stay integers."""
    cols = columns(inspect_file(FORMATS / "shop_sheet.xlsx"))
    assert cols["Total Spent"].type == "number" and cols["Orders"].type == "integer"
    assert cols["Customer ID"].type == "integer" and cols["Customer ID"].samples[0] == "7044811407599"
