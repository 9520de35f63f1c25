"""Customers: ``POST /customers``, chunks of up to 100 records matched by the business unit's identification field.

Keyed in the journal by the match field (``customers:email``); read back by ``GET /customers/{field}/{value}``
(not by visitorId); the API has no delete, so ``undo`` lists what a run sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from importer.records import customers
from importer.records.comparison import customer_differences
from importer.records.definitions import CUSTOMER_ATTRIBUTES, Lists, types_of
from importer.resources.declaration import Binding, Naming, Resource, Sending, Undo
from importer.settings import CustomerOptions
from schemas.customers import Customer


def bind(options: CustomerOptions) -> Binding:
    """Customers with a run's options: matched by ``options.match_by`` (GUID refused here, before any file is read)."""
    match_field = options.match_field

    def compare(sent: dict[str, Any], stored: dict[str, Any], lists: Lists) -> list[Any]:
        return customer_differences(sent, stored, types_of(lists, CUSTOMER_ATTRIBUTES))

    cannot = None
    if match_field not in customers.LOOKUP_PATHS:
        cannot = (
            f"Customers matched by {options.match_by} cannot be read back: the API has no GET by {match_field}.",
            "Verify with --match-by Email, PhoneNumber or CrmId.",
        )
    return Binding(
        resource=CUSTOMERS,
        kind=f"customers:{match_field}",
        envelope={"mode": options.mode, "matchBy": options.match_by},
        prepare=lambda frame, lists: customers.prepare(frame, options, lists),
        settings_lists=lambda frame: customers.settings_lists(frame.columns, match_field),
        key=lambda columns: customers.key_expression(columns, match_field),
        options={"mode": options.mode, "match_by": options.match_by},
        lookup=lambda record: customers.lookup_path(match_field, record),
        compare=compare,
        key_name=f"customer {match_field}",
        cannot_verify=cannot,
    )


def recorded(options: Mapping[str, Any]) -> CustomerOptions:
    """The options a customers run recorded in the journal."""
    return CustomerOptions(mode=options["mode"], match_by=options["match_by"])


CUSTOMERS = Resource(
    name="customers",
    command="customers",
    method="POST",
    path="/customers",
    schemas=(Customer,),
    sending=Sending.BULK,
    naming=Naming("customer", "customers"),
    idempotent=True,  # matched by a field: sending one twice updates it to the same values
    verifiable=True,
    undo=Undo.LIST_ONLY,
    journal_kind="customers",
    summary_options=("mode", "match_by"),
    options_type=CustomerOptions,
    binder=bind,
    options_of=recorded,
)
