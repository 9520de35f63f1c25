"""The platform's own answers kept whole: ``substatus`` and ``type`` in rejected.csv, settings lists the
platform does not expose (404), and ids the platform may not route in a URL path.

All against the sandbox over loopback HTTP; the sandbox sends the substatus the vendor's order
documentation shows, and a settings file that gives a list as ``null`` leaves that list unexposed.
"""

from __future__ import annotations

import httpx

from importer.sandbox import SandboxServer
from importer.sandbox.answers import ORDER_SUBSTATUS
from importer.sandbox.definitions import parse_settings
from tests.jobs.test_order_operations import operation, seed_orders, stored_status
from tests.support import assert_accounted, get, run_cli, sandbox_env, write_csv

ORDER = {
    "id": "o1",
    "date": "2024-11-06T10:10:00Z",
    "totalValue": "10",
    "customer.email": "a@example.com",
    "product.id": "p1",
    "product.name": "Thing",
    "product.price": "10",
    "product.quantity": "1",
}
FIRST_COLUMNS = ["_error", "_field", "_stage", "_substatus", "_type", "_file", "_row"]


def import_orders(server: SandboxServer, tmp_path, rows: list[dict[str, str]], *extra: str, name="orders.csv"):
    header = list(dict.fromkeys(k for row in rows for k in row))
    source = write_csv(tmp_path / name, header, [[row.get(k, "") for k in header] for row in rows])
    run = run_cli(
        ["orders", str(source), "--max-rejects", "100%", *extra],
        env=sandbox_env(server),
        report_dir=tmp_path / name.replace(".csv", "-report"),
    )
    if run.exit_code in (0, 1):
        assert_accounted(run.summary)
    return run


# -- substatus and type ---------------------------------------------------------------------------


def test_an_order_the_api_rejects_keeps_the_answers_substatus_and_type_in_rejected_csv(sandbox, tmp_path):
    assert import_orders(sandbox, tmp_path, [ORDER], name="first.csv").exit_code == 0
    rows = [ORDER, {**ORDER, "id": "o2", "totalValue": "not a number"}]
    run = import_orders(sandbox, tmp_path, rows, "--mode", "Add")
    assert run.exit_code == 1
    header = (run.report_dir / "rejected.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == FIRST_COLUMNS
    by_id = {r["id"]: r for r in run.rejected}
    assert by_id["o1"]["_stage"] == "api" and "already exists" in by_id["o1"]["_error"]
    assert by_id["o1"]["_substatus"] == ORDER_SUBSTATUS
    assert by_id["o1"]["_type"].startswith("https://tools.ietf.org/html/rfc9110#section-15.5.1")
    assert by_id["o2"]["_stage"] == "validation" and by_id["o2"]["_substatus"] == by_id["o2"]["_type"] == ""


def test_the_sandbox_sends_the_documented_substatus_on_order_errors_only(sandbox):
    headers = {"x-api-key": sandbox.api_key, "content-type": "application/json"}
    bad_order = httpx.post(sandbox.url + "/orders", headers=headers, content=b'{"mode": "Add", "data": [{}]}')
    missing = get(sandbox, "/orders/nothing-here")
    refused = httpx.get(sandbox.url + "/orders/o1", headers={"x-api-key": "wrong"})
    bad_customer = httpx.post(sandbox.url + "/customers", headers=headers, content=b'{"mode": "Add", "data": [{}]}')
    assert [r.status_code for r in (bad_order, missing, refused, bad_customer)] == [400, 404, 401, 400]
    assert all(r.json()["substatus"] == ORDER_SUBSTATUS for r in (bad_order, missing, refused))
    assert "substatus" not in bad_customer.json()


def test_a_customer_rejection_without_substatus_leaves_the_column_empty(sandbox, tmp_path):
    source = write_csv(tmp_path / "customers.csv", ["email", "firstName"], [["a@example.com", "Ann"]])
    env = sandbox_env(sandbox)
    assert run_cli(["customers", str(source)], env=env, report_dir=tmp_path / "first").exit_code == 0
    run = run_cli(["customers", str(source), "--mode", "Add"], env=env, report_dir=tmp_path / "second")
    [row] = run.rejected
    assert row["_stage"] == "api" and row["_substatus"] == "" and row["_type"].startswith("https://")


# -- settings lists the platform does not expose ----------------------------------------------------


def test_a_settings_list_answering_404_is_one_warning_and_the_import_goes_on(tmp_path):
    settings = parse_settings(
        {"orderAttributes": None, "productAttributes": None, "customerAttributes": [], "customerConsents": []}
    )
    lines = [
        {**ORDER, "attr.channel": "web", "product.attr.color": "red"},
        {**ORDER, "product.id": "p2", "attr.channel": "web", "product.attr.color": "blue"},
        {**ORDER, "id": "o2", "attr.anything": "x"},
    ]
    with SandboxServer(settings=settings) as server:
        assert get(server, "/orderattributes").status_code == 404
        assert get(server, "/productattributes").status_code == 404
        run = import_orders(server, tmp_path, lines)
        stored = get(server, "/orders/o1").json()["data"]
    assert run.exit_code == 0, run.stderr
    assert run.summary["rows_accepted"] == 3
    warnings = run.summary["warnings"]
    assert (
        "This platform does not expose /orderattributes (HTTP 404): order attribute names and values were "
        "not checked against it."
    ) in warnings
    assert sum("does not expose /productattributes (HTTP 404)" in w for w in warnings) == 1
    assert stored["orderAttributes"] == [{"name": "channel", "value": "web"}]


def test_an_exposed_list_is_still_checked_when_another_is_not(tmp_path):
    settings = parse_settings({"orderAttributes": [{"name": "channel", "type": "String"}], "productAttributes": None})
    with SandboxServer(settings=settings) as server:
        run = import_orders(server, tmp_path, [{**ORDER, "attr.chanel": "web", "product.attr.color": "red"}])
    assert run.exit_code == 2
    assert "attr.chanel" in run.stderr and "channel" in run.stderr  # the typo is named, with the defined name


def test_a_settings_file_gives_a_list_as_null_to_leave_it_unexposed(tmp_path):
    from importer.sandbox.definitions import SettingsFileError, load_settings

    path = tmp_path / "settings.json"
    path.write_text('{"orderAttributes": null, "productAttributes": [{"name": "color", "type": "String"}]}')
    loaded = load_settings(path)
    assert loaded["order_attributes"] is None and [s.name for s in loaded["product_attributes"]] == ["color"]
    path.write_text('{"orderAttributes": "none"}')
    try:
        load_settings(path)
    except SettingsFileError as error:
        assert "orderAttributes: must be a list (or null: not exposed)" in str(error)
    else:
        raise AssertionError("a list given as text was accepted")


# -- ids the platform may not route -----------------------------------------------------------------


def test_delete_orders_warns_once_of_ids_the_platform_may_not_route(sandbox, tmp_path):
    ids = ["A/1", "B\\2", "C%3", "D?4", "plain"]
    seed_orders(sandbox, tmp_path, ids)
    run = operation(sandbox, tmp_path, "delete-orders", ["id"], [[i] for i in ids], "--yes")
    assert run.exit_code == 0, run.stderr
    [warning] = [w for w in run.summary["warnings"] if "/, \\, % or ?" in w]
    assert warning.startswith("4 order ids contain /, \\, % or ? ('A/1', 'B\\\\2', 'C%3', ...)")
    assert "sent escaped in the URL path" in warning and "may not route" in warning
    assert run.stderr.count("/, \\, % or ?") == 1


def test_order_status_warns_that_later_reads_by_id_are_at_risk(sandbox, tmp_path):
    seed_orders(sandbox, tmp_path, ["A/1"])
    run = operation(sandbox, tmp_path, "order-status", ["id", "status"], [["A/1", "paid"]])
    assert run.exit_code == 0, run.stderr
    [warning] = [w for w in run.summary["warnings"] if "/, \\, % or ?" in w]
    assert warning.startswith("1 order id contains") and "sends them in the request body" in warning
    assert stored_status(sandbox, "A/1") == "paid"


def test_verify_warns_before_reading_ids_the_platform_may_not_route(sandbox, tmp_path):
    rows = [{**ORDER, "id": "A/1"}]
    assert import_orders(sandbox, tmp_path, rows).exit_code == 0
    run = run_cli(
        ["verify", "orders", str(tmp_path / "orders.csv")], env=sandbox_env(sandbox), report_dir=tmp_path / "verify"
    )
    assert run.exit_code == 0, run.stderr
    assert any(w.startswith("1 order id contains /, \\, % or ? ('A/1')") for w in run.summary["warnings"])


def test_plain_ids_give_no_routing_warning(sandbox, tmp_path):
    seed_orders(sandbox, tmp_path, ["o-1", "o_2", "o.3"])
    run = operation(sandbox, tmp_path, "delete-orders", ["id"], [["o-1"], ["o_2"], ["o.3"]], "--yes")
    assert run.exit_code == 0 and not any("may not route" in w for w in run.summary.get("warnings", []))
