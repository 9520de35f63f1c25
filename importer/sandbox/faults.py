"""Fault injection: make the sandbox slow, flaky, throttled or size-limited, to test a client's recovery.

`Faults` says what to inject; it is part of `SandboxConfig` and all zero (no faults) by default::

    with SandboxServer(faults=Faults(error_rate=0.05, rate_limit=50, drop_rate=0.01, seed=7)) as sandbox:
        ...

Only API requests are faulted: not the sandbox's own ``/_sandbox/...`` routes, and not requests refused
with 401 for a missing or wrong API key. For each API request the `Gate` (see `gate`) evaluates, in order:

1. ``rate_limit``: a token bucket shared by all API requests, holding at most ``max(1, rate_limit)``
   tokens (a burst of about one second) and refilled continuously at ``rate_limit`` per second. A request
   that finds no token is answered 429 with ``Retry-After`` = whole seconds until one is available (≥ 1).
2. ``max_body``: a POST or PUT body of more than ``max_body`` bytes is answered 413. The declared
   Content-Length decides; a chunked body is read up to the limit (and no further) to find out.
3. ``throttle_rate``: that share of requests is answered 429 with ``Retry-After`` = ``retry_after_s``
   rounded up to whole seconds (≥ 1).
4. ``error_rate``: that share is answered 500, 502 or 503 (chosen at random).
5. ``big_error_rate``: that share is answered 400 with a problem body of ``big_error_bytes`` bytes (its
   ``detail`` padded out; streamed, so the sandbox never holds it), naming no record: a hostile proxy's
   or a broken gateway's answer, for a client's memory and report size.
6. ``html_rate``: that share is answered 200 with an HTML login page (``text/html``), as a proxy that
   wants a sign-in answers: a success status that is not the API's answer.
7. the request is processed as usual;
8. ``drop_rate``: that share of the processed requests never gets its answer: the server closes the
   connection without sending a byte of the response, although whatever the request stored stays stored.
   HTTP clients see a transport error (httpx: ``RemoteProtocolError: Server disconnected without sending
   a response.``).
9. ``drip_rate``: that share of the processed requests gets its answer's body one byte every
   ``drip_interval_s`` seconds (the status and headers at once): a client whose timeout is per read
   never times out. The drip stops when the client closes the connection.

A long ``Retry-After`` is ``throttle_rate`` with a long ``retry_after_s`` (e.g. 1 and 100000).

Steps 1-6 answer without processing anything, so nothing from such a request is stored. ``latency_ms``
delays every answer of an API request, faulted ones included, and a drop too; the delay is taken when
the response starts, after the request was processed and its parsed body released.

The random draws of a request are all made when it arrives (four per API request, whatever the outcome,
and one more for each of ``big_error_rate``, ``html_rate`` and ``drip_rate`` that is set), from one
`random.Random` seeded with ``seed``: the same requests arriving in the same order then meet
the same faults (``rate_limit`` aside, which depends on timing). `SandboxServer.reset` restarts the
sequence from the seed. `RequestStats` counts each faulted request under the status
it was answered with, and each dropped one under status 0 (`stats.DROPPED`).

This module holds the settings, the per-request decisions and the connection drop; `app` builds the
responses.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Scope, Send

ERROR_STATUSES: tuple[int, ...] = (500, 502, 503)
RAW_SEND_KEY = "ecdp_sandbox.raw_send"
"""The scope key under which `app.SandboxApp` keeps the ASGI server's own `send`, to reach its transport."""
DISCONNECT_TIMEOUT = 2.0


class ConnectionDropped(Exception):
    """Raised instead of dropping a connection when the ASGI server's transport cannot be reached."""


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Faults:
    """What to inject into the sandbox's API requests; the defaults inject nothing.

    Rates are probabilities per request (0..1). `latency_ms` delays every answer; `rate_limit` is in
    requests per second across all API requests; `max_body` in bytes; `retry_after_s` is what a random
    throttle (`throttle_rate`) asks the client to wait; `seed` makes the random faults reproducible.
    """

    latency_ms: float = 0
    error_rate: float = 0
    throttle_rate: float = 0
    retry_after_s: float = 1
    rate_limit: float | None = None
    drop_rate: float = 0
    max_body: int | None = None
    seed: int | None = None
    big_error_rate: float = 0
    big_error_bytes: int = 1 << 20
    html_rate: float = 0
    drip_rate: float = 0
    drip_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if not _is_number(self.latency_ms) or self.latency_ms < 0:
            raise ValueError(f"latency_ms must be a non-negative number of milliseconds, not {self.latency_ms!r}.")
        for name in ("error_rate", "throttle_rate", "drop_rate", "big_error_rate", "html_rate", "drip_rate"):
            rate = getattr(self, name)
            if not _is_number(rate) or not 0 <= rate <= 1:
                raise ValueError(f"{name} must be a probability between 0 and 1, not {rate!r}.")
        if not _is_number(self.retry_after_s) or self.retry_after_s < 0:
            raise ValueError(f"retry_after_s must be a non-negative number of seconds, not {self.retry_after_s!r}.")
        if self.rate_limit is not None and (not _is_number(self.rate_limit) or self.rate_limit <= 0):
            raise ValueError(
                f"rate_limit must be a positive number of requests per second (or None), not {self.rate_limit!r}."
            )
        if self.max_body is not None and (
            not isinstance(self.max_body, int) or isinstance(self.max_body, bool) or self.max_body <= 0
        ):
            raise ValueError(f"max_body must be a positive whole number of bytes (or None), not {self.max_body!r}.")
        if self.seed is not None and (not isinstance(self.seed, int) or isinstance(self.seed, bool)):
            raise ValueError(f"seed must be a whole number (or None), not {self.seed!r}.")
        if (
            not isinstance(self.big_error_bytes, int)
            or isinstance(self.big_error_bytes, bool)
            or self.big_error_bytes < 256
        ):
            raise ValueError(
                f"big_error_bytes must be a whole number of bytes, 256 or more, not {self.big_error_bytes!r}."
            )
        if not _is_number(self.drip_interval_s) or self.drip_interval_s <= 0:
            raise ValueError(f"drip_interval_s must be a positive number of seconds, not {self.drip_interval_s!r}.")

    @property
    def active(self) -> bool:
        """Whether any fault is configured (if not, requests are served exactly as without faults)."""
        return bool(
            self.latency_ms
            or self.error_rate
            or self.throttle_rate
            or self.drop_rate
            or self.rate_limit is not None
            or self.max_body is not None
            or self.big_error_rate
            or self.html_rate
            or self.drip_rate
        )


def retry_after(seconds: float) -> int:
    """A delay as a Retry-After value: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(seconds))


@dataclass(frozen=True)
class Fault:
    """An answer given instead of processing a request: its status, detail and Retry-After (for 429)."""

    status: int
    detail: str
    retry_after: int | None = None
    body_bytes: int | None = None  # a 400 of this many bytes (big_error_rate); see app for the answer
    html: bool = False  # a 200 HTML login page (html_rate) instead of problem details

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class Plan:
    """The faults decided for one API request when it arrived, applied by the `Gate` in order."""

    limited: Fault | None
    """The 429 of the rate limit, if the bucket had no token for this request."""
    max_body: int | None
    """The body limit to check for this request (POST and PUT only)."""
    random_fault: Fault | None
    """A random 429 (throttle_rate) or 5xx (error_rate) answered instead of processing."""
    drop: bool
    """Whether to drop the connection instead of sending the answer of the processed request."""
    latency_s: float
    drip_s: float | None = None
    """Send the processed request's answer one byte per this many seconds (drip_rate), if not None."""

    async def delay(self) -> None:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)


class TokenBucket:
    """`rate` tokens per second, continuously, up to `capacity`; starts full. Not thread-safe by itself."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = time.monotonic()

    def take(self, now: float) -> float:
        """Take a token: 0.0 if there was one, else the seconds until one will be available (none taken)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


NOT_STORED = "The request was not processed, so nothing from it was stored."


class FaultInjector:
    """The state of the faults of one sandbox: the random generator and the rate limit's token bucket.

    `plan` runs on the server's event loop and `reset` may run in a test's thread, so both take a lock
    (held for microseconds, never across an await).
    """

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._random = random.Random(faults.seed)
        self._bucket = self._new_bucket()

    def _new_bucket(self) -> TokenBucket | None:
        rate = self.faults.rate_limit
        return None if rate is None else TokenBucket(rate, max(1.0, rate))

    @property
    def active(self) -> bool:
        return self.faults.active

    def reset(self) -> None:
        """Start over: the random sequence from its seed again, and a full token bucket."""
        with self._lock:
            self._random = random.Random(self.faults.seed)
            self._bucket = self._new_bucket()

    def plan(self, method: str) -> Plan:
        """Decide the faults of an API request that just arrived (and passed the API-key check)."""
        faults = self.faults
        with self._lock:
            draw = self._random.random
            throttle, error, error_status, drop = draw(), draw(), self._random.choice(ERROR_STATUSES), draw()
            big, html, drip = (
                draw() if rate else 1.0 for rate in (faults.big_error_rate, faults.html_rate, faults.drip_rate)
            )
            wait = self._bucket.take(time.monotonic()) if self._bucket is not None else 0.0
        limited = None
        if wait > 0:
            seconds = retry_after(wait)
            detail = f"The rate limit of {faults.rate_limit:g} requests per second was exceeded"
            limited = Fault(429, f"{detail}: retry after {seconds} s. {NOT_STORED}", seconds)
        random_fault = None
        if throttle < faults.throttle_rate:
            seconds = retry_after(faults.retry_after_s)
            detail = f"The sandbox throttled this request at random (throttle_rate {faults.throttle_rate:g})"
            random_fault = Fault(429, f"{detail}: retry after {seconds} s. {NOT_STORED}", seconds)
        elif error < faults.error_rate:
            detail = f"The sandbox failed this request at random (error_rate {faults.error_rate:g})."
            random_fault = Fault(error_status, f"{detail} {NOT_STORED}")
        elif big < faults.big_error_rate:
            detail = f"The sandbox answered with a body of {faults.big_error_bytes} bytes (big_error_rate)."
            random_fault = Fault(400, f"{detail} {NOT_STORED}", body_bytes=faults.big_error_bytes)
        elif html < faults.html_rate:
            random_fault = Fault(200, "A login page instead of the API's answer (html_rate).", html=True)
        return Plan(
            limited=limited,
            max_body=faults.max_body if method in ("POST", "PUT") else None,
            random_fault=random_fault,
            drop=drop < faults.drop_rate,
            latency_s=faults.latency_ms / 1000,
            drip_s=faults.drip_interval_s if drip < faults.drip_rate else None,
        )


def too_large(size: int | None, limit: int) -> Fault:
    """The 413 for a body of `size` bytes (None: a chunked body known only to exceed `limit`)."""
    size_text = "" if size is None else f"{size} bytes, "
    detail = f"The request body has {size_text}more than the limit of {limit} bytes: send smaller requests."
    return Fault(413, f"{detail} {NOT_STORED}")


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None if it has none (chunked) or it is not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def read_limited(receive: Receive, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Read a request body until its end or until it exceeds `limit` bytes, whichever comes first.

    Returns the messages read (to replay to the app) and whether the body exceeded the limit; the rest
    of an oversized body is left unread (uvicorn discards it once the response is complete).
    """
    messages: list[dict[str, Any]] = []
    size = 0
    while True:
        message = dict(await receive())
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        size += len(message.get("body", b""))
        if size > limit:
            return messages, True
        if not message.get("more_body", False):
            return messages, False


def replaying(messages: list[dict[str, Any]], receive: Receive) -> Receive:
    """A `receive` that first returns `messages` (dropping each once returned), then asks `receive`."""
    pending = list(messages)

    async def receive_again() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return receive_again


async def drop_connection(scope: Scope, receive: Receive) -> None:
    """Close the client's connection without sending a byte of the response.

    The transport is the one of the ASGI server's request cycle (uvicorn's `send` is a bound method of
    it), kept in the scope by `app.SandboxApp`. Once it is closed, this waits until the server reports
    ``http.disconnect``: an app that then returns without a response is not logged as an error, so
    intentional drops leave the log clean. Without a reachable transport (another server, a test
    client), raises `ConnectionDropped`.
    """
    transport = _transport(scope)
    if transport is None:
        raise ConnectionDropped("The sandbox dropped this connection on purpose (Faults.drop_rate).")
    transport.close()
    try:
        async with asyncio.timeout(DISCONNECT_TIMEOUT):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass  # the server will log that no response was sent; the connection is closed all the same


def _transport(scope: Scope) -> asyncio.BaseTransport | None:
    raw_send: Send | None = scope.get(RAW_SEND_KEY)
    transport = getattr(getattr(raw_send, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.BaseTransport) else None


async def drip(message: dict[str, Any], send: Send, interval_s: float, scope: Scope) -> None:
    """Send a response body message one byte every ``interval_s`` seconds (``drip_rate``), until its end or
    until the client has closed the connection."""
    body: bytes = message.get("body", b"")
    more = bool(message.get("more_body", False))
    for i in range(len(body)):
        transport = _transport(scope)
        if transport is not None and transport.is_closing():
            return
        last = i == len(body) - 1
        await send({"type": "http.response.body", "body": body[i : i + 1], "more_body": more or not last})
        if not last:
            await asyncio.sleep(interval_s)
    if not body:
        await send(message)
