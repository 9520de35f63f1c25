"""The shapes of real exports (tests/data/real_exports): blank rows, partial joins, minute-apart lines,
Excel-saved files, US and European dates, Windows and IANA zone names, imported into the sandbox.

Each test checks where every input row went: accepted (and how the platform holds it), rejected with
one reason that names the cause, dropped by the mapping and listed, or blank.
"""

from __future__ import annotations

import re
from pathlib import Path

from importer.sandbox import SandboxServer
from tests.support import DATA, assert_accounted, get, run_cli, sandbox_env

REAL = DATA / "real_exports"
MARKETPLACE, RETAIL, EUROPEAN = REAL / "marketplace", REAL / "online_retail", REAL / "european_shop"


def import_orders(server: SandboxServer, report: Path, *args: str):
    run = run_cli(["orders", *args, "--max-rejects", "100%"], env=sandbox_env(server), report_dir=report)
    assert run.exit_code in (0, 1), run.stderr
    assert_accounted(run.summary)
    return run


def stored(server: SandboxServer, order_id: str) -> dict | None:
    response = get(server, f"/orders/{order_id}")
    return None if response.status_code == 404 else response.json()["data"]


def mapping_with(tmp_path: Path, source: Path, *, drop: str = "", add: str = "") -> Path:
    """A copy of a mapping beside its data files' absolute paths, ``drop`` removed and ``add`` appended."""
    text = source.read_text().replace(drop, "") if drop else source.read_text()
    text = re.sub(r'path = "([^"]+)"', lambda m: f'path = "{source.parent / m.group(1)}"', text)
    target = tmp_path / source.name
    target.write_text(text + add)
    return target


# -- the marketplace: a partial join, trailing delimiter rows, Brazil's clock ------------------------


def test_marketplace_items_of_orders_the_orders_file_lacks_are_dropped_listed_and_counted(crm, tmp_path):
    run = import_orders(crm, tmp_path / "r", "--mapping", str(MARKETPLACE / "orders.toml"), "--customer-match", "CrmId")
    s = run.summary
    assert (s["rows_read"], s["rows_blank"], s["rows_unmatched"], s["rows_rejected"], s["rows_accepted"]) == (
        12,
        3,
        2,
        1,
        6,
    )
    assert run.exit_code == 1  # the row whose customer is missing
    unmatched = run.rows("unmatched.csv")
    assert [(r["_row"], r["_stage"], r["_error"]) for r in unmatched] == [
        ("6", "mapping", "orders: no row with order_id = '9f2b77c0' (join on order_id)"),
        ("9", "mapping", "orders: no row with order_id = 'c0ffee00' (join on order_id)"),
    ]
    [rejected] = run.rejected
    assert rejected["_error"] == "customers: no row with customer_id = '503740e9' (join on orders.customer_id)"
    assert "unmatched.csv" in run.stdout and "2 unmatched (dropped)" in run.stdout
    assert stored(crm, "9f2b77c0") is None and stored(crm, "a4591c26") is None
    two_lines = stored(crm, "47770eb9")
    assert [p["category"] for p in two_lines["products"]] == ["automotivo", "automotivo"]
    assert two_lines["totalValue"] == 204.9  # Σ price × quantity: the export has no order total
    # Brazil's clock without an offset, read in the order's zone: -03:00, and -02:00 in its 2017/18 summer
    assert (stored(crm, "e481f51c")["date"], stored(crm, "e481f51c")["timeZone"]) == (
        "2017-10-02T10:56:33.000-03:00",
        "E. South America Standard Time",
    )
    assert stored(crm, "949d5b44")["date"] == "2017-11-18T19:28:06.000-02:00"


def test_verify_reads_the_marketplace_back_through_the_same_mapping_and_it_all_matches(crm, tmp_path):
    mapping = str(MARKETPLACE / "orders.toml")
    import_orders(crm, tmp_path / "r", "--mapping", mapping, "--customer-match", "CrmId")
    run = run_cli(
        ["verify", "orders", "--mapping", mapping, "--customer-match", "CrmId"],
        env=sandbox_env(crm),
        report_dir=tmp_path / "v",
    )
    s = run.summary
    assert run.exit_code == 0, run.stderr  # every record checked matches
    assert (s["records_checked"], s["records_matching"], s["rows_unmatched"], s["rows_blank"]) == (5, 5, 2, 3)
    assert s["rows_invalid"] == 1  # the row rejected at import time (its customer is missing) is invalid here too
    assert s["rows_read"] == (
        s["rows_invalid"]
        + s["rows_not_sampled"]
        + s["rows_matching"]
        + s["rows_different"]
        + s["rows_missing"]
        + s["rows_failed"]
        + s["rows_blank"]
        + s["rows_unmatched"]
    )
    assert (tmp_path / "v" / "unmatched.csv").exists()


def test_marketplace_join_misses_are_rejected_with_one_reason_naming_the_source_and_key(crm, tmp_path):
    strict = mapping_with(tmp_path, MARKETPLACE / "orders.toml", drop='unmatched = "drop"')
    run = import_orders(crm, tmp_path / "r", "--mapping", str(strict), "--customer-match", "CrmId")
    assert run.summary["rows_unmatched"] == 0 and run.summary["rows_rejected"] == 3
    reasons = {r["order_id"]: r["_error"] for r in run.rejected}
    assert reasons == {
        "9f2b77c0": "orders: no row with order_id = '9f2b77c0' (join on order_id)",
        "c0ffee00": "orders: no row with order_id = 'c0ffee00' (join on order_id)",
        "a4591c26": "customers: no row with customer_id = '503740e9' (join on orders.customer_id)",
    }  # one reason each: not "date: is required ..." and "customer.crmId: is required ..." besides
    assert not (tmp_path / "r" / "unmatched.csv").exists()


def test_inspect_of_the_mapping_reports_each_joins_match_rate_before_anything_is_sent(crm):
    crm.stats.reset()
    run = run_cli(["inspect", "--mapping", str(MARKETPLACE / "orders.toml")], imports=False)
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == (
        "Mapping orders.toml (orders): 9 rows in the driving table items (blank rows left out); its joins:"
    )
    assert lines[1].startswith(
        "  orders (orders.csv), order_id = orders.order_id: 7 of 9 rows match (77.8%); "
        "2 find no row (e.g. '9f2b77c0', 'c0ffee00'); rows without a match are dropped"
    )
    assert lines[2].startswith(
        "  customers (customers.csv), orders.customer_id = customers.customer_id: 6 of 7 "
        "rows match (85.7%); 1 finds no row (e.g. '503740e9'); rows without a match are "
        "rejected"
    )
    assert lines[3] == "  products (products.csv), product_id = products.product_id: 6 of 6 rows match (100.0%)"
    assert crm.stats.total == 0


def test_a_joined_source_with_two_different_rows_for_a_key_rejects_the_row_and_never_doubles_it(crm, tmp_path):
    products = tmp_path / "products.csv"
    products.write_text(
        (MARKETPLACE / "products.csv").read_text()
        + "87285b34,cama_mesa_banho,30,100,1,300\n"
        + "595fac2a,perfumaria,44,178,1,400\n"
    )  # a second, different row; an exact repeat
    mapping = (
        mapping_with(tmp_path, MARKETPLACE / "orders.toml")
        .read_text()
        .replace(f'path = "{MARKETPLACE / "products.csv"}"', f'path = "{products}"')
    )
    (tmp_path / "orders.toml").write_text(mapping)
    run = import_orders(crm, tmp_path / "r", "--mapping", str(tmp_path / "orders.toml"), "--customer-match", "CrmId")
    assert run.summary["rows_read"] == 12  # the joins added no row
    reasons = {r["order_id"]: r["_error"] for r in run.rejected}
    assert reasons["e481f51c"] == (
        "products: 2 different rows with product_id = '87285b34' (join on product_id): which one is meant is unknown"
    )
    assert stored(crm, "53cdb2fc") is not None  # 595fac2a's repeat is the same row: found once


# -- the UK shop: Excel-saved, US dates, lines a minute apart ----------------------------------------


def test_an_invoice_whose_lines_are_a_minute_apart_takes_the_first_lines_time_and_counts_it(crm, tmp_path):
    run = import_orders(
        crm,
        tmp_path / "r",
        str(RETAIL / "invoice_lines.csv"),
        "--mapping",
        str(RETAIL / "invoices.toml"),
        "--customer-match",
        "CrmId",
    )
    s = run.summary
    assert (s["rows_read"], s["rows_blank"], s["rows_accepted"], s["rows_rejected"]) == (10, 2, 6, 2)
    assert s["orders_conflicts_taken"] == {"date": 1}
    assert "conflicts: lines disagreed, one line's value taken (the mapping's conflict): date in 1 order" in run.stdout
    invoice = stored(crm, "536366")
    assert (invoice["date"], invoice["timeZone"]) == ("2010-12-01T16:57:00.000+00:00", "GMT Standard Time")
    assert len(invoice["products"]) == 2
    reasons = {r["InvoiceNo"]: r["_error"] for r in run.rejected}
    assert reasons == {
        "536367": "customer.crmId: is required and no line of the order gives it",
        "C536379": "product.quantity: '-1' is not a whole number from 1 to 2147483647",
    }


def test_conflict_last_takes_the_last_lines_value(crm, tmp_path):
    last = (
        mapping_with(tmp_path, RETAIL / "invoices.toml").read_text().replace('conflict = "first"', 'conflict = "last"')
    )
    (tmp_path / "invoices.toml").write_text(last)
    import_orders(
        crm,
        tmp_path / "r",
        str(RETAIL / "invoice_lines.csv"),
        "--mapping",
        str(tmp_path / "invoices.toml"),
        "--customer-match",
        "CrmId",
    )
    assert stored(crm, "536366")["date"] == "2010-12-01T16:58:00.000+00:00"


def test_without_a_conflict_setting_the_invoice_is_rejected_naming_both_times(crm, tmp_path):
    strict = mapping_with(tmp_path, RETAIL / "invoices.toml", drop=', conflict = "first"')
    run = import_orders(
        crm, tmp_path / "r", str(RETAIL / "invoice_lines.csv"), "--mapping", str(strict), "--customer-match", "CrmId"
    )
    assert run.summary.get("orders_conflicts_taken") == {}
    messages = {r["_row"]: r["_error"] for r in run.rejected if r["InvoiceNo"] == "536366"}
    assert set(messages) == {"4", "5"}
    assert messages["4"].startswith(
        "date: the lines of order 536366 disagree: '2010-12-01T16:57:00.000+00:00' "
        "(invoice_lines.csv row 4), '2010-12-01T16:58:00.000+00:00' (invoice_lines.csv "
        "row 5) (a mapping's conflict"
    )
    assert stored(crm, "536366") is None


def test_conflict_is_refused_on_a_product_field_and_on_a_value_it_does_not_know(tmp_path):
    for setting, complaint in (
        (
            '"product.name" = { column = "Description", conflict = "first" }',
            "fields.product.name: conflict is for the order-level fields",
        ),
        (
            'currency = { value = "GBP", conflict = "newest" }',
            'fields.currency: conflict must be "first", "last" or "reject"',
        ),
    ):
        text = (RETAIL / "invoices.toml").read_text()
        text = re.sub(r'^"product.name" = .*$', "", text, flags=re.M) if "product.name" in setting else text
        text = re.sub(r"^currency = .*$", "", text, flags=re.M) if setting.startswith("currency") else text
        mapping = tmp_path / "m.toml"
        mapping.write_text(text.replace("[fields]", "[fields]\n" + setting))
        run = run_cli(
            ["orders", str(RETAIL / "invoice_lines.csv"), "--mapping", str(mapping), "--dry-run"],
            report_dir=tmp_path / "r",
        )
        assert run.exit_code == 2 and complaint in run.stderr, run.stderr


# -- the German shop: day-first dates, a zone per row -----------------------------------------------


def test_a_zone_per_row_reads_each_naive_time_in_its_own_zone(sandbox, tmp_path):
    run = import_orders(
        sandbox, tmp_path / "r", str(EUROPEAN / "orders.csv"), "--mapping", str(EUROPEAN / "orders.toml")
    )
    sent = {
        order_id: (stored(sandbox, order_id) or {})
        for order_id in ("DE-1001", "DE-1002", "DE-1003", "DE-1006", "DE-1007")
    }
    assert {k: (v["date"], v["timeZone"]) for k, v in sent.items()} == {
        "DE-1001": ("2024-11-06T10:10:00.000+01:00", "W. Europe Standard Time"),  # IANA in, Windows out
        "DE-1002": ("2024-07-01T10:10:00.000+02:00", "W. Europe Standard Time"),  # summer time
        "DE-1003": ("2024-10-27T02:30:00.000+02:00", "W. Europe Standard Time"),  # the repeated hour: earlier
        "DE-1006": ("2024-07-01T10:10:00.000+02:00", "Central European Standard Time"),  # offset kept, case fixed
        "DE-1007": ("2024-11-06T10:10:00.000Z", "UTC"),  # no zone: UTC
    }
    reasons = {r["Bestellnummer"]: (r["_field"], r["_error"]) for r in run.rejected}
    assert reasons == {
        "DE-1004": (
            "date",
            "date: '2024-03-31T02:30:00.000' does not exist in Europe/Berlin (the clocks skip it "
            "when summer time starts)",
        ),
        "DE-1005": (
            "timeZone",
            "timeZone: 'Berlin' is not a time zone: use an IANA name (e.g. Europe/Warsaw) or a "
            "Windows one (e.g. Central European Standard Time)",
        ),
    }


def test_iana_names_are_sent_with_time_zone_names_iana(sandbox, tmp_path):
    import_orders(
        sandbox,
        tmp_path / "r",
        str(EUROPEAN / "orders.csv"),
        "--mapping",
        str(EUROPEAN / "orders.toml"),
        "--time-zone-names",
        "iana",
    )
    assert stored(sandbox, "DE-1001")["timeZone"] == "Europe/Berlin"
    assert stored(sandbox, "DE-1002")["timeZone"] == "Europe/Berlin"  # W. Europe Standard Time's zone (CLDR)
    assert stored(sandbox, "DE-1006")["timeZone"] == "Europe/Warsaw"


def test_inspect_takes_a_presets_mapping_and_the_files_it_reads():
    magento = DATA / "magento"
    run = run_cli(
        ["inspect", str(magento / "sales_order_item.tsv"), str(magento / "sales_order.tsv"), "--preset", "magento"],
        imports=False,
    )
    assert run.exit_code == 0, run.stderr
    said, head, join = run.stdout.splitlines()[:3]
    assert said == "read as: Magento 2 order tables (sales_order_item, sales_order)"
    assert head.startswith("Mapping magento-orders")
    assert join == "  sales_order (sales_order.tsv), order_id = sales_order.entity_id: 21 of 21 rows match (100.0%)"
    missing = run_cli(["inspect", "--preset", "magento"], imports=False)
    assert missing.exit_code == 2 and "reads 2 files, in this order: sales_order_item, sales_order" in missing.stderr
