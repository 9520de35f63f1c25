"""Build JSON records and request bodies with polars expressions: no Python object per row.

A record is assembled as text by expressions: ``member("email", text(col))`` is ``"email":"..."`` or
null when the cell is absent, and ``obj``/``array`` join the non-null members, so absent fields are
left out of the JSON rather than sent as ``null`` or ``""``. String escaping is polars' own JSON
encoder (``struct.json_encode``), so control characters, quotes and any unicode are encoded exactly.
Bodies are spliced from record texts per chunk, keeping the records' order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import orjson
import polars as pl

from importer.read import RID_COL

JSON_COL = "_json"
_WRAP = '{"v":'


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
        pl.concat_str([pl.lit("{" + key("name") + orjson.dumps(name).decode() + "," + key("value")), text(value), pl.lit("}")])
    )


@dataclass(frozen=True)
class Chunk:
    """One request's worth of records: their JSON texts and the input rows they came from."""

    index: int
    records: list[str]
    row_ids: list[list[int]]  # per record: the _rid of every input row it was built from

    def body(self, envelope: dict[str, str]) -> bytes:
        return make_body(envelope, self.records)

    @property
    def all_row_ids(self) -> list[int]:
        return [rid for rids in self.row_ids for rid in rids]


def make_body(envelope: dict[str, str], records: Sequence[str]) -> bytes:
    """``{<envelope>,"data":[records]}`` as bytes."""
    head = orjson.dumps(envelope)[:-1]
    return b"".join((head, b',"data":[', ",".join(records).encode(), b"]}"))


def chunks(records: pl.DataFrame, chunk_size: int) -> Iterator[Chunk]:
    """Split a frame of records (``_json`` and ``_rid``, a list of row ids or one id per record) into chunks."""
    rid = pl.col(RID_COL)
    grouped = (
        records.select(JSON_COL, rid if isinstance(records.schema[RID_COL], pl.List) else pl.concat_list(rid))
        .with_row_index("_pos")
        .group_by((pl.col("_pos") // chunk_size).alias("_chunk"), maintain_order=True)
        .agg(pl.col(JSON_COL), pl.col(RID_COL))
    )
    for index, texts, rids in grouped.iter_rows():
        yield Chunk(index=index, records=texts, row_ids=rids)
