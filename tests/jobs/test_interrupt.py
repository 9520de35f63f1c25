"""Ctrl-C on a running import (a real process, a real SIGINT): report written, every row accounted for."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
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


def start_import(server: SandboxServer, tmp_path: Path) -> subprocess.Popen[str]:
    source = write_csv(tmp_path / "in.csv", ["email"], [[f"c{i}@example.com"] for i in range(400)])
    env = {**os.environ, "ECDP_API_KEY": server.api_key, "ECDP_API_URL": server.url}
    process = subprocess.Popen(
        [BIN / "ecdp-import", "customers", source, "--chunk-size", "10", "--concurrency", "2",
         "--report-dir", tmp_path / "report", "--output", "full"],  # full: the Ctrl-C note is for a person
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while server.stats.total < 2 and time.monotonic() < deadline:  # sending has begun
        time.sleep(0.02)
    return process


@pytest.mark.parametrize("presses", [1, 2], ids=["once-finishes-in-flight", "twice-abandons"])
def test_ctrl_c_writes_the_report_and_accounts_for_every_row(slow_sandbox, tmp_path, presses):
    process = start_import(slow_sandbox, tmp_path)
    process.send_signal(signal.SIGINT)
    if presses == 2:
        time.sleep(0.05)
        process.send_signal(signal.SIGINT)
    pressed = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    stopped_after = time.monotonic() - pressed
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    summary = orjson.loads((tmp_path / "report" / "summary.json").read_bytes())
    assert_accounted(summary)
    assert summary["rows_failed"] > 0 and "interrupted" in summary["aborted"]
    accepted, stored = summary["rows_accepted"], slow_sandbox.store.counts().customers
    with open(tmp_path / "report" / "failed.csv", newline="", encoding="utf-8") as handle:
        failed = list(csv.DictReader(handle))
    reasons = {row["_error"] for row in failed}
    assert len(failed) == len({row["_row"] for row in failed}) == summary["rows_failed"]  # each row once
    if presses == 1:
        assert "Stopping: finishing the requests in flight" in stderr
        assert accepted >= 10 and accepted == stored  # requests in flight were finished and answered
        assert reasons == {"not sent: interrupted (Ctrl-C)"}
    else:
        assert stopped_after < 0.4  # did not wait for the 400 ms answers
        assert accepted <= stored <= accepted + 2 * 10  # at most the 2 abandoned requests were stored unknowingly
        assert any(r.startswith("sent, but no answer came") for r in reasons)
        assert any(r.startswith("not sent: interrupted (Ctrl-C twice)") for r in reasons)
