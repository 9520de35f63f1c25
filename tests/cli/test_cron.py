"""Under cron (no terminal): exactly one summary line on stdout, nothing on stderr but errors; JSON
events on stderr with --log-format json. Real processes, so stdout and stderr are real pipes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson

from tests.support import ORDER_LINE_COLUMNS, write_csv

BIN = Path(sys.executable).parent
LINE = re.compile(
    r"^(?P<command>customers|orders)(?: \((?P<profile>[^)]+)\))?: (?P<outcome>.+) \(exit (?P<code>\d)\): "
    r"(?P<read>\d+) read, (?P<valid>\d+) valid, (?P<sent>\d+) sent, (?P<accepted>\d+) accepted, "
    r"(?P<rejected>\d+) rejected, (?P<failed>\d+) failed; report (?P<report>\S+/report\.html)$"
)


def cron(args: list[object], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run like cron does: stdin, stdout and stderr are not terminals; a minimal environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ECDP_")} | env
    environment["ECDP_STATE"] = str(tmp_path / "state.db")
    return subprocess.run(
        [BIN / "ecdp-import", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=environment,
        cwd=tmp_path,
    )


def export(tmp_path: Path, bad: int = 1, extra_column: bool = False) -> Path:
    header = ["email", "firstName"] + (["shoeSize"] if extra_column else [])
    rows = [[f"c{i}@example.com", "C"] + (["42"] if extra_column else []) for i in range(19)]
    rows += [[f"broken{i}", "X"] + (["1"] if extra_column else []) for i in range(bad)]
    return write_csv(tmp_path / "export.csv", header, rows)


def test_one_line_on_stdout_and_nothing_else(sandbox, tmp_path):
    done = cron(
        ["customers", export(tmp_path, extra_column=True)],
        tmp_path,
        ECDP_API_KEY=sandbox.api_key,
        ECDP_API_URL=sandbox.url,
    )
    assert done.returncode == 1
    assert done.stderr == ""  # the "Ignored columns" warning is in the report, not in the cron mail
    assert done.stdout.count("\n") == 1
    found = LINE.match(done.stdout.rstrip("\n"))
    assert found, done.stdout
    assert found.group("outcome") == "imported with problems" and found.group("code") == "1"
    counts = [int(found.group(k)) for k in ("read", "valid", "sent", "accepted", "rejected", "failed")]
    assert counts == [20, 19, 19, 19, 1, 0]
    report = tmp_path / found.group("report")
    assert report.is_file()
    summary = orjson.loads((report.parent / "summary.json").read_bytes())
    assert summary["warnings"] == ["Ignored columns (not customers fields): shoeSize."]
    assert "Ignored columns (not customers fields): shoeSize." in report.read_text(encoding="utf-8")


def test_a_clean_run_and_a_stopped_run(sandbox, tmp_path):
    clean = cron(
        ["customers", export(tmp_path, bad=0), "--report-dir", "clean"],
        tmp_path,
        ECDP_API_KEY=sandbox.api_key,
        ECDP_API_URL=sandbox.url,
    )
    assert (clean.returncode, clean.stderr) == (0, "")
    assert clean.stdout == (
        "customers: imported (exit 0): 19 read, 19 valid, 19 sent, 19 accepted, 0 rejected, "
        "0 failed; report clean/report.html\n"
    )
    sandbox.reset()
    stopped = cron(
        ["customers", export(tmp_path, bad=10), "--report-dir", "stopped"],
        tmp_path,
        ECDP_API_KEY=sandbox.api_key,
        ECDP_API_URL=sandbox.url,
    )
    assert (stopped.returncode, stopped.stderr) == (2, "")
    assert stopped.stdout == (
        "customers: STOPPED: error budget: 10 of 29 rows rejected (34%) > 10% (--max-rejects); nothing was sent "
        "(exit 2): 29 read, 19 valid, 0 sent, 0 accepted, 10 rejected, 0 failed, 19 held back (not sent); "
        "report stopped/report.html\n"
    )
    assert sandbox.stats.total == 0


def test_a_dry_runs_line_counts_what_would_be_sent_never_sent_accepted_or_failed(tmp_path):
    """Nothing was attempted: the valid rows would be sent (or, stopped, are held back); none is called sent,
    accepted or failed."""
    checked = cron(["customers", export(tmp_path, bad=1), "--dry-run", "--report-dir", "checked"], tmp_path)
    assert (checked.returncode, checked.stderr) == (1, "")
    assert checked.stdout == (
        "customers: dry run found problems, nothing sent (exit 1): 20 read, 19 valid, "
        "19 would be sent, 1 rejected; report checked/report.html\n"
    )
    stopped = cron(["customers", export(tmp_path, bad=10), "--dry-run", "--report-dir", "stopped"], tmp_path)
    assert stopped.returncode == 2
    assert stopped.stdout == (
        "customers: STOPPED: error budget: 10 of 29 rows rejected (34%) > 10% (--max-rejects); a real run would "
        "send nothing (exit 2): 29 read, 19 valid, 10 rejected, 19 held back (a real run would send none); "
        "report stopped/report.html\n"
    )
    for line in (checked.stdout, stopped.stdout):
        assert not re.search(r"\d+ (sent|accepted|failed)\b", line)


def test_the_profile_is_named_in_the_line(sandbox, tmp_path):
    (tmp_path / "ecdp-import.toml").write_text(
        f'[profiles.shop-pl]\napi-url = "{sandbox.url}"\napi-key-env = "SHOP_PL_KEY"\n', encoding="utf-8"
    )
    done = cron(["customers", export(tmp_path, bad=0), "--profile", "shop-pl"], tmp_path, SHOP_PL_KEY=sandbox.api_key)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("customers (shop-pl): imported (exit 0): 19 read")


def test_json_log_format_puts_events_on_stderr(sandbox, tmp_path):
    done = cron(
        ["customers", export(tmp_path, extra_column=True), "--log-format", "json", "--chunk-size", "5"],
        tmp_path,
        ECDP_API_KEY=sandbox.api_key,
        ECDP_API_URL=sandbox.url,
    )
    assert done.returncode == 1
    assert LINE.match(done.stdout.rstrip("\n")) and done.stdout.count("\n") == 1
    events = [orjson.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    kinds = [e["event"] for e in events]
    assert kinds.count("chunk") == 4 and "warning" in kinds
    assert sandbox.api_key not in done.stderr + done.stdout


def test_errors_before_a_report_go_to_stderr_only(tmp_path):
    done = cron(["customers", export(tmp_path)], tmp_path)  # no key anywhere
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "Error: No API key: set ECDP_API_KEY or pass --api-key-file PATH.",
        "Hint: Use --dry-run to check a file without a key, or --sandbox to try the built-in sandbox.",
    ]


def test_output_full_prints_the_long_summary_without_a_terminal(tmp_path):
    done = cron(["customers", export(tmp_path, extra_column=True), "--dry-run", "--output", "full"], tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("customers: 20 rows read from") and "report.html" in done.stdout
    assert done.stderr == "Warning: Ignored columns (not customers fields): shoeSize.\n"


def test_the_bulk_commands_print_one_line_too(sandbox, tmp_path):
    env = {"ECDP_API_KEY": sandbox.api_key, "ECDP_API_URL": sandbox.url}
    orders = write_csv(
        tmp_path / "orders.csv",
        ORDER_LINE_COLUMNS,
        [[f"o{i}", "2024-11-01", "10", "a@example.com", "p", "P", "10", "1"] for i in range(3)],
    )
    assert cron(["orders", orders, "--no-preflight"], tmp_path, **env).returncode == 0
    statuses = write_csv(tmp_path / "statuses.csv", ["id", "status", "note"], [["o1", "paid", "x"], ["o9", "paid", ""]])
    done = cron(["order-status", statuses], tmp_path, **env)
    assert done.returncode == 1 and done.stderr == ""  # the warning about "note" is in the report only
    assert re.fullmatch(
        r"order-status: done with problems \(exit 1\): 2 read, 2 valid, 2 sent, 1 accepted, "
        r"1 rejected, 0 failed; report \S+/report\.html\n",
        done.stdout,
    ), done.stdout
    checked = cron(["verify", "orders", orders, "--no-preflight"], tmp_path, **env)
    assert checked.returncode == 0 and checked.stderr == ""
    assert re.fullmatch(
        r"verify orders: all match \(exit 0\): 3 read, 3 checked, 3 match, 0 different, "
        r"0 missing, 0 failed; report \S+\n",
        checked.stdout,
    ), checked.stdout
