"""Synthetic input files for the benchmarks: customers and order lines of a given size.

The mix is meant to look like a real export: 1–5 lines per order (3 on average), order-level values
repeated on every line, Polish and German names with diacritics, a few emoji, attributes, and about 1 %
invalid rows (a bad e-mail, an unknown status, a negative quantity, a 300-character product name).
Generation is vectorised (polars, a seeded hash as the random source), so 10 million lines take
seconds, and the same size always gives the same file.

Order lines come in three shapes, as exports have them: ``clustered`` (an order's lines adjacent, its
values on every line), ``sparse`` (adjacent, the order's own columns filled on its first line only, as
Shopify writes them) and ``shuffled`` (every value on every line, the lines in random order: a join or a
database dump without ORDER BY).

    python bench/generate.py orders 1000000 /tmp/orders_1m.csv
    python bench/generate.py orders-sparse 1000000 /tmp/orders_sparse_1m.csv
    python bench/generate.py customers 1000000 /tmp/customers_1m.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

FIRST = ["Anna", "Łukasz", "Zofia", "Jürgen", "Małgorzata", "Paweł", "Günther", "Žofie", "Kasia 🌸", "Ola"]
LAST = ["Kowalska", "Nowak", "Wiśniewski", "Müller", "Schröder", "Dąbrowska", "Lewandowski", "Zieliński"]
PRODUCTS = [
    "Słuchawki bezprzewodowe",
    "Koszulka lniana",
    "Kubek 350 ml",
    "Buty do biegania",
    "Plecak 🎒",
    "Füller aus Messing",
    "Lampa biurkowa",
    "Zegarek sportowy",
    "Kawa ziarnista 1 kg",
    "Książka",
]
STATUSES = ["placed", "paid", "completed", "canceled"]
CATEGORIES = ["Electronics", "Fashion", "Home", "Sport", "Books"]


def _rand(seed: int, modulo: int) -> pl.Expr:
    """A deterministic pseudo-random integer in [0, modulo) per row, from the row index and a seed."""
    return (pl.col("i").hash(seed) % modulo).cast(pl.Int64)


def _pick(values: list[str], seed: int) -> pl.Expr:
    return pl.lit(pl.Series(values)).gather(_rand(seed, len(values)))


def order_lines(lines: int) -> pl.DataFrame:
    """``lines`` order lines of about lines/3 orders, lines of one order adjacent (as exports hold them)."""
    orders = lines // 2 + 1  # 1–5 lines each: more than enough lines, cut at ``lines``
    sizes = pl.DataFrame({"i": pl.int_range(orders, eager=True)}).select("i", (_rand(1, 5) + 1).alias("n"))
    frame = (
        sizes.with_columns(pl.int_ranges(0, "n").alias("line"))
        .explode("line")
        .head(lines)
        .with_columns(pl.int_range(pl.len()).alias("row"))
    )
    invalid = (pl.col("row").hash(99) % 100) == 0  # ~1 % of lines
    kind = pl.col("row").hash(98) % 4
    email = pl.format("{}.{}@example.com", _pick(["anna", "jan", "zofia", "piotr", "ewa"], 2), pl.col("i") % 200_000)
    date = (pl.datetime(2024, 1, 1) + pl.duration(seconds=_rand(3, 365 * 86_400))).dt.strftime(
        "%Y-%m-%dT%H:%M:%S+01:00"
    )
    product = pl.lit(pl.Series(PRODUCTS)).gather((pl.col("i") + pl.col("line")).hash(7) % len(PRODUCTS))
    return frame.select(
        pl.format("ORD-{}", pl.col("i") + 100_000).alias("id"),
        date.alias("date"),
        pl.when(invalid & (kind == 1)).then(pl.lit("shipped")).otherwise(_pick(STATUSES, 4)).alias("status"),
        pl.lit("PLN").alias("currency"),
        pl.lit("Europe/Warsaw").alias("timeZone"),
        pl.lit("1").alias("websiteId"),
        pl.when(invalid & (kind == 0)).then(pl.lit("not-an-email")).otherwise(email).alias("customer.email"),
        pl.format(
            "+48 60{} {} {}", pl.col("i") % 10, pl.col("i").hash(14) % 900 + 100, pl.col("i").hash(15) % 900 + 100
        ).alias("customer.phone"),
        _pick(["web", "app", "store"], 5).alias("attr.channel"),
        pl.when(pl.col("i").hash(16) % 5 == 0).then(pl.lit("AUTUMN10")).alias("attr.couponCode"),
        pl.format("SKU-{}", (pl.col("i") + pl.col("line")).hash(8) % 5000).alias("product.id"),
        pl.when(invalid & (kind == 3)).then(pl.lit("x" * 300)).otherwise(product).alias("product.name"),
        pl.lit(pl.Series(CATEGORIES))
        .gather((pl.col("i") + pl.col("line")).hash(9) % len(CATEGORIES))
        .alias("product.category"),
        pl.format("{}.{}", (pl.col("i") + pl.col("line")).hash(10) % 500 + 1, pl.col("i").hash(11) % 90 + 10).alias(
            "product.price"
        ),
        pl.when(invalid & (kind == 2))
        .then(pl.lit("-1"))
        .otherwise(((pl.col("row").hash(12) % 3) + 1).cast(pl.String))
        .alias("product.quantity"),
        pl.when(pl.col("row").hash(17) % 20 == 0).then(pl.lit("1")).alias("product.returned"),
        pl.format("https://shop.example.com/p/{}", (pl.col("i") + pl.col("line")).hash(8) % 5000).alias("product.url"),
        pl.format("https://cdn.example.com/img/{}.jpg", (pl.col("i") + pl.col("line")).hash(8) % 5000).alias(
            "product.imageUrl"
        ),
        _pick(["black", "white", "red", "zielony"], 13).alias("product.attr.color"),
        _pick(["S", "M", "L", "XL"], 18).alias("product.attr.size"),
    )


ORDER_COLUMNS = [
    "date",
    "status",
    "currency",
    "timeZone",
    "websiteId",
    "customer.email",
    "customer.phone",
    "attr.channel",
    "attr.couponCode",
]  # an order's own columns (the rest describe a line)
SHAPES = ("clustered", "sparse", "shuffled", "wide")
#: Columns a shop's export carries and the import does not use, empty on most lines (the ``wide`` shape).
UNUSED_COLUMNS = [
    f"{part} {field}"
    for part in ("Billing", "Shipping", "Fulfillment")
    for field in ("Name", "Company", "Street", "Address 2", "City", "Zip", "Province", "Country", "Phone", "Notes")
]


def shaped(frame: pl.DataFrame, shape: str) -> pl.DataFrame:
    """Order lines in ``shape``: as generated (clustered), order columns on an order's first line only
    (sparse), the lines in a seeded random order (shuffled), or sparse with 30 empty columns more (wide)."""
    if shape == "sparse":
        first = (pl.col("id") != pl.col("id").shift(1)).fill_null(True)
        return frame.with_columns(pl.when(first).then(pl.col(c)).otherwise(None).alias(c) for c in ORDER_COLUMNS)
    if shape == "shuffled":
        return frame.sample(fraction=1.0, shuffle=True, seed=20)
    if shape == "wide":  # sparse, with a shop export's 30 columns the import ignores, empty
        return shaped(frame, "sparse").with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in UNUSED_COLUMNS)
    return frame


def customers(rows: int) -> pl.DataFrame:
    """``rows`` customers with distinct e-mails (but for the ~1 % invalid ones)."""
    frame = pl.DataFrame({"i": pl.int_range(rows, eager=True)})
    invalid = (pl.col("i").hash(99) % 100) == 0
    kind = pl.col("i").hash(98) % 4
    first, last = _pick(FIRST, 1), _pick(LAST, 2)
    return frame.select(
        pl.when(invalid & (kind == 0))
        .then(pl.lit("not-an-email"))
        .otherwise(pl.format("customer{}@example.com", pl.col("i")))
        .alias("email"),
        pl.format("+48 6{} {} {}", _rand(3, 90) + 10, _rand(4, 900) + 100, _rand(5, 900) + 100).alias("phone"),
        pl.format("CRM-{}", pl.col("i")).alias("crmId"),
        first.alias("firstName"),
        pl.when(invalid & (kind == 1)).then(pl.lit("y" * 300)).otherwise(last).alias("lastName"),
        pl.format("19{}-0{}-1{}", _rand(6, 80) + 20, _rand(7, 9) + 1, _rand(8, 9)).alias("dateOfBirth"),
        pl.when(invalid & (kind == 2))
        .then(pl.lit("robot"))
        .otherwise(_pick(["Female", "Male", "NotSpecified"], 9))
        .alias("gender"),
        _pick(["gold", "silver", "bronze"], 10).alias("attr.loyaltyTier"),
        pl.when(invalid & (kind == 3)).then(pl.lit("maybe")).otherwise(_pick(["True", "False"], 11)).alias("consent.1"),
    )


KINDS = ("orders", "orders-sparse", "orders-shuffled", "orders-wide", "customers")


def write(kind: str, size: int, path: Path) -> Path:
    """``kind``: customers, or orders[-sparse|-shuffled|-wide] (order lines clustered, sparse, shuffled or
    wide)."""
    if kind == "customers":
        frame = customers(size)
    else:
        frame = shaped(order_lines(size), kind.partition("-")[2] or "clustered")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in KINDS:
        sys.exit(f"usage: python bench/generate.py {'|'.join(KINDS)} SIZE FILE")
    print(write(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])))
