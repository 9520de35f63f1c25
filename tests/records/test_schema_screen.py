"""The screen (importer.records.schema_screen) lets pandera validate only the failing rows and checks: the reasons must
be exactly those of pandera validating the whole frame, for every schema the importer uses."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.frame import RID_COL
from importer.records import schema_screen, validation
from schemas.common import text_value_schema
from schemas.customers import consent_value_schema, customer_schema
from schemas.operations import order_id_schema, order_status_schema
from schemas.orders import (
    ORDER_PATTERN_MEANINGS,
    order_line_schema,
    order_schema,
    product_schema,
)

# Cells that pass or fail some check of some field: numbers, dates, e-mails, phones, enums, lengths,
# control characters, spreadsheet errors, blanks and nulls.
CELLS = [
    None,
    "",
    " ",
    "12",
    "-3.5",
    "1e3",
    "1e400",
    "abc",
    "7",
    "0",
    "2147483648",
    "+5",
    "2024-06-28T05:26:16.000Z",
    "yesterday",
    "anna@example.com",
    "ANNA@",
    "+48601234567",
    "601 234 567",
    "Male",
    "female",
    "True",
    "AwaitingConfirmation",
    "placed",
    "paid",
    "Cancelled",
    "PLN",
    "pl",
    "a\x00b",
    "#N/A",
    " err:502 ",
    "x" * 130,
    "🌸" * 11,
    "a\ufeffb",
    "#1 fan",
    "err:50",
    "\ufeffstart",
]

SCHEMAS = {
    "order line": order_line_schema,
    "product": product_schema,
    "order": lambda: order_schema("customer.email"),
    "customer": lambda: customer_schema("email"),
    "attribute value": text_value_schema,
    "consent value": lambda: consent_value_schema(False),
    "order id": order_id_schema,
    "order status": order_status_schema,
}


def _full_pandera(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(schema_screen, "failing", lambda frame, schema, coarse=None: None)
        return validation.schema_reasons(frame, schema, ORDER_PATTERN_MEANINGS, {"id": "is required"})


def _frame(schema: pa.DataFrameSchema, rows: list[list[str | None]]) -> pl.DataFrame:
    names = list(schema.columns)
    data = {name: [row[i % len(row)] for row in rows] for i, name in enumerate(names)}
    return pl.DataFrame(
        {RID_COL: list(range(100, 100 + len(rows))), **data},
        schema={RID_COL: pl.Int64, **dict.fromkeys(names, pl.String)},
    )


@pytest.mark.parametrize("name", list(SCHEMAS))
@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from(CELLS), min_size=1, max_size=7), min_size=0, max_size=12))
def test_screened_reasons_are_those_of_pandera_on_the_whole_frame(name, rows):
    schema = SCHEMAS[name]()
    frame = _frame(schema, rows)
    screened = validation.schema_reasons(frame, schema, ORDER_PATTERN_MEANINGS, {"id": "is required"})
    assert screened.equals(_full_pandera(frame, schema))


def test_the_screen_names_the_failing_rows_columns_and_checks():
    schema = order_line_schema()
    frame = _frame(schema, [[None], [None], [None]]).with_columns(
        pl.Series("status", ["paid", "lost", "paid"]), pl.Series("id", [None, "ORD-2", "ORD-3"], dtype=pl.String)
    )
    found = schema_screen.failing(frame, schema)
    assert found is not None
    assert found.rows.to_list() == [0, 1]
    assert found.nulls == {"id"} and set(found.checks) == {"status"}
    narrowed = found.schema(schema)
    assert list(narrowed.columns) == found.columns
    assert [c.name for c in narrowed.columns["status"].checks] == ["isin"]


def test_a_schema_the_screen_cannot_imitate_is_validated_whole():
    frame = pl.DataFrame({RID_COL: [1, 2], "a": ["x", "x"]})
    unique = pa.DataFrameSchema({"a": pa.Column(str, unique=True)})
    frame_wide = pa.DataFrameSchema(
        {"a": pa.Column(str)}, checks=[pa.Check(lambda data: data.lazyframe.select(pl.len() > 5))]
    )
    assert schema_screen.failing(frame, unique) is None and schema_screen.failing(frame, frame_wide) is None
    reasons = validation.schema_reasons(frame, unique, {}, {})
    assert reasons.get_column(RID_COL).to_list() == [1, 2]
