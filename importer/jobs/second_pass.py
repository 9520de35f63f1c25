"""The second pass of a run: prepare the partitions (three at a time) and hand their records on as chunks.

For each partition of the first pass (``importer.partitions.streamed`` as the input is read, or the hash
partitions of ``importer.partitions.hashed``; both are ``Rows``): the resource's ``prepare`` validates and
builds records; the rows it rejects go to the report at once (so rejects are written as the run goes,
never held for the whole input); records already in the platform (``--resume``, ``--changed-only``) are
settled without sending; the rest become chunks for the sender (through ``importer.delivery.chunk_queue``) or, in a dry
run, request bodies in ``payloads.jsonl``. Records short of a whole chunk
wait for the next partition's, so small partitions do not make small requests. Counts are kept per
partition, so nothing here grows with the number of rows: a row is counted, and reported if rejected,
while its partition is in memory.

With an error budget (``--max-rejects``, see ``importer.budget``) nothing may be sent before every row
is validated, so the built records are *held*: written to a private temporary Parquet file per
partition, and handed on only when the budget allows (``gate``); otherwise their rows go to
``held.csv``, held back (not ``failed.csv``: nothing was attempted). Memory stays bounded by one partition
either way.

Three partitions are prepared at once, in threads (``PREPARE_WORKERS``), and settled in order.
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import polars as pl

from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    FINGERPRINT_COL,
    JSON_COL,
    KEY_COL,
    RID_COL,
    STAGE_COL,
    no_reasons,
)
from importer.inputs.batches import mapped, user_view
from importer.jobs.journal import fingerprints
from importer.partitions import Rows
from importer.records.chunking import Chunk, as_row_lists, in_chunks
from importer.records.definitions import Lists
from importer.records.validation import Prepared
from importer.report.files import Report, report_table
from importer.scratch import scratch_dir

PREPARE_WORKERS = 3  # partitions prepared at once: more than the two cores, so one's Python parts (GIL) do not
# leave a core idle (docs/benchmarks.md: faster than two, for a little more memory)
UNCERTAIN = (
    "sent by run {} without an answer: it may be stored, so it is not sent again (--resend-uncertain sends "
    "it, at the risk of a second event)"
)
HELD_BACK = "held back, not sent (valid)"  # a held row's reason in held.csv, before the stop's own
LARGE_PARTITION_WORKERS = 2  # for the hashed first pass's 16 MB partitions of inputs over 1 GB (memory)


@dataclass
class Counts:
    """What the second pass found, summed over partitions."""

    rows_rejected: int = 0  # by validation
    rows_settled: int = 0  # settled without an answer: already accepted, unchanged; a dry run's would-be-sent
    rows_withheld: int = 0  # valid, but held back: the run was stopped by its error budget or drift gate
    rows_left_out: int = 0  # order lines the mapping left out, kept for their order's cells (left_out.csv)
    rows_uncertain: int = 0  # --resume of custom events: sent by the run resumed, never answered (uncertain.csv)
    records_built: int = 0
    records_unchanged: int = 0
    records_already_accepted: int = 0
    chunks: int = 0
    notes: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


@dataclass
class SecondPass:
    """Prepares partitions and hands their chunks to ``deliver`` (False: not sent, keep for the report)."""

    prepare: Callable[[pl.DataFrame, Lists | None], Prepared]
    lists_for: Callable[[pl.DataFrame], Lists | None]  # the settings lists to check a partition against (read
    # here, in the pass's own thread, before the partition goes to a worker: preparing makes no request)
    warn: Callable[[str], None]
    report: Report
    chunk_size: int
    envelope: dict[str, str]
    journaled: bool = False  # records need a fingerprint (the journal records what is accepted)
    known: list[tuple[str, pl.DataFrame]] = field(default_factory=list)  # (count name, known key+fingerprint)
    dry_run: bool = False  # request bodies go to payloads.jsonl, opened with the first one
    gate: Callable[[Counts], str | None] | None = None  # after every partition: why nothing may be sent, or None
    counts: Counts = field(default_factory=Counts)
    unsent: list[Chunk] = field(default_factory=list)
    stopped: str | None = None  # what the gate said
    _payloads: IO[bytes] | None = None
    _held: list[Path | None] = field(default_factory=list)  # per partition: its held records (None: none)
    _hold_dir: Path | None = None
    _rest: pl.DataFrame | None = None  # records short of a whole chunk, waiting for the next ones
    workers: int = 0  # partitions prepared at once; 0: PREPARE_WORKERS
    on_withheld: Callable[[pl.DataFrame], None] | None = None  # shown the held rows (as the user's file has them)
    # --resume of custom events: the keys the run resumed sent without an answer (``_key``, ``run_id``): their
    # records are not sent again but reported as uncertain (``importer.jobs.dispatches``)
    uncertain: pl.DataFrame | None = None

    def close(self, finished: bool) -> None:
        """Close payloads.jsonl (a finished dry run that may send and built nothing gets an empty one) and
        delete held records."""
        if finished and self.dry_run and self._payloads is None and self.stopped is None:
            self._payloads = self.report.payloads()
        if self._payloads is not None:
            self._payloads.close()
        if self._hold_dir is not None:
            shutil.rmtree(self._hold_dir, ignore_errors=True)

    def run(self, partitions: Rows, deliver: Callable[[Chunk], bool] | None) -> None:
        """Every partition, in order; ``workers`` are prepared at once (threads: polars releases the GIL, so
        they use both cores), and each is settled (counted, reported, chunked) in turn. With a
        gate, the held records are then handed on, or withheld."""
        workers = self.workers or PREPARE_WORKERS
        with ThreadPoolExecutor(workers, thread_name_prefix="ecdp-prepare") as pool:
            pending: deque[Future[tuple[Prepared, pl.DataFrame, pl.DataFrame, pl.DataFrame]]] = deque()
            for frame in partitions:
                pending.append(pool.submit(self._prepare, frame, self.lists_for(frame)))
                del frame  # the worker holds it only while preparing
                if len(pending) >= workers:
                    self.settle(*pending.popleft().result(), deliver)
            while pending:
                self.settle(*pending.popleft().result(), deliver)
        if self.gate is None or self.dry_run:
            self._flush(deliver)
        if self.gate is None:
            return
        self.stopped = self.gate(self.counts)
        if self.stopped is None:
            self._release(deliver)
        else:
            self._withhold(partitions, self.stopped)

    def _prepare(
        self, frame: pl.DataFrame, lists: Lists | None
    ) -> tuple[Prepared, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """What ``prepare`` makes of the partition, and the report's rows of those it rejects and of the
        lines it left out (the rows as the user's file has them, with their reasons): made here, in a
        worker, so the partition need not be kept until it is settled, and settling, which is done one
        partition at a time, has less to do."""
        prepared = self.prepare(mapped(frame), lists)
        uncertain = no_reasons()
        if self.uncertain is not None and self.uncertain.height and prepared.records.height:
            uncertain = as_row_lists(prepared.records.join(self.uncertain, on=KEY_COL)).select(
                pl.col(RID_COL).explode(), pl.lit("").alias(FIELD_COL), pl.format(UNCERTAIN, "run_id").alias(ERROR_COL)
            )
            prepared = replace(prepared, records=prepared.records.join(self.uncertain, on=KEY_COL, how="anti"))
        return (
            prepared,
            _table(frame, prepared.reasons, "validation"),
            _table(frame, prepared.left_out, "mapping"),
            _table(frame, uncertain, "resume"),
        )

    def settle(
        self,
        prepared: Prepared,
        rejected: pl.DataFrame,
        left_out: pl.DataFrame,
        uncertain: pl.DataFrame,
        deliver: Callable[[Chunk], bool] | None,
    ) -> None:
        """Count and report what ``prepare`` made of a partition (``rejected``, ``left_out`` and ``uncertain``:
        the report's rows of those it rejects, of the order lines the mapping left out and of the events a
        resumed run left uncertain, see ``_prepare``), and hand on its chunks."""
        counts = self.counts
        if uncertain.height:
            counts.rows_uncertain += uncertain.height
            self.report.add_rows("uncertain.csv", uncertain)
        counts.ignored = counts.ignored or prepared.ignored
        for warning in prepared.warnings:  # (the run's warning log gives each once)
            self.warn(warning)
        for name, value in prepared.notes.items():
            counts.notes[name] = counts.notes.get(name, 0) + (value or 0)
        if prepared.reasons.height:
            counts.rows_rejected += prepared.reasons.height  # one reasons row per rejected row
            self.report.add_rows("rejected.csv", rejected)
        if prepared.left_out.height:
            counts.rows_left_out += prepared.left_out.height
            self.report.add_rows("left_out.csv", left_out)
        records = as_row_lists(prepared.records)
        counts.records_built += records.height
        if self.journaled:
            fingerprinted = fingerprints(records.get_column(JSON_COL))
            records = records.with_columns(pl.Series(FINGERPRINT_COL, fingerprinted, dtype=pl.String))
        for name, known in self.known:
            held = records.join(known, on=[KEY_COL, FINGERPRINT_COL], how="semi")
            setattr(counts, name, getattr(counts, name) + held.height)
            counts.rows_settled += _rows(held)
            records = records.join(held.select(KEY_COL), on=KEY_COL, how="anti")
        if self.gate is not None:  # a dry run sends nothing: it writes its bodies now and keeps only row ids
            self._held.append(self._hold(records.select(RID_COL) if self.dry_run else records))
        if self.gate is None or self.dry_run:
            self._emit(records, deliver)

    def _emit(self, records: pl.DataFrame, deliver: Callable[[Chunk], bool] | None) -> None:
        """Hand on the records in whole chunks; the rest waits for the next records (partitions of a
        streamed run can be small) or for ``_flush`` at the end."""
        if self._rest is not None:
            records = pl.concat([self._rest, records], how="vertical_relaxed")
            self._rest = None
        whole = records.height - records.height % self.chunk_size
        if whole < records.height:
            self._rest = records.slice(whole)
        self._chunks(records.head(whole), deliver)

    def _flush(self, deliver: Callable[[Chunk], bool] | None) -> None:
        if self._rest is not None:
            rest, self._rest = self._rest, None
            self._chunks(rest, deliver)

    def _chunks(self, records: pl.DataFrame, deliver: Callable[[Chunk], bool] | None) -> None:
        counts = self.counts
        for chunk in in_chunks(records, self.chunk_size, counts.chunks):
            counts.chunks += 1
            if self.dry_run:
                if self._payloads is None:  # opened late: a run stopped by its columns leaves no report
                    self._payloads = self.report.payloads()
                # a write per body: a partition's bodies at once (tens of MB) cost the kernel more (see
                # docs/benchmarks.md); its pieces are written as they are (no copy joins them)
                self._payloads.writelines((*chunk.body_parts(self.envelope), b"\n"))
                counts.rows_settled += chunk.rows
            elif deliver is None or not deliver(chunk):
                self.unsent.append(chunk)

    def _hold(self, records: pl.DataFrame) -> Path | None:
        if not records.height:
            return None
        if self._hold_dir is None:
            self._hold_dir = scratch_dir("held")
        path = self._hold_dir / f"{len(self._held):05d}.parquet"
        records.write_parquet(path, compression="lz4")
        return path

    def _release(self, deliver: Callable[[Chunk], bool] | None) -> None:
        if self.dry_run:  # already written
            return
        for path in self._held:
            if path is not None:
                self._emit(pl.read_parquet(path), deliver)
                path.unlink()
        self._flush(deliver)

    def _withhold(self, partitions: Rows, reason: str) -> None:
        """The held records' rows to held.csv, held back (their columns are read again)."""
        if self._payloads is not None:  # a dry run's bodies: a real run would send none of them
            self._payloads.close()
            self._payloads = None
            self.report.path("payloads.jsonl").unlink()
        held = [pl.read_parquet(path, columns=[RID_COL]).get_column(RID_COL).explode() for path in self._held if path]
        if not held:
            return
        rids = pl.concat(held)
        for rows in partitions.rows_of(rids):
            reasons = rows.select(RID_COL).with_columns(
                pl.lit("").alias(FIELD_COL),
                pl.lit(f"{HELD_BACK}: {reason}").alias(ERROR_COL),
                pl.lit("budget").alias(STAGE_COL),
            )
            view = user_view(rows)
            if self.on_withheld is not None:
                self.on_withheld(view)
            self.report.add_rows("held.csv", report_table(reasons, view))
        self.counts.rows_withheld += rids.len()
        if self.dry_run:  # counted as would-be-sent when written
            self.counts.rows_settled -= rids.len()


def _table(frame: pl.DataFrame, reasons: pl.DataFrame, stage: str) -> pl.DataFrame:
    """The report's rows (as the user's file has them) of the rows ``reasons`` names, at ``stage``."""
    if not reasons.height:
        return reasons
    rows = user_view(frame.join(reasons.select(RID_COL), on=RID_COL, how="semi"))
    return report_table(reasons.with_columns(pl.lit(stage).alias(STAGE_COL)), rows)


def _rows(records: pl.DataFrame) -> int:
    return int(records.get_column(RID_COL).list.len().sum()) if records.height else 0
