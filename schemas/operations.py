"""Rows of the single-record order operations as pandera schemas (polars backend).

* ``OrderStatusRow`` — a row of ``ecdp-import order-status``: the order's id and its new status, as
  PUT /orders/status takes them (``orderId``, ``orderStatus``);
* ``OrderIdRow`` — a row of ``ecdp-import delete-orders``: the id of an order to delete.

The frames are normalised first (trimmed, blanks null, status in the documented lower-case spelling,
``cancelled`` read as ``canceled``). Lengths count UTF-16 code units (``schemas.common``).
"""

from __future__ import annotations

import pandera.polars as pa
from pandera.typing.polars import Series

from schemas.common import MAX_LENGTH, with_checks
from schemas.orders import ORDER_ID_MAX, STATUSES


class OrderIdRow(pa.DataFrameModel):
    """The order a row is about."""

    id: Series[str] = pa.Field(nullable=False, metadata={MAX_LENGTH: ORDER_ID_MAX})

    class Config:
        strict = False
        coerce = False


class OrderStatusRow(OrderIdRow):
    """An order and the status to set: one of the documented statuses."""

    status: Series[str] = pa.Field(nullable=False, isin=STATUSES)


def order_id_schema() -> pa.DataFrameSchema:
    return with_checks(OrderIdRow.to_schema())


def order_status_schema() -> pa.DataFrameSchema:
    return with_checks(OrderStatusRow.to_schema())
