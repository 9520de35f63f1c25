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
    """``heads`` with ``date`` and ``timeZone`` as sent, ``_zone`` (the IANA zone) and ``_zone_problem``
    where one is wrong. Heads without a ``timeZone`` take the usual path (UTC, once per distinct date);
    zone names are worked out once per distinct name, dates once per distinct date of each zone."""
    written = heads.get_column("timeZone")
    if written.null_count() == heads.height:
        return normalise.per_value(heads, "date", normalise.api_datetimes)
    names_table = _zone_names(written.unique(), names)
    if names_table.height == 1:  # one zone for the whole input, as usual: no join
        only = names_table.row(0, named=True)
        heads = heads.with_columns(pl.lit(v, dtype=pl.String).alias(c) for c, v in only.items() if c != "timeZone")
    else:
        heads = heads.join(names_table, on="timeZone", how="left", nulls_equal=True, maintain_order="left")
    zones = heads.get_column(ZONE)
    dates = heads.get_column("date")
    distinct = zones.unique().to_list()
    sent = pl.repeat(None, heads.height, dtype=pl.String, eager=True).alias("date")
    gap = pl.repeat(False, heads.height, eager=True).alias("_gap")
    for zone in distinct:
        rows = None if len(distinct) == 1 else (zones.is_null() if zone is None else zones == zone).arg_true()
        these = dates if rows is None else dates.gather(rows)
        shown, skipped = _in_zone(these, zone)
        sent = shown if rows is None else sent.scatter(rows, shown)
        gap = skipped if rows is None else gap.scatter(rows, skipped)
    problem = (
        pl.when(gap)
        .then(
            pl.format(
                "date: '{}' does not exist in {} (the clocks skip it when summer time starts)",
                pl.col("date"),
                pl.col(ZONE),
            )
        )
        .otherwise(pl.col("_name_problem"))
    )
    return heads.with_columns(
        problem.alias(ZONE_PROBLEM),
        pl.coalesce(sent.alias("_sent"), pl.col("date")).alias("date"),
        pl.coalesce("_sent_name", "timeZone").alias("timeZone"),
    ).drop("_sent_name", "_name_problem")


def _zone_names(written: pl.Series, names: str) -> pl.DataFrame:
    """Per distinct ``timeZone`` as written: its IANA zone, the name sent, and what is wrong with it."""
    canonical = time_zones.canonical_expr(pl.col("timeZone"))
    sent = time_zones.sent_expr(canonical, names)
    return written.to_frame().select(
        "timeZone",
        time_zones.iana_expr(canonical).alias(ZONE),
        sent.alias("_sent_name"),
        pl.when(pl.col("timeZone").is_not_null() & canonical.is_null())
        .then(
            pl.format(
                "timeZone: '{}' is not a time zone: use an IANA name (e.g. Europe/Warsaw) or a Windows "
                "one (e.g. Central European Standard Time)",
                pl.col("timeZone"),
            )
        )
        .when(canonical.is_not_null() & sent.is_null())
        .then(
            pl.format(
                "timeZone: '{}' has no Windows name in CLDR's windowsZones; --time-zone-names iana sends IANA names",
                pl.col("timeZone"),
            )
        )
        .alias("_name_problem"),
    )


def _in_zone(dates: pl.Series, zone: str | None) -> tuple[pl.Series, pl.Series]:
    """(each date as sent in ``zone``, or in UTC when None; whether it is a clock time ``zone`` skips),
    worked out once per distinct date. A date that cannot be placed is null (the caller keeps it as
    written, and validation rejects it with that value)."""
    if zone is None:
        return normalise.per_value(dates.to_frame(), "date", normalise.api_datetimes).get_column("date"), pl.repeat(
            False, dates.len(), eager=True
        ).alias("_gap")
    sample = dates.head(2_000)
    mostly_distinct = sample.n_unique() * 2 > sample.len()  # then worked out row by row: no join
    distinct = dates if mostly_distinct else dates.unique().drop_nulls()
    moments = normalise.instants(distinct)
    table = pl.DataFrame({"date": distinct, "_moment": moments}).with_columns(
        pl.col("date").str.contains(normalise.SAYS_OFFSET).alias("_offset")
    )
    local = (
        pl.col("_moment")
        .dt.replace_time_zone(None)
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    moment = pl.when(pl.col("_offset")).then(pl.col("_moment")).otherwise(local)
    if table.get_column("_offset").all():  # every date says its offset (as exports with one usually do)
        moment = pl.col("_moment")
    fmt = normalise.API_DATETIME_FORMAT if time_zones.is_utc(zone) else LOCAL_FORMAT
    table = table.with_columns(moment.alias("_placed")).select(
        "date",
        pl.when(pl.col("_placed").dt.year().is_between(1, 9999))
        .then(pl.col("_placed").dt.convert_time_zone(zone).dt.strftime(fmt))
        .alias("_sent"),
        (~pl.col("_offset") & pl.col("_moment").is_not_null() & pl.col("_placed").is_null()).alias("_gap"),
    )
    placed = table if mostly_distinct else dates.to_frame().join(table, on="date", how="left", maintain_order="left")
    return placed.get_column("_sent"), placed.get_column("_gap").fill_null(False)


def zone_reasons(heads: pl.DataFrame, key: str) -> pl.DataFrame:
    """Reasons (keyed by ``key``, e.g. the run) for the heads whose date or time zone is wrong."""
    if ZONE_PROBLEM not in heads.columns:
        return pl.DataFrame(schema={RID_COL: pl.Int64, FIELD_COL: pl.String, ERROR_COL: pl.String})
    return heads.filter(pl.col(ZONE_PROBLEM).is_not_null()).select(
        pl.col(key).cast(pl.Int64).alias(RID_COL),
        pl.col(ZONE_PROBLEM).str.split(":").list.first().alias(FIELD_COL),
        pl.col(ZONE_PROBLEM).alias(ERROR_COL),
    )
