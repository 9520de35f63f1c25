"""The run journal: resume after kill -9, delta sync, no overlapping runs, runs and retry commands."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from importer.jobs.journal import Journal
from importer.sandbox import Faults, SandboxServer
from tests.support import DATA, ORDER_LINE_COLUMNS, assert_accounted, run_cli, write_csv

BIN = Path(sys.executable).parent


def customers_csv(path: Path, count: int, changed: set[int] = frozenset()) -> Path:
    rows = [[f"c{i}@example.com", f"Name {i}" + (" (changed)" if i in changed else "")] for i in range(count)]
    return write_csv(path, ["email", "firstName"], rows)


def env_for(server: SandboxServer, state: Path) -> dict[str, str]:
    return {"ECDP_API_KEY": server.api_key, "ECDP_API_URL": server.url, "ECDP_STATE": str(state)}


def summary_of(report: Path) -> dict:
    return orjson.loads((report / "summary.json").read_bytes())


@pytest.mark.parametrize("kill_after", [1, 6, 25], ids=["first-request", "early", "late"])
def test_kill_9_then_resume_gets_every_record_in(tmp_path, kill_after):
    """A real process killed at several points; --resume completes the run against a --db sandbox."""
    state, db = tmp_path / "state.db", tmp_path / "sandbox.db"
    source = customers_csv(tmp_path / "in.csv", 600)
    with SandboxServer(db=str(db), faults=Faults(latency_ms=40)) as server:
        env = {**os.environ, **env_for(server, state)}
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
                tmp_path / "killed",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while server.stats.total < kill_after and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stored_at_kill = server.store.counts().customers
        assert stored_at_kill < 600
        run = run_cli(
            ["customers", str(source), "--resume", "--chunk-size", "10"],
            env=env_for(server, state),
            report_dir=tmp_path / "resumed",
        )
        assert run.exit_code == 0, run.stderr
        summary = run.summary
        assert_accounted(summary)
        assert summary["rows_accepted"] == 600
        # what the killed run had acknowledged is skipped; only chunks in flight at the kill are sent twice
        assert summary["records_already_accepted"] + summary["records_sent"] == 600
        assert summary["records_sent"] <= 600 - stored_at_kill + 2 * 10
    listing = run_cli(["runs", "--state", str(state)], imports=False).stdout.splitlines()
    assert " finished " in listing[1] and " died " in listing[2]  # the resumed run, then the killed one
    with SandboxServer(db=str(db)) as again:  # the data is in the sandbox's file, not just its memory
        assert again.store.counts().customers == 600
    assert sqlite3.connect(state).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_delta_sync_sends_only_changed_records(sandbox, tmp_path):
    state = tmp_path / "state.db"
    first = run_cli(
        ["customers", str(customers_csv(tmp_path / "a.csv", 10_000)), "--changed-only"],
        env=env_for(sandbox, state),
        report_dir=tmp_path / "r1",
    )
    assert first.exit_code == 0 and first.summary["records_sent"] == 10_000
    sandbox.stats.reset()
    changed = {3, 100, 2048, 5000, 6001, 7002, 8003, 9004, 9998, 9999}
    delta = run_cli(
        ["customers", str(customers_csv(tmp_path / "b.csv", 10_000, changed)), "--changed-only"],
        env=env_for(sandbox, state),
        report_dir=tmp_path / "r2",
    )
    summary = delta.summary
    assert delta.exit_code == 0 and summary["records_sent"] == 10
    assert summary["records_unchanged"] == 9_990 and summary["rows_accepted"] == 10_000
    sent = [r["email"] for b in sandbox.stats.json_bodies("/customers") for r in b["data"]]
    assert sorted(sent) == sorted(f"c{i}@example.com" for i in changed)
    sandbox.stats.reset()
    unchanged = run_cli(
        ["customers", str(tmp_path / "b.csv"), "--changed-only"],
        env=env_for(sandbox, state),
        report_dir=tmp_path / "r3",
    )
    assert unchanged.exit_code == 0 and unchanged.summary["records_sent"] == 0 and sandbox.stats.total == 0
    full = run_cli(
        ["customers", str(tmp_path / "b.csv"), "--changed-only", "--full"],
        env=env_for(sandbox, state),
        report_dir=tmp_path / "r4",
    )
    assert full.exit_code == 2 and "contradict" in full.stderr


def test_delta_sync_for_orders_compares_whole_orders(sandbox, tmp_path):
    state = tmp_path / "state.db"
    header = ORDER_LINE_COLUMNS
    rows = [[f"o{i // 2}", "2024-11-01", "2", "a@example.com", f"p{i}", "P", "1", "1"] for i in range(20)]
    write_csv(tmp_path / "o.csv", header, rows)
    assert (
        run_cli(
            ["orders", str(tmp_path / "o.csv"), "--changed-only"],
            env=env_for(sandbox, state),
            report_dir=tmp_path / "r1",
        ).summary["records_sent"]
        == 10
    )
    rows[7][5] = "Renamed"  # one line of order o3
    write_csv(tmp_path / "o.csv", header, rows)
    again = run_cli(
        ["orders", str(tmp_path / "o.csv"), "--changed-only"], env=env_for(sandbox, state), report_dir=tmp_path / "r2"
    )
    assert again.summary["records_sent"] == 1 and again.summary["rows_accepted"] == 20


def test_a_second_run_on_the_same_state_is_refused_at_once(sandbox, tmp_path):
    state = tmp_path / "state.db"
    journal = Journal(state)
    with journal.lock():
        began = time.monotonic()
        run = run_cli(
            ["customers", str(customers_csv(tmp_path / "a.csv", 3))],
            env=env_for(sandbox, state),
            report_dir=tmp_path / "r",
        )
        assert time.monotonic() - began < 5
    journal.close()
    assert run.exit_code == 2
    assert f"pid {os.getpid()}" in run.stderr and "Another import is running" in run.stderr
    assert sandbox.stats.total == 0


def test_a_stale_lock_of_a_dead_process_is_taken_over(sandbox, tmp_path):
    state = tmp_path / "state.db"
    Journal(state).close()
    (tmp_path / "state.db.lock").write_text("pid 999999, started 2026-11-24T01:00:00+00:00\n")
    run = run_cli(
        ["customers", str(customers_csv(tmp_path / "a.csv", 3))], env=env_for(sandbox, state), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 0
    assert "took over a stale lock (pid 999999" in run.stderr


def test_state_is_private_and_holds_no_key(sandbox, tmp_path):
    state = tmp_path / "private" / "state.db"
    run = run_cli(
        ["customers", str(customers_csv(tmp_path / "a.csv", 3))], env=env_for(sandbox, state), report_dir=tmp_path / "r"
    )
    assert run.exit_code == 0
    assert stat.S_IMODE(os.stat(state.parent).st_mode) == 0o700
    for path in state.parent.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        assert sandbox.api_key.encode() not in path.read_bytes()


def test_runs_lists_recent_runs(sandbox, tmp_path):
    state = tmp_path / "state.db"
    for name in ("a", "b"):
        run_cli(
            ["customers", str(customers_csv(tmp_path / f"{name}.csv", 4))],
            env=env_for(sandbox, state),
            report_dir=tmp_path / name,
        )
    listing = run_cli(["runs", "--state", str(state)], imports=False)
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()
    assert len(lines) == 3 and lines[0].split()[:2] == ["run", "command"]
    assert all("finished" in line and str(tmp_path) in line for line in lines[1:])
    assert str(tmp_path / "b") in lines[1]  # newest first


def test_a_journal_written_before_series_had_names_keeps_working(sandbox, tmp_path):
    state = tmp_path / "state.db"
    old = sqlite3.connect(state)  # the runs table as 0.1 wrote it: no series, no series_name
    old.execute(
        "CREATE TABLE runs (id TEXT PRIMARY KEY, command TEXT NOT NULL, target TEXT NOT NULL, inputs_hash"
        " TEXT NOT NULL, inputs TEXT NOT NULL, options TEXT NOT NULL, resume_of TEXT, started_at TEXT NOT"
        " NULL, finished_at TEXT, status TEXT NOT NULL, exit_code INTEGER, summary TEXT, report_dir TEXT,"
        " pid INTEGER)"
    )
    old.execute(
        "INSERT INTO runs VALUES ('20261201-010000-old', 'customers', 't', 'h', '[]', '{}', NULL,"
        " '2026-12-01T01:00:00+00:00', '2026-12-01T01:00:05+00:00', 'finished', 0, NULL, '/r/old', NULL)"
    )
    old.commit()
    old.close()
    run = run_cli(
        ["customers", str(customers_csv(tmp_path / "a.csv", 4))],
        env=env_for(sandbox, state),
        report_dir=tmp_path / "new",
    )
    assert run.exit_code == 0, run.stderr
    lines = run_cli(["runs", "--state", str(state)], imports=False).stdout.splitlines()
    assert lines[1].endswith(f"a.csv → {sandbox.url.split('://', 1)[1]}")
    assert "20261201-010000-old" in lines[2] and lines[2].endswith("/r/old  -")  # its series has no name


def test_retry_resends_only_the_failed_rows(tmp_path):
    state = tmp_path / "state.db"
    rows = [[f"c{i}@example.com", "N"] for i in range(30)] + [["bad", "X"]]
    source = write_csv(tmp_path / "in.csv", ["email", "firstName"], rows)
    with SandboxServer(faults=Faults(error_rate=1.0)) as broken:
        first = run_cli(
            ["customers", str(source), "--max-retries", "0", "--chunk-size", "10"],
            env=env_for(broken, state),
            report_dir=tmp_path / "r1",
        )
        key = broken.api_key
    assert first.summary["rows_failed"] == 30 and first.summary["rows_rejected"] == 1
    with SandboxServer(api_key=key) as healthy:
        retried = run_cli(["retry", first.summary["run_id"]], env=env_for(healthy, state), report_dir=tmp_path / "r2")
        assert retried.exit_code == 0, retried.stderr
        assert retried.summary["rows_read"] == 30 and healthy.store.counts().customers == 30
        with open(tmp_path / "r1" / "failed.csv", newline="") as handle:
            assert len(list(csv.DictReader(handle))) == 30
        nothing = run_cli(["retry", retried.summary["run_id"]], env=env_for(healthy, state))
        assert nothing.exit_code == 0 and "nothing to retry" in nothing.stdout
    unknown = run_cli(["retry", "no-such-run"], env=env_for(healthy, state))
    assert unknown.exit_code == 2 and "no run 'no-such-run'" in unknown.stderr


def test_retry_without_a_key_is_a_usage_error(tmp_path):
    run = run_cli(
        ["retry", "some-run", "--state", str(tmp_path / "state.db")],
        env={"ECDP_API_KEY": ""},
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2 and "No API key" in run.stderr and "unexpected" not in run.stderr


def test_retry_reads_failed_rows_through_the_runs_preset_and_joined_file(tmp_path):
    """failed.csv holds the first file's columns (Magento's sales_order_item): the retry maps it with the
    run's preset and joins the run's second file (sales_order) again."""
    tables = DATA / "magento"
    files = []
    for name in ("sales_order_item.tsv", "sales_order.tsv"):
        (tmp_path / name).write_bytes((tables / name).read_bytes())
        files.append(str(tmp_path / name))
    state = tmp_path / "state.db"
    with SandboxServer(faults=Faults(error_rate=1.0)) as broken:
        first = run_cli(
            ["orders", *files, "--preset", "magento", "--max-retries", "0", "--max-rejects", "100%"],
            env=env_for(broken, state),
            report_dir=tmp_path / "r1",
        )
        key = broken.api_key
    assert first.summary["rows_failed"] == 19 and first.summary["records_accepted"] == 0
    with SandboxServer(api_key=key) as healthy:
        retried = run_cli(["retry", first.summary["run_id"]], env=env_for(healthy, state), report_dir=tmp_path / "r2")
        assert retried.exit_code == 0, retried.stderr
        assert (retried.summary["rows_read"], retried.summary["rows_accepted"]) == (19, 19)
        assert retried.summary["preset"] == "magento" and healthy.store.counts().orders == 7
        assert healthy.store.order("000000101")["customer"] == {"email": "anna.kowalska@example.com"}  # joined
        Path(files[1]).unlink()
        gone = run_cli(["retry", first.summary["run_id"]], env=env_for(healthy, state), report_dir=tmp_path / "r3")
    assert gone.exit_code == 2 and "sales_order.tsv onto its rows, and that file is gone" in gone.stderr
