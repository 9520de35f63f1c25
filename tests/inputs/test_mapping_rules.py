"""A mapping's fallback chains, optional fields, strip_prefix, fit = "hash", rules and [[leave_out]]
(docs/mapping.md), each through a real import into the sandbox or a dry run: what is stored or would be
sent, what is counted, and what the report says."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from importer.cli.rendering import summary_line
from importer.report.summary import RunSummary
from tests.support import assert_accounted, customer, get, run_cli, sandbox_env, write_csv


def mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


CUSTOMERS = ["Customer ID", "E-mail", "Phone", "Given", "Nick", "Kind"]
CUSTOMER_MAPPING = """
kind = "customers"
ignore = ["Kind"]

[fields]
crmId = { column = "Customer ID", strip_prefix = "'" }
email = "E-mail"
phone = { column = "Phone", strip_prefix = "'" }
firstName = { columns = ["Given", "Nick", "Alias"] }
lastName = { column = "Surname", optional = true }

[[leave_out]]
when = { "Kind" = ["test", "staff"] }
reason = "a test or staff account"
"""


def test_customers_chains_optional_fields_prefixes_and_rows_left_out(sandbox, tmp_path):
    source = write_csv(
        tmp_path / "c.csv",
        CUSTOMERS,
        [
            ["'5897000000001", "ala@example.com", "'+48601000001", "Ala", "", "shop"],
            ["'5897000000002", "bob@example.com", "", "  ", "Bobby", "shop"],
            ["'5897000000003", "qa@example.com", "", "Tester", "", "Test"],
            ["5897000000004", "cyd@example.com", "+48601000004", "", "", ""],
        ],
    )
    run = run_cli(
        ["customers", str(source), "--mapping", str(mapping_file(tmp_path, CUSTOMER_MAPPING))],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 0, run.stderr
    summary = run.summary
    assert_accounted(summary)
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_left_out"]) == (4, 3, 1)
    ala, bob, cyd = (customer(sandbox, f"{n}@example.com") for n in ("ala", "bob", "cyd"))
    assert (ala["crmId"], ala["phone"], ala["firstName"]) == ("5897000000001", "+48601000001", "Ala")
    assert (bob["crmId"], bob["firstName"]) == ("5897000000002", "Bobby")  # a blank cell is no value
    assert cyd["crmId"] == "5897000000004" and cyd.get("firstName") is None
    assert customer(sandbox, "qa@example.com") is None  # left out: never sent
    assert [(r["E-mail"], r["_error"], r["_stage"]) for r in run.rows("left_out.csv")] == [
        ("qa@example.com", "a test or staff account", "mapping")
    ]
    assert summary["left_out_file"].endswith("left_out.csv")
    # the optional field's absent column and the chain's are warned about, once each, on stderr and in the summary
    optional = "fields.lastName is left empty: the file has no column 'Surname' (optional)"
    chain = "fields.firstName: the file has no column 'Alias'; read from 'Given', 'Nick'"
    assert optional in run.stderr and chain in run.stderr
    assert optional in summary["warnings"] and chain in summary["warnings"]
    assert "neither uses nor ignores" not in run.stderr  # the chain's and the rules' columns are used
    assert "1 left out" in summary_line(RunSummary.from_dict(summary))
    assert "1 left out (by the mapping)" in run.stdout
    assert "rows left out by the mapping" in (run.report_dir / "report.html").read_text(encoding="utf-8")


ORDERS = [
    "Name",
    "Email",
    "Created at",
    "Financial Status",
    "Fulfillment Status",
    "Cancelled at",
    "Total",
    "Lineitem name",
    "Lineitem sku",
    "Lineitem price",
    "Lineitem quantity",
]
ORDER_MAPPING = """
kind = "orders"

[fields]
id = "Name"
"customer.email" = "Email"
date = { column = "Created at", format = "%Y-%m-%d %H:%M:%S %z" }
totalValue = "Total"
status = { rules = [
  { when = { "Cancelled at" = true }, then = "canceled" },
  { when = { "Financial Status" = ["refunded", "voided"] }, then = "canceled" },
  { when = { "Financial Status" = ["paid",
                                   "partially_refunded"], "Fulfillment Status" = "fulfilled" }, then = "completed" },
  { when = { "Financial Status" = ["paid", "partially_refunded"] }, then = "paid" },
], default = "placed" }
"product.id" = { columns = ["Lineitem sku", "Lineitem name"], fit = "hash" }
"product.name" = "Lineitem name"
"product.price" = "Lineitem price"
"product.quantity" = "Lineitem quantity"

[[leave_out]]
when = { "Lineitem name" = { matches = "(?i)^tip$" } }
reason = "a tip, not a product"

[[leave_out]]
when = { "Lineitem name" = { matches = "(?i)gift card" }, "Lineitem sku" = false }
reason = "a gift card purchase"
"""
DATE = "2024-05-01 10:00:00 +0200"
LONG_NAME = "Hand-made ceramic mug with a long description of its glaze " * 4  # 236 characters, no SKU


def order_rows() -> list[list[str]]:
    return [
        # #1001: its first line is a tip (left out) and holds the order's cells; cancelled although paid
        [
            "#1001",
            "ann@example.com",
            DATE,
            "paid",
            "fulfilled",
            "2024-05-02 09:00:00 +0200",
            "30.00",
            "Tip",
            "",
            "5.00",
            "1",
        ],
        ["#1001", "", "", "", "", "", "", "Mug", "MUG-1", "25.00", "1"],
        # #1002: paid and fulfilled -> completed; a product without SKU gets its (too long) name, shortened
        ["#1002", "ben@example.com", DATE, "PAID", "fulfilled", "", "40.00", LONG_NAME, "", "40.00", "1"],
        # #1003: only a gift card: left out whole, not rejected
        ["#1003", "cat@example.com", DATE, "paid", "", "", "50.00", "Gift Card $50", "", "50.00", "1"],
        # #1004: pending -> the default; a second line without order-level cells does not disagree
        ["#1004", "dan@example.com", DATE, "pending", "", "", "20.00", "Cup", "CUP-1", "10.00", "1"],
        ["#1004", "", "", "", "", "", "", "Cup", "CUP-1", "10.00", "1"],
        # #1005: a tip line and an invalid line: the order is rejected, the tip line with it
        ["#1005", "eve@example.com", DATE, "paid", "", "", "9.00", "Tip", "", "1.00", "1"],
        ["#1005", "", "", "", "", "", "", "Plate", "PLATE-1", "8.00", "many"],
    ]


def fitted(value: str, limit: int = 128) -> str:
    return value[: limit - 9] + "~" + hashlib.sha256(value.encode()).hexdigest()[:8]


def test_orders_status_rules_chains_fit_and_lines_left_out(sandbox, tmp_path):
    source = write_csv(tmp_path / "orders_export.csv", ORDERS, order_rows())
    run = run_cli(
        ["orders", str(source), "--mapping", str(mapping_file(tmp_path, ORDER_MAPPING)), "--max-rejects", "100%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1, run.stderr  # #1005 is rejected
    summary = run.summary
    assert_accounted(summary)
    # 8 lines: #1001's tip and #1003's gift card left out; #1005's two lines rejected; 4 lines accepted
    assert (summary["rows_read"], summary["rows_left_out"], summary["rows_rejected"], summary["rows_accepted"]) == (
        8,
        2,
        2,
        4,
    )
    assert summary["records_accepted"] == 3 and summary["rows_valid"] == 4
    first = get(sandbox, "/orders/%231001").json()["data"]
    assert (first["status"], first["customer"]["email"], first["totalValue"]) == ("canceled", "ann@example.com", 30.0)
    assert [p["id"] for p in first["products"]] == ["MUG-1"]  # the tip is no product
    second = get(sandbox, "/orders/%231002").json()["data"]
    assert second["status"] == "completed"
    assert second["products"][0]["id"] == fitted(LONG_NAME.strip()) and len(second["products"][0]["id"]) == 128
    assert second["products"][0]["name"] == LONG_NAME.strip()
    assert get(sandbox, "/orders/%231003").status_code == 404  # left out whole
    fourth = get(sandbox, "/orders/%231004").json()["data"]
    assert fourth["status"] == "placed" and len(fourth["products"]) == 2
    left = run.rows("left_out.csv")
    assert [(r["Name"], r["Lineitem name"], r["_error"]) for r in left] == [
        ("#1001", "Tip", "a tip, not a product"),
        ("#1003", "Gift Card $50", "a gift card purchase"),
    ]
    rejected = {(r["Name"], r["Lineitem name"]): r["_error"] for r in run.rejected}
    assert set(rejected) == {("#1005", "Tip"), ("#1005", "Plate")}  # re-importable whole, its first line too
    assert rejected[("#1005", "Tip")].startswith("another line of order #1005 is invalid")
    verified = run_cli(
        ["verify", "orders", str(source), "--mapping", str(tmp_path / "mapping.toml")],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "v",
    )
    counts = verified.summary
    assert (counts["records_matching"], counts["rows_left_out"], counts["rows_invalid"]) == (3, 2, 2)
    assert counts["rows_read"] == sum(
        counts[f"rows_{k}"]
        for k in (
            "invalid",
            "not_sampled",
            "matching",
            "different",
            "missing",
            "failed",
            "blank",
            "unmatched",
            "left_out",
        )
    )
    assert [r["Name"] for r in verified.rows("left_out.csv")] == ["#1001", "#1003"]


def test_a_dry_run_counts_left_out_lines_and_sends_none_of_them(tmp_path):
    source = write_csv(tmp_path / "orders_export.csv", ORDERS, order_rows()[:6])
    run = run_cli(
        ["orders", str(source), "--mapping", str(mapping_file(tmp_path, ORDER_MAPPING)), "--dry-run"],
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 0, run.stderr
    assert_accounted(run.summary)
    assert (run.summary["rows_left_out"], run.summary["rows_would_send"]) == (2, 4)
    bodies = [orjson.loads(line) for line in (run.report_dir / "payloads.jsonl").read_bytes().splitlines()]
    orders = {o["id"]: o for body in bodies for o in body["data"]}
    assert set(orders) == {"#1001", "#1002", "#1004"}
    assert [p["id"] for p in orders["#1001"]["products"]] == ["MUG-1"]
    assert orders["#1001"]["date"].startswith("2024-05-01")  # from the tip line, which is left out


def test_rules_default_reject_names_the_cells(tmp_path):
    source = write_csv(
        tmp_path / "c.csv", ["mail", "Sex"], [["a@example.com", "f"], ["b@example.com", "x"], ["c@example.com", ""]]
    )
    mapping = mapping_file(
        tmp_path,
        """
kind = "customers"
[fields]
email = "mail"
gender = { rules = [ { when = { "Sex" = ["f", "female"] }, then = "Female" },
                     { when = { "Sex" = { matches = "^(?i)m" } }, then = "Male" } ], default = "reject" }
""",
    )
    run = run_cli(
        ["customers", str(source), "--mapping", str(mapping), "--dry-run", "--max-rejects", "100%"],
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1
    assert_accounted(run.summary)
    assert [(r["mail"], r["_error"]) for r in run.rejected] == [
        ("b@example.com", "gender: no rule of the mapping fits the cells Sex 'x'")
    ]
    bodies = [orjson.loads(line) for line in (run.report_dir / "payloads.jsonl").read_bytes().splitlines()]
    sent = {c["email"]: c.get("gender") for body in bodies for c in body["data"]}
    assert sent == {"a@example.com": "Female", "c@example.com": None}  # an empty cell: no value, not rejected


def test_fit_keeps_two_long_values_apart_and_is_stable(tmp_path):
    long_a, long_b = "x" * 130 + "A", "x" * 130 + "B"  # one cut would make them one product
    source = write_csv(
        tmp_path / "o.csv",
        ["no", "mail", "sku"],
        [["1", "a@example.com", long_a], ["2", "a@example.com", long_b], ["3", "a@example.com", "short"]],
    )
    mapping = mapping_file(
        tmp_path,
        """
kind = "orders"
[fields]
id = "no"
date = { value = "2024-05-01T10:00:00Z" }
totalValue = { value = "1" }
"customer.email" = "mail"
"product.id" = { column = "sku", fit = "hash" }
"product.name" = { value = "thing" }
"product.price" = { value = "1" }
"product.quantity" = { value = "1" }
""",
    )
    ids = []
    for attempt in ("r1", "r2"):
        run = run_cli(["orders", str(source), "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / attempt)
        assert run.exit_code == 0, run.stderr
        bodies = [orjson.loads(line) for line in (run.report_dir / "payloads.jsonl").read_bytes().splitlines()]
        ids.append([o["products"][0]["id"] for body in bodies for o in body["data"]])
    assert ids[0] == ids[1] == [fitted(long_a), fitted(long_b), "short"]
    assert fitted(long_a) != fitted(long_b) and len(fitted(long_a)) == 128


def test_without_fit_a_too_long_value_is_rejected(tmp_path):
    source = write_csv(tmp_path / "c.csv", ["mail", "id"], [["a@example.com", "9" * 129]])
    mapping = mapping_file(tmp_path, 'kind = "customers"\n[fields]\nemail = "mail"\ncrmId = "id"\n')
    run = run_cli(
        ["customers", str(source), "--mapping", str(mapping), "--dry-run", "--max-rejects", "100%"],
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1 and run.rejected[0]["_field"] == "crmId"


def test_every_bad_new_setting_is_listed(tmp_path):
    mapping = mapping_file(
        tmp_path,
        """
kind = "orders"
[fields]
id = { columns = "Name", optional = "yes" }
date = { column = "d", strip_prefix = "" }
totalValue = { template = "{t}", strip_prefix = "'" }
"product.id" = { column = "sku", fit = "cut" }
"product.price" = { column = "p", fit = "hash" }
status = { rules = [ { when = { "S" = 3 }, then = "paid" },
                     { when = { "S" = { matches = "(" } } } ], map = { a = "b" } }
currency = { value = "PLN", optional = true }

[[leave_out]]
when = { "Type" = "tip" }
""",
    )
    run = run_cli(["orders", "x.csv", "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    for problem in (
        "fields.id: columns must be a list of column names",
        "fields.id: optional must be true or false",
        "fields.date: strip_prefix must be the characters to remove",
        "fields.totalValue: strip_prefix is for a field read from column or columns",
        "fields.product.id: fit must be \"hash\", not 'cut'",
        'fields.product.price: fit = "hash" is for a field with a maximum length',
        "fields.status: rule 1: 'S': a condition is true, false, a text",
        "fields.status: rule 2: 'S': matches '(' is not a regular expression",
        "fields.status: rule 2: give then = ",
        "fields.status: rules and map cannot be combined",
        "fields.currency: optional is for a field read from column or columns",
        "leave_out rule 1: give reason = ",
    ):
        assert problem in run.stderr, problem


def test_leave_out_written_inside_fields_is_explained(tmp_path):
    mapping = mapping_file(tmp_path, 'kind = "customers"\n[fields]\nemail = "mail"\nleave_out = "x"\n')
    run = run_cli(["customers", "x.csv", "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "leave_out is inside [fields]" in run.stderr


def test_a_chain_with_no_column_present_stops_unless_optional(tmp_path):
    source = write_csv(tmp_path / "c.csv", ["mail"], [["a@example.com"]])
    mapping = mapping_file(
        tmp_path, 'kind = "customers"\n[fields]\nemail = "mail"\nfirstName = { columns = ["First", "Given"] }\n'
    )
    run = run_cli(["customers", str(source), "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "fields.firstName: no column 'First' or 'Given'" in run.stderr
    mapping.write_text(mapping.read_text().replace('"Given"] }', '"Given"], optional = true }'))
    run = run_cli(["customers", str(source), "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r2")
    assert run.exit_code == 0, run.stderr
    assert "fields.firstName is left empty: the file has no column 'First' or 'Given' (optional)" in run.stderr


def test_a_file_without_any_identifying_column_stops_naming_them(tmp_path):
    source = write_csv(tmp_path / "c.csv", ["First Name", "Note"], [["Ala", "x"]])
    mapping = mapping_file(
        tmp_path,
        """
kind = "customers"
ignore = ["Note"]
[fields]
crmId = { column = "Customer ID", strip_prefix = "'", optional = true }
email = { column = "Email", optional = true }
phone = { column = "Phone", strip_prefix = "'", optional = true }
firstName = "First Name"
""",
    )
    run = run_cli(["customers", str(source), "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert (
        "The file has no column that identifies a customer: Customer ID, Email, Phone (the columns this "
        "mapping reads for crmId, email, phone)."
    ) in run.stderr
    assert "Traceback" not in run.stderr
    orders = mapping_file(tmp_path, 'kind = "orders"\n[fields]\nid = "Order No"\ndate = "First Name"\n')
    run = run_cli(["orders", str(source), "--mapping", str(orders), "--dry-run"], report_dir=tmp_path / "r2")
    assert run.exit_code == 2
    assert (
        "The file has no column that identifies an order: Order No (the columns this mapping reads for id)."
        in run.stderr
    )


def test_a_mapping_must_map_an_identifier(tmp_path):
    mapping = mapping_file(tmp_path, 'kind = "customers"\n[fields]\nfirstName = "First"\n')
    run = run_cli(["customers", "x.csv", "--mapping", str(mapping), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "fields: map crmId or email or phone" in run.stderr


def test_a_line_the_reader_cannot_parse_is_rejected_not_left_out(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text('mail,Kind\na@example.com,shop\n"broken,quote\n', encoding="utf-8")
    mapping = mapping_file(
        tmp_path,
        'kind = "customers"\n[fields]\nemail = "mail"\n[[leave_out]]\nwhen = { "Kind" = false }\nreason = "no kind"\n',
    )
    run = run_cli(
        ["customers", str(source), "--mapping", str(mapping), "--dry-run", "--max-rejects", "100%"],
        report_dir=tmp_path / "r",
    )
    assert_accounted(run.summary)
    assert (run.summary["rows_left_out"], run.summary["rows_rejected"], run.summary["rows_would_send"]) == (0, 1, 1)
