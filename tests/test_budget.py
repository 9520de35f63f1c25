"""The error budget (--max-rejects): a broken export is stopped before anything reaches the platform."""

from __future__ import annotations

import tempfile

import orjson
import pytest

from importer.budget import Budget, judge
from importer.jobs.imports import import_customers
from importer.settings import ApiKey, ApiSettings, CustomerOptions, RunOptions
from tests.support import assert_accounted, run_cli, sandbox_env, write_csv

HEADER = ["email", "firstName"]


def half_bad(tmp_path, good: int = 5, bad: int = 5):
    rows = [[f"ok{i}@example.com", "Ok"] for i in range(good)] + [[f"broken-{i}", "Bad"] for i in range(bad)]
    return write_csv(tmp_path / "export.csv", HEADER, rows)


def test_a_half_broken_export_sends_nothing_and_says_why(sandbox, tmp_path):
    run = run_cli(["customers", str(half_bad(tmp_path))], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 2, run.stderr
    assert sandbox.stats.total == 0  # not one request reached the platform
    summary = run.summary
    assert summary["stopped"] == "error budget: 5 of 10 rows rejected (50%) > 10% (--max-rejects); nothing was sent"
    assert summary["exit_code"] == 2 and summary["max_rejects"] == "10%"
    assert (summary["rows_valid"], summary["rows_sent"], summary["requests"]) == (5, 0, 0)
    assert_accounted(summary)
    assert {r["_row"] for r in run.rejected} == {"7", "8", "9", "10", "11"}
    # the valid rows are held back, never attempted: not failed, not rows to retry
    assert (summary["rows_held"], summary["rows_failed"], summary["failed_file"]) == (5, 0, None)
    assert not (run.report_dir / "failed.csv").exists()
    held = run.rows("held.csv")
    assert {r["_error"] for r in held} == {f"held back, not sent (valid): {summary['stopped']}"}
    assert {r["_row"] for r in held} == {"2", "3", "4", "5", "6"} and summary["held_file"].endswith("held.csv")
    assert "stopped:   error budget: 5 of 10 rows rejected (50%) > 10%" in run.stdout
    assert "held back: 5 valid rows: nothing was sent (they are in held.csv)" in run.stdout
    assert "held.csv: valid rows held back by the stop" in run.stdout and "failed.csv" not in run.stdout
    assert "rows:      0 accepted, 5 rejected, 0 failed, 5 held back" in run.stdout
    html = (run.report_dir / "report.html").read_text(encoding="utf-8")
    assert (
        "Stopped before sending anything: error budget: 5 of 10 rows rejected (50%) &gt; 10% (--max-rejects). "
        "5 valid rows held back, none sent (held.csv)."
    ) in html
    assert "5 valid rows held back (held.csv)" in html and 'href="held.csv"' in html


def test_a_dry_run_says_that_a_real_run_would_be_stopped(tmp_path):
    run = run_cli(["customers", str(half_bad(tmp_path)), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert run.summary["stopped"].endswith("> 10% (--max-rejects); a real run would send nothing")
    assert not (run.report_dir / "payloads.jsonl").exists() and run.summary["payloads_file"] is None
    assert "payloads:" not in run.stdout
    assert_accounted(run.summary)
    assert (run.summary["rows_held"], run.summary["rows_would_send"], run.summary["rows_failed"]) == (5, 0, 0)
    assert "held back: 5 valid rows: a real run would send none of them" in run.stdout
    assert "failed" not in run.stdout and "accepted" not in run.stdout  # nothing was attempted


@pytest.mark.parametrize(
    ("budget", "good", "bad", "stopped"),
    [
        ("10%", 9, 1, False),  # 10% is not more than 10%
        ("10%", 8, 2, True),
        ("100%", 0, 4, False),  # 100% turns the check off
        ("0", 9, 1, True),  # any rejected row stops the run
        ("2", 8, 2, False),  # a count: at most 2 rows
        ("2", 7, 3, True),
        ("33.3%", 2, 1, True),  # 33.33...% > 33.3%
    ],
    ids=["at-the-limit", "over", "off", "zero", "count-at-limit", "count-over", "fraction"],
)
def test_budget_limits(sandbox, tmp_path, budget, good, bad, stopped):
    run = run_cli(
        ["customers", str(half_bad(tmp_path, good, bad)), "--max-rejects", budget],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == (2 if stopped else 1), run.stdout + run.stderr
    assert (run.summary["stopped"] is not None) == stopped
    assert run.summary["rows_accepted"] == (0 if stopped else good)
    assert sandbox.stats.total == (0 if stopped or not good else 1)  # one request when something is sent


def test_budget_from_the_config_file_and_the_command_line_wins(sandbox, tmp_path, monkeypatch):
    (tmp_path / "ecdp-import.toml").write_text('[defaults]\nmax-rejects = "60%"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    source = half_bad(tmp_path)
    allowed = run_cli(["customers", str(source)], env=sandbox_env(sandbox), report_dir=tmp_path / "r1")
    assert allowed.exit_code == 1 and allowed.summary["max_rejects"] == "60%"
    stopped = run_cli(
        ["customers", str(source), "--max-rejects", "40%"], env=sandbox_env(sandbox), report_dir=tmp_path / "r2"
    )
    assert stopped.exit_code == 2 and stopped.summary["max_rejects"] == "40%"


@pytest.mark.parametrize("value", ["ten", "10 %%", "150%", "-1", "2.5", "%"])
def test_a_malformed_budget_is_a_usage_error(tmp_path, value):
    run = run_cli(["customers", str(half_bad(tmp_path)), "--max-rejects", value, "--dry-run"])
    assert run.exit_code == 2 and "--max-rejects" in run.stderr and "Traceback" not in run.stderr


def test_budget_parsing_and_the_sentence():
    assert Budget.parse("10%") == Budget(10.0, True) and Budget.parse(50) == Budget(50.0, False)
    assert str(Budget.parse(" 2.5 % ")) == "2.5%" and str(Budget.parse("7")) == "7"
    verdict = judge(Budget.parse("10%"), 1000, 101)
    assert verdict.stopped == "error budget: 101 of 1000 rows rejected (10.1%) > 10% (--max-rejects); nothing was sent"
    assert judge(Budget.parse("10%"), 1000, 100).stopped is None
    assert judge(Budget.parse("5"), 0, 0).stopped is None  # an empty file stops nothing


@pytest.mark.parametrize("dry_run", [False, True], ids=["sent", "dry-run"])
@pytest.mark.parametrize(("budget", "stopped"), [("10%", True), ("20%", False)])
def test_a_partitioned_run_holds_every_record_until_all_rows_are_validated(
    sandbox, tmp_path, monkeypatch, budget, stopped, dry_run
):
    """Partitions are prepared one by one; nothing may go out before the last one is validated, whichever
    partition the bad rows are in. Held records live in a private temporary folder, removed at the end."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    good = [[f"ok{i}@example.com", "Ok"] for i in range(170)]
    bad = [[f"broken-{i}", "Bad"] for i in range(30)]  # 15 %, all at the end of the file
    source = write_csv(tmp_path / "export.csv", HEADER, good + bad)
    run = RunOptions(
        report_dir=tmp_path / "r", progress=False, partitions=4, max_rejects=Budget.parse(budget), dry_run=dry_run
    )
    summary = import_customers(
        [source], ApiSettings(url=sandbox.url, key=ApiKey(sandbox.api_key)), CustomerOptions(), run
    ).summary.to_dict()
    assert_accounted(summary)
    assert summary["partitions"] == 4 and summary["rows_rejected"] == 30
    if stopped:
        assert summary["exit_code"] == 2 and sandbox.stats.count("POST", "/customers") == 0
        assert (summary["rows_held"], summary["rows_failed"], summary["rows_accepted"]) == (170, 0, 0)
        held = (tmp_path / "r" / "held.csv").read_text(encoding="utf-8").splitlines()
        assert len(held) == 171 and all(
            "held back, not sent (valid): error budget: 30 of 200 rows rejected" in f for f in held[1:]
        )
        assert not (tmp_path / "r" / "failed.csv").exists()
        assert not (tmp_path / "r" / "payloads.jsonl").exists()
    else:
        assert summary["exit_code"] == 1 and summary["rows_would_send" if dry_run else "rows_accepted"] == 170
        if dry_run:
            bodies = (tmp_path / "r" / "payloads.jsonl").read_text(encoding="utf-8").splitlines()
            assert sum(len(orjson.loads(body)["data"]) for body in bodies) == 170
        else:
            assert sandbox.store.counts().customers == 170
    assert list(temp.iterdir()) == []  # the spool and the held records are gone
