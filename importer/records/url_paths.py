"""Record keys in request paths: how a key is written into a URL path, and which keys may not be routed.

GET and DELETE put a record's key in the path (``/orders/{id}``, ``/customers/crmId/{crmId}``), escaped
so that any text is one path segment (``A/1`` is sent as ``A%2F1``). That is the correct URL, but
ASP.NET services (and the proxies before them) commonly refuse or mis-route an escaped ``/`` or ``\\``
and double-decode ``%``; ``?`` is escaped too and meets the same suspicion. So keys holding one of these
characters are named once, before a command that sends them, rather than discovered as failures.
"""

from __future__ import annotations

from urllib.parse import quote

import polars as pl

_UNROUTABLE = r"[/\\%?]"
_EXAMPLES = 3


def path_segment(value: object) -> str:
    """``value`` as one URL path segment: every character but letters, digits and ``_.-~`` escaped."""
    return quote(str(value), safe="")


def unroutable_warning(keys: pl.Series, noun: str, *, in_body: bool = False) -> str | None:
    """One warning naming the ``keys`` (ids, or the customers' match values) that hold ``/``, ``\\``, ``%``
    or ``?``; None when there are none. ``in_body``: this command sends them in the body (order-status),
    so only later reading or deleting by key is at risk."""
    text = keys.cast(pl.String)
    risky = text.filter(text.str.contains(_UNROUTABLE).fill_null(False)).unique(maintain_order=True)
    if risky.is_empty():
        return None
    count = risky.len()
    shown = ", ".join(repr(v) for v in risky.head(_EXAMPLES).to_list()) + (", ..." if count > _EXAMPLES else "")
    what = f"{count} {noun}{'' if count == 1 else 's'} contain{'s' if count == 1 else ''} /, \\, % or ? ({shown})"
    if in_body:
        return (
            f"{what}: this command sends them in the request body, but reading them back (verify) and "
            "delete-orders put them in the URL path, which the platform may not route; check those orders "
            "in the platform."
        )
    return (
        f"{what}: they are sent escaped in the URL path (/ as %2F), which the platform may not route, so "
        "they may fail or be reported as not found; check them in the platform."
    )
