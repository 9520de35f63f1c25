"""The first pass of a run: the input's rows, in partitions that each hold whole records.

Two ways, one shape (``Rows``): ``streamed`` cuts the batches as the reader gives them, when a record's
rows lie together (as exports list them); ``hashed`` spreads every row over hash partitions on disk by
its record key, when they may lie anywhere. ``shards`` keeps one share of the records (``--shard K/N``)
and ``prefetch`` reads the next batch while the current one is filed. Both leave out blank rows and the
rows a mapping drops (counted).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import polars as pl

from importer.inputs.set_aside import SetAside


class Rows(Protocol):
    """A run's rows after the first pass, in partitions of whole records (``importer.partitions.hashed``: hash
    partitions on disk; ``importer.partitions.streamed``: made as the input is read)."""

    rows: int  # rows of this run (of its shard), blank and unmatched rows left out
    set_aside: SetAside  # blank rows of this run's shard, and those the mapping drops: never prepared
    other_shards: int
    partitions: int
    starts: list[tuple[int, str]]  # (first row id, file) of each file

    def __iter__(self) -> Iterator[pl.DataFrame]: ...

    def rows_of(self, rids: pl.Series) -> Iterator[pl.DataFrame]:
        """The rows with these ids, a batch at a time, in input order."""
        ...

    def close(self) -> None: ...
