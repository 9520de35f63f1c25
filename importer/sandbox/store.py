"""The sandbox's SQLite store of customers, orders and custom events, and the semantics of the request modes.

`Store(None)` keeps everything in memory; `Store(path)` keeps it in a SQLite file (WAL mode) that
survives a restart. One connection serves all threads, guarded by a lock.

Customers get an integer id on insert and are found through indexes on email (compared without
regard to letter case), phone, crmId and visitorId; each is stored as one JSON document. Orders are
keyed by their id, stored as the JSON document that was sent (status lower-cased), with a deleted flag.

`save_customers` and `save_orders` apply a whole validated request in ONE transaction: every item
is checked against the mode (Add of an existing record, Update/Replace of a missing one) and, if any
item fails, the transaction is rolled back, so a rejected request stores nothing. Within a request an
earlier item counts as existing for a later one.

Custom events are kept as they were received (the JSON document sent, fields given as null left out), in
the order they arrived, each once per request that stored it: the platform triggers one per request, so a
resent event is a second one. `custom_events` lists them for tests (the API has no read-back).

This module trusts its input: bodies must have passed `rules` first. It knows nothing of HTTP.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY,
    email_key TEXT,
    phone TEXT,
    crm_id TEXT,
    visitor_id TEXT,
    document BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_by_email ON customers (email_key);
CREATE INDEX IF NOT EXISTS customers_by_phone ON customers (phone);
CREATE INDEX IF NOT EXISTS customers_by_crm_id ON customers (crm_id);
CREATE INDEX IF NOT EXISTS customers_by_visitor_id ON customers (visitor_id);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    deleted INTEGER NOT NULL DEFAULT 0,
    document BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS custom_events (
    seq INTEGER PRIMARY KEY,
    document BLOB NOT NULL
);
"""

KEY_COLUMNS: Mapping[str, str] = {"email": "email_key", "phone": "phone", "crmId": "crm_id", "visitorId": "visitor_id"}
"""Customer field → the indexed column that finds a customer by it."""

Document = dict[str, Any]


@dataclass(frozen=True)
class StoreCounts:
    customers: int
    orders: int
    deleted_orders: int
    custom_events: int = 0

    def as_json(self) -> dict[str, int]:
        return {
            "customers": self.customers,
            "orders": self.orders,
            "deletedOrders": self.deleted_orders,
            "customEvents": self.custom_events,
        }


def _key(field: str, value: Any) -> str | None:
    """The indexed form of an identifier: e-mail addresses ignore letter case; empty means none."""
    if not isinstance(value, str) or not value:
        return None
    return value.lower() if field == "email" else value


def _customer_document(customer: Mapping[str, Any]) -> Document:
    """What is kept of a sent customer: the fields given (null means not given) and only the consents
    of consentsData (force and confirmationMessageId are instructions for this request)."""
    document = {name: value for name, value in customer.items() if value is not None}
    if "consentsData" in document:
        document["consentsData"] = {"consents": document["consentsData"].get("consents") or []}
    return document


def _merge_by(stored: Iterable[Document], given: Iterable[Document], key: str) -> list[Document]:
    merged = {entry[key]: entry for entry in stored}
    merged.update((entry[key], entry) for entry in given)
    return list(merged.values())


def merge_customer(stored: Document, update: Document) -> Document:
    """Update semantics: given fields replace stored ones; attributes merge by name, consents by id."""
    merged = {**stored, **update}
    if "customAttributes" in stored and "customAttributes" in update:
        merged["customAttributes"] = _merge_by(stored["customAttributes"], update["customAttributes"], "name")
    if "consentsData" in stored and "consentsData" in update:
        consents = _merge_by(stored["consentsData"]["consents"], update["consentsData"]["consents"], "id")
        merged["consentsData"] = {"consents": consents}
    return merged


class Store:
    """Customers, orders and custom events of one sandbox business unit. Thread-safe."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def reset(self) -> None:
        """Forget every customer, order and custom event (for tests)."""
        with self._lock:
            self._db.executescript(
                "BEGIN; DELETE FROM customers; DELETE FROM orders; DELETE FROM custom_events; COMMIT;"
            )

    def counts(self) -> StoreCounts:
        with self._lock:
            (customers,) = self._db.execute("SELECT COUNT(*) FROM customers").fetchone()
            orders, deleted = self._db.execute(
                "SELECT COUNT(*) - COALESCE(SUM(deleted), 0), COALESCE(SUM(deleted), 0) FROM orders"
            ).fetchone()
            (events,) = self._db.execute("SELECT COUNT(*) FROM custom_events").fetchone()
        return StoreCounts(customers=customers, orders=orders, deleted_orders=deleted, custom_events=events)

    def _atomically(self, work: Callable[[], list[str]]) -> list[str]:
        """Run `work` in one transaction; commit only if it reports no errors."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                errors = work()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("ROLLBACK" if errors else "COMMIT")
            return errors

    # -- customers --------------------------------------------------------------------------------

    def save_customers(self, mode: str, match_field: str, customers: Iterable[Mapping[str, Any]]) -> list[str]:
        """Apply a POST /customers request (mode Add, Update or AddOrUpdate, matching on `match_field`).

        Returns the errors of the items the mode rejects; if there are any, nothing was stored.
        """

        def work() -> list[str]:
            outcomes = (
                self._save_customer(index, mode, match_field, customer) for index, customer in enumerate(customers)
            )
            return [error for error in outcomes if error]

        return self._atomically(work)

    def _save_customer(self, index: int, mode: str, match_field: str, customer: Mapping[str, Any]) -> str | None:
        document = _customer_document(customer)
        found = self._find_customer(match_field, document[match_field])
        if found is None:
            if mode == "Update":
                return f"data[{index}].{match_field}: No customer with this {match_field} exists."
            self._write_customer(None, document)
        else:
            if mode == "Add":
                return f"data[{index}].{match_field}: A customer with this {match_field} already exists."
            customer_id, stored = found
            self._write_customer(customer_id, merge_customer(stored, document))
        return None

    def _find_customer(self, field: str, value: Any) -> tuple[int, Document] | None:
        key = _key(field, value)
        if key is None:
            return None
        row = self._db.execute(
            f"SELECT id, document FROM customers WHERE {KEY_COLUMNS[field]} = ? ORDER BY id LIMIT 1", (key,)
        ).fetchone()
        return None if row is None else (row[0], orjson.loads(row[1]))

    def _write_customer(self, customer_id: int | None, document: Document) -> None:
        keys = [_key(field, document.get(field)) for field in KEY_COLUMNS]
        self._db.execute(
            "INSERT INTO customers (id, email_key, phone, crm_id, visitor_id, document) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET email_key = excluded.email_key, phone = excluded.phone,"
            " crm_id = excluded.crm_id, visitor_id = excluded.visitor_id, document = excluded.document",
            (customer_id, *keys, orjson.dumps(document)),
        )

    def customer_by_id(self, customer_id: int) -> Document | None:
        """The stored customer with its `id` first, or None."""
        with self._lock:
            row = self._db.execute("SELECT document FROM customers WHERE id = ?", (customer_id,)).fetchone()
        return None if row is None else {"id": customer_id, **orjson.loads(row[0])}

    def customer_by(self, field: str, value: str) -> Document | None:
        """The stored customer whose `field` (email, phone, crmId or visitorId) is `value`, or None.

        If several customers share a non-matching identifier, the oldest one is returned.
        """
        with self._lock:
            found = self._find_customer(field, value)
        return None if found is None else {"id": found[0], **found[1]}

    # -- orders -----------------------------------------------------------------------------------

    def save_orders(self, mode: str, orders: Iterable[Mapping[str, Any]]) -> list[str]:
        """Apply a POST /orders request (mode Add, AddOrReplace or Replace); order ids must be unique in it.

        Add accepts an order that was deleted; Replace and AddOrReplace store the new document whole
        and un-delete it. Returns the errors of the items the mode rejects; if any, nothing was stored.
        """

        def work() -> list[str]:
            outcomes = (self._save_order(index, mode, order) for index, order in enumerate(orders))
            return [error for error in outcomes if error]

        return self._atomically(work)

    def _save_order(self, index: int, mode: str, order: Mapping[str, Any]) -> str | None:
        row = self._db.execute("SELECT deleted FROM orders WHERE id = ?", (order["id"],)).fetchone()
        if mode == "Add" and row is not None and not row[0]:
            return f"data[{index}].id: An order with this id already exists."
        if mode == "Replace" and row is None:
            return f"data[{index}].id: No order with this id exists."
        document = dict(order)
        if isinstance(document.get("status"), str):
            document["status"] = document["status"].lower()
        self._db.execute(
            "INSERT INTO orders (id, deleted, document) VALUES (?, 0, ?)"
            " ON CONFLICT (id) DO UPDATE SET deleted = 0, document = excluded.document",
            (order["id"], orjson.dumps(document)),
        )
        return None

    def order(self, order_id: str) -> Document | None:
        """The stored order, or None if it is missing or deleted."""
        with self._lock:
            row = self._db.execute("SELECT document FROM orders WHERE id = ? AND deleted = 0", (order_id,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def delete_order(self, order_id: str) -> Document | None:
        """Mark the order deleted and return it, or None if it is missing or already deleted."""
        with self._lock:
            row = self._db.execute(
                "UPDATE orders SET deleted = 1 WHERE id = ? AND deleted = 0 RETURNING document", (order_id,)
            ).fetchone()
        return None if row is None else orjson.loads(row[0])

    def set_order_status(self, order_id: str, status: str) -> Document | None:
        """Set the status (lower-cased) of a stored order and return the order, or None if it is missing."""
        with self._lock:
            row = self._db.execute("SELECT document FROM orders WHERE id = ? AND deleted = 0", (order_id,)).fetchone()
            if row is None:
                return None
            document = {**orjson.loads(row[0]), "status": status.lower()}
            self._db.execute("UPDATE orders SET document = ? WHERE id = ?", (orjson.dumps(document), order_id))
        return document

    # -- custom events ----------------------------------------------------------------------------

    def save_custom_event(self, event: Mapping[str, Any]) -> None:
        """Keep a POST /scenariocustomevents body (valid by `rules`) as one more event received."""
        document = {name: value for name, value in event.items() if value is not None}
        with self._lock:
            self._db.execute("INSERT INTO custom_events (document) VALUES (?)", (orjson.dumps(document),))

    def custom_events(self, *, after: int = 0, limit: int | None = None) -> list[Document]:
        """The custom events received, oldest first, from the ``after``-th on (0: the first), at most ``limit``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT document FROM custom_events ORDER BY seq LIMIT ? OFFSET ?",
                (-1 if limit is None else limit, after),
            ).fetchall()
        return [orjson.loads(row[0]) for row in rows]
