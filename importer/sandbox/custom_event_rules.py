"""The body of POST /scenariocustomevents as the platform's custom events page documents it (one event per
request, at least one customer identifier, data fields of the documented types), checked with the rules of
``importer.sandbox.rules``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from importer.sandbox.rules import (
    EMAIL,
    PHONE,
    Check,
    Schema,
    array,
    integer,
    one_of,
    string,
    whole_body,
)

DATA_FIELD_TYPES = ("String", "Text", "Number", "Money", "Date", "DateTime", "Boolean", "URL")
"""The types a custom event's data field may declare (spelt as the custom events page spells them)."""


def customer_id(value: Any, path: str) -> Iterator[str]:
    """The platform's internal customer id: the custom events page's table says string, its example sends
    0; either is accepted, an integer within int32, a string non-empty."""
    if isinstance(value, str):
        yield from string(min_length=1)(value, path)
    else:
        yield from integer()(value, path)


DATA_FIELD = Schema(
    {"name": string(min_length=1, max_length=256), "type": one_of(DATA_FIELD_TYPES), "value": string()},
    frozenset({"name", "type"}),
)

CUSTOMER_IDENTIFIERS: Mapping[str, Check] = {
    "customerId": customer_id,
    "customerEmail": string(max_length=320, shape=EMAIL),
    "customerEmailMd5": string(max_length=32),
    "customerEmailSha256": string(max_length=64),
    "customerPhone": string(max_length=20, shape=PHONE),
    "customerCrmId": string(max_length=128),
}
"""A custom event's customer identifiers (at least one is required) and their rules."""

CUSTOM_EVENT = Schema(
    {"customEventId": integer(), **CUSTOMER_IDENTIFIERS, "dataFields": array(DATA_FIELD)},
    frozenset({"customEventId"}),
)


def validate_custom_event_request(body: Any, known_event_ids: Collection[int]) -> list[str]:
    """Errors of a POST /scenariocustomevents body (one event) for a business unit whose custom events
    have the ids ``known_event_ids``: beyond the fields' own rules, at least one customer identifier
    must be given (null and "" are not given), and the event must be one the business unit defines."""
    errors = whole_body(CUSTOM_EVENT, body)
    if not isinstance(body, dict):
        return errors
    if all(body.get(name) in (None, "") for name in CUSTOMER_IDENTIFIERS):
        errors.append(f"$: At least one customer identifier is required: {', '.join(CUSTOMER_IDENTIFIERS)}.")
    event_id = body.get("customEventId")
    id_valid = event_id is not None and not any(error.startswith("customEventId:") for error in errors)
    if id_valid and event_id not in known_event_ids:
        errors.append(
            f"customEventId: No custom event with id {event_id} is defined in this business unit "
            "(Automation > Scenarios > Custom events)."
        )
    return errors
