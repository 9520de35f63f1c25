"""The second pass of a run: prepare the partitions (two at a time) and hand their records on as chunks.

For each partition of the spool (see ``importer.spool``): the resource's ``prepare`` validates and
builds records; the rows it rejects go to the report at once (so rejects are written as the run goes,
never held for the whole input); records already in the platform (``--resume``, ``--changed-only``) are
settled without sending; the rest become chunks for the sender (through ``importer.feed``) or, in a dry
run, request bodies in ``payloads.jsonl``. Counts are kept per partition, so nothing here grows with
the number of rows: a row is counted, and reported if rejected, while its partition is in memory.
Two partitions are prepared at once, in threads (``PREPARE_WORKERS``), and settled in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

import polars as pl

from importer import encode
from importer.inputs import mapped, user_view
from importer.journal import FINGERPRINT_COL, fingerprints
from importer.read import RID_COL
from importer.report import Report, report_table
from importer.validate import KEY_COL, STAGE_COL, Prepared

PREPARE_WORKERS = 2  # partitions prepared at once (half-size partitions, so memory stays as with one)

@dataclass
class Counts:
    """What the second pass found, summed over partitions."""

    rows_rejected: int = 0  # by validation
    rows_settled: int = 0  # counted as accepted without an answer: dry run, already accepted, unchanged
    records_built: int = 0
    records_unchanged: int = 0
    records_already_accepted: int = 0
    chunks: int = 0
    notes: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


@dataclass
class Producer:
    """Prepares partitions and hands their chunks to ``deliver`` (False: not sent, keep for the report)."""

    prepare: Callable[[pl.DataFrame], Prepared]
    report: Report
    chunk_size: int
    envelope: dict[str, str]
    journaled: bool = False  # records need a fingerprint (the journal records what is accepted)
    known: list[tuple[str, pl.DataFrame]] = field(default_factory=list)  # (count name, known key+fingerprint)
    payloads: IO[bytes] | None = None  # dry run: request bodies go here
    counts: Counts = field(default_factory=Counts)
    unsent: list[encode.Chunk] = field(default_factory=list)
    workers: int = 0  # partitions prepared at once; 0: PREPARE_WORKERS

    def run(self, partitions: Any, deliver: Callable[[encode.Chunk], bool] | None) -> None:
        """Every partition, in order; ``workers`` are prepared at once (threads: polars releases the GIL, so
        two partitions use both cores), and each is settled (counted, reported, chunked) in turn."""
        workers = self.workers or PREPARE_WORKERS
        with ThreadPoolExecutor(workers, thread_name_prefix="ecdp-prepare") as pool:
            pending: deque[tuple[pl.DataFrame, Future[Prepared]]] = deque()
            for frame in partitions:
                pending.append((frame, pool.submit(self.prepare, mapped(frame))))
                if len(pending) >= workers:
                    self._settle_first(pending, deliver)
            while pending:
                self._settle_first(pending, deliver)

    def _settle_first(self, pending: deque[tuple[pl.DataFrame, Future[Prepared]]],
                      deliver: Callable[[encode.Chunk], bool] | None) -> None:
        frame, prepared = pending.popleft()
        self.settle(frame, prepared.result(), deliver)

    def partition(self, frame: pl.DataFrame, deliver: Callable[[encode.Chunk], bool] | None) -> None:
        self.settle(frame, self.prepare(mapped(frame)), deliver)

    def settle(self, frame: pl.DataFrame, prepared: Prepared, deliver: Callable[[encode.Chunk], bool] | None) -> None:
        """Count and report what ``prepare`` made of the partition ``frame``, and hand on its chunks."""
        counts = self.counts
        counts.ignored = counts.ignored or prepared.ignored
        for name, value in prepared.notes.items():
            counts.notes[name] = counts.notes.get(name, 0) + (value or 0)
        reasons = prepared.reasons
        if reasons.height:
            counts.rows_rejected += reasons.height  # one reasons row per rejected row
            table = report_table(reasons.with_columns(pl.lit("validation").alias(STAGE_COL)), user_view(frame))
            self.report.add_rows("rejected.csv", table)
        records = encode.as_row_lists(prepared.records)
        counts.records_built += records.height
        if self.journaled:
            texts = records.get_column(encode.JSON_COL).to_list()
            records = records.with_columns(pl.Series(FINGERPRINT_COL, fingerprints(texts), dtype=pl.String))
        for name, known in self.known:
            held = records.join(known, on=[KEY_COL, FINGERPRINT_COL], how="semi")
            setattr(counts, name, getattr(counts, name) + held.height)
            counts.rows_settled += _rows(held)
            records = records.join(held.select(KEY_COL), on=KEY_COL, how="anti")
        for chunk in encode.chunks(records, self.chunk_size, counts.chunks):
            counts.chunks += 1
            if self.payloads is not None:
                self.payloads.write(chunk.body(self.envelope) + b"\n")
                counts.rows_settled += chunk.rows
            elif deliver is None or not deliver(chunk):
                self.unsent.append(chunk)


def _rows(records: pl.DataFrame) -> int:
    return int(records.get_column(RID_COL).list.len().sum()) if records.height else 0
