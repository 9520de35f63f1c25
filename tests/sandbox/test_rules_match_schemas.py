"""The sandbox's rules and the importer's schemas cannot disagree: for every resource, the fields of each
request object the sandbox checks and the fields the pandera models declare are the same, with the same
limits (required, maximum length, documented values, whole-number ranges, numbers).

The sandbox is a second opinion written apart from the importer (it imports none of it); this test is the
one place both are read. Adding a resource is one ``Pair`` in ``PAIRS``. A difference both sides mean to
keep is listed in ``KNOWN`` with its reason, and a listed difference that no longer is one fails too.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import pytest

from importer.sandbox import custom_event_rules, rules
from schemas.common import fields_of
from schemas.customers import Customer
from schemas.operations import OrderStatusRow
from schemas.orders import Order, OrderLine, Product

#: Members the records build from per-run columns (attributes, consents) or from other objects: no schema
#: field stands for them, and the sandbox checks them as objects of their own.
NESTED = frozenset(
    {"customAttributes", "consentsData", "customer", "products", "orderAttributes", "productAttributes", "dataFields"}
)


@dataclass(frozen=True)
class Limits:
    """What one side says of a field."""

    required: bool = False
    max_length: int | None = None
    values: frozenset[str] | None = None
    whole_number: tuple[int, int] | None = None
    number: bool = False


@dataclass(frozen=True)
class Pair:
    """A request object the sandbox checks, and the schema models (fields of one ``parent``) it is sent from."""

    name: str
    sandbox: rules.Schema
    models: tuple[type[pa.DataFrameModel], ...]
    parent: str = ""  # the models' fields of this object: "" (the record's own), "customer", "product"
    members: Mapping[str, str] = field(default_factory=dict)  # schema field -> the body's member, where renamed


PAIRS = [
    Pair("customer", rules.CUSTOMER, (Customer,)),
    Pair("order", rules.ORDER, (OrderLine, Order)),
    Pair("order's customer", rules.ORDER_CUSTOMER, (OrderLine,), parent="customer"),
    Pair("product", rules.PRODUCT, (Product,), parent="product"),
    Pair(
        "order status", rules.ORDER_STATUS_CHANGE, (OrderStatusRow,), members={"id": "orderId", "status": "orderStatus"}
    ),
]
if importlib.util.find_spec("schemas.events") is not None:  # custom events: their schema comes with their import
    _events = importlib.import_module("schemas.events")
    _models = tuple(
        m
        for m in vars(_events).values()
        if isinstance(m, type)
        and issubclass(m, pa.DataFrameModel)
        and m is not pa.DataFrameModel
        and m.__module__ == _events.__name__
    )
    PAIRS.append(Pair("custom event", custom_event_rules.CUSTOM_EVENT, _models))

#: (pair, member) -> why the two sides differ on purpose.
KNOWN = {
    ("order", "currency"): "the schema says 3 capital letters by a pattern (ISO 4217), the sandbox a string of "
    "exactly 3 characters",
    ("order status", "orderId"): "the vendor's page gives no maximum for PUT /orders/status; the importer refuses an "
    "id longer than any order can have (128, POST /orders)",
}


def sandbox_limits(pair: Pair) -> dict[str, Limits]:
    """The sandbox's rules of the pair's object, by member (nested objects left out)."""
    return {
        name: _sandbox_rule(check, name in pair.sandbox.required)
        for name, check in pair.sandbox.fields.items()
        if name not in NESTED
    }


def _sandbox_rule(check: Any, required: bool) -> Limits:
    if isinstance(check, rules.String):
        return Limits(required, max_length=check.max_length)
    if isinstance(check, rules.OneOf):
        return Limits(required, values=frozenset(check.choices))
    if isinstance(check, rules.Integer):
        return Limits(required, whole_number=(check.minimum, check.maximum))
    if check is rules.number:
        return Limits(required, number=True)
    if check is rules.time_zone:
        return Limits(required, max_length=rules.TIME_ZONE_MAX)
    return Limits(required)  # (date_time, boolean: a shape, no limit both sides state)


def schema_limits(pair: Pair) -> dict[str, Limits]:
    """The schema models' fields of the pair's object, by the member they are sent as; a field several models
    declare is required when any of them requires it, and takes the limits any of them states."""
    found: dict[str, Limits] = {}
    for model in pair.models:
        for rules_ in fields_of(model):
            if rules_.parent != pair.parent:
                continue
            member = pair.members.get(rules_.member, rules_.member)
            before = found.get(member, Limits())
            found[member] = Limits(
                required=before.required or rules_.required,
                max_length=before.max_length or rules_.max_length,
                values=before.values or (frozenset(rules_.values) if rules_.values else None),
                whole_number=before.whole_number or rules_.whole_number,
                number=before.number or rules_.number,
            )
    return found


def differences(pair: Pair) -> dict[str, tuple[Limits | None, Limits | None]]:
    """Member -> (sandbox, schema) where they differ; None: that side has no such field."""
    sandbox, schema = sandbox_limits(pair), schema_limits(pair)
    return {
        name: (sandbox.get(name), schema.get(name))
        for name in sorted(sandbox.keys() | schema.keys())
        if sandbox.get(name) != schema.get(name)
    }


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_the_sandbox_and_the_schemas_have_the_same_fields_and_limits(pair: Pair) -> None:
    found = {name: sides for name, sides in differences(pair).items() if (pair.name, name) not in KNOWN}
    assert not found, f"{pair.name}: the sandbox's rules and the schemas differ (sandbox, schema): {found}"


@pytest.mark.parametrize("pair, name", list(KNOWN), ids=[f"{p}.{n}" for p, n in KNOWN])
def test_a_known_difference_is_still_one(pair: str, name: str) -> None:
    (declared,) = [p for p in PAIRS if p.name == pair]
    assert name in differences(declared), f"{pair}.{name} no longer differs: take it out of KNOWN"


def test_the_comparison_sees_a_change_on_either_side() -> None:
    """A limit changed on one side is a difference (so the test above fails when the two drift apart)."""
    pair = PAIRS[0]
    changed = rules.Schema({**pair.sandbox.fields, "firstName": rules.string(max_length=255)}, pair.sandbox.required)
    assert "firstName" in differences(Pair(pair.name, changed, pair.models))
    added = rules.Schema({**pair.sandbox.fields, "middleName": rules.string(max_length=256)}, pair.sandbox.required)
    assert differences(Pair(pair.name, added, pair.models)) == {"middleName": (Limits(max_length=256), None)}
    required = rules.Schema(pair.sandbox.fields, pair.sandbox.required | {"email"})
    assert "email" in differences(Pair(pair.name, required, pair.models))
    assert differences(pair) == {}
