"""Records cut into chunks, the records of one request: their bodies spliced from the records' JSON texts.

A records frame (``_rid``, ``_json``, ``_key``; see ``importer.frame``) is cut into chunks of
``chunk_size`` records in input order; the texts of each chunk are joined by polars, not record by record
in Python, and kept as UTF-8 bytes. A chunk splits (``part``, ``pick``) when the API refuses a request as
too large or names bad records in it, keeping records, row ids and texts aligned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import polars as pl

from importer.frame import JSON_COL, RID_COL


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
        """Records ``start`` to ``end``; the whole chunk is itself (its joined texts are not made again)."""
        if start == 0 and end >= len(self):
            return self
        return Chunk(self.index, self.frame.slice(start, end - start))

    def pick(self, indices: list[int]) -> Chunk:
        return Chunk(self.index, self.frame[indices])


def chunk_of(index: int, records: list[str], row_ids: list[list[int]]) -> Chunk:
    """A chunk from Python lists (for small runs built record by record, such as GETs)."""
    frame = pl.DataFrame(
        {JSON_COL: records, RID_COL: row_ids}, schema={JSON_COL: pl.String, RID_COL: pl.List(pl.Int64)}
    )
    return Chunk(index, frame)


def body_pieces(envelope: dict[str, str], joined: bytes) -> tuple[bytes, bytes, bytes]:
    """``{<envelope>,"data":[records]}`` in three pieces (the envelope's head, the records' texts joined by
    ``,`` as UTF-8, the tail); without an envelope (a request of one record, as custom events are sent) the
    record's text alone."""
    if not envelope:
        return b"", joined, b""
    return orjson.dumps(envelope)[:-1] + b',"data":[', joined, b"]}"


def as_row_lists(records: pl.DataFrame) -> pl.DataFrame:
    """``_rid`` as a list of row ids per record (an order has several; a customer one)."""
    rid = records.schema[RID_COL]
    return records if isinstance(rid, pl.List) else records.with_columns(pl.concat_list(RID_COL).alias(RID_COL))


def in_chunks(records: pl.DataFrame, chunk_size: int, first_index: int = 0) -> Iterator[Chunk]:
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
    for number, (text, rows) in enumerate(
        zip(per_chunk.get_column(JSON_COL).to_list(), per_chunk.get_column("_rows").to_list(), strict=True)
    ):
        yield Chunk(first_index + number, records.slice(number * chunk_size, chunk_size), text, int(rows))
