"""The first pass of a run whose records' rows lie together: partitions made as the input is read.

Exports list an order's lines one after the other, and a customer once; then a run need not spread its
rows over hash partitions on disk (``importer.partitions.hashed``) to find each record's rows: every batch the
reader gives, minus the rows of its last key (which may go on in the next batch, and are carried
over), is a partition of whole records. Reading, preparing and sending then overlap, and nothing is
written to disk.

Whether the rows do lie together is only known at the end: ``StreamedPartitions`` raises ``NotClustered`` as soon
as a key of a batch was in the partition before (a partition is handed on only once the next batch is
checked against it, so a shuffled file is found before any of it is prepared), and at the end when any
key is in two partitions (the 64-bit hashes of every partition's keys are compared).
The import job streams only runs that send nothing before every row is prepared (a dry run, or an error
budget, which holds the records until the end), so that on ``NotClustered`` it can forget what it did
and run the partitioned way from the start.

The rows of given ids (for the report's API rejections) are found by reading the input again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import polars as pl

from importer.frame import RID_COL, is_bookkeeping
from importer.inputs.csv_text import MAX_CELLS, ROW_CELLS
from importer.inputs.files import note_start
from importer.inputs.set_aside import SetAside
from importer.partitions.prefetch import prefetch
from importer.partitions.shards import Shard

MAX_ROWS = 65_536  # rows of a partition at most, and no more than MAX_CELLS (rows × (columns + ROW_CELLS), as a
# CSV piece: memory follows rows and cells; a Parquet batch of 100k order lines is prepared in three)
SLACK = 1.1  # a CSV piece sized by MAX_CELLS may hold a little more (it ends at a record's end): not cut
_HASH = "_key_hash"
_SEED = 0xC1A5


class NotClustered(Exception):
    """The rows of one record are not together in the input (as the streamed first pass needs)."""


class StreamedPartitions:
    """Partitions of whole records, made from the input's batches as they are read."""

    def __init__(
        self,
        batches: Iterable[pl.DataFrame],
        key: Callable[[list[str]], pl.Expr],
        shard: Shard | None,
        reread: Callable[[], Iterable[pl.DataFrame]],
    ) -> None:
        self._batches, self._key, self._shard, self._reread = batches, key, shard, reread
        self.rows = 0  # rows kept (this shard's)
        self.set_aside = SetAside()  # blank rows of this shard, and those the mapping drops: left out
        self.other_shards = 0  # rows left to the other shards
        self.partitions = 0
        self.starts: list[tuple[int, str]] = []  # (first row id, file) of each file
        self._hashes: list[pl.Series] = []
        self._columns: pl.DataFrame | None = None  # the first batch without rows (its columns)

    def __iter__(self) -> Iterator[pl.DataFrame]:
        """Partitions of whole records in input order; NotClustered when a record's rows turn out apart.
        They are read, cut and checked in a thread of their own, a partition ahead of the consumer."""
        return prefetch(self._partitions(), name="ecdp-read")

    def _partitions(self) -> Iterator[pl.DataFrame]:
        carry: pl.DataFrame | None = None
        held: pl.DataFrame | None = None  # yielded once the next batch is checked against it: a shuffled
        # file is found before any partition of it is prepared
        for batch in self._slices():
            frame = batch if carry is None else pl.concat([carry, batch], how="diagonal_relaxed")
            hashes = frame.select(self._hash(frame.columns)).to_series()
            last = hashes.drop_nulls().tail(1)
            going_on = hashes.is_in(last.implode()).fill_null(False)
            carried = int(going_on.sum())
            if going_on.tail(carried).all():  # the usual case: the last key's rows end the batch
                whole = frame.height - carried
                part, carry, own = frame.head(whole), frame.tail(carried), hashes.head(whole)
            else:
                part, carry, own = frame.filter(~going_on), frame.filter(going_on), hashes.filter(~going_on)
            keys = own.drop_nulls().unique()
            if self._hashes and pl.concat([keys, last]).is_in(self._hashes[-1].implode()).any():
                raise NotClustered
            if part.height:
                if held is not None:
                    yield held
                held = self._partition(part, keys)
        if held is not None:
            yield held
        if carry is not None and carry.height:
            yield self._partition(carry, last)  # (the carried rows are the rows of the last key)
        if not self.partitions and self._columns is not None:  # no rows: the columns are still checked
            yield self._partition(self._columns, pl.Series(_HASH, [], dtype=pl.UInt64))
        if self._hashes and pl.concat(self._hashes).is_duplicated().any():
            raise NotClustered

    def _partition(self, frame: pl.DataFrame, keys: pl.Series) -> pl.DataFrame:
        self._hashes.append(keys)
        self.partitions += 1
        return frame

    def _hash(self, columns: list[str]) -> pl.Expr:
        key = self._key(columns)
        return pl.when(key.is_not_null()).then(key.hash(_SEED)).alias(_HASH)

    def _slices(self) -> Iterator[pl.DataFrame]:
        """The input's batches (this shard's rows), none longer than ``MAX_ROWS`` rows or ``MAX_CELLS``."""
        for batch in self._batches:
            if self._columns is None:
                self._columns = batch.clear()
            note_start(self.starts, batch)
            if self._shard is not None:
                batch, others = self._shard.keep(batch, self._key(batch.columns))
                self.other_shards += others
            batch = self.set_aside.take(batch)
            self.rows += batch.height
            width = max(1, sum(not is_bookkeeping(c) for c in batch.columns))
            most = max(1, min(MAX_ROWS, int(MAX_CELLS * SLACK) // (width + ROW_CELLS)))
            slices = max(1, -(-batch.height // most))  # the fewest under the bound, of equal rows
            rows = max(1, -(-batch.height // slices))
            for start in range(0, batch.height, rows):
                yield batch.slice(start, rows)

    def rows_of(self, rids: pl.Series) -> Iterator[pl.DataFrame]:
        """The rows with these ids, a batch at a time, in input order (the input is read again)."""
        wanted = rids.unique().implode()
        for batch in self._reread():
            found = batch.filter(pl.col(RID_COL).is_in(wanted))
            if found.height:
                yield found

    def close(self) -> None:
        """Nothing is held on disk."""
