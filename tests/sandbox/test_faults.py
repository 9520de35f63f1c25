"""The sandbox's fault injection, tested over real loopback HTTP: latency, errors, throttling, the rate
limit, body limits, dropped connections, reproducibility and the statistics of faulted requests."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from importer.sandbox import Faults, SandboxConfig, SandboxServer
from importer.sandbox.stats import DROPPED

PROBLEM_JSON = "application/problem+json"
NOT_STORED = "The request was not processed, so nothing from it was stored."


def customers_body(*emails: str, mode: str = "Add") -> dict[str, Any]:
    return {"mode": mode, "matchBy": "Email", "data": [{"email": email} for email in emails]}


def sized_body(size: int) -> bytes:
    """A valid POST /customers body of exactly `size` bytes (padded with JSON whitespace)."""
    raw = orjson.dumps(customers_body("sized@example.com"))
    assert len(raw) <= size
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


def client_of(sandbox: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=sandbox.url, headers={"x-api-key": sandbox.api_key})


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert set(problem) == {"type", "title", "status", "detail", "instance"}
    assert problem["detail"].endswith(NOT_STORED)
    return problem


@pytest.fixture
def no_server_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test if uvicorn logged anything (e.g. a traceback) at WARNING or above."""
    caplog.set_level(logging.WARNING)
    yield
    records = caplog.get_records("call")  # the server is stopped by the end of the test's call
    logged = [f"{record.name}: {record.getMessage()}" for record in records if record.name.startswith("uvicorn")]
    assert logged == []


# -- latency --------------------------------------------------------------------------------------


def test_latency_delays_every_api_answer_faulted_or_not_but_not_401_or_sandbox_routes() -> None:
    with SandboxServer(faults=Faults(latency_ms=200, max_body=100)) as sandbox, client_of(sandbox) as client:
        client.get("/customerattributes")  # connect first, so the timings below are of requests only

        def timed(method: str, path: str, **kwargs: Any) -> tuple[int, float]:
            start = time.perf_counter()
            response = client.request(method, path, **kwargs)
            return response.status_code, time.perf_counter() - start

        status, took = timed("POST", "/customers", json=customers_body("a@example.com"))
        assert status == 201 and took >= 0.2
        json_type = {"content-type": "application/json"}
        status, took = timed("POST", "/customers", content=sized_body(101), headers=json_type)
        assert status == 413 and took >= 0.2
        status, took = timed("GET", "/orders/missing")
        assert status == 404 and took >= 0.2
        status, took = timed("GET", "/customerattributes", headers={"x-api-key": "wrong"})
        assert status == 401 and took < 0.15
        status, took = timed("GET", "/_sandbox/stats")
        assert status == 200 and took < 0.15


# -- random errors and throttling -----------------------------------------------------------------


def test_error_rate_1_answers_every_request_5xx_and_stores_nothing() -> None:
    with SandboxServer(faults=Faults(error_rate=1, seed=1)) as sandbox, client_of(sandbox) as client:
        statuses = [client.post("/customers", json=customers_body(f"c{i}@example.com")).status_code for i in range(30)]
        response = client.put("/orders/status", json={"orderId": "1", "orderStatus": "Paid"})
        problem = problem_of(response, response.status_code)
        assert client.get("/customers/email/c0@example.com").status_code in {500, 502, 503}

        assert set(statuses) == {500, 502, 503}  # all three, with this seed
        assert problem["detail"] == f"The sandbox failed this request at random (error_rate 1). {NOT_STORED}"
        assert problem["instance"] == "/orders/status"
        assert sandbox.store.counts().as_json() == {"customers": 0, "orders": 0, "deletedOrders": 0, "customEvents": 0}
        for status, number in Counter(statuses).items():
            assert sandbox.stats.count("POST", "/customers", status) == number
        assert sandbox.stats.recent_bodies() == []  # never read, so not kept


def test_the_5xx_bodies_are_problem_details_with_their_titles() -> None:
    titles = {
        500: ("https://tools.ietf.org/html/rfc9110#section-15.6.1", "An error occurred while processing your request."),
        502: ("https://tools.ietf.org/html/rfc9110#section-15.6.3", "Bad Gateway"),
        503: ("https://tools.ietf.org/html/rfc9110#section-15.6.4", "Service Unavailable"),
    }
    with SandboxServer(faults=Faults(error_rate=1, seed=1)) as sandbox, client_of(sandbox) as client:
        seen = {}
        for _ in range(30):
            response = client.get("/orders/1")
            seen[response.status_code] = problem_of(response, response.status_code)
    assert set(seen) == set(titles)
    for status, problem in seen.items():
        assert (problem["type"], problem["title"]) == titles[status]
        assert problem["instance"] == "/orders/1"


@pytest.mark.parametrize(("retry_after_s", "header"), [(1, "1"), (0.2, "1"), (2.5, "3")])
def test_throttle_rate_1_answers_429_with_whole_seconds_in_retry_after(retry_after_s: float, header: str) -> None:
    faults = Faults(throttle_rate=1, retry_after_s=retry_after_s)
    with SandboxServer(faults=faults) as sandbox, client_of(sandbox) as client:
        response = client.post("/customers", json=customers_body("a@example.com"))
        problem = problem_of(response, 429)
        assert response.headers["retry-after"] == header
        assert problem["type"] == "https://tools.ietf.org/html/rfc6585#section-4"
        assert problem["title"] == "Too Many Requests"
        assert problem["detail"] == (
            f"The sandbox throttled this request at random (throttle_rate 1): retry after {header} s. {NOT_STORED}"
        )
        assert sandbox.store.counts().customers == 0
        assert sandbox.stats.count("POST", "/customers", 429) == 1


# -- the rate limit -------------------------------------------------------------------------------


def test_rate_limit_refuses_a_burst_beyond_one_second_of_tokens_then_recovers() -> None:
    with SandboxServer(faults=Faults(rate_limit=10)) as sandbox, client_of(sandbox) as client:
        responses = [client.get("/customerattributes") for _ in range(30)]
        statuses = [response.status_code for response in responses]
        accepted = statuses.count(200)
        assert 10 <= accepted <= 15  # the bucket holds 10 tokens, and refills 10 per second meanwhile
        assert statuses[:10] == [200] * 10
        refused = [response for response in responses if response.status_code == 429]
        assert len(refused) == 30 - accepted
        for response in refused:
            assert response.headers["retry-after"] == "1"  # 0.1 s until the next token, rounded up
            detail = problem_of(response, 429)["detail"]
            assert detail.startswith("The rate limit of 10 requests per second was exceeded: retry after 1 s.")
        assert sandbox.stats.count(status=429) == len(refused)

        time.sleep(int(refused[-1].headers["retry-after"]))
        assert [client.get("/customerattributes").status_code for _ in range(5)] == [200] * 5


def test_rate_limit_holds_the_accepted_rate_close_to_the_limit() -> None:
    rate = 10
    with SandboxServer(faults=Faults(rate_limit=rate)) as sandbox, client_of(sandbox) as client:
        while client.get("/customerattributes").status_code == 200:
            pass  # spend the burst
        accepted = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < 2.0:
            accepted += client.get("/customerattributes").status_code == 200
            time.sleep(0.002)
        assert abs(accepted - rate * elapsed) <= 2, (accepted, elapsed)
        # as a client's test would say it: most requests of this greedy client were refused
        assert sandbox.stats.count(status=429) > sandbox.stats.count(status=200)


# -- body limits ----------------------------------------------------------------------------------


def test_max_body_refuses_only_bodies_above_the_limit() -> None:
    json_type = {"content-type": "application/json"}
    with SandboxServer(faults=Faults(max_body=200)) as sandbox, client_of(sandbox) as client:
        too_big = client.post("/customers", content=sized_body(201), headers=json_type)
        problem = problem_of(too_big, 413)
        assert problem["title"] == "Content Too Large"
        assert problem["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.14"
        assert problem["detail"] == (
            f"The request body has 201 bytes, more than the limit of 200 bytes: send smaller requests. {NOT_STORED}"
        )
        assert sandbox.store.counts().customers == 0

        assert client.post("/customers", content=sized_body(200), headers=json_type).status_code == 201

        def chunked(size: int) -> Iterator[bytes]:  # no Content-Length: the sandbox reads up to the limit
            body = sized_body(size)
            yield body[:100]
            yield body[100:]

        response = client.post("/customers", content=chunked(5000), headers=json_type)
        assert "more than the limit of 200 bytes" in problem_of(response, 413)["detail"]
        body = sized_body(200).replace(b"sized@", b"other@")
        assert client.post("/customers", content=iter([body[:50], body[50:]]), headers=json_type).status_code == 201

        put = client.put("/orders/status", content=b'{"orderId": "1", "orderStatus": "Paid"' + b" " * 200 + b"}")
        assert put.status_code == 413
        assert client.get("/customers/email/sized@example.com").status_code == 200  # GETs have no body to limit
        assert sandbox.store.counts().customers == 2
        assert sandbox.stats.count(status=413) == 3
        assert sandbox.stats.json_bodies("/customers") == [orjson.loads(sized_body(200)), orjson.loads(body)]


def test_a_large_body_is_refused_with_413_not_a_broken_connection() -> None:
    with SandboxServer(faults=Faults(max_body=1000)) as sandbox, client_of(sandbox) as client:
        headers = {"content-type": "application/json"}
        assert client.post("/customers", content=b" " * 4_000_000, headers=headers).status_code == 413
        assert client.post("/customers", content=iter([b" " * 1_000_000] * 4), headers=headers).status_code == 413
        assert client.post("/customers", json=customers_body("a@example.com")).status_code == 201


# -- dropped connections --------------------------------------------------------------------------


@pytest.mark.usefixtures("no_server_errors_logged")
def test_a_drop_stores_the_request_but_the_client_sees_a_transport_error(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    body = customers_body("dropped@example.com")
    with SandboxServer(db=db, api_key="k", faults=Faults(drop_rate=1)) as sandbox, client_of(sandbox) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected without sending a response"):
            client.post("/customers", json=body)
        with pytest.raises(httpx.TransportError):  # the retry is processed (400: it exists) and dropped too
            client.post("/customers", json=body)

        report = client.get("/_sandbox/stats").json()  # the server still answers
        assert report["requests"] == [{"method": "POST", "route": "/customers", "status": DROPPED, "count": 2}]
        assert report["store"]["customers"] == 1
        assert sandbox.stats.json_bodies("/customers") == [body, body]

    with SandboxServer(db=db, api_key="k") as sandbox, client_of(sandbox) as client:
        assert client.get("/customers/email/dropped@example.com").json()["data"] == {
            "id": 1,
            "email": "dropped@example.com",
        }
        retry = client.post("/customers", json=body)
        assert retry.status_code == 400 and "exists" in retry.json()["errors"][0]


@pytest.mark.usefixtures("no_server_errors_logged")
def test_drops_under_concurrency_with_latency_lose_no_request() -> None:
    faults = Faults(drop_rate=0.5, latency_ms=20, seed=5)

    async def send_all(sandbox: SandboxServer) -> list[int]:
        headers = {"x-api-key": sandbox.api_key}
        async with httpx.AsyncClient(base_url=sandbox.url, headers=headers) as client:

            async def one(i: int) -> int:
                try:
                    return (await client.post("/customers", json=customers_body(f"c{i}@example.com"))).status_code
                except httpx.TransportError:
                    return DROPPED

            return await asyncio.gather(*(one(i) for i in range(40)))

    with SandboxServer(faults=faults) as sandbox:
        statuses = asyncio.run(send_all(sandbox))
        seen = Counter(statuses)
        assert set(seen) == {201, DROPPED}
        assert sandbox.stats.count("POST", "/customers", DROPPED) == seen[DROPPED]
        assert sandbox.stats.count("POST", "/customers", 201) == seen[201]
        assert sandbox.store.counts().customers == 40  # every request was processed, dropped or not


# -- hostile answers: a huge 400, a login page answered 200, an answer that drips ------------------


@pytest.mark.usefixtures("no_server_errors_logged")
def test_big_error_rate_answers_400_of_the_size_asked_and_stores_nothing() -> None:
    size = 3 * (1 << 20) + 7  # more than one streamed piece, and not a whole number of them
    with SandboxServer(faults=Faults(big_error_rate=1, big_error_bytes=size)) as sandbox, client_of(sandbox) as client:
        response = client.post("/customers", json=customers_body("a@example.com", "b@example.com"))
        assert response.status_code == 400 and response.headers["content-type"] == PROBLEM_JSON
        assert len(response.content) == size == int(response.headers["content-length"])
        problem = response.json()
        assert set(problem) == {"type", "title", "status", "detail", "instance"}  # no "errors": names no record
        assert problem["detail"].startswith(
            f"The sandbox answered with a body of {size} bytes (big_error_rate). {NOT_STORED} xxx"
        )
        assert sandbox.store.counts().customers == 0
        assert sandbox.stats.count("POST", "/customers", 400) == 1


def test_html_rate_answers_200_with_a_login_page_and_stores_nothing() -> None:
    with SandboxServer(faults=Faults(html_rate=1)) as sandbox, client_of(sandbox) as client:
        response = client.post("/customers", json=customers_body("a@example.com"))
        put = client.put("/orders/status", json={"orderId": "1", "orderStatus": "paid"})
        assert response.status_code == 200 and put.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.text.startswith("<!DOCTYPE html>") and "Sign in" in response.text
        assert sandbox.store.counts().customers == 0


def test_drip_rate_sends_the_answer_a_byte_at_a_time_after_processing_it() -> None:
    with SandboxServer(faults=Faults(drip_rate=1, drip_interval_s=0.2)) as sandbox, client_of(sandbox) as client:
        began = time.monotonic()
        with client.stream("POST", "/customers", json=customers_body("a@example.com")) as response:
            headers_after = time.monotonic() - began
            pieces = list(response.iter_raw())
        took = time.monotonic() - began
        assert response.status_code == 201 and b"".join(pieces) == b'{"status":0}'
        assert headers_after < 0.5 and took >= 11 * 0.2  # 12 bytes, 0.2 s apart
        assert len(pieces) >= 6  # they came apart, not in one piece
        assert sandbox.store.counts().customers == 1  # processed: only the answer is slow


def test_a_drip_stops_when_the_client_goes() -> None:
    with SandboxServer(faults=Faults(drip_rate=1, drip_interval_s=0.5)) as sandbox:  # 12 bytes: 5.5 s
        with pytest.raises(httpx.ReadTimeout), client_of(sandbox) as client:
            client.post("/customers", json=customers_body("a@example.com"), timeout=httpx.Timeout(5, read=0.2))
        time.sleep(0.6)
        began = time.monotonic()
    # uvicorn's shutdown waits for the requests it still serves: a drip left running would hold it ~4.5 s
    assert time.monotonic() - began < 2


# -- reproducibility and statistics ---------------------------------------------------------------


def statuses_of(sandbox: SandboxServer, requests: int = 40) -> list[int]:
    with client_of(sandbox) as client:
        statuses = []
        for i in range(requests):
            try:
                statuses.append(client.post("/customers", json=customers_body(f"c{i}@example.com")).status_code)
            except httpx.TransportError:
                statuses.append(DROPPED)
        return statuses


def test_the_same_seed_gives_the_same_faults_for_the_same_requests() -> None:
    faults = Faults(error_rate=0.2, throttle_rate=0.2, drop_rate=0.2, seed=42)
    with SandboxServer(faults=faults) as first:
        sequence = statuses_of(first)
        first.reset()
        assert statuses_of(first) == sequence  # reset restarts the sequence from the seed
    with SandboxServer(faults=faults) as second:
        assert statuses_of(second) == sequence
    with SandboxServer(faults=Faults(error_rate=0.2, throttle_rate=0.2, drop_rate=0.2, seed=43)) as other:
        assert statuses_of(other) != sequence
    assert {201, 429, DROPPED} <= set(sequence) and set(sequence) & {500, 502, 503}


@pytest.mark.usefixtures("no_server_errors_logged")
def test_stats_count_each_request_under_the_status_the_client_saw() -> None:
    faults = Faults(error_rate=0.15, throttle_rate=0.15, drop_rate=0.15, max_body=300, seed=9)
    with SandboxServer(faults=faults) as sandbox:
        statuses = statuses_of(sandbox, 60)
        with client_of(sandbox) as client:
            big = client.post("/customers", content=sized_body(301), headers={"content-type": "application/json"})
            statuses.append(big.status_code)
            statuses.append(client.get("/orders/1", headers={"x-api-key": "wrong"}).status_code)
        assert statuses[-2:] == [413, 401]  # size is checked before the random faults; 401 is never faulted
        seen = Counter(statuses)
        assert sandbox.stats.counts == {
            ("POST", "/customers", status): number for status, number in seen.items() if status != 401
        } | {("GET", "/orders/{id}", 401): 1}
        assert sandbox.stats.count(status=DROPPED) > 0
        assert sandbox.stats.count(status=429) / sandbox.stats.total < 0.25
        # processed requests are stored whether their answer arrived (201) or was dropped (0)
        assert sandbox.store.counts().customers == seen[201] + seen[DROPPED]


# -- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"error_rate": 1.5}, "error_rate must be a probability between 0 and 1, not 1.5."),
        ({"throttle_rate": -0.1}, "throttle_rate must be a probability between 0 and 1"),
        ({"drop_rate": math.nan}, "drop_rate must be a probability between 0 and 1"),
        ({"latency_ms": -1}, "latency_ms must be a non-negative number of milliseconds"),
        ({"retry_after_s": -1}, "retry_after_s must be a non-negative number of seconds"),
        ({"rate_limit": 0}, "rate_limit must be a positive number of requests per second"),
        ({"rate_limit": math.inf}, "rate_limit must be a positive number of requests per second"),
        ({"max_body": 0}, "max_body must be a positive whole number of bytes"),
        ({"max_body": 1.5}, "max_body must be a positive whole number of bytes"),
        ({"seed": "x"}, "seed must be a whole number"),
        ({"big_error_rate": 2}, "big_error_rate must be a probability between 0 and 1"),
        ({"html_rate": -1}, "html_rate must be a probability between 0 and 1"),
        ({"drip_rate": math.nan}, "drip_rate must be a probability between 0 and 1"),
        ({"big_error_bytes": 10}, "big_error_bytes must be a whole number of bytes, 256 or more"),
        ({"drip_interval_s": 0}, "drip_interval_s must be a positive number of seconds"),
    ],
)
def test_invalid_faults_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        Faults(**fields)


def test_no_faults_by_default() -> None:
    assert SandboxConfig(api_key="k").faults == Faults()
    assert not Faults().active
    assert Faults(latency_ms=1).active and Faults(rate_limit=5).active and Faults(max_body=1).active
    assert Faults(big_error_rate=1).active and Faults(html_rate=1).active and Faults(drip_rate=1).active
