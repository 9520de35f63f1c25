"""The sandbox's gate: the middleware every request passes before its route. It checks the API key (401),
and for API requests (not /_sandbox routes) applies the faults planned for the request on arrival
(``importer.sandbox.faults``): latency, refusals (429, 413, 500/502/503: nothing processed), hostile answers
(a 400 of many MB, a 200 HTML login page), drops and drips; and it counts every request in the stats.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from importer.sandbox import faults
from importer.sandbox.answers import big_problem, login_page, problem, substatus_of
from importer.sandbox.config import SandboxConfig
from importer.sandbox.faults import Fault, FaultInjector, Plan
from importer.sandbox.stats import DROPPED, RequestStats

UNMATCHED_ROUTE = "(no route)"
SANDBOX_ROUTES = "/_sandbox/"


def _route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The template of the route the router will pick, e.g. "/orders/{id}", for statistics."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL and isinstance(route, Route):
            return route.path_format
        if match is Match.PARTIAL and partial is None and isinstance(route, Route):
            partial = route.path_format
    return partial or UNMATCHED_ROUTE


class _KeptBody:
    """The body of a request as its route reads it, kept for the stats (None when it read none)."""

    def __init__(self) -> None:
        self.read = False
        self.data = bytearray()

    def keeping(self, source: Receive) -> Receive:
        async def receive_and_keep() -> Message:
            message = await source()
            if message["type"] == "http.request":
                self.read = True
                self.data.extend(message.get("body", b""))
            return message

        return receive_and_keep

    def kept(self) -> bytes | None:
        return bytes(self.data) if self.read else None


class Gate:
    """ASGI middleware: refuses requests without the API key, injects the configured faults into API
    requests (see `faults`), and records every request in the stats (a dropped one under status 0)."""

    def __init__(
        self,
        app: ASGIApp,
        config: SandboxConfig,
        stats: RequestStats,
        routes: Sequence[BaseRoute],
        injector: FaultInjector,
    ) -> None:
        self.app = app
        self.api_key = config.api_key.encode()
        self.stats = stats
        self.routes = routes
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, route = scope["method"], _route_template(self.routes, scope)
        status, body = 500, _KeptBody()
        plan: Plan | None = None  # the faults of an API request, once it passed the API-key check
        drop = dropped = False  # drop: the answer of the processed request is to be dropped

        sandbox_route = route.startswith(SANDBOX_ROUTES)
        recorded = sandbox_route  # the sandbox's own routes are not counted

        def note(final_status: int) -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.stats.record(method, route, final_status, body.kept())

        async def send_and_note(message: Message) -> None:
            nonlocal dropped
            if dropped:
                return  # the connection is gone: the rest of the response goes nowhere
            if message["type"] == "http.response.start":
                if plan is not None:
                    # The endpoint has returned, so the request's parsed body is released by now.
                    await plan.delay()
                    if drop:
                        dropped = True
                        note(DROPPED)
                        await faults.drop_connection(scope, receive)
                        return
                # Counted before the client can see the answer, so a client that reads the stats
                # right after its response never misses its own request.
                note(message["status"])
            elif message["type"] == "http.response.body" and plan is not None and plan.drip_s is not None:
                await faults.drip(dict(message), send, plan.drip_s, scope)
                return
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_and_note)
                return
            app_receive = receive
            if self.injector.active and not sandbox_route:
                plan = self.injector.plan(method)
                fault, app_receive = await self._fault_before_processing(plan, scope, receive)
                if fault is not None:
                    await _fault_response(fault, scope["path"])(scope, receive, send_and_note)
                    return
                drop = plan.drop
            await self.app(scope, body.keeping(app_receive) if method == "POST" else app_receive, send_and_note)
        finally:
            note(status)  # no response started: counted as the 500 the server answers

    @staticmethod
    async def _fault_before_processing(plan: Plan, scope: Scope, receive: Receive) -> tuple[Fault | None, Receive]:
        """The fault answered instead of processing the request, if any, in the documented order; and
        the `receive` the app should read the body from (a chunked body may have been read already)."""
        if plan.limited is not None:
            return plan.limited, receive
        if plan.max_body is not None:
            length = faults.declared_length(scope)
            if length is not None and length > plan.max_body:
                return faults.too_large(length, plan.max_body), receive
            if length is None:  # chunked: read it, up to the limit, to know
                messages, over = await faults.read_limited(receive, plan.max_body)
                if over:
                    return faults.too_large(None, plan.max_body), receive
                receive = faults.replaying(messages, receive)
        return plan.random_fault, receive

    def _refusal(self, scope: Scope) -> Response | None:
        given = Headers(scope=scope).get("x-api-key")
        if given is None:
            detail = "The x-api-key header is missing: send the business unit's API key in it."
        elif not secrets.compare_digest(given.encode(), self.api_key):
            detail = "The API key in the x-api-key header is not valid for this business unit."
        else:
            return None
        return problem(401, detail, scope["path"], substatus=substatus_of(scope["path"]))


def _fault_response(fault: Fault, path: str) -> Response:
    """The answer of a fault: problem details, a 400 of ``body_bytes``, or a login page."""
    if fault.html:
        return login_page()
    if fault.body_bytes is not None:
        return big_problem(fault.body_bytes, fault.detail, path)
    return problem(fault.status, fault.detail, path, headers=fault.headers)
