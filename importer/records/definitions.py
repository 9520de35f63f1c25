"""The platform's settings as the pre-flight checks read them: attribute and consent definitions.

``GET /customerattributes``, ``/customerconsents``, ``/orderattributes`` and ``/productattributes`` answer
``{"status": 0, "data": [{"id", "name", "type"}, ...]}``; ``parse_definitions`` reads such an answer. A
definition may carry ``options`` (a SingleSelect's allowed values) when the platform lists them: a list
of strings, or of objects with a ``value`` or ``name``. Anything else in an entry is ignored.

The job reads the lists (``importer.jobs.platform_settings``) and hands them to the record stages as
``Lists`` (path → definitions, or None for a list the platform does not expose: nothing is checked
against it): nothing here sends a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from importer.errors import SettingsUnreadable

CUSTOMER_ATTRIBUTES, CONSENTS = "/customerattributes", "/customerconsents"
ORDER_ATTRIBUTES, PRODUCT_ATTRIBUTES = "/orderattributes", "/productattributes"
#: Where in the platform's UI each list is kept, for hints.
WHERE = {
    CUSTOMER_ATTRIBUTES: "Settings > Customer attributes",
    CONSENTS: "Settings > Consents",
    ORDER_ATTRIBUTES: "Settings > Order attributes",
    PRODUCT_ATTRIBUTES: "Settings > Product attributes",
}
#: What the pre-flight checks against each list, for the warning when a platform does not expose it.
CHECKS = {
    CUSTOMER_ATTRIBUTES: "customer attribute names and values",
    CONSENTS: "consent ids",
    ORDER_ATTRIBUTES: "order attribute names and values",
    PRODUCT_ATTRIBUTES: "product attribute names and values",
}


@dataclass(frozen=True)
class Definition:
    """One attribute or consent as the platform defines it."""

    id: int | None
    name: str
    type: str
    options: tuple[str, ...] | None = None  # a SingleSelect's values, when the platform lists them


#: The settings lists a partition is checked against, by path; None: a list the platform does not expose.
Lists = Mapping[str, tuple[Definition, ...] | None]


def types_of(lists: Lists, path: str) -> dict[str, str]:
    """Attribute name -> type, from the definitions pre-flight read for a run's attribute columns."""
    return {d.name: d.type for d in lists.get(path) or ()}


def parse_definitions(path: str, body: Any) -> tuple[Definition, ...]:
    """The definitions in a settings answer; SettingsUnreadable when it is not the documented shape."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in data):
        raise SettingsUnreadable(
            f'GET {path} did not answer with a list of definitions ({{"data": [{{"id", "name", "type"}}]}}).',
            "Check --api-url; pass --no-preflight to import without the platform checks.",
        )
    return tuple(
        Definition(
            id=entry["id"] if isinstance(entry.get("id"), int) else None,
            name=entry["name"],
            type=str(entry.get("type") or ""),
            options=_options(entry.get("options")),
        )
        for entry in data
    )


def _options(raw: Any) -> tuple[str, ...] | None:
    if not isinstance(raw, list) or not raw:
        return None
    values = [o if isinstance(o, str) else o.get("value", o.get("name")) if isinstance(o, dict) else None for o in raw]
    return tuple(str(v) for v in values if v is not None) or None
