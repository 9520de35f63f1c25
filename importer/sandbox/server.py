"""Running the sandbox: in a background thread for tests (`SandboxServer`), or in the foreground (`serve`).

`SandboxServer` binds its own loopback socket first (port 0 picks a free port, with no race between
choosing a port and listening on it), runs uvicorn on it in a daemon thread, and waits until uvicorn
reports it started. It owns its store and statistics, so a test can look at both directly::

    with SandboxServer() as sandbox:
        httpx.post(f"{sandbox.url}/customers", json=body, headers={"x-api-key": sandbox.api_key})
        assert sandbox.stats.count("POST", "/customers", 201) == 1

Both accept declared settings (`settings=definitions.load_settings(path)`), which are then enforced,
the custom events POST /scenariocustomevents knows (`custom_events=[CustomEvent(7, "loyalty_purchase")]`),
and `Faults` to inject (latency, errors, throttling, rate limits, body limits, drops)::

    with SandboxServer(faults=Faults(error_rate=0.1, seed=1)) as sandbox:
        ...

`serve` is what `ecdp-import sandbox` runs: uvicorn in the foreground until Ctrl-C. Neither prints
or logs the API key.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import uvicorn

from importer.sandbox.app import create_app
from importer.sandbox.config import CustomEvent, Declared, SandboxConfig
from importer.sandbox.faults import FaultInjector, Faults
from importer.sandbox.stats import RequestStats
from importer.sandbox.store import Store

DEFAULT_HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle's algorithm).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _declared(settings: Mapping[str, Declared] | None, custom_events: Sequence[CustomEvent] | None) -> dict[str, Any]:
    """SandboxConfig arguments for declared settings (served and enforced; none: the demo lists, open),
    and custom events: added to the settings' own, or (without settings) instead of the demo ones."""
    declared: dict[str, Any] = {} if settings is None else {**settings, "enforce_settings": True}
    if custom_events is not None:
        given = {event.id: event for event in declared.get("custom_events", ())}
        given.update((event.id, event) for event in custom_events)
        declared["custom_events"] = tuple(given.values())
    return declared


class SandboxServer:
    """A sandbox API on a loopback port, served from a background thread; a context manager.

    Once stopped, a server cannot be started again: create a new one (with the same `db` to see the
    same data).
    """

    def __init__(
        self,
        *,
        db: str | None = None,
        api_key: str | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
        identification: str = "Email",
        errors_style: str = "list",
        faults: Faults | None = None,
        settings: Mapping[str, Declared] | None = None,
        custom_events: Sequence[CustomEvent] | None = None,
    ) -> None:
        self.config = SandboxConfig(
            api_key=api_key or secrets.token_urlsafe(24),
            identification=identification,
            errors_style=errors_style,
            faults=Faults() if faults is None else faults,
            **_declared(settings, custom_events),
        )
        self.host = host
        self.port = port
        self.store = Store(db)
        self.stats = RequestStats()
        self.injector = FaultInjector(self.config.faults)
        app = create_app(self.config, self.store, self.stats, self.injector)
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", log_config=None, access_log=False)
        )
        self._thread: threading.Thread | None = None

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321 (the real port once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> SandboxServer:
        """Listen and serve in a daemon thread; return once uvicorn reports it started."""
        if self._thread is not None:
            raise RuntimeError("This SandboxServer was already started; create a new one to start another.")
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"ecdp-sandbox:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"The sandbox server on {self.url} stopped while starting; see the log above.")
            if time.monotonic() > deadline:
                self._server.should_exit = True
                raise TimeoutError(f"The sandbox server on {self.url} did not start within {timeout:g} s.")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop serving, wait for the thread, close the store. Safe to call twice."""
        if self._thread is not None and self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"The sandbox server on {self.url} did not stop within {timeout:g} s.")
        self.store.close()

    def reset(self) -> None:
        """Forget all customers, orders and request statistics; restart the faults' random sequence
        from its seed and refill the rate limit's bucket."""
        self.store.reset()
        self.stats.reset()
        self.injector.reset()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def serve(
    host: str,
    port: int,
    db: str | None,
    api_key: str,
    identification: str = "Email",
    faults: Faults | None = None,
    settings: Mapping[str, Declared] | None = None,
    custom_events: Sequence[CustomEvent] | None = None,
) -> None:
    """Serve the sandbox in the foreground until Ctrl-C (SIGINT) or SIGTERM.

    `db` None keeps data in memory only; a path keeps it in a SQLite file across restarts. `faults`
    (None: none) are injected into API requests; a dropped request leaves no access-log line.
    `settings` (from `definitions.load_settings`) are served and enforced; None serves the demo lists.
    `custom_events` are added to those of `settings` (without settings: replace the demo ones).
    uvicorn logs where it listens and each request line; the API key appears in neither.
    """
    faults = Faults() if faults is None else faults
    config = SandboxConfig(
        api_key=api_key, identification=identification, faults=faults, **_declared(settings, custom_events)
    )
    store = Store(db)
    try:
        uvicorn.run(create_app(config, store), host=host, port=port, log_level="info", lifespan="off")
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl-C, then re-raises it; here it is the normal way to stop.
        return
    finally:
        store.close()
