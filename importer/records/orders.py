"""Orders: group order lines into orders with nested products and attributes, for POST /orders.

Input rows are order *lines* (nested Parquet is flattened first, see ``importer.records.nested_orders``). The rules:

* lines group by order ``id``; the lines of an order need not be adjacent, sorted, or in one file
  (an orders file plus ``--items`` files is just lines, some of which carry no product);
* an order-level value may be blank on some lines; the values given must agree, else the whole order
  is rejected naming the column and the rows, unless ``options.conflicts`` says to take the first or the
  last line's value for that field (a mapping's ``conflict = "first"``): then the orders where a value
  was taken are counted (``conflicts_taken.<field>`` in the notes);
* if any line of an order is invalid, the whole order is rejected: the invalid line with its own
  reasons, the others with "another line of order … is invalid";
* with the platform's settings lists (``lists``), attribute names and values are checked against its order
  and product attribute definitions (``importer.records.preflight``): a bad value rejects its line, so its
  order;
* ``totalValue`` blank on every line is computed as Σ price × quantity (counted in the summary);
* one record per order id, so an order is never split across requests or sent twice in one.

Order-level values are normalised, checked and consolidated once per *run* of adjacent lines that write
them alike (``split_lines``): exports repeat an order's values on each of its lines, so this is about a
third of the work, with the very same outcome as line by line (``importer.records.order_lines``).
"""

from __future__ import annotations

import polars as pl

from importer.frame import (
    ERROR_COL,
    FIELD_COL,
    FILE_COL,
    JSON_COL,
    KEY_COL,
    LEFT_LINE_COL,
    RID_COL,
    ROW_COL,
    no_reasons,
)
from importer.records import json_text, order_dates
from importer.records.definitions import ORDER_ATTRIBUTES, PRODUCT_ATTRIBUTES, Lists
from importer.records.nested_orders import flat_columns, flatten_orders, is_nested
from importer.records.order_columns import OrderColumns, plan_columns
from importer.records.order_lines import (
    BLOCK,
    HAS_PRODUCT,
    LINE,
    RUN,
    per_line,
    split_lines,
    together,
)
from importer.records.preflight import AttributeColumns, needed
from importer.records.preflight import check as preflight_check
from importer.records.validation import (
    Prepared,
    column_group_reasons,
    combine,
    pre_rejected,
    readable_rows,
    require_flat,
    schema_reasons,
    sole_reasons,
)
from importer.settings import OrderOptions
from schemas.common import fields_of, text_value_schema
from schemas.orders import (
    DEFAULT_TIME_ZONE,
    ORDER_PATTERN_MEANINGS,
    OrderLine,
    Product,
    order_line_schema,
    order_schema,
    product_schema,
)

DISAGREE, ORDER_KEY = "_disagree", "_order"
TAKEN = "_taken."  # + field: the order's lines disagreed on it, and one line's value was taken
CONFLICTS_TAKEN = "conflicts_taken."  # + field: the notes' count of orders where a value was taken
#: The members of an order, its customer and its products, as the schemas declare them (``schemas.orders``).
ORDER_LEVEL = tuple(f for f in fields_of(OrderLine) if not f.parent)
CUSTOMER_LEVEL = tuple(f for f in fields_of(OrderLine) if f.parent == "customer")
PRODUCT_LEVEL = fields_of(Product)
ORDER_MEMBERS = tuple(f.member for f in ORDER_LEVEL)
CUSTOMER_MEMBERS = tuple(f.member for f in CUSTOMER_LEVEL)
PRODUCT_MEMBERS = tuple(f.member for f in PRODUCT_LEVEL)
PRODUCT_REQUIRED = tuple(f.name for f in PRODUCT_LEVEL if f.required)
SENT_DEFAULTS = {"timeZone": pl.lit(DEFAULT_TIME_ZONE)}  # an order's member sent when its lines give none


def settings_lists(frame: pl.DataFrame, customer_field: str) -> list[str]:
    """The platform's settings lists ``prepare`` checks this frame's attribute columns against."""
    columns = plan_columns(flat_columns(frame), customer_field)
    return needed(_attribute_groups(columns), {})


def prepare(frame: pl.DataFrame, options: OrderOptions, lists: Lists | None = None) -> Prepared:
    """Validate and group every order line of ``frame`` (as read by ``importer.inputs.files``), its attribute
    values checked against ``lists`` (the platform's settings lists; None: not checked)."""
    flat, nested_reasons = flatten_orders(frame)
    columns = plan_columns(flat.columns, options.customer_field)
    require_flat(flat, list(columns.rename))
    flat = together(flat, next(c for c, target in columns.rename.items() if target == "id"))
    lines, heads = split_lines(flat, columns, time_zone_names=options.time_zone_names)
    if LEFT_LINE_COL in flat.columns:  # lines a mapping left out, kept for their order's cells (no product)
        lines = lines.with_columns(flat.get_column(LEFT_LINE_COL))
    checked, checked_heads = readable_rows(lines, flat), readable_rows(heads, flat)
    attribute_reasons, warnings = _preflight(checked, heads, columns, lists)
    zone_reasons = order_dates.zone_reasons(checked_heads, RUN)  # (a date its zone skips: that reason alone)
    runs = checked_heads.with_columns(pl.col(RUN).cast(pl.Int64).alias(RID_COL))
    run_reasons = pl.concat(
        [
            schema_reasons(
                runs,
                order_line_schema(),
                ORDER_PATTERN_MEANINGS,
                {"id": "is required: every line needs the id of its order"},
            ).join(zone_reasons.select(RID_COL, FIELD_COL), on=[RID_COL, FIELD_COL], how="anti"),
            zone_reasons,
            column_group_reasons(runs, list(columns.order_attributes), text_value_schema(), ORDER_PATTERN_MEANINGS),
        ]
    )
    products = _with_product(checked)
    line_reasons = [
        nested_reasons,
        pre_rejected(flat),
        per_line(run_reasons, lines),
        schema_reasons(
            products,
            product_schema(),
            ORDER_PATTERN_MEANINGS,
            {f: "is required on a product line" for f in PRODUCT_REQUIRED},
        ),
        column_group_reasons(products, list(columns.product_attributes), text_value_schema(), ORDER_PATTERN_MEANINGS),
        attribute_reasons,
    ]
    taken = {f: p for f, p in options.conflicts.items() if p != "reject" and f in columns.order_level and f != "id"}
    orders = _consolidate(heads, lines, columns, taken)
    order_reasons = [
        _conflicts(heads, orders, [c for c in columns.order_level if c not in taken]),
        _order_schema_reasons(orders, options.customer_field),
        orders.filter(pl.col("_products") == 0).select(
            "id",
            pl.lit("product.id").alias(FIELD_COL),
            pl.format("order {} has no product lines", pl.col("id")).alias(ERROR_COL),
        ),
    ]
    one_line_a_row = not is_nested(frame)  # (a nested row becomes a line per product, all with its _rid)
    reasons = sole_reasons(flat, _spread(lines, combine(line_reasons), pl.concat(order_reasons), one_line_a_row))
    bad_ids = lines.join(reasons.select(RID_COL), on=RID_COL, how="semi").select("id").unique()
    good_lines = lines.filter(pl.col("id").is_not_null()).join(bad_ids, on="id", how="anti", maintain_order="left")
    good_orders = orders.join(bad_ids, on="id", how="anti", maintain_order="left")
    records = _records(good_lines, good_orders, columns, one_line_a_row)
    left_out = no_reasons()
    if LEFT_LINE_COL in good_lines.columns:  # counted as left out, not with their order's record
        left_out = good_lines.filter(pl.col(LEFT_LINE_COL).is_not_null()).select(
            pl.col(RID_COL).cast(pl.Int64), pl.lit("").alias(FIELD_COL), pl.col(LEFT_LINE_COL).alias(ERROR_COL)
        )
    notes = {
        "orders_total_computed": good_orders.get_column("_total_computed").sum(),
        **{f"{CONFLICTS_TAKEN}{f}": good_orders.get_column(TAKEN + f).sum() for f in taken},
    }
    return Prepared(
        records=records, reasons=reasons, ignored=columns.ignored, notes=notes, warnings=warnings, left_out=left_out
    )


def _with_product(lines: pl.DataFrame) -> pl.DataFrame:
    """The lines with a product (all of them, as usual, without a copy)."""
    return lines if lines.get_column(HAS_PRODUCT).all() else lines.filter(pl.col(HAS_PRODUCT))


def _attribute_groups(columns: OrderColumns) -> list[AttributeColumns]:
    return [
        AttributeColumns(columns.order_attributes, ORDER_ATTRIBUTES, "order attribute"),
        AttributeColumns(columns.product_attributes, PRODUCT_ATTRIBUTES, "product attribute"),
    ]


def _preflight(
    lines: pl.DataFrame, heads: pl.DataFrame, columns: OrderColumns, lists: Lists | None
) -> tuple[pl.DataFrame, list[str]]:
    """The pre-flight's reasons for attribute values, per line (each line with its run's order attributes),
    and its warnings."""
    if lists is None:
        return no_reasons(), []
    if columns.order_attributes:
        lines = lines.join(heads.select(RUN, *columns.order_attributes), on=RUN, how="left", maintain_order="left")
    return preflight_check(lines, _attribute_groups(columns), {}, lists)


def _consolidate(
    heads: pl.DataFrame, lines: pl.DataFrame, columns: OrderColumns, taken: dict[str, str] | None = None
) -> pl.DataFrame:
    """One row per order id: the first value given for each order-level column (the last, for a field
    ``taken`` says "last" of; from the runs: each run holds its lines' values), whether they disagree on a
    field that must agree (``_disagree``) or on one ``taken`` (``_taken.<field>``), and its products counted
    and summed (from the lines)."""
    taken = taken or {}
    level = [c for c in columns.order_level if c != "id"]
    keyed = heads.filter(pl.col("id").is_not_null())
    orders_given = keyed.get_column("id").n_unique()
    agreeing = [c for c in level if c not in taken]

    def differs(column: str) -> pl.Expr:
        return pl.col(column).drop_nulls().n_unique() > 1

    merged = (  # each order's first (or last) value of each column, and whether its runs disagree
        *[(pl.col(c).drop_nulls().last() if taken.get(c) == "last" else pl.col(c).drop_nulls().first()) for c in level],
        (pl.any_horizontal(*[differs(c) for c in agreeing]) if agreeing else pl.lit(False)).alias(DISAGREE),
        *[differs(c).alias(TAKEN + c) for c in taken],
    )
    if orders_given == keyed.height:  # one run per order, as usual: nothing to merge,
        orders = keyed.select(
            BLOCK,
            "id",
            *level,
            pl.lit(False).alias(DISAGREE),  # and orders are known by block
            *[pl.lit(False).alias(TAKEN + c) for c in taken],
        )
    elif orders_given == keyed.get_column(BLOCK).n_unique():  # each order's lines together: grouped by block
        orders = keyed.group_by(_grouped(BLOCK, BLOCK), maintain_order=True).agg(pl.col("id").first(), *merged)
    else:
        orders = keyed.group_by("id", maintain_order=True).agg(*merged)
    price = pl.col("product.price").cast(pl.Float64, strict=False)
    quantity = pl.col("product.quantity").cast(pl.Int64, strict=False)
    key = _key(orders)
    products = (
        lines.filter(pl.col("id").is_not_null())
        .group_by(_grouped(key, key), maintain_order=True)
        .agg(
            pl.col(HAS_PRODUCT).sum().alias("_products"),
            # rounded: a float sum depends on the lines' order (1947.2 vs 1947.1999999999998)
            (price * quantity).filter(pl.col(HAS_PRODUCT)).sum().round(6).alias("_computed_total"),
        )
    )
    orders = _beside(orders, products, key)
    computed = pl.col("totalValue").is_null() & (pl.col("_products") > 0)
    return orders.with_columns(
        pl.when(computed)
        .then(pl.col("_computed_total").cast(pl.String))
        .otherwise(pl.col("totalValue"))
        .alias("totalValue"),
        computed.alias("_total_computed"),
    )


def _conflicts(heads: pl.DataFrame, orders: pl.DataFrame, order_level: list[str]) -> pl.DataFrame:
    """Per order id and column: the different values its lines give, with where each was first seen (a
    run's first line). Only the orders whose lines disagree somewhere (found while consolidating) are
    looked at."""
    if not orders.get_column(DISAGREE).any():
        return pl.DataFrame(schema={"id": pl.String, FIELD_COL: pl.String, ERROR_COL: pl.String})
    where = pl.format("{} row {}", pl.col(FILE_COL).str.split("/").list.last(), pl.col(ROW_COL))
    seen = (
        heads.join(orders.filter(pl.col(DISAGREE)).select("id"), on="id", how="semi")
        .select("id", where.alias("_where"), *[c for c in order_level if c != "id"])
        .unpivot(index=["id", "_where"], variable_name=FIELD_COL, value_name="_value")
        .drop_nulls("_value")
        .group_by("id", FIELD_COL, "_value", maintain_order=True)
        .agg(pl.col("_where").first())
    )
    return (
        seen.group_by("id", FIELD_COL, maintain_order=True)
        .agg(pl.format("'{}' ({})", pl.col("_value"), pl.col("_where")).str.join(", ").alias("_seen"), pl.len())
        .filter(pl.col("len") > 1)
        .select(
            "id",
            FIELD_COL,
            pl.format(
                '{}: the lines of order {} disagree: {} (a mapping\'s conflict = "first" or "last" takes one)',
                pl.col(FIELD_COL),
                pl.col("id"),
                pl.col("_seen"),
            ).alias(ERROR_COL),
        )
    )


def _order_schema_reasons(orders: pl.DataFrame, customer_field: str) -> pl.DataFrame:
    """Fields every order needs and none of its lines gave, keyed by order id."""
    indexed = orders.with_row_index(RID_COL).with_columns(pl.col(RID_COL).cast(pl.Int64))
    required = {f: "is required and no line of the order gives it" for f in ("date", "totalValue", customer_field)}
    reasons = schema_reasons(indexed, order_schema(customer_field), {}, required)
    return reasons.join(indexed.select(RID_COL, "id"), on=RID_COL).select("id", FIELD_COL, ERROR_COL)


def _spread(
    lines: pl.DataFrame, line_reasons: pl.DataFrame, order_reasons: pl.DataFrame, one_line_a_row: bool = False
) -> pl.DataFrame:
    """Per input row: its own reasons, its order's reasons, or why it falls with its order."""
    by_line = lines.select(RID_COL, "id", ROW_COL, FILE_COL)
    if not one_line_a_row:
        by_line = by_line.unique(RID_COL, keep="first", maintain_order=True)
    from_orders = order_reasons.join(by_line.select(RID_COL, "id"), on="id").select(RID_COL, FIELD_COL, ERROR_COL)
    invalid_rows = by_line.join(line_reasons.select(RID_COL), on=RID_COL, how="semi")
    culprits = (
        invalid_rows.filter(pl.col("id").is_not_null())
        .group_by("id")
        .agg(
            pl.format("{} row {}", pl.col(FILE_COL).str.split("/").list.last(), pl.col(ROW_COL))
            .sort()
            .str.join(", ")
            .alias("_culprits")
        )
    )
    already = pl.concat([line_reasons.select(RID_COL), from_orders.select(RID_COL)])
    bystanders = (
        by_line.join(culprits, on="id")
        .join(already, on=RID_COL, how="anti")
        .select(
            RID_COL,
            pl.lit("").alias(FIELD_COL),
            pl.format("another line of order {} is invalid ({})", pl.col("id"), pl.col("_culprits")).alias(ERROR_COL),
        )
    )
    return combine([line_reasons, from_orders, bystanders])


def _records(
    lines: pl.DataFrame, orders: pl.DataFrame, columns: OrderColumns, one_line_a_row: bool = False
) -> pl.DataFrame:
    """One JSON record per order, products in input order; ``_rid`` lists the order's input rows.

    Products and orders are typed structs and each order is encoded by polars in one pass
    (``struct.json_encode``: strings escaped, numbers as polars renders them); members a record lacks are
    then cut from its text (``json_text.Absent``), so they are left out, never sent as null."""
    absent = json_text.Absent()
    if not lines.get_column(LINE).is_sorted():  # (they come in input order: sorting would copy every column)
        lines = lines.sort(LINE)
    key = _key(orders)
    products = lines.filter(pl.col(HAS_PRODUCT)).select(
        pl.col(key).alias(ORDER_KEY),
        LINE,
        *[json_text.sent_as(f) for f in PRODUCT_LEVEL],
        *columns.product_attributes,
    )
    products = json_text.name_values(products, LINE, columns.product_attributes, "productAttributes")
    product = pl.struct(absent.members(products, [*PRODUCT_MEMBERS, "productAttributes"]))
    rid = pl.col(RID_COL)
    if LEFT_LINE_COL in lines.columns:  # a line the mapping left out is counted apart (Prepared.left_out)
        rid = rid.filter(pl.col(LEFT_LINE_COL).is_null())
    rid = rid if one_line_a_row else rid.unique(maintain_order=True)
    rids = lines.group_by(_grouped(key, key), maintain_order=True).agg(rid)
    listed = (
        products.group_by(_grouped(ORDER_KEY, key), maintain_order=True)
        .agg(product.alias("products"))
        .rename({ORDER_KEY: key})
    )
    per_order = _beside(_beside(orders, rids, key), listed, key)
    values = per_order.select(
        RID_COL,
        *[
            json_text.sent_as(f).fill_null(SENT_DEFAULTS[f.name]) if f.name in SENT_DEFAULTS else json_text.sent_as(f)
            for f in ORDER_LEVEL
        ],
        *[json_text.sent_as(f) for f in CUSTOMER_LEVEL],
        "products",
        *columns.order_attributes,
    )
    values = values.with_columns(pl.col("products").fill_null(pl.lit([], dtype=values.schema["products"])))
    values = json_text.name_values(values, "id", columns.order_attributes, "orderAttributes")
    customer = pl.struct(absent.members(values, CUSTOMER_MEMBERS)).alias("customer")
    order = pl.struct(
        *absent.members(values, ORDER_MEMBERS), customer, *absent.members(values, ["products", "orderAttributes"])
    )
    return values.select(RID_COL, absent.cut(order.struct.json_encode()).alias(JSON_COL), pl.col("id").alias(KEY_COL))


def _key(orders: pl.DataFrame) -> str:
    """What tells orders apart: their block when each order's lines are together (``_consolidate`` then
    keeps it; blocks are numbered in input order, so grouping by them is a linear pass), else the id."""
    return BLOCK if BLOCK in orders.columns else "id"


def _grouped(column: str, key: str) -> pl.Expr:
    """``column``, which holds the orders' ``key`` (see ``_key``), as a group key: marked sorted when the key
    is the block (blocks ascend in input order, so polars groups them in one linear pass)."""
    return pl.col(column).set_sorted() if key == BLOCK else pl.col(column)


def _beside(orders: pl.DataFrame, more: pl.DataFrame, key: str = "id") -> pl.DataFrame:
    """``orders`` with the columns of ``more`` (one row per ``key``): side by side when both list the orders
    in the same order, as they usually do (nothing is copied), else joined."""
    if more.get_column(key).equals(orders.get_column(key)):
        return pl.concat([orders, more.drop(key)], how="horizontal")
    return orders.join(more, on=key, how="left", maintain_order="left")
