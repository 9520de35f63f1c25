"""The resource registry: one declaration per endpoint this tool writes to, and the lookup everything asks.

``RESOURCES`` lists them in order (customers, orders, order statuses, order deletions, custom events);
``resource(name)`` finds one by its command or its name (``"orders"``, ``"delete-orders"``, ``"order deletions"``), and
``find(name)`` does the same or answers None (a summary of ``verify`` or ``undo``, which are no resource).
Everything that used to ask "customers or orders?" asks the declaration instead: its endpoint, schemas,
journal kind, sending (bulk chunks in an envelope, or one record per request), verify and undo, whether it
is idempotent, how the report names it and which options its summary shows (``declaration.Resource``).

Adding an endpoint: one module here declaring its ``Resource`` (and its ``bind`` for an import), listed in
``RESOURCES``; its pandera schema in ``schemas/``; its sandbox route and rules (``importer/sandbox``, with a
pair in ``tests/sandbox/test_rules_match_schemas.py``); its command in ``importer/cli`` and its function in
``importer/api.py``; its docs (``docs/``); its tests. Nothing else asks for it by name.
"""

from __future__ import annotations

from importer.errors import UsageError
from importer.resources.customers import CUSTOMERS
from importer.resources.declaration import Binding, Naming, Resource, Sending, Undo
from importer.resources.events import EVENTS
from importer.resources.order_deletions import ORDER_DELETIONS
from importer.resources.order_statuses import ORDER_STATUSES
from importer.resources.orders import ORDERS

RESOURCES: tuple[Resource, ...] = (CUSTOMERS, ORDERS, ORDER_STATUSES, ORDER_DELETIONS, EVENTS)
IMPORTS: tuple[Resource, ...] = tuple(r for r in RESOURCES if r.is_import)  # customers, orders, events

__all__ = ["IMPORTS", "RESOURCES", "Binding", "Naming", "Resource", "Sending", "Undo", "find", "resource"]


def find(command_or_name: str) -> Resource | None:
    """The resource a command or name stands for, or None (``verify``, ``undo``: commands of no resource)."""
    for declared in RESOURCES:
        if command_or_name in (declared.command, declared.name):
            return declared
    return None


def resource(command_or_name: str) -> Resource:
    """The resource a command or name stands for; UsageError naming the known ones when there is none."""
    found = find(command_or_name)
    if found is None:
        raise UsageError(
            f"{command_or_name!r} is no resource of this tool.",
            f"Use one of {', '.join(r.command for r in RESOURCES)}.",
        )
    return found
