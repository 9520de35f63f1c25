"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe``: open a page in headless
Chromium, collect console errors, exceptions and log errors (CSP violations, failed loads), read the DOM,
take a full-page screenshot. No websocket library: the pipe protocol is JSON messages ended by NUL on
file descriptors 3 (to the browser) and 4 (from it)."""

from __future__ import annotations

import base64
import fcntl
import itertools
import json
import os
import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class PageResult:
    """What the browser saw: console errors and log errors, and the page's text by CSS selector."""

    errors: list[str] = field(default_factory=list)
    texts: dict[str, str | None] = field(default_factory=dict)


class Browser:
    """One headless Chromium process driven over the DevTools pipe."""

    def __init__(self, profile_dir: Path, width: int = 1100) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        to_browser_r, from_browser_w = _high(to_browser_r), _high(from_browser_w)  # never 3 or 4 themselves
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile_dir}",
            f"--window-size={width},900",
            "about:blank",
        ]
        # bash (dash takes one-digit fds only) puts the pipe ends on fds 3 and 4, where Chromium expects them,
        # and execs it.
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.process = subprocess.Popen(
            ["/bin/bash", "-c", script, str(CHROMIUM), *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.width = width
        self._ids = itertools.count(1)
        self._buffer = b""
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (OSError, TimeoutError, RuntimeError):
            self.process.kill()
        self.process.wait(timeout=20)
        os.close(self._to_browser)
        os.close(self._from_browser)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        """Send a command; keep the events that arrive meanwhile; return its result."""
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read(timeout)
            if answer.get("id") == ident:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read(max(0.0, deadline - time.monotonic()))
            self.events.append(event)
            if event.get("method") == method:
                return event

    def open(self, url: str, selectors: list[str], screenshot: Path | None = None) -> PageResult:
        """Load ``url``; the errors it caused, the text of each selector, and optionally a screenshot."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired")
        time.sleep(0.3)  # late console messages and CSP reports
        result = PageResult()
        for selector in selectors:
            expression = (
                f"(e => e ? (e.innerText ?? e.textContent) : null)(document.querySelector({json.dumps(selector)}))"
            )
            value = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            result.texts[selector] = value["result"].get("value")
        if screenshot is not None:
            height = self.call("Page.getLayoutMetrics", session=session)["cssContentSize"]["height"]
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": self.width, "height": int(height) + 1, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            shot = self.call("Page.captureScreenshot", {"format": "png"}, session=session)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        result.errors = _errors(self.events)
        return result


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        params = event.get("params", {})
        if event.get("method") == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(f"exception: {details.get('text', '')} {details.get('exception', {}).get('description', '')}")
        elif event.get("method") == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console.error: " + " ".join(str(a.get("value", "")) for a in params.get("args", [])))
        elif event.get("method") == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append("log: " + params["entry"].get("text", ""))
    return found
