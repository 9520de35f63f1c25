"""Build JSON records and request bodies with polars expressions: no Python object per row.

Records of the imports are typed structs encoded by polars' JSON encoder in one pass
(``struct.json_encode``: control characters, quotes and any unicode escaped exactly, numbers as polars
renders them as text); ``Absent`` then cuts the members that are null in a record from its text, so
absent fields are left out rather than sent as ``null`` or ``""``, and ``name_values`` makes the
``[{name, value}]`` lists of attributes. For small records built field by field (the order operations)
``member("email", text(col))`` is ``"email":"..."`` or null when the cell is absent, and
``obj``/``array`` join the non-null members. Bodies are spliced from record texts per chunk, keeping the
records' order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import orjson
import polars as pl

from importer.frame import JSON_COL, RID_COL

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
            encoded = (encoded.str.replace_all("{" + key(name) + "null,", "{", literal=True)
                       .str.replace_all("{" + key(name) + "null}", "{}", literal=True))
        return encoded


def name_values(frame: pl.DataFrame, index: str, columns: Mapping[str, str | int], into: str,
                name: str = "name") -> pl.DataFrame:
    """``frame`` with ``into``: per row, the list of ``{name, value}`` structs of its non-null cells among
    ``columns`` (column -> the name to send), in column order; null when it has none."""
    if not columns:
        return frame.with_columns(pl.lit(None).alias(into))
    rows, width = frame.height, len(columns)
    long = (  # a column's cells after another's
        frame.select(index, *columns)
        .unpivot(on=list(columns), index=index, variable_name="_column", value_name="value")
        .drop_nulls("value")
        .select(index, pl.struct(pl.col("_column").replace_strict(list(columns), pl.Series(list(columns.values())))
                                 .alias(name), "value").alias(into))
    )
    if rows and long.height == rows * width:  # every row has every cell: its list is its cells in column
        at = pl.int_range(rows * width, dtype=pl.Int64)  # order, so they are put in row order and cut into
        items = long.select(pl.col(into).gather(at % width * rows + at // width)).to_series()  # equal lists
        return frame.with_columns(items.reshape((rows, width)).cast(pl.List(items.dtype)))  # (no grouping)
    lists = long.group_by(index, maintain_order=True).agg(into)
    aligned = frame.select(index).join(lists, on=index, how="left", maintain_order="left").get_column(into)
    return frame.with_columns(aligned)  # (one column joined: the frame is not copied)


@dataclass(frozen=True)
class Chunk:
    """Records to send together: a slice of a records frame (``_json``, ``_rid`` as the list of input rows
    each record was built from, ``_key`` and, when journaled, ``_fp``), and for a whole chunk its record
    texts already joined. Per-record Python values are made only on the error paths (``records``,
    ``row_ids``); splitting a rejected or oversized request keeps everything aligned."""

    index: int
    frame: pl.DataFrame
    joined: bytes | None = None  # the records' JSON texts joined by ",", UTF-8 (None: join when needed)
    row_count: int | None = None  # the input rows of its records (None: count when needed)

    def body(self, envelope: dict[str, str]) -> bytes:
        return b"".join(self.body_parts(envelope))

    def body_parts(self, envelope: dict[str, str]) -> tuple[bytes, bytes, bytes]:
        """The body in three pieces (head, records, tail), to be written without joining them: a copy of
        each body cost a dry run more than writing it (fresh pages are dear on this kind of machine)."""
        joined = self.joined
        if joined is None:
            joined = self.frame.get_column(JSON_COL).str.join(",").cast(pl.Binary).item()
        return body_pieces(envelope, joined)

    @property
    def records(self) -> list[str]:
        return self.frame.get_column(JSON_COL).to_list()

    @property
    def row_ids(self) -> list[list[int]]:
        """Per record: the _rid of every input row it was built from."""
        return self.frame.get_column(RID_COL).to_list()

    @property
    def rids(self) -> pl.Series:
        """The input rows of all the chunk's records."""
        return self.frame.get_column(RID_COL).explode()

    @property
    def rows(self) -> int:
        if self.row_count is not None:
            return self.row_count
        return int(self.frame.get_column(RID_COL).list.len().sum())

    def __len__(self) -> int:
        return self.frame.height

    def part(self, start: int, end: int) -> Chunk:
        return Chunk(self.index, self.frame.slice(start, end - start))

    def pick(self, indices: list[int]) -> Chunk:
        return Chunk(self.index, self.frame[indices])


def chunk_of(index: int, records: list[str], row_ids: list[list[int]]) -> Chunk:
    """A chunk from Python lists (for small runs built record by record, such as GETs)."""
    frame = pl.DataFrame({JSON_COL: records, RID_COL: row_ids}, schema={JSON_COL: pl.String, RID_COL: pl.List(pl.Int64)})
    return Chunk(index, frame)


def body_pieces(envelope: dict[str, str], joined: bytes) -> tuple[bytes, bytes, bytes]:
    """``{<envelope>,"data":[records]}`` in three pieces (the envelope's head, the records' texts joined by
    ``,`` as UTF-8, the tail)."""
    return orjson.dumps(envelope)[:-1] + b',"data":[', joined, b"]}"


def as_row_lists(records: pl.DataFrame) -> pl.DataFrame:
    """``_rid`` as a list of row ids per record (an order has several; a customer one)."""
    rid = records.schema[RID_COL]
    return records if isinstance(rid, pl.List) else records.with_columns(pl.concat_list(RID_COL).alias(RID_COL))


def chunks(records: pl.DataFrame, chunk_size: int, first_index: int = 0) -> Iterator[Chunk]:
    """Split a frame of records into chunks of ``chunk_size``, numbered from ``first_index``; the texts of
    each chunk are joined by polars, not record by record in Python, and kept as UTF-8 bytes (a Python
    ``str`` of text with an emoji takes four bytes per character)."""
    records = as_row_lists(records)
    per_chunk = (
        records.select(JSON_COL, pl.col(RID_COL).list.len().alias("_rows"))
        .with_row_index("_pos")
        .group_by(pl.col("_pos") // chunk_size, maintain_order=True)
        .agg(pl.col(JSON_COL).str.join(",").cast(pl.Binary), pl.col("_rows").sum())
    )
    for number, (text, rows) in enumerate(zip(per_chunk.get_column(JSON_COL).to_list(),
                                              per_chunk.get_column("_rows").to_list(), strict=True)):
        yield Chunk(first_index + number, records.slice(number * chunk_size, chunk_size), text, int(rows))
