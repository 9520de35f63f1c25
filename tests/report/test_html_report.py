"""report.html: renders in a real headless browser (Debian's chromium) without console errors, shows the
outcome, the funnel and the reject table, is self-contained, escapes the data, and re-renders from the
report directory."""

from __future__ import annotations

import os
import re
import stat

import pytest

from importer.report.reject_groups import summarise
from importer.sandbox import Faults, SandboxServer
from tests.support import ROOT, run_cli, sandbox_env, write_csv
from tests.support.browser import CHROMIUM, Browser

HEADER = ["email", "firstName", "gender", "dateOfBirth"]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)"
)


def rows_with_problems() -> list[list[str]]:
    rows = [[f"c{i}@example.com", f"Name{i}", "Female", "1990-05-17"] for i in range(40)]
    rows += [[f"bad{i}.example.com", "X", "", ""] for i in range(4)]  # 4 x the same reason, different values
    rows += [["k1@example.com", "K", "Kobieta", ""], ["k2@example.com", "K", "Mężczyzna", ""]]
    rows += [["d@example.com", "D", "", "1985-02-30"]]
    rows += [["x@example.com", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", ""]]
    return rows


@pytest.fixture
def bumpy_sandbox():
    """A sandbox that answers some requests 429 or 5xx, so the run has retries to draw."""
    with SandboxServer(faults=Faults(throttle_rate=0.25, error_rate=0.1, seed=3)) as server:
        yield server


@needs_chromium
def test_report_renders_in_chromium_with_funnel_and_reject_table(bumpy_sandbox, tmp_path):
    source = write_csv(tmp_path / "customers.csv", HEADER, rows_with_problems())
    run = run_cli(
        ["customers", str(source), "--max-rejects", "25%", "--chunk-size", "4", "--rate", "5"],
        env=sandbox_env(bumpy_sandbox),
        report_dir=tmp_path / "report",
    )
    assert run.exit_code == 1, run.stderr
    assert run.summary["retries"] > 0 and len(run.summary["timeline"]["rows"]) >= 3
    page = run.report_dir / "report.html"
    selectors = ["#outcome", "#funnel", "#rejects", "#options", "svg.chart title"]
    with Browser(tmp_path / "chromium-profile") as browser:
        seen = browser.open(page.as_uri(), selectors, screenshot=tmp_path / "report.png")
    assert seen.errors == []
    text = seen.texts
    assert text["#outcome"] == "40 of 48 rows are in the platform; 8 rows rejected (fix them in rejected.csv)."
    assert re.sub(r"\s+", " ", text["#funnel"]) == (
        "read 48 valid 40 8 rejected before sending (see below) sent 40 accepted 40"
    )
    rejects = text["#rejects"]
    assert "4\temail\tis not an e-mail address (one @, text on both sides, no spaces) validation" in rejects
    assert "customers.csv row 42: bad0.example.com" in rejects  # an example: file, row, the value
    assert "3\tgender\tis not one of Male, Female, NotSpecified" in rejects
    assert "customers.csv row 49: <img src=x onerror=alert(1)>" in rejects  # shown as text, not run
    assert "API key from\tenvironment variable ECDP_API_KEY" in text["#options"]
    assert text["svg.chart title"] == "Rejected rows by reason"
    assert (tmp_path / "report.png").stat().st_size > 10_000  # a screenshot to look at, in the test's tmp dir
    assert bumpy_sandbox.api_key not in page.read_text(encoding="utf-8")


@needs_chromium
def test_the_browser_check_catches_console_errors_and_blocked_loads(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        '<!doctype html><p id="p">hi</p><img src="missing.png">'
        '<script>console.error("boom"); throw new Error("uncaught")</script>',
        encoding="utf-8",
    )
    with Browser(tmp_path / "profile") as browser:
        seen = browser.open(page.as_uri(), ["#p"])
    assert seen.texts["#p"] == "hi"
    assert any("boom" in e for e in seen.errors)
    assert any("uncaught" in e for e in seen.errors)
    assert any("missing.png" in e or "ERR_FILE_NOT_FOUND" in e for e in seen.errors)


def test_report_is_self_contained_escaped_and_private(sandbox, tmp_path):
    source = write_csv(tmp_path / "customers.csv", HEADER, rows_with_problems())
    run = run_cli(
        ["customers", str(source), "--max-rejects", "25%"], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    html = (run.report_dir / "report.html").read_text(encoding="utf-8")
    assert stat.S_IMODE(os.stat(run.report_dir / "report.html").st_mode) == 0o600
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched from anywhere
    assert not re.search(r"@import|url\(", html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert sandbox.api_key not in html


def test_report_command_renders_again_from_the_directory(sandbox, tmp_path):
    source = write_csv(tmp_path / "customers.csv", HEADER, rows_with_problems())
    run = run_cli(
        ["customers", str(source), "--max-rejects", "25%"], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    page = run.report_dir / "report.html"
    first = page.read_bytes()
    page.unlink()
    again = run_cli(["report", str(run.report_dir)], imports=False)
    assert again.exit_code == 0 and again.stdout == f"{page}\n"
    assert page.read_bytes() == first
    not_a_report = run_cli(["report", str(tmp_path)], imports=False)
    assert not_a_report.exit_code == 2
    assert f"{tmp_path} has no summary.json: it is not a report directory" in not_a_report.stderr


def test_orders_rejects_group_by_reason_not_by_value(sandbox, tmp_path):
    run = run_cli(
        ["orders", str(ROOT / "sample_data" / "orders.csv"), "--max-rejects", "25%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1
    found = summarise(run.report_dir / "rejected.csv")
    groups = [(g.field, g.reason, g.rows, [(e.row, e.value) for e in g.examples]) for g in found.groups]
    assert groups == [
        (
            "",
            "another line of the same order is invalid (the order is sent whole or not at all)",
            3,
            [("9", "ORD-2024-1006"), ("10", "ORD-2024-1006"), ("11", "ORD-2024-1006")],
        ),
        ("product.quantity", "is not a whole number from 1 to 2147483647", 1, [("12", "0")]),
    ]
    assert (found.rows, found.by_stage) == (4, {"validation": 4})


def test_a_dry_run_and_a_stopped_run_say_nothing_was_sent(tmp_path):
    source = write_csv(tmp_path / "customers.csv", HEADER, rows_with_problems())
    dry = run_cli(["customers", str(source), "--dry-run", "--max-rejects", "25%"], report_dir=tmp_path / "dry")
    html = (dry.report_dir / "report.html").read_text(encoding="utf-8")
    assert "Dry run: 40 of 48 rows would be sent; 8 rows rejected" in html
    assert "Nothing was sent: this was a dry run." in html
    stopped = run_cli(["customers", str(source), "--dry-run"], report_dir=tmp_path / "stopped")
    html = (stopped.report_dir / "report.html").read_text(encoding="utf-8")
    assert 'class="outcome stopped"' in html
    assert (
        "Dry run: a real run would be stopped before sending: "
        "error budget: 8 of 48 rows rejected (17%) &gt; 10%" in html
    )
