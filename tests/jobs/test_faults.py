"""Faults of this machine (a full disk, an unwritable folder, a damaged journal) and a report folder two runs
want: one sentence naming the path and the way out, an exit code that says whether anything was sent, and
the counts reached kept wherever they can still be written. Real processes against the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from importer.delivery.outcomes import Aborted, Outcomes
from importer.errors import AbortReason
from importer.jobs.stops import Watch
from importer.report.files import Report
from importer.report.summary import RunHead
from importer.sandbox import Faults, SandboxServer
from tests.support import run_cli, sandbox_env, write_csv

BIN = Path(sys.executable).parent
# exec'd by a Python that caps the size of every file it (and what it execs) writes: RLIMIT_FSIZE, with SIGXFSZ
# ignored, makes a write() past the cap fail with EFBIG, as a full disk fails it with ENOSPC
LIMITED = (
    "import os, resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]),) * 2); os.execv(sys.argv[2], sys.argv[2:])"
)


def customers_csv(path: Path, count: int, prefix: str = "c") -> Path:
    return write_csv(path, ["email"], [[f"{prefix}{i}@example.com"] for i in range(count)])


def import_limited(
    server: SandboxServer, tmp_path: Path, source: Path, max_file_bytes: int | None, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``ecdp-import customers SOURCE`` in its own process, every file it writes capped at ``max_file_bytes``."""
    command = [
        str(BIN / "ecdp-import"),
        "customers",
        str(source),
        "--chunk-size",
        "20",
        "--no-progress",
        "--report-dir",
        str(tmp_path / "report"),
        "--state",
        str(tmp_path / "state" / "state.db"),
        *extra,
    ]
    if max_file_bytes is not None:
        command = [sys.executable, "-c", LIMITED, str(max_file_bytes), *command]
    return subprocess.run(
        command, env={**os.environ, **sandbox_env(server)}, capture_output=True, text=True, timeout=120
    )


def assert_one_clear_error(stderr: str, *named: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, stderr
    assert all(name in errors[0] for name in named), stderr
    assert "Hint: " in stderr
    for wrong in ("unexpected", "this is a bug", "Traceback", "ExceptionGroup"):
        assert wrong not in stderr, stderr


def test_a_full_disk_while_sending_exits_4_names_the_journal_keeps_the_counts_and_resume_sends_the_rest(
    sandbox, tmp_path
):
    """The disk fills while records are being accepted (simulated with RLIMIT_FSIZE: write() fails with EFBIG
    where a full disk gives ENOSPC, through the same code: SQLite's writes of the journal, which grows with
    every accepted chunk and is the first file past the cap). The run stops taking chunks, says which file
    and what to do, exits 4 (records were sent), and summary.json, the journal's `runs` and the metrics
    keep the counts reached; --resume then gets every record in."""
    source = customers_csv(tmp_path / "in.csv", 3000)
    metrics = tmp_path / "metrics.prom"
    done = import_limited(sandbox, tmp_path, source, 200_000, "--metrics-file", str(metrics))
    assert done.returncode == 4, done.stderr
    assert_one_clear_error(done.stderr, str(tmp_path / "state" / "state.db"), "records were accepted")
    assert "--resume" in done.stderr and "Free space" in done.stderr
    stored = sandbox.store.counts().customers
    assert 0 < stored < 3000
    summary = orjson.loads((tmp_path / "report" / "summary.json").read_bytes())
    assert summary["exit_code"] == 4 and summary["aborted"].startswith("stopped: ")
    assert summary["records_accepted"] == summary["rows_accepted"] == stored  # counted as far as it got
    assert 'ecdp_import_exit_code{command="customers",profile="default"} 4' in metrics.read_text()
    assert f'outcome="accepted"}} {stored}' in metrics.read_text()
    runs = run_cli(["runs", "--state", str(tmp_path / "state" / "state.db")], imports=False)
    line = next(row for row in runs.stdout.splitlines() if summary["run_id"] in row)
    assert line.split()[3:5] == ["interrupted", "4"] and str(stored) in line.split()

    resumed = import_limited(sandbox, tmp_path, source, None, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert sandbox.store.counts().customers == 3000  # nothing lost (a record the journal missed is sent again)


def test_a_full_disk_before_sending_exits_2_and_sends_nothing(sandbox, tmp_path):
    """With files capped at 4 KB (RLIMIT_FSIZE, as above), the journal cannot even be created: exit 2 (nothing
    was sent), the journal named."""
    done = import_limited(sandbox, tmp_path, customers_csv(tmp_path / "in.csv", 50), 4096)
    assert done.returncode == 2, done.stderr
    assert_one_clear_error(done.stderr, str(tmp_path / "state" / "state.db"))
    assert sandbox.stats.total == 0


def test_a_report_folder_that_cannot_be_made_stops_the_run_before_sending(sandbox, tmp_path):
    """A --report-dir under a file (/dev/null/...) cannot be made: the folder is named, exit 2, nothing sent."""
    source = customers_csv(tmp_path / "in.csv", 50)
    run = run_cli(["customers", str(source)], env=sandbox_env(sandbox), report_dir=Path("/dev/null/report"))
    assert run.exit_code == 2, run.stderr
    assert_one_clear_error(run.stderr, "/dev/null/report")
    assert sandbox.stats.total == 0


def _refuses_new_files(folder: Path) -> bool:
    try:
        (folder / "ecdp-probe").touch()
    except OSError:
        return True
    (folder / "ecdp-probe").unlink()
    return False


@pytest.mark.skipif(not _refuses_new_files(Path("/sys")), reason="needs a folder that refuses new files (sysfs)")
@pytest.mark.parametrize("which", ["--state", "--report-dir"])
def test_a_folder_this_user_cannot_write_is_named_with_the_option_to_change(sandbox, tmp_path, which):
    """sysfs refuses new folders even to root (EPERM): a state or report folder the run may not write. The
    folder is named with the way out; exit 2, nothing sent."""
    source = customers_csv(tmp_path / "in.csv", 20)
    where = {"--state": "/sys/ecdp-state/state.db", "--report-dir": "/sys/ecdp-report"}[which]
    run = run_cli(["customers", str(source), which, where], env=sandbox_env(sandbox), imports=True)
    assert run.exit_code == 2, run.stderr
    assert_one_clear_error(run.stderr, "/sys/ecdp-")
    assert f"Let this user write to /sys, or give {which}" in run.stderr and sandbox.stats.total == 0
    assert "Warning" not in run.stderr  # said once


def test_a_damaged_journal_is_named_with_how_to_move_it_aside_and_what_that_costs(sandbox, tmp_path):
    state = tmp_path / "state.db"
    state.write_bytes(b"this is no SQLite file " * 400)
    source = customers_csv(tmp_path / "in.csv", 50)
    run = run_cli(
        ["customers", str(source), "--state", str(state)], env=sandbox_env(sandbox), report_dir=tmp_path / "report"
    )
    assert run.exit_code == 2, run.stderr
    assert_one_clear_error(run.stderr, str(state), "is damaged")
    assert f"mv {state} {state}.damaged" in run.stderr and "forget earlier runs" in run.stderr
    assert sandbox.stats.total == 0
    listed = run_cli(["runs", "--state", str(state)], imports=False)
    assert listed.exit_code == 2
    assert_one_clear_error(listed.stderr, str(state), "is damaged")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes a read-only file anyway")
def test_a_read_only_journal_is_named_with_the_way_out(sandbox, tmp_path):
    folder = tmp_path / "state"
    source = customers_csv(tmp_path / "in.csv", 20)
    first = run_cli(
        ["customers", str(source), "--state", str(folder / "state.db")],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r1",
    )
    assert first.exit_code == 0, first.stderr
    for path in folder.iterdir():
        path.chmod(0o400)
    folder.chmod(0o500)
    try:
        run = run_cli(
            ["customers", str(source), "--state", str(folder / "state.db")],
            env=sandbox_env(sandbox),
            report_dir=tmp_path / "r2",
        )
    finally:
        folder.chmod(0o700)
    assert run.exit_code == 2, run.stderr
    assert_one_clear_error(run.stderr, str(folder))
    assert "--state" in run.stderr


def test_a_second_run_into_a_report_folder_in_use_is_refused_before_it_sends(tmp_path):
    """Two processes, one --report-dir, separate journals: the second is refused at once (exit 2, nothing of
    its own sent); the first finishes with a whole report (before, one crashed on .parts/rejected.csv)."""
    with SandboxServer(faults=Faults(latency_ms=100)) as server:
        env = {**os.environ, **sandbox_env(server)}
        report = tmp_path / "report"

        def start(source: Path, state: str) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [
                    str(BIN / "ecdp-import"),
                    "customers",
                    str(source),
                    "--chunk-size",
                    "10",
                    "--concurrency",
                    "2",
                    "--report-dir",
                    str(report),
                    "--state",
                    str(tmp_path / state / "state.db"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

        first_rows = [[f"a{i}@example.com" if i % 10 else "not-an-email"] for i in range(400)]
        first = start(write_csv(tmp_path / "a.csv", ["email"], first_rows), "a")
        deadline = time.monotonic() + 30
        while server.stats.total < 2 and time.monotonic() < deadline:  # the first is sending
            time.sleep(0.02)
        first.send_signal(signal.SIGSTOP)  # held mid-run, whatever this machine's speed, until the second is done
        try:
            second = start(customers_csv(tmp_path / "b.csv", 50, prefix="b"), "b")
            _, second_err = second.communicate(timeout=60)
        finally:
            first.send_signal(signal.SIGCONT)
        _, first_err = first.communicate(timeout=60)
        assert second.returncode == 2, second_err
        assert_one_clear_error(second_err, str(report), "in use by another run")
        assert first.returncode == 1, first_err  # (its 40 invalid e-mails are rejected)
        summary = orjson.loads((report / "summary.json").read_bytes())
        assert summary["run_id"] and summary["rows_accepted"] == 360 and summary["rows_rejected"] == 40
        assert len((report / "rejected.csv").read_text().splitlines()) == 41
        assert server.store.counts().customers == 360  # none of the second run's customers


def test_the_counts_reached_name_the_custom_events_sent_without_an_answer(tmp_path):
    """A fault that stops a run of custom events keeps, of the rows sent without an answer (perhaps stored),
    how many there were: ``rows_uncertain``, each row once, apart from the accepted ones."""
    watch = Watch(Report(tmp_path / "report"), None, "r1", lambda message: None)
    outcomes = Outcomes(
        accepted_records=3,
        accepted_rows=3,
        requests=6,
        records_sent=6,
        rows_sent=6,
        uncertain=[([4], "timed out"), ([5], "timed out"), ([5], "connection reset")],
    )
    sender: Any = SimpleNamespace(outcomes=outcomes)  # (what the sender counted: only its outcomes are read)
    watch.sender = sender
    head: RunHead = {
        "command": "events",
        "run_id": "r1",
        "files": ["e.csv"],
        "api_url": "http://127.0.0.1",
        "started_at": "2026-12-01T08:00:00+00:00",
        "duration_s": 1.0,
        "report_dir": str(tmp_path),
    }
    reached = watch.reached(head, 4, Aborted(AbortReason.LOCAL_FAULT, "disk full"), 10, 0)
    assert reached.rows_uncertain == 2 and reached.rows_accepted == 3
    assert reached.rows_accepted + reached.rows_uncertain <= reached.rows_read
