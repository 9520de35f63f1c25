"""Files of thousands of columns: the cost grows with the columns, not with their square, and messages
name a few columns and count the rest (issue 31)."""

from __future__ import annotations

import time
from pathlib import Path

import importer
from bench.wide import wide_file
from importer.settings import RunOptions
from tests.support import run_cli, sandbox_env


def _cpu_seconds(path: Path, report: Path) -> float:
    """The process CPU time (every thread: polars works in its own) of one dry run through the library."""
    started = time.process_time()
    result = importer.import_customers(path, run=RunOptions(dry_run=True, report_dir=report, report_html=False))
    assert result.summary.rows_read == 20
    return time.process_time() - started


def test_four_times_the_columns_cost_less_than_five_times_the_time(tmp_path):
    """Measured as a ratio in one run, alternating the two files (the machine's speed drifts): a stage that
    is quadratic in the columns makes 4,000 columns cost ~16 times 1,000 (it was 11 times before issue 31)."""
    narrow = wide_file(tmp_path / "c1000.csv", 1_000, 20)
    wide = wide_file(tmp_path / "c4000.csv", 4_000, 20)
    _cpu_seconds(narrow, tmp_path / "warm")  # (imports and first-use caches outside the measurement)
    narrow_times, wide_times = [], []
    for round_ in range(3):
        narrow_times.append(_cpu_seconds(narrow, tmp_path / f"n{round_}"))
        wide_times.append(_cpu_seconds(wide, tmp_path / f"w{round_}"))
    ratio = min(wide_times) / min(narrow_times)
    assert ratio <= 5, (narrow_times, wide_times)


def test_ten_thousand_attribute_columns_the_platform_does_not_know_make_a_short_message(platform, tmp_path):
    path = wide_file(tmp_path / "c10000.csv", 10_000, 2)
    run = run_cli(["customers", str(path)], env=sandbox_env(platform), report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert "The platform defines no attribute or consent for 10,000 columns of the input" in run.stderr
    assert "attr.a0 (customer attribute 'a0')" in run.stderr and "… and 9,980 more" in run.stderr
    assert len(run.stdout) + len(run.stderr) <= 20_000


def test_ten_thousand_attribute_columns_check_every_cell(tmp_path):
    """A dry run of 10,000 columns x 2 rows finishes with a short output, and a bad cell in the last column
    is still found and named."""
    path = wide_file(tmp_path / "c10000.csv", 10_000, 2)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1].rsplit(",", 1)[0] + ",#N/A"  # a spreadsheet error value in attr.a9999 of the 2nd row
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_cli(["customers", str(path), "--dry-run", "--max-rejects", "100%"], report_dir=tmp_path / "r")
    assert run.exit_code == 1, run.stderr
    assert len(run.stdout) + len(run.stderr) <= 20_000
    [rejected] = run.rejected
    assert rejected["email"] == "u1@example.com" and rejected["_field"] == "attr.a9999"
    assert "spreadsheet error value" in rejected["_error"]
