"""The benchmark's inputs and its floor do what docs/benchmarks.md says (the timings are not tested)."""

from __future__ import annotations

import polars as pl

from bench.floor import encode
from bench.generate import ORDER_COLUMNS, SHAPES, UNUSED_COLUMNS, order_lines, shaped


def test_the_shapes_hold_the_same_lines():
    lines = order_lines(3_000)
    sparse, shuffled, wide = shaped(lines, "sparse"), shaped(lines, "shuffled"), shaped(lines, "wide")
    assert wide.select(sparse.columns).equals(sparse) and wide.width == lines.width + 30
    assert all(wide[column].null_count() == wide.height for column in UNUSED_COLUMNS)
    assert shuffled.sort("id", "product.id", "product.quantity").equals(
        lines.sort("id", "product.id", "product.quantity")
    )
    assert shuffled["id"].to_list() != lines["id"].to_list()  # (not in the order generated)
    first = lines.select(pl.col("id") != pl.col("id").shift(1).fill_null(""))["id"]
    for column in ORDER_COLUMNS:  # an order's own columns on its first line only
        assert sparse.filter(~first)[column].null_count() == (~first).sum()
        assert sparse.filter(first)[column].equals(lines.filter(first)[column])


def test_the_floor_makes_one_json_order_per_id(tmp_path):
    lines = order_lines(2_000)
    for shape in SHAPES:
        path = tmp_path / f"{shape}.csv"
        shaped(lines, shape).write_csv(path)
        assert encode(str(path)) == lines["id"].n_unique()
