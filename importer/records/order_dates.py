"""An order's ``date`` and ``timeZone`` as they are sent: one rule, so the instant is never shifted twice.

The vendor documents ``timeZone`` as the zone the order was placed in, and says that without it the
platform reads ``date`` in the business unit's zone: so the platform may take ``date``'s clock reading
in ``timeZone``, or ``date`` as the instant its offset says. The importer sends what is right under both
readings (docs/orders.md, "Dates and time zones"):

* the **instant** is the date's own offset (``+02:00``, ``Z``) when it has one; else the row's
  ``timeZone`` read the date's clock time (a naive ``2024-11-06 10:10``) in that zone; else UTC (a
  mapping's ``timezone`` has already turned a naive date into its instant, see ``inputs.conversions``);
* with a ``timeZone``, ``date`` is sent as the clock time **in that zone, with that zone's offset**
  (``2024-11-06T10:10:00.000+01:00`` with ``Central European Standard Time``): the clock reading and the
  offset agree, whichever the platform reads; in a DST change's repeated hour the earlier one is taken,
  a clock time the change skips rejects the row;
* without one, ``date`` is sent in UTC (``...Z``) with ``timeZone`` ``UTC``, as before.

``timeZone`` must name a zone (IANA or Windows, see ``time_zones``) and is sent as ``--time-zone-names``
says (``windows`` by default, as the vendor's examples; ``iana``). The problems found are a column of
the heads (``ZONE_PROBLEM``), made reasons by ``zone_reasons``.
"""

from __future__ import annotations

import polars as pl

from importer.frame import ERROR_COL, FIELD_COL, RID_COL
from importer.records import normalise, time_zones

ZONE, ZONE_PROBLEM = "_zone", "_zone_problem"  # a head's IANA zone; what is wrong with its date or zone
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S%.3f%:z"


def localise(heads: pl.DataFrame, names: str) -> pl.DataFrame:
    """``heads`` with ``date`` and ``timeZone`` as sent, and ``_zone_problem`` where one is wrong. Heads
    without a ``timeZone`` take the usual path (UTC, worked out once per distinct date)."""
    if heads.get_column("timeZone").null_count() == heads.height:
        return normalise.per_value(heads, "date", normalise.api_datetimes)
    canonical = time_zones.canonical_expr(pl.col("timeZone"))
    heads = heads.with_columns(time_zones.iana_expr(canonical).alias(ZONE), canonical.alias("_canonical"))
    zones = [z for z in heads.get_column(ZONE).unique().drop_nulls().sort().to_list()]
    pairs = heads.select("date", ZONE).unique().filter(pl.col("date").is_not_null())
    dates = pairs.with_columns(*_dated(zones)).select("date", ZONE, "_sent", "_gap")
    heads = heads.join(dates, on=["date", ZONE], how="left", nulls_equal=True, maintain_order="left")
    sent_name = time_zones.sent_expr(pl.col("_canonical"), names)
    written = pl.col("timeZone")
    problem = (
        pl.when(written.is_not_null() & pl.col("_canonical").is_null())
        .then(pl.format("timeZone: '{}' is not a time zone: use an IANA name (e.g. Europe/Warsaw) or a Windows "
                        "one (e.g. Central European Standard Time)", written))
        .when(pl.col("_canonical").is_not_null() & sent_name.is_null())
        .then(pl.format("timeZone: '{}' has no Windows name in CLDR's windowsZones; --time-zone-names iana sends "
                        "IANA names", written))
        .when(pl.col("_gap"))
        .then(pl.format("date: '{}' does not exist in {} (the clocks skip it when summer time starts)",
                        pl.col("date"), pl.col(ZONE)))
    )
    return heads.with_columns(
        pl.coalesce("_sent", "date").alias("date"),
        pl.coalesce(sent_name, written).alias("timeZone"),
        problem.alias(ZONE_PROBLEM),
    ).drop("_canonical", "_sent", "_gap")


def _dated(zones: list[str]) -> list[pl.Expr]:
    """``_sent`` (the date as sent) and ``_gap`` (a clock time its zone skips) of each (date, zone) pair."""
    date = pl.col("date")
    aware = normalise.instant(date)  # the date's own offset, or (naive) its clock time as if in UTC
    says_offset = date.str.contains(normalise.SAYS_OFFSET)
    sent = [(pl.col(ZONE).is_null(), normalise.api_datetime(date))]
    gap = [(pl.col(ZONE).is_null(), pl.lit(False))]
    for zone in zones:
        here = pl.col(ZONE) == zone
        local = aware.dt.replace_time_zone(None).dt.replace_time_zone(zone, ambiguous="earliest",
                                                                      non_existent="null")
        moment = pl.when(says_offset).then(aware).otherwise(local.dt.convert_time_zone("UTC"))
        fmt = normalise.API_DATETIME_FORMAT if time_zones.is_utc(zone) else LOCAL_FORMAT
        shown = moment.dt.convert_time_zone(zone)
        within = shown.dt.year().is_between(1, 9999)
        sent.append((here, pl.when(within).then(shown.dt.strftime(fmt))))
        gap.append((here, ~says_offset & aware.is_not_null() & local.is_null()))
    return [_first_of(sent).alias("_sent"), _first_of(gap).fill_null(False).alias("_gap")]


def _first_of(branches: list[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    """``when(c1).then(v1).when(c2).then(v2)...``: the value of the first condition that holds (else null)."""
    (condition, value), *rest = branches
    chain = pl.when(condition).then(value)
    for condition, value in rest:
        chain = chain.when(condition).then(value)  # type: ignore[assignment]
    return chain


def zone_reasons(heads: pl.DataFrame, key: str) -> pl.DataFrame:
    """Reasons (keyed by ``key``, e.g. the run) for the heads whose date or time zone is wrong."""
    if ZONE_PROBLEM not in heads.columns:
        return pl.DataFrame(schema={RID_COL: pl.Int64, FIELD_COL: pl.String, ERROR_COL: pl.String})
    return heads.filter(pl.col(ZONE_PROBLEM).is_not_null()).select(
        pl.col(key).cast(pl.Int64).alias(RID_COL),
        pl.col(ZONE_PROBLEM).str.split(":").list.first().alias(FIELD_COL),
        pl.col(ZONE_PROBLEM).alias(ERROR_COL),
    )
