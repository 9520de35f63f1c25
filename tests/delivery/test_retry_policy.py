"""The retry policy: what is tried again, for requests that may be sent twice (the imports) and for those that
must not be (custom events), over real loopback HTTP against the sandbox's faults. A request that may have
been processed is never sent again by a policy that is not idempotent: it is "uncertain", apart from the
failed ones, and the sandbox holds it once."""

from __future__ import annotations

import random

import httpx
import orjson
import pytest

from importer.delivery.outcomes import Outcomes
from importer.delivery.retry_policy import RetryPolicy, Verdict, may_have_reached
from importer.delivery.sender import run_loop
from importer.delivery.single import Operation, RecordSender
from importer.delivery.wire import AnswerTimeout
from importer.records.chunking import chunk_of
from importer.sandbox import Faults, SandboxServer
from importer.settings import ApiKey, ApiSettings
from tests.support import free_port

EVENT = 1  # a custom event the sandbox knows (DEMO_CUSTOM_EVENTS)


def api_for(url: str, key: str = "k", **overrides) -> ApiSettings:
    settings = {
        "url": url,
        "key": ApiKey(key),
        "backoff_base_s": 0.01,
        "timeout_s": 5.0,
        "rate": 1000.0,
        "max_retries": 3,
        "concurrency": 2,
    }
    return ApiSettings(**{**settings, **overrides})


def send_events(api: ApiSettings, count: int, policy: RetryPolicy | None) -> Outcomes:
    """``count`` custom events, one request each, through the engine under ``policy``."""
    records = [
        orjson.dumps({"customEventId": EVENT, "customerEmail": f"e{i}@example.com"}).decode() for i in range(count)
    ]
    chunks = [chunk_of(i, [record], [[i]]) for i, record in enumerate(records)]
    operation = Operation("POST", lambda record: ("/scenariocustomevents", orjson.dumps(record)))
    sender = RecordSender(api, operation, lambda event: None, policy=policy)
    return run_loop(sender.run(chunks))


def stored(server: SandboxServer) -> list[str]:
    return [event["customerEmail"] for event in server.store.custom_events()]


def test_a_dropped_answer_is_uncertain_and_never_sent_again(tmp_path):
    with SandboxServer(faults=Faults(drop_rate=1.0, seed=3)) as server:  # processed, then no answer
        api = api_for(server.url, server.api_key)
        outcomes = send_events(api, 6, RetryPolicy.of(api, idempotent=False))
        held = stored(server)
    assert outcomes.requests == 6 and outcomes.retries == 0
    assert sorted(held) == sorted(f"e{i}@example.com" for i in range(6))  # each event once
    assert len(outcomes.uncertain) == 6 and not outcomes.failed and outcomes.accepted_records == 0
    assert all(reason.startswith("network error: RemoteProtocolError") for _, reason in outcomes.uncertain)


def test_the_same_drops_under_the_idempotent_policy_are_retried_and_stored_again(tmp_path):
    with SandboxServer(faults=Faults(drop_rate=1.0, seed=3)) as server:
        api = api_for(server.url, server.api_key)
        outcomes = send_events(api, 2, None)  # the default: the run's options, idempotent
        held = stored(server)
    assert outcomes.requests == 2 * 4 and len(outcomes.failed) == 2 and not outcomes.uncertain
    assert len(held) == 8  # why events need the other policy: every attempt was one more event


def test_an_answer_cut_by_the_timeout_is_uncertain(tmp_path):
    with SandboxServer(faults=Faults(drip_rate=1.0, drip_interval_s=0.6)) as server:
        api = api_for(server.url, server.api_key, timeout_s=1.0)
        outcomes = send_events(api, 2, RetryPolicy.of(api).not_idempotent())
        held = stored(server)
    assert outcomes.requests == 2 and len(held) == 2 and len(outcomes.uncertain) == 2
    assert {reason for _, reason in outcomes.uncertain} == {
        "network error: AnswerTimeout: no complete answer within 1 s (--timeout)"
    }


def test_throttled_events_are_retried_and_each_stored_once(tmp_path):
    faults = Faults(throttle_rate=0.5, retry_after_s=0.01, seed=5)  # 429 with Retry-After: nothing processed
    with SandboxServer(faults=faults) as server:
        api = api_for(server.url, server.api_key, max_throttles=30, concurrency=1)
        outcomes = send_events(api, 4, RetryPolicy.of(api, idempotent=False))
        held = stored(server)
    assert outcomes.throttled > 0 and outcomes.accepted_records == 4
    assert not outcomes.uncertain and not outcomes.failed
    assert sorted(held) == sorted(f"e{i}@example.com" for i in range(4))


def test_a_refused_connection_is_retried_and_then_failed_not_uncertain():
    port = free_port()  # a port nobody listens on: nothing can have been processed
    api = api_for(f"http://127.0.0.1:{port}", max_retries=2)
    outcomes = send_events(api, 1, RetryPolicy.of(api, idempotent=False))
    assert outcomes.requests == 3 and outcomes.retries == 2
    assert not outcomes.uncertain and [reason for _, reason in outcomes.failed][0].startswith(
        "network error: ConnectError"
    )


def test_what_each_policy_retries():
    sent = RetryPolicy()
    once = sent.not_idempotent()
    connect, dropped = httpx.ConnectError("refused"), httpx.RemoteProtocolError("Server disconnected")
    assert [sent.verdict(s) for s in (429, 500, 502, 503, 504, 400, 404, 413)] == [Verdict.RETRY] * 5 + [
        Verdict.FINAL
    ] * 3
    assert sent.verdict(None, dropped) is Verdict.RETRY and sent.verdict(None, AnswerTimeout("t")) is Verdict.RETRY
    assert (
        once.verdict(None, connect) is Verdict.RETRY and once.verdict(None, httpx.ConnectTimeout("t")) is Verdict.RETRY
    )
    assert (
        once.verdict(None, dropped) is Verdict.UNCERTAIN and once.verdict(None, AnswerTimeout("t")) is Verdict.UNCERTAIN
    )
    assert once.verdict(429) is Verdict.RETRY and once.verdict(503, retry_after=2.0) is Verdict.RETRY
    assert once.verdict(503) is Verdict.UNCERTAIN and once.verdict(500, retry_after=2.0) is Verdict.UNCERTAIN
    assert once.verdict(400) is Verdict.FINAL and once.verdict(401) is Verdict.FINAL
    # what makes an answer ambiguous under either policy: it may have been processed
    assert may_have_reached(None, dropped) and may_have_reached(500) and may_have_reached(503)
    assert not may_have_reached(None, connect) and not may_have_reached(503, None, 1.0) and not may_have_reached(429)


def test_backoff_retry_after_and_attempts_follow_the_settings():
    api = ApiSettings(
        max_retries=4, max_throttles=7, backoff_base_s=0.2, max_retry_after_s=60.0, max_throttle_wait_s=90.0
    )
    policy = RetryPolicy.of(api)
    assert (policy.max_retries, policy.max_throttles, policy.max_retry_after_s, policy.max_throttle_wait_s) == (
        4,
        7,
        60.0,
        90.0,
    ) and policy.idempotent
    assert not policy.gives_up(500, 3) and policy.gives_up(500, 4)
    assert not policy.gives_up(429, 6) and policy.gives_up(429, 7)
    rng = random.Random(1)
    assert policy.delay(429, 0, 12.0, rng) == 12.0  # what the API asked
    assert 0 <= policy.delay(429, 2, None, rng) <= 0.8  # nothing asked: the backoff
    assert policy.delay(503, 0, 5.0, rng) == 5.0 and policy.delay(503, 0, None, rng) <= 0.2
    assert policy.waited(600.0) == 60.0 and policy.too_long(61.0) and not policy.too_long(60.0)
    exact = RetryPolicy(backoff_base_s=0.5, jitter=False, backoff_cap_s=3.0)
    assert [exact.backoff(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("status", [400, 401])
def test_an_event_the_api_refuses_is_not_uncertain(status):
    # (the run of a wrong key stops: key_refused; a 400 rejects the record: neither may have been stored)
    with SandboxServer() as server:
        api = api_for(server.url, server.api_key if status == 400 else "wrong")
        records = [orjson.dumps({"customEventId": 999, "customerEmail": "x@example.com"}).decode()]
        operation = Operation("POST", lambda record: ("/scenariocustomevents", orjson.dumps(record)))
        sender = RecordSender(api, operation, lambda event: None, policy=RetryPolicy.of(api, idempotent=False))
        outcomes = run_loop(sender.run([chunk_of(0, records, [[0]])]))
    assert not outcomes.uncertain and outcomes.requests == 1
    assert (len(outcomes.rejected), outcomes.key_refused) == ((1, False) if status == 400 else (0, True))
