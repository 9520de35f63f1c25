"""The report's row files of an import, once its rows are sent: who was rejected, failed or dropped.

``account`` writes ``rejected.csv`` (the API's rejections, with the problem answer's ``substatus`` and
``type``), ``failed.csv`` (no answer, 5xx after retries, abort, Ctrl-C) and, for requests that are not
idempotent, ``uncertain.csv`` (sent, and perhaps processed: never sent again by themselves) and counts
their rows;
``unmatched_file`` writes ``unmatched.csv``, the rows a mapping dropped because a join found nothing, and
``left_out_file`` ``left_out.csv``, the rows its ``[[leave_out]]`` rules left out (with the order lines the
second pass added: those kept for their order's cells, of orders it made a record of); ``where`` names a
row's file and line for ``errors.jsonl``. Each input row is in at most one record, so row counts are sums
over records.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from importer.delivery.outcomes import Outcomes
from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    HEADER_ROWS,
    LEFT_OUT_COL,
    RID_COL,
    STAGE_COL,
    UNMATCHED_COL,
    Reason,
    api_reasons_of,
    reasons_of,
)
from importer.inputs.batches import user_view
from importer.inputs.set_aside import SetAside
from importer.partitions import Rows
from importer.report.files import Report, report_table
from importer.report.summary import report_file


@dataclass(frozen=True)
class Accounted:
    """What the API's answers add to the report: rows it rejected, rows that failed, and the files."""

    rows_rejected: int
    rows_failed: int
    records_failed: int
    rejected_file: str | None
    failed_file: str | None
    rows_uncertain: int = 0  # sent, and whether the API processed them is unknown (uncertain.csv)
    uncertain_file: str | None = None


UNCERTAIN_HINT = (
    "it may be stored; it is not sent again by --resume unless --resend-uncertain is given (a second "
    "event may message the customer twice)"
)


def account(
    rows: Rows,
    outcomes: Outcomes,
    report: Report,
    not_landed: Callable[[pl.DataFrame], None] | None = None,
    at_most_once: bool = False,
) -> Accounted:
    """rejected.csv and failed.csv, with the rows the API rejected and those that failed. Each input row is
    in at most one record, so row counts are sums over records; rows of records never answered (abort,
    Ctrl-C) are failed. ``at_most_once`` (custom events): records whose request may have been processed
    (``Outcomes.uncertain``, and those in flight when the run stopped) go to uncertain.csv instead.
    ``not_landed`` is shown the failed rows (as the user's file has them)."""
    failed_reasons: list[Reason] = [(rids, "", e) for rids, e in outcomes.failed]
    uncertain_reasons: list[Reason] = [(rids, "", e) for rids, e in outcomes.uncertain]
    if at_most_once:
        failed_reasons += outcomes.not_sent()
        uncertain_reasons += outcomes.in_flight(UNCERTAIN_HINT)
    else:
        failed_reasons += outcomes.unanswered(
            "it may be stored; importing failed.csv again settles it (safe in the AddOrUpdate and AddOrReplace modes)"
        )
    api_rejected = api_reasons_of(outcomes.rejected)
    failed, uncertain = reasons_of(failed_reasons), reasons_of(uncertain_reasons)
    files = (("rejected.csv", api_rejected), ("failed.csv", failed), ("uncertain.csv", uncertain))
    if any(reasons.height for _, reasons in files):
        staged = [(name, reasons.with_columns(pl.lit("api").alias(STAGE_COL))) for name, reasons in files]
        for found in rows.rows_of(pl.concat([reasons.get_column(RID_COL) for _, reasons in files])):
            view = user_view(found)
            if not_landed is not None:
                not_landed(view.join(failed.select(RID_COL), on=RID_COL, how="semi"))
            for name, reasons in staged:
                report.add_rows(name, report_table(reasons.join(view.select(RID_COL), on=RID_COL, how="semi"), view))
    rejected_file = report.finish_rows("rejected.csv")
    failed_file = report.finish_rows("failed.csv")
    uncertain_file = report.finish_rows("uncertain.csv")
    return Accounted(
        rows_rejected=api_rejected.get_column(RID_COL).n_unique(),
        rows_failed=failed.get_column(RID_COL).n_unique(),
        records_failed=len(failed_reasons),
        rejected_file=report_file(rejected_file),
        failed_file=report_file(failed_file),
        rows_uncertain=uncertain.get_column(RID_COL).n_unique(),
        uncertain_file=report_file(uncertain_file),
    )


def unmatched_file(set_aside: SetAside, report: Report) -> Path | None:
    """``unmatched.csv``: the rows the mapping dropped because a join found no row for them, each with the
    reason, in the report's layout (stage ``mapping``); None when it dropped none."""
    return _mapping_file("unmatched.csv", set_aside.unmatched_rows, UNMATCHED_COL, report)


def left_out_file(set_aside: SetAside, report: Report) -> Path | None:
    """``left_out.csv``: the rows the mapping's ``[[leave_out]]`` rules left out, each with the rule's reason
    (stage ``mapping``); None when it left out none."""
    return _mapping_file("left_out.csv", set_aside.left_out_rows, LEFT_OUT_COL, report)


def _mapping_file(name: str, frames: list[pl.DataFrame], column: str, report: Report) -> Path | None:
    for rows in frames:
        reasons = rows.select(
            RID_COL, pl.lit("").alias(FIELD_COL), pl.col(column).alias(ERROR_COL), pl.lit("mapping").alias(STAGE_COL)
        )
        report.add_rows(name, report_table(reasons, user_view(rows)))
    return report.finish_rows(name)


def where(starts: list[tuple[int, str]], firsts: list[int], rid: int) -> dict[str, Any]:
    """The file and row number of a row id (a file's rows have consecutive ids, row 2 first; ``firsts`` are
    the files' first row ids)."""
    start, file = starts[bisect.bisect_right(firsts, rid) - 1]
    return {"file": file, "row": rid - start + HEADER_ROWS + 1}
