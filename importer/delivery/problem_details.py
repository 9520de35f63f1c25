"""What an API error answer says: which records it names, and a one-line description.

The shape of ``errors`` in the platform's problem details is not documented: the docs show a list of
strings (``"data[3].email: message"``), ASP.NET services often send a dictionary
(``{"data[3].email": ["message"]}``), and a proxy may send HTML. All are read here, none is required.
"""

from __future__ import annotations

import re
import ssl
from typing import Any

_INDEXED = re.compile(r"^\$?\.?data\[(\d+)\]\.?(.*)$", re.IGNORECASE)
_TOO_BIG = re.compile(r"too (large|big|many)|payload|request (body|entity)|maximum (size|length|number)", re.I)
_EXISTS = re.compile(r"already exists", re.I)


def parse_record_errors(problem: Any, count: int) -> dict[int, list[tuple[str, str]]]:
    """``{record index: [(field path, message)]}`` from a 400's ``errors`` (list, dict, or absent)."""
    errors = problem.get("errors") if isinstance(problem, dict) else None
    pairs: list[tuple[str, str]] = []
    if isinstance(errors, list):
        pairs = [(p, m or p) for p, _, m in (str(e).partition(": ") for e in errors if isinstance(e, str))]
    elif isinstance(errors, dict):
        pairs = [(str(p), str(m)) for p, ms in errors.items() for m in (ms if isinstance(ms, list) else [ms])]
    found: dict[int, list[tuple[str, str]]] = {}
    for path, message in pairs:
        match = _INDEXED.match(path.strip())
        if match and int(match.group(1)) < count:
            found.setdefault(int(match.group(1)), []).append((match.group(2), message))
    return found


def problem_kind(problem: Any) -> tuple[str | None, str | None]:
    """The ``substatus`` and ``type`` of a problem answer (None when it has none, or is not JSON)."""
    if not isinstance(problem, dict):
        return None, None
    substatus, kind = problem.get("substatus"), problem.get("type")
    return (None if substatus in (None, "") else str(substatus)), (None if kind in (None, "") else str(kind))


def describe_problem(status: int | None, problem: Any) -> str:
    """One line for an error answer: status, title/detail and the errors, without the request."""
    if status is None:
        return str(problem)
    if not isinstance(problem, dict):
        text = str(problem or "").strip().replace("\n", " ")[:200]
        return f"HTTP {status}" + (f": {text}" if text else "")
    parts = [str(problem[k]) for k in ("title", "detail") if problem.get(k)]
    errors = problem.get("errors")
    if isinstance(errors, list):
        parts += [str(e) for e in errors]
    elif isinstance(errors, dict):
        parts += [f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items()]
    return f"HTTP {status}: " + "; ".join(parts) if parts else f"HTTP {status}"


def is_too_big(status: int | None, problem: Any) -> bool:
    """A 400 that says the request was too large (some gateways answer so instead of 413)."""
    return bool(_TOO_BIG.search(describe_problem(status, problem)))


def says_exists(message: str) -> bool:
    """An API message saying the record already exists (Add mode)."""
    return bool(_EXISTS.search(message))


def certificate_failure(exc: BaseException) -> str | None:
    """Why the server's TLS certificate failed verification, when that is what ``exc`` (a transport error)
    comes from; None for any other network error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None
