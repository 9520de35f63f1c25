"""The library API (``import importer``): what a data team's task calls, against the sandbox over HTTP.

Each test calls the public names as docs/library.md shows them: inside ``asyncio.run(main())``, from a
thread whose loop runs (a notebook), with frames as sources, with the key from the environment; and
checks that a library call prints nothing, installs no signal handler and hands back typed results.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import threading
from pathlib import Path

import polars as pl
import pytest

import importer
from tests.support import assert_accounted, customer, get, write_csv

GOOD = [[f"c{n}@example.com", f"C{n}"] for n in range(12)]
CUSTOMERS = (["email", "firstName"], [*GOOD, ["not-an-email", "Broken"]])  # 1 of 13 rejected: in budget
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


def api_of(server) -> importer.ApiSettings:
    return importer.ApiSettings(url=server.url, key=importer.ApiKey(server.api_key))


def run_in(tmp_path: Path, name: str = "report", **options) -> importer.RunOptions:
    return importer.RunOptions(report_dir=tmp_path / name, **options)


def test_every_public_name_is_there_documented_and_typed():
    for name in importer.__all__:
        value = getattr(importer, name)
        if callable(value) and name != "__version__":
            assert inspect.getdoc(value), f"{name} has no docstring"
    for name in ("import_customers", "import_orders", "update_order_statuses", "delete_orders", "verify"):
        assert inspect.iscoroutinefunction(getattr(importer, f"{name}_async")), name
        assert inspect.signature(getattr(importer, f"{name}_async")) == inspect.signature(getattr(importer, name))
    assert (Path(importer.__file__).parent / "py.typed").is_file()
    with pytest.raises(AttributeError):
        importer.no_such_name  # noqa: B018 (the attribute access is the test)


def test_the_async_variant_runs_inside_a_running_loop_and_the_loop_goes_on(sandbox, tmp_path):
    source = write_csv(tmp_path / "customers.csv", *CUSTOMERS)
    ticks = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    async def main() -> importer.RunResult:
        stop = asyncio.Event()
        beat = asyncio.create_task(ticker(stop))
        result = await importer.import_customers_async(source, api=api_of(sandbox), run=run_in(tmp_path))
        stop.set()
        await beat
        return result

    result = asyncio.run(main())
    assert isinstance(result, importer.RunResult) and result.exit_code == 1
    assert result.summary.rows_accepted == len(GOOD) and result.summary.rows_rejected == 1
    assert ticks > 1  # the loop was not blocked while the import ran
    assert customer(sandbox, "c3@example.com")["firstName"] == "C3"


def test_the_plain_function_called_from_a_running_loop_works_as_in_a_notebook_cell(sandbox, tmp_path):
    source = write_csv(tmp_path / "customers.csv", *CUSTOMERS)

    async def cell() -> importer.RunResult:
        return importer.import_customers(source, api=api_of(sandbox), run=run_in(tmp_path))  # no await

    assert asyncio.run(cell()).summary.rows_accepted == len(GOOD)


def test_frames_are_sources_and_rejected_rows_come_back_as_a_frame(sandbox, tmp_path):
    frame = pl.DataFrame({"email": [r[0] for r in CUSTOMERS[1]], "firstName": [r[1] for r in CUSTOMERS[1]]})
    result = importer.import_customers(frame, api=api_of(sandbox), run=run_in(tmp_path))
    rejected = result.rejected()
    assert isinstance(rejected, pl.DataFrame) and rejected.height == 1
    assert rejected["email"].to_list() == ["not-an-email"] and rejected["_file"].to_list() == ["DataFrame #1"]
    assert "email" in rejected["_field"].to_list()[0] and rejected["_error"].to_list()[0]
    assert result.summary.files == ["DataFrame #1"] and result.failed().is_empty()
    lazy = pl.LazyFrame({"email": ["lazy@example.com"], "firstName": ["Lazy"]})
    lazy_run = run_in(tmp_path, "lazy", max_drift=None)  # (one record after twelve: no nightly job's drift)
    assert importer.import_customers(lazy, api=api_of(sandbox), run=lazy_run).ok
    assert customer(sandbox, "lazy@example.com")["firstName"] == "Lazy"


def test_a_library_call_prints_nothing_installs_no_signal_handler_and_logs(
    sandbox, tmp_path, capfd, caplog, monkeypatch
):
    installed: list[int] = []
    real = signal.signal
    monkeypatch.setattr(signal, "signal", lambda number, handler: (installed.append(number), real(number, handler))[1])
    source = write_csv(tmp_path / "customers.csv", *CUSTOMERS)
    with caplog.at_level(logging.DEBUG, logger="ecdp_importer"):
        result = importer.import_customers(source, api=api_of(sandbox), run=run_in(tmp_path))
    assert result.exit_code == 1
    assert capfd.readouterr() == ("", "")
    assert installed == []
    events = [r for r in caplog.records if r.name == "ecdp_importer" and getattr(r, "event", None) == "chunk"]
    assert events and all(r.levelno == logging.DEBUG for r in events)  # the run's events, to logging
    last = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO][-1]
    assert last.startswith(f"customers run {result.summary.run_id}: exit 1; 13 read, 12 accepted, 1 rejected")
    assert sandbox.api_key not in caplog.text


def test_report_html_is_written_unless_switched_off(sandbox, tmp_path):
    source = write_csv(tmp_path / "customers.csv", *CUSTOMERS)
    with_html = importer.import_customers(source, api=api_of(sandbox), run=run_in(tmp_path, "a"))
    without = importer.import_customers(source, api=api_of(sandbox), run=run_in(tmp_path, "b", report_html=False))
    assert "report.html" in with_html.files and "report.html" not in without.files
    assert set(without.files) >= {"summary.json", "rejected.csv"}


def test_the_target_and_key_come_from_the_environment(sandbox, tmp_path, monkeypatch):
    source = write_csv(tmp_path / "customers.csv", *CUSTOMERS)
    monkeypatch.setenv("ECDP_API_URL", sandbox.url)
    monkeypatch.delenv("ECDP_API_KEY", raising=False)
    key_file = tmp_path / "key"
    key_file.write_text(sandbox.api_key + "\n")
    key_file.chmod(0o600)
    monkeypatch.setenv("ECDP_API_KEY_FILE", str(key_file))
    assert importer.import_customers(source, run=run_in(tmp_path)).summary.rows_accepted == len(GOOD)
    monkeypatch.delenv("ECDP_API_KEY_FILE")
    with pytest.raises(importer.UsageError) as raised:
        importer.import_customers(source, run=run_in(tmp_path, "nokey"))
    assert "ECDP_API_KEY" in str(raised.value)
    dry = importer.import_customers(source, run=run_in(tmp_path, "dry", dry_run=True))  # a dry run needs none
    assert (dry.summary.rows_accepted, dry.summary.rows_would_send) == (0, len(GOOD))


def test_a_run_that_cannot_start_raises_one_error_of_the_tree(sandbox, tmp_path):
    with pytest.raises(importer.InputError) as raised:
        importer.import_customers(tmp_path / "missing.csv", api=api_of(sandbox), run=run_in(tmp_path))
    assert "missing.csv" in raised.value.message and raised.value.exit_code == 2
    assert isinstance(raised.value, importer.ImporterError)


def test_orders_statuses_deletes_and_verify_through_the_library(sandbox, tmp_path):
    header = ["id", *LINE]
    lines = write_csv(tmp_path / "orders.csv", header, [[f"o{n}", *LINE.values()] for n in range(4)])
    api = api_of(sandbox)
    imported = importer.import_orders(lines, api=api, run=run_in(tmp_path, "orders"))
    assert imported.ok and imported.summary.records_accepted == 4
    checked = importer.verify(
        "orders", lines, api=api, run=run_in(tmp_path, "verify"), sampling=importer.Sampling(size=2, seed=1)
    )
    assert checked.ok and checked.summary.to_dict()["records_matching"] == 2
    statuses = write_csv(tmp_path / "status.csv", ["id", "status"], [["o1", "completed"]])
    assert importer.update_order_statuses(statuses, api=api, run=run_in(tmp_path, "status")).ok
    assert get(sandbox, "/orders/o1").json()["data"]["status"] == "completed"
    deletes = write_csv(tmp_path / "delete.csv", ["id"], [["o2"], ["o3"]])
    asked: list[int] = []
    with pytest.raises(importer.UsageError, match="not confirmed"):
        importer.delete_orders(
            deletes, api=api, run=run_in(tmp_path, "no"), confirm=lambda count: asked.append(count) is not None
        )
    assert asked == [2] and get(sandbox, "/orders/o2").status_code == 200
    deleted = importer.delete_orders(deletes, api=api, run=run_in(tmp_path, "del"))
    assert deleted.ok and get(sandbox, "/orders/o2").status_code == 404
    assert_accounted(imported.summary)


def test_shard_runs_of_one_file_store_every_record_exactly_once(sandbox, tmp_path):
    """Issue 20's shard test: N library runs, shard K/N each with its own state (as N pods of an Indexed
    Job would have), together send every order once: none twice, none left out."""
    header = ["id", *LINE]
    orders = 300
    rows = [[f"ORD-{n}", *LINE.values()] for n in range(orders) for _ in range(1 + n % 3)]  # 1-3 lines each
    source = write_csv(tmp_path / "lines.csv", header, rows)
    shards = 4
    results = [
        importer.import_orders(
            source,
            api=api_of(sandbox),
            run=run_in(tmp_path, f"shard-{k}", shard=f"{k}/{shards}", state=tmp_path / f"state-{k}.db"),
        )
        for k in range(1, shards + 1)
    ]
    sent = [r.summary.records_sent for r in results]
    assert all(r.ok for r in results) and all(n > 0 for n in sent)
    assert sum(sent) == orders  # each order sent by exactly one shard
    assert sum(r.summary.records_accepted for r in results) == orders
    assert sum(r.summary.rows_accepted for r in results) == len(rows)
    for result in results:
        assert result.summary.rows_accepted + result.summary.to_dict()["rows_in_other_shards"] == len(rows)
    assert sandbox.store.counts().orders == orders
    ids = [order["id"] for body in sandbox.stats.json_bodies("/orders") for order in body["data"]]
    assert len(ids) == len(set(ids)) == orders  # what crossed the wire: every order once


def test_the_library_runs_in_a_worker_thread(sandbox, tmp_path):
    """An orchestrator runs tasks in threads: no signal handler can be installed there, and none is."""
    source = write_csv(tmp_path / "customers.csv", *CUSTOMERS)
    found: list[importer.RunResult] = []
    worker = threading.Thread(
        target=lambda: found.append(importer.import_customers(source, api=api_of(sandbox), run=run_in(tmp_path)))
    )
    worker.start()
    worker.join(60)
    assert found and found[0].summary.rows_accepted == len(GOOD)


def test_an_error_about_a_frame_names_the_frame_not_its_copy(sandbox, tmp_path):
    with pytest.raises(importer.InputError) as raised:
        importer.import_customers(
            pl.DataFrame({"email": ["a@example.com"], "": ["x"]}), api=api_of(sandbox), run=run_in(tmp_path)
        )
    assert "DataFrame #1" in str(raised.value) and "ecdp-copy" not in str(raised.value)
