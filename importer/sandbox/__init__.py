"""A local HTTP server that behaves like the ExpertSender CDP (ECDP) REST API.

The project's tests run against it, and so can users without an API key (`ecdp-import sandbox`).
It validates request bodies against the documented rules (stricter than the platform, to catch client
mistakes), applies the request modes with all-or-nothing semantics, and answers with the platform's
status codes and RFC 7807 problem details. Modules, from the wire inwards:

- ``server``: run it in a background thread (`SandboxServer`) or in the foreground (`serve`);
- ``app``: the Starlette routes, API-key check, problem responses and request statistics;
- ``rules``: pure validation of request bodies, independent of the importer's own client code;
- ``store``: SQLite storage of customers, orders and custom events, and what each mode means;
- ``config`` and ``stats``: a business unit's settings, and counts of the requests served;
- ``faults``: latency, errors, throttling, rate limits, body limits and dropped connections to inject.
"""

from __future__ import annotations

from importer.sandbox.app import create_app
from importer.sandbox.config import CustomEvent, SandboxConfig
from importer.sandbox.faults import Faults
from importer.sandbox.server import SandboxServer, serve

__all__ = ["CustomEvent", "Faults", "SandboxConfig", "SandboxServer", "create_app", "serve"]
