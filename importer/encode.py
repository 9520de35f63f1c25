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
    """Records to send together: their JSON texts, the input rows each came from, and their positions
    in the run's record list (so outcomes can be tied back to a record's key). Slicing keeps all three
    aligned, as splitting a rejected or oversized request needs."""

    index: int
    records: list[str]
    row_ids: list[list[int]]  # per record: the _rid of every input row it was built from
    positions: list[int]  # per record: its row number in the run's record frame

    def body(self, envelope: dict[str, str]) -> bytes:
        return make_body(envelope, self.records)

    @property
    def all_row_ids(self) -> list[int]:
        return [rid for rids in self.row_ids for rid in rids]

    def __len__(self) -> int:
        return len(self.records)

    def part(self, start: int, end: int) -> Chunk:
        return Chunk(self.index, self.records[start:end], self.row_ids[start:end], self.positions[start:end])

    def pick(self, indices: list[int]) -> Chunk:
        return Chunk(
            self.index, [self.records[i] for i in indices], [self.row_ids[i] for i in indices],
            [self.positions[i] for i in indices],
        )


def make_body(envelope: dict[str, str], records: Sequence[str]) -> bytes:
    """``{<envelope>,"data":[records]}`` as bytes."""
    head = orjson.dumps(envelope)[:-1]
    return b"".join((head, b',"data":[', ",".join(records).encode(), b"]}"))


def chunks(records: pl.DataFrame, chunk_size: int) -> Iterator[Chunk]:
    """Split a frame of records (``_json`` and ``_rid``, a list of row ids or one id per record) into chunks.

    A record's position is its row number in ``records``.
    """
    rid = pl.col(RID_COL)
    grouped = (
        records.select(JSON_COL, rid if isinstance(records.schema[RID_COL], pl.List) else pl.concat_list(rid))
        .with_row_index("_pos")
        .group_by((pl.col("_pos") // chunk_size).alias("_chunk"), maintain_order=True)
        .agg(pl.col(JSON_COL), pl.col(RID_COL), pl.col("_pos").cast(pl.Int64))
    )
    for index, texts, rids, positions in grouped.iter_rows():
        yield Chunk(index=index, records=texts, row_ids=rids, positions=positions)
