"""The floor: the least any importer of order lines must do, in bare polars, for ``make bench``.

Read the CSV (every column as text), carry an order's own columns to its other lines (sparse exports),
group the lines into orders with their products, and JSON-encode each order: no validation, no
normalising, no report, nothing sent. What the importer does on top of this is its whole value; the
ratio importer ÷ floor, measured in the same run, says what that costs.

    python bench/floor.py orders.csv
"""

from __future__ import annotations

import sys

import polars as pl

ORDER = [
    "date",
    "status",
    "currency",
    "timeZone",
    "websiteId",
    "customer.email",
    "customer.phone",
    "attr.channel",
    "attr.couponCode",
]


def encode(path: str) -> int:
    """The orders of ``path`` as JSON text (one per line, written to nowhere); how many there were."""
    lines = pl.scan_csv(path, infer_schema=False)
    product = [c for c in lines.collect_schema().names() if c.startswith("product.")]
    orders = lines.group_by("id", maintain_order=True).agg(
        *[pl.col(c).drop_nulls().first() for c in ORDER],  # (a sparse export fills them on one line only)
        pl.struct([pl.col(c).alias(c.removeprefix("product.")) for c in product]).alias("products"),
    )
    text = orders.select(pl.struct(pl.all()).struct.json_encode().alias("json")).collect(engine="streaming")
    return text.height


if __name__ == "__main__":
    print(encode(sys.argv[1]))
