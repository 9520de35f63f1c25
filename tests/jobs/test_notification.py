"""The run's notification (``--notify-url``) is retried under the delivery engine's retry rules (its own
``RetryPolicy``: 3 attempts, 0.5 s then 1 s, a short Retry-After honoured), against a local webhook over
loopback HTTP that answers as a test scripts it."""

from __future__ import annotations

import http.server
import time
from collections.abc import Iterator

import pytest

from importer.jobs.monitoring import NOTIFICATION, notify
from tests.support import http_server


@pytest.fixture
def scripted() -> Iterator[tuple[str, list[tuple[int, dict[str, str]]], list[float]]]:
    """A webhook answering each POST with the next (status, headers) of a script (204 once it is used up);
    the moments the POSTs arrived."""
    script: list[tuple[int, dict[str, str]]] = []
    arrived: list[float] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            arrived.append(time.monotonic())
            status, headers = script.pop(0) if script else (204, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

    with http_server(Hook) as url:
        yield f"{url}/hooks/T0K3N", script, arrived


def test_a_failing_webhook_gets_three_attempts_backing_off(scripted):
    url, script, arrived = scripted
    script += [(503, {}), (500, {}), (502, {}), (204, {})]
    warning = notify(url, {"exit_code": 1})
    assert len(arrived) == 3 and warning is not None and "(HTTP 502)" in warning and "T0K3N" not in warning
    waits = [later - earlier for earlier, later in zip(arrived, arrived[1:], strict=False)]
    assert 0.45 <= waits[0] < 0.9 and 0.95 <= waits[1] < 1.5  # 0.5 s, then 1 s: no jitter


def test_a_refusal_is_not_retried_and_a_short_retry_after_is_honoured(scripted):
    url, script, arrived = scripted
    script += [(400, {})]
    assert "(HTTP 400)" in (notify(url, {}) or "") and len(arrived) == 1
    arrived.clear()
    script += [(429, {"retry-after": "2"})]
    assert notify(url, {}) is None and len(arrived) == 2
    assert 1.9 <= arrived[1] - arrived[0] < 3  # what the webhook asked, not the 0.5 s backoff


def test_a_retry_after_longer_than_the_policy_waits_gives_up_at_once(scripted):
    url, script, arrived = scripted
    script += [(503, {"retry-after": "3600"})]
    began = time.monotonic()
    assert "(HTTP 503)" in (notify(url, {}) or "")
    assert len(arrived) == 1 and time.monotonic() - began < 2
    assert NOTIFICATION.max_retry_after_s == 10.0
