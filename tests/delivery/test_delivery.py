"""The delivery engine over real HTTP against a faulty sandbox: every valid record lands exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from importer.jobs.imports import import_customers, import_orders
from importer.sandbox import Faults, SandboxServer
from importer.settings import (
    ApiKey,
    ApiSettings,
    CustomerOptions,
    OrderOptions,
    RunOptions,
)
from tests.support import ORDER_LINE_COLUMNS, assert_accounted, write_csv


def start(**kwargs) -> SandboxServer:
    return SandboxServer(**kwargs).start()


@pytest.fixture
def servers() -> Iterator[list[SandboxServer]]:
    """Sandboxes a test starts with its own faults; all stopped at the end."""
    started: list[SandboxServer] = []
    yield started
    for server in started:
        server.stop()


def api_for(server: SandboxServer, **overrides) -> ApiSettings:
    """Settings for these delivery tests: quick backoff, and a ceiling of 1,000 requests/s, so a run starts
    at full pace (the random 429s of a faulty sandbox are no rate limit; pacing is tested on its own)."""
    settings = {
        "url": server.url,
        "key": ApiKey(server.api_key),
        "backoff_base_s": 0.01,
        "timeout_s": 10.0,
        "rate": 1000.0,
    }
    return ApiSettings(**{**settings, **overrides})


def customers_file(tmp_path: Path, count: int, bad: set[int] = frozenset()) -> Path:
    rows = [[f"c{i}@example.com" if i not in bad else f"bad{i}", f"Name {i}"] for i in range(count)]
    return write_csv(tmp_path / "customers.csv", ["email", "firstName"], rows)


def run_customers(server, tmp_path, source, mode="AddOrUpdate", chunk_size=100, **api):
    result = import_customers(
        [source],
        api_for(server, **api),
        CustomerOptions(mode=mode),
        RunOptions(chunk_size=chunk_size, report_dir=tmp_path / "report", progress=False),
    )
    assert_accounted(result.summary)
    return result.summary.to_dict()


def stored_emails(server: SandboxServer) -> int:
    return server.store.counts().customers


def test_faulty_network_every_record_lands_exactly_once(servers, tmp_path):
    faults = Faults(error_rate=0.10, throttle_rate=0.05, retry_after_s=0.01, drop_rate=0.01, seed=11)
    server = start(faults=faults)
    servers.append(server)
    summary = run_customers(
        server, tmp_path, customers_file(tmp_path, 3000), chunk_size=20, concurrency=8, max_retries=12
    )
    assert summary["exit_code"] == 0, summary
    assert summary["rows_accepted"] == 3000 and stored_emails(server) == 3000
    assert summary["retries"] > 0 and summary["throttled"] > 0
    stats = server.stats
    assert stats.count(status=500) + stats.count(status=502) + stats.count(status=503) > 0
    assert stats.count(status=0) >= 0  # drops happen rarely at 1%; landing exactly once is what counts


def test_faulty_network_orders_land_exactly_once(servers, tmp_path):
    server = start(faults=Faults(error_rate=0.10, throttle_rate=0.05, retry_after_s=0.01, drop_rate=0.02, seed=5))
    servers.append(server)
    header = ORDER_LINE_COLUMNS
    rows = [
        [f"o{i // 2}", "2024-11-01", "2", f"c{i}@example.com" if i % 2 == 0 else "", f"p{i}", "P", "1", "1"]
        for i in range(1000)
    ]
    source = write_csv(tmp_path / "orders.csv", header, rows)
    result = import_orders(
        [source],
        api_for(server, concurrency=8, max_retries=12),
        OrderOptions(),
        RunOptions(chunk_size=10, report_dir=tmp_path / "report", progress=False),
    )
    assert_accounted(result.summary)
    assert result.summary.exit_code == 0 and result.summary.records_accepted == 500
    assert server.store.counts().orders == 500


@pytest.mark.parametrize("errors_style", ["list", "none"], ids=["indices", "bisection"])
def test_one_bad_record_in_a_chunk_of_100_leaves_99_accepted(servers, tmp_path, errors_style):
    server = start(errors_style=errors_style)
    servers.append(server)
    seed = write_csv(tmp_path / "seed.csv", ["email"], [["c42@example.com"]])
    run_customers(server, tmp_path / "seed", seed)
    summary = run_customers(server, tmp_path, customers_file(tmp_path, 100), mode="Add")
    assert (summary["rows_accepted"], summary["rows_rejected"]) == (99, 1)
    assert stored_emails(server) == 100
    rejected = (tmp_path / "report" / "rejected.csv").read_text()
    assert "c42@example.com" in rejected and "already exists" in rejected  # the API's own message
    if errors_style == "list":
        assert summary["requests"] == 2  # the chunk, then the 99 it did not name
    else:
        assert summary["requests"] <= 1 + 2 * 7  # bisection: two requests per halving of 100


def test_413_splits_and_lowers_the_chunk_size(servers, tmp_path):
    server = start(faults=Faults(max_body=1500))
    servers.append(server)
    summary = run_customers(server, tmp_path, customers_file(tmp_path, 200), chunk_size=100, concurrency=1)
    assert summary["exit_code"] == 0 and stored_emails(server) == 200
    largest = max(len(orjson.dumps(b)) for b in server.stats.json_bodies("/customers"))
    assert largest <= 1500
    assert server.stats.count(status=413) < 10  # the lowered size is kept, not rediscovered per chunk


def test_401_stops_with_at_most_concurrency_requests_after_it(servers, tmp_path):
    server = start(faults=Faults(latency_ms=30))
    servers.append(server)
    summary = run_customers(
        server, tmp_path, customers_file(tmp_path, 2000), chunk_size=10, concurrency=4, key=ApiKey("wrong")
    )
    assert summary["exit_code"] == 3 and summary["rows_failed"] == 2000
    assert server.stats.total <= 4  # the first 401 and at most the others already in flight


def test_retry_after_is_honoured(servers, tmp_path):
    server = start(faults=Faults(rate_limit=1))
    servers.append(server)
    began = time.monotonic()
    summary = run_customers(server, tmp_path, customers_file(tmp_path, 3), chunk_size=1, concurrency=1)
    elapsed = time.monotonic() - began
    assert summary["exit_code"] == 0 and summary["throttled"] >= 1
    assert elapsed >= 1.0 * summary["throttled"]  # each 429 said Retry-After: 1 (or more)
    errors = [orjson.loads(line) for line in (tmp_path / "report" / "errors.jsonl").read_bytes().splitlines()]
    assert {e["status"] for e in errors} == {429}


def test_add_after_a_lost_answer_is_verified_not_rejected(servers, tmp_path):
    server = start(faults=Faults(drop_rate=0.3, seed=3))
    servers.append(server)
    summary = run_customers(server, tmp_path, customers_file(tmp_path, 40), mode="Add", chunk_size=5, concurrency=1)
    assert server.stats.count(status=0) > 0  # some answers were lost after the data was stored
    assert summary["exit_code"] == 0 and summary["rows_accepted"] == 40
    assert summary["verified_after_ambiguous"] > 0
    assert stored_emails(server) == 40


def test_json_event_log_has_no_personal_data_or_key(servers, tmp_path, capsys):
    server = start(faults=Faults(error_rate=0.3, seed=2))
    servers.append(server)
    result = import_customers(
        [customers_file(tmp_path, 50)],
        api_for(server),
        CustomerOptions(),
        RunOptions(chunk_size=10, report_dir=tmp_path / "report", progress=False, log_format="json"),
    )
    events = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert {e["event"] for e in events} >= {"chunk", "retry"}
    assert sum(e["accepted"] for e in events if e["event"] == "chunk") == result.summary.rows_accepted
    text = capsys.readouterr().err + orjson.dumps(events).decode()
    assert "@example.com" not in text and server.api_key not in text


def test_concurrency_hides_latency(servers, tmp_path):
    server = start(faults=Faults(latency_ms=100))
    servers.append(server)
    timings = {}
    for concurrency in (1, 8):
        server.reset()
        began = time.monotonic()
        run_customers(
            server,
            tmp_path / str(concurrency),
            customers_file(tmp_path, 160),
            chunk_size=5,
            concurrency=concurrency,
            rate=1000.0,
        )  # (a known pace: no slow start, concurrency alone)
        timings[concurrency] = time.monotonic() - began
    # 32 requests of 100 ms: 3.2 s one at a time, 0.4 s eight at a time (plus the run's own ~0.3 s)
    assert timings[1] >= 3.2 and timings[8] < timings[1] / 4


def test_httpx_transport_error_classes_are_retried(servers, tmp_path):
    """A server that is not there at all: connection refused is retried, then the rows fail."""
    server = start()
    url = server.url
    server.stop()
    result = import_customers(
        [customers_file(tmp_path, 3)],
        ApiSettings(url=url, key=ApiKey("k"), max_retries=2, backoff_base_s=0.01),
        CustomerOptions(),
        RunOptions(report_dir=tmp_path / "report", progress=False),
    )
    assert result.summary.rows_failed == 3 and result.summary.requests == 3
    assert "ConnectError" in (tmp_path / "report" / "failed.csv").read_text()
