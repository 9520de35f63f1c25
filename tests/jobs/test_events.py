"""``ecdp-import events`` against the sandbox over loopback: rows to custom events, each stored at most once.

Every row carries a unique data field (``seq``), so an event stored twice is countable. A run killed with
SIGKILL and resumed stores no event twice except those its report lists as uncertain, and loses none.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from importer.sandbox import Faults, SandboxServer
from tests.support import Run, assert_accounted, run_cli, sandbox_env, write_csv

BIN = Path(sys.executable).parent
POST = ("POST", "/scenariocustomevents")


def events_file(path: Path, rows: int, event_id: str | None = None) -> Path:
    """``rows`` events for c<n>@example.com, each with its own ``data.seq`` (n)."""
    header = ["customerEmail", "data.seq", *(["customEventId"] if event_id else [])]
    return write_csv(
        path, header, [[f"c{n}@example.com", str(n), *([event_id] if event_id else [])] for n in range(rows)]
    )


def stored_seqs(server: SandboxServer) -> Counter[str]:
    """How often each ``seq`` data field was stored."""
    return Counter(
        next(f["value"] for f in event["dataFields"] if f["name"] == "seq") for event in server.store.custom_events()
    )


def seqs_of(rows: list[dict[str, str]]) -> set[str]:
    return {row["data.seq"] for row in rows}


def import_events(server: SandboxServer, tmp_path: Path, *args: str, report: str = "report") -> Run:
    return run_cli(["events", *args], env=sandbox_env(server), report_dir=tmp_path / report)


def test_every_data_field_type_is_sent_as_declared_and_bad_rows_are_rejected_naming_the_column(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    source = write_csv(
        tmp_path / "events.csv",
        [
            "customerEmail",
            "CustomerPhone",
            "customerCrmId",
            "data.store",
            "data.note",
            "data.amount",
            "data.paid",
            "data.day",
            "data.at",
            "data.vip",
            "data.page",
            "data.free",
        ],
        [
            [
                "Ada@Example.com",
                "",
                "",
                "Warsaw 3",
                "long text",
                "3",
                "19.99",
                "2026-03-31",
                "2026-03-31 10:00:00+02:00",
                "yes",
                "https://example.com/p/1",
                "007",
            ],
            [
                "",
                "+48 600-123-456",
                "",
                "Gdansk",
                "",
                "1.5",
                "0",
                "2026-01-02",
                "2026-01-02T00:00:00Z",
                "false",
                "http://example.com",
                "https://example.com/free",
            ],
            ["bad@example.com", "", "", "", "", "many", "1", "2026-02-30", "", "", "example.com/page", ""],
            ["", "", "", "Krakow", "", "", "", "", "", "", "", ""],
            ["", "", "crm-9", "", "", "", "", "", "", "maybe", "", "2026-05-01"],
        ],
    )
    types = [
        "store=String",
        "note=Text",
        "amount=Number",
        "paid=Money",
        "day=Date",
        "at=DateTime",
        "vip=Boolean",
        "page=URL",
    ]
    run = import_events(
        sandbox,
        tmp_path,
        str(source),
        "--event-id",
        "1",
        "--max-rejects",
        "100%",
        *[arg for t in types for arg in ("--field-type", t)],
    )

    assert run.exit_code == 1, run.stderr
    assert sorted(sandbox.store.custom_events(), key=lambda event: "customerEmail" not in event) == [
        {
            "customEventId": 1,
            "customerEmail": "ada@example.com",
            "dataFields": [
                {"name": "store", "type": "String", "value": "Warsaw 3"},
                {"name": "note", "type": "Text", "value": "long text"},
                {"name": "amount", "type": "Number", "value": "3"},
                {"name": "paid", "type": "Money", "value": "19.99"},
                {"name": "day", "type": "Date", "value": "2026-03-31"},
                {"name": "at", "type": "DateTime", "value": "2026-03-31T08:00:00.000Z"},
                {"name": "vip", "type": "Boolean", "value": "true"},
                {"name": "page", "type": "URL", "value": "https://example.com/p/1"},
                {"name": "free", "type": "String", "value": "007"},  # undeclared and numeric: still a String
            ],
        },
        {
            "customEventId": 1,
            "customerPhone": "+48600123456",
            "dataFields": [
                {"name": "store", "type": "String", "value": "Gdansk"},
                {"name": "amount", "type": "Number", "value": "1.5"},
                {"name": "paid", "type": "Money", "value": "0"},
                {"name": "day", "type": "Date", "value": "2026-01-02"},
                {"name": "at", "type": "DateTime", "value": "2026-01-02T00:00:00.000Z"},
                {"name": "vip", "type": "Boolean", "value": "false"},
                {"name": "page", "type": "URL", "value": "http://example.com"},
                {"name": "free", "type": "URL", "value": "https://example.com/free"},  # undeclared: typed by its value
            ],
        },
    ]
    reasons = {row["_row"]: row["_error"] for row in run.rejected}
    assert reasons["4"] == (
        "data.amount: 'many' is not a number (digits, optionally a sign and a decimal point); "
        "data.day: is not a date of the calendar (YYYY-MM-DD); "
        "data.page: 'example.com/page' is not a URL with a scheme (e.g. https://example.com/page)"
    )
    assert reasons["5"] == (
        "no customer identifier: give one of customerId, customerEmail, customerEmailMd5, "
        "customerEmailSha256, customerPhone, customerCrmId"
    )
    assert reasons["6"] == ("data.vip: 'maybe' is not a Boolean (true or false; yes/no and 1/0 are read as such)")
    summary = run.summary
    assert (summary["rows_accepted"], summary["rows_rejected"], summary["rows_uncertain"]) == (2, 3, 0)
    assert summary["requests"] == 2 and summary["event_id"] == 1
    assert_accounted(summary)


def test_an_event_id_per_row_comes_from_its_column(sandbox: SandboxServer, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "e.csv", ["Event", "customerCrmId"], [["2", "a"], ["3", "b"], ["x", "c"]])
    run = import_events(sandbox, tmp_path, str(source), "--event-id-column", "Event", "--max-rejects", "100%")

    assert sorted((e["customEventId"], e["customerCrmId"]) for e in sandbox.store.custom_events()) == [
        (2, "a"),
        (3, "b"),
    ]
    assert [row["_error"] for row in run.rejected] == [
        "customEventId: 'x' is not a whole number from -2147483648 to 2147483647"
    ]


def test_an_input_without_a_customer_identifier_or_an_event_is_refused_before_sending(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    no_identifier = write_csv(tmp_path / "a.csv", ["email", "data.x"], [["a@example.com", "1"]])
    no_event = write_csv(tmp_path / "b.csv", ["customerEmail"], [["a@example.com"]])

    first = import_events(sandbox, tmp_path, str(no_identifier), "--event-id", "1", report="r1")
    second = import_events(sandbox, tmp_path, str(no_event), report="r2")

    assert first.exit_code == 2 and "no column that identifies a customer: give one of customerId" in first.stderr
    assert second.exit_code == 2 and "Give --event-id N" in second.stderr
    assert sandbox.stats.total == 0


def test_an_unknown_custom_event_stops_the_run_within_its_first_requests(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    source = events_file(tmp_path / "e.csv", 2000)
    started = time.monotonic()
    run = import_events(sandbox, tmp_path, str(source), "--event-id", "99", "--concurrency", "4")

    assert run.exit_code == 3
    assert sandbox.stats.count(*POST, 400) <= 8  # the requests in flight when the first answer came, no more
    assert time.monotonic() - started < 30
    assert (
        "the platform does not know custom event 99 (No custom event with id 99 is defined in this business unit"
    ) in run.stderr
    summary = run.summary
    assert summary["aborted"].startswith("the platform does not know custom event 99")
    assert summary["rows_rejected"] == sandbox.stats.count(*POST, 400)
    assert summary["rows_failed"] == 2000 - summary["rows_rejected"]  # never sent: a later run may send them
    assert summary["rows_uncertain"] == 0 and sandbox.store.counts().custom_events == 0
    assert_accounted(summary)


def test_a_lost_answer_is_uncertain_and_not_retried_a_throttled_request_is(tmp_path: Path) -> None:
    source = events_file(tmp_path / "e.csv", 200)
    with SandboxServer(faults=Faults(drop_rate=0.05, throttle_rate=0.02, retry_after_s=0, seed=3)) as server:
        run = import_events(
            server,
            tmp_path,
            str(source),
            "--event-id",
            "1",
            "--concurrency",
            "4",
            "--metrics-file",
            str(tmp_path / "metrics.prom"),
        )
        dropped = server.stats.count(*POST, 0)
        seqs = stored_seqs(server)

    assert dropped > 0 and server.stats.count(*POST, 429) > 0
    assert max(seqs.values()) == 1  # a dropped request was stored but never sent again
    summary = run.summary
    assert summary["rows_uncertain"] == dropped and summary["rows_accepted"] == 200 - dropped
    assert seqs_of(run.rows("uncertain.csv")) <= set(seqs)  # (the sandbox stored each before dropping it)
    assert set(seqs) == {str(n) for n in range(200)}
    assert run.exit_code == 1
    assert_accounted(summary)
    metrics = (tmp_path / "metrics.prom").read_text(encoding="utf-8")
    assert re.search(rf'ecdp_import_rows{{[^}}]*outcome="uncertain"[^}}]*}} {dropped}(\.0)?$', metrics, re.M), metrics


def test_a_killed_run_resumed_stores_no_event_twice_but_the_uncertain_and_loses_none(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    rows = 3000
    source = events_file(tmp_path / "e.csv", rows)
    env = {**os.environ, **sandbox_env(sandbox)}
    process = subprocess.Popen(
        [
            BIN / "ecdp-import",
            "events",
            source,
            "--event-id",
            "1",
            "--concurrency",
            "8",
            "--report-dir",
            tmp_path / "killed",
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while sandbox.store.counts().custom_events < 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = sandbox.store.counts().custom_events
    assert 500 <= before < rows

    resumed = import_events(sandbox, tmp_path, str(source), "--event-id", "1", "--resume", report="resumed")
    seqs = stored_seqs(sandbox)
    uncertain = seqs_of(resumed.rows("uncertain.csv"))

    assert 0 < len(uncertain) <= 8  # at most the requests in flight at the kill
    assert all(n == 1 for n in seqs.values())
    assert set(seqs) | uncertain == {str(n) for n in range(rows)}  # none lost
    summary = resumed.summary
    assert summary["rows_uncertain"] == len(uncertain) and summary["records_already_accepted"] >= before - 8
    assert summary["rows_accepted"] + len(uncertain) == rows
    assert_accounted(summary)

    again = import_events(sandbox, tmp_path, str(source), "--event-id", "1", "--resume", report="again")
    assert again.summary["records_sent"] == 0 and seqs_of(again.rows("uncertain.csv")) == uncertain

    resent = import_events(
        sandbox, tmp_path, str(source), "--event-id", "1", "--resume", "--resend-uncertain", report="resent"
    )
    after = stored_seqs(sandbox)
    assert resent.exit_code == 0 and resent.summary["records_sent"] == len(uncertain)
    assert {seq: after[seq] - seqs[seq] for seq in uncertain} == dict.fromkeys(uncertain, 1)
    assert sum(after.values()) == sum(seqs.values()) + len(uncertain)


def _read_all(server: SandboxServer) -> list[dict[str, Any]]:
    return server.store.custom_events()


@pytest.mark.slow
def test_100k_events_killed_and_resumed_are_each_stored_once(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Issue 32's done-when at full size: 100k rows (every 1000th with a bad amount), killed with SIGKILL when
    30k are stored, then resumed: every valid event stored, none twice but those listed as uncertain (none
    resent), the bad rows rejected with their reason. ~4 minutes (``make test-slow``)."""
    rows = 100_000
    source = tmp_path / "e.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customerEmail", "data.seq", "data.amount"])
        writer.writerows([f"c{n}@example.com", n, "x" if n % 1000 == 7 else f"{n}.5"] for n in range(rows))
    valid = {str(n) for n in range(rows) if n % 1000 != 7}
    command: list[str | Path] = [
        BIN / "ecdp-import",
        "events",
        source,
        "--event-id",
        "1",
        "--field-type",
        "amount=Money",
        "--concurrency",
        "8",
        "--no-progress",
        "--max-rejects",
        "1%",
    ]
    env = {**os.environ, **sandbox_env(sandbox)}
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "--report-dir", tmp_path / "killed"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 1800
    while sandbox.store.counts().custom_events < 30_000 and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = sandbox.store.counts().custom_events
    assert 30_000 <= before < len(valid)

    resumed = subprocess.run(
        [*command, "--resume", "--report-dir", tmp_path / "resumed"], env=env, capture_output=True, text=True
    )
    took = time.monotonic() - started

    assert resumed.returncode == 1, resumed.stderr  # (the rejected rows)
    seqs = stored_seqs(sandbox)
    with (tmp_path / "resumed" / "uncertain.csv").open() as handle:
        uncertain = {row["data.seq"] for row in csv.DictReader(handle)}
    assert len(uncertain) <= 8  # at most the requests in flight at the kill
    assert all(count == 1 for count in seqs.values())  # none twice: the uncertain are not resent
    assert set(seqs) | uncertain == valid and not set(seqs) - valid  # none lost, none of the bad ones
    with (tmp_path / "resumed" / "rejected.csv").open() as handle:
        rejected = list(csv.DictReader(handle))
    assert {row["data.seq"] for row in rejected} == {str(n) for n in range(rows) if n % 1000 == 7}
    assert {row["_error"] for row in rejected} == {
        "data.amount: 'x' is not a number (digits, optionally a sign and a decimal point)"
    }
    summary = orjson.loads((tmp_path / "resumed" / "summary.json").read_bytes())
    assert summary["rows_uncertain"] == len(uncertain) and summary["rows_rejected"] == 100
    assert_accounted(summary)
    print(f"100k events, killed at {before:,} stored and resumed, in {took:.1f} s: {rows / took:.0f} events/s")


def test_a_mapping_of_kind_events_maps_identifiers_and_data_fields(sandbox: SandboxServer, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "till.csv",
        ["Card", "Mail", "Store", "Total"],
        [["L-1", "A@example.com", "Warsaw 3", "12,50"], ["L-2", "", "Gdansk", "3,00"]],
    )
    mapping = tmp_path / "events.toml"
    mapping.write_text(
        'kind = "events"\n\n[fields]\ncustomerCrmId = "Card"\ncustomerEmail = "Mail"\n\n'
        '[attributes]\nevent = { columns = ["Store", "Total"] }\n',
        encoding="utf-8",
    )
    run = import_events(
        sandbox, tmp_path, str(source), "--mapping", str(mapping), "--event-id", "3", "--field-type", "Total=String"
    )

    assert run.exit_code == 0, run.stderr
    assert sorted(sandbox.store.custom_events(), key=lambda event: event["customerCrmId"]) == [
        {
            "customEventId": 3,
            "customerEmail": "a@example.com",
            "customerCrmId": "L-1",
            "dataFields": [
                {"name": "Store", "type": "String", "value": "Warsaw 3"},
                {"name": "Total", "type": "String", "value": "12,50"},
            ],
        },
        {
            "customEventId": 3,
            "customerCrmId": "L-2",
            "dataFields": [
                {"name": "Store", "type": "String", "value": "Gdansk"},
                {"name": "Total", "type": "String", "value": "3,00"},
            ],
        },
    ]


def test_a_dry_run_writes_each_request_body_and_sends_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    source = events_file(tmp_path / "e.csv", 3)
    run = import_events(sandbox, tmp_path, str(source), "--event-id", "2", "--dry-run")

    assert run.exit_code == 0, run.stderr
    bodies = [orjson.loads(line) for line in (run.report_dir / "payloads.jsonl").read_bytes().splitlines()]
    assert bodies == [
        {
            "customEventId": 2,
            "customerEmail": f"c{n}@example.com",
            "dataFields": [{"name": "seq", "type": "String", "value": str(n)}],
        }
        for n in range(3)
    ]
    assert sandbox.stats.total == 0 and run.summary["rows_would_send"] == 3
