"""What a resource is: the declaration type every resource module fills in, and its binding to a run's options.

A ``Resource`` is data plus a few small functions: the endpoint, the pandera schemas, how records are keyed
(the journal's ``kind``) and sent (bulk chunks in an envelope, or one record per request), how a record is
read back (verify) and undone, whether sending it twice is harmless, how the report names it and which
options its summary shows. ``Resource.bind(options)`` is what an import run holds: the same knowledge with
the run's options filled in (``Binding``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pandera.polars as pa
import polars as pl

from importer.delivery.at_most_once import AtMostOnce
from importer.records.comparison import Difference
from importer.records.definitions import Lists
from importer.records.validation import Prepared

Lookup = Callable[[dict[str, Any]], str | None]  # a sent record -> the GET path that reads it back (None: cannot)
Compare = Callable[[dict[str, Any], dict[str, Any], Lists], list[Difference]]  # sent, stored, settings lists


class Sending(Enum):
    """How records travel: chunks of records in one request's envelope, or one record per request."""

    BULK = "bulk"
    SINGLE = "single"


class Undo(Enum):
    """What ``undo`` can do with a run of this resource."""

    DELETE_BY_ID = "delete by id"  # the records the run created are deleted (``undone_by``: the deleting resource)
    LIST_ONLY = "list only"  # the API has no delete: the keys the run sent are listed
    NOT_AT_ALL = "not at all"  # not an import: nothing of it is recorded to undo


@dataclass(frozen=True)
class Naming:
    """How the console and the report name the resource."""

    singular: str  # "customer", "order"
    plural: str  # "customers", "orders"
    rows: str = "rows"  # what a row of the input is: "rows", "order lines"

    def count(self, n: int) -> str:
        """``n`` records, singular or plural: "1 order", "3 orders"."""
        return f"{n} {self.singular if n == 1 else self.plural}"


@dataclass(frozen=True)
class Binding:
    """A resource with one run's options filled in: what ``importer.jobs.imports`` runs."""

    resource: Resource
    kind: str  # what a record key means, for the journal: "orders", or "customers:<match field>"
    envelope: dict[str, str]  # the request's members beside the records (bulk resources)
    prepare: Callable[[pl.DataFrame, Lists | None], Prepared]  # a partition, the settings lists it is checked against
    settings_lists: Callable[[pl.DataFrame], list[str]]  # which lists ``prepare`` checks this partition against
    key: Callable[[list[str]], pl.Expr]  # a record's key from a batch's columns (rows of one record share it)
    options: dict[str, Any]  # as shown in the summary (and recorded in the journal)
    lookup: Lookup | None = None  # GET path of a sent record, to verify ambiguous "already exists"
    compare: Compare | None = None  # sent against stored, for verify
    key_name: str = "key"  # what a key is, for warnings: "order id", "customer email"
    cannot_verify: tuple[str, str] | None = None  # (message, hint) when verify cannot read these records back
    at_most_once: AtMostOnce | None = None  # not idempotent: each record journaled and sent at most once

    @property
    def command(self) -> str:
        return self.resource.command

    @property
    def path(self) -> str:
        return self.resource.path

    @property
    def may_create(self) -> bool:
        """The run's mode can create records (``Replace`` and ``Update`` change existing ones only)."""
        return self.options.get("mode") not in ("Replace", "Update")


@dataclass(frozen=True)
class Resource:
    """One endpoint of the platform this tool writes to, as data (one module of ``importer.resources`` each)."""

    name: str  # the resource: "customers", "orders", "order statuses", "order deletions"
    command: str  # the command that runs it, also the journal's and the summary's ``command``
    method: str  # the endpoint: "POST"
    path: str  # "/customers", "/orders/{id}"
    schemas: tuple[type[pa.DataFrameModel], ...]  # the pandera models its rows and records are checked against
    sending: Sending
    naming: Naming
    idempotent: bool  # sending a record twice leaves the platform as once (resume and retry may resend)
    verifiable: bool = False  # ``verify`` reads its records back (the binding's ``lookup``) and compares them
    undo: Undo = Undo.NOT_AT_ALL
    undone_by: str | None = None  # Undo.DELETE_BY_ID: the command whose requests delete a record by its key
    journal_kind: str | None = None  # the prefix of the journal's ``kind`` of its records (None: not journaled)
    summary_options: tuple[str, ...] = ()  # the options its summary shows: "mode", "match_by", ...
    line_conflicts: bool = False  # a record of several rows whose record-level cells may disagree (order lines):
    #                               the mapping's ``conflict`` settings apply, the summary counts the values taken
    items: bool = False  # its records' lines may come in files of their own (``--items``), joined on the key
    done: str = "accepted"  # what an accepted record is, for the summary: "updated", "deleted"
    columns: tuple[str, ...] = ()  # the input columns of a bulk operation (order-status: "id", "status")
    key_in_path: bool = False  # the record's key is sent in the URL path (else in the body)
    not_found_apart: bool = False  # a record the platform does not hold is counted apart (not found), not failed
    options_type: type | None = None  # the options of an import (CustomerOptions, OrderOptions)
    binder: Callable[[Any], Binding] | None = None  # options -> the binding (imports)
    options_of: Callable[[Mapping[str, Any]], Any] | None = None  # the journal's recorded options -> options
    extra: Mapping[str, Any] = field(default_factory=dict)  # what one resource alone needs

    @property
    def is_import(self) -> bool:
        """An import: rows become records through a mapping, a journal and a binding."""
        return self.binder is not None

    def options(self, given: Any = None) -> Any:
        """``given`` when it is this resource's options, else its defaults."""
        if self.options_type is None:
            return None
        return given if isinstance(given, self.options_type) else self.options_type()

    def bind(self, options: Any) -> Binding:
        """The resource with a run's options filled in."""
        if self.binder is None:
            raise TypeError(f"{self.name} is not an import: it has no binding")
        return self.binder(self.options(options))

    def recorded_options(self, recorded: Mapping[str, Any]) -> Any:
        """The options a run recorded in the journal, as this resource's options (``retry``)."""
        if self.options_of is None:
            raise TypeError(f"{self.name} is not an import: it records no options")
        return self.options_of(recorded)
