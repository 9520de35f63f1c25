"""Flatten a nested orders table (Parquet) into order lines, the one shape the orders stage takes.

A nested table holds one row per order: ``products`` is a list of structs (``id``, ``name``, ``price``,
``quantity``, ``returned``, ``url``, ``imageUrl``, ``category``, ``productAttributes``), ``customer`` may be
a struct (``email``, ``phone``, ``crmId``), and ``orderAttributes`` / ``productAttributes`` are lists of
``{name, value}`` structs. Flattening gives the columns of a flat export: one row per product with
``product.<field>``, ``customer.<field>``, and attribute lists pivoted into ``attr.<name>`` and
``product.attr.<name>`` columns (the platform allows at most 10 names of each, so the pivot stays
narrow). Every line keeps the ``_rid`` of the row it came from, so the accounting stays per input row.

An attribute name given twice for one order or product cannot be sent unambiguously: those rows are
returned as reasons instead of letting a pivot pick one value.
"""

from __future__ import annotations

import polars as pl

from importer.frame import ERROR_COL, FIELD_COL, FILE_COL, RID_COL, ROW_COL, no_reasons
from importer.records.normalise import as_text

PRODUCTS, CUSTOMER = "products", "customer"
ORDER_ATTRIBUTES, PRODUCT_ATTRIBUTES = "orderAttributes", "productAttributes"
_KEY = "_nested_key"


def is_nested(frame: pl.DataFrame) -> bool:
    return any(isinstance(dtype, (pl.List, pl.Struct)) for dtype in frame.schema.values())


def flat_columns(frame: pl.DataFrame) -> list[str]:
    """The columns ``flatten_orders`` makes of ``frame`` (in no particular order), without flattening it:
    what the pre-flight needs to know which settings lists to read."""
    if not is_nested(frame):
        return frame.columns
    columns: list[str] = []
    for name, dtype in frame.schema.items():
        if name == CUSTOMER and isinstance(dtype, pl.Struct):
            columns += ["customer." + f.name for f in dtype.fields]
        elif name == ORDER_ATTRIBUTES and isinstance(dtype, pl.List):
            columns += ["attr." + n for n in _attribute_names(frame.get_column(name))]
        elif name == PRODUCTS and isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            for f in dtype.inner.fields:
                if f.name == PRODUCT_ATTRIBUTES and isinstance(f.dtype, pl.List):
                    products = frame.get_column(name).explode().struct.field(f.name)
                    columns += ["product.attr." + n for n in _attribute_names(products)]
                else:
                    columns.append("product." + f.name)
        else:
            columns.append(name)
    return columns


def _attribute_names(lists: pl.Series) -> list[str]:
    """The names given in a column of ``[{name, value}]`` lists, as the pivot names its columns."""
    names = lists.explode().drop_nulls().struct.field("name").cast(pl.String).str.strip_chars().drop_nulls()
    return names.unique(maintain_order=True).to_list()


def flatten_orders(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, reasons): the table as flat order lines, and rows whose attributes are ambiguous."""
    if not is_nested(frame):
        return frame, no_reasons()
    reasons = [no_reasons()]
    if isinstance(frame.schema.get(CUSTOMER), pl.Struct):
        frame = _unnest(frame, CUSTOMER, "customer.")
    frame = frame.with_row_index(_KEY)
    if isinstance(frame.schema.get(ORDER_ATTRIBUTES), pl.List):
        frame, duplicates = _attributes_to_columns(frame, ORDER_ATTRIBUTES, "attr.")
        reasons.append(duplicates)
    if isinstance(frame.schema.get(PRODUCTS), pl.List):
        # An empty or null list keeps its row (with no product): the order is then rejected, not lost.
        exploded = frame.explode(PRODUCTS, empty_as_null=True, keep_nulls=True)
        frame = _unnest(exploded, PRODUCTS, "product.").drop(_KEY).with_row_index(_KEY)
        if isinstance(frame.schema.get("product." + PRODUCT_ATTRIBUTES), pl.List):
            frame = frame.rename({"product." + PRODUCT_ATTRIBUTES: PRODUCT_ATTRIBUTES})
            frame, duplicates = _attributes_to_columns(frame, PRODUCT_ATTRIBUTES, "product.attr.")
            reasons.append(duplicates)
    frame = frame.drop(_KEY)
    bookkeeping = (RID_COL, FILE_COL, ROW_COL)
    frame = frame.select(pl.col(c) if c in bookkeeping else as_text(c, dtype) for c, dtype in frame.schema.items())
    return frame, pl.concat(reasons)


def _unnest(frame: pl.DataFrame, column: str, prefix: str) -> pl.DataFrame:
    dtype = frame.schema[column]
    assert isinstance(dtype, pl.Struct)
    fields = [pl.col(column).struct.field(f.name).alias(prefix + f.name) for f in dtype.fields]
    return frame.with_columns(fields).drop(column)


def _attributes_to_columns(frame: pl.DataFrame, column: str, prefix: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pivot a list of {name, value} structs into ``<prefix><name>`` columns, one value per cell."""
    long = (
        frame.select(_KEY, RID_COL, pl.col(column))
        .explode(column)
        .drop_nulls(column)
        .select(
            _KEY,
            RID_COL,
            pl.col(column).struct.field("name").cast(pl.String).str.strip_chars().alias("name"),
            pl.col(column).struct.field("value").cast(pl.String).alias("value"),
        )
        .drop_nulls("name")
    )
    repeated = long.filter(pl.len().over(_KEY, "name") > 1)
    duplicates = repeated.unique([_KEY, "name"], maintain_order=True).select(
        RID_COL,
        pl.lit(prefix + "*").alias(FIELD_COL),
        pl.format("{}: the attribute '{}' is given more than once", pl.lit(column), pl.col("name")).alias(ERROR_COL),
    )
    frame = frame.drop(column)
    if long.is_empty():
        return frame, duplicates
    wide = long.pivot(on="name", index=_KEY, values="value", aggregate_function="first")
    wide = wide.rename({c: prefix + c for c in wide.columns if c != _KEY})
    return frame.join(wide, on=_KEY, how="left", maintain_order="left"), duplicates
