"""The sender's accounting for answers the sandbox cannot give on demand (yet): 5xx, dropped
connections, 400s that name no record. Uses httpx.MockTransport; everything else is tested over HTTP."""

from __future__ import annotations

import asyncio

import httpx
import orjson

from importer.encode import Chunk
from importer.send import ApiErrorEvent, Sender, parse_record_errors
from importer.settings import ApiKey, ApiSettings

API = ApiSettings(url="http://api.test", key=ApiKey("k"), concurrency=2)


def chunk(index: int, emails: list[str], first_rid: int = 0) -> Chunk:
    records = [orjson.dumps({"email": e}).decode() for e in emails]
    return Chunk(index, records, [[first_rid + i] for i in range(len(emails))])


def run(handler, chunks):
    events: list[ApiErrorEvent] = []
    sender = Sender(API, "/customers", {"mode": "Add", "matchBy": "Email"}, events.append,
                    transport=httpx.MockTransport(handler))
    return asyncio.run(sender.run(chunks)), events


def emails(request: httpx.Request) -> list[str]:
    return [r["email"] for r in orjson.loads(request.content)["data"]]


def test_server_errors_and_dropped_connections_make_rows_failed_not_lost():
    def handler(request):
        batch = emails(request)
        if "drop@x" in batch:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if "boom@x" in batch:
            return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})
        return httpx.Response(201, json={"status": 0})

    outcomes, events = run(handler, [chunk(0, ["a@x", "boom@x"]), chunk(1, ["drop@x"], 2), chunk(2, ["b@x"], 3)])
    assert sorted(outcomes.accepted) == [[3]]
    failed = dict((rids[0], why) for rids, why in outcomes.failed)
    assert set(failed) == {0, 1, 2}
    assert failed[0] == "HTTP 503: Service Unavailable"
    assert failed[2].startswith("network error: RemoteProtocolError")
    assert sorted(e.status or 0 for e in events) == [0, 503]
    assert outcomes.requests == 3


def test_400_without_record_indices_is_bisected_to_the_bad_records():
    def handler(request):
        if "bad@x" in emails(request):
            return httpx.Response(400, json={"title": "Bad request", "detail": "Something is wrong."})
        return httpx.Response(201)

    batch = [f"u{i}@x" for i in range(8)]
    batch[5] = "bad@x"
    outcomes, _ = run(handler, [chunk(0, batch)])
    assert sorted(r[0] for r in outcomes.accepted) == [0, 1, 2, 3, 4, 6, 7]
    [(rids, _, message)] = outcomes.rejected
    assert rids == [5] and message == "HTTP 400: Bad request; Something is wrong."
    assert outcomes.requests == 1 + 2 + 2 + 2  # whole, halves, quarters, eighths on the bad side


def test_dictionary_style_errors_name_the_records():
    problem = {"errors": {"data[1].email": ["The email field is not valid."], "$.data[0].phone": ["Too long."]}}
    assert parse_record_errors(problem, 2) == {1: [("email", "The email field is not valid.")], 0: [("phone", "Too long.")]}
    assert parse_record_errors({"errors": ["data[7].email: out of range"]}, 2) == {}
    assert parse_record_errors({"title": "no errors member"}, 2) == {}


def test_413_splits_and_a_lone_oversized_record_is_rejected():
    def handler(request):
        return httpx.Response(413) if len(request.content) > 60 else httpx.Response(201)

    outcomes, _ = run(handler, [chunk(0, ["a@x", "b@x", "c" * 80 + "@x"])])
    assert sorted(r[0] for r in outcomes.accepted) == [0, 1]
    assert outcomes.rejected[0][0] == [2] and "413" in outcomes.rejected[0][2]
