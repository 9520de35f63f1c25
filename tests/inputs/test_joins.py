"""A mapping's joins (importer.inputs.joins): one row per driving row, misses named once, rates measured."""

from __future__ import annotations

import polars as pl
import pytest

from importer.errors import InputError
from importer.frame import UNJOINED_COL, UNMATCHED_COL
from importer.inputs import joins
from importer.inputs.mapping import load_mapping
from tests.support import write_csv

ITEMS = pl.DataFrame({"order_id": ["o1", "o2", None, "o3", "o4"], "sku": ["a", "b", "c", "d", "e"]})
ORDERS = pl.DataFrame({"orders.id": ["o1", "o3", "o3", "o4", "o4"], "orders.buyer": ["b1", "b3", "b9", None, None]})
BUYERS = pl.DataFrame({"buyers.id": ["b1"], "buyers.email": ["x@example.com"]})


def test_a_join_keeps_one_row_per_driving_row_and_names_each_miss():
    joined = joins.join(ITEMS, ORDERS, joins.Join("orders", "order_id", "id"))
    assert joined.height == ITEMS.height
    assert joined.get_column(UNJOINED_COL).to_list() == [
        None,
        "orders: no row with id = 'o2' (join on order_id)",
        "orders: no row to join (order_id is empty)",
        "orders: 2 different rows with id = 'o3' (join on order_id): which one is meant is unknown",
        None,  # o4's two rows are the same row: found once
    ]


def test_a_row_an_earlier_join_missed_gets_no_second_reason_and_drop_goes_apart():
    first = joins.join(ITEMS, ORDERS, joins.Join("orders", "order_id", "id", drop=True))
    second = joins.join(first, BUYERS, joins.Join("buyers", "orders.buyer", "id"))
    assert second.get_column(UNMATCHED_COL).to_list() == [
        None,
        "orders: no row with id = 'o2' (join on order_id)",
        "orders: no row to join (order_id is empty)",
        None,
        None,
    ]
    assert second.get_column(UNJOINED_COL).to_list() == [
        None,
        None,
        None,
        "orders: 2 different rows with id = 'o3' (join on order_id): which one is meant is unknown",
        "buyers: no row to join (orders.buyer is empty)",  # o4's order names no buyer
    ]


def test_the_rate_of_a_join_counts_matches_misses_empty_keys_and_duplicates():
    join = joins.Join("orders", "order_id", "id")
    rate = joins.rate(joins.with_matches(ITEMS, ORDERS, join), join, "orders.csv")
    assert (rate.rows, rate.matched, rate.missing, rate.empty, rate.several, rate.examples) == (5, 2, 1, 1, 1, ("o2",))
    assert rate.describe() == (
        "orders (orders.csv), order_id = orders.id: 2 of 5 rows match (40.0%); 1 finds no row (e.g. 'o2'); "
        "1 has no order_id; 1 finds several different rows (rejected: which one is meant is unknown); rows "
        'without a match are rejected (unmatched = "drop" drops them)'
    )


def test_keys_compare_as_text_so_a_number_finds_its_digits():
    numbers = pl.DataFrame({"order_id": [42, 7]})
    joined = joins.join(
        numbers, pl.DataFrame({"orders.id": ["42"], "orders.total": ["9.5"]}), joins.Join("orders", "order_id", "id")
    )
    assert joined.get_column("orders.total").to_list() == ["9.5", None]


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ('unmatched = "skip"', 'unmatched must be "reject" or "drop", not \'skip\''),
        (
            'unmatched = "drop"\n[sources.other]\npath = "b.csv"\njoin = { on = "id", to = "id" }',
            "unmatched belongs on a joined source, not the driving table",
        ),
    ],
)
def test_unmatched_is_checked_in_the_mapping(tmp_path, setting, complaint):
    write_csv(tmp_path / "a.csv", ["id"], [["1"]])
    mapping = tmp_path / "m.toml"
    mapping.write_text(f'kind = "orders"\n[sources.main]\npath = "a.csv"\n{setting}\n[fields]\nid = "id"\n')
    with pytest.raises(InputError) as raised:
        load_mapping(mapping)
    assert complaint in raised.value.message
