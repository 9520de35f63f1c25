"""Rows set aside before any check: blank rows, and the rows a mapping drops or leaves out. Counted,
never checked, sent or reported as rejected.

``without_blank_rows`` takes out the rows whose every cell is empty or white space (a spreadsheet saves
its unused rows as ``,,,,,,``; every CSV tool skips them): counted as ``rows_blank``. A row the reader
could not parse is never blank: it is rejected. ``without_unmatched_rows`` takes out the rows a
mapping's join found nothing for where the mapping says ``unmatched = "drop"`` (``rows_unmatched``);
``without_left_out_rows`` those a mapping's ``[[leave_out]]`` rules leave out (``rows_left_out``: a
customer, or every line of an order; a left-out line of an order with other lines stays, see
``importer.inputs.mapping_fields.left_out_lines``). ``SetAside`` does all three and keeps count, as
the first pass of every command does after ``--shard`` kept its share.
"""

from __future__ import annotations

import polars as pl

from importer.frame import LEFT_OUT_COL, SOURCE_PREFIX, UNMATCHED_COL, UNREADABLE_COL, is_bookkeeping


def without_blank_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """``frame`` without its blank rows (every one of the user's cells empty, or only white space once
    trimmed), and how many there were; ``frame`` itself when it has none.

    White space is looked for where it can matter: the text column with the fewest empty cells shows a
    value for nearly every row of an export, and only the rows it shows none for are looked at whole, so
    the check costs one pass over one column, not a regular expression over every cell."""
    user = [c for c in frame.columns if c.startswith(SOURCE_PREFIX)] or [
        c for c in frame.columns if not is_bookkeeping(c)
    ]
    if not frame.height or not user:
        return frame, 0
    schema = frame.schema  # (made anew at each access: a file of 10,000 columns would pay it 10,000 times)
    texts = [c for c in user if schema[c] == pl.String]
    others = [c for c in user if schema[c] != pl.String]

    def shown(columns: list[str]) -> pl.Expr:
        """A row shows a value in one of these columns (or is a line the reader could not parse)."""
        found = [pl.col(c).str.contains(r"\S").fill_null(False) for c in columns]
        found += [pl.col(c).is_not_null() for c in others]
        if UNREADABLE_COL in frame.columns:
            found.append(pl.col(UNREADABLE_COL).is_not_null())
        return pl.any_horizontal(found) if found else pl.lit(False)

    probe = [min(texts, key=lambda c: frame.get_column(c).null_count())] if texts else []
    probed = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("i"), shown(probe).alias("shown"))
    unsure = probed.filter(~pl.col("shown")).get_column("i")
    if unsure.is_empty():
        return frame, 0
    blank = unsure.filter(~frame.select(pl.all().gather(unsure)).select(shown(texts)).to_series())
    if blank.is_empty():
        return frame, 0
    return frame.filter(~pl.int_range(pl.len(), dtype=pl.UInt32).is_in(blank.implode())), blank.len()


def without_unmatched_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """``frame`` without the rows the mapping drops because a join found no row for them (``_unmatched``),
    and those rows (None when there are none: then ``frame`` itself)."""
    return _without(frame, UNMATCHED_COL)


def without_left_out_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """``frame`` without the rows the mapping's ``[[leave_out]]`` rules leave out (``_left_out``), and those
    rows (None when there are none: then ``frame`` itself)."""
    return _without(frame, LEFT_OUT_COL)


def _without(frame: pl.DataFrame, column: str) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    if column not in frame.columns:
        return frame, None
    noted = pl.col(column).is_not_null()
    taken = frame.filter(noted)
    if taken.is_empty():
        return frame, None
    return frame.filter(~noted), taken


class SetAside:
    """The rows a first pass set aside: how many were blank, and the rows the mapping dropped or left out
    (kept for the report's ``unmatched.csv`` and ``left_out.csv``: only a mapped run, held in memory
    anyway, has any)."""

    def __init__(self) -> None:
        self.blank = 0
        self.unmatched_rows: list[pl.DataFrame] = []
        self.left_out_rows: list[pl.DataFrame] = []

    @property
    def unmatched(self) -> int:
        return sum(frame.height for frame in self.unmatched_rows)

    @property
    def left_out(self) -> int:
        return sum(frame.height for frame in self.left_out_rows)

    def take(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` without its blank rows and the rows its mapping drops or leaves out, which are noted
        here. A blank row is blank even when its join found nothing (its key is empty too); a row a join
        found nothing for is unmatched even when a rule would leave it out."""
        frame, blank = without_blank_rows(frame)
        self.blank += blank
        frame, unmatched = without_unmatched_rows(frame)
        if unmatched is not None:
            self.unmatched_rows.append(unmatched)
        frame, left_out = without_left_out_rows(frame)
        if left_out is not None:
            self.left_out_rows.append(left_out)
        return frame
