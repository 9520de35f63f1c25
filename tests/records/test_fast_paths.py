"""The speed-ups on the hot path give exactly what the plain formulations they replace give.

Each fast path is compared with the straightforward expression it stands for, on values that take
every branch (and on values that take only the common one, where polars skips the others)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.frame import FILE_COL, JSON_COL, KEY_COL, RID_COL, ROW_COL
from importer.inputs.files import _NEUTRALISED, _undo_neutralisation, read_file
from importer.records import customers, json_text, normalise, order_columns, orders, pandera_adapter
from importer.records.order_lines import HAS_PRODUCT, LINE
from importer.settings import OrderOptions
from schemas.common import INT32_MAX, INT32_MIN, max_length, utf16_units, whole_number

DATES = [
    "2024-06-28T05:26:16+01:00",
    "2024-06-28T05:26:16.5+01:00",
    "2024-06-28T05:26:16+0100",
    "2024-06-28T05:26+02:00",
    "2024-06-28T05:26:16",
    "2024-06-28 05:26:16",
    "2024-06-28T05:26",
    "2024-06-28",
    "2024-06-28T05:26:16Z",
    "2024-06-28T05:26:16.123z",
    "1985-02-30",
    "yesterday",
    "",
    None,
    "2024-13-01T00:00:00+01:00",
]


def _reference_instant(expr: pl.Expr) -> pl.Expr:
    iso = expr.str.replace(" ", "T").str.replace(r"[zZ]$", "+00:00")
    with_offset = [
        iso.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%:z")
    ]
    naive = [
        iso.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")
    ]
    date_only = iso.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return pl.coalesce([*with_offset, *naive, date_only])


@pytest.mark.parametrize("values", [DATES, DATES[:1] * 50, DATES[4:5] * 3 + DATES[:1]], ids=["mixed", "usual", "naive"])
def test_instants_parse_as_the_coalesce_of_every_format(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    fast = frame.select(normalise.instant(pl.col("v")), normalise.api_datetime(pl.col("v")).alias("api"))
    slow = frame.select(
        _reference_instant(pl.col("v")).alias("v"),
        _reference_instant(pl.col("v")).dt.strftime(normalise.API_DATETIME_FORMAT).fill_null(pl.col("v")).alias("api"),
    )
    assert fast.equals(slow)


SPACED = [
    "2024-06-28T05:26:16 +01:00",
    " 2024-06-28T05:26:16+01:00",
    "2024-06-28 05:26:16+01:00",
    "+2024-06-28T05:26:16+01:00",
    "2024-6-28T05:26:16+01:00",
    "9999-12-31T23:30:00-01:00",
    "0001-01-01T00:30:00+01:00",
    "2024-06-28T05:26:16.123456+01:00",
]


@pytest.mark.parametrize(
    "values",
    [DATES + SPACED, DATES[:1] * 50, SPACED, [None, None], []],
    ids=["mixed", "usual", "spaced", "nulls", "empty"],
)
def test_datetimes_of_a_series_are_those_of_the_expression(values):
    """api_datetimes parses the usual form with one format first; the result is api_datetime's."""
    series = pl.Series("date", values, dtype=pl.String)
    expected = series.to_frame().select(normalise.api_datetime(pl.col("date"))).to_series()
    assert normalise.api_datetimes(series).equals(expected)
    frame = pl.DataFrame({"date": values * 3}, schema={"date": pl.String})
    assert normalise.per_value(frame, "date", normalise.api_datetimes).equals(
        frame.select(normalise.api_datetime(pl.col("date")))
    )


_TWO = st.integers(0, 99).map(lambda n: f"{n:02d}")


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.builds(
            lambda y, mo, d, h, mi, s, sign, oh, om: f"{y:04d}-{mo}-{d}T{h}:{mi}:{s}{sign}{oh}:{om}",
            st.sampled_from([0, 1, 1970, 2024, 2023, 9999]),
            _TWO,
            _TWO,
            _TWO,
            _TWO,
            _TWO,
            st.sampled_from("+-"),
            st.sampled_from(["00", "01", "05", "13", "14", "23", "24", "99"]),
            st.sampled_from(["00", "30", "45", "59", "60"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_usual_datetimes_parsed_by_parts_are_those_of_the_format(values):
    """api_datetimes parses the usual shape by parts; every value comes out as api_datetime makes it."""
    series = pl.Series("date", values, dtype=pl.String)
    expected = series.to_frame().select(normalise.api_datetime(pl.col("date"))).to_series()
    assert normalise.api_datetimes(series).equals(expected)


def test_blank_cells_become_null_and_others_are_trimmed():
    values = ["", " ", "\t", " a ", "a", None, "a b", "\u00a0x\u00a0"]
    frame = pl.DataFrame({"v": values})
    stripped = pl.col("v").str.strip_chars()
    assert frame.select(normalise.blank_to_null(pl.col("v"))).equals(
        frame.select(pl.when(stripped != "").then(stripped).alias("v"))
    )


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 8])
def test_max_length_counts_utf16_units_as_before(limit):
    values = ["", "a", "ab", "abc", "🌸", "a🌸", "🌸🌸", "ąę", "ąęś", "€€€", "🎒ab", "abcd", "x" * 9, None]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    check = max_length(limit)
    fast = frame.select(pandera_adapter.call_check(check, _Data(frame)).collect().to_series())  # type: ignore[arg-type]
    slow = frame.select(pl.col("v").is_null() | (utf16_units(pl.col("v")) <= limit))
    assert fast.to_series().to_list() == slow.to_series().to_list()


WHOLE_NUMBERS = [
    "1",
    "+5",
    "-3",
    " 7",
    "7 ",
    "\t3",
    "3\n",
    "05",
    "-0",
    "+",
    "-",
    "",
    " ",
    "1_000",
    "0x1F",
    "1e3",
    "1.0",
    "+-1",
    "٣",
    "١٢",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "99999999999999999999",
    "0",
    None,
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(WHOLE_NUMBERS),
            st.text(alphabet="+-0123456789 \t.e٣x", max_size=12),
            st.integers(-(2**40), 2**40).map(str),
        ),
        max_size=40,
    )
)
def test_whole_numbers_are_judged_as_by_the_pattern(values):
    """The fast path (polars' cast of the value as written) decides exactly as stripping and matching did."""
    frame = pl.DataFrame({"v": WHOLE_NUMBERS + values}, schema={"v": pl.String})
    for low, high in ((1, INT32_MAX), (0, INT32_MAX), (INT32_MIN, INT32_MAX)):
        selected = pandera_adapter.call_check(whole_number(low, high), _Data(frame))  # type: ignore[arg-type]
        fast = frame.select(selected.collect().to_series())
        value = pl.col("v").str.strip_chars()
        slow = frame.select(
            pl.col("v").is_null()
            | (value.str.contains(r"^[+-]?\d+$") & value.cast(pl.Int64, strict=False).is_between(low, high)).fill_null(
                False
            )
        )
        assert fast.to_series().to_list() == slow.to_series().to_list()


class _Data:
    """What pandera hands a polars check: the frame (lazily) and the column's name."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.lazyframe, self.key = frame.lazy(), "v"


@pytest.mark.parametrize(
    "values",
    [["'=1+1", "'abc", "x", None, "'+48 1", "''=x", "'\tz"], ["plain", "cells", None]],
    ids=["quoted", "none-quoted"],
)
def test_neutralised_cells_are_restored_as_before(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    expr = pl.col("v")
    reference = pl.when(expr.str.contains(_NEUTRALISED)).then(expr.str.slice(1)).otherwise(expr)
    assert frame.select(_undo_neutralisation(expr)).equals(frame.select(reference))


# -- order records: one struct encode per order gives the text the per-member builders gave ----------


def _reference_records(lines: pl.DataFrame, orders: pl.DataFrame, columns: Any) -> pl.DataFrame:
    """The record builder before structs: every member encoded on its own and joined as text."""
    text = lambda name: json_text.text(pl.col(name))  # noqa: E731
    product = json_text.obj(
        [
            json_text.member("id", text("product.id")),
            json_text.member("name", text("product.name")),
            json_text.member("price", normalise.json_number(pl.col("product.price"))),
            json_text.member("quantity", normalise.json_integer(pl.col("product.quantity"))),
            json_text.member("returned", normalise.json_integer(pl.col("product.returned"))),
            *[json_text.member(f, text(f"product.{f}")) for f in ("url", "imageUrl", "category")],
            json_text.member(
                "productAttributes",
                json_text.array(
                    [json_text.name_value(name, pl.col(c)) for c, name in columns.product_attributes.items()]
                ),
            ),
        ]
    )
    products = (
        lines.sort(LINE)
        .group_by("id", maintain_order=True)
        .agg(
            product.filter(pl.col(HAS_PRODUCT)).str.join(",").alias("_products_json"),
            pl.col(RID_COL).unique(maintain_order=True),
        )
    )
    order = json_text.obj(
        [
            json_text.member("id", text("id")),
            json_text.member("date", text("date")),
            json_text.member("timeZone", json_text.text(pl.col("timeZone").fill_null("UTC"))),
            json_text.member("websiteId", normalise.json_integer(pl.col("websiteId"))),
            json_text.member("status", text("status")),
            json_text.member("currency", text("currency")),
            json_text.member("totalValue", normalise.json_number(pl.col("totalValue"))),
            json_text.member("returnsValue", normalise.json_number(pl.col("returnsValue"))),
            json_text.member(
                "customer",
                json_text.obj([json_text.member(f, text(f"customer.{f}")) for f in ("email", "phone", "crmId")]),
            ),
            json_text.member("products", pl.concat_str([pl.lit("["), pl.col("_products_json"), pl.lit("]")])),
            json_text.member(
                "orderAttributes",
                json_text.array(
                    [json_text.name_value(name, pl.col(c)) for c, name in columns.order_attributes.items()]
                ),
            ),
        ]
    )
    return orders.join(products, on="id", maintain_order="left").select(
        RID_COL, order.alias(JSON_COL), pl.col("id").alias(KEY_COL)
    )


TRICKY = [
    'a,"returned":null',
    'x{"email":null,',
    "ends with ,",
    "ends with {",
    'q"uote',
    "back\\slash",
    "tab\there",
    "nl\nx",
    "ąę 🌸 \u2028",
    "\x01ctl",
    "",
    None,
    "null",
    '"',
    "{}",
    "[1]",
]


def _tricky_lines(rows: int, seed: int) -> pl.DataFrame:
    """Order lines whose every cell is sometimes absent or awkward (quotes, escapes, member-like text)."""
    import random

    rnd = random.Random(seed)
    pick = lambda values: [rnd.choice(values) for _ in range(rows)]  # noqa: E731
    order = [f"O-{rnd.randrange(rows // 3 + 1)}" for _ in range(rows)]
    frame = {
        "id": order,
        "date": pick(["2024-01-02T03:04:05+01:00", "2024-01-02", None]),
        "status": pick(["paid", "PLACED", None]),
        "currency": pick(["pln", "EUR", None]),
        "timeZone": pick(["Europe/Warsaw", None]),
        "websiteId": pick(["1", "+007", None]),
        "totalValue": pick(["10", "+5", ".5", "1e3", "12.30", None]),
        "returnsValue": pick(["0", "2.5", None]),
        "customer.email": pick(["a@b.c", "X@Y.Z", None]),
        "customer.phone": pick(["+48 600 100 200", None]),
        "customer.crmId": pick(TRICKY),
        "attr.channel": pick(TRICKY),
        "attr.coupon": pick([None, None, "AUTUMN"]),
        "product.id": pick(["SKU-1", 'S"2']),
        "product.name": pick(TRICKY[:-6] + ["Kubek"]),
        "product.price": pick(["1", "19.99", "+5", "1e2", "0.1"]),
        "product.quantity": pick(["1", "02", "+3"]),
        "product.returned": pick(["0", "1", None, None]),
        "product.url": pick(TRICKY),
        "product.imageUrl": pick([None, "i"]),
        "product.category": pick(TRICKY),
        "product.attr.color": pick(TRICKY),
        "product.attr.size": pick([None, "S"]),
    }
    return pl.DataFrame(frame, schema=dict.fromkeys(frame, pl.String)).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(RID_COL),
        pl.lit("x.csv").alias(FILE_COL),
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(ROW_COL),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "drop",
    [[], ["customer.email", "product.returned", "attr.coupon"], ["attr.channel", "attr.coupon"]],
    ids=["all-columns", "some-absent", "no-order-attributes"],
)
def test_order_records_are_byte_identical_to_the_per_member_builder(seed, drop):
    frame = _tricky_lines(600, seed).drop(drop)
    columns = order_columns.plan_columns(frame.columns, "customer.phone")
    lines, heads = orders.split_lines(frame, columns)
    lines = lines.filter(pl.col("id").is_not_null())
    consolidated = orders._consolidate(heads, lines, columns)
    new = orders._records(lines, consolidated, columns)
    old = _reference_records(lines, consolidated, columns)
    assert new.equals(old)
    assert any("null" in text for text in new.get_column(JSON_COL).to_list())  # member-like values kept


def test_sample_order_records_are_byte_identical_to_the_per_member_builder():
    for path in [Path("sample_data/orders.csv"), Path("sample_data/orders_sparse.csv")]:
        frame = read_file(path).with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(RID_COL))
        columns = order_columns.plan_columns(frame.columns, "customer.email")
        lines, heads = orders.split_lines(frame, columns)
        lines = lines.filter(pl.col("id").is_not_null())
        consolidated = orders._consolidate(heads, lines, columns)
        assert orders._records(lines, consolidated, columns).equals(_reference_records(lines, consolidated, columns))


def _lines_in_runs(rows: int, seed: int) -> pl.DataFrame:
    """Tricky order lines as exports hold them: an order's lines together, most repeating its first line's
    order-level values, some leaving one blank, writing it otherwise, or giving an invalid value."""
    frame = _tricky_lines(rows, seed).sort("id", maintain_order=True)
    level = [c for c in frame.columns if not c.startswith(("product.", "_")) and c != "id"]
    keep_own = pl.col(RID_COL).hash(seed) % 5 == 0  # one line in five keeps what it had
    return frame.with_columns(
        pl.when(keep_own).then(pl.col(c)).otherwise(pl.col(c).first().over("id")).alias(c) for c in level
    ).with_columns(
        pl.when(pl.col(RID_COL).hash(seed + 1) % 17 == 0)
        .then(pl.lit("not-a-date"))
        .otherwise(pl.col("date"))
        .alias("date"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias(RID_COL),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_order_level_values_checked_once_per_run_give_what_line_by_line_gives(seed, monkeypatch):
    frame = _lines_in_runs(900, seed)
    options = OrderOptions(customer_match="PhoneNumber")
    lines, heads = orders.split_lines(frame, order_columns.plan_columns(frame.columns, "customer.phone"))
    assert heads.height < lines.height * 2 // 3  # the runs do save work here
    by_runs = orders.prepare(frame, options)
    per_line = functools.partial(orders.split_lines, runs=False)
    monkeypatch.setattr(orders, "split_lines", per_line)
    by_lines = orders.prepare(frame, options)
    assert by_runs.reasons.height and by_runs.records.height  # both kinds of outcome are compared
    assert by_runs.reasons.equals(by_lines.reasons)
    assert by_runs.records.equals(by_lines.records)
    assert by_runs.notes == by_lines.notes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_orders_lines_put_together_give_what_they_give_apart(seed, monkeypatch):
    """Shuffled lines (as a hash partition holds them) are put together before preparing; the reasons,
    records (in the order of each order's first line, products in line order) and notes are those of
    the lines where they were, conflicts, blank ids and invalid lines included."""
    frame = _lines_in_runs(900, seed).with_columns(
        pl.when(pl.col(RID_COL) % 97 == 0).then(pl.lit(" ")).otherwise(pl.col("id")).alias("id")
    )
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    assert shuffled.select(pl.col("id").rle_id().max() + 1).item() > shuffled.get_column("id").n_unique() * 2
    options = OrderOptions(customer_match="PhoneNumber", conflicts={"status": "last"})
    together = orders.prepare(shuffled, options)
    monkeypatch.setattr(orders, "together", lambda frame, _id: frame)
    apart = orders.prepare(shuffled, options)
    assert together.reasons.height and together.records.height
    assert together.reasons.get_column("_error").str.contains("disagree").any()
    assert together.reasons.equals(apart.reasons)
    assert together.records.equals(apart.records)
    assert together.notes == apart.notes


def _reference_name_values(frame: pl.DataFrame, index: str, columns: dict, into: str, name: str) -> pl.DataFrame:
    """name_values as it was made before: cells unpivoted, grouped by ``index`` and joined back."""
    long = (
        frame.select(index, *columns)
        .unpivot(on=list(columns), index=index, variable_name="_column", value_name="value")
        .drop_nulls("value")
        .select(
            index,
            pl.col("_column").replace_strict(list(columns), pl.Series(list(columns.values()))).alias(name),
            "value",
        )
    )
    lists = long.group_by(index, maintain_order=True).agg(pl.struct(name, "value").alias(into))
    return frame.with_columns(
        frame.select(index).join(lists, on=index, how="left", maintain_order="left").get_column(into)
    )


@pytest.mark.parametrize("columns", [{"a": "color"}, {"a": "color", "b": "size", "c": "fit"}, {"a": 3, "b": 1}])
@pytest.mark.parametrize("sparse", [False, True], ids=["every-cell", "some-absent"])
def test_attribute_lists_are_those_of_grouping_the_cells(columns, sparse):
    rows = 500
    frame = pl.DataFrame({"i": range(rows), **{c: [f"{c}{j}" for j in range(rows)] for c in columns}})
    if sparse:
        frame = frame.with_columns(
            pl.when(pl.col("i").hash(n) % 3 == 0).then(None).otherwise(pl.col(c)).alias(c)
            for n, c in enumerate(columns)
        )
    for name in ("name", "id"):
        assert json_text.name_values(frame, "i", columns, "o", name).equals(
            _reference_name_values(frame, "i", columns, "o", name)
        )
        assert json_text.name_values(frame.head(1), "i", columns, "o", name).equals(
            _reference_name_values(frame.head(1), "i", columns, "o", name)
        )


def test_json_numbers_are_rendered_as_polars_renders_them_as_text():
    """Numbers go into the structs as floats; polars' JSON encoder writes them as its text cast does."""
    import random

    rnd = random.Random(5)
    values = [0.0, -0.0, 0.1, 1e15, 1e16, 1e17, 1e21, 1e-5, 1e-7, 5e-324, 1.7976931348623157e308, 123456789.125]
    values += [rnd.uniform(-1, 1) * 10 ** rnd.randint(-30, 30) for _ in range(20_000)]
    frame = pl.DataFrame({"v": values})
    encoded = frame.select(pl.struct("v").struct.json_encode().str.slice(len('{"v":')).str.strip_suffix("}"))
    assert encoded.to_series().to_list() == frame.select(pl.col("v").cast(pl.String)).to_series().to_list()


# -- customer records ---------------------------------------------------------------------------------


def _reference_customer_json(columns: Any) -> pl.Expr:
    """The customer builder before structs: every member encoded on its own and joined as text."""
    attributes = json_text.array([json_text.name_value(name, pl.col(c)) for c, name in columns.attributes.items()])
    consents = json_text.array(
        [
            pl.when(pl.col(c).is_not_null()).then(
                pl.concat_str([pl.lit(f'{{"id":{consent_id},"value":'), json_text.text(pl.col(c)), pl.lit("}")])
            )
            for c, consent_id in columns.consents.items()
        ]
    )
    return json_text.obj(
        [
            *[json_text.member(f, json_text.text(pl.col(f))) for f in customers.CUSTOMER_FIELDS],
            json_text.member("customAttributes", attributes),
            json_text.member("consentsData", pl.concat_str([pl.lit('{"consents":'), consents, pl.lit("}")])),
        ]
    )


def _tricky_customers(rows: int, seed: int) -> pl.DataFrame:
    import random

    rnd = random.Random(seed)
    pick = lambda values: [rnd.choice(values) for _ in range(rows)]  # noqa: E731
    frame = {
        "email": pick(["a@b.c", "Q@X.Y", None]),
        "phone": pick(["+48 600 100 200", None]),
        "crmId": pick(TRICKY),
        "visitorId": pick([None, "v1"]),
        "firstName": pick(TRICKY),
        "lastName": pick(TRICKY),
        "dateOfBirth": pick(["1990-05-17", None, "1990-05-17T08:30:00+02:00"]),
        "gender": pick(["male", None]),
        "attr.tier": pick(TRICKY),
        "attr.note": pick([None, None, "x"]),
        "consent.1": pick(["true", None]),
        "consent.-7": pick(["False", None, None]),
    }
    return pl.DataFrame(frame, schema=dict.fromkeys(frame, pl.String)).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(RID_COL)
    )


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize(
    "drop",
    [[], ["email", "attr.tier", "attr.note"], ["consent.1", "consent.-7", "visitorId"]],
    ids=["all-columns", "no-attributes", "no-consents"],
)
def test_customer_records_are_byte_identical_to_the_per_member_builder(seed, drop):
    frame = _tricky_customers(500, seed).drop(drop)
    columns = customers.plan_columns(frame.columns, "phone")
    rows = customers.normalise_rows(frame, columns)
    new = customers.records(rows, columns, "phone")
    old = rows.select(RID_COL, _reference_customer_json(columns).alias(JSON_COL), pl.col("phone").alias(KEY_COL))
    assert new.equals(old)


def test_sample_customer_records_are_byte_identical_to_the_per_member_builder():
    for path in [Path("sample_data/customers.csv"), Path("sample_data/customers_loyalty.csv")]:
        frame = read_file(path).with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(RID_COL))
        columns = customers.plan_columns(frame.columns, "email")
        rows = customers.normalise_rows(frame, columns)
        old = rows.select(RID_COL, _reference_customer_json(columns).alias(JSON_COL), pl.col("email").alias(KEY_COL))
        assert customers.records(rows, columns, "email").equals(old)


HOSTILE = [
    "ok",
    "#N/A",
    " err:502 ",
    "a\x00b",
    "x\ufeffy",
    "Zoë 👩‍👩‍👧",
    "  #ref! ",
    "#hashtag",
    "ERR:5",
    None,
    "\x1b[31m",
]


@pytest.mark.parametrize("column_values", [HOSTILE, ["plain"] * len(HOSTILE)], ids=["hostile", "clean"])
def test_text_checks_screened_by_one_regex_give_the_reasons_of_all_checks(monkeypatch, column_values):
    """The screen stands in one regex for both text checks (schemas.common.COARSE_CHECKS); the reasons
    are those of pandera validating the whole frame, whichever columns hold what."""
    from importer.records import schema_screen, validation

    errors_only = [v for v in HOSTILE if v is None or "\x00" not in v and "\x1b" not in v and "\ufeff" not in v]
    frame = pl.DataFrame(
        {
            RID_COL: range(len(HOSTILE)),
            "email": [f"u{i}@x.example" for i in range(len(HOSTILE))],
            "firstName": column_values,
            "lastName": (errors_only * 2)[: len(HOSTILE)],
        },
        schema_overrides={"firstName": pl.String},
    )
    import pandera.polars as pa

    from schemas.common import with_checks

    schema = with_checks(
        pa.DataFrameSchema(
            {
                name: pa.Column(str, nullable=True, metadata={"max_length": 8})
                for name in ("email", "firstName", "lastName")
            }
        )
    )
    fast = validation.schema_reasons(frame, schema, {}, {})
    monkeypatch.setattr(schema_screen, "failing", lambda frame, schema, coarse=None: None)
    full = validation.schema_reasons(frame, schema, {}, {})
    assert fast.height > 0
    assert fast.sort(pl.all()).equals(full.sort(pl.all()))
