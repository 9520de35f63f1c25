"""``--shard K/N``: this run's share of the records, so N machines or cron jobs split one load without overlap.

A row belongs to shard ``K`` of ``N`` when the CRC-32 of its record key (of the key's UTF-8 bytes, a hash
any tool can reproduce) is ``K-1`` modulo ``N``; rows without a key are spread by row id. Every row of a
record has the record's key, so a record is whole in exactly one shard. The first pass (``streamed``,
``hashed``) keeps its shard's rows and counts the others.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import polars as pl

from importer.errors import UsageError
from importer.frame import KEY_COL, RID_COL


@dataclass(frozen=True)
class Shard:
    """This run's share of the records: shard ``number`` (1-based) of ``count``."""

    number: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise UsageError(
                f"--shard {text!r} is not K/N with 1 ≤ K ≤ N.",
                "For example --shard 2/4 takes the second of four shares.",
            )
        return cls(int(match[1]), int(match[2]))

    def mask(self, key: pl.Series, rid: pl.Series) -> pl.Series:
        """Which rows belong to this shard."""
        crc = pl.Series([None if k is None else zlib.crc32(k.encode("utf-8")) for k in key.to_list()], dtype=pl.Int64)
        bucket = crc.fill_null(rid) % self.count
        return bucket == self.number - 1

    def keep(self, batch: pl.DataFrame, key: pl.Expr) -> tuple[pl.DataFrame, int]:
        """This shard's rows of ``batch`` (``key`` evaluates on it), and how many rows are the others'."""
        keys = batch.select(key.alias(KEY_COL), RID_COL)
        mine = self.mask(keys.get_column(KEY_COL), keys.get_column(RID_COL))
        return batch.filter(mine), batch.height - int(mine.sum())
