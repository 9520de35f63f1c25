"""Orders: ``POST /orders``, chunks of up to 100 orders, each built from its order lines (or nested Parquet).

Keyed in the journal by the order id; read back by ``GET /orders/{id}``; undone by deleting the orders a run
created (``delete-orders``). A record is several rows, whose order-level cells may disagree: the mapping's
``conflict`` settings apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from importer.records import order_columns, orders
from importer.records.comparison import order_differences
from importer.records.definitions import ORDER_ATTRIBUTES, PRODUCT_ATTRIBUTES, Lists, types_of
from importer.resources.declaration import Binding, Naming, Resource, Sending, Undo
from importer.settings import OrderOptions
from schemas.orders import Order, OrderLine, Product


def bind(options: OrderOptions) -> Binding:
    """Orders with a run's options (their ``conflicts`` already merged with the mapping's)."""

    def compare(sent: dict[str, Any], stored: dict[str, Any], lists: Lists) -> list[Any]:
        return order_differences(sent, stored, types_of(lists, ORDER_ATTRIBUTES), types_of(lists, PRODUCT_ATTRIBUTES))

    return Binding(
        resource=ORDERS,
        kind="orders",
        envelope={"mode": options.mode},
        prepare=lambda frame, lists: orders.prepare(frame, options, lists),
        settings_lists=lambda frame: orders.settings_lists(frame, options.customer_field),
        key=lambda columns: order_columns.key_expression(columns),
        options={
            "mode": options.mode,
            "customer_match": options.customer_match,
            "time_zone_names": options.time_zone_names,
        },
        lookup=order_columns.lookup_path,
        compare=compare,
        key_name="order id",
    )


def recorded(options: Mapping[str, Any]) -> OrderOptions:
    """The options an orders run recorded in the journal."""
    return OrderOptions(
        mode=options["mode"],
        customer_match=options["customer_match"],
        time_zone_names=options.get("time_zone_names", "windows"),
    )


ORDERS = Resource(
    name="orders",
    command="orders",
    method="POST",
    path="/orders",
    schemas=(OrderLine, Product, Order),
    sending=Sending.BULK,
    naming=Naming("order", "orders", rows="order lines"),
    idempotent=True,  # keyed by the order id: AddOrReplace sends the same order again to the same end
    verifiable=True,
    undo=Undo.DELETE_BY_ID,
    undone_by="delete-orders",
    journal_kind="orders",
    summary_options=("mode", "customer_match", "time_zone_names"),
    line_conflicts=True,
    items=True,
    options_type=OrderOptions,
    binder=bind,
    options_of=recorded,
)
