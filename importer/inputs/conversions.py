"""A mapping field's conversions: value maps, number formats, and dates with formats and time zones.

Each takes the field's polars expression (text) and gives the converted one; a value it cannot convert
is left as written, so validation rejects its row with that value (``importer.inputs.mapping``).
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from importer.records import normalise

NAIVE_FORMAT = "%Y-%m-%dT%H:%M:%S%.3f"  # a clock time without a zone, for the resource to place
DAYFIRST = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
)


def value_map(target: str, expr: pl.Expr, table: dict[str, Any], default: str) -> tuple[pl.Expr, pl.Expr | None]:
    lookup = {str(k).strip().lower(): str(v) for k, v in table.items()}
    key = expr.str.to_lowercase()
    known = key.is_in(list(lookup))
    mapped = key.replace_strict(lookup, default=None, return_dtype=pl.String)
    if default == "keep":
        result = pl.when(known).then(mapped).otherwise(expr)
    elif default == "reject":  # the row is rejected with the mapping's reason; the value is not sent
        result = pl.when(known).then(mapped)
    else:
        result = pl.when(known).then(mapped).when(expr.is_not_null()).then(pl.lit(str(default)))
    reject = None
    if default == "reject":
        reject = pl.when(expr.is_not_null() & ~known).then(
            pl.format("{}: '{}' is not in the mapping's value map", pl.lit(target), expr)
        )
    return result, reject


def number(expr: pl.Expr, spec: dict[str, Any], whole: bool = False) -> pl.Expr:
    """Currency symbols and spaces dropped, thousands separators removed, decimal point made '.'.

    ``whole`` (a whole-number field): a fraction of zeros is dropped, "2.0000" → "2"; "1.5" stays and is rejected.
    """
    text = expr.str.replace_all(r"[^\d,.\-+eE']", "")
    if spec.get("thousands"):
        text = text.str.replace_all(re.escape(str(spec["thousands"])), "", literal=False)
    decimal = str(spec.get("decimal", "."))
    if decimal != ".":
        text = text.str.replace_all(re.escape(decimal), ".")
    if whole:
        text = text.str.replace(r"^([+-]?\d+)\.0*$", "${1}")
    return pl.when(text.str.contains(r"\d")).then(text).otherwise(expr)


def date_time(expr: pl.Expr, spec: dict[str, Any]) -> pl.Expr:
    """Parse with the given format(s) (else as ISO 8601). A time with an offset is that instant, written
    in UTC (``...Z``); a time without one is read in ``timezone`` and written in UTC when the field gives
    one, else written without an offset (``2024-11-06T10:10:00.000``), so the resource decides how to
    read it (an order: in its row's ``timeZone``, see ``importer.records.order_dates``; else UTC). Never
    both: an offset is never read again in ``timezone``."""
    zone = spec.get("timezone")

    def naive_text(naive: pl.Expr) -> pl.Expr:
        if zone is None:
            return naive.dt.strftime(NAIVE_FORMAT)
        local = naive.dt.replace_time_zone(str(zone), ambiguous="earliest", non_existent="null")
        return local.dt.convert_time_zone("UTC").dt.strftime(normalise.API_DATETIME_FORMAT)

    def utc_text(instant: pl.Expr) -> pl.Expr:
        return instant.dt.strftime(normalise.API_DATETIME_FORMAT)

    formats = [spec["format"]] if "format" in spec else (list(DAYFIRST) if spec.get("dayfirst") else [])
    candidates = [
        utc_text(expr.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC"))
        if "%z" in f
        else naive_text(expr.str.to_datetime(f, strict=False, time_unit="us"))
        for f in formats
    ]
    iso = normalise.instant(expr)  # ISO input stays accepted; its naive form is read as said above
    candidates.append(
        pl.when(expr.str.contains(normalise.SAYS_OFFSET))
        .then(utc_text(iso))
        .otherwise(naive_text(iso.dt.replace_time_zone(None)))
    )
    return pl.coalesce(candidates).fill_null(expr)
