"""``ecdp-import customers`` end to end: the CLI against the sandbox over loopback HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tests.support import assert_accounted, customer, run_cli, sandbox_env, write_csv

HEADER = ["email", "firstName"]


def import_customers(sandbox, tmp_path, header, rows, *extra: str, name="in.csv", **csv_options):
    """Import a small table; these tests are about single rows, so the error budget is off (its own tests
    are in test_budget.py): one bad row in two would stop the run."""
    source = write_csv(tmp_path / name, header, rows, **csv_options)
    run = run_cli(
        ["customers", str(source), "--max-rejects", "100%", *extra],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "report",
    )
    if run.exit_code in (0, 1, 3):
        assert_accounted(run.summary)
    return run


def sent_records(sandbox) -> list[dict]:
    return [record for body in sandbox.stats.json_bodies("/customers") for record in body["data"]]


def test_sample_data_lands_and_broken_rows_are_reported(sandbox, tmp_path):
    run = run_cli(
        ["customers", "sample_data/customers.csv", "--max-rejects", "20%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1, run.stderr
    summary = run.summary
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_rejected"]) == (23, 20, 3)
    assert summary["records_accepted"] == 20 and summary["requests"] == 1
    stored = customer(sandbox, "piotr.nowak@example.com")
    assert stored["phone"] == "+48602345678" and stored["gender"] == "Male"
    assert {r["_row"] for r in run.rejected} == {"22", "23", "24"}
    assert "rows to fix" in run.stdout and str(tmp_path / "r") in run.stdout


# -- documented limits at N and N+1 ----------------------------------------------------------------


def _email_of_length(n: int) -> str:
    return "a" * (n - len("@example.com")) + "@example.com"


LIMITS = [
    ("email", 320, lambda n: _email_of_length(n)),
    ("phone", 20, lambda n: "+" + "1" * (n - 1)),
    ("crmId", 128, lambda n: "c" * n),
    ("visitorId", 38, lambda n: "v" * n),
    ("firstName", 256, lambda n: "ą" * n),
    ("lastName", 256, lambda n: "Ł" * n),
]


@pytest.mark.parametrize(("field", "limit", "value_of"), LIMITS, ids=[f[0] for f in LIMITS])
def test_field_length_limit_at_n_and_n_plus_1(sandbox, tmp_path, field, limit, value_of):
    header = ["email", field] if field != "email" else ["email"]
    ok_email, bad_email = ("ok@example.com", "bad@example.com") if field != "email" else (None, None)
    rows = (
        [[ok_email, value_of(limit)], [bad_email, value_of(limit + 1)]]
        if field != "email"
        else [[value_of(limit)], [value_of(limit + 1)]]
    )
    run = import_customers(sandbox, tmp_path, header, rows)
    assert run.exit_code == 1, run.stderr
    assert len(run.rejected) == 1
    rejected = run.rejected[0]
    assert rejected["_row"] == "3" and rejected["_field"] == field and rejected["_stage"] == "validation"
    assert f"at most {limit}" in rejected["_error"] and f"has {limit + 1} characters" in rejected["_error"]
    stored = customer(sandbox, ok_email or value_of(limit))
    assert stored is not None and stored[field] == value_of(limit)


def test_attribute_name_limit_is_checked_before_sending(sandbox, tmp_path):
    # --no-preflight: the sandbox's settings define no such attribute (tests/test_preflight.py covers that)
    ok = import_customers(sandbox, tmp_path, ["email", "attr." + "n" * 256], [["a@example.com", "x"]], "--no-preflight")
    assert ok.exit_code == 0
    assert customer(sandbox, "a@example.com")["customAttributes"] == [{"name": "n" * 256, "value": "x"}]
    sandbox.stats.reset()
    too_long = import_customers(sandbox, tmp_path, ["email", "attr." + "n" * 257], [["b@example.com", "x"]])
    assert too_long.exit_code == 2
    assert "attribute name must have 1 to 256 characters" in too_long.stderr
    assert sandbox.stats.total == 0


@pytest.mark.parametrize(
    ("consent_id", "code"),
    [("2147483647", 0), ("-2147483648", 0), ("2147483648", 2), ("x", 2)],
    ids=["int32-max", "int32-min", "int32-max+1", "not-a-number"],
)
def test_consent_id_must_be_int32(sandbox, tmp_path, consent_id, code):
    run = import_customers(
        sandbox, tmp_path, ["email", f"consent.{consent_id}"], [["a@example.com", "True"]], "--no-preflight"
    )  # the sandbox defines no such consent (see tests/test_preflight.py)
    assert run.exit_code == code, run.stderr
    if code == 0:
        assert sent_records(sandbox)[0]["consentsData"] == {"consents": [{"id": int(consent_id), "value": "True"}]}
    else:
        assert "32-bit integer" in run.stderr and sandbox.stats.total == 0


# -- enums and normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "sent"),
    [("Male", "Male"), ("female", "Female"), ("NOTSPECIFIED", "NotSpecified"), (" male ", "Male")],
)
def test_gender_is_case_insensitive_and_sent_in_documented_spelling(sandbox, tmp_path, written, sent):
    run = import_customers(sandbox, tmp_path, ["email", "gender"], [["g@example.com", written]])
    assert run.exit_code == 0
    assert customer(sandbox, "g@example.com")["gender"] == sent


def test_unknown_gender_is_rejected_with_the_allowed_values(sandbox, tmp_path):
    run = import_customers(sandbox, tmp_path, ["email", "gender"], [["g@example.com", "M"]])
    assert run.exit_code == 1
    assert run.rejected[0]["_error"] == "gender: 'M' is not one of Male, Female, NotSpecified"
    assert sandbox.stats.total == 0  # nothing left to send


@pytest.mark.parametrize(("written", "sent"), [("true", "True"), ("FALSE", "False"), ("True", "True")])
def test_consent_values_are_case_insensitive(sandbox, tmp_path, written, sent):
    run = import_customers(sandbox, tmp_path, ["email", "consent.3"], [["c@example.com", written]])
    assert run.exit_code == 0
    assert customer(sandbox, "c@example.com")["consentsData"]["consents"] == [{"id": 3, "value": sent}]


def test_awaiting_confirmation_needs_explicit_permission(sandbox, tmp_path):
    rows = [["a@example.com", "awaitingconfirmation"], ["b@example.com", "True"]]
    refused = import_customers(sandbox, tmp_path, ["email", "consent.1"], rows)
    assert refused.exit_code == 1
    assert refused.rejected[0]["email"] == "a@example.com"
    assert "--allow-confirmation-emails" in refused.rejected[0]["_error"]
    assert customer(sandbox, "a@example.com") is None and customer(sandbox, "b@example.com") is not None
    allowed = import_customers(sandbox, tmp_path, ["email", "consent.1"], rows, "--allow-confirmation-emails")
    assert allowed.exit_code == 0
    assert customer(sandbox, "a@example.com")["consentsData"]["consents"][0]["value"] == "AwaitingConfirmation"


def test_normalisation_of_email_phone_and_dates(sandbox, tmp_path):
    header = ["email", "phone", "dateOfBirth"]
    rows = [
        ["  Mixed.Case@Example.COM ", " +48 (601) 234-567 ", "1990-05-17T08:30:00+02:00"],
        ["b@example.com", "601.234.568", "1985-01-02"],
        ["c@example.com", "", "1985-01-02 23:15:00Z"],
    ]
    run = import_customers(sandbox, tmp_path, header, rows)
    assert run.exit_code == 0, run.rejected
    sent = sent_records(sandbox)
    assert sent[0] == {
        "email": "mixed.case@example.com",
        "phone": "+48601234567",
        "dateOfBirth": "1990-05-17T06:30:00.000Z",
    }
    assert sent[1] == {"email": "b@example.com", "phone": "601234568", "dateOfBirth": "1985-01-02T00:00:00.000Z"}
    assert sent[2] == {"email": "c@example.com", "dateOfBirth": "1985-01-02T23:15:00.000Z"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "no-at-sign"),
        ("email", "two@@example.com"),
        ("email", "sp ace@example.com"),
        ("phone", "48-abc"),
        ("phone", "++48"),
        ("dateOfBirth", "1990-02-30"),
        ("dateOfBirth", "17/05/1990"),
    ],
)
def test_malformed_values_are_rejected(sandbox, tmp_path, field, value):
    header = ["email", field] if field != "email" else ["email"]
    row = ["x@example.com", value] if field != "email" else [value]
    run = import_customers(sandbox, tmp_path, header, [row])
    assert run.exit_code == 1
    assert run.rejected[0]["_field"] == field and value.strip() in run.rejected[0]["_error"]


def test_every_reason_of_a_row_is_reported(sandbox, tmp_path):
    run = import_customers(
        sandbox, tmp_path, ["email", "gender", "dateOfBirth", "consent.1"], [["bad", "x", "never", "perhaps"]]
    )
    rejected = run.rejected[0]
    assert rejected["_field"] == "email;dateOfBirth;gender;consent.1"
    assert rejected["_error"].count(";") == 3


# -- file formats and cells ------------------------------------------------------------------------


def test_csv_with_bom_crlf_quotes_newlines_and_unicode(sandbox, tmp_path):
    rows = [
        ["zoe@example.com", 'Zoë "Zee", the first\nof her name'],
        ["lukasz@example.com", "Łukasz 李 😀"],
    ]
    run = import_customers(sandbox, tmp_path, HEADER, rows, bom=True, crlf=True)
    assert run.exit_code == 0, run.stderr
    assert customer(sandbox, "zoe@example.com")["firstName"] == 'Zoë "Zee", the first\nof her name'
    assert customer(sandbox, "lukasz@example.com")["firstName"] == "Łukasz 李 😀"


def test_empty_cells_are_absent_and_do_not_erase_stored_values(sandbox, tmp_path):
    header = ["email", "firstName", "lastName", "attr.loyaltyTier"]
    first = import_customers(sandbox, tmp_path, header, [["e@example.com", "Ewa", "Nowak", "gold"]])
    assert first.exit_code == 0
    second = import_customers(sandbox, tmp_path, header, [["e@example.com", "", "  ", ""]], "--mode", "Update")
    assert second.exit_code == 0
    assert sent_records(sandbox)[-1] == {"email": "e@example.com"}
    stored = customer(sandbox, "e@example.com")
    assert (stored["firstName"], stored["lastName"]) == ("Ewa", "Nowak")


def test_parquet_with_typed_columns(sandbox, tmp_path):
    source = tmp_path / "customers.parquet"
    pl.DataFrame(
        {"email": ["p@example.com"], "crmId": [1234], "dateOfBirth": [date(1990, 5, 17)], "consent.1": [True]}
    ).write_parquet(source)
    run = run_cli(["customers", str(source)], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr
    assert sent_records(sandbox) == [
        {
            "email": "p@example.com",
            "crmId": "1234",
            "dateOfBirth": "1990-05-17T00:00:00.000Z",
            "consentsData": {"consents": [{"id": 1, "value": "True"}]},
        }
    ]


def test_several_files_in_one_run_keep_their_own_row_numbers(sandbox, tmp_path):
    a = write_csv(tmp_path / "a.csv", HEADER, [["a@example.com", "A"], ["bad", "B"]])
    b = write_csv(tmp_path / "b.csv", ["email", "lastName"], [["bad2", "C"], ["d@example.com", "D"]])
    run = run_cli(
        ["customers", str(a), str(b), "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 1
    assert [(Path(r["_file"]).name, r["_row"]) for r in run.rejected] == [("a.csv", "3"), ("b.csv", "2")]
    assert run.summary["rows_accepted"] == 2


def test_unknown_columns_are_warned_once_and_underscore_columns_ignored(sandbox, tmp_path):
    run = import_customers(
        sandbox, tmp_path, ["email", "shoeSize", "_note", "notes"], [["a@example.com", "42", "x", "y"]] * 1
    )
    assert run.exit_code == 0
    assert run.stderr.count("Ignored columns") == 1 and "shoeSize, notes" in run.stderr and "_note" not in run.stderr
    assert sent_records(sandbox) == [{"email": "a@example.com"}]


def test_missing_match_column_stops_before_sending(sandbox, tmp_path):
    run = import_customers(sandbox, tmp_path, ["phone", "firstName"], [["+48601234567", "A"]])
    assert run.exit_code == 2
    assert "no 'email' column" in run.stderr and "Hint:" in run.stderr
    assert sandbox.stats.total == 0 and not (tmp_path / "report").exists()


def test_match_by_phone_requires_phone_on_every_row(sandbox, tmp_path):
    rows = [["+48 601 234 567", "A"], ["", "B"]]
    run = import_customers(sandbox, tmp_path, ["phone", "firstName"], rows, "--match-by", "PhoneNumber")
    assert run.exit_code == 1
    assert run.rejected[0]["_error"] == "phone: is required when matching customers by PhoneNumber"
    assert sandbox.stats.json_bodies("/customers")[0]["matchBy"] == "PhoneNumber"


def test_match_by_guid_is_refused_with_a_reason(sandbox, tmp_path):
    run = import_customers(sandbox, tmp_path, HEADER, [["a@example.com", "A"]], "--match-by", "GUID")
    assert run.exit_code == 2 and "documents no customer field" in run.stderr
    assert sandbox.stats.total == 0


def test_repeated_customer_is_sent_once_and_the_repeat_reported(sandbox, tmp_path):
    rows = [["a@example.com", "First"], ["A@Example.com", "Second"]]
    run = import_customers(sandbox, tmp_path, HEADER, rows)
    assert run.exit_code == 1
    assert "the same email as row 2" in run.rejected[0]["_error"]
    assert customer(sandbox, "a@example.com")["firstName"] == "First"


def test_lengths_count_utf16_units_like_the_platform(sandbox, tmp_path):
    """An emoji is two UTF-16 code units: 128 fit in firstName (256), 129 do not."""
    rows = [["fits@example.com", "😀" * 128], ["over@example.com", "😀" * 129]]
    run = import_customers(sandbox, tmp_path, HEADER, rows)
    assert run.exit_code == 1
    assert run.rejected[0]["_error"] == "firstName: has 258 characters; at most 256 are allowed"
    assert customer(sandbox, "fits@example.com")["firstName"] == "😀" * 128
