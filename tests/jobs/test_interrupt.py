"""Ctrl-C and SIGTERM on a running import (a real process, a real signal): report written, every row accounted
for, and --resume sends the rest (SIGTERM is what `timeout`, systemd and Kubernetes send)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from importer.sandbox import Faults, SandboxServer
from tests.support import assert_accounted, write_csv

BIN = Path(sys.executable).parent


@pytest.fixture
def slow_sandbox():
    with SandboxServer(faults=Faults(latency_ms=400)) as server:
        yield server


@pytest.fixture
def slower_sandbox():
    """Answers that take 1.5 s: a run that abandons them stops well before, even on a loaded machine (its
    report takes a few tenths of a second to write)."""
    with SandboxServer(faults=Faults(latency_ms=1500)) as server:
        yield server


def start_import(server: SandboxServer, tmp_path: Path, *extra: str | Path) -> subprocess.Popen[str]:
    source = tmp_path / "in.csv"
    if not source.exists():
        write_csv(source, ["email"], [[f"c{i}@example.com"] for i in range(400)])
    env = {**os.environ, "ECDP_API_KEY": server.api_key, "ECDP_API_URL": server.url}
    process = subprocess.Popen(
        [
            BIN / "ecdp-import",
            "customers",
            source,
            "--chunk-size",
            "10",
            "--concurrency",
            "2",
            "--report-dir",
            tmp_path / "report",
            "--output",
            "full",
            *extra,
        ],  # full: the Ctrl-C note is for a person
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while server.stats.total < 2 and time.monotonic() < deadline:  # sending has begun
        time.sleep(0.02)
    return process


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("presses", [1, 2], ids=["once-finishes-in-flight", "twice-abandons"])
def test_ctrl_c_writes_the_report_and_accounts_for_every_row(slower_sandbox, tmp_path, presses, number):
    name = "Ctrl-C" if number == signal.SIGINT else "SIGTERM"
    process = start_import(slower_sandbox, tmp_path)
    process.send_signal(number)
    if presses == 2:
        time.sleep(0.05)
        process.send_signal(number)
    pressed = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    stopped_after = time.monotonic() - pressed
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    summary = orjson.loads((tmp_path / "report" / "summary.json").read_bytes())
    assert_accounted(summary)
    assert summary["rows_failed"] > 0 and "interrupted" in summary["aborted"]
    accepted, stored = summary["rows_accepted"], slower_sandbox.store.counts().customers
    with open(tmp_path / "report" / "failed.csv", newline="", encoding="utf-8") as handle:
        failed = list(csv.DictReader(handle))
    reasons = {row["_error"] for row in failed}
    assert len(failed) == len({row["_row"] for row in failed}) == summary["rows_failed"]  # each row once
    if presses == 1:
        assert f"Stopping: finishing the requests in flight ({name} again to abandon them)" in stderr
        assert accepted >= 10 and accepted == stored  # requests in flight were finished and answered
        assert reasons == {f"not sent: interrupted ({name})"}
    else:
        assert stopped_after < 1.2  # did not wait for the 1.5 s answers
        assert accepted <= stored <= accepted + 2 * 10  # at most the 2 abandoned requests were stored unknowingly
        assert any(r.startswith("sent, but no answer came") for r in reasons)
        assert any(r.startswith(f"not sent: interrupted ({name} twice)") for r in reasons)


def test_sigterm_then_resume_sends_every_record_once(slow_sandbox, tmp_path):
    """`timeout 60 ecdp-import ...` in a crontab: SIGTERM mid-run, then the next run with --resume. The journal
    records the run as interrupted with its counts, and the two runs together send each record exactly once."""
    state = tmp_path / "state" / "state.db"
    process = start_import(slow_sandbox, tmp_path, "--state", state)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1, stderr
    summary = orjson.loads((tmp_path / "report" / "summary.json").read_bytes())
    assert summary["aborted"] == "interrupted (SIGTERM)" and 0 < summary["rows_accepted"] < 400
    runs = subprocess.run([BIN / "ecdp-import", "runs", "--state", state], capture_output=True, text=True, check=True)
    line = next(row for row in runs.stdout.splitlines() if summary["run_id"] in row).split()
    assert line[3:5] == ["interrupted", "1"] and str(summary["rows_accepted"]) in line

    resumed = start_import(slow_sandbox, tmp_path, "--state", state, "--resume")
    _, stderr = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, stderr
    again = orjson.loads((tmp_path / "report" / "summary.json").read_bytes())
    assert again["records_already_accepted"] == summary["records_accepted"]
    assert again["records_accepted"] == 400 - summary["records_accepted"]
    sent = Counter(record["email"] for body in slow_sandbox.stats.json_bodies("/customers") for record in body["data"])
    assert len(sent) == 400 and set(sent.values()) == {1}  # none lost, none sent twice
    assert slow_sandbox.store.counts().customers == 400
