"""The speed-ups on the hot path give exactly what the plain formulations they replace give.

Each fast path is compared with the straightforward expression it stands for, on values that take
every branch (and on values that take only the common one, where polars skips the others)."""

from __future__ import annotations

import polars as pl
import pytest

from importer import normalise
from importer.read import _NEUTRALISED, _undo_neutralisation
from schemas.common import max_length, utf16_units

DATES = [
    "2024-06-28T05:26:16+01:00", "2024-06-28T05:26:16.5+01:00", "2024-06-28T05:26:16+0100", "2024-06-28T05:26+02:00",
    "2024-06-28T05:26:16", "2024-06-28 05:26:16", "2024-06-28T05:26", "2024-06-28", "2024-06-28T05:26:16Z",
    "2024-06-28T05:26:16.123z", "1985-02-30", "yesterday", "", None, "2024-13-01T00:00:00+01:00",
]


def _reference_instant(expr: pl.Expr) -> pl.Expr:
    iso = expr.str.replace(" ", "T").str.replace(r"[zZ]$", "+00:00")
    with_offset = [iso.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
                   for fmt in ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%:z")]
    naive = [iso.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")
             for fmt in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")]
    date_only = iso.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return pl.coalesce([*with_offset, *naive, date_only])


@pytest.mark.parametrize("values", [DATES, DATES[:1] * 50, DATES[4:5] * 3 + DATES[:1]], ids=["mixed", "usual", "naive"])
def test_instants_parse_as_the_coalesce_of_every_format(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    fast = frame.select(normalise.instant(pl.col("v")), normalise.api_datetime(pl.col("v")).alias("api"))
    slow = frame.select(_reference_instant(pl.col("v")).alias("v"),
                        _reference_instant(pl.col("v")).dt.strftime(normalise.API_DATETIME_FORMAT).fill_null(pl.col("v"))
                        .alias("api"))
    assert fast.equals(slow)


def test_blank_cells_become_null_and_others_are_trimmed():
    values = ["", " ", "\t", " a ", "a", None, "a b", "\u00a0x\u00a0"]
    frame = pl.DataFrame({"v": values})
    stripped = pl.col("v").str.strip_chars()
    assert frame.select(normalise.blank_to_null(pl.col("v"))).equals(
        frame.select(pl.when(stripped != "").then(stripped).alias("v")))


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 8])
def test_max_length_counts_utf16_units_as_before(limit):
    values = ["", "a", "ab", "abc", "🌸", "a🌸", "🌸🌸", "ąę", "ąęś", "€€€", "🎒ab", "abcd", "x" * 9, None]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    check = max_length(limit)
    fast = frame.select(check._check_fn(_Data(frame)).collect().to_series())  # type: ignore[attr-defined]
    slow = frame.select(pl.col("v").is_null() | (utf16_units(pl.col("v")) <= limit))
    assert fast.to_series().to_list() == slow.to_series().to_list()


class _Data:
    """What pandera hands a polars check: the frame (lazily) and the column's name."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.lazyframe, self.key = frame.lazy(), "v"


@pytest.mark.parametrize("values", [["'=1+1", "'abc", "x", None, "'+48 1", "''=x", "'\tz"], ["plain", "cells", None]],
                         ids=["quoted", "none-quoted"])
def test_neutralised_cells_are_restored_as_before(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    expr = pl.col("v")
    reference = pl.when(expr.str.contains(_NEUTRALISED)).then(expr.str.slice(1)).otherwise(expr)
    assert frame.select(_undo_neutralisation(expr)).equals(frame.select(reference))
