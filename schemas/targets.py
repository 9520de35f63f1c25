"""What a mapping file of each ``kind`` may build: its fields (the schema models' own), the per-run fields
(attributes, consents), the ``[attributes]`` levels, the fields that identify a record, and whether a record
is several lines (orders: a line's own fields are its product's, the others the order's, alike on every line).

Declarations read by ``importer.inputs.mapping``; the field rules (whole numbers, maximum lengths) come from
the models' metadata (``schemas.common.fields_of``), never from a list of names.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import pandera.polars as pa

from schemas.common import FieldRules, fields_of
from schemas.customers import Customer
from schemas.events import IDENTIFIERS, Event
from schemas.orders import OrderLine, Product


@dataclass(frozen=True)
class MappingTarget:
    """The fields a mapping of one kind builds, and how they relate to its records."""

    kind: str  # the mapping's ``kind``: "customers", "orders"
    models: tuple[type[pa.DataFrameModel], ...]  # the schema models whose fields a mapping may build
    dynamic: tuple[str, ...]  # prefixes of fields named per run: "attr.", "consent."
    attributes: Mapping[str, str]  # [attributes] level -> the prefix of its fields
    identifiers: tuple[str, ...]  # a mapping builds one of them: a record is known by it
    record: str  # what a record is, for messages: "a customer", "an order"
    line_prefix: str | None = None  # a record of several lines: the prefix of a line's own fields ("product.")

    @property
    def rules(self) -> tuple[FieldRules, ...]:
        return tuple(f for model in self.models for f in fields_of(model))

    @property
    def fields(self) -> frozenset[str]:
        return _names(self.models)

    @property
    def whole_numbers(self) -> frozenset[str]:
        """The fields of whole numbers ("2.0000" is 2 for them)."""
        return frozenset(f.name for f in self.rules if f.whole_number is not None)

    @property
    def max_lengths(self) -> dict[str, int]:
        """Field -> its maximum length (UTF-16 code units)."""
        return {f.name: f.max_length for f in self.rules if f.max_length is not None}

    def record_level(self, field: str) -> bool:
        """A field of a record of several lines that each line writes alike (an order's date), not a line's own."""
        return self.line_prefix is not None and not field.startswith(self.line_prefix)


@functools.cache
def _names(models: tuple[type[pa.DataFrameModel], ...]) -> frozenset[str]:
    return frozenset(f.name for model in models for f in fields_of(model))


CUSTOMERS = MappingTarget(
    "customers", (Customer,), ("attr.", "consent."), {"customer": "attr."}, ("crmId", "email", "phone"), "a customer"
)
ORDERS = MappingTarget(
    "orders",
    (OrderLine, Product),
    ("attr.", "product.attr."),
    {"order": "attr.", "product": "product.attr."},
    ("id",),
    "an order",
    line_prefix="product.",
)
EVENTS = MappingTarget("events", (Event,), ("data.",), {"event": "data."}, IDENTIFIERS, "an event")
TARGETS: Mapping[str, MappingTarget] = {target.kind: target for target in (CUSTOMERS, ORDERS, EVENTS)}
