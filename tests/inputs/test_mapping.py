"""Mapping files: exports we did not design, imported without editing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import (
    DATA,
    assert_accounted,
    customer,
    get,
    run_cli,
    sandbox_env,
    write_csv,
)

MARKETPLACE = DATA / "marketplace"


def mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_marketplace_dump_in_four_files_becomes_valid_orders(sandbox, tmp_path):
    run = run_cli(
        [
            "orders",
            "--mapping",
            str(MARKETPLACE / "mapping.toml"),
            "--max-rejects",
            "100%",
            "--no-preflight",
        ],  # attributes the sandbox's settings do not define
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1, run.stderr  # one order has a status word the mapping does not know
    assert_accounted(run.summary)
    assert (run.summary["rows_read"], run.summary["rows_accepted"], run.summary["records_accepted"]) == (5, 4, 3)
    [rejected] = run.rejected
    assert (
        rejected["Order No"] == "MP-5004"
        and rejected["_error"] == "status: 'On Hold' is not in the mapping's value map"
    )
    order = get(sandbox, "/orders/MP-5001").json()["data"]
    # 09:15 AM in New York after DST ended (14:15Z), sent as New York's clock time with its offset
    assert (order["date"], order["timeZone"]) == ("2024-11-03T09:15:00.000-05:00", "Eastern Standard Time")
    assert (order["status"], order["currency"], order["totalValue"]) == ("completed", "USD", 1249.9)
    assert order["customer"] == {"email": "jane.doe@example.com", "phone": "5551234567"}
    assert [p["name"] for p in order["products"]] == ['Vizio Smart TV 55"', "Amazon Basics HDMI cable, 2 m"]
    assert order["products"][0]["productAttributes"] == [{"name": "Color", "value": "black"}]
    assert order["orderAttributes"] == [{"name": "Sales Channel", "value": "web"}]
    assert get(sandbox, "/orders/MP-5002").json()["data"]["status"] == "canceled"
    assert "Columns the mapping neither uses" not in run.stderr  # Line is ignored explicitly


def test_customers_with_renamed_columns_value_maps_day_first_dates_and_prefixed_attributes(sandbox, tmp_path):
    source = write_csv(
        tmp_path / "klienci.csv",
        ["E-mail", "Imię", "Płeć", "Urodzony", "x_tier", "x_source", "note"],
        [
            ["ANNA@example.com", "Anna", "K", "17.05.1990", "gold", "fb", "vip"],
            ["jan@example.com", "Jan", "M", "01.02.1985", "", "", ""],
            ["ola@example.com", "Ola", "?", "31.02.1990", "", "", ""],
        ],
    )
    mapping = mapping_file(
        tmp_path,
        """
kind = "customers"
ignore = ["note"]
[fields]
email = "E-mail"
firstName = "Imię"
gender = { column = "Płeć", map = { K = "Female", M = "Male" }, default = "NotSpecified" }
dateOfBirth = { column = "Urodzony", dayfirst = true }
[attributes]
customer = { prefix = "x_" }
""",
    )
    run = run_cli(
        [
            "customers",
            str(source),
            "--mapping",
            str(mapping),
            "--max-rejects",
            "100%",
            "--no-preflight",
        ],  # tier and source are not in the sandbox's settings
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1
    assert [r["E-mail"] for r in run.rejected] == ["ola@example.com"]  # 31.02 is no date
    anna = customer(sandbox, "anna@example.com")
    assert (anna["gender"], anna["dateOfBirth"][:10]) == ("Female", "1990-05-17")
    assert anna["customAttributes"] == [{"name": "source", "value": "fb"}, {"name": "tier", "value": "gold"}]
    assert customer(sandbox, "jan@example.com")["gender"] == "Male"


def test_constants_templates_and_decimal_commas(sandbox, tmp_path):
    source = write_csv(
        tmp_path / "z.csv",
        ["nr", "data", "kwota", "sku", "nazwa", "wariant", "cena", "ilosc", "mail"],
        [["Z/1", "2024-11-06 10:00", "1 234,50 zł", "S1", "Kubek", "biały", "1 234,50", "1", "a@example.com"]],
    )
    mapping = mapping_file(
        tmp_path,
        """
kind = "orders"
[fields]
id = "nr"
date = { column = "data", timezone = "Europe/Warsaw" }
totalValue = { column = "kwota", number = { decimal = ",", thousands = " " } }
currency = { value = "PLN" }
"customer.email" = "mail"
"product.id" = "sku"
"product.name" = { template = "{nazwa} ({wariant})" }
"product.price" = { column = "cena", number = { decimal = ",", thousands = " " } }
"product.quantity" = "ilosc"
""",
    )
    run = run_cli(
        ["orders", str(source), "--mapping", str(mapping)], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 0, run.stdout + run.stderr
    order = get(sandbox, "/orders/Z%2F1").json()["data"]
    assert (order["totalValue"], order["currency"], order["date"]) == (1234.5, "PLN", "2024-11-06T09:00:00.000Z")
    assert order["products"][0]["name"] == "Kubek (biały)"


def test_every_mapping_problem_is_listed_before_anything_is_sent(sandbox, tmp_path):
    mapping = mapping_file(
        tmp_path,
        """
kind = "orders"
colour = "red"
[sources.main]
nul = "NULL"
[sources.extra]
path = "extra.csv"
[fields]
id = { column = "a", value = "b" }
date = { column = "d", format = "dd.mm.yyyy", timezone = "Mars/Olympus" }
shoeSize = "s"
""",
    )
    run = run_cli(["orders", "x.csv", "--mapping", str(mapping)], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 2 and sandbox.stats.total == 0
    for problem in (
        "unknown setting 'colour'",
        "sources.extra: a joined source needs join",
        "sources.main: unknown setting 'nul'",
        "fields.id: give exactly one of column, columns, value, template, rules",
        "has no strptime directive",
        "unknown time zone 'Mars/Olympus'",
        "fields.shoeSize: not a orders field",
    ):
        assert problem in run.stderr, problem


DB_LINES = ["item_id", "order_id", "parent_item_id", "sku", "qty_ordered", "qty_refunded"]
DB_ORDERS = ["entity_id", "increment_id", "created_at", "grand_total", "total_refunded", "customer_email"]
DB_MAPPING = """
kind = "orders"
ignore = ["item_id"]
[sources.lines]
null = "NULL"
[sources.orders]
join = { on = "order_id", to = "entity_id" }
null = "NULL"
[fields]
id = "orders.increment_id"
date = "orders.created_at"
totalValue = "orders.grand_total"
returnsValue = { column = "orders.total_refunded", number = {} }
"customer.email" = "orders.customer_email"
"product.id" = { column = "sku", unless = "parent_item_id" }
"product.name" = { column = "sku", unless = "parent_item_id" }
"product.price" = { value = "10", unless = "parent_item_id" }
"product.quantity" = { column = "qty_ordered", number = {}, unless = "parent_item_id" }
"product.returned" = { column = "qty_refunded", number = {}, unless = "parent_item_id" }
"""


def test_database_tables_as_files_nulls_child_lines_and_whole_quantities(sandbox, tmp_path):
    """Joined sources without a path take FILEs in order; NULL cells are empty; a line with a parent
    carries no product; "2.0000" is the quantity 2, "1.5000" is rejected."""
    lines = write_csv(
        tmp_path / "lines.tsv",
        DB_LINES,
        [
            ["1", "7", "NULL", "SHIRT-M", "2.0000", "1.0000"],
            ["2", "7", "1", "SHIRT-M", "2.0000", "1.0000"],  # the configurable's child: the same shirt again
            ["3", "8", "NULL", "ROPE", "1.5000", "0.0000"],
        ],
    )
    orders = write_csv(
        tmp_path / "orders.tsv",
        DB_ORDERS,
        [
            ["7", "000000007", "2024-11-06 09:10:00", "59.9000", "NULL", "a@example.com"],
            ["8", "000000008", "2024-11-07 10:00:00", "4.5000", "NULL", "b@example.com"],
        ],
    )
    mapping = mapping_file(tmp_path, DB_MAPPING)
    run = run_cli(
        ["orders", str(lines), str(orders), "--mapping", str(mapping), "--max-rejects", "1"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1, run.stderr
    assert_accounted(run.summary)
    assert (run.summary["rows_accepted"], run.summary["rows_rejected"]) == (2, 1)
    assert "neither uses nor ignores" not in run.stderr  # order_id is used by the join, parent_item_id by unless
    order = get(sandbox, "/orders/000000007").json()["data"]
    assert [(p["id"], p["quantity"], p["returned"]) for p in order["products"]] == [("SHIRT-M", 2, 1)]
    assert "returnsValue" not in order  # NULL is empty, not the text NULL
    [rejected] = run.rejected
    assert (rejected["item_id"], rejected["_field"]) == ("3", "product.quantity") and "1.5000" in rejected["_error"]


def test_the_files_of_sources_without_a_path_must_all_be_given_in_order(tmp_path):
    lines = write_csv(tmp_path / "lines.csv", DB_LINES, [["1", "7", "", "SHIRT-M", "1", "0"]])
    mapping = mapping_file(tmp_path, DB_MAPPING)
    run = run_cli(["orders", str(lines), "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert "reads 2 files, in this order: lines, orders; 1 given" in run.stderr
    assert f"ecdp-import orders lines.csv orders.csv --mapping {mapping}" in run.stderr
    swapped = write_csv(tmp_path / "orders.csv", DB_ORDERS, [["7", "7", "2024-11-06", "1", "", "a@example.com"]])
    run = run_cli(
        ["orders", str(swapped), str(lines), "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r2"
    )
    assert run.exit_code == 2 and "(FILEs are read as: lines, orders)" in run.stderr


def test_unknown_columns_in_the_mapping_are_found_against_the_file(sandbox, tmp_path):
    source = write_csv(tmp_path / "c.csv", ["mail", "name"], [["a@example.com", "A"]])
    mapping = mapping_file(
        tmp_path, 'kind = "customers"\n[fields]\nemail = "Email"\nfirstName = { template = "{first} {name}" }\n'
    )
    run = run_cli(
        ["customers", str(source), "--mapping", str(mapping)], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 2
    assert "the file has no column that identifies a customer: Email" in run.stderr
    assert "fields.firstName: no column 'first'" in run.stderr


@pytest.mark.parametrize(("command", "kind"), [("customers", "orders"), ("orders", "customers")])
def test_a_mapping_for_the_other_command_is_refused(sandbox, tmp_path, command, kind):
    mapping = mapping_file(tmp_path, f'kind = "{kind}"\n[fields]\n')
    source = write_csv(tmp_path / "c.csv", ["email"], [["a@example.com"]])
    run = run_cli(
        [command, str(source), "--mapping", str(mapping)], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 2 and f"is for {kind}" in run.stderr


def test_toml_scoping_mistake_gets_a_helpful_message(tmp_path):
    mapping = mapping_file(tmp_path, 'kind = "orders"\n[attributes]\norder = { columns = ["a"] }\nignore = ["b"]\n')
    run = run_cli(["orders", "x.csv", "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "put ignore = ... before the first [table]" in run.stderr


def test_unmapped_columns_are_warned_about_once(sandbox, tmp_path):
    source = write_csv(tmp_path / "c.csv", ["mail", "extra1", "extra2"], [["a@example.com", "x", "y"]])
    mapping = mapping_file(tmp_path, 'kind = "customers"\nignore = ["extra2"]\n[fields]\nemail = "mail"\n')
    run = run_cli(
        ["customers", str(source), "--mapping", str(mapping)], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 0
    assert run.stderr.count("neither uses nor ignores: extra1.") == 1


def test_from_an_unknown_export_to_an_import_with_inspect_and_its_suggested_mapping(sandbox, tmp_path):
    """cp1250, semicolons, day-first dates: inspect suggests a mapping that imports as it is."""
    export = tmp_path / "klienci.csv"
    export.write_bytes(
        "E-mail;Imię;Nazwisko;Telefon;Data urodzenia\r\n"
        "anna@example.com;Anna;Wiśniewska;601 234 567;17.05.1990\r\n"
        "lukasz@example.com;Łukasz;Żółkiewski;;03.11.1985\r\n".encode("cp1250")
    )
    shown = run_cli(["inspect", str(export), "--suggest", "customers"], imports=False)
    assert shown.exit_code == 0, shown.stderr
    assert "encoding cp1250" in shown.stdout and 'delimiter ";"' in shown.stdout
    mapping = tmp_path / "mapping.toml"  # saved next to the export, as the suggestion says
    mapping.write_text(shown.stdout[shown.stdout.index("# Mapping for") :], encoding="utf-8")
    run = run_cli(["customers", "--mapping", str(mapping)], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stdout + run.stderr
    lukasz = customer(sandbox, "lukasz@example.com")
    assert (lukasz["firstName"], lukasz["lastName"], lukasz["dateOfBirth"]) == (
        "Łukasz",
        "Żółkiewski",
        "1985-11-03T00:00:00.000Z",
    )
    assert customer(sandbox, "anna@example.com")["phone"] == "601234567"


def test_the_run_names_every_file_a_mapping_read(sandbox, tmp_path):
    """A joined source with a path next to one from the command line: both are inputs of the run (the
    summary, and the journal's fingerprint of the inputs that --resume compares)."""
    lines = write_csv(tmp_path / "lines.tsv", DB_LINES, [["1", "7", "NULL", "SHIRT-M", "2.0000", "1.0000"]])
    orders = write_csv(
        tmp_path / "orders.tsv",
        DB_ORDERS,
        [["7", "000000007", "2024-11-06 09:10:00", "59.9000", "NULL", "a@example.com"]],
    )
    notes = write_csv(tmp_path / "notes.csv", ["order", "channel"], [["000000007", "web"]])
    text = DB_MAPPING.replace(
        "[fields]",
        f'[sources.notes]\npath = "{notes}"\njoin = {{ on = "orders.increment_id", to = "order" }}\n[fields]',
    ).replace('ignore = ["item_id"]', 'ignore = ["item_id", "notes.channel"]')
    run = run_cli(
        ["orders", str(lines), str(orders), "--mapping", str(mapping_file(tmp_path, text)), "--dry-run"],
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 0, run.stderr
    assert run.summary["files"] == [str(lines), str(orders), str(notes)]
