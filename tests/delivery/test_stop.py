"""A stop asked of the delivery engine (Ctrl-C, SIGTERM, a report or journal that can no longer be written):
no new request, and the requests in flight get a grace period to be answered, then are abandoned. Over real
HTTP against a sandbox whose answers are slower than the grace."""

from __future__ import annotations

import asyncio
import time

import orjson
import polars as pl
import pytest

from importer.delivery import sender as engine
from importer.delivery.bulk import BulkSender
from importer.delivery.outcomes import Aborted
from importer.errors import AbortReason
from importer.records.chunking import Chunk
from importer.sandbox import Faults, SandboxServer
from importer.settings import ApiKey, ApiSettings


def chunk(index: int, size: int) -> Chunk:
    emails = [f"s{index}-{i}@example.com" for i in range(size)]
    frame = pl.DataFrame(
        {
            "_json": [orjson.dumps({"email": e}).decode() for e in emails],
            "_rid": [[index * size + i] for i in range(size)],
            "_key": emails,
        },
        schema={"_json": pl.String, "_rid": pl.List(pl.Int64), "_key": pl.String},
    )
    return Chunk(index, frame)


def test_requests_in_flight_are_abandoned_when_the_grace_runs_out(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine, "STOP_GRACE_S", 0.5)
    with SandboxServer(faults=Faults(latency_ms=4000)) as server:
        api = ApiSettings(url=server.url, key=ApiKey(server.api_key), concurrency=2)
        sender = BulkSender(api, "/customers", {"mode": "AddOrUpdate", "matchBy": "Email"}, lambda event: None)
        chunks = [chunk(i, 5) for i in range(6)]

        async def stopped_mid_run() -> float:
            running = asyncio.ensure_future(sender.run(chunks))
            await asyncio.sleep(0.5)  # two requests in flight, waiting for their 4 s answers
            sender.stop(Aborted(AbortReason.LOCAL_FAULT, "stopped: the test"))
            stopped = time.monotonic()
            await running
            return time.monotonic() - stopped

        took = asyncio.run(stopped_mid_run())
    outcomes = sender.outcomes
    assert 0.4 < took < 2.5  # waited for the grace, not for the answers
    assert outcomes.aborted == "stopped: the test: requests in flight were abandoned after 0.5 s"
    assert outcomes.abort_reason is AbortReason.LOCAL_FAULT and outcomes.exit_code(True) == 1
    assert outcomes.requests == 2 and outcomes.accepted_records == 0
    reasons = [why for _, _, why in outcomes.unanswered("it may be stored")]
    assert sum(why.startswith("sent, but no answer came") for why in reasons) == 10  # the two in flight
    assert sum(why.startswith("not sent: stopped: the test") for why in reasons) == 20  # the four never taken
