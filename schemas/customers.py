"""The customer record of POST /customers as a pandera schema (polars backend).

It reads like the API documentation's table: field, max length, enum, format. The frame it validates
is already normalised (trimmed, e-mail lower-cased, phone stripped of separators, gender and consent
values in the documented spelling, dateOfBirth rendered as the UTC instant the API takes), so every
check here is about what is *sent*. A value that normalisation could not interpret is left as the user
wrote it, and fails the format or enum check below with that value.

Which field is matched is a run's option, set by ``customer_schema``. Columns that depend on the input
(``attr.<name>``, ``consent.<id>``) are checked cell by cell against a value schema
(``schemas.common.text_value_schema``, ``consent_value_schema``), however many of them a file has.
"""

from __future__ import annotations

import functools

import pandera.polars as pa
from pandera.typing.polars import Series

from schemas.common import MAX_LENGTH, identifier, value_schema, with_checks

EMAIL_MAX, PHONE_MAX, CRM_ID_MAX, VISITOR_ID_MAX, NAME_MAX = 320, 20, 128, 38, 256
ATTRIBUTE_NAME_MAX = 256

GENDERS = ("Male", "Female", "NotSpecified")
CONSENT_VALUES = ("False", "AwaitingConfirmation", "True")
AWAITING_CONFIRMATION = "AwaitingConfirmation"

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
PHONE_PATTERN = r"^\+?[0-9]+$"
# Years 0001-9999: the platform's .NET DateTime has no year 0 and no year 10000.
API_DATETIME_PATTERN = r"^(000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"

#: What a failed ``str_matches`` check means, for the report.
PATTERN_MEANINGS = {
    EMAIL_PATTERN: "is not an e-mail address (one @, text on both sides, no spaces)",
    PHONE_PATTERN: "is not a phone number (digits, optionally a leading +)",
    API_DATETIME_PATTERN: "is not an ISO 8601 date or date-time (e.g. 1990-05-17 or 1990-05-17T08:30:00+02:00)",
}


def _max(limit: int) -> dict[str, int]:
    return {MAX_LENGTH: limit}


class Customer(pa.DataFrameModel):
    """One customer as POST /customers takes it; every field optional unless matched by.

    ``metadata`` max lengths are UTF-16 code units, as the platform counts (see ``schemas.common``).
    """

    email: Series[str] = pa.Field(nullable=True, str_matches=EMAIL_PATTERN, metadata=_max(EMAIL_MAX))
    phone: Series[str] = pa.Field(nullable=True, str_matches=PHONE_PATTERN, metadata=identifier(PHONE_MAX))
    crmId: Series[str] = pa.Field(nullable=True, metadata=identifier(CRM_ID_MAX))
    visitorId: Series[str] = pa.Field(nullable=True, metadata=_max(VISITOR_ID_MAX))
    firstName: Series[str] = pa.Field(nullable=True, metadata=_max(NAME_MAX))
    lastName: Series[str] = pa.Field(nullable=True, metadata=_max(NAME_MAX))
    dateOfBirth: Series[str] = pa.Field(nullable=True, str_matches=API_DATETIME_PATTERN)
    gender: Series[str] = pa.Field(nullable=True, isin=GENDERS)

    class Config:
        strict = False  # attribute, consent and bookkeeping columns are added per run
        coerce = False


#: The standard fields, in the order the API documents them.
CUSTOMER_FIELDS: tuple[str, ...] = tuple(Customer.to_schema().columns)


def customer_schema(match_field: str) -> pa.DataFrameSchema:
    """The schema for one run: the standard fields, the matched one required. Made once per matched field
    (a run asks per partition); the schema is shared, so it must not be changed."""
    return _customer_schema(match_field)


@functools.lru_cache(maxsize=8)
def _customer_schema(match_field: str) -> pa.DataFrameSchema:
    return with_checks(Customer.to_schema()).update_column(match_field, nullable=False)


@functools.lru_cache(maxsize=2)
def consent_value_schema(allow_confirmation_emails: bool) -> pa.DataFrameSchema:
    """The value schema of ``consent.<id>`` columns: a documented consent value, and AwaitingConfirmation
    (which makes the platform e-mail the customer) only when the run allows it (made once, shared)."""
    consent_checks = [pa.Check.isin(CONSENT_VALUES)]
    if not allow_confirmation_emails:
        consent_checks.append(
            pa.Check.notin(
                [AWAITING_CONFIRMATION],
                error=(
                    "is AwaitingConfirmation, which makes the platform e-mail the customer; "
                    "pass --allow-confirmation-emails to send it"
                ),
            )
        )
    return value_schema(consent_checks)
