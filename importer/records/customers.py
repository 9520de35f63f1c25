"""Customers: from input columns to normalised, validated rows and JSON records for POST /customers.

Three steps, each a pure function over frames:

1. ``plan_columns`` maps the input's header to the API's fields (case-insensitive), ``attr.<name>``
   columns to custom attributes and ``consent.<id>`` columns to consents; it rejects the run (exit 2)
   when the matched field's column is missing or a column name cannot be sent, and lists the columns it
   will ignore.
2. ``normalise_rows`` applies the documented normalisation with polars expressions (see docs/input.md).
3. ``prepare`` validates against ``schemas.customers`` and, given the settings lists, against the
   platform's attribute and consent definitions (``importer.records.preflight``), drops repeated customers, and
   returns the records to send and the reasons for every rejected row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from importer.errors import InputError
from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    FILE_COL,
    JSON_COL,
    KEY_COL,
    RID_COL,
    ROW_COL,
    is_bookkeeping,
)
from importer.records import json_text, normalise
from importer.records.definitions import CUSTOMER_ATTRIBUTES, Lists
from importer.records.preflight import AttributeColumns, needed
from importer.records.preflight import check as preflight_check
from importer.records.url_paths import path_segment
from importer.records.validation import (
    Prepared,
    column_group_reasons,
    combine,
    pre_rejected,
    readable_rows,
    require_flat,
    schema_reasons,
)
from importer.settings import CustomerOptions
from schemas.common import INT32_MAX, INT32_MIN, text_value_schema
from schemas.customers import (
    ATTRIBUTE_NAME_MAX,
    CONSENT_VALUES,
    CUSTOMER_FIELDS,
    GENDERS,
    PATTERN_MEANINGS,
    consent_value_schema,
    customer_schema,
)

ATTR_PREFIX, CONSENT_PREFIX = "attr.", "consent."
MATCH_BY_NAMES = {"email": "Email", "phone": "PhoneNumber", "crmId": "CrmId", "visitorId": "VisitorId"}


@dataclass(frozen=True)
class CustomerColumns:
    """How this input's columns map to the API's customer fields."""

    rename: dict[str, str]  # input column -> canonical column (a field, attr.<name> or consent.<id>)
    attributes: dict[str, str] = field(default_factory=dict)  # canonical column -> attribute name
    consents: dict[str, int] = field(default_factory=dict)  # canonical column -> consent id
    ignored: list[str] = field(default_factory=list)  # unknown columns, warned about once


def plan_columns(columns: list[str], match_field: str) -> CustomerColumns:
    """Map input columns to customer fields; InputError when the input cannot be imported at all."""
    fields_by_lower = {name.lower(): name for name in CUSTOMER_FIELDS}
    rename: dict[str, str] = {}
    attributes: dict[str, str] = {}
    consents: dict[str, int] = {}
    ignored: list[str] = []
    for column in columns:
        lower = column.lower()
        if is_bookkeeping(column):
            continue
        if lower in fields_by_lower:
            rename[column] = fields_by_lower[lower]
        elif lower.startswith(ATTR_PREFIX):
            name = column[len(ATTR_PREFIX) :].strip()
            if not 1 <= len(name) <= ATTRIBUTE_NAME_MAX:
                raise InputError(
                    f"Column {column!r}: an attribute name must have 1 to {ATTRIBUTE_NAME_MAX} characters.",
                    "Name the column attr.<attribute name as defined in the platform>.",
                )
            rename[column] = ATTR_PREFIX + name
            attributes[ATTR_PREFIX + name] = name
        elif lower.startswith(CONSENT_PREFIX):
            consent_id = _consent_id(column)
            rename[column] = f"{CONSENT_PREFIX}{consent_id}"
            consents[f"{CONSENT_PREFIX}{consent_id}"] = consent_id
        else:
            ignored.append(column)
    _check_unique_targets(rename)
    if match_field not in rename.values():
        raise InputError(
            f"The input has no {match_field!r} column, which is required to match customers by "
            f"{MATCH_BY_NAMES[match_field]}.",
            f"Add a {match_field} column, or choose another --match-by.",
        )
    return CustomerColumns(rename, attributes, consents, ignored)


LOOKUP_PATHS = {"email": "/customers/email/", "phone": "/customers/phone/", "crmId": "/customers/crmId/"}


def lookup_path(match_field: str, record: dict[str, Any]) -> str | None:
    """Where the platform shows this customer (GET), or None: there is no GET by visitorId."""
    prefix = LOOKUP_PATHS.get(match_field)
    value = record.get(match_field)
    return prefix + path_segment(value) if prefix and value is not None else None


def _consent_id(column: str) -> int:
    text = column[len(CONSENT_PREFIX) :].strip()
    if not re.fullmatch(r"[+-]?\d+", text) or not INT32_MIN <= int(text) <= INT32_MAX:
        raise InputError(
            f"Column {column!r}: a consent column must be named consent.<id> with a whole-number id "
            "(a 32-bit integer).",
            "Use the consent ids listed in Settings > Consents (GET /customerconsents).",
        )
    return int(text)


def _check_unique_targets(rename: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for source, target in rename.items():
        if target in seen:
            raise InputError(
                f"Columns {seen[target]!r} and {source!r} both mean {target!r}.",
                "Keep one of them.",
            )
        seen[target] = source


def key_expression(columns: list[str], match_field: str) -> pl.Expr:
    """The matched field of a row as the platform will see it (normalised): rows of one customer share it.

    InputError when the input has no column for it (so a run stops before reading further)."""
    plan = plan_columns(columns, match_field)
    source = next(s for s, t in plan.rename.items() if t == match_field)
    value = normalise.blank_to_null(pl.col(source))
    return {"email": normalise.email, "phone": normalise.phone}.get(match_field, lambda e: e)(value)


def normalise_rows(frame: pl.DataFrame, columns: CustomerColumns) -> pl.DataFrame:
    """Canonical columns, normalised as documented; values it cannot interpret are left as written."""
    present = frame.select(RID_COL, *[pl.col(src).alias(dst) for src, dst in columns.rename.items()])
    missing = [pl.lit(None, dtype=pl.String).alias(f) for f in CUSTOMER_FIELDS if f not in present.columns]
    rows = (
        present.with_columns(missing)
        .with_columns(normalise.blank_to_null(pl.col(c)).alias(c) for c in present.columns if c != RID_COL)
        .with_columns(
            normalise.email(pl.col("email")),
            normalise.phone(pl.col("phone")),
            normalise.spelling(pl.col("gender"), GENDERS),
            *[normalise.spelling(pl.col(c), CONSENT_VALUES) for c in columns.consents],
        )
    )
    # Birth dates repeat (a few tens of thousands of days): each is parsed once.
    return normalise.per_value(rows, "dateOfBirth", normalise.api_datetimes)


def records(rows: pl.DataFrame, columns: CustomerColumns, match_field: str) -> pl.DataFrame:
    """The customer objects of POST /customers as JSON text (``_json``), leaving out absent fields;
    ``_key`` is the matched field. Each object is a typed struct encoded by polars in one pass, its
    absent members then cut from the text (``json_text.Absent``)."""
    absent = json_text.Absent()
    values = json_text.name_values(rows, RID_COL, columns.attributes, "customAttributes")
    values = json_text.name_values(values, RID_COL, columns.consents, "_consents", name="id")
    values = values.with_columns(
        pl.when(pl.col("_consents").is_not_null())
        .then(pl.struct(pl.col("_consents").alias("consents")))
        .alias("consentsData")
    )
    customer = pl.struct(absent.members(values, [*CUSTOMER_FIELDS, "customAttributes", "consentsData"]))
    return values.select(
        RID_COL, absent.cut(customer.struct.json_encode()).alias(JSON_COL), pl.col(match_field).alias(KEY_COL)
    )


def settings_lists(columns: list[str], match_field: str) -> list[str]:
    """The platform's settings lists ``prepare`` checks a frame with these columns against."""
    plan = plan_columns(columns, match_field)
    return needed([AttributeColumns(plan.attributes, CUSTOMER_ATTRIBUTES, "customer attribute")], plan.consents)


def prepare(frame: pl.DataFrame, options: CustomerOptions, lists: Lists | None = None) -> Prepared:
    """Validate and build every customer of ``frame`` (as read by ``importer.inputs.files``), its attribute
    values and consent ids checked against ``lists`` (the platform's settings lists; None: not checked)."""
    match_field = options.match_field
    columns = plan_columns(frame.columns, match_field)
    require_flat(frame, list(columns.rename))
    rows = normalise_rows(frame, columns)
    schema = customer_schema(match_field)
    required = {match_field: f"is required when matching customers by {MATCH_BY_NAMES[match_field]}"}
    checked = readable_rows(rows, frame)
    attributes = AttributeColumns(columns.attributes, CUSTOMER_ATTRIBUTES, "customer attribute")
    platform, warnings = preflight_check(checked, [attributes], columns.consents, lists)
    invalid = pl.concat(
        [
            pre_rejected(frame),
            schema_reasons(checked, schema, PATTERN_MEANINGS, required),
            column_group_reasons(checked, list(columns.attributes), text_value_schema(), PATTERN_MEANINGS),
            column_group_reasons(
                checked,
                list(columns.consents),
                consent_value_schema(options.allow_confirmation_emails),
                PATTERN_MEANINGS,
            ),
            platform,
        ]
    )
    valid = rows.join(invalid.select(RID_COL).unique(), on=RID_COL, how="anti")
    repeated = _repeated(valid.join(frame.select(RID_COL, FILE_COL, ROW_COL), on=RID_COL), match_field)
    valid = valid.join(repeated.select(RID_COL), on=RID_COL, how="anti")
    return Prepared(
        records(valid, columns, match_field), combine([invalid, repeated]), ignored=columns.ignored, warnings=warnings
    )


def _repeated(rows: pl.DataFrame, match_field: str) -> pl.DataFrame:
    """Rows that repeat an earlier row's matched value: only the first of each customer is sent."""
    key = pl.col(match_field)
    return (
        rows.sort(RID_COL)
        .with_columns(
            pl.col(ROW_COL).first().over(key).alias("_first_row"),
            pl.col(FILE_COL).first().over(key).alias("_first_file"),
        )
        .filter(~key.is_first_distinct())
        .select(
            RID_COL,
            pl.lit(match_field).alias(FIELD_COL),
            pl.format(
                "{}: the same {} as row {} of {}; only the first row of a customer is imported",
                pl.lit(match_field),
                pl.lit(match_field),
                pl.col("_first_row"),
                pl.col("_first_file"),
            ).alias(ERROR_COL),
        )
    )
