"""The custom event of POST /scenariocustomevents as a pandera schema (polars backend).

It reads like the platform's page "Custom events in scenarios – API methods": ``customEventId`` (int32,
required), the customer identifiers (at least one: ``IDENTIFIERS``, checked by ``importer.records.events``
since a frame-wide "one of" is not a column's rule) and the ``dataFields``, each ``{name, type, value}``
with a type of ``DATA_FIELD_TYPES``. The frame it validates is normalised (trimmed, e-mail and hashes
lower-cased, phone stripped of separators), every cell a string. Lengths count UTF-16 code units, as the
platform does (``schemas.common``).

A data field's value is checked by its type's value schema (``data_field_schema``): a Number or Money
is a number, a Date a calendar date, a DateTime an instant (normalised to the API's form first), a
Boolean true or false, a URL an address with a scheme; String and Text take any text.
"""

from __future__ import annotations

import functools

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.typing.polars import Series

from schemas.common import (
    INT32_MAX,
    INT32_MIN,
    MAX_LENGTH,
    WHOLE_NUMBER,
    identifier,
    number,
    text_checks,
    value_schema,
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

MD5_LENGTH, SHA256_LENGTH, CRM_ID_MAX, FIELD_NAME_MAX = 32, 64, 128, 256
MD5_PATTERN = r"^[0-9a-f]{32}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
BOOLEAN_PATTERN = r"^(true|false)$"
URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$"

DATA_FIELD_TYPES = ("String", "Text", "Number", "Money", "Date", "DateTime", "Boolean", "URL")
"""The types a data field may declare, spelt as the platform's page spells them."""

EVENT_PATTERN_MEANINGS = {
    **PATTERN_MEANINGS,
    MD5_PATTERN: "is not an MD5 hash (32 hexadecimal digits)",
    SHA256_PATTERN: "is not a SHA-256 hash (64 hexadecimal digits)",
    DATE_PATTERN: "is not a date (YYYY-MM-DD, e.g. 2026-03-31)",
    BOOLEAN_PATTERN: "is not a Boolean (true or false; yes/no and 1/0 are read as such)",
    URL_PATTERN: "is not a URL with a scheme (e.g. https://example.com/page)",
}
"""What a failed ``str_matches`` check of an event means, for the report."""


def _max(limit: int) -> dict[str, int]:
    return {MAX_LENGTH: limit}


class Event(pa.DataFrameModel):
    """One custom event as POST /scenariocustomevents takes it (without its ``dataFields``)."""

    customEventId: Series[str] = pa.Field(nullable=False, metadata={WHOLE_NUMBER: (INT32_MIN, INT32_MAX)})
    customerId: Series[str] = pa.Field(nullable=True)  # the platform's own id: its page says string, its example 0
    customerEmail: Series[str] = pa.Field(nullable=True, str_matches=EMAIL_PATTERN, metadata=_max(EMAIL_MAX))
    customerEmailMd5: Series[str] = pa.Field(nullable=True, str_matches=MD5_PATTERN, metadata=_max(MD5_LENGTH))
    customerEmailSha256: Series[str] = pa.Field(nullable=True, str_matches=SHA256_PATTERN, metadata=_max(SHA256_LENGTH))
    customerPhone: Series[str] = pa.Field(nullable=True, str_matches=PHONE_PATTERN, metadata=identifier(PHONE_MAX))
    customerCrmId: Series[str] = pa.Field(nullable=True, metadata=identifier(CRM_ID_MAX))

    class Config:
        strict = False  # data field and bookkeeping columns are added per run
        coerce = False


EVENT_FIELDS: tuple[str, ...] = tuple(Event.to_schema().columns)
"""The event's own fields, in the order the platform documents them."""

IDENTIFIERS: tuple[str, ...] = EVENT_FIELDS[1:]
"""The customer identifiers: at least one is required."""


@functools.cache
def event_schema() -> pa.DataFrameSchema:
    """The event's schema with the checks its metadata declares (made once, shared: never change it)."""
    return with_checks(Event.to_schema())


def calendar_date() -> pa.Check:
    """A date that exists (2026-02-30 does not); the shape is ``DATE_PATTERN``'s."""

    def exists(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(data.key)
        parsed = value.str.to_date("%Y-%m-%d", strict=False)
        return data.lazyframe.select(value.is_null() | ~value.str.contains(DATE_PATTERN) | parsed.is_not_null())

    return pa.Check(exists, name="calendar_date", error="is not a date of the calendar (YYYY-MM-DD)")


_TYPE_CHECKS = {
    "Number": lambda: [number()],
    "Money": lambda: [number()],
    "Date": lambda: [pa.Check.str_matches(DATE_PATTERN), calendar_date()],
    "DateTime": lambda: [pa.Check.str_matches(API_DATETIME_PATTERN)],
    "Boolean": lambda: [pa.Check.str_matches(BOOLEAN_PATTERN)],
    "URL": lambda: [pa.Check.str_matches(URL_PATTERN)],
}


@functools.cache
def data_field_schema(field_type: str) -> pa.DataFrameSchema:
    """The value schema (``schemas.common.value_schema``) of data fields of ``field_type`` (made once, shared)."""
    return value_schema([*_TYPE_CHECKS.get(field_type, list)(), *text_checks()])
