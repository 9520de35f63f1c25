"""JSON records and bodies: exact for any text, absent members left out, records spliced in order."""

from __future__ import annotations

import orjson
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.records import json_text
from importer.records.chunking import in_chunks


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=20))
def test_json_text_round_trips_any_string(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    encoded = frame.select(json_text.text(pl.col("v"))).to_series().to_list()
    assert [None if e is None else orjson.loads(e) for e in encoded] == values


def test_absent_members_are_left_out():
    frame = pl.DataFrame({"a": ["x", None], "b": [None, None]}, schema={"a": pl.String, "b": pl.String})
    record = json_text.obj(
        [
            json_text.member("a", json_text.text(pl.col("a"))),
            json_text.member("list", json_text.array([json_text.name_value("n", pl.col("b"))])),
        ]
    )
    assert frame.select(record).to_series().to_list() == ['{"a":"x"}', "{}"]


def test_bodies_splice_records_in_order():
    records = pl.DataFrame({"_rid": [0, 1, 2], "_json": ['{"i":0}', '{"i":1}', '{"i":2}'], "_key": ["0", "1", "2"]})
    chunks = list(in_chunks(records, 2))
    assert [c.row_ids for c in chunks] == [[[0], [1]], [[2]]]
    assert orjson.loads(chunks[0].body({"mode": "Add"})) == {"mode": "Add", "data": [{"i": 0}, {"i": 1}]}
