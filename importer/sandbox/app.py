"""The sandbox's HTTP face: a Starlette app that answers like the ECDP REST API.

Routes (every request must carry `x-api-key: <config.api_key>`, else 401):

    POST   /customers                  201 {"status": 0}
    GET    /customers/id/{id}          200 {"status": 0, "data": {"id": 1, ...stored fields}} | 404
    GET    /customers/email/{email}    (likewise; e-mail addresses match without regard to letter case)
    GET    /customers/phone/{phone}    (likewise)
    GET    /customers/crmId/{crmId}    (likewise)
    POST   /orders                     201 {"status": 0}
    GET    /orders/{id}                200 {"status": 0, "data": order} | 404 (missing or deleted)
    DELETE /orders/{id}                200 {"status": 0, "data": order}, marking it deleted | 404
    PUT    /orders/status              200 {"status": 0} | 400 `orderId: No order with this id exists.`
    POST   /scenariocustomevents       201 {"status": 0}: one custom event, kept | 400 (a rule of `rules`, or
                                       a customEventId not among `config.custom_events`)
    GET    /customerattributes, /customerconsents, /orderattributes, /productattributes
                                       200 {"status": 0, "data": [{"id", "name", "type"}, ...]}
                                       (a SingleSelect declared with options also has "options": [...];
                                       a list configured as None is not exposed: 404)
    GET    /_sandbox/stats?bodies=N    200 request counts, store counts and the last N POST bodies
    GET    /_sandbox/customevents?after=N&limit=M
                                       200 {"status": 0, "total": T, "data": [event, ...]}: the custom events
                                       received, oldest first, from the N-th (default 0), at most M
                                       (default and most 10000); the API itself has no read-back

Faults (`config.faults`, see `faults`) can slow down, refuse (429, 413, 500/502/503, nothing processed),
answer with hostile answers (a 400 of many MB, a 200 HTML login page; nothing processed), drop (processed,
then the connection closed without an answer) or drip (processed, the answer one byte at a time) API
requests, not /_sandbox routes.

With `config.enforce_settings` (`--settings FILE.json`), POST bodies are also checked against the
declared attributes and consents (see `definitions`), as the platform does.

Every error is RFC 7807 problem details (`application/problem+json`): type, title, status, detail,
instance, for 400 `errors` shaped by `config.errors_style`, and on the /orders routes and the 400 of
/scenariocustomevents the documented `substatus` (`answers.ORDER_SUBSTATUS`). A 400 means nothing from the request
was stored. Bodies must be sent as `Content-Type: application/json` (else 415, as ASP.NET answers).

The parsed body of a request lives only inside the synchronous `_save_*` and `_set_*` methods, so it
is released before the response is built, and before any simulated latency. This module holds no
rules (see `rules`), no storage (see `store`) and no faults (see `gate`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from importer.sandbox import custom_event_rules, definitions, faults, rules
from importer.sandbox.answers import (
    ORDER_SUBSTATUS,
    Rejected,
    invalid,
    json_response,
    parse_json,
    problem,
)
from importer.sandbox.config import SandboxConfig, Setting
from importer.sandbox.faults import FaultInjector
from importer.sandbox.gate import SANDBOX_ROUTES, Gate
from importer.sandbox.stats import RequestStats
from importer.sandbox.store import Store

CUSTOM_EVENTS_PAGE = 10_000  # the most custom events one GET /_sandbox/customevents answers


Endpoint = Callable[[Request], Awaitable[Response]]


class Endpoints:
    """The route handlers of one sandbox business unit."""

    def __init__(self, config: SandboxConfig, store: Store, stats: RequestStats) -> None:
        self.config = config
        self.store = store
        self.stats = stats
        self.known_event_ids = frozenset(event.id for event in config.custom_events)

    def routes(self) -> list[Route]:
        config = self.config
        return [
            Route("/customers", self.post_customers, methods=["POST"]),
            Route("/customers/id/{id:int}", self.get_customer_by_id),
            *(
                Route(f"/customers/{field}/{{{field}:path}}", self.get_customer_by_field)
                for field in ("email", "phone", "crmId")
            ),
            Route("/orders", self.post_orders, methods=["POST"]),
            Route("/orders/status", self.put_order_status, methods=["PUT"]),
            Route("/orders/{id:path}", self.get_or_delete_order, methods=["GET", "DELETE"]),
            Route("/scenariocustomevents", self.post_custom_event, methods=["POST"]),
            *(
                Route(path, self.settings_list(settings))
                for path, settings in (
                    ("/customerattributes", config.customer_attributes),
                    ("/customerconsents", config.consents),
                    ("/orderattributes", config.order_attributes),
                    ("/productattributes", config.product_attributes),
                )
                if settings is not None  # not exposed: 404, no route matches
            ),
            Route(f"{SANDBOX_ROUTES}stats", self.get_stats),
            Route(f"{SANDBOX_ROUTES}customevents", self.get_custom_events),
        ]

    # -- customers --------------------------------------------------------------------------------

    async def post_customers(self, request: Request) -> Response:
        errors = self._save_customers(await _json_body(request))
        if errors:
            raise invalid(errors)
        return json_response({"status": 0}, 201)

    def _save_customers(self, raw: bytes) -> list[str]:
        body = parse_json(raw)
        errors = rules.validate_customers_request(body)
        if not errors and self.config.enforce_settings:
            errors = definitions.customers_errors(body["data"], self.config)
        if errors:
            return errors
        return self.store.save_customers(body["mode"], rules.MATCH_FIELDS[body["matchBy"]], body["data"])

    async def get_customer_by_id(self, request: Request) -> Response:
        customer_id: int = request.path_params["id"]
        return _found(self.store.customer_by_id(customer_id), f"No customer with id {customer_id} exists.")

    async def get_customer_by_field(self, request: Request) -> Response:
        ((field, value),) = request.path_params.items()
        return _found(self.store.customer_by(field, value), f"No customer with {field} {value!r} exists.")

    # -- orders -----------------------------------------------------------------------------------

    async def post_orders(self, request: Request) -> Response:
        errors = self._save_orders(await _json_body(request))
        if errors:
            raise invalid(errors, ORDER_SUBSTATUS)
        return json_response({"status": 0}, 201)

    def _save_orders(self, raw: bytes) -> list[str]:
        body = parse_json(raw)
        errors = rules.validate_orders_request(body, self.config.identification)
        if not errors and self.config.enforce_settings:
            errors = definitions.orders_errors(body["data"], self.config)
        if errors:
            return errors
        return self.store.save_orders(body["mode"], body["data"])

    async def get_or_delete_order(self, request: Request) -> Response:
        """GET reads the order; DELETE marks it deleted and returns it. Either way, deleted is missing."""
        order_id = request.path_params["id"]
        act = self.store.delete_order if request.method == "DELETE" else self.store.order
        return _found(act(order_id), f"No order with id {order_id!r} exists.", ORDER_SUBSTATUS)

    async def put_order_status(self, request: Request) -> Response:
        errors = self._set_order_status(await _json_body(request))
        if errors:
            raise invalid(errors, ORDER_SUBSTATUS)
        return json_response({"status": 0})

    def _set_order_status(self, raw: bytes) -> list[str]:
        body = parse_json(raw)
        errors = rules.validate_order_status_request(body)
        if errors:
            return errors
        if self.store.set_order_status(body["orderId"], body["orderStatus"]) is None:
            return ["orderId: No order with this id exists."]
        return []

    # -- custom events ----------------------------------------------------------------------------

    async def post_custom_event(self, request: Request) -> Response:
        errors = self._save_custom_event(await _json_body(request))
        if errors:
            raise invalid(errors, ORDER_SUBSTATUS)
        return json_response({"status": 0}, 201)

    def _save_custom_event(self, raw: bytes) -> list[str]:
        body = parse_json(raw)
        errors = custom_event_rules.validate_custom_event_request(body, self.known_event_ids)
        if not errors:
            self.store.save_custom_event(body)
        return errors

    # -- settings and the sandbox's own routes ----------------------------------------------------

    @staticmethod
    def settings_list(settings: Sequence[Setting]) -> Endpoint:
        content = orjson.dumps({"status": 0, "data": [setting.as_json() for setting in settings]})

        async def endpoint(_request: Request) -> Response:  # (a route's endpoint takes the request)
            return Response(content, media_type="application/json")

        return endpoint

    async def get_stats(self, request: Request) -> Response:
        wanted = request.query_params.get("bodies", "0")
        if not wanted.isdigit():
            raise invalid([f"bodies: The query parameter bodies must be a whole number, not {wanted!r}."])
        return json_response({**self.stats.as_json(bodies=int(wanted)), "store": self.store.counts().as_json()})

    async def get_custom_events(self, request: Request) -> Response:
        after, limit = (
            request.query_params.get(name, default)
            for name, default in (("after", "0"), ("limit", str(CUSTOM_EVENTS_PAGE)))
        )
        if not after.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= CUSTOM_EVENTS_PAGE:
            raise invalid(
                [
                    f"after, limit: after must be a whole number and limit one of 1 to {CUSTOM_EVENTS_PAGE}, "
                    f"not {after!r} and {limit!r}."
                ]
            )
        events = self.store.custom_events(after=int(after), limit=int(limit))
        return json_response({"status": 0, "total": self.store.counts().custom_events, "data": events})


async def _json_body(request: Request) -> bytes:
    """The raw body of a request that declares JSON; 415 for any other content type."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        given = f"Content-Type {media_type!r}" if media_type else "no Content-Type"
        raise Rejected(415, f"The body must be JSON, sent with Content-Type: application/json; this had {given}.")
    return await request.body()


def _found(document: dict[str, Any] | None, missing: str, substatus: str | None = None) -> Response:
    if document is None:
        raise Rejected(404, missing, substatus=substatus)
    return json_response({"status": 0, "data": document})


class SandboxApp(Starlette):
    """Starlette that keeps the ASGI server's own `send` in the scope, so a fault can drop the
    connection (see `faults.drop_connection`); the middleware stack only sees wrapped `send`s."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[faults.RAW_SEND_KEY] = send
        await super().__call__(scope, receive, send)


def create_app(
    config: SandboxConfig, store: Store, stats: RequestStats | None = None, injector: FaultInjector | None = None
) -> Starlette:
    """The sandbox app for one business unit; requests are counted in `stats` (a new one if None) and
    faulted as `config.faults` says, with the state kept in `injector` (a new one if None)."""
    stats = RequestStats() if stats is None else stats
    injector = FaultInjector(config.faults) if injector is None else injector
    routes = Endpoints(config, store, stats).routes()

    async def on_rejected(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Rejected)
        return problem(
            exc.status, exc.detail, request.url.path, exc.errors, config.errors_style, substatus=exc.substatus
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        method, path = request.method, request.url.path
        detail = {
            404: f"No route matches {method} {path}.",
            405: f"{path} does not accept {method}.",
        }.get(exc.status_code, exc.detail)
        return problem(exc.status_code, detail, path, headers=exc.headers)

    async def on_crash(request: Request, exc: Exception) -> Response:
        return problem(500, f"The sandbox failed: {type(exc).__name__}: {exc}", request.url.path)

    return SandboxApp(
        routes=routes,
        middleware=[Middleware(Gate, config=config, stats=stats, routes=routes, injector=injector)],
        exception_handlers={Rejected: on_rejected, HTTPException: on_http_error, Exception: on_crash},
    )
