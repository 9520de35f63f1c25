"""Checks shared by the resource schemas.

Length limits are counted the way the platform counts them: the API is an ASP.NET service, whose
``[StringLength]``/``[MaxLength]`` count UTF-16 code units, so a character outside the Basic
Multilingual Plane (most emoji) counts twice. pandera's built-in ``str_length`` counts characters, so
the limit is declared as field metadata (``metadata={"max_length": N}``) and turned into a
``max_length`` check by ``with_max_lengths``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

MAX_LENGTH = "max_length"


def utf16_units(expr: pl.Expr) -> pl.Expr:
    """Length in UTF-16 code units (what .NET's ``string.Length`` returns)."""
    return expr.str.len_chars() + expr.str.count_matches(r"[\x{10000}-\x{10FFFF}]")


def max_length(limit: int) -> pa.Check:
    """At most ``limit`` UTF-16 code units."""

    def within(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(utf16_units(pl.col(data.key)) <= limit)

    return pa.Check(within, name=MAX_LENGTH, statistics={"max_value": limit}, error=f"{MAX_LENGTH}({limit})")


def with_max_lengths(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """The schema with a ``max_length`` check on every column whose metadata declares one."""
    return schema.update_columns(
        {
            name: {"checks": [*column.checks, max_length(column.metadata[MAX_LENGTH])]}
            for name, column in schema.columns.items()
            if column.metadata and MAX_LENGTH in column.metadata
        }
    )
