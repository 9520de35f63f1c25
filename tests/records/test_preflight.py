"""Pre-flight checks against the platform's settings, and the sandbox enforcing declared settings.

The ``platform`` fixture is a sandbox serving and enforcing ``tests/data/platform/settings.json``:
customer attributes loyalty (Number), spent (Money), memberSince (Date), lastVisit (DateTime), vip
(Boolean), homepage (Url), tier (SingleSelect: gold, silver, bronze), note (Text); consents 1 and 2;
order attributes channel (String), giftWrap (Boolean); product attributes color (String), weight (Number).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import polars as pl
import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.records import customers, orders
from importer.records.definitions import Definition
from importer.records.nested_orders import flat_columns, flatten_orders
from importer.sandbox import Faults, SandboxServer
from importer.sandbox.definitions import SettingsFileError, parse_settings
from importer.settings import CustomerOptions
from tests.support import (
    ROOT,
    assert_accounted,
    customer,
    get,
    run_cli,
    sandbox_env,
    write_csv,
)

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

OVER_BUDGET = ["--max-rejects", "100%"]  # small files, most rows bad on purpose: the budget is tested apart


def import_file(server, tmp_path: Path, command: str, header: list[str], rows: list[list[str]], *extra: str):
    tmp_path.mkdir(exist_ok=True)
    source = write_csv(tmp_path / "in.csv", header, rows)
    run = run_cli([command, str(source), *OVER_BUDGET, *extra], env=sandbox_env(server), report_dir=tmp_path / "report")
    if run.exit_code in (0, 1, 3):
        assert_accounted(run.summary)
    return run


def posts(server, path: str) -> int:
    return server.stats.count("POST", path)


# -- values that do not fit the attribute's type ---------------------------------------------------

TYPES = [  # column, a value that fits, a value that does not, what the reason says
    ("attr.loyalty", "-3.5", "abc", "'abc' is not a Number (attribute 'loyalty' in the platform's settings)"),
    ("attr.spent", "19.99", "1e3", "'1e3' is not a Money amount"),
    ("attr.memberSince", "2024-02-29", "2023-02-29", "'2023-02-29' is not a Date such as 2024-05-17"),
    ("attr.lastVisit", "2024-05-17T08:30:00+02:00", "2024-05-17 08:30", "is not a DateTime"),
    ("attr.vip", "TRUE", "yes", "'yes' is not a Boolean, true or false"),
    ("attr.homepage", "https://example.com/a?b=c", "example.com", "'example.com' is not a Url"),
    ("attr.tier", "silver", "Silver", "'Silver' is not one of the options gold, silver, bronze"),
]


@pytest.mark.parametrize(("column", "good", "bad", "reason"), TYPES, ids=[t[0][5:] for t in TYPES])
def test_a_value_that_does_not_fit_the_type_is_rejected_locally(platform, tmp_path, column, good, bad, reason):
    rows = [["good@example.com", good], ["bad@example.com", bad]]
    run = import_file(platform, tmp_path, "customers", ["email", column], rows)
    assert run.exit_code == 1, run.stderr
    [rejected] = run.rejected
    assert (rejected["email"], rejected["_field"], rejected["_stage"]) == ("bad@example.com", column, "validation")
    assert rejected["_error"].startswith(f"{column}: ") and reason in rejected["_error"]
    assert customer(platform, "good@example.com")["customAttributes"] == [{"name": column[5:], "value": good}]
    assert customer(platform, "bad@example.com") is None
    assert platform.stats.count("POST", "/customers", 400) == 0  # the platform never had to say no


def test_without_preflight_the_sandbox_rejects_the_same_rows_as_the_platform_would(platform, tmp_path):
    header = ["email", *(t[0] for t in TYPES), "attr.note"]
    rows = [
        ["good@example.com", *(t[1] for t in TYPES), "any text"],
        ["bad@example.com", *(t[2] for t in TYPES), "any text"],
    ]
    local = import_file(platform, tmp_path / "a", "customers", header, rows)
    platform.reset()
    remote = import_file(platform, tmp_path / "b", "customers", header, rows, "--no-preflight")
    assert local.exit_code == remote.exit_code == 1
    assert [r["email"] for r in local.rejected] == [r["email"] for r in remote.rejected] == ["bad@example.com"]
    assert remote.rejected[0]["_stage"] == "api"
    assert "The value 'abc' is not valid for the Number attribute 'loyalty'" in remote.rejected[0]["_error"]
    assert customer(platform, "good@example.com") is not None and customer(platform, "bad@example.com") is None
    assert platform.stats.count("GET", "/customerattributes") == 0  # --no-preflight reads no settings


# -- names the platform does not define ------------------------------------------------------------


def test_unknown_attribute_and_consent_columns_stop_the_run_naming_all_of_them(platform, tmp_path):
    header = ["email", "attr.loyalty", "attr.Loyality", "attr.shoeSize", "consent.1", "consent.7"]
    run = import_file(platform, tmp_path, "customers", header, [["a@example.com", "1", "2", "44", "True", "True"]])
    assert run.exit_code == 2
    assert run.stderr.startswith("Error: The platform defines no attribute or consent for 3 columns of the input: ")
    assert "attr.Loyality (customer attribute 'Loyality'; did you mean 'loyalty'?)" in run.stderr
    assert "attr.shoeSize (customer attribute 'shoeSize')" in run.stderr
    assert "consent.7 (no consent with id 7)" in run.stderr
    assert "Hint: " in run.stderr and "consents defined: 1 Newsletter, 2 SMS offers" in run.stderr
    assert "--no-preflight" in run.stderr
    assert posts(platform, "/customers") == 0 and not (tmp_path / "report").exists()


def test_unknown_consent_alone_stops_the_run(platform, tmp_path):
    run = import_file(platform, tmp_path, "customers", ["email", "consent.3"], [["a@example.com", "True"]])
    assert run.exit_code == 2 and "consent.3 (no consent with id 3)" in run.stderr
    assert platform.stats.count("GET", "/customerattributes") == 0  # no attribute column: not read
    assert posts(platform, "/customers") == 0


def test_an_empty_unknown_column_is_a_warning_and_case_differences_are_accepted(platform, tmp_path):
    run = import_file(
        platform, tmp_path, "customers", ["email", "attr.shoeSize", "attr.VIP"], [["a@example.com", "", "false"]]
    )
    assert run.exit_code == 0, run.stderr
    assert "attr.shoeSize names no customer attribute the platform defines; it is empty" in run.stderr
    assert "the platform spells the customer attribute 'vip'" in run.stderr
    assert customer(platform, "a@example.com")["customAttributes"] == [{"name": "VIP", "value": "false"}]


def test_settings_are_read_once_per_run(platform, tmp_path):
    rows = [[f"c{i}@example.com", str(i), "True"] for i in range(25)]
    run = import_file(
        platform, tmp_path, "customers", ["email", "attr.loyalty", "consent.2"], rows, "--chunk-size", "5"
    )
    assert run.exit_code == 0 and run.summary["requests"] == 5
    assert platform.stats.count("GET", "/customerattributes") == platform.stats.count("GET", "/customerconsents") == 1


def test_orders_with_an_invalid_product_attribute_are_rejected_whole(platform, tmp_path):
    header = [*ORDER, "attr.giftWrap", "product.attr.weight"]
    rows = [
        [*ORDER.values(), "true", "1.5"],
        [*{**ORDER, "product.id": "p2"}.values(), "", "heavy"],
        [*{**ORDER, "id": "o2"}.values(), "maybe", ""],
        [*{**ORDER, "id": "o3"}.values(), "false", "2"],
    ]
    run = import_file(platform, tmp_path, "orders", header, rows)
    assert run.exit_code == 1, run.stderr
    reasons = {(r["id"], r["product.id"]): r["_error"] for r in run.rejected}
    assert reasons[("o1", "p2")] == (
        "product.attr.weight: 'heavy' is not a Number (attribute 'weight' in the platform's settings)"
    )
    assert reasons[("o1", "p1")].startswith("another line of order o1 is invalid")
    assert reasons[("o2", "p1")].startswith("attr.giftWrap: 'maybe' is not a Boolean")
    assert get(platform, "/orders/o3").status_code == 200 and get(platform, "/orders/o1").status_code == 404


def test_unknown_order_and_product_attributes_stop_the_run(platform, tmp_path):
    run = import_file(
        platform, tmp_path, "orders", [*ORDER, "attr.coupon", "product.attr.colour"], [[*ORDER.values(), "X1", "red"]]
    )
    assert run.exit_code == 2
    assert "attr.coupon (order attribute 'coupon')" in run.stderr
    assert "product.attr.colour (product attribute 'colour'; did you mean 'color'?)" in run.stderr
    assert posts(platform, "/orders") == 0


# -- dry runs, skipping, and settings that cannot be read -------------------------------------------


def test_dry_run_checks_against_the_platform_when_a_key_is_available(platform, tmp_path):
    run = import_file(
        platform,
        tmp_path,
        "customers",
        ["email", "attr.loyalty"],
        [["a@example.com", "1"], ["b@example.com", "one"]],
        "--dry-run",
    )
    assert run.exit_code == 1 and run.summary["rows_rejected"] == 1
    assert platform.stats.count("GET", "/customerattributes") == 1 and posts(platform, "/customers") == 0


def test_dry_run_without_a_key_says_the_platform_checks_were_skipped(tmp_path, monkeypatch):
    monkeypatch.delenv("ECDP_API_KEY", raising=False)
    source = write_csv(tmp_path / "in.csv", ["email", "attr.loyalty"], [["b@example.com", "one"]])
    run = run_cli(["customers", str(source), "--dry-run"], env={"ECDP_API_KEY": ""}, report_dir=tmp_path / "r")
    assert run.exit_code == 0
    assert (
        "Dry run without an API key: attribute names, consent ids and attribute values were not checked" in run.stderr
    )


def test_no_preflight_reads_no_settings(platform, tmp_path):
    run = import_file(
        platform, tmp_path, "customers", ["email", "attr.loyalty"], [["a@example.com", "1"]], "--no-preflight"
    )
    assert run.exit_code == 0
    assert platform.stats.count("GET", "/customerattributes") == 0


def test_settings_that_cannot_be_read_stop_the_run_with_a_hint(tmp_path):
    source = write_csv(tmp_path / "in.csv", ["email", "attr.loyalty"], [["a@example.com", "1"]])
    with SandboxServer(faults=Faults(error_rate=1.0, seed=3)) as failing:
        run = run_cli(
            ["customers", str(source), "--max-retries", "1"], env=sandbox_env(failing), report_dir=tmp_path / "r"
        )
        assert run.exit_code == 2
        assert (
            f"Could not read the platform's settings from {failing.url}: GET /customerattributes failed (HTTP 5"
            in run.stderr
        )
        assert "--no-preflight" in run.stderr
        assert failing.stats.count("POST", "/customers") == 0


def test_a_refused_key_while_reading_settings_is_exit_3(platform, tmp_path):
    source = write_csv(tmp_path / "in.csv", ["email", "attr.loyalty"], [["a@example.com", "1"]])
    env = {**sandbox_env(platform), "ECDP_API_KEY": "not-the-key"}
    run = run_cli(["customers", str(source)], env=env, report_dir=tmp_path / "r")
    assert run.exit_code == 3
    assert "rejected the key while reading the platform's settings" in run.stderr
    assert "not-the-key" not in run.stdout + run.stderr


# -- the sandbox: declared settings, served and enforced ----------------------------------------------


def test_declared_settings_are_served_with_options(platform):
    attributes = get(platform, "/customerattributes").json()["data"]
    assert {"id": 7, "name": "tier", "type": "SingleSelect", "options": ["gold", "silver", "bronze"]} in attributes
    assert get(platform, "/customerconsents").json()["data"][0] == {"id": 1, "name": "Newsletter", "type": "Email"}


@pytest.mark.parametrize(
    ("customer_fields", "error"),
    [
        (
            {"customAttributes": [{"name": "note", "value": "x"}, {"name": "foo", "value": "x"}]},
            "data[0].customAttributes[1].name: The attribute 'foo' is not defined in this business unit "
            "(Settings > Customer attributes).",
        ),
        (
            {"customAttributes": [{"name": "Loyalty", "value": "1,5"}]},
            "data[0].customAttributes[0].value: The value '1,5' is not valid for the Number attribute 'loyalty'.",
        ),
        (
            {"consentsData": {"consents": [{"id": 9, "value": "True"}]}},
            "data[0].consentsData.consents[0].id: No consent with id 9 is defined in this business unit "
            "(Settings > Consents).",
        ),
    ],
    ids=["unknown-attribute", "wrong-type", "unknown-consent"],
)
def test_the_sandbox_enforces_declared_settings(platform, customer_fields, error):
    body = {"mode": "AddOrUpdate", "matchBy": "Email", "data": [{"email": "a@example.com", **customer_fields}]}
    response = httpx.post(platform.url + "/customers", json=body, headers={"x-api-key": platform.api_key})
    assert response.status_code == 400
    assert response.json()["errors"] == [error]
    assert platform.store.counts().customers == 0


def test_the_default_sandbox_accepts_any_attribute(sandbox):
    body = {
        "mode": "AddOrUpdate",
        "matchBy": "Email",
        "data": [{"email": "a@example.com", "customAttributes": [{"name": "anything", "value": "x"}]}],
    }
    response = httpx.post(sandbox.url + "/customers", json=body, headers={"x-api-key": sandbox.api_key})
    assert response.status_code == 201


def test_a_bad_settings_file_lists_every_problem(tmp_path):
    with pytest.raises(SettingsFileError) as raised:
        parse_settings(
            {
                "customerAttributes": [
                    {"name": "a", "type": "Numeric"},
                    {"name": "A", "type": "String"},
                    {"name": "b", "type": "String", "options": ["x"]},
                ],
                "customerConsents": [{"name": "c", "type": "Email"}],
                "orderAttributes": [{"name": f"o{i}", "type": "String"} for i in range(11)],
                "extra": [],
            }
        )
    message = str(raised.value)
    for problem in (
        "extra: unknown key",
        "customerAttributes[0].type: must be one of String, Text, Number",
        "customerAttributes[2].options",
        "customerConsents[0].id: required",
        "orderAttributes: 11 defined; the platform allows at most 10",
    ):
        assert problem in message
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"customerAttributes": [{"name": "a"}]}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["sandbox", "--settings", str(bad), "--port", "1"])
    assert result.exit_code == 2
    assert "customerAttributes[0].type: must be one of" in result.stderr and "Hint:" in result.stderr


def test_the_readme_session_with_the_sample_settings(tmp_path):
    """sample_data/settings.json and the sample files behave as the session in docs/preflight.md shows."""
    from importer.sandbox.definitions import load_settings

    sample = ROOT / "sample_data"
    with SandboxServer(settings=load_settings(sample / "settings.json")) as server:
        env = sandbox_env(server)
        budget = ["--max-rejects", "50%"]  # as in docs/preflight.md: the samples are small and broken on purpose
        assert (
            run_cli(["customers", str(sample / "customers.csv"), *budget], env=env, report_dir=tmp_path / "a").exit_code
            == 1
        )
        loyalty = run_cli(
            ["customers", str(sample / "customers_loyalty.csv"), *budget], env=env, report_dir=tmp_path / "b"
        )
        assert loyalty.exit_code == 1 and [r["_row"] for r in loyalty.rejected] == ["3"]
        unknown = run_cli(
            ["customers", str(sample / "customers_unknown_columns.csv")], env=env, report_dir=tmp_path / "c"
        )
        assert unknown.exit_code == 2 and "did you mean 'loyaltyPoints'?" in unknown.stderr
        assert (
            run_cli(["orders", str(sample / "orders.csv"), *budget], env=env, report_dir=tmp_path / "d").exit_code == 1
        )
        assert server.store.counts().orders == 11


# -- which settings lists a partition needs (read by the job, before preparing) ----------------------

NAME_VALUES = pl.List(pl.Struct({"name": pl.String, "value": pl.String}))
PRODUCTS = pl.List(
    pl.Struct(
        {
            "id": pl.String,
            "name": pl.String,
            "price": pl.Float64,
            "quantity": pl.Int64,
            "productAttributes": NAME_VALUES,
        }
    )
)


def _nested(order_attributes, product_attributes):
    products = [
        [{"id": f"p{i}", "name": "P", "price": 1.5, "quantity": 1, "productAttributes": attributes}]
        for i, attributes in enumerate(product_attributes)
    ]
    return pl.DataFrame(
        {
            "_rid": [0, 1],
            "_file": ["n.parquet"] * 2,
            "_row": [2, 3],
            "id": ["o1", "o2"],
            "customer": [{"email": "a@example.com"}, {"email": "b@example.com"}],
            "orderAttributes": order_attributes,
            "products": products,
        },
        schema_overrides={"orderAttributes": NAME_VALUES, "products": PRODUCTS},
    )


@pytest.mark.parametrize(
    ("order_attributes", "product_attributes", "lists"),
    [
        (
            [[{"name": " channel ", "value": "web"}], []],
            [[{"name": "color", "value": "red"}], None],
            ["/orderattributes", "/productattributes"],
        ),
        ([[], None], [[{"name": "size", "value": "M"}], []], ["/productattributes"]),
        ([[], None], [None, []], []),
    ],
    ids=["both", "product-only", "none"],
)
def test_a_nested_table_reads_the_lists_its_flattened_columns_need(order_attributes, product_attributes, lists):
    frame = _nested(order_attributes, product_attributes)
    assert sorted(flat_columns(frame)) == sorted(flatten_orders(frame)[0].columns)  # known without flattening
    assert orders.settings_lists(frame, "customer.email") == lists


def test_the_lists_follow_the_columns_and_prepare_sends_no_request():
    assert customers.settings_lists(["email", "firstName"], "email") == []
    assert customers.settings_lists(["email", "attr.tier", "consent.1"], "email") == [
        "/customerattributes",
        "/customerconsents",
    ]
    frame = pl.DataFrame(
        {"_rid": [0], "_file": ["c.csv"], "_row": [2], "email": ["a@example.com"], "attr.Tier": ["gold"]}
    )
    lists = {"/customerattributes": (Definition(1, "tier", "SingleSelect", ("gold", "silver")),)}
    prepared = customers.prepare(frame, CustomerOptions(), lists)  # (no server: a request would fail)
    assert prepared.records.height == 1 and prepared.reasons.is_empty()
    assert prepared.warnings == [
        "Column attr.Tier: the platform spells the customer attribute 'tier'; it is sent as the column names it."
    ]
