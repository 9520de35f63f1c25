"""One request on the wire: all of it within one deadline, its answer read up to a cap, and whether a
success answer is the documented one.

* ``exchange`` sends a request and reads its whole answer within ``timeout_s`` (connect, send, headers
  and body together: httpx's own timeouts are per phase, so an answer that drips one byte a second never
  trips them). Past the deadline it raises ``AnswerTimeout``, an ``httpx.TimeoutException``, so the
  engine treats it as any timeout: the request may have been processed, and it is retried.
* The body is streamed and read up to a cap: ``BODY_CAP`` (64 KB) for error answers and for the
  successes of POST, PUT and DELETE (whose documented bodies are a few bytes), ``GET_BODY_CAP`` for a
  GET's success (the settings lists, a record read back). Past the cap the rest is not read (the
  connection is closed), so an answer of 200 MB costs 64 KB.
* ``unexpected`` says why a 2xx is not the documented answer (API-NOTES: POST answers 201; PUT, DELETE
  and GET 200; a body, when there is one, is JSON): a proxy's login page answered 200 is not an
  acceptance. ``parse`` gives the JSON of a body, or its text when it is not JSON (or was cut).

Nothing here retries, sleeps or decides an outcome: that is ``importer.delivery.sender``'s.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

BODY_CAP = 64 * 1024
GET_BODY_CAP = 16 * 1024 * 1024
DOCUMENTED_SUCCESS = {"POST": 201, "PUT": 200, "DELETE": 200, "GET": 200}
SHOWN_BYTES = 80  # of an unexpected body, in the reason of its records


class AnswerTimeout(httpx.TimeoutException):
    """The whole answer did not arrive within ``--timeout``."""


@dataclass(frozen=True)
class Received:
    """An answer as read: its status, content type and ``Retry-After``, and its body up to the cap."""

    status: int
    content_type: str
    retry_after: str | None
    content: bytes
    cut: bool  # the body was longer than the cap: ``content`` is its start, the rest was not read

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


async def exchange(client: httpx.AsyncClient, method: str, path: str, body: bytes | None, timeout_s: float) -> Received:
    """Send one request and read its answer (the body up to its cap), all within ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s), client.stream(method, path, content=body) as response:
            cap = GET_BODY_CAP if method == "GET" and response.is_success else BODY_CAP
            content, cut = await _read_up_to(response, cap)
    except TimeoutError:
        raise AnswerTimeout(f"no complete answer within {timeout_s:g} s (--timeout)") from None
    headers = response.headers
    return Received(response.status_code, headers.get("content-type", ""), headers.get("retry-after"), content, cut)


async def _read_up_to(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """The body's first ``cap`` bytes, and whether there was more (left unread)."""
    pieces: list[bytes] = []
    size = 0
    async for piece in response.aiter_bytes():
        if size + len(piece) > cap:
            pieces.append(piece[: cap - size])
            return b"".join(pieces), True
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces), False


def parse(received: Received) -> Any:
    """The JSON of the body, or its text when it is not JSON; a cut body is its start and a note."""
    if received.cut:
        text = received.content.decode("utf-8", "replace")
        return f"{text}… (cut: the body is longer than {len(received.content) // 1024} KB; the rest was not read)"
    try:
        return orjson.loads(received.content)
    except orjson.JSONDecodeError:
        return received.content.decode("utf-8", "replace")


def unexpected(method: str, received: Received) -> str | None:
    """Why a 2xx answer is not the documented one (status, content type, the body's first bytes); None
    when it is: the documented status, and a body that is empty or JSON declared as JSON."""
    expected = DOCUMENTED_SUCCESS.get(method)
    if received.status == expected and (not received.content or _is_json(received)):
        return None
    start = " ".join(received.content[:SHOWN_BYTES].decode("utf-8", "replace").split())
    more = "…" if len(received.content) > SHOWN_BYTES or received.cut else ""
    shown = f"body {start!r}{more}" if start else "an empty body"
    return f"the API's answer is not the documented one: {kind(method, received)}, {shown}"


def kind(method: str, received: Received) -> str:
    """An answer's status (and the documented one, when they differ) and content type, without its body."""
    expected = DOCUMENTED_SUCCESS.get(method)
    wrong = (
        f" (the API documents {expected} for {method})" if expected is not None and received.status != expected else ""
    )
    media = received.content_type.partition(";")[0].strip() or "no Content-Type"
    return f"HTTP {received.status}{wrong}, {media}"


def _is_json(received: Received) -> bool:
    media = received.content_type.partition(";")[0].strip().lower()
    if received.cut or not (media == "application/json" or media.endswith("+json")):
        return False
    try:
        orjson.loads(received.content)
    except orjson.JSONDecodeError:
        return False
    return True
