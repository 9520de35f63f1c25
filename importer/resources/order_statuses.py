"""Order statuses: ``PUT /orders/status``, one order per request, rows of ``id,status``.

Not journaled (idempotent: running it again on its ``failed.csv`` settles what failed), not undoable (the
API keeps no earlier status).
"""

from __future__ import annotations

from importer.resources.declaration import Naming, Resource, Sending
from schemas.operations import OrderStatusRow

ORDER_STATUSES = Resource(
    name="order statuses",
    command="order-status",
    method="PUT",
    path="/orders/status",
    schemas=(OrderStatusRow,),
    sending=Sending.SINGLE,
    naming=Naming("order", "orders"),
    idempotent=True,
    done="updated",
    columns=("id", "status"),
    key_in_path=False,
)
