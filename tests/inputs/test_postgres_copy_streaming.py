"""A PostgreSQL result read while its COPY is still written (``growing_files``, ``postgres_copy_writer``); every
local copy owner-only.

The real server of the session is used; the slow results are made by the server itself (``pg_sleep`` at a
chosen row), so what is asserted is an order of events, with seconds of margin, not a speed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

import importer
from importer.inputs import growing_files, postgres_copy
from importer.inputs.databases import SqlQuery
from importer.inputs.files import Source
from importer.inputs.locations import local_copies
from tests.support import run_cli, sandbox_env

PAUSE_S = 4  # how long the server pauses in the slow results
#: 6,000 rows of ~400 bytes (more than the writer's first 1 MB block), then the server pauses at row 6,000
SLOW = (
    "SELECT 'p' || g || '@example.com' AS email, repeat('x', 400) AS note, "
    f"CASE WHEN g = 6000 THEN pg_sleep({PAUSE_S})::text END AS pause FROM generate_series(1, 8000) AS g"
)


def writers() -> list[tuple[int, str, bytes]]:
    """This process's COPY writers still running: (pid, command line, environment)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environment = (entry / "environ").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and "postgres_copy_writer" in command:
            found.append((int(entry.name), command, environment))
    return found


def gone_within(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while writers():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_growing_file_is_read_as_written_and_its_error_raised_where_it_struck(tmp_path):
    target = tmp_path / "growing.csv"
    target.write_bytes(b"")
    steps = [threading.Event() for _ in range(3)]
    cancelled = threading.Event()

    def write(growing: growing_files.GrowingFile) -> None:
        with target.open("ab") as file:
            for number, step in enumerate(steps[:2], start=1):
                step.wait(10)
                file.write(b"%d\n" % number * 3)
                file.flush()
                growing.grew(target.stat().st_size)
        steps[2].wait(10)
        growing.ended(importer.InputError("The copy broke.", "Try again."))

    growing_files.GrowingFile(target, cancelled.set).start(write)
    stream = growing_files.reader(target)
    assert stream is not None and growing_files.reader(tmp_path / "other.csv") is None
    got: list[bytes] = []
    reading = threading.Thread(target=lambda: got.append(stream.read(4)))
    reading.start()
    reading.join(0.3)
    assert reading.is_alive()  # nothing written yet: the read waits
    steps[0].set()
    reading.join(10)
    assert got == [b"1\n1\n"]  # 4 bytes of the 6 written
    steps[1].set()
    assert stream.read(8) == b"1\n2\n2\n2\n"  # a read gets what it asks for once that much is written
    steps[2].set()
    with pytest.raises(importer.InputError, match="The copy broke"):
        stream.read(1)  # caught up with the writer, which failed: the error, never a file that ends early
    with pytest.raises(importer.InputError, match="The copy broke"):
        growing_files.wait_for(target)
    growing_files.stop(target)
    assert not cancelled.is_set()  # (the writer had ended: nothing to cancel)
    stream.close()


def test_the_run_reads_rows_while_the_server_still_sends_them(postgres_server, tmp_path):
    query = SqlQuery(postgres_server.url, SLOW)
    started = time.monotonic()
    target = postgres_copy.export(query, tmp_path / "slow.csv")
    try:
        batches = Source(target).batches()
        first = next(batches)
        first_at = time.monotonic() - started
        rows = first.height + sum(batch.height for batch in batches)
        whole_at = time.monotonic() - started
    finally:
        growing_files.stop(target)
    assert rows == 8000
    assert first_at < PAUSE_S <= whole_at, (first_at, whole_at)  # the first rows read during the server's pause


def test_a_copy_stopped_early_ends_its_writer_which_never_held_the_password_in_view(
    postgres_server, tmp_path, monkeypatch
):
    monkeypatch.delenv("ECDP_DB_PASSWORD", raising=False)
    query = SqlQuery(postgres_server.url_without_password, SLOW, password=postgres_server.password)
    target = postgres_copy.export(query, tmp_path / "slow.csv")
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    running = writers()
    assert len(running) == 1
    _, command, environment = running[0]
    assert postgres_server.password not in command and postgres_server.password.encode() not in environment
    growing_files.stop(target)  # what the end of the run's local copies does
    assert gone_within(PAUSE_S)  # killed, not waited for: the server was still pausing


def test_an_error_past_the_first_rows_stops_the_run_before_anything_is_sent(sandbox, postgres_server, tmp_path):
    failing = (
        "SELECT 'p' || g || '@example.com' AS email, repeat('x', 400) AS note, (1 / (g - 7000))::text AS ratio "
        "FROM generate_series(1, 8000) AS g"
    )  # rows 1..6,999 are sent by the server before it fails: more than a block of the file is written
    env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": postgres_server.password}
    for mode in ([], ["--dry-run"]):
        run = run_cli(
            ["customers", "--db", postgres_server.url_without_password, "--sql", failing, *mode],
            env=env,
            report_dir=tmp_path / ("dry" if mode else "send"),
        )
        assert run.exit_code == 2, (mode, run.stdout, run.stderr)
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "division by zero" in errors[0], run.stderr
        assert "Traceback" not in run.stderr
    assert sandbox.store.counts().customers == 0
    assert gone_within(5)


def test_a_run_stopped_at_the_first_rows_leaves_no_writer(sandbox, postgres_server, tmp_path):
    """A dry run reads as the rows come (a sending run first waits for the whole result: the journal records its
    digest), so it stops on the first rows, and the writer is ended with it."""
    env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": postgres_server.password}
    no_identifier = SLOW.replace("AS email", "AS name")
    started = time.monotonic()
    run = run_cli(
        ["customers", "--db", postgres_server.url_without_password, "--sql", no_identifier, "--dry-run"],
        env=env,
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2 and "no 'email' column" in run.stderr, run.stderr
    assert time.monotonic() - started < PAUSE_S  # stopped on the first rows, not after the whole result
    assert gone_within(5)


def test_a_writer_killed_part_way_is_an_error_never_a_shorter_file(postgres_server, tmp_path):
    target = postgres_copy.export(SqlQuery(postgres_server.url, SLOW), tmp_path / "slow.csv")
    try:
        batches = Source(target).batches()
        next(batches)  # the first rows, read while the server pauses
        (pid, _, _), *_ = writers()
        os.kill(pid, 9)
        with pytest.raises(importer.InputError, match="stopped before its end"):
            for _ in batches:
                pass
    finally:
        growing_files.stop(target)


def test_every_local_copy_is_readable_by_its_owner_only(postgres_server, tmp_path):
    """A frame, a SQLite query, a Parquet folder and a PostgreSQL query: their copies 0600 in a 0700 folder."""
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE people (email TEXT)")
        db.execute("INSERT INTO people VALUES ('ann@example.com')")
    db.close()
    (tmp_path / "dataset").mkdir()
    pl.DataFrame({"email": ["bob@example.com"]}).write_parquet(tmp_path / "dataset" / "part-0.parquet")
    sources = [
        pl.DataFrame({"email": ["cy@example.com"]}),
        SqlQuery(f"sqlite:///{tmp_path / 'shop.db'}", "SELECT email FROM people"),
        str(tmp_path / "dataset"),
        SqlQuery(postgres_server.url, "SELECT 'dee@example.com' AS email"),
    ]
    with local_copies(sources) as paths:
        growing_files.wait_for(paths[-1])
        for path in paths:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path


def test_sigterm_to_the_whole_group_is_an_interruption_and_leaves_no_writer(sandbox, postgres_server, tmp_path):
    """What systemd or Kubernetes send: SIGTERM to the run and its writer at once, while the server pauses. The
    run reports an interruption (not a broken copy), and nothing of the group is left running."""
    env = {**os.environ, **sandbox_env(sandbox), "ECDP_DB_PASSWORD": postgres_server.password}
    command = [Path(sys.executable).parent / "ecdp-import", "customers", "--db", postgres_server.url_without_password]
    process = subprocess.Popen(
        [*command, "--sql", SLOW, "--dry-run", "--report-dir", tmp_path / "r", "--output", "full"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # (its own group, as a service's: the signal reaches the writer too)
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "r").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # (the report folder is made once the first rows are read: the writer is at work)
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2, stderr  # (a dry run: stopped before anything could be sent)
    assert "interrupted" in stderr and "stopped before its end" not in stderr, stderr
    left = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if _session(pid) == process.pid]
    assert not left  # the writer was killed by the run, not left behind


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None
