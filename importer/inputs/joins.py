"""A mapping's joins: a joined source's columns put beside the driving table's rows, and what each missed.

``join`` is a left join that never multiplies rows. The joined source is cut to one row per key first
(rows repeated exactly, as exports often repeat them, count once), with the number of different rows it
has for that key, so a driving row finds one row, none, or several:

* none: the row gets one reason naming the source, the key and its value, e.g. ``orders: no row with
  order_id = 'abc' (join on order_id)`` (``no row to join (order_id is empty)`` for an empty key), in
  ``_unjoined`` (the row is rejected with it alone), or in ``_unmatched`` when the mapping says
  ``unmatched = "drop"`` (the row is left out and counted apart);
* several different rows: the row is rejected (``_unjoined``), as which one is meant is unknown;
* a row an earlier join already missed gets no second reason: its key for this join may come from the
  source that missed.

``rate`` measures one join the same way (``ecdp-import inspect --mapping``), before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from importer.frame import UNJOINED_COL, UNMATCHED_COL
from importer.records import normalise

MATCHES = "_matches"  # rows of the joined source with the row's key (null: none)
_EXAMPLES = 3


@dataclass(frozen=True)
class Join:
    """One join of a mapping: the driving table's (or an earlier source's) column ``on`` = the source's
    column ``to``; ``drop``: rows it finds nothing for are dropped, not rejected."""

    source: str
    on: str  # a column of the table so far
    to: str  # the source's own column (unprefixed)
    drop: bool = False

    @property
    def column(self) -> str:
        """The source's key column as the joined table names it (``<source>.<column>``)."""
        return f"{self.source}.{self.to}"


def with_matches(table: pl.DataFrame, other: pl.DataFrame, join: Join) -> pl.DataFrame:
    """``table`` with ``other``'s columns (already named ``<source>.<column>``) of the first row with the
    row's key, and how many rows ``other`` has with it (``_matches``); one row per row of ``table``. Keys
    compare as text, as written: ``"42"`` in a CSV finds ``42`` in a Parquet file."""
    to = join.column
    keyed = (
        other.with_columns(pl.col(to).cast(pl.String))
        .filter(normalise.blank_to_null(pl.col(to)).is_not_null())
        .unique(maintain_order=True)  # a row repeated exactly is one row
        .with_columns(pl.len().over(to).alias(MATCHES))
        .unique(to, keep="first", maintain_order=True)
    )
    return (
        table.with_columns(pl.col(join.on).cast(pl.String).alias("_on"))
        .join(keyed, left_on="_on", right_on=to, how="left", maintain_order="left", coalesce=False)
        .drop("_on")
    )


def join(table: pl.DataFrame, other: pl.DataFrame, join: Join) -> pl.DataFrame:
    """``with_matches``, with the misses noted (``_unjoined``, ``_unmatched``) and ``_matches`` dropped."""
    return note_misses(with_matches(table, other, join), join).drop(MATCHES)


def note_misses(joined: pl.DataFrame, join: Join) -> pl.DataFrame:
    """The join's misses noted on each row of a ``with_matches`` table: no row found goes to ``_unjoined``
    (``_unmatched`` with ``drop``), several rows to ``_unjoined``; rows an earlier join missed are left
    as they are."""
    name, on, own = pl.lit(join.source), pl.lit(join.on), pl.lit(join.to)
    value = pl.col(join.on).cast(pl.String)
    earlier = [pl.col(c).is_not_null() for c in (UNJOINED_COL, UNMATCHED_COL) if c in joined.columns]
    fresh = ~pl.any_horizontal(earlier) if earlier else pl.lit(True)
    missing: pl.Expr = (
        pl.when(fresh & normalise.blank_to_null(value).is_null())
        .then(pl.format("{}: no row to join ({} is empty)", name, on))
        .when(fresh & pl.col(MATCHES).is_null())
        .then(pl.format("{}: no row with {} = '{}' (join on {})", name, own, value, on))
    )
    several: pl.Expr = pl.when(fresh & (pl.col(MATCHES) > 1)).then(
        pl.format(
            "{}: {} different rows with {} = '{}' (join on {}): which one is meant is unknown",
            name,
            pl.col(MATCHES),
            own,
            value,
            on,
        )
    )
    notes: dict[str, list[pl.Expr]] = {UNJOINED_COL: [several], UNMATCHED_COL: []}
    notes[UNMATCHED_COL if join.drop else UNJOINED_COL].append(missing)
    return joined.with_columns(
        pl.coalesce([*(pl.col(c) for c in (column,) if c in joined.columns), *exprs]).alias(column)
        for column, exprs in notes.items()
        if exprs
    )


@dataclass(frozen=True)
class JoinRate:
    """How one join fits the rows: how many find one row, none, several, or have no key."""

    join: Join
    file: str  # the source's file name
    rows: int  # driving rows the join was tried for (not blank, not missed by an earlier join)
    matched: int
    missing: int  # a key, but no row with it
    several: int  # a key with more than one row
    empty: int  # no key
    examples: tuple[str, ...]  # the first keys that find no row

    def describe(self) -> str:
        """One line, e.g. ``orders (orders.csv), order_id = orders.id: 950 of 1,000 rows match (95.0%); ...``."""
        j = self.join
        share = f"{100 * self.matched / self.rows:.1f}%" if self.rows else "no rows"
        parts = [
            f"{j.source} ({self.file}), {j.on} = {j.column}: {self.matched:,} of {self.rows:,} rows match ({share})"
        ]
        if self.missing:
            shown = ", ".join(repr(e) for e in self.examples) + (", ..." if self.missing > len(self.examples) else "")
            parts.append(f"{self.missing:,} {_verb(self.missing, 'finds', 'find')} no row (e.g. {shown})")
        if self.empty:
            parts.append(f"{self.empty:,} {_verb(self.empty, 'has', 'have')} no {j.on}")
        if self.several:
            parts.append(
                f"{self.several:,} {_verb(self.several, 'finds', 'find')} several different rows "
                "(rejected: which one is meant is unknown)"
            )
        if self.missing or self.empty:
            parts.append(
                "rows without a match are "
                + ('dropped (unmatched = "drop")' if j.drop else 'rejected (unmatched = "drop" drops them)')
            )
        return "; ".join(parts)


def _verb(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def rate(joined: pl.DataFrame, join: Join, file: str) -> JoinRate:
    """How ``join`` fits the rows of a ``with_matches`` table, before its misses are noted."""
    earlier = [pl.col(c).is_null() for c in (UNJOINED_COL, UNMATCHED_COL) if c in joined.columns]
    tried = joined.filter(pl.all_horizontal(earlier)) if earlier else joined
    key = normalise.blank_to_null(pl.col(join.on).cast(pl.String))
    counts = tried.select(
        pl.len().alias("rows"),
        (pl.col(MATCHES) == 1).sum().alias("matched"),
        (key.is_not_null() & pl.col(MATCHES).is_null()).sum().alias("missing"),
        (pl.col(MATCHES) > 1).sum().alias("several"),
        key.is_null().sum().alias("empty"),
    ).row(0, named=True)
    examples = (
        tried.filter(key.is_not_null() & pl.col(MATCHES).is_null())
        .select(key.alias("k"))
        .unique(maintain_order=True)
        .head(_EXAMPLES)
        .get_column("k")
        .to_list()
    )
    return JoinRate(
        join,
        file,
        counts["rows"],
        counts["matched"],
        counts["missing"],
        counts["several"],
        counts["empty"],
        tuple(examples),
    )
