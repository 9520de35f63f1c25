"""The order of POST /orders as pandera schemas (polars backend), in three parts.

An order arrives as *lines* (one per product), so its rules are checked where they can be seen:

* ``OrderLine`` — the order-level values as each line holds them (a line may leave them blank; the
  values it does hold must be valid), and the order id every line needs to be grouped;
* ``Product`` — the product of a line that has one (a row of an orders file without items has none);
* ``Order`` — one row per order after its lines are grouped: the fields every order must have.

The frames are normalised first (see ``importer.records.orders``): dates are the instant the API takes (in
UTC, or with a ``timeZone`` its clock time there with its offset: ``importer.records.order_dates``), status
lower-case, currency upper-case, e-mail and phone as for customers, numbers as written.
Lengths count UTF-16 code units, as the platform does (``schemas.common``).
"""

from __future__ import annotations

import functools

import pandera.polars as pa
from pandera.typing.polars import Series

from schemas.common import (
    INT32_MAX,
    INT32_MIN,
    MAX_LENGTH,
    NUMBER,
    WHOLE_NUMBER,
    identifier,
    with_checks,
)
from schemas.customers import (
    API_DATETIME_PATTERN,
    EMAIL_MAX,
    EMAIL_PATTERN,
    PATTERN_MEANINGS,
    PHONE_MAX,
    PHONE_PATTERN,
)

ORDER_ID_MAX, TIME_ZONE_MAX, CRM_ID_MAX = 128, 100, 128
PRODUCT_ID_MAX, PRODUCT_TEXT_MAX = 128, 2048
MAX_ATTRIBUTES = 10  # the platform lets a business unit define at most 10 order and 10 product attributes
STATUSES = ("placed", "paid", "completed", "canceled")
STATUS_ALIASES = {"cancelled": "canceled"}
CURRENCY_PATTERN = r"^[A-Z]{3}$"
DEFAULT_TIME_ZONE = "UTC"
#: An order's date as sent: in UTC (``Z``), or with a ``timeZone``, its clock time there with the offset.
ORDER_DATETIME_PATTERN = API_DATETIME_PATTERN.removesuffix("Z$") + r"(Z|[+-]\d{2}:\d{2})$"

ORDER_PATTERN_MEANINGS = {
    **PATTERN_MEANINGS,
    CURRENCY_PATTERN: "is not a currency code (3 letters, ISO 4217, e.g. PLN)",
    ORDER_DATETIME_PATTERN: PATTERN_MEANINGS[API_DATETIME_PATTERN],
}


def _max(limit: int) -> dict[str, int]:
    return {MAX_LENGTH: limit}


_NUMBER = {NUMBER: True}


class OrderLine(pa.DataFrameModel):
    """Order-level values on one line: optional (blank on sparse lines) but valid when present."""

    id: Series[str] = pa.Field(nullable=False, metadata=identifier(ORDER_ID_MAX))
    date: Series[str] = pa.Field(nullable=True, str_matches=ORDER_DATETIME_PATTERN)
    timeZone: Series[str] = pa.Field(nullable=True, metadata=_max(TIME_ZONE_MAX))
    websiteId: Series[str] = pa.Field(nullable=True, metadata={WHOLE_NUMBER: (INT32_MIN, INT32_MAX)})
    status: Series[str] = pa.Field(nullable=True, isin=STATUSES)
    currency: Series[str] = pa.Field(nullable=True, str_matches=CURRENCY_PATTERN)
    totalValue: Series[str] = pa.Field(nullable=True, metadata=_NUMBER)
    returnsValue: Series[str] = pa.Field(nullable=True, metadata=_NUMBER)
    customer_email: Series[str] = pa.Field(
        alias="customer.email", nullable=True, str_matches=EMAIL_PATTERN, metadata=_max(EMAIL_MAX)
    )
    customer_phone: Series[str] = pa.Field(
        alias="customer.phone", nullable=True, str_matches=PHONE_PATTERN, metadata=identifier(PHONE_MAX)
    )
    customer_crm_id: Series[str] = pa.Field(alias="customer.crmId", nullable=True, metadata=identifier(CRM_ID_MAX))

    class Config:
        strict = False
        coerce = False


class Product(pa.DataFrameModel):
    """One product of an order (a line with any product cell)."""

    id: Series[str] = pa.Field(alias="product.id", nullable=False, metadata=identifier(PRODUCT_ID_MAX))
    name: Series[str] = pa.Field(alias="product.name", nullable=False, metadata=_max(PRODUCT_TEXT_MAX))
    price: Series[str] = pa.Field(alias="product.price", nullable=False, metadata=_NUMBER)
    quantity: Series[str] = pa.Field(alias="product.quantity", nullable=False, metadata={WHOLE_NUMBER: (1, INT32_MAX)})
    returned: Series[str] = pa.Field(alias="product.returned", nullable=True, metadata={WHOLE_NUMBER: (0, INT32_MAX)})
    url: Series[str] = pa.Field(alias="product.url", nullable=True, metadata=_max(PRODUCT_TEXT_MAX))
    imageUrl: Series[str] = pa.Field(alias="product.imageUrl", nullable=True, metadata=_max(PRODUCT_TEXT_MAX))
    category: Series[str] = pa.Field(alias="product.category", nullable=True, metadata=_max(PRODUCT_TEXT_MAX))

    class Config:
        strict = False
        coerce = False


class Order(pa.DataFrameModel):
    """What every order must have once its lines are grouped (the customer identifier is added per run)."""

    id: Series[str] = pa.Field(nullable=False)
    date: Series[str] = pa.Field(nullable=False)
    totalValue: Series[str] = pa.Field(nullable=False)

    class Config:
        strict = False
        coerce = False


ORDER_FIELDS: tuple[str, ...] = tuple(OrderLine.to_schema().columns)
PRODUCT_FIELDS: tuple[str, ...] = tuple(Product.to_schema().columns)


def order_line_schema() -> pa.DataFrameSchema:
    """``OrderLine`` with its checks (made once, shared: it must not be changed). An input's order
    attribute columns are checked cell by cell (``schemas.common.text_value_schema``; the platform's
    definitions type them, see ``importer.records.preflight``)."""
    return _order_line_schema()


def product_schema() -> pa.DataFrameSchema:
    """``Product`` with its checks (made once, shared); its attribute columns as ``order_line_schema``'s."""
    return _product_schema()


@functools.cache
def _order_line_schema() -> pa.DataFrameSchema:
    return with_checks(OrderLine.to_schema())


@functools.cache
def _product_schema() -> pa.DataFrameSchema:
    return with_checks(Product.to_schema())


@functools.lru_cache(maxsize=8)
def order_schema(customer_field: str) -> pa.DataFrameSchema:
    """``Order`` with the business unit's customer identifier (``customer.email`` ...) required (made
    once, shared)."""
    return Order.to_schema().add_columns({customer_field: pa.Column(str, nullable=False)})
