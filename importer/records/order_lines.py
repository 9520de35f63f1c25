"""Order lines in *runs*: order-level values normalised and checked once per run of adjacent lines.

An export repeats an order's values (id, date, status, customer, order attributes) on each of its
lines. ``split_lines`` cuts the lines into runs — adjacent lines whose order-level cells (and
readability) are written alike — and gives the order-level columns once per run (``heads``), normalised;
the lines keep their product columns, normalised, and know their run and their order's *block* (adjacent
runs of one order id, numbered in input order, so that orders whose lines lie together can be grouped in
one linear pass). ``per_line`` gives the reasons found for runs to each of their lines. The same values
always give the same outcome, so this is exactly the line-by-line result, for about a third of the work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    FILE_COL,
    RID_COL,
    ROW_COL,
    SOLE_REASON_COLUMNS,
)
from importer.records import normalise, order_dates
from schemas.orders import ORDER_FIELDS, PRODUCT_FIELDS, STATUS_ALIASES, STATUSES

if TYPE_CHECKING:
    from importer.records.order_columns import OrderColumns

HAS_PRODUCT, LINE, RUN = "_has_product", "_line", "_run"
_POSITION = "_position"
BLOCK = "_block"  # a stretch of adjacent runs (so lines) of one order id, numbered in input order


def split_lines(
    frame: pl.DataFrame, columns: OrderColumns, runs: bool = True, time_zone_names: str = "windows"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, heads): the order lines with their product columns normalised, and their *runs*.

    A run is a stretch of adjacent lines whose order-level cells (and readability, and join misses) are
    written alike, as
    an export repeats an order's values on each of its lines. Order-level values are normalised, checked
    and grouped once per run (``heads``: the run's first line's bookkeeping, the normalised order-level
    columns and ``_run``); a line knows its run (``_run``) and its order id. The same values always give the
    same normalised values and the same reasons, so this is exact, only cheaper: about a third of the
    work for an export's 1-5 lines per order. Lines of an order that are not adjacent are simply runs of
    their own. ``runs=False`` makes every line a run of its own (the tests compare both). Dates and time
    zones are made what is sent (``order_dates``; ``time_zone_names``: the names ``timeZone`` is sent as)."""
    source = {target: name for name, target in columns.rename.items()}
    level = columns.order_level
    compared = [source[c] for c in level if c in source] + [c for c in SOLE_REASON_COLUMNS if c in frame.columns]
    number = pl.struct(compared).rle_id() if runs else pl.int_range(pl.len(), dtype=pl.UInt32)
    run = frame.select(number.alias(RUN)).to_series()
    heads = frame.filter(run.is_first_distinct()).select(
        RID_COL, FILE_COL, ROW_COL, *[pl.col(source[c]).alias(c) for c in level if c in source]
    )
    heads = (
        heads.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in ORDER_FIELDS if c not in heads.columns)
        .with_columns(normalise.blank_to_null(pl.col(c)).alias(c) for c in level if c in source)
        .with_columns(
            normalise.spelling(pl.col("status"), STATUSES, STATUS_ALIASES),
            pl.col("currency").str.to_uppercase(),
            normalise.email(pl.col("customer.email")),
        )
        .with_row_index(RUN)
        .with_columns(pl.col("id").rle_id().alias(BLOCK))
    )
    # The costly ones are worked out once per distinct value.
    heads = order_dates.localise(heads, time_zone_names)
    heads = normalise.per_value(heads, "customer.phone", normalise.of_series(normalise.phone))
    product_columns = [*PRODUCT_FIELDS, *columns.product_attributes]
    lines = frame.select(
        RID_COL, FILE_COL, ROW_COL, *[pl.col(source[c]).alias(c) for c in product_columns if c in source]
    )
    lines = (
        lines.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in PRODUCT_FIELDS if c not in lines.columns)
        .with_columns(normalise.blank_to_null(pl.col(c)).alias(c) for c in product_columns if c in source)
        .with_columns(
            pl.any_horizontal(pl.col(c).is_not_null() for c in product_columns).alias(HAS_PRODUCT),
            run,
            heads.get_column("id").gather(run).alias("id"),
            heads.get_column(BLOCK).gather(run).alias(BLOCK),
        )
        .with_row_index(LINE)
    )
    return lines, heads


def together(frame: pl.DataFrame, id_column: str) -> pl.DataFrame:
    """``frame`` with each order's lines adjacent: orders in the order of their first line, an order's lines
    in their order. The hashed first pass gives a partition an order's lines wherever the input had them;
    put together, they make runs and blocks (order-level values are worked out once per run, not per
    line, and orders grouped in one linear pass). The outcome is the same either way: reasons are per
    row (sorted by row id), records are made in the order of their order's first line, products in the
    order of their lines. ``frame`` itself when its orders' lines are adjacent already (streamed). Ids are
    taken as written: putting lines together only saves work, so an id written two ways (which
    ``split_lines`` makes one) may stay apart."""
    order = pl.col(id_column)
    if frame.select(order.rle_id().max().fill_null(0) + 1 <= order.n_unique()).item():
        return frame
    first_line = pl.col(_POSITION).min().over(order)  # (nulls, lines without an id, are one group)
    return frame.with_row_index(_POSITION).sort(first_line, maintain_order=True).drop(_POSITION)


def per_line(run_reasons: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Reasons found for runs (``_rid`` is the run) as reasons of each of the run's lines, in row order and,
    per line, in the order found."""
    return (
        run_reasons.select(pl.col(RID_COL).cast(pl.UInt32).alias(RUN), FIELD_COL, ERROR_COL)
        .join(lines.select(RUN, RID_COL), on=RUN, maintain_order="left")
        .select(RID_COL, FIELD_COL, ERROR_COL)
        .sort(RID_COL, maintain_order=True)
    )
