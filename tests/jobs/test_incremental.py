"""Incremental loads (``--since-column``): a watermark per job in the journal, only the rows after it read, and
the watermark moved only past rows that landed. Against the sandbox over loopback, a real PostgreSQL server
(tests/support/postgres.py), a SQLite file and a CSV file; a run killed with SIGKILL is a real process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from importer.sandbox import Faults, SandboxServer
from tests.support import assert_accounted, customer, run_cli, sandbox_env, write_csv

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
BIN = Path(sys.executable).parent


def people(count: int, start: int = 0, name: str = "Ann", at: datetime = T0) -> list[tuple[str, str, datetime]]:
    """(email, firstName, updated_at) of ``count`` customers, one second apart."""
    return [(f"c{n}@example.com", name, at + timedelta(seconds=n)) for n in range(start, start + count)]


class Source:
    """Where the customers are: a CSV file, a SQLite file or a PostgreSQL table; ``args`` reads them."""

    def __init__(self, kind: str, tmp_path: Path, postgres: Any = None) -> None:
        self.kind, self.tmp_path, self.postgres = kind, tmp_path, postgres
        self.rows: dict[str, tuple[str, datetime]] = {}

    def put(self, rows: list[tuple[str, str, datetime]]) -> None:
        self.rows.update({email: (name, at) for email, name, at in rows})
        listed = [(email, name, at) for email, (name, at) in self.rows.items()]
        if self.kind == "csv":
            write_csv(
                self.tmp_path / "customers.csv",
                ["email", "firstName", "updated_at"],
                [[e, n, a.isoformat().replace("+00:00", "Z")] for e, n, a in listed],
            )
        elif self.kind == "sqlite":
            with sqlite3.connect(self.tmp_path / "shop.db") as db:  # times as text: SQLite has no time type
                db.execute("DROP TABLE IF EXISTS customers")
                db.execute("CREATE TABLE customers (email TEXT, firstName TEXT, updated_at TEXT)")
                db.executemany(
                    "INSERT INTO customers VALUES (?, ?, ?)",
                    [(e, n, a.strftime("%Y-%m-%d %H:%M:%S")) for e, n, a in listed],
                )
        else:
            values = ", ".join(f"('{e}', '{n}', '{a.isoformat()}')" for e, n, a in listed)
            self.postgres.sql(
                'DROP TABLE IF EXISTS customers; CREATE TABLE customers (email text, "firstName" text,'
                f" updated_at timestamptz); INSERT INTO customers VALUES {values}"
            )

    def args(self) -> list[str]:
        if self.kind == "csv":
            return [str(self.tmp_path / "customers.csv")]
        if self.kind == "sqlite":
            return ["--db", f"sqlite:///{self.tmp_path / 'shop.db'}", "--sql", "SELECT * FROM customers"]
        return ["--db", self.postgres.url_without_password, "--sql", "SELECT * FROM customers ORDER BY email;"]


@pytest.fixture(params=["csv", "sqlite", "postgres"])
def source(request, tmp_path) -> Source:
    postgres = request.getfixturevalue("postgres_server") if request.param == "postgres" else None
    return Source(request.param, tmp_path, postgres)


def incremental(server: SandboxServer, source: Source, tmp_path: Path, name: str, *extra: str) -> Any:
    env = {**sandbox_env(server), **({"ECDP_DB_PASSWORD": source.postgres.password} if source.postgres else {})}
    done = run_cli(
        ["customers", *source.args(), "--since-column", "updated_at", "--state", str(tmp_path / "state.db"), *extra],
        env=env,
        report_dir=tmp_path / name,
    )
    assert done.exit_code in (0, 1), done.stderr + done.stdout
    assert_accounted(done.summary)
    return done


def sent_emails(server: SandboxServer) -> Counter[str]:
    return Counter(c["email"] for body in server.stats.json_bodies("/customers") for c in body["data"])


def test_after_10_updated_and_5_added_the_next_run_sends_exactly_those_15(sandbox, source, tmp_path):
    source.put(people(40))
    first = incremental(sandbox, source, tmp_path, "r1")
    assert first.summary["records_sent"] == 40
    assert first.summary["window"]["after"] is None
    assert first.summary["window"]["up_to"] == (T0 + timedelta(seconds=39)).isoformat()

    later = T0 + timedelta(days=1)
    source.put(people(10, start=5, name="Bea", at=later) + people(5, start=40, name="Cyd", at=later))
    sandbox.stats.reset()
    second = incremental(sandbox, source, tmp_path, "r2", "--since-overlap", "0")

    changed = {f"c{n}@example.com" for n in [*range(5, 15), *range(40, 45)]}
    assert sent_emails(sandbox) == Counter({email: 1 for email in changed})
    assert second.summary["records_sent"] == 15 and second.summary["rows_read"] == 15
    window = second.summary["window"]
    assert window["watermark"] == window["after"] == (T0 + timedelta(seconds=39)).isoformat()
    # PostgreSQL's rows were chosen by the database (the condition in the SQL); the file's as read
    assert window["rows_outside"] == (0 if source.kind == "postgres" else 30)
    assert window["up_to"] == (later + timedelta(seconds=44)).isoformat()
    assert customer(sandbox, "c5@example.com")["firstName"] == "Bea"
    assert customer(sandbox, "c44@example.com")["firstName"] == "Cyd"

    # the default overlap (10 minutes) reads the last rows again; --changed-only sends none of them twice
    sandbox.stats.reset()
    third = incremental(sandbox, source, tmp_path, "r3", "--changed-only")
    assert third.summary["records_sent"] == 0 and third.summary["records_unchanged"] == 15
    assert third.summary["window"]["after"] == (later + timedelta(seconds=44) - timedelta(minutes=10)).isoformat()


def test_full_reads_every_row_and_starts_the_watermark_again(sandbox, tmp_path):
    source = Source("csv", tmp_path)
    source.put(people(20))
    incremental(sandbox, source, tmp_path, "r1")
    source.put(people(3, start=20, at=T0 - timedelta(days=30)))  # added with old times: outside the window
    skipped = incremental(sandbox, source, tmp_path, "r2", "--since-overlap", "0")
    assert skipped.summary["rows_read"] == 0 and skipped.summary["window"]["rows_outside"] == 23

    full = incremental(sandbox, source, tmp_path, "r3", "--full")
    assert full.summary["records_sent"] == 23 and full.summary["window"]["after"] is None
    assert customer(sandbox, "c21@example.com") is not None
    assert full.summary["window"]["up_to"] == (T0 + timedelta(seconds=19)).isoformat()


def test_a_row_whose_sending_failed_is_read_again_and_the_watermark_stops_below_it(tmp_path):
    source = Source("csv", tmp_path)
    source.put(people(30))
    with SandboxServer() as server:
        incremental(server, source, tmp_path, "r1")
        later = T0 + timedelta(days=1)
        source.put(people(12, start=0, name="Bea", at=later))  # c0..c11 changed, one second apart
        server.injector.faults = Faults(error_rate=0.5, seed=3)  # about half of the requests fail
        failing = incremental(
            server,
            source,
            tmp_path,
            "r2",
            "--max-retries",
            "0",
            "--chunk-size",
            "1",
            "--concurrency",
            "1",
            "--since-overlap",
            "0",
        )
        failed = {row["email"] for row in failing.failed}
        assert failed and len(failed) < 12 and failing.summary["rows_failed"] == len(failed)
        first_failed = min(int(email[1:].split("@")[0]) for email in failed)
        expected = later + timedelta(seconds=first_failed - 1) if first_failed else T0 + timedelta(seconds=29)
        assert failing.summary["window"]["up_to"] == expected.isoformat()  # every row up to it landed

        server.injector.faults = Faults()
        server.stats.reset()
        again = incremental(server, source, tmp_path, "r3", "--since-overlap", "0", "--changed-only")
        assert set(sent_emails(server)) == failed  # read again, and only the failed ones sent (delta sync)
        assert all(customer(server, f"c{n}@example.com")["firstName"] == "Bea" for n in range(12))
        assert again.summary["window"]["up_to"] == (later + timedelta(seconds=11)).isoformat()


def test_rows_held_back_by_the_error_budget_do_not_move_the_watermark(sandbox, tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        ["email", "updated_at"],
        [["a@example.com", "1"], ["not-an-email", "2"], ["b@example.com", "3"]],
    )
    args = [
        "customers",
        str(path),
        "--since-column",
        "updated_at",
        "--state",
        str(tmp_path / "s.db"),
        "--max-rejects",
        "0",
    ]
    stopped = run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / "r1")
    assert stopped.exit_code == 2 and stopped.summary["rows_held"] == 2
    assert stopped.summary["window"]["up_to"] is None  # row 1 was held: no row landed in order
    write_csv(path, ["email", "updated_at"], [["a@example.com", "1"], ["b@example.com", "3"]])
    sent = run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / "r2")
    assert sent.summary["records_sent"] == 2 and sent.summary["window"]["up_to"] == "3"


def test_a_run_killed_halfway_and_resumed_sends_every_changed_row(tmp_path):
    source = Source("csv", tmp_path)
    source.put(people(300))
    with SandboxServer(faults=Faults(latency_ms=150)) as server:
        env = {**os.environ, **sandbox_env(server)}
        state = str(tmp_path / "state.db")
        command = [
            str(BIN / "ecdp-import"),
            "customers",
            *source.args(),
            "--since-column",
            "updated_at",
            "--state",
            state,
            "--chunk-size",
            "10",
            "--concurrency",
            "1",
            "--no-progress",
            "--since-overlap",
            "0",
        ]
        subprocess.run([*command, "--report-dir", str(tmp_path / "r1")], env=env, check=True, capture_output=True)
        later = T0 + timedelta(days=1)
        source.put(people(200, start=50, name="Bea", at=later))
        server.stats.reset()
        process = subprocess.Popen(
            [*command, "--report-dir", str(tmp_path / "r2")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while server.stats.total < 6 and time.monotonic() < deadline:  # some chunks are in
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        before = sent_emails(server)
        assert 0 < sum(before.values()) < 200

        resumed = run_cli(
            [
                "customers",
                *source.args(),
                "--since-column",
                "updated_at",
                "--state",
                state,
                "--resume",
                "--since-overlap",
                "0",
            ],
            env=sandbox_env(server),
            report_dir=tmp_path / "r3",
        )
        assert resumed.exit_code == 0, resumed.stderr
        changed = {f"c{n}@example.com" for n in range(50, 250)}
        total = sent_emails(server)
        assert set(total) == changed  # nothing outside the window was sent
        twice = [email for email, n in total.items() if n > 1]
        assert len(twice) <= 10 and max(total.values()) <= 2  # at most the one chunk whose answer the kill cut off
        accepted_before = resumed.summary["records_already_accepted"]  # (journaled by the killed run: skipped)
        assert 0 < accepted_before <= sum(before.values())
        assert accepted_before + resumed.summary["records_sent"] == 200
        assert all(server.store.customer_by("email", email)["firstName"] == "Bea" for email in changed)  # (stored)
        assert resumed.summary["window"]["up_to"] == (later + timedelta(seconds=249)).isoformat()


def test_a_missing_or_unorderable_cursor_column_stops_before_anything_is_sent(sandbox, tmp_path, postgres_server):
    path = write_csv(
        tmp_path / "c.csv",
        ["email", "updated_at", "note"],
        [["a@example.com", "2026-12-01T10:00:00Z", "x"], ["b@example.com", "yesterday", "y"]],
    )
    for column, said in (("nope", "is not a column of the input"), ("updated_at", "cannot order the rows")):
        done = run_cli(
            ["customers", str(path), "--since-column", column, "--state", str(tmp_path / "s.db")],
            env=sandbox_env(sandbox),
            report_dir=tmp_path / column,
        )
        assert done.exit_code == 2 and said in done.stderr
        assert len([line for line in done.stderr.splitlines() if line.startswith("Error:")]) == 1
    postgres_server.sql(
        "DROP TABLE IF EXISTS flags; CREATE TABLE flags (email text, active boolean);"
        " INSERT INTO flags VALUES ('a@example.com', true)"
    )
    env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": postgres_server.password}
    for column, said in (("active", "which cannot order rows"), ("updated_at", "is not a column of the query")):
        done = run_cli(
            [
                "customers",
                "--db",
                postgres_server.url_without_password,
                "--sql",
                "SELECT * FROM flags",
                "--since-column",
                column,
                "--state",
                str(tmp_path / "s.db"),
            ],
            env=env,
            report_dir=tmp_path / f"pg-{column}",
        )
        assert done.exit_code == 2 and said in done.stderr, done.stderr
        assert postgres_server.password not in done.stderr
    assert sandbox.stats.count("POST") == 0


def test_the_window_is_in_runs_the_summary_and_report_html(sandbox, tmp_path):
    source = Source("csv", tmp_path)
    source.put(people(5))
    incremental(sandbox, source, tmp_path, "r1")
    second = incremental(sandbox, source, tmp_path, "r2")
    listed = run_cli(["runs", "--state", str(tmp_path / "state.db")], imports=False)
    assert listed.exit_code == 0
    up_to = (T0 + timedelta(seconds=4)).isoformat()
    assert f"window updated_at after {(T0 + timedelta(seconds=4, minutes=-10)).isoformat()} -> {up_to}" in listed.stdout
    assert f"window updated_at: every row -> {up_to}" in listed.stdout
    assert "window:" in second.stdout and f"next run after {up_to}" in second.stdout
    assert f"the watermark {up_to} less the overlap 10m" in (tmp_path / "r2" / "report.html").read_text()
    dry = run_cli(
        [
            "customers",
            *source.args(),
            "--since-column",
            "updated_at",
            "--state",
            str(tmp_path / "state.db"),
            "--dry-run",
        ],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "dry",
    )
    assert dry.summary["window"]["stored"] is False and dry.summary["window"]["watermark"] == up_to


@pytest.mark.parametrize(
    "overlap, said", [("10x", "neither a duration nor a number"), ("5", "does not fit a cursor of datetimes")]
)
def test_an_overlap_that_fits_no_cursor_is_refused(sandbox, tmp_path, overlap, said):
    source = Source("csv", tmp_path)
    source.put(people(3))
    incremental(sandbox, source, tmp_path, "r1")
    done = run_cli(
        [
            "customers",
            *source.args(),
            "--since-column",
            "updated_at",
            "--since-overlap",
            overlap,
            "--state",
            str(tmp_path / "state.db"),
        ],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r2",
    )
    assert done.exit_code == 2 and said in done.stderr


@pytest.mark.parametrize(
    "column_type, first, later",
    [
        ("timestamp", "'2026-12-01 08:00:00'::timestamp + n * interval '1 second'", "'2026-12-02 08:00:00'"),
        ("date", "'2026-12-01'::date + n", "'2027-01-01'"),
        ("integer", "n", "1000"),
        ("numeric(12,2)", "n + 0.25", "1000.50"),
    ],
)
def test_a_querys_cursor_is_compared_by_the_database_in_its_own_type(
    sandbox, postgres_server, tmp_path, column_type, first, later
):
    postgres_server.sql(
        f"DROP TABLE IF EXISTS typed; CREATE TABLE typed (email text, cursor {column_type});"
        f" INSERT INTO typed SELECT 'c' || n || '@example.com', {first} FROM generate_series(1, 20) n"
    )
    args = [
        "customers",
        "--db",
        postgres_server.url_without_password,
        "--sql",
        "SELECT * FROM typed -- all of it",
        "--since-column",
        "cursor",
        "--since-overlap",
        "0",
        "--state",
        str(tmp_path / "s.db"),
    ]
    env = {**sandbox_env(sandbox), "ECDP_DB_PASSWORD": postgres_server.password}
    first_run = run_cli(args, env=env, report_dir=tmp_path / "r1")
    assert first_run.exit_code == 0, first_run.stderr + first_run.stdout
    assert first_run.summary["records_sent"] == 20
    postgres_server.sql(
        f"INSERT INTO typed VALUES ('new1@example.com', {later}), ('new2@example.com', {later}),"
        " ('blank@example.com', NULL)"
    )
    second = run_cli(args, env=env, report_dir=tmp_path / "r2")
    assert second.exit_code == 0, second.stderr
    assert second.summary["rows_read"] == 3 and second.summary["window"]["rows_outside"] == 0  # the database chose
    assert second.summary["window"]["rows_empty"] == 1  # a row without a cursor is always read


def test_a_mapped_run_windows_by_the_exports_own_column(sandbox, tmp_path):
    mapping = tmp_path / "people.toml"
    mapping.write_text('kind = "customers"\n[fields]\nemail = "E-mail"\nfirstName = "Name"\n', encoding="utf-8")
    path = write_csv(
        tmp_path / "export.csv",
        ["E-mail", "Name", "Changed"],
        [[f"m{n}@example.com", "Ann", str(n)] for n in range(10)],
    )
    args = [
        "customers",
        str(path),
        "--mapping",
        str(mapping),
        "--since-column",
        "Changed",
        "--state",
        str(tmp_path / "s.db"),
    ]
    assert run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / "r1").summary["window"]["up_to"] == "9"
    changed = [[f"m{n}@example.com", "Ann" if n < 8 else "Bo", str(n + 2 * (n >= 8))] for n in range(10)]
    write_csv(path, ["E-mail", "Name", "Changed"], changed)
    second = run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / "r2")
    assert second.summary["records_sent"] == 2 and second.summary["window"]["up_to"] == "11"
    assert customer(sandbox, "m9@example.com")["firstName"] == "Bo"


def test_a_64_bit_cursor_compares_exactly_and_a_wrong_overlap_stops_a_first_run(sandbox, tmp_path):
    big = 2**53  # above it, a float cannot tell n from n + 1
    path = write_csv(tmp_path / "c.csv", ["email", "version"], [["a@example.com", str(big)]])
    args = ["customers", str(path), "--since-column", "version", "--state", str(tmp_path / "s.db")]
    refused = run_cli([*args, "--since-overlap", "10m"], env=sandbox_env(sandbox), report_dir=tmp_path / "r0")
    assert refused.exit_code == 2 and "does not fit a cursor of numbers" in refused.stderr
    assert sandbox.stats.count("POST") == 0
    assert run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / "r1").summary["window"]["up_to"] == str(big)
    write_csv(path, ["email", "version"], [["a@example.com", str(big)], ["b@example.com", str(big + 1)]])
    second = run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / "r2")
    assert second.summary["records_sent"] == 1 and second.summary["window"]["up_to"] == str(big + 1)


def test_a_parquet_dataset_is_windowed_as_its_rows_are_read(sandbox, tmp_path):
    folder = tmp_path / "lake" / "customers"
    folder.mkdir(parents=True)
    pl.DataFrame(
        {"email": [f"p{n}@example.com" for n in range(6)], "updated_at": [T0 + timedelta(hours=n) for n in range(6)]}
    ).write_parquet(folder / "part-0.parquet")
    args = [
        "customers",
        str(folder),
        "--since-column",
        "updated_at",
        "--since-overlap",
        "0",
        "--state",
        str(tmp_path / "s.db"),
    ]
    assert run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / "r1").summary["records_sent"] == 6
    pl.DataFrame({"email": ["p9@example.com"], "updated_at": [T0 + timedelta(days=2)]}).write_parquet(
        folder / "part-1.parquet"
    )
    second = run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / "r2")
    assert second.summary["records_sent"] == 1 and second.summary["window"]["rows_outside"] == 6
    assert customer(sandbox, "p9@example.com") is not None


def _sqlite_job(source: Source, sql: str) -> list[str]:
    return ["--db", f"sqlite:///{source.tmp_path / 'shop.db'}", "--sql", sql]


def test_two_queries_on_one_database_are_two_jobs_with_their_own_watermarks(sandbox, tmp_path):
    source = Source("sqlite", tmp_path)
    source.put(people(10, name="Ann", at=T0 + timedelta(days=1)) + people(5, start=10, name="Bea"))  # Bea's older
    env, state = sandbox_env(sandbox), str(tmp_path / "state.db")
    runs = {}
    for name in ("Ann", "Bea"):
        done = run_cli(
            [
                "customers",
                *_sqlite_job(source, f"SELECT * FROM customers WHERE firstName = '{name}'"),
                "--since-column",
                "updated_at",
                "--state",
                state,
            ],
            env=env,
            report_dir=tmp_path / name,
        )
        assert done.exit_code == 0, done.stderr + done.stdout
        assert_accounted(done.summary)
        runs[name] = done
    # (one watermark of both, Ann's a day after Bea's rows, would have made Bea's first run read none of them)
    assert runs["Bea"].summary["rows_read"] == 5 and runs["Bea"].summary["records_sent"] == 5
    assert runs["Bea"].summary["window"]["after"] is None
    assert runs["Ann"].summary["files"] == runs["Bea"].summary["files"]  # (the source's name is its URL alone)
    with sqlite3.connect(state) as db:
        marks = dict(db.execute("SELECT series, value FROM watermarks").fetchall())
        names = [row[0] for row in db.execute("SELECT DISTINCT series_name FROM runs")]
    assert sorted(marks.values()) == [
        (T0 + timedelta(seconds=14)).isoformat(),
        (T0 + timedelta(days=1, seconds=9)).isoformat(),
    ]
    assert len(names) == 2 and all("shop.db (query " in name for name in names)


def test_a_query_windowed_then_full_then_dry_is_one_job(sandbox, tmp_path):
    def put(count: int) -> None:  # (a number cursor: SQLite's is pushed into the SQL, a text one is not)
        with sqlite3.connect(tmp_path / "shop.db") as db:
            db.execute("CREATE TABLE IF NOT EXISTS customers (email TEXT PRIMARY KEY, version INTEGER)")
            db.executemany(
                "INSERT OR IGNORE INTO customers VALUES (?, ?)", [(f"c{n}@example.com", n) for n in range(count)]
            )

    put(6)
    job = [
        "--db",
        f"sqlite:///{tmp_path / 'shop.db'}",
        "--sql",
        "SELECT * FROM customers;\n",
        "--since-column",
        "version",
        "--state",
        str(tmp_path / "state.db"),
    ]
    env = sandbox_env(sandbox)
    first = run_cli(["customers", *job], env=env, report_dir=tmp_path / "r1")  # (no watermark yet: the SQL as written)
    put(8)
    windowed = run_cli(["customers", *job, "--since-overlap", "0"], env=env, report_dir=tmp_path / "r2")
    assert windowed.summary["window"]["after"] == "5"
    assert windowed.summary["rows_read"] == 2 and windowed.summary["window"]["rows_outside"] == 0  # (the SQL's)
    full = run_cli(["customers", *job, "--full"], env=env, report_dir=tmp_path / "r3")
    assert full.summary["rows_read"] == 8
    dry = run_cli(["customers", *job, "--dry-run"], env=env, report_dir=tmp_path / "dry")
    assert dry.summary["window"]["watermark"] == "7"  # the dry run found the job's watermark
    for done in (first, windowed, full, dry):
        assert done.exit_code == 0, done.stderr + done.stdout
        assert_accounted(done.summary)
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert len(db.execute("SELECT DISTINCT series FROM runs").fetchall()) == 1
        assert db.execute("SELECT value FROM watermarks").fetchall() == [("7",)]
