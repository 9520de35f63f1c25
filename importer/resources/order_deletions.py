"""Order deletions: ``DELETE /orders/{id}``, one order per request, rows of ``id``; a 404 counts as done.

Also what ``undo`` sends for the orders an import run created.
"""

from __future__ import annotations

from importer.resources.declaration import Naming, Resource, Sending
from schemas.operations import OrderIdRow

ORDER_DELETIONS = Resource(
    name="order deletions",
    command="delete-orders",
    method="DELETE",
    path="/orders/{id}",
    schemas=(OrderIdRow,),
    sending=Sending.SINGLE,
    naming=Naming("order", "orders"),
    idempotent=True,  # a second delete finds nothing: 404, counted as done
    done="deleted",
    columns=("id",),
    key_in_path=True,
    not_found_apart=True,
)
