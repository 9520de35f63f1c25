"""The sender for answers a server cannot give on demand: exact sequences of statuses per request,
malformed error bodies, Retry-After as an HTTP date. Uses httpx.MockTransport; the fault behaviour
over real HTTP is tested against the sandbox (test_delivery.py)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import orjson
import polars as pl
import pytest

from importer.delivery.bulk import BulkSender
from importer.delivery.outcomes import ApiErrorEvent
from importer.delivery.pacing import MIN_RAMP, RAMP, START_RATE, RateLimiter, retry_after_seconds
from importer.delivery.problem_details import parse_record_errors
from importer.delivery.retry_policy import RetryPolicy
from importer.records.chunking import Chunk
from importer.settings import ApiKey, ApiSettings

API = ApiSettings(url="http://api.test", key=ApiKey("k"), concurrency=2, max_retries=2, backoff_base_s=0.001)


def chunk(index: int, emails: list[str], first_rid: int = 0) -> Chunk:
    records = [orjson.dumps({"email": e}).decode() for e in emails]
    frame = pl.DataFrame(
        {"_json": records, "_rid": [[first_rid + i] for i in range(len(emails))], "_key": emails},
        schema={"_json": pl.String, "_rid": pl.List(pl.Int64), "_key": pl.String},
    )
    return Chunk(index, frame)


def accepted(outcomes, chunks) -> list[int]:
    """Row ids of the accepted records: those neither rejected nor failed (every record is one of three)."""
    other = {r for rids, *_ in [*outcomes.rejected, *outcomes.failed] for r in rids}
    everything = [r for c in chunks for rids in c.row_ids for r in rids]
    assert outcomes.accepted_rows == len(everything) - len(other)
    return sorted(set(everything) - other)


def run(handler, chunks, api=API):
    events: list[ApiErrorEvent] = []
    sender = BulkSender(
        api,
        "/customers",
        {"mode": "Add", "matchBy": "Email"},
        events.append,
        transport=httpx.MockTransport(handler),
        rng=random.Random(1),
    )
    return asyncio.run(sender.run(chunks)), events


def emails(request: httpx.Request) -> list[str]:
    return [r["email"] for r in orjson.loads(request.content)["data"]]


def test_exhausted_retries_make_rows_failed_with_the_last_error():
    def handler(request):
        batch = emails(request)
        if "drop@x" in batch:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if "boom@x" in batch:
            return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})
        return httpx.Response(201, json={"status": 0})

    chunks = [chunk(0, ["a@x", "boom@x"]), chunk(1, ["drop@x"], 2), chunk(2, ["b@x"], 3)]
    outcomes, events = run(handler, chunks)
    assert accepted(outcomes, chunks) == [3]
    failed = dict((rids[0], why) for rids, why in outcomes.failed)
    assert set(failed) == {0, 1, 2}
    assert failed[0] == "HTTP 503: Service Unavailable"
    assert failed[2].startswith("network error: RemoteProtocolError")
    assert sorted(e.status or 0 for e in events) == [0, 0, 0, 503, 503, 503]  # 1 try + 2 retries each
    assert outcomes.requests == 7 and outcomes.retries == 4


def test_transient_errors_heal():
    answers = iter([503, 502, 201, 500, 504, 201])

    def handler(request):
        return httpx.Response(next(answers))

    chunks = [chunk(0, ["a@x"]), chunk(1, ["b@x"], 1)]
    outcomes, _ = run(handler, chunks, api=API.__class__(**{**API.__dict__, "concurrency": 1}))
    assert accepted(outcomes, chunks) == [0, 1] and not outcomes.failed
    assert outcomes.retries == 4


def test_400_without_record_indices_is_bisected_to_the_bad_records():
    def handler(request):
        if "bad@x" in emails(request):
            return httpx.Response(400, json={"title": "Bad request", "detail": "Something is wrong."})
        return httpx.Response(201)

    batch = [f"u{i}@x" for i in range(8)]
    batch[5] = "bad@x"
    outcomes, _ = run(handler, [chunk(0, batch)])
    assert accepted(outcomes, [chunk(0, batch)]) == [0, 1, 2, 3, 4, 6, 7]
    [(rids, _, message, *_)] = outcomes.rejected
    assert rids == [5] and message == "HTTP 400: Bad request; Something is wrong."
    assert outcomes.requests == 1 + 2 + 2 + 2  # whole, halves, quarters, eighths on the bad side


def test_400_saying_too_big_splits_like_413_and_lowers_the_chunk_size():
    sizes = []

    def handler(request):
        sizes.append(len(emails(request)))
        if len(emails(request)) > 3:
            return httpx.Response(400, json={"title": "Request too large", "detail": "Maximum number of items is 3"})
        return httpx.Response(201)

    api = ApiSettings(**{**API.__dict__, "concurrency": 1})
    outcomes, _ = run(
        handler, [chunk(0, [f"a{i}@x" for i in range(8)]), chunk(1, [f"b{i}@x" for i in range(8)], 8)], api
    )
    assert outcomes.accepted_records == 16 and not outcomes.rejected
    assert sizes == [8, 4, 2, 2, 2, 2, 2, 2, 2, 2]  # the second chunk goes out in pieces of the lowered size


def test_dictionary_style_errors_name_the_records():
    problem = {"errors": {"data[1].email": ["The email field is not valid."], "$.data[0].phone": ["Too long."]}}
    assert parse_record_errors(problem, 2) == {
        1: [("email", "The email field is not valid.")],
        0: [("phone", "Too long.")],
    }
    assert parse_record_errors({"errors": ["data[7].email: out of range"]}, 2) == {}
    assert parse_record_errors({"title": "no errors member"}, 2) == {}
    assert parse_record_errors("<html>502</html>", 2) == {}


def test_retry_after_as_seconds_or_http_date():
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now) == 3
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None
    assert retry_after_seconds("99999", now) == 99999  # what the API asked: --max-retry-after decides (waits.py)
    assert retry_after_seconds("inf", now) is None and retry_after_seconds("nan", now) is None


def test_backoff_has_full_jitter_and_a_cap():
    rng = random.Random(3)
    policy = RetryPolicy()
    delays = [policy.backoff(5, rng) for _ in range(200)]
    assert 0 <= min(delays) < 2 and 14 < max(delays) <= 16
    assert max(policy.backoff(20, rng) for _ in range(200)) <= 30


@pytest.mark.parametrize("start", [None, 30.0], ids=["unlimited", "rate-30"])
def test_rate_limiter_backs_off_on_429_and_climbs_back_slowly(start):
    clock = [100.0]
    limiter = RateLimiter(start, clock=lambda: clock[0])
    for _ in range(40):  # requests going out, and accepted, at 30/s
        clock[0] += 1 / 30
        asyncio.run(limiter.acquire())
        limiter.succeeded()
    limiter.throttled(2.0)
    first = limiter.rate
    # 90 % of what the API accepted: 40 answers since the first request, 1.3 s ago (the rate is counted
    # from the first request, not from the limiter's creation: 40 / 1.3 s is 30.8/s)
    assert first is not None and first == pytest.approx(0.9 * 30, rel=0.03)
    limiter.throttled(2.0)  # same burst: no second decrease
    assert limiter.rate == first and limiter.decreases == 1
    clock[0] += 10
    limiter.succeeded()
    assert first < limiter.rate <= first * 1.11
    if start is not None:
        clock[0] += 1000
        limiter.succeeded()
        assert limiter.rate == start  # never above --rate


def test_rate_limiter_halves_when_nothing_was_accepted_lately():
    clock = [0.0]
    limiter = RateLimiter(10.0, clock=lambda: clock[0])
    for _ in range(10):
        clock[0] += 0.1
        asyncio.run(limiter.acquire())
    limiter.throttled(None)
    assert limiter.rate == pytest.approx(0.9 * 10 / 2)


def test_a_rate_limiter_without_a_known_pace_starts_slowly_then_climbs_additively():
    clock = [0.0]
    assert RateLimiter(None).rate is None  # (a record sender's: unlimited until the first 429)
    limiter = RateLimiter(None, clock=lambda: clock[0], slow_start=True)  # an import's bulk sender's
    assert limiter.slow_start and limiter.rate == START_RATE
    while clock[0] < 2.0:  # each request goes out at the pace and is accepted
        asyncio.run(limiter.acquire())
        assert limiter.rate is not None
        step = 1 / limiter.rate
        limiter.succeeded()
        clock[0] += step
    assert limiter.rate > 4 * START_RATE  # slow start: it doubles about every 0.7 s
    accepted = limiter.accepted_rate()
    for _ in range(3):
        limiter.throttled(1.0)  # the limit: one decrease, and the slow start is over
        clock[0] += 0.01
    assert not limiter.slow_start and limiter.decreases == 1
    dropped = limiter.rate
    assert dropped == pytest.approx(0.9 * accepted)  # 90 % of what went through, not of the pace tried
    clock[0] += 1.0 + 10  # the Retry-After, then 10 s of success
    limiter.succeeded()
    after_10 = limiter.rate
    clock[0] += 10
    limiter.succeeded()
    assert after_10 is not None and limiter.rate is not None
    step = max(MIN_RAMP, RAMP * dropped)  # requests/s more per second
    assert limiter.rate - after_10 == pytest.approx(step * 10)  # additive: as much in each 10 s
    assert after_10 - dropped == pytest.approx(step * 10, rel=0.01)
