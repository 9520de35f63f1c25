"""The resource registry: every resource is found by its command and its name, declares what the jobs ask of
it, and no module outside the registry asks "customers or orders?" by comparing strings."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from importer.errors import UsageError
from importer.resources import IMPORTS, RESOURCES, Sending, Undo, find, resource
from importer.settings import CustomerOptions, OrderOptions

IMPORTER = Path(__file__).resolve().parents[2] / "importer"


def test_every_resource_is_found_by_its_command_and_its_name() -> None:
    assert [r.command for r in RESOURCES][:4] == ["customers", "orders", "order-status", "delete-orders"]
    for declared in RESOURCES:
        assert resource(declared.command) is declared
        assert resource(declared.name) is declared
    assert find("verify") is None and find("undo") is None
    with pytest.raises(UsageError, match="no resource"):
        resource("invoices")


def test_the_declarations_say_what_the_jobs_ask() -> None:
    customers, orders = resource("customers"), resource("orders")
    assert (customers.method, customers.path, customers.sending) == ("POST", "/customers", Sending.BULK)
    assert (orders.undo, orders.undone_by, customers.undo) == (Undo.DELETE_BY_ID, "delete-orders", Undo.LIST_ONLY)
    assert resource(orders.undone_by or "").key_in_path
    assert orders.naming.rows == "order lines" and customers.naming.rows == "rows"
    assert orders.naming.count(1) == "1 order" and orders.naming.count(3) == "3 orders"
    assert [r.command for r in IMPORTS][:2] == ["customers", "orders"]
    for declared in RESOURCES:
        assert declared.schemas, declared.name
        assert (declared.journal_kind is not None) == declared.is_import
    for command in ("customers", "orders", "order-status", "delete-orders"):
        assert resource(command).idempotent, command
    assert resource("order-status").sending is resource("delete-orders").sending is Sending.SINGLE


def test_a_binding_fills_in_the_run_options() -> None:
    bound = resource("customers").bind(CustomerOptions(mode="Add", match_by="CrmId"))
    assert bound.kind == "customers:crmId"
    assert bound.envelope == {"mode": "Add", "matchBy": "CrmId"}
    assert bound.lookup is not None and bound.lookup({"crmId": "c 1"}) == "/customers/crmId/c%201"
    assert set(bound.resource.summary_options) == set(bound.options)
    assert bound.may_create
    orders = resource("orders").bind(OrderOptions(mode="Replace"))
    assert (orders.kind, orders.may_create, orders.key_name) == ("orders", False, "order id")
    assert set(orders.resource.summary_options) == set(orders.options)
    with pytest.raises(UsageError, match="GUID"):
        resource("customers").bind(CustomerOptions(match_by="GUID"))
    with pytest.raises(TypeError):
        resource("delete-orders").bind(None)


def test_a_journals_options_come_back_as_the_resources_options() -> None:
    for declared in IMPORTS:
        assert declared.options_type is not None
        options = declared.options_type()
        recorded = {name: getattr(options, name) for name in (f.name for f in fields(options))}
        assert declared.recorded_options(recorded) == options
    verify = resource("customers").bind(CustomerOptions(match_by="VisitorId"))
    assert verify.cannot_verify is not None and "VisitorId" in verify.cannot_verify[0]


RESOURCE_STRINGS = re.compile(
    r'(==|!=|\bin)\s*\(?\s*"(customers|orders|order-status|delete-orders)"'
    r'|"(customers|orders|order-status|delete-orders)"\s*(==|!=)'
)


def test_no_module_compares_resource_names_outside_the_registry() -> None:
    """Which resource a run is about is asked of its declaration, never by comparing its command."""
    found = [
        f"{path.relative_to(IMPORTER)}:{number}: {line.strip()}"
        for path in sorted(IMPORTER.rglob("*.py"))
        if not path.is_relative_to(IMPORTER / "resources")
        and not path.is_relative_to(IMPORTER / "sandbox")  # (the sandbox is the platform: it has its own)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if RESOURCE_STRINGS.search(line)
    ]
    assert not found, found
