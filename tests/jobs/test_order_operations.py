"""``ecdp-import order-status`` and ``delete-orders`` against the sandbox over loopback HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.jobs.order_operations import delete_orders, update_order_status
from importer.sandbox import Faults, SandboxServer
from importer.settings import ApiKey, ApiSettings, RunOptions
from tests.support import Run, get, run_cli, sandbox_env, write_csv

LINE = {
    "date": "2024-11-06T10:10:00Z",
    "totalValue": "10",
    "customer.email": "a@example.com",
    "status": "placed",
    "product.id": "p1",
    "product.name": "Thing",
    "product.price": "10",
    "product.quantity": "1",
}


def seed_orders(server: SandboxServer, tmp_path: Path, ids: list[str]) -> None:
    """Import orders with these ids (status placed) into ``server``."""
    header = ["id", *LINE]
    source = write_csv(tmp_path / "seed.csv", header, [[order_id, *LINE.values()] for order_id in ids])
    run = run_cli(["orders", str(source)], env=sandbox_env(server), report_dir=tmp_path / "seed-report")
    assert run.exit_code == 0, run.stderr
    server.stats.reset()


def stored_status(server: SandboxServer, order_id: str) -> str | None:
    response = get(server, f"/orders/{order_id}")
    return None if response.status_code == 404 else response.json()["data"]["status"]


def assert_all_rows_counted(summary: dict) -> None:
    assert summary["rows_read"] == (
        summary["rows_accepted"]
        + summary.get("rows_would_send", 0)
        + summary["rows_rejected"]
        + summary["rows_failed"]
        + summary["rows_not_found"]
        + summary["rows_blank"]
    )


def operation(
    server,
    tmp_path: Path,
    command: str,
    header: list[str],
    rows: list[list[str]],
    *extra: str,
    stdin: str | None = None,
) -> Run:
    source = write_csv(tmp_path / f"{command}.csv", header, rows)
    args = [command, str(source), *extra, "--report-dir", str(tmp_path / "report"), "--no-progress", "--output", "full"]
    result = CliRunner().invoke(cli, args, env=sandbox_env(server), input=stdin, catch_exceptions=False)
    run = Run(result, tmp_path / "report")
    if run.exit_code in (0, 1, 3):
        assert_all_rows_counted(run.summary)
    return run


def api_for(server: SandboxServer, **overrides) -> ApiSettings:
    return ApiSettings(**{"url": server.url, "key": ApiKey(server.api_key), "backoff_base_s": 0.01, **overrides})


# -- order-status ---------------------------------------------------------------------------------


def test_statuses_are_set_and_every_problem_row_is_reported(sandbox, tmp_path):
    seed_orders(sandbox, tmp_path, ["o1", "o2", "o3", "o4"])
    rows = [
        ["o1", "paid"],
        ["o2", "Cancelled"],  # the British spelling and any letter case are understood
        ["missing-order", "paid"],
        ["o3", "shipped"],
        ["", "paid"],
        ["o4", "paid"],
        ["o4", "canceled"],  # two statuses for one order: which one is meant?
        ["o1", "PAID"],  # the same again: one request for both rows
    ]
    run = operation(sandbox, tmp_path, "order-status", ["id", "status"], rows)
    assert run.exit_code == 1, run.stderr
    assert [stored_status(sandbox, o) for o in ("o1", "o2", "o3", "o4")] == ["paid", "canceled", "placed", "placed"]
    summary = run.summary
    counts = ("rows_read", "rows_accepted", "rows_rejected", "rows_failed")
    assert tuple(summary[c] for c in counts) == (8, 3, 5, 0)
    assert (summary["records_built"], summary["records_accepted"], summary["records_rejected"]) == (3, 2, 1)
    assert sandbox.stats.count("PUT", "/orders/status") == summary["requests"] == 3
    reasons = {(r["_row"], r["_stage"]): r["_error"] for r in run.rejected}
    assert reasons[("4", "api")] == "id: No order with this id exists."
    assert reasons[("5", "validation")] == "status: 'shipped' is not one of placed, paid, completed, canceled"
    assert reasons[("6", "validation")] == "id: is required: the id of the order to update"
    assert (
        reasons[("7", "validation")]
        == reasons[("8", "validation")]
        == (
            "status: order o4 is given different statuses: 'paid' (order-status.csv row 7), "
            "'canceled' (order-status.csv row 8)"
        )
    )
    assert "4 to be updated" not in run.stdout and "3 to be updated, 3 sent in 3 requests, 2 updated" in run.stdout


def test_api_field_names_are_understood_and_a_clean_file_exits_0(sandbox, tmp_path):
    seed_orders(sandbox, tmp_path, ["o1"])
    run = operation(sandbox, tmp_path, "order-status", ["orderId", "orderStatus", "note"], [["o1", "completed", "x"]])
    assert run.exit_code == 0, run.stderr
    assert "Ignored columns (not id, status): note." in run.stderr
    assert stored_status(sandbox, "o1") == "completed" and not run.rejected


def test_order_status_dry_run_writes_the_requests_and_sends_nothing(sandbox, tmp_path):
    run = operation(sandbox, tmp_path, "order-status", ["id", "status"], [["o/1", "paid"]], "--dry-run")
    assert run.exit_code == 0
    lines = (tmp_path / "report" / "payloads.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {"method": "PUT", "path": "/orders/status", "body": {"orderId": "o/1", "orderStatus": "paid"}}
    ]
    assert sandbox.stats.total == 0
    summary = run.summary  # a dry run accepts nothing: what a real run would send is rows_would_send
    assert (summary["rows_accepted"], summary["records_accepted"], summary["rows_would_send"]) == (0, 0, 1)
    assert "1 valid (would be sent)" in run.stdout


def test_a_file_without_a_status_column_is_refused(sandbox, tmp_path):
    run = operation(sandbox, tmp_path, "order-status", ["id"], [["o1"]])
    assert run.exit_code == 2
    assert "The input has no 'status' column, which order-status needs." in run.stderr
    assert sandbox.stats.total == 0


def test_status_updates_survive_server_errors_with_the_imports_retries(tmp_path):
    with SandboxServer() as server:
        seed_orders(server, tmp_path, [f"o{i}" for i in range(12)])
        server.injector.faults = Faults(error_rate=0.4, seed=5)  # from now on, 40 % of requests fail
        server.injector.reset()
        source = write_csv(tmp_path / "s.csv", ["id", "status"], [[f"o{i}", "paid"] for i in range(12)])
        result = update_order_status(
            [source], api_for(server), RunOptions(report_dir=tmp_path / "r", progress=False), warn=print
        )
        summary = result.summary.to_dict()
        assert summary["exit_code"] == 0 and summary["rows_accepted"] == 12 and summary["retries"] > 0
        server.injector.faults = Faults()
        assert all(stored_status(server, f"o{i}") == "paid" for i in range(12))


def test_status_updates_run_concurrently_and_honour_the_rate(sandbox, tmp_path):
    ids = [f"o{i}" for i in range(16)]
    with SandboxServer(faults=Faults(latency_ms=100)) as slow:
        seed_orders(slow, tmp_path, ids)
        source = write_csv(tmp_path / "s.csv", ["id", "status"], [[i, "paid"] for i in ids])
        began = time.monotonic()
        result = update_order_status(
            [source], api_for(slow, concurrency=8), RunOptions(report_dir=tmp_path / "fast", progress=False), warn=print
        )
        assert result.exit_code == 0 and time.monotonic() - began < 1.2  # one at a time would take 1.6 s
    seed_orders(sandbox, tmp_path, ids[:6])
    source = write_csv(tmp_path / "t.csv", ["id", "status"], [[i, "completed"] for i in ids[:6]])
    began = time.monotonic()
    result = update_order_status(
        [source],
        api_for(sandbox, concurrency=8, rate=10.0),
        RunOptions(report_dir=tmp_path / "paced", progress=False),
        warn=print,
    )
    assert result.exit_code == 0 and time.monotonic() - began >= 0.45  # 6 requests spaced 0.1 s apart


def test_a_refused_key_stops_at_once_with_exit_3(sandbox, tmp_path):
    source = write_csv(tmp_path / "s.csv", ["id", "status"], [["o1", "paid"], ["o2", "paid"]])
    env = {**sandbox_env(sandbox), "ECDP_API_KEY": "wrong"}
    run = run_cli(["order-status", str(source), "--concurrency", "1"], env=env, report_dir=tmp_path / "r")
    assert run.exit_code == 3
    assert run.summary["rows_failed"] == 2 and run.summary["requests"] == 1
    assert {r["_error"] for r in run.failed} >= {
        "not sent: the API rejected the key (HTTP 401); no further requests were sent"
    }
    assert "wrong" not in (tmp_path / "r" / "summary.json").read_text()


# -- delete-orders --------------------------------------------------------------------------------


def test_delete_with_yes_deletes_and_reports_missing_orders_apart(sandbox, tmp_path):
    seed_orders(sandbox, tmp_path, ["t1", "t2", "keep"])
    run = operation(sandbox, tmp_path, "delete-orders", ["id"], [["t1"], ["t2"], ["never-imported"], ["t1"]], "--yes")
    assert run.exit_code == 0, run.stderr  # "not found" is not a failure of the run
    assert [stored_status(sandbox, o) for o in ("t1", "t2", "keep")] == [None, None, "placed"]
    summary = run.summary
    assert (summary["rows_accepted"], summary["rows_not_found"], summary["records_not_found"]) == (3, 1, 1)
    [missing] = run.rows("not_found.csv")
    assert (missing["id"], missing["_row"]) == ("never-imported", "4")
    assert missing["_error"].startswith("not found: the platform holds no order with this id")
    assert sandbox.store.counts().deleted_orders == 2
    assert not (tmp_path / "report" / "errors.jsonl").exists()  # an expected 404 is not an API error
    assert "3 to be deleted, 3 sent in 3 requests, 2 deleted, 1 not found" in run.stdout


@pytest.mark.parametrize(
    ("answer", "deleted"), [("y\n", True), ("n\n", False), ("", False)], ids=["yes", "no", "no-answer"]
)
def test_delete_without_yes_asks_with_the_count(sandbox, tmp_path, answer, deleted):
    seed_orders(sandbox, tmp_path, ["t1", "t2"])
    run = operation(sandbox, tmp_path, "delete-orders", ["id"], [["t1"], ["t2"], ["t2"]], stdin=answer)
    assert f"Delete 2 orders in {sandbox.url}? [y/N]" in run.stderr
    if deleted:
        assert run.exit_code == 0 and sandbox.store.counts().deleted_orders == 2
    else:
        assert run.exit_code == 2
        assert "Nothing was sent: delete-orders of 2 orders was not confirmed." in run.stderr
        assert "--yes" in run.stderr
        assert sandbox.stats.count("DELETE", "/orders/{id:path}") == 0 and sandbox.store.counts().orders == 2


def test_delete_dry_run_asks_nothing_and_lists_the_requests(sandbox, tmp_path):
    # (the second row is not blank: it has a note, but no id)
    run = operation(sandbox, tmp_path, "delete-orders", ["ID", "note"], [["a b/1", ""], ["", "x"]], "--dry-run")
    assert run.exit_code == 1 and "[y/N]" not in run.stderr
    assert orjson.loads((tmp_path / "report" / "payloads.jsonl").read_bytes()) == {
        "method": "DELETE",
        "path": "/orders/a%20b%2F1",
    }
    assert run.rejected[0]["_error"] == "id: is required: the id of the order to delete"


def test_a_delete_whose_answer_was_lost_is_not_found_on_retry_and_says_so(tmp_path):
    ids = [f"t{i}" for i in range(20)]  # some first attempts are dropped, all but surely
    with SandboxServer() as server:
        seed_orders(server, tmp_path, ids)
        server.injector.faults = Faults(drop_rate=0.4, seed=4)  # processed, then the connection is closed
        server.injector.reset()
        source = write_csv(tmp_path / "d.csv", ["id"], [[i] for i in ids])
        run = RunOptions(report_dir=tmp_path / "r", progress=False)
        result = delete_orders([source], api_for(server, max_retries=40), run, warn=print)
        summary = result.summary.to_dict()
        assert server.store.counts().deleted_orders == 20
        assert summary["exit_code"] == 0 and summary["rows_accepted"] + summary["rows_not_found"] == 20
        assert summary["rows_not_found"] > 0
        assert "may have done it" in (result.report_dir / "not_found.csv").read_text()
