"""``ecdp-import verify``: what the file says against what the platform holds, over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from importer.records.comparison import (
    ABSENT,
    Difference,
    customer_differences,
    order_differences,
)
from importer.sandbox import Faults, SandboxServer
from tests.support import ROOT, Run, get, run_cli, sandbox_env, write_csv

ORDERS = ROOT / "sample_data" / "orders.csv"
CUSTOMERS = ROOT / "sample_data" / "customers.csv"
OVER_BUDGET = ["--max-rejects", "50%"]  # the samples' broken rows are more than the default 10 %


def run(server, tmp_path: Path, args: list[str], name: str = "report") -> Run:
    return run_cli(args, env=sandbox_env(server), report_dir=tmp_path / name)


def verified(server, tmp_path: Path, *args: str, name: str = "verify") -> Run:
    result = run(server, tmp_path, ["verify", *args], name)
    if result.exit_code in (0, 1):
        s = result.summary
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
    return result


def post(server, path: str, body: dict) -> None:
    response = httpx.post(server.url + path, json=body, headers={"x-api-key": server.api_key}, timeout=10)
    assert response.status_code == 201, response.text


def test_an_imported_file_verifies_clean(sandbox, tmp_path):
    assert run(sandbox, tmp_path, ["orders", str(ORDERS), *OVER_BUDGET]).exit_code == 1  # the sample has broken rows
    sandbox.stats.reset()
    result = verified(sandbox, tmp_path, "orders", str(ORDERS))
    assert result.exit_code == 0, result.stdout + result.stderr
    s = result.summary
    assert (s["records_checked"], s["records_matching"], s["rows_invalid"]) == (11, 11, 4)
    assert sandbox.stats.count("GET", "/orders/{id}") == 11 and sandbox.stats.count("POST") == 0
    assert "11 checked (all): 11 match, 0 different, 0 missing, 0 failed" in result.stdout


def test_a_changed_field_and_a_missing_order_are_reported(sandbox, tmp_path):
    assert run(sandbox, tmp_path, ["orders", str(ORDERS), *OVER_BUDGET], "import").exit_code == 1
    changes = write_csv(tmp_path / "status.csv", ["id", "status"], [["ORD-2024-1002", "canceled"]])
    assert run(sandbox, tmp_path, ["order-status", str(changes), "--no-progress"], "status").exit_code == 0
    gone = write_csv(tmp_path / "gone.csv", ["id"], [["ORD-2024-1001"]])
    assert run(sandbox, tmp_path, ["delete-orders", str(gone), "--yes", "--no-progress"], "delete").exit_code == 0

    result = verified(sandbox, tmp_path, "orders", str(ORDERS), "--no-progress")
    assert result.exit_code == 1
    s = result.summary
    assert (s["records_matching"], s["records_different"], s["records_missing"]) == (9, 1, 1)
    assert s["fields_different"] == {"status": 1}
    [mismatch] = result.rows("mismatched.csv")
    assert (mismatch["id"], mismatch["_field"], mismatch["_stage"]) == ("ORD-2024-1002", "status", "verify")
    assert mismatch["_error"] == "status: file 'paid', platform 'canceled'"
    missing = result.rows("missing.csv")
    assert {m["id"] for m in missing} == {"ORD-2024-1001"} and len(missing) == 3  # every line of the order
    assert "differ:    status (1)" in result.stdout
    assert "piotr" not in result.stdout  # counts and field names only: no personal data on stdout

    # missing.csv is an import file: importing it fills the gap
    refill = run(sandbox, tmp_path, ["orders", str(tmp_path / "verify" / "missing.csv")], "refill")
    assert refill.exit_code == 0 and len(get(sandbox, "/orders/ORD-2024-1001").json()["data"]["products"]) == 3


def test_customers_changed_in_the_platform_are_named_field_by_field(sandbox, tmp_path):
    assert run(sandbox, tmp_path, ["customers", str(CUSTOMERS), *OVER_BUDGET]).exit_code == 1
    post(
        sandbox,
        "/customers",
        {
            "mode": "Update",
            "matchBy": "Email",
            "data": [
                {
                    "email": "anna.kowalska@example.com",
                    "firstName": "Ann",
                    "customAttributes": [{"name": "loyaltyTier", "value": "silver"}],
                    "consentsData": {"consents": [{"id": 2, "value": "True"}]},
                }
            ],
        },
    )
    result = verified(sandbox, tmp_path, "customers", str(CUSTOMERS))
    assert result.exit_code == 1
    [mismatch] = result.rows("mismatched.csv")
    assert mismatch["_field"] == "firstName;attr.loyaltyTier;consent.2"
    assert mismatch["_error"] == (
        "firstName: file 'Anna', platform 'Ann'; attr.loyaltyTier: file 'gold', platform "
        "'silver'; consent.2: file 'False', platform 'True'"
    )


def test_sample_checks_that_many_records_reproducibly(sandbox, tmp_path):
    emails = [f"c{i}@example.com" for i in range(20)]
    source = write_csv(tmp_path / "c.csv", ["email", "firstName"], [[e, "Ann"] for e in emails])
    post(
        sandbox,
        "/customers",
        {"mode": "Add", "matchBy": "Email", "data": [{"email": e, "firstName": "Anne"} for e in emails]},
    )  # all differ
    sandbox.stats.reset()
    first = verified(sandbox, tmp_path, "customers", str(source), "--sample", "5", "--seed", "7", name="a")
    again = verified(sandbox, tmp_path, "customers", str(source), "--sample", "5", "--seed", "7", name="b")
    assert first.exit_code == again.exit_code == 1, again.stderr
    assert first.summary["records_checked"] == 5 and first.summary["rows_not_sampled"] == 15
    assert sandbox.stats.count("GET") == 10
    assert len(first.rows("mismatched.csv")) == 5
    assert [r["email"] for r in first.rows("mismatched.csv")] == [r["email"] for r in again.rows("mismatched.csv")]
    assert "5 checked (a sample of 5 of 20): 0 match, 5 different" in first.stdout


def test_numbers_compare_as_numbers_and_typed_attributes_by_their_type(platform, tmp_path):
    source = write_csv(
        tmp_path / "c.csv",
        ["email", "dateOfBirth", "attr.loyalty", "attr.lastVisit", "attr.vip"],
        [["a@example.com", "1990-05-17T08:30:00+02:00", "10.50", "2024-05-17T08:30:00+02:00", "TRUE"]],
    )
    post(
        platform,
        "/customers",
        {
            "mode": "Add",
            "matchBy": "Email",
            "data": [
                {
                    "email": "a@example.com",
                    "dateOfBirth": "1990-05-17T06:30:00Z",
                    "customAttributes": [
                        {"name": "loyalty", "value": "10.5"},
                        {"name": "lastVisit", "value": "2024-05-17T06:30:00Z"},
                        {"name": "vip", "value": "true"},
                    ],
                }
            ],
        },
    )
    result = verified(platform, tmp_path, "customers", str(source))
    assert result.exit_code == 0, result.rows("mismatched.csv")
    # the same stored values are differences when the platform's types are not known
    untyped = verified(platform, tmp_path, "customers", str(source), "--no-preflight", name="untyped")
    assert untyped.exit_code == 1
    assert untyped.summary["fields_different"] == {"attr.loyalty": 1, "attr.lastVisit": 1, "attr.vip": 1}


def test_records_that_cannot_be_read_back_are_failed_not_missing(tmp_path):
    source = write_csv(tmp_path / "c.csv", ["email"], [["a@example.com"], ["b@example.com"]])
    with SandboxServer(faults=Faults(error_rate=1.0, seed=1)) as failing:
        result = run_cli(
            ["verify", "customers", str(source), "--max-retries", "0"],
            env=sandbox_env(failing),
            report_dir=tmp_path / "r",
        )
    assert result.exit_code == 1
    assert (result.summary["records_failed"], result.summary["records_missing"]) == (2, 0)
    assert [r["_error"][:7] for r in result.failed] == ["HTTP 50", "HTTP 50"]
    assert (tmp_path / "r" / "errors.jsonl").exists()


def test_customers_matched_by_visitor_id_cannot_be_verified(sandbox, tmp_path):
    source = write_csv(tmp_path / "c.csv", ["visitorId"], [["v1"]])
    result = verified(sandbox, tmp_path, "customers", str(source), "--match-by", "VisitorId")
    assert result.exit_code == 2 and "no GET by visitorId" in result.stderr


def test_a_refused_key_is_exit_3(sandbox, tmp_path):
    source = write_csv(tmp_path / "c.csv", ["email"], [["a@example.com"]])
    result = run_cli(
        ["verify", "customers", str(source)],
        env={**sandbox_env(sandbox), "ECDP_API_KEY": "nope"},
        report_dir=tmp_path / "r",
    )
    assert result.exit_code == 3 and result.summary["records_failed"] == 1


# -- the comparison itself -------------------------------------------------------------------------


def test_order_products_compare_by_id_and_report_their_fields():
    sent = {
        "id": "o1",
        "totalValue": 150.0,
        "date": "2024-11-06T10:10:00.000Z",
        "products": [
            {"id": "p1", "price": 75.0, "quantity": 1, "productAttributes": [{"name": "w", "value": "1.5"}]},
            {"id": "p2", "price": 75.0, "quantity": 1},
        ],
    }
    stored = {
        "id": "o1",
        "totalValue": 150,
        "date": "2024-11-06T11:10:00+01:00",
        "products": [
            {"id": "p2", "price": 70, "quantity": 1},  # another order of products than the file's
            {"id": "p1", "price": 75, "quantity": 1, "productAttributes": [{"name": "W", "value": "1.50"}]},
            {"id": "p3", "price": 1, "quantity": 1},
        ],
    }
    found = order_differences(sent, stored, {}, {"w": "Number"})
    assert found == [
        Difference("product.price", 75.0, 70, "product p2"),
        Difference("product.id", ABSENT, "p3", "product p3"),
    ]
    assert [d.describe() for d in found] == [
        "product.price of product p2: file 75.0, platform 70",
        "product.id of product p3: file (absent), platform 'p3'",
    ]


@pytest.mark.parametrize(
    ("sent", "stored", "same"),
    [
        ({"email": "a@example.com"}, {"email": "A@Example.com"}, True),
        ({"dateOfBirth": "1990-05-17T00:00:00.000Z"}, {"dateOfBirth": "1990-05-17T00:00:00"}, True),
        ({"dateOfBirth": "1990-05-17T00:00:00.000Z"}, {"dateOfBirth": "1990-05-17T01:00:00+02:00"}, False),
        ({"firstName": "Anna"}, {}, False),
        (
            {"customAttributes": [{"name": "since", "value": "2024-05-17"}]},
            {"customAttributes": [{"name": "since", "value": "2024-05-17T00:00:00"}]},
            True,
        ),
    ],
    ids=["email-case", "naive-is-utc", "other-instant", "absent", "date-attribute"],
)
def test_customer_field_comparisons(sent, stored, same):
    assert (customer_differences(sent, stored, {"since": "Date"}) == []) is same
