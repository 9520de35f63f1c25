"""The partitioned first pass of a run: input rows, read in batches, spread over hash partitions on disk.

Records are made of rows that may lie anywhere in the input (an order's lines, a customer given twice),
so a run cannot always prepare one batch of rows at a time (when they lie together it can:
``importer.partitions.streamed``). Instead every row goes to the partition its record key hashes to — temporary
Parquet files in a private directory (``importer.scratch``) — and the second pass prepares one
partition at a time: all rows of a record are in one partition, and memory depends on the partition's
size, not the input's. A small input is one partition and never touches the disk.

Rows keep their ``_rid`` (run-wide row id), so a partition read back is in input order, and the rows
of any set of ids can be fetched again for the report (``rows_of``).

``--shard K/N`` (``importer.partitions.shards``) is applied here, as the rows are filed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import polars as pl

from importer.frame import RID_COL
from importer.inputs import growing_files
from importer.inputs.files import note_start
from importer.inputs.set_aside import SetAside
from importer.partitions.prefetch import prefetch
from importer.partitions.shards import Shard
from importer.scratch import scratch_dir

PART_COL = "_part"
PARTITION_BYTES = 8 << 20  # of input text per partition (about 35k order lines; three are prepared at once)
FLUSH_ROWS = 1_000_000  # rows held before the partitions' buffers are written out (or FLUSH_BYTES of them)
FLUSH_BYTES = 192 << 20  # held (see ``held_bytes``); few flushes make few, large files (each has its cost)
# Inputs over LARGE_INPUT_BYTES (~4.6M order lines) have a 1 GB budget instead of 700 MB: partitions and
# flushes this big make fewer files and less per-partition overhead (docs/benchmarks.md has the numbers).
LARGE_INPUT_BYTES, LARGE_PARTITION_BYTES, LARGE_FLUSH_BYTES = 1 << 30, 16 << 20, 480 << 20
VIEW_BYTES = 16  # what a text cell costs beside its text (polars' string view), which estimated_size leaves out
_SEED = 0x5EED


def input_bytes(paths: list[Path]) -> int:
    """The inputs' size as text (compressed formats counted six times their size)."""
    size = 0
    for path in paths:
        growing_files.wait_for(path)  # (a query's result still being written: its size is the whole result's)
        compressed = path.name.lower().endswith((".gz", ".zip", ".parquet", ".pq", ".xlsx"))
        size += path.stat().st_size * (6 if compressed else 1) if path.is_file() else 0
    return size


def for_inputs(paths: list[Path], shard: Shard | None = None, partitions: int | None = None) -> HashedPartitions:
    """Hash partitions sized for the inputs (measured once): one partition per ``PARTITION_BYTES`` of text, flushes
    of ``FLUSH_BYTES``; for inputs over ``LARGE_INPUT_BYTES``, ``LARGE_PARTITION_BYTES`` and
    ``LARGE_FLUSH_BYTES``. ``partitions`` overrides the count."""
    size = input_bytes(paths)
    large = size > LARGE_INPUT_BYTES
    count = partitions or max(1, -(-size // (LARGE_PARTITION_BYTES if large else PARTITION_BYTES)))
    return HashedPartitions(count, shard, LARGE_FLUSH_BYTES if large else FLUSH_BYTES, large=large)


class HashedPartitions:
    """Rows spread over ``partitions`` partitions; in memory while there is one, on disk otherwise."""

    def __init__(
        self, partitions: int, shard: Shard | None = None, flush_bytes: int | None = None, large: bool = False
    ) -> None:
        self.partitions = partitions
        self.large = large  # an input over LARGE_INPUT_BYTES (its partitions are larger: fewer at once)
        self.shard = shard
        self.flush_bytes = flush_bytes or FLUSH_BYTES
        self.rows = 0  # rows kept (this shard's)
        self.set_aside = SetAside()  # blank rows of this shard, and those the mapping drops: left out
        self.other_shards = 0  # rows left to the other shards
        self._buffers: list[list[pl.DataFrame]] = [[] for _ in range(partitions)]
        self._buffered = 0
        self._buffered_bytes = 0
        self._flushes = 0
        self._dir: Path | None = None
        self.starts: list[tuple[int, str]] = []  # (first row id, file) of each file

    def fill(self, batches: Iterable[pl.DataFrame], key: Callable[[list[str]], pl.Expr]) -> None:
        """The first pass: every batch filed (the next one is read meanwhile), and where each file's rows
        start; ``key`` gives a batch's record key from its columns."""
        for batch in prefetch(batches, name="ecdp-read"):
            note_start(self.starts, batch)
            self.add(batch, key(batch.columns))

    def add(self, batch: pl.DataFrame, key: pl.Expr) -> None:
        """File the rows of ``batch`` under their key's partition (``key`` evaluates on the batch)."""
        if self.shard is not None:
            batch, others = self.shard.keep(batch, key)
            self.other_shards += others
        batch = self.set_aside.take(batch)
        self.rows += batch.height
        if self.partitions == 1:
            self._buffers[0].append(batch)
            return
        tagged = batch.with_columns((key.hash(_SEED) % self.partitions).alias(PART_COL))
        for (part,), rows in tagged.partition_by(PART_COL, as_dict=True, include_key=False).items():
            self._buffers[int(part)].append(rows)
        self._buffered += batch.height
        self._buffered_bytes += held_bytes(batch)
        if self._buffered >= FLUSH_ROWS or self._buffered_bytes >= self.flush_bytes:
            self._flush()

    def _flush(self) -> None:
        if self._dir is None:
            self._dir = scratch_dir("spool")
        for part, frames in enumerate(self._buffers):
            if frames:
                target = self._dir / f"{part:05d}"
                target.mkdir(exist_ok=True)
                _concat(frames).write_parquet(
                    target / f"{self._flushes:06d}.parquet", compression="lz4", statistics=False
                )
        self._buffers = [[] for _ in range(self.partitions)]
        self._buffered, self._buffered_bytes, self._flushes = 0, 0, self._flushes + 1

    def __iter__(self) -> Iterator[pl.DataFrame]:
        """The partitions that hold rows, one frame each, rows in input order. Rows still buffered are
        written out first: the second pass then holds one partition at a time, not the last flush's worth."""
        if self.partitions > 1 and self._buffered:
            self._flush()
        for part in range(self.partitions):
            frame = self._partition(part)
            if frame is not None:
                yield frame

    def _partition(self, part: int) -> pl.DataFrame | None:
        frames = list(self._buffers[part])
        if self._dir is not None and (self._dir / f"{part:05d}").exists():
            frames = [pl.read_parquet(f) for f in sorted((self._dir / f"{part:05d}").iterdir())] + frames
        if not frames:
            return None
        frame = _concat(frames)
        return frame.sort(RID_COL) if len(frames) > 1 else frame

    def rows_of(self, rids: pl.Series) -> Iterator[pl.DataFrame]:
        """The rows with these ids, a partition at a time (each in input order)."""
        wanted = rids.unique().implode()
        for frame in self:
            found = frame.filter(pl.col(RID_COL).is_in(wanted))
            if found.height:
                yield found

    def close(self) -> None:
        """Delete the partitions written to disk."""
        self._buffers = [[] for _ in range(self.partitions)]
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def held_bytes(frame: pl.DataFrame) -> int:
    """The memory ``frame`` holds: polars' estimate, and the views of its text cells, which the estimate
    leaves out (for a file of many empty cells, most of what it holds: docs/benchmarks.md)."""
    texts = sum(dtype == pl.String for dtype in frame.schema.dtypes())
    return int(frame.estimated_size()) + VIEW_BYTES * frame.height * texts


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
