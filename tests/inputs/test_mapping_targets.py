"""What a mapping of each kind builds is declared once, beside the schemas (``schemas/targets.py``): the
mapping, the presets, ``inspect --suggest`` and the field rules all read it."""

from __future__ import annotations

from importer.inputs import profile
from importer.inputs.presets import KINDS
from schemas.common import fields_of
from schemas.orders import OrderLine, Product
from schemas.targets import TARGETS


def test_inspect_suggests_only_fields_a_mapping_of_its_kind_builds() -> None:
    assert set(profile.TARGETS) == set(TARGETS) == set(KINDS)
    for kind, suggested in profile.TARGETS.items():
        unknown = {t.field for t in suggested} - TARGETS[kind].fields
        assert not unknown, f"{kind}: inspect --suggest names fields no {kind} mapping builds: {unknown}"


def test_field_rules_come_from_the_models_metadata() -> None:
    orders = TARGETS["orders"]
    assert orders.whole_numbers == {"websiteId", "product.quantity", "product.returned"}
    assert orders.max_lengths["product.name"] == 2048 and orders.max_lengths["customer.email"] == 320
    assert orders.fields == {f.name for model in (OrderLine, Product) for f in fields_of(model)}
    assert orders.record_level("date") and orders.record_level("customer.email")
    assert not orders.record_level("product.price") and not TARGETS["customers"].record_level("email")
    quantity = next(f for f in fields_of(Product) if f.name == "product.quantity")
    assert (quantity.member, quantity.parent, quantity.required, quantity.whole_number) == (
        "quantity",
        "product",
        True,
        (1, 2**31 - 1),
    )
