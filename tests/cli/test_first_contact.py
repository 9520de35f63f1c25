"""First contact: what a new user sees trying the README's own sample, and when the API is not set up.

A dry run attempted nothing: it counts valid rows as "would be sent" (or, stopped by the error budget, as
held back), never as sent, accepted or failed; ``failed.csv`` holds only rows whose sending was attempted.
A missing or unreachable API names ``ECDP_API_KEY`` / ``ECDP_API_URL`` and the URL tried, without its
credentials."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from importer.settings import DEFAULT_API_URL, url_hint
from tests.support import ROOT, assert_accounted, run_cli

SAMPLE = ROOT / "sample_data"
NEVER = re.compile(r"\b\d+ (accepted|failed)\b|\brows to retry\b|\b\d+ failed\b")


@pytest.mark.parametrize(("command", "read", "valid", "rejected"), [("customers", 23, 20, 3), ("orders", 21, 17, 4)])
def test_the_readme_samples_dry_run_calls_no_row_failed_or_accepted(
    tmp_path: Path, command: str, read: int, valid: int, rejected: int
) -> None:
    """As the README's sample is first tried: the default budget (10 %) stops it; the valid rows are held
    back, and it says so; nothing is called failed or accepted, no failed.csv."""
    run = run_cli([command, str(SAMPLE / f"{command}.csv"), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2, run.stderr
    s = run.summary
    assert (s["rows_read"], s["rows_valid"], s["rows_rejected"]) == (read, valid, rejected)
    assert (s["rows_held"], s["rows_failed"], s["rows_would_send"], s["failed_file"]) == (valid, 0, 0, None)
    assert_accounted(s)
    assert not (run.report_dir / "failed.csv").exists() and len(run.rows("held.csv")) == valid
    assert f"held back: {valid} valid rows: a real run would send none of them" in run.stdout
    assert not NEVER.search(run.stdout), run.stdout
    html = (run.report_dir / "report.html").read_text(encoding="utf-8")
    assert f"{valid} valid rows would be held back, none sent" in html
    assert f"{valid} valid rows held back)" in html and "failed.csv" not in html and not NEVER.search(html)


@pytest.mark.parametrize("command", ["customers", "orders"])
def test_the_readme_samples_dry_run_within_its_budget_says_what_would_be_sent(tmp_path: Path, command: str) -> None:
    run = run_cli(
        [command, str(SAMPLE / f"{command}.csv"), "--dry-run", "--max-rejects", "25%"], report_dir=tmp_path / "r"
    )
    assert run.exit_code == 1, run.stderr
    s = run.summary
    assert s["rows_would_send"] == s["rows_valid"] and s["rows_accepted"] == s["rows_held"] == 0
    assert f"rows:      {s['rows_valid']} valid (would be sent), {s['rows_rejected']} rejected" in run.stdout
    assert not NEVER.search(run.stdout), run.stdout
    html = (run.report_dir / "report.html").read_text(encoding="utf-8")
    assert f"Dry run: {s['rows_valid']} of {s['rows_read']} rows would be sent" in html


def test_an_unreachable_url_names_it_and_ecdp_api_url(tmp_path: Path) -> None:
    """The API cannot be reached: the error names the URL tried and the setting that gives it."""
    run = run_cli(
        ["customers", str(SAMPLE / "customers.csv"), "--max-retries", "0", "--api-url", "https://127.0.0.1:9/api"],
        env={"ECDP_API_KEY": "k-1234567890"},
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2
    assert "Could not read the platform's settings from https://127.0.0.1:9/api: GET /customerattributes" in run.stderr
    assert "Check the API URL https://127.0.0.1:9/api (ECDP_API_URL or --api-url)" in run.stderr
    assert "k-1234567890" not in run.stderr + run.stdout


def test_the_default_url_is_named_as_the_default() -> None:
    """A key but no ECDP_API_URL: the default URL is tried, and the hint says which setting to give."""
    assert url_hint(DEFAULT_API_URL) == (
        f"{DEFAULT_API_URL} is the default API URL: set ECDP_API_URL (or pass --api-url) to your platform's address"
    )
    assert url_hint("https://user:secret@ecdp.example.com/api?token=t") == (
        "Check the API URL https://ecdp.example.com/api (ECDP_API_URL or --api-url)"
    )


def test_no_key_names_ecdp_api_key(tmp_path: Path) -> None:
    run = run_cli(["customers", str(SAMPLE / "customers.csv")], env={"ECDP_API_KEY": ""}, report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "No API key: set ECDP_API_KEY or pass --api-key-file PATH." in run.stderr


def test_rows_whose_sending_failed_are_failed_and_a_url_with_credentials_is_refused_unprinted(tmp_path: Path) -> None:
    """Rows sent to an address that never answers are failed (attempted), not held; an API URL carrying a
    user and password is refused before anything is sent, without printing them."""
    run = run_cli(
        [
            "customers",
            str(SAMPLE / "customers.csv"),
            "--max-retries",
            "0",
            "--no-preflight",
            "--max-rejects",
            "25%",
            "--api-url",
            "http://127.0.0.1:9/api",
        ],
        env={"ECDP_API_KEY": "k-1234567890"},
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1, run.stderr
    assert "imported into http://127.0.0.1:9/api" in run.stdout
    assert run.summary["rows_failed"] == 20 and run.summary["rows_held"] == 0  # attempted, and failed
    assert "failed.csv: rows whose sending failed: import again to retry" in run.stdout
    refused = run_cli(
        ["customers", str(SAMPLE / "customers.csv"), "--api-url", "http://user:secret-pw@127.0.0.1:9/api"],
        env={"ECDP_API_KEY": "k-1234567890"},
        report_dir=tmp_path / "r2",
    )
    assert refused.exit_code == 2 and "carries credentials" in refused.stderr
    assert "secret-pw" not in refused.stdout + refused.stderr


def test_the_readmes_dry_run_session_is_what_the_program_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's first dry run, line for line (the time taken and the report's folder aside)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    session = readme.split("$ .venv/bin/ecdp-import customers sample_data/customers.csv --dry-run\n", 1)[1]
    shown = session.split("\n$ ", 1)[0].splitlines()
    monkeypatch.chdir(ROOT)
    run = run_cli(["customers", "sample_data/customers.csv", "--dry-run"], report_dir=tmp_path / "r")

    def plain(lines: list[str]) -> list[str]:
        return [re.sub(r"\(\d+\.\d+ s\)", "(T s)", re.sub(r"report: +\S+", "report: DIR", line)) for line in lines]

    assert plain(run.stdout.splitlines()) == plain(shown)
