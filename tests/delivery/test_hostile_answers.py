"""Hostile answers over real loopback HTTP (the sandbox's faults): an answer that drips, a 400 of many MB, a
Retry-After of a day, throttling without end, a proxy's login page answered 200. Each run ends in bounded
time and memory, with the exit code and message that say what happened, and every row accounted for:
what was not sent is left for --resume, which sends it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from importer.sandbox import Faults, SandboxServer
from tests.support import ROOT, assert_accounted, run_cli, sandbox_env, write_csv


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start sandboxes with the faults a test asks for, on one port and one store: a later one (say, with
    no faults, for --resume) is the same API to the importer's journal. All stopped at the end."""
    started: list[SandboxServer] = []
    key, port = "hostile-test-key", 0

    def start(faults: Faults) -> SandboxServer:
        nonlocal port
        if started:
            started[-1].stop()
        server = SandboxServer(db=str(tmp_path / "sandbox.db"), api_key=key, port=port, faults=faults).start()
        port = server.port
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def customers(tmp_path: Path, count: int) -> Path:
    return write_csv(
        tmp_path / "customers.csv", ["email", "firstName"], [[f"c{i}@example.com", f"Name {i}"] for i in range(count)]
    )


def reasons(rows: list[dict[str, str]]) -> set[str]:
    return {row["_error"] for row in rows}


# -- --timeout bounds a whole request -------------------------------------------------------------


def test_an_answer_that_drips_is_cut_at_the_timeout(serve, tmp_path):
    server = serve(Faults(drip_rate=1, drip_interval_s=0.8))  # {"status":0}: 12 bytes, 8.8 s; never 1 s apart
    run = run_cli(
        ["customers", str(customers(tmp_path, 6)), "--chunk-size", "3", "--timeout", "1", "--max-retries", "1"],
        env=sandbox_env(server),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1, run.stderr
    summary = run.summary
    assert_accounted(summary)
    assert summary["rows_failed"] == 6 and summary["rows_accepted"] == 0 and summary["retries"] == 2
    assert reasons(run.failed) == {"network error: AnswerTimeout: no complete answer within 1 s (--timeout)"}
    # each chunk's second attempt ended 1 s after it began (plus a backoff of at most 0.5 s), not 8.8 s
    errors = [orjson.loads(line) for line in (tmp_path / "r" / "errors.jsonl").read_bytes().splitlines()]
    for chunk in (0, 1):
        first, second = (datetime.fromisoformat(e["time"]) for e in errors if e["chunk"] == chunk)
        assert 1 <= (second - first).total_seconds() < 4, (first, second)
    assert server.store.counts().customers == 6  # processed: only the answers were slow (and honestly failed)


# -- a huge error body: read up to 64 KB, kept once per record -----------------------------------

# The child's own peak: VmHWM of its memory map (ru_maxrss would carry this process's peak over fork).
_CHILD = """
import atexit, re, sys
from pathlib import Path
def peak():
    Path(sys.argv[1]).write_text(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1])
atexit.register(peak)
from importer.cli import cli
cli.main(sys.argv[2:], prog_name="ecdp-import")
"""


def import_in_a_process(server: SandboxServer, args: list[str], tmp_path: Path, name: str) -> tuple[int, int, str]:
    """(exit code, peak RSS in kB, stderr) of ``ecdp-import ARGS`` run in a process of its own."""
    peak = tmp_path / f"{name}.peak"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(peak),
            *args,
            "--no-progress",
            "--output",
            "full",
            "--report-dir",
            str(tmp_path / name),
            "--state",
            str(tmp_path / f"{name}.db"),
        ],
        env={**os.environ, **sandbox_env(server)},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    return done.returncode, int(peak.read_text()), done.stderr


def test_a_huge_error_body_costs_neither_memory_nor_report_space(serve, tmp_path):
    source = str(customers(tmp_path, 3))
    peaks, sizes = {}, {}
    for name, size in (("small", 1024), ("huge", 96 << 20)):  # each answer of the huge run: 96 MB
        server = serve(Faults(big_error_rate=1, big_error_bytes=size))
        code, peaks[name], stderr = import_in_a_process(server, ["customers", source], tmp_path, name)
        assert code == 1, stderr
        summary = orjson.loads((tmp_path / name / "summary.json").read_bytes())
        assert_accounted(summary)
        # a 400 that names no record: the request is split until each record is alone, and each is rejected
        assert summary["rows_rejected"] == 3 and summary["rows_accepted"] == 0 and summary["rows_failed"] == 0
        assert summary["requests"] == 5 and summary["api_errors"] == 5
        errors = [orjson.loads(line) for line in (tmp_path / name / "errors.jsonl").read_bytes().splitlines()]
        kept = [e for e in errors if e.get("final", True)]
        assert len(kept) == 3 and sorted(r for e in kept for r in e["rows"] for r in [r["row"]]) == [2, 3, 4]
        assert all(len(e["response"]) <= 300 for e in errors if not e.get("final", True))  # split: one line
        sizes[name] = (tmp_path / name / "errors.jsonl").stat().st_size
    assert sizes["huge"] < 3 * 65 * 1024 + 4096, sizes  # 3 bodies of at most 64 KB (the body: 96 MB)
    assert peaks["huge"] - peaks["small"] < 24 * 1024, peaks  # kB: the run does not grow with the body
    assert server.store.counts().customers == 0  # a 400 stores nothing


# -- Retry-After beyond --max-retry-after, throttling beyond --max-throttle-wait: exit 3, resumable ----


def test_a_retry_after_of_a_day_stops_the_run_and_resume_sends_the_rest(serve, tmp_path):
    # seed 0: the first three requests pass, the fourth is throttled with Retry-After: 100000
    server = serve(Faults(throttle_rate=0.3, retry_after_s=100000, seed=0))
    source, report = str(customers(tmp_path, 20)), tmp_path / "r"
    args = ["customers", source, "--chunk-size", "2", "--concurrency", "1", "--max-retry-after", "60"]
    began = time.monotonic()
    run = run_cli(args, env=sandbox_env(server), report_dir=report)
    assert time.monotonic() - began < 10
    assert run.exit_code == 3, run.stderr
    asked = "the API asked to wait 100000 s (Retry-After), more than the 60 s --max-retry-after allows"
    assert asked in run.stderr and "--resume" in run.stderr
    summary = run.summary
    assert_accounted(summary)
    accepted = summary["rows_accepted"]
    assert accepted == 6 and summary["rows_failed"] == 14 and summary["rows_rejected"] == 0
    assert summary["abort_reason"] == "wait_too_long" and summary["aborted"].startswith(asked)
    assert server.store.counts().customers == accepted
    assert reasons(run.failed) == {f"not sent: {asked}; what was not sent is left for --resume"}

    server = serve(Faults())  # the API answers again
    resumed = run_cli([*args, "--resume"], env=sandbox_env(server), report_dir=tmp_path / "resumed")
    assert resumed.exit_code == 0, resumed.stderr
    again = resumed.summary
    assert again["records_already_accepted"] == accepted and again["rows_accepted"] == 20
    assert again["records_sent"] == 20 - accepted  # only what was left
    assert server.store.counts().customers == 20


def test_throttling_past_max_throttle_wait_stops_the_run_and_long_waits_are_shown(serve, tmp_path):
    server = serve(Faults(throttle_rate=1, retry_after_s=5))
    began = time.monotonic()
    run = run_cli(
        ["customers", str(customers(tmp_path, 4)), "--chunk-size", "2", "--max-throttle-wait", "8"],
        env=sandbox_env(server),
        report_dir=tmp_path / "r",
    )
    took = time.monotonic() - began
    assert run.exit_code == 3, run.stderr
    assert "Waiting 5 s before sending again (HTTP 429, Retry-After 5 s)." in run.stderr  # shown once, not twice
    assert run.stderr.count("Waiting 5 s") == 1
    assert (
        "the API throttled the run: it would have waited 10 s in all on 429 answers, more than the 8 s "
        "--max-throttle-wait allows"
    ) in run.stderr
    assert 5 <= took < 12
    summary = run.summary
    assert_accounted(summary)
    assert summary["rows_failed"] == 4 and summary["rows_accepted"] == 0 and server.store.counts().customers == 0
    assert summary["abort_reason"] == "throttled_too_long"


# -- a success answer must look like one ---------------------------------------------------------


def test_a_login_page_answered_200_is_not_an_acceptance(serve, tmp_path):
    server = serve(Faults(html_rate=1))
    run = run_cli(
        ["customers", str(customers(tmp_path, 10)), "--chunk-size", "2", "--concurrency", "1"],
        env=sandbox_env(server),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 3, run.stderr
    assert (
        "the API's success answers were not the documented ones: 3 in a row (the last: HTTP 200 (the API "
        "documents 201 for POST), text/html)"
    ) in run.stderr
    summary = run.summary
    assert_accounted(summary)
    assert summary["rows_accepted"] == 0 and summary["rows_failed"] == 10 and summary["requests"] == 3
    assert summary["abort_reason"] == "unexpected_answers"
    answered = [row for row in run.failed if not row["_error"].startswith("not sent")]
    assert len(answered) == 6  # the records of the 3 answers; the other 4 were not sent
    assert reasons(answered) == {
        "the API's answer is not the documented one: HTTP 200 (the API documents 201 "
        "for POST), text/html, body '<!DOCTYPE html> <html><head><title>Sign in - "
        "Corporate Proxy</title></head> <bod'…"
    }  # (the first 80 bytes)
    assert server.store.counts().customers == 0


def test_a_login_page_with_the_documented_status_is_not_an_acceptance_either(serve, tmp_path):
    # PUT /orders/status documents 200, and the login page is a 200: its content type and body give it away
    server = serve(Faults(html_rate=1))
    source = write_csv(tmp_path / "statuses.csv", ["id", "status"], [[f"o{i}", "paid"] for i in range(5)])
    run = run_cli(
        ["order-status", str(source), "--concurrency", "1"], env=sandbox_env(server), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 3, run.stderr
    assert "3 in a row (the last: HTTP 200, text/html)" in run.stderr
    summary = run.summary
    assert_accounted(summary)
    assert summary["rows_accepted"] == 0 and summary["rows_failed"] == 5 and summary["requests"] == 3
    answered = [row for row in run.failed if not row["_error"].startswith("not sent")]
    assert len(answered) == 3
    assert all(
        row["_error"].startswith(
            "the API's answer is not the documented one: HTTP 200, text/html, body '<!DOCTYPE html>"
        )
        for row in answered
    )
