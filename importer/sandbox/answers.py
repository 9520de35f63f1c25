"""The sandbox's answers as the platform writes them: JSON bodies, and RFC 7807 problem details.

A problem answer has ``type``, ``title``, ``status``, ``detail``, ``instance``, for a 400 ``errors``
shaped as the platform's are seen to be (a list of ``path: message`` strings, a dictionary of path to
messages as ASP.NET writes them, or none), and on the order routes the ``substatus`` the vendor's order
documentation shows on every error answer (``ORDER_SUBSTATUS``). ``Rejected`` ends a request with such an
answer; ``invalid`` is the 400 that says nothing of the request was stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from starlette.responses import HTMLResponse, Response, StreamingResponse

PROBLEM_KINDS: dict[int, tuple[str, str]] = {
    400: ("https://tools.ietf.org/html/rfc9110#section-15.5.1", "One or more validation errors occurred."),
    401: ("https://tools.ietf.org/html/rfc9110#section-15.5.2", "Unauthorized"),
    404: ("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found"),
    405: ("https://tools.ietf.org/html/rfc9110#section-15.5.6", "Method Not Allowed"),
    413: ("https://tools.ietf.org/html/rfc9110#section-15.5.14", "Content Too Large"),
    415: ("https://tools.ietf.org/html/rfc9110#section-15.5.16", "Unsupported Media Type"),
    429: ("https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests"),
    500: ("https://tools.ietf.org/html/rfc9110#section-15.6.1", "An error occurred while processing your request."),
    502: ("https://tools.ietf.org/html/rfc9110#section-15.6.3", "Bad Gateway"),
    503: ("https://tools.ietf.org/html/rfc9110#section-15.6.4", "Service Unavailable"),
}


ORDER_SUBSTATUS = "CustomerInvalidModelState"  # the orders API documentation's substatus, on 400, 401 and 404


class Rejected(Exception):
    """Ends a request with a problem response: `errors` (for 400) are `path: message` strings."""

    def __init__(
        self, status: int, detail: str, errors: Sequence[str] | None = None, substatus: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.substatus = substatus


def invalid(errors: Sequence[str], substatus: str | None = None) -> Rejected:
    count = f"{len(errors)} error{'' if len(errors) == 1 else 's'}"
    detail = f"The request was not processed, so nothing from it was stored ({count}). First error: {errors[0]}"
    return Rejected(400, detail, errors, substatus)


def json_response(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status, media_type="application/json")


def problem(
    status: int,
    detail: str,
    instance: str,
    errors: Sequence[str] | None = None,
    errors_style: str = "list",
    headers: Mapping[str, str] | None = None,
    substatus: str | None = None,
) -> Response:
    """An RFC 7807 problem response; `errors_style` is "list", "dict" (path → messages) or "none"."""
    kind, title = PROBLEM_KINDS.get(status, ("about:blank", "Error"))
    content: dict[str, Any] = {"type": kind, "title": title, "status": status}
    if substatus is not None:
        content["substatus"] = substatus
    content |= {"detail": detail, "instance": instance}
    if errors is not None and errors_style == "list":
        content["errors"] = list(errors)
    elif errors is not None and errors_style == "dict":
        grouped: dict[str, list[str]] = {}
        for error in errors:
            path, _, message = error.partition(": ")
            grouped.setdefault(path, []).append(message)
        content["errors"] = grouped
    return Response(orjson.dumps(content), status, headers, media_type="application/problem+json")


def big_problem(size: int, detail: str, instance: str) -> Response:
    """A 400 problem answer of exactly ``size`` bytes, its ``detail`` padded out, naming no record;
    streamed a megabyte at a time, so the sandbox never holds it."""
    kind, title = PROBLEM_KINDS[400]
    head = orjson.dumps({"type": kind, "title": title, "status": 400, "instance": instance})[:-1]
    head += b',"detail":"' + orjson.dumps(detail)[1:-1] + b" "
    tail = b'"}'
    padding = max(0, size - len(head) - len(tail))
    piece = b"x" * (1 << 20)

    async def body() -> Any:
        yield head
        left = padding
        while left > 0:
            yield piece[: min(left, len(piece))]
            left -= len(piece)
        yield tail

    headers = {"content-length": str(len(head) + padding + len(tail))}
    return StreamingResponse(body(), 400, headers, media_type="application/problem+json")


LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>\n"
    b'<body><form method="post" action="/login"><input name="user">'
    b'<input name="password" type="password">'
    b"<button>Sign in</button></form></body></html>\n"
)


def login_page() -> Response:
    """A 200 HTML login page, as a proxy that wants a sign-in answers instead of the API."""
    return HTMLResponse(LOGIN_PAGE, 200)


def parse_json(raw: bytes) -> Any:
    """The parsed body, or a 400 that says why it is not JSON."""
    if not raw.strip():
        raise invalid(["$: The request body is empty: send a JSON object."])
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise invalid([f"$: The request body is not valid JSON: {error}."]) from None


def substatus_of(path: str) -> str | None:
    """The substatus the platform's documentation shows on the order routes' error answers."""
    return ORDER_SUBSTATUS if path == "/orders" or path.startswith("/orders/") else None
