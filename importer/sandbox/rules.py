"""Validation of ECDP request bodies, as the sandbox enforces them.

Pure functions from a parsed JSON body to a list of error strings, each `path: message`, for example
`data[2].customer.email: The field email must be at most 320 characters.` An empty list means the body
is valid. The rules are those of the vendor docs (`/work/shared/api-docs`) and `API-NOTES.md`:
required fields, maximum lengths, int32 ranges, enums, date-times, JSON types, and an order's
`timeZone` naming a zone the vendor's "supported time zones" could mean: a Windows name (the vendor's
examples send "Pacific Standard Time"; CLDR's windowsZones, as `tzlocal.windows_tz` ships it) or an IANA
one (the tz database, as `zoneinfo` knows it). The sandbox is deliberately stricter than the platform so
that it catches client mistakes:

- a field the docs do not define is an error (`data[0].foo: foo is an unknown field ...`);
- lengths are counted in UTF-16 code units, as .NET counts them (an emoji counts two);
- `null` on an optional field means "not given"; on a required field it is "required";
  a required string must not be empty;
- int32 fields take JSON integers only (`2.0` is rejected, as System.Text.Json rejects it);
- a custom event's data field must name itself and its type (the page marks neither as required).

Whether a custom event id is defined in the business unit is given to `validate_custom_event_request` (the
sandbox's configuration holds the ids): it is the one rule here that depends on more than the body.

This module knows nothing of HTTP, of the store or of the importer's own client code: it must stay
an independent second opinion on what the importer sends. Whether a customer or an order exists
is the store's business, not this module's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

CUSTOMER_MODES = ("Add", "Update", "AddOrUpdate")
ORDER_MODES = ("Add", "AddOrReplace", "Replace")
ORDER_STATUSES = ("placed", "paid", "completed", "canceled")
GENDERS = ("Male", "Female", "NotSpecified")
CONSENT_VALUES = ("False", "AwaitingConfirmation", "True")

MATCH_FIELDS: Mapping[str, str] = {
    "Email": "email",
    "PhoneNumber": "phone",
    "CrmId": "crmId",
    "VisitorId": "visitorId",
}
"""matchBy of POST /customers → the customer field it matches on. GUID has no documented field."""

IDENTIFICATION_FIELDS: Mapping[str, str] = {"Email": "email", "PhoneNumber": "phone", "CrmId": "crmId"}
"""A business unit's default identification field → the field POST /orders requires on `customer`."""

Check = Callable[[Any, str], Iterator[str]]
"""A rule for one JSON value: given the value and its path, yields `path: message` errors."""


def _name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _fail(path: str, complaint: str) -> str:
    return f"{path}: The field {_name(path)} {complaint}"


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# -- checks for scalar values ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A pattern a non-empty string must match, and what to say when it does not."""

    pattern: re.Pattern[str]
    complaint: str


EMAIL = Shape(
    re.compile(r"[^@\s]+@[^@\s]+"),
    "must be an e-mail address: exactly one @, with text on both sides and no whitespace.",
)
PHONE = Shape(re.compile(r"\+?[0-9]+"), "must hold only digits, optionally after a leading +, with no spaces.")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?")


@dataclass(frozen=True)
class String:
    """A JSON string of `min_length..max_length` UTF-16 code units; if non-empty, of `shape` (its limits are
    read by `tests/sandbox/test_rules_match_schemas.py`, which holds them against the importer's schemas)."""

    max_length: int | None = None
    min_length: int = 0
    shape: Shape | None = None

    def __call__(self, value: Any, path: str) -> Iterator[str]:
        max_length, min_length, shape = self.max_length, self.min_length, self.shape
        if not isinstance(value, str):
            yield _fail(path, "must be a string.")
            return
        length = len(value)
        if max_length is not None and length * 2 > max_length:
            length = _utf16_length(value)
        if min_length == max_length and length != min_length:
            yield _fail(path, f"must be exactly {min_length} characters.")
        elif length < min_length:
            yield _fail(path, f"must be at least {min_length} character{'' if min_length == 1 else 's'}.")
        elif max_length is not None and length > max_length:
            note = "" if len(value) > max_length else " (counted in UTF-16 code units: an emoji counts two)"
            yield _fail(path, f"must be at most {max_length} characters{note}.")
        elif value and shape is not None and not shape.pattern.fullmatch(value):
            yield _fail(path, shape.complaint)


def string(*, max_length: int | None = None, min_length: int = 0, shape: Shape | None = None) -> Check:
    """A JSON string of `min_length..max_length` UTF-16 code units; if non-empty, of `shape`."""
    return String(max_length, min_length, shape)


def number(value: Any, path: str) -> Iterator[str]:
    """A JSON number (a double on the platform); booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        yield _fail(path, "must be a number.")


@dataclass(frozen=True)
class Integer:
    """A JSON integer (no decimal point) within int32 and `minimum..maximum`."""

    minimum: int = INT32_MIN
    maximum: int = INT32_MAX

    def __call__(self, value: Any, path: str) -> Iterator[str]:
        if isinstance(value, bool) or not isinstance(value, int):
            yield _fail(path, "must be an integer.")
        elif not self.minimum <= value <= self.maximum:
            yield _fail(path, f"must be between {self.minimum} and {self.maximum}.")


def integer(*, minimum: int = INT32_MIN, maximum: int = INT32_MAX) -> Check:
    """A JSON integer (no decimal point) within int32 and `minimum..maximum`."""
    return Integer(minimum, maximum)


def boolean(value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, bool):
        yield _fail(path, "must be true or false.")


@dataclass(frozen=True)
class OneOf:
    """One of the strings `choices`, spelt exactly unless `ignore_case`."""

    choices: tuple[str, ...]
    ignore_case: bool = False
    accepted: frozenset[str] = field(init=False, repr=False, compare=False)
    complaint: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        listed = ", ".join(f'"{choice}"' for choice in self.choices)
        accepted = {choice.lower() for choice in self.choices} if self.ignore_case else set(self.choices)
        object.__setattr__(self, "accepted", frozenset(accepted))
        object.__setattr__(
            self, "complaint", f"must be one of {listed}{' (in any letter case)' if self.ignore_case else ''}."
        )

    def __call__(self, value: Any, path: str) -> Iterator[str]:
        if not isinstance(value, str) or (value.lower() if self.ignore_case else value) not in self.accepted:
            yield _fail(path, self.complaint)


def one_of(choices: tuple[str, ...], *, ignore_case: bool = False) -> Check:
    """One of the strings `choices`, spelt exactly unless `ignore_case`."""
    return OneOf(choices, ignore_case)


@cache
def _zone_names() -> frozenset[str]:
    """Every Windows and IANA time-zone name (the sandbox's own list: it shares no code with the importer)."""
    import zoneinfo

    from tzlocal.windows_tz import win_tz

    return frozenset({*win_tz, *(zoneinfo.available_timezones() - {"Factory", "localtime", "posixrules"})})


TIME_ZONE_MAX = 100


def time_zone(value: Any, path: str) -> Iterator[str]:
    """A time zone's name, Windows (``Central European Standard Time``) or IANA (``Europe/Warsaw``), spelt
    exactly; at most TIME_ZONE_MAX characters."""
    if not isinstance(value, str) or len(value) > TIME_ZONE_MAX:
        yield _fail(path, "must be a time zone name of at most 100 characters.")
    elif value not in _zone_names():
        yield _fail(
            path,
            f"must be a time zone name, Windows (e.g. Central European Standard Time) or IANA (e.g. "
            f"Europe/Warsaw): {value!r} is neither.",
        )


def date_time(value: Any, path: str) -> Iterator[str]:
    """An ISO 8601 date and time of day, e.g. 2023-07-25T12:35:54.712Z, that exists on the calendar."""
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            yield _fail(path, f"must be a date and time that exists: {value!r} does not.")
        return
    yield _fail(path, "must be an ISO 8601 date and time such as 2023-07-25T12:35:54.712Z.")


# -- checks for objects and arrays ----------------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    """A JSON object with the `fields` the docs define, of which `required` must be present."""

    fields: Mapping[str, Check]
    required: frozenset[str] = frozenset()

    def requiring(self, name: str) -> Schema:
        return Schema(self.fields, self.required | {name})

    def __call__(self, value: Any, path: str) -> Iterator[str]:
        if not isinstance(value, dict):
            yield _fail(path, "must be an object.")
            return
        prefix = f"{path}." if path else ""
        for name, check in self.fields.items():
            given = value.get(name)
            if given is None or (given == "" and name in self.required):
                if name in self.required:
                    yield f"{prefix}{name}: The field {name} is required."
                continue
            yield from check(given, prefix + name)
        for name in value:
            if name not in self.fields:
                yield f"{prefix}{name}: {name} is an unknown field: the API documents no field of this name here."


def array(item: Check, *, min_items: int = 0) -> Check:
    """A JSON array of at least `min_items` items, each checked by `item`."""

    def check(value: Any, path: str) -> Iterator[str]:
        if not isinstance(value, list):
            yield _fail(path, "must be an array.")
            return
        if len(value) < min_items:
            yield _fail(path, f"must hold at least {min_items} item{'' if min_items == 1 else 's'}.")
        for index, element in enumerate(value):
            yield from item(element, f"{path}[{index}]")

    return check


# -- the documented bodies ------------------------------------------------------------------------

ATTRIBUTE = Schema({"name": string(min_length=1, max_length=256), "value": string()}, frozenset({"name"}))

CONSENTS_DATA = Schema(
    {
        "consents": array(Schema({"id": integer(), "value": one_of(CONSENT_VALUES)}, frozenset({"id", "value"}))),
        "force": boolean,
        "confirmationMessageId": integer(),
    }
)

CUSTOMER = Schema(
    {
        "email": string(max_length=320, shape=EMAIL),
        "phone": string(max_length=20, shape=PHONE),
        "crmId": string(max_length=128),
        "visitorId": string(max_length=38),
        "firstName": string(max_length=256),
        "lastName": string(max_length=256),
        "dateOfBirth": date_time,
        "gender": one_of(GENDERS),
        "customAttributes": array(ATTRIBUTE),
        "consentsData": CONSENTS_DATA,
    }
)

PRODUCT = Schema(
    {
        "id": string(min_length=1, max_length=128),
        "name": string(min_length=1, max_length=2048),
        "price": number,
        "quantity": integer(minimum=1),
        "returned": integer(minimum=0),
        "url": string(max_length=2048),
        "imageUrl": string(max_length=2048),
        "category": string(max_length=2048),
        "productAttributes": array(ATTRIBUTE),
    },
    frozenset({"id", "name", "price", "quantity"}),
)

ORDER_CUSTOMER = Schema(
    {
        "email": string(max_length=320, shape=EMAIL),
        "phone": string(max_length=20, shape=PHONE),
        "crmId": string(max_length=128),
    }
)

ORDER = Schema(
    {
        "id": string(min_length=1, max_length=128),
        "date": date_time,
        "totalValue": number,
        "customer": ORDER_CUSTOMER,
        "products": array(PRODUCT, min_items=1),
        "timeZone": time_zone,
        "websiteId": integer(),
        "status": one_of(ORDER_STATUSES, ignore_case=True),
        "currency": string(min_length=3, max_length=3),
        "returnsValue": number,
        "orderAttributes": array(ATTRIBUTE),
    },
    frozenset({"id", "date", "totalValue", "customer", "products"}),
)

ORDER_STATUS_CHANGE = Schema(
    {"orderId": string(min_length=1), "orderStatus": one_of(ORDER_STATUSES, ignore_case=True)},
    frozenset({"orderId", "orderStatus"}),
)


def _match_by(value: Any, path: str) -> Iterator[str]:
    if value == "GUID":
        yield f"{path}: GUID matching is not supported by the sandbox: the API documents no customer field for it."
    elif value not in MATCH_FIELDS:
        yield from one_of((*MATCH_FIELDS, "GUID"))(value, path)


@cache
def _customers_request(match_field: str | None) -> Schema:
    customer = CUSTOMER.requiring(match_field) if match_field else CUSTOMER
    return Schema(
        {"mode": one_of(CUSTOMER_MODES), "matchBy": _match_by, "data": array(customer, min_items=1)},
        frozenset({"mode", "matchBy", "data"}),
    )


@cache
def _orders_request(identification: str) -> Schema:
    customer = ORDER_CUSTOMER.requiring(IDENTIFICATION_FIELDS[identification])
    order = Schema({**ORDER.fields, "customer": customer}, ORDER.required)
    return Schema({"mode": one_of(ORDER_MODES), "data": array(order, min_items=1)}, frozenset({"mode", "data"}))


def whole_body(schema: Schema, body: Any) -> list[str]:
    """Every error of a request body that must be a JSON object of ``schema``."""
    if not isinstance(body, dict):
        return ["$: The request body must be a JSON object."]
    return list(schema(body, ""))


def validate_customers_request(body: Any) -> list[str]:
    """Errors of a POST /customers body; the field matchBy names is required on every customer."""
    match_by = body.get("matchBy") if isinstance(body, dict) else None
    match_field = MATCH_FIELDS.get(match_by) if isinstance(match_by, str) else None
    return whole_body(_customers_request(match_field), body)


def validate_orders_request(body: Any, identification: str = "Email") -> list[str]:
    """Errors of a POST /orders body for a business unit identifying customers by `identification`.

    Beyond each order's own rules, an order id given twice is an error on the later order.
    """
    errors = whole_body(_orders_request(identification), body)
    orders = body.get("data") if isinstance(body, dict) else None
    if isinstance(orders, list):
        errors.extend(_repeated_order_ids(orders))
    return errors


def _repeated_order_ids(orders: list[Any]) -> Iterator[str]:
    first_index: dict[str, int] = {}
    for index, order in enumerate(orders):
        order_id = order.get("id") if isinstance(order, dict) else None
        if not isinstance(order_id, str) or not order_id:
            continue
        first = first_index.setdefault(order_id, index)
        if first != index:
            yield f"data[{index}].id: The order id {order_id!r} is already used by data[{first}] in this request."


def validate_order_status_request(body: Any) -> list[str]:
    """Errors of a PUT /orders/status body."""
    return whole_body(ORDER_STATUS_CHANGE, body)
