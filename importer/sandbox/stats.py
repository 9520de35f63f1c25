"""In-process statistics of the requests a sandbox served, so tests can assert what a client sent.

`RequestStats` counts requests per (method, route template, status), e.g.
`("POST", "/customers", 201)`. A request answered by an injected fault (see `faults`) is counted under
the status it was answered with (429, 413, 500, 502, 503); one whose connection was dropped on purpose
after it was processed is counted under status 0 (`DROPPED`), as no status reached the client.

It also keeps the raw bodies of the most recent POST requests (not those refused by a fault before
they were read), bounded both in number and in bytes so a long benchmark run cannot exhaust memory.
Bodies are kept as bytes (not parsed JSON) so they add no objects for the garbage collector to walk;
`json_bodies()` parses them on demand. All methods are thread-safe: the server records from its event
loop while a test reads from its own thread.

This module knows nothing of HTTP frameworks; `app` feeds it.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import orjson

RequestKey = tuple[str, str, int]
"""(method, route template, status), e.g. ("GET", "/orders/{id}", 404)."""
DROPPED = 0
"""The status under which a request is counted when its connection was dropped instead of answered."""


@dataclass(frozen=True)
class RecordedBody:
    """The raw body of one POST request and the route template it was sent to."""

    route: str
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class RequestStats:
    """Thread-safe request counts and a bounded history of recent POST bodies."""

    def __init__(self, max_bodies: int = 1000, max_body_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bodies = max_bodies
        self.max_body_bytes = max_body_bytes
        self._lock = threading.Lock()
        self._counts: Counter[RequestKey] = Counter()
        self._bodies: deque[RecordedBody] = deque()
        self._body_bytes = 0

    def record(self, method: str, route: str, status: int, body: bytes | None = None) -> None:
        """Count one request; keep `body` if it is the body of a POST."""
        with self._lock:
            self._counts[(method, route, status)] += 1
            if method == "POST" and body is not None:
                self._keep(RecordedBody(route, body))

    def _keep(self, recorded: RecordedBody) -> None:
        self._bodies.append(recorded)
        self._body_bytes += len(recorded.body)
        while len(self._bodies) > self.max_bodies or (self._body_bytes > self.max_body_bytes and len(self._bodies) > 1):
            self._body_bytes -= len(self._bodies.popleft().body)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._bodies.clear()
            self._body_bytes = 0

    @property
    def total(self) -> int:
        """How many requests were served (not counting the sandbox's own /_sandbox routes)."""
        with self._lock:
            return self._counts.total()

    @property
    def counts(self) -> dict[RequestKey, int]:
        """A copy of the count per (method, route template, status)."""
        with self._lock:
            return dict(self._counts)

    def count(self, method: str | None = None, route: str | None = None, status: int | None = None) -> int:
        """How many requests match every criterion given, e.g. `count("POST", "/orders", 400)`."""
        with self._lock:
            return sum(
                number
                for (m, r, s), number in self._counts.items()
                if method in (None, m) and route in (None, r) and status in (None, s)
            )

    def recent_bodies(self, route: str | None = None) -> list[RecordedBody]:
        """The kept POST bodies, oldest first, optionally only those sent to `route`."""
        with self._lock:
            return [recorded for recorded in self._bodies if route in (None, recorded.route)]

    def json_bodies(self, route: str | None = None) -> list[Any]:
        """The kept POST bodies parsed as JSON, oldest first; raises orjson.JSONDecodeError if one is not JSON."""
        return [recorded.json() for recorded in self.recent_bodies(route)]

    def as_json(self, bodies: int = 0) -> dict[str, Any]:
        """A JSON-ready snapshot: total, the counts, and the last `bodies` POST bodies (as text)."""
        with self._lock:
            counts = sorted(self._counts.items())
            kept = list(self._bodies)[-bodies:] if bodies > 0 else []
        return {
            "total": sum(number for _, number in counts),
            "requests": [
                {"method": method, "route": route, "status": status, "count": number}
                for (method, route, status), number in counts
            ],
            "bodies": [{"route": body.route, "body": body.body.decode("utf-8", "replace")} for body in kept],
        }
