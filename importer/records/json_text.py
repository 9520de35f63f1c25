"""Build JSON records and request bodies with polars expressions: no Python object per row.

Records of the imports are typed structs encoded by polars' JSON encoder in one pass
(``struct.json_encode``: control characters, quotes and any unicode escaped exactly, numbers as polars
renders them as text); ``Absent`` then cuts the members that are null in a record from its text, so
absent fields are left out rather than sent as ``null`` or ``""``, and ``name_values`` makes the
``[{name, value}]`` lists of attributes. For small records built field by field (the order operations)
``member("email", text(col))`` is ``"email":"..."`` or null when the cell is absent, and
``obj``/``array`` join the non-null members. Request bodies are made of these texts in
``importer.records.chunking``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import orjson
import polars as pl

from schemas.common import FieldRules

_WRAP = '{"v":'


def sent_as(rules: FieldRules) -> pl.Expr:
    """A field's column as its JSON member is sent, by its schema's declaration: a whole number as an integer,
    a number as a float (what does not parse is null: validation rejected it), any other field as its text."""
    column = pl.col(rules.name)
    if rules.whole_number is not None:
        column = column.str.strip_chars().cast(pl.Int64, strict=False)
    elif rules.number:
        column = column.cast(pl.Float64, strict=False)
    return column.alias(rules.member)


def text(expr: pl.Expr) -> pl.Expr:
    """The JSON text of a value: a string literal for a string, an array or object for nested values.

    Null stays null.
    """
    encoded = pl.struct(expr.alias("v")).struct.json_encode()
    return pl.when(expr.is_not_null()).then(encoded.str.slice(len(_WRAP)).str.strip_suffix("}"))


def key(name: str) -> str:
    return orjson.dumps(name).decode() + ":"


def member(name: str, value_json: pl.Expr) -> pl.Expr:
    """``"name":value``, or null when the value is null (so the member is left out)."""
    return pl.concat_str([pl.lit(key(name)), value_json])


def obj(members: Sequence[pl.Expr], *, null_if_empty: bool = False) -> pl.Expr:
    """``{...}`` of the non-null members."""
    inner = pl.concat_str(list(members), separator=",", ignore_nulls=True) if members else pl.lit("")
    whole = pl.concat_str([pl.lit("{"), inner, pl.lit("}")])
    return pl.when(inner != "").then(whole) if null_if_empty else whole


def array(items: Sequence[pl.Expr]) -> pl.Expr:
    """``[...]`` of the non-null items, or null when every item is null (so the member is left out)."""
    if not items:
        return pl.lit(None, dtype=pl.String)
    inner = pl.concat_str(list(items), separator=",", ignore_nulls=True)
    return pl.when(inner != "").then(pl.concat_str([pl.lit("["), inner, pl.lit("]")]))


def name_value(name: str, value: pl.Expr) -> pl.Expr:
    """``{"name":"<name>","value":"<value>"}`` for an attribute, null when the value is absent."""
    return pl.when(value.is_not_null()).then(
        pl.concat_str(
            [pl.lit("{" + key("name") + orjson.dumps(name).decode() + "," + key("value")), text(value), pl.lit("}")]
        )
    )


@dataclass
class Absent:
    """Members that are null in some records: ``"name":null`` is cut from the encoded text, so they are
    left out exactly as ``member`` leaves them out. ``first`` are those that open an object."""

    names: set[str] = field(default_factory=set)
    first: set[str] = field(default_factory=set)

    def members(self, frame: pl.DataFrame, names: Sequence[str]) -> list[str]:
        """The columns of ``frame`` (named as the members) to encode, in order: a member null in every
        record is left out of the struct (no text to cut), one null in some is noted. One is kept even
        when all are null, so an object is never without fields (it encodes as ``{}`` then)."""
        height = frame.height
        kept = [n for n in names if frame.get_column(n).null_count() < height] or list(names[:1])
        for position, name in enumerate(kept):
            if frame.get_column(name).null_count():
                self.names.add(name)
                if position == 0:
                    self.first.add(name)
        return kept

    def cut(self, encoded: pl.Expr) -> pl.Expr:
        """``encoded`` without its null members. Safe as plain text replacement: in JSON text ``,"`` and
        ``{"`` followed by a name only ever open a member (a quote inside a string is escaped as ``\\"``)."""
        for name in sorted(self.names):
            encoded = encoded.str.replace_all("," + key(name) + "null", "", literal=True)
        for name in sorted(self.first):  # after the others: a first member is followed by a value then
            encoded = encoded.str.replace_all("{" + key(name) + "null,", "{", literal=True).str.replace_all(
                "{" + key(name) + "null}", "{}", literal=True
            )
        return encoded


def name_values(
    frame: pl.DataFrame, index: str, columns: Mapping[str, str | int], into: str, name: str = "name"
) -> pl.DataFrame:
    """``frame`` with ``into``: per row, the list of ``{name, value}`` structs of its non-null cells among
    ``columns`` (column -> the name to send), in column order; null when it has none."""
    if not columns:
        return frame.with_columns(pl.lit(None).alias(into))
    rows, width = frame.height, len(columns)
    long = (  # a column's cells after another's
        frame.select(index, *columns)
        .unpivot(on=list(columns), index=index, variable_name="_column", value_name="value")
        .drop_nulls("value")
        .select(
            index,
            pl.struct(
                pl.col("_column").replace_strict(list(columns), pl.Series(list(columns.values()))).alias(name), "value"
            ).alias(into),
        )
    )
    if rows and long.height == rows * width:  # every row has every cell: its list is its cells in column
        at = pl.int_range(rows * width, dtype=pl.Int64)  # order, so they are put in row order and cut into
        items = long.select(pl.col(into).gather(at % width * rows + at // width)).to_series()  # equal lists
        return frame.with_columns(items.reshape((rows, width)).cast(pl.List(items.dtype)))  # (no grouping)
    lists = long.group_by(index, maintain_order=True).agg(into)
    aligned = frame.select(index).join(lists, on=index, how="left", maintain_order="left").get_column(into)
    return frame.with_columns(aligned)  # (one column joined: the frame is not copied)
