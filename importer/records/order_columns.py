"""Which columns of an order-lines input are which order and product fields, and each line's order id.

``plan_columns`` maps an input's header (case-insensitive) to the API's order fields (``id``, ``date``,
``customer.email``, ...), product fields (``product.id``, ...), ``attr.<name>`` order attributes and
``product.attr.<name>`` product attributes; it stops the run (exit 2) when a column cannot be sent or a
required one is missing, and lists the columns it will ignore. ``key_expression`` is the order id by which
the first pass keeps an order's lines together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from importer.errors import InputError
from importer.frame import is_bookkeeping
from importer.records import normalise
from importer.records.url_paths import path_segment
from schemas.customers import ATTRIBUTE_NAME_MAX
from schemas.orders import MAX_ATTRIBUTES, ORDER_FIELDS, PRODUCT_FIELDS

ATTR_PREFIX, PRODUCT_ATTR_PREFIX = "attr.", "product.attr."


@dataclass(frozen=True)
class OrderColumns:
    """How this input's columns map to the API's order and product fields."""

    rename: dict[str, str]
    order_attributes: dict[str, str] = field(default_factory=dict)  # canonical column -> name
    product_attributes: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    @property
    def order_level(self) -> list[str]:
        return [*ORDER_FIELDS, *self.order_attributes]


def lookup_path(record: dict[str, Any]) -> str | None:
    """Where the platform shows this order (GET /orders/{id})."""
    return "/orders/" + path_segment(record["id"]) if record.get("id") is not None else None


def key_expression(columns: list[str]) -> pl.Expr:
    """The order id of a line (lines of one order share it); InputError when no column holds it."""
    source = next((c for c in columns if c.lower() == "id"), None)
    if source is None:
        raise InputError("The input has no 'id' column, which every order needs.", "Add a id column.")
    return normalise.blank_to_null(pl.col(source))


def plan_columns(columns: list[str], customer_field: str) -> OrderColumns:
    """Map input columns to order fields; InputError when the input cannot be imported at all."""
    known = {name.lower(): name for name in (*ORDER_FIELDS, *PRODUCT_FIELDS)}
    rename: dict[str, str] = {}
    attributes: dict[str, dict[str, str]] = {ATTR_PREFIX: {}, PRODUCT_ATTR_PREFIX: {}}
    ignored: list[str] = []
    for column in columns:
        if is_bookkeeping(column):
            continue
        lower = column.lower()
        prefix = next((p for p in (PRODUCT_ATTR_PREFIX, ATTR_PREFIX) if lower.startswith(p)), None)
        if prefix is not None:
            name = column[len(prefix) :].strip()
            if not 1 <= len(name) <= ATTRIBUTE_NAME_MAX:
                raise InputError(
                    f"Column {column!r}: an attribute name must have 1 to {ATTRIBUTE_NAME_MAX} characters.",
                    f"Name the column {prefix}<attribute name as defined in the platform>.",
                )
            rename[column] = prefix + name
            attributes[prefix][prefix + name] = name
        elif lower in known:
            rename[column] = known[lower]
        else:
            ignored.append(column)
    targets = list(rename.values())
    repeated = {t for t in targets if targets.count(t) > 1}
    if repeated:
        raise InputError(f"Several columns mean {sorted(repeated)[0]!r}.", "Keep one of them.")
    for prefix, kind in ((ATTR_PREFIX, "order"), (PRODUCT_ATTR_PREFIX, "product")):
        if len(attributes[prefix]) > MAX_ATTRIBUTES:
            raise InputError(
                f"The input has {len(attributes[prefix])} {kind} attribute columns; the platform allows at most "
                f"{MAX_ATTRIBUTES} {kind} attributes to be defined.",
                "Keep the attributes defined in the platform's settings and drop the others.",
            )
    for required in ("id", customer_field):
        if required not in targets:
            raise InputError(
                f"The input has no {required!r} column, which every order needs.",
                f"Add a {required} column" + (" or choose another --customer-match." if required != "id" else "."),
            )
    return OrderColumns(rename, attributes[ATTR_PREFIX], attributes[PRODUCT_ATTR_PREFIX], ignored)
