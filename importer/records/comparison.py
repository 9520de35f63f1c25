"""A record as sent (or as the file describes it) against the record as the platform holds it.

``matches(sent, stored)`` answers yes or no for the sender: after a request whose answer was lost
(timeout, dropped connection, 5xx), a retry in ``Add`` mode may be told the record "already exists": it
may be ours. It holds when every field sent is held with the same value: strings exactly (date-times as
the same instant), numbers as numbers, objects field by field (the platform may hold more fields than
were sent), lists item by item.

The differences, field by field, are for ``verify``:

``customer_differences`` and ``order_differences`` compare every field the file *gives* (an empty cell
is absent and says nothing, as on import) with the stored record, and name each difference by the
input's own column (``firstName``, ``attr.tier``, ``consent.1``, ``customer.email``, ``product.price``),
so a report reads in the user's vocabulary. How values compare:

* numbers as numbers (``150`` = ``150.0``), date-times as instants (``…T10:10:00.000Z`` =
  ``…T11:10:00+01:00``; a stored time without offset is read as UTC), e-mail addresses, statuses,
  genders and consent values without regard to letter case, other text exactly;
* custom, order and product attributes by name (letter case ignored), their values by the attribute's
  type when the platform's settings are known (Number and Money as numbers, Date as a day, DateTime as
  an instant, Boolean without case), else as text; consents by id;
* products by id (the n-th line of a product id with the n-th stored one), so a stored order whose
  products come back in another order still matches; a product on one side only is a difference.

Pure functions: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from schemas.common import fields_of
from schemas.customers import Customer
from schemas.orders import OrderLine, Product

ABSENT: Any = type("Absent", (), {"__repr__": lambda _self: "(absent)"})()
CASELESS = {"email", "gender", "status", "currency"}
INSTANTS = {"dateOfBirth", "date"}
NUMBERS = {f.member for model in (Customer, OrderLine, Product) for f in fields_of(model) if f.numeric}  # (as sent)
SHOWN = 60


def matches(sent: Any, stored: Any) -> bool:
    """Every field sent is held with the same value (see the module docstring)."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(matches(v, stored.get(k)) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(stored, list) and len(sent) == len(stored) and all(map(matches, sent, stored))
    if isinstance(sent, bool) or isinstance(stored, bool):
        return sent is stored
    if isinstance(sent, (int, float)) and isinstance(stored, (int, float)):
        return math.isclose(sent, stored, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(sent, str) and isinstance(stored, str):
        return sent == stored or _same_instant(sent, stored)
    return bool(sent == stored)


def _same_instant(a: str, b: str) -> bool:
    try:
        first, second = (datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (a, b))
    except ValueError:
        return False
    if (first.tzinfo is None) != (second.tzinfo is None):
        return False
    return first == second


@dataclass(frozen=True)
class Difference:
    """One field whose value in the file is not what the platform holds."""

    field: str  # the input's column name
    in_file: Any
    in_platform: Any  # ABSENT when the platform holds no value
    where: str = ""  # e.g. "product p001" for a product's field

    def describe(self) -> str:
        at = f" of {self.where}" if self.where else ""
        return f"{self.field}{at}: file {_show(self.in_file)}, platform {_show(self.in_platform)}"


def customer_differences(sent: dict[str, Any], stored: dict[str, Any], types: Mapping[str, str]) -> list[Difference]:
    """Differences of a POST /customers record and GET /customers/... data; ``types``: attribute name → type."""
    found: list[Difference] = []
    for name, value in sent.items():
        if name == "customAttributes":
            found += _attributes(value, stored.get(name), "attr.", types)
        elif name == "consentsData":
            found += _consents(value.get("consents") or [], (stored.get(name) or {}).get("consents") or [])
        else:
            found += _field(name, value, stored.get(name, ABSENT))
    return found


def order_differences(
    sent: dict[str, Any], stored: dict[str, Any], order_types: Mapping[str, str], product_types: Mapping[str, str]
) -> list[Difference]:
    """Differences of a POST /orders record and GET /orders/{id} data."""
    found: list[Difference] = []
    for name, value in sent.items():
        if name == "customer":
            given = stored.get(name)
            held: dict[str, Any] = given if isinstance(given, dict) else {}
            for key, item in value.items():
                found += _field(f"customer.{key}", item, held.get(key, ABSENT), key)
        elif name == "orderAttributes":
            found += _attributes(value, stored.get(name), "attr.", order_types)
        elif name == "products":
            found += _products(value, stored.get(name) or [], product_types)
        else:
            found += _field(name, value, stored.get(name, ABSENT))
    return found


def _products(sent: list[dict[str, Any]], stored: list[Any], types: Mapping[str, str]) -> list[Difference]:
    def by_id(products: list[Any]) -> dict[tuple[str, int], dict[str, Any]]:
        seen: dict[str, int] = {}
        keyed = {}
        for product in products:
            if isinstance(product, dict):
                pid = str(product.get("id"))
                seen[pid] = seen.get(pid, 0) + 1
                keyed[(pid, seen[pid])] = product
        return keyed

    file_products, held_products = by_id(sent), by_id(stored)
    found: list[Difference] = []
    for key, product in file_products.items():
        where = f"product {key[0]}" + (f" (line {key[1]} of it)" if key[1] > 1 else "")
        held = held_products.get(key)
        if held is None:
            found.append(Difference("product.id", key[0], ABSENT, where))
            continue
        for name, value in product.items():
            if name == "productAttributes":
                found += [
                    Difference(d.field, d.in_file, d.in_platform, where)
                    for d in _attributes(value, held.get(name), "product.attr.", types)
                ]
            elif name != "id":
                found += [
                    Difference(d.field, d.in_file, d.in_platform, where)
                    for d in _field(f"product.{name}", value, held.get(name, ABSENT), name)
                ]
    found += [
        Difference("product.id", ABSENT, key[0], f"product {key[0]}")
        for key in held_products
        if key not in file_products
    ]
    return found


def _field(column: str, sent: Any, stored: Any, kind: str | None = None) -> list[Difference]:
    kind = kind or column
    if kind in NUMBERS:
        same = _numbers_equal(sent, stored)
    elif kind in INSTANTS:
        same = _instants_equal(sent, stored)
    elif kind in CASELESS:
        same = isinstance(stored, str) and str(sent).lower() == stored.lower()
    else:
        same = sent == stored
    return [] if same else [Difference(column, sent, stored)]


def _attributes(sent: list[dict[str, Any]], stored: Any, prefix: str, types: Mapping[str, str]) -> list[Difference]:
    held = {str(a.get("name")).lower(): a.get("value", ABSENT) for a in stored or [] if isinstance(a, dict)}
    typed = {name.lower(): kind.lower() for name, kind in types.items()}
    found = []
    for attribute in sent:
        name, value = attribute["name"], attribute.get("value")
        stored_value = held.get(name.lower(), ABSENT)
        if not _values_equal(typed.get(name.lower(), ""), value, stored_value):
            found.append(Difference(prefix + name, value, stored_value))
    return found


def _consents(sent: list[dict[str, Any]], stored: list[Any]) -> list[Difference]:
    held = {c.get("id"): c.get("value", ABSENT) for c in stored if isinstance(c, dict)}
    found = []
    for consent in sent:
        value = held.get(consent["id"], ABSENT)
        if not (isinstance(value, str) and value.lower() == str(consent["value"]).lower()):
            found.append(Difference(f"consent.{consent['id']}", consent["value"], value))
    return found


def _values_equal(kind: str, sent: Any, stored: Any) -> bool:
    if kind in ("number", "money"):
        return _numbers_equal(sent, stored)
    if kind == "datetime":
        return _instants_equal(sent, stored)
    if kind == "date":
        first, second = _day(sent), _day(stored)
        return first is not None and first == second
    if kind == "boolean":
        return isinstance(stored, str) and str(sent).lower() == stored.lower()
    return bool(sent == stored)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _numbers_equal(sent: Any, stored: Any) -> bool:
    first, second = _number(sent), _number(stored)
    return first is not None and second is not None and math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-9)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _instants_equal(sent: Any, stored: Any) -> bool:
    first, second = _instant(sent), _instant(stored)
    return first is not None and first == second


def _day(value: Any) -> date | None:
    instant = _instant(value)
    return instant.date() if instant is not None else None


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    text = value if isinstance(value, str) else repr(value)
    text = text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
    return f"'{text}'" if isinstance(value, str) else text
