"""Property: for any table of valid and invalid cells, every row is accounted for, and every accepted
row's data arrives in the platform as normalised — or, over the error budget (10% by default, of the
rows that are not blank), nothing is sent at all — through the library API, against the sandbox. Blank
rows (every cell empty or white space, as a spreadsheet saves its unused rows) are skipped and counted.

Customers and order lines, and a mapping's join whose misses are rejected or dropped (``rows_unmatched``);
cells include hostile ones (formula-like text, spreadsheet error values,
control characters, stray BOMs, emoji). The oracles restate the documented rules independently of the
code under test. Examples are few and small, so the suite stays fast.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from importer.budget import Budget
from importer.jobs.imports import import_customers, import_orders
from importer.settings import (
    ApiKey,
    ApiSettings,
    CustomerOptions,
    OrderOptions,
    RunOptions,
)
from tests.support import ORDER_LINE_COLUMNS, customer, write_csv

_counter = itertools.count()

emails = st.one_of(
    st.builds(lambda n, d: f"user{n}@{d}.example", st.integers(0, 30), st.sampled_from(["a", "b", "ą"])),
    st.sampled_from(["", "not-an-email", "x@@y", " spaced @x.y"]),
)
# Control characters are left out: Python's str.strip() and Unicode's White_Space (polars) disagree on
# \x1c-\x1f, and the oracle below uses str.strip().
_letters = st.characters(blacklist_categories=("Cc", "Cs"))
names = st.one_of(
    st.text(_letters, min_size=0, max_size=12),
    st.text(_letters, min_size=257, max_size=260),
    st.sampled_from(
        [
            "=1+1",
            "@SUM(A1)",
            "-x",
            "#N/A",
            " #ref! ",
            "Err:502",
            "a\x00b",
            "\x1b[31mred",
            "\ufeffAnna",
            "Zoë 👩‍👩‍👧",
            "\u202eevil",
        ]
    ),
)
genders = st.sampled_from(["", "male", "Female", "NOTSPECIFIED", "other", " female "])
consents = st.sampled_from(["", "true", "False", "AwaitingConfirmation", "nope"])
rows = st.lists(st.tuples(emails, names, genders, consents), min_size=0, max_size=25)
blank_rows = st.lists(st.tuples(*[st.sampled_from(["", " ", "\u00a0", "\t "])] * 4), max_size=4)  # ,,,, rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=rows, trailing=blank_rows, budget_off=st.booleans())
def test_every_row_is_accounted_for_and_accepted_rows_arrive(sandbox, tmp_path, table, trailing, budget_off):
    sandbox.reset()
    table = table + trailing
    run_dir = tmp_path / f"run{next(_counter)}"
    run_dir.mkdir()
    source = write_csv(run_dir / "in.csv", ["email", "firstName", "gender", "consent.1"], [list(r) for r in table])
    result = import_customers(
        [source],
        ApiSettings(url=sandbox.url, key=ApiKey(sandbox.api_key)),
        CustomerOptions(),
        RunOptions(
            chunk_size=7,
            report_dir=run_dir / "report",
            progress=False,
            state=run_dir / "state.db",
            max_rejects=Budget.parse("100%" if budget_off else "10%"),
        ),
    )
    summary = result.summary.to_dict()
    blank = sum(1 for row in table if not any(cell.strip() for cell in row))
    assert summary["rows_read"] == len(table) and summary["rows_blank"] == blank
    assert summary["rows_read"] == (
        summary["rows_accepted"]
        + summary["rows_rejected"]
        + summary["rows_failed"]
        + summary["rows_held"]
        + summary["rows_blank"]
    )
    expected: dict[str, tuple[str, str, str]] = {}  # the first *valid* row of each customer is sent
    for email, name, gender, consent in table:
        if _valid(email, name, gender, consent):
            expected.setdefault(email.strip().lower(), (name, gender, consent))
    if not budget_off and summary["rows_rejected"] * 100 > 10 * (len(table) - blank):  # over the budget: none sent
        assert summary["exit_code"] == 2 and summary["stopped"].startswith("error budget:")
        assert summary["rows_accepted"] == 0 and summary["rows_held"] == len(expected) and summary["rows_failed"] == 0
        assert sandbox.stats.count("POST", "/customers") == 0  # (the settings were read: pre-flight)
        return
    assert summary["rows_failed"] == 0 and summary["records_accepted"] == summary["rows_accepted"]
    assert summary["exit_code"] == (0 if summary["rows_rejected"] == 0 else 1)
    assert summary["rows_accepted"] == len(expected)
    for key, (name, gender, consent) in expected.items():
        stored = customer(sandbox, key)
        assert stored is not None
        assert stored.get("firstName") == (name.strip() or None)
        assert stored.get("gender") == GENDERS[gender.strip().lower()]
        assert stored.get("consentsData") == (
            {"consents": [{"id": 1, "value": consent.strip().capitalize()}]} if consent.strip() else None
        )
    assert Path(result.report_dir).is_dir()


GENDERS = {"": None, "male": "Male", "female": "Female", "notspecified": "NotSpecified"}


def _valid(email: str, name: str, gender: str, consent: str) -> bool:
    """The oracle: the documented rules, restated independently of the code under test."""
    address = email.strip()
    local, at, domain = address.partition("@")
    return (
        bool(at)
        and bool(local)
        and bool(domain)
        and "@" not in domain
        and not any(c.isspace() for c in address)
        and len(name.strip().encode("utf-16-le")) // 2 <= 256  # UTF-16 code units, as the platform counts
        and _clean(name)
        and gender.strip().lower() in GENDERS
        and consent.strip().lower() in ("", "true", "false")
    )


# -- orders: lines grouped into orders; an order is sent whole or not at all -------------------------


def _clean(text: str) -> bool:
    """No control character but tab and line breaks, no BOM, not a spreadsheet error value."""
    controls = [c for c in text if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F or c == "\ufeff"]
    errors = ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!")
    return not controls and text.strip().upper() not in errors and not re.fullmatch(r"ERR:\d{3}", text.strip().upper())


def _mostly(valid: list[str], invalid: list[str], weight: int = 6) -> st.SearchStrategy[str]:
    """A valid value about ``weight`` times as often as an invalid one (so that some orders are whole)."""
    return st.sampled_from(valid * weight + invalid)


_line_names = st.one_of(
    st.text(_letters, min_size=1, max_size=10),
    _mostly(['=HYPERLINK("x")', "+1", "@SUM(A1)", "-2", "Zoë 👩‍👩‍👧"], ["#N/A", "Na\x00me", "\ufeffBOM", "", " "], 6),
)
_prices = _mostly(["1", "2.50", "-0", "1e2"], ["x", "#DIV/0!", "NaN", ""], 8)
_quantities = _mostly(["1", "3"], ["0", "1.5", "2147483648", ""], 16)
_dates = {
    "2024-11-01": "2024-11-01T00:00:00.000Z",
    "2024-11-01T10:00:00+02:00": "2024-11-01T08:00:00.000Z",
    "2024-02-30": None,
    "0000-01-01": None,
}
_totals = {"12.5": 12.5, "1e3": 1000.0, "-0": 0.0, "abc": None, "inf": None}
_buyers = {"Buyer@Example.com": "buyer@example.com", "=1+1@x.example": "=1+1@x.example", "bad": None}


def _head(values: dict[str, object]) -> st.SearchStrategy[str]:
    return _mostly([k for k, v in values.items() if v is not None], [k for k, v in values.items() if v is None], 4)


order_heads = st.tuples(_head(_dates), _head(_totals), _head(_buyers))
order_lines = st.lists(
    st.tuples(st.integers(0, 5), _mostly([True], [False], 8), _line_names, _prices, _quantities),
    min_size=2,
    max_size=14,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    heads=st.lists(order_heads, min_size=6, max_size=6),
    lines=order_lines,
    blank_at=st.lists(st.integers(0, 14), max_size=3),
)
def test_every_order_line_is_accounted_for_and_valid_orders_arrive_whole(sandbox, tmp_path, heads, lines, blank_at):
    sandbox.reset()
    run_dir = tmp_path / f"orders{next(_counter)}"
    run_dir.mkdir()
    header = ORDER_LINE_COLUMNS
    table = []
    for number, (order, has_id, name, price, quantity) in enumerate(lines):
        date, total, buyer = heads[order]
        table.append([f"o{order}" if has_id else "", date, total, buyer, f"p{number}", name, price, quantity])
    for position in sorted(blank_at, reverse=True):  # blank rows among the lines: skipped, orders unchanged
        table.insert(min(position, len(table)), [""] * len(header))
    source = write_csv(run_dir / "orders.csv", header, table)
    result = import_orders(
        [source],
        ApiSettings(url=sandbox.url, key=ApiKey(sandbox.api_key)),
        OrderOptions(),
        RunOptions(
            chunk_size=3,
            report_dir=run_dir / "report",
            progress=False,
            state=run_dir / "state.db",
            max_rejects=Budget.parse("100%"),
        ),
    )  # delivery is the property here
    summary = result.summary.to_dict()
    assert summary["rows_read"] == len(table) and summary["rows_blank"] == len(blank_at)
    assert summary["rows_read"] == (
        summary["rows_accepted"] + summary["rows_rejected"] + summary["rows_failed"] + summary["rows_blank"]
    )
    assert summary["rows_failed"] == 0
    expected = _expected_orders(heads, lines)
    event(f"valid orders: {min(len(expected), 3)}{'+' if len(expected) >= 3 else ''}")
    assert summary["records_accepted"] == sandbox.store.counts().orders == len(expected)
    assert summary["rows_accepted"] == sum(len(order["products"]) for order in expected.values())
    for order_id, order in expected.items():
        stored = sandbox.store.order(order_id)
        assert stored is not None
        assert {k: stored[k] for k in ("date", "totalValue", "customer", "products")} == order


def _expected_orders(heads: list[tuple[str, str, str]], lines: list[tuple[int, bool, str, str, str]]) -> dict:
    """The oracle: orders whose head and every line are valid, with their products in line order."""
    orders: dict[str, dict] = {}
    broken: set[str] = set()
    for number, (order, has_id, name, price, quantity) in enumerate(lines):
        if not has_id:
            continue  # a line without an order id is rejected on its own
        order_id = f"o{order}"
        product = _product(number, name, price, quantity)
        if product is None:
            broken.add(order_id)
            continue
        date, total, buyer = heads[order]
        if None in (_dates[date], _totals[total], _buyers[buyer]):
            broken.add(order_id)
        orders.setdefault(
            order_id,
            {"date": _dates[date], "totalValue": _totals[total], "customer": {"email": _buyers[buyer]}, "products": []},
        )["products"].append(product)
    return {k: v for k, v in orders.items() if k not in broken}


def _product(number: int, name: str, price: str, quantity: str) -> dict | None:
    text = name.strip()
    name_ok = 0 < len(text.encode("utf-16-le")) // 2 <= 2048 and _clean(text)
    price_ok = price not in ("x", "#DIV/0!", "NaN", "")
    quantity_ok = quantity in ("1", "3")
    if not (name_ok and price_ok and quantity_ok):
        return None
    return {"id": f"p{number}", "name": text, "price": float(price), "quantity": int(quantity)}


# -- a mapping's join: misses rejected or dropped, never lost or doubled ------------------------------

join_keys = st.sampled_from(["k1", "k2", "k3", "k4", ""])
driving_rows = st.lists(st.tuples(join_keys, st.sampled_from(["a@x.example", "b@x.example", "bad"])), max_size=15)
joined_keys = st.lists(st.sampled_from(["k1", "k2", "k3"]), max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=driving_rows, keys=joined_keys, trailing=blank_rows, drop=st.booleans())
def test_a_join_accounts_for_every_driving_row(sandbox, tmp_path, table, keys, trailing, drop):
    """Each driving row is accepted, rejected, blank, or (``unmatched = "drop"``) unmatched and listed in
    unmatched.csv; a key the joined file holds twice, differently, rejects its rows; none is doubled."""
    sandbox.reset()
    run_dir = tmp_path / f"join{next(_counter)}"
    run_dir.mkdir()
    rows_in = [list(r) for r in table] + [[cells[0], cells[1]] for cells in trailing]
    write_csv(run_dir / "people.csv", ["key", "email"], rows_in)
    twice = {k for k in keys if keys.count(k) > 1}
    write_csv(run_dir / "extra.csv", ["key", "name"], [[k, f"name {i}"] for i, k in enumerate(keys)])
    (run_dir / "m.toml").write_text(
        'kind = "customers"\n[sources.people]\npath = "people.csv"\n[sources.extra]\npath = "extra.csv"\n'
        'join = { on = "key", to = "key" }\n'
        + ('unmatched = "drop"\n' if drop else "")
        + '[fields]\nemail = "email"\nfirstName = "extra.name"\n'
    )
    result = import_customers(
        [],
        ApiSettings(url=sandbox.url, key=ApiKey(sandbox.api_key)),
        CustomerOptions(),
        RunOptions(
            report_dir=run_dir / "report",
            progress=False,
            mapping=run_dir / "m.toml",
            state=run_dir / "state.db",
            max_rejects=Budget.parse("100%"),
        ),
    )
    s = result.summary.to_dict()
    blank = sum(1 for cells in rows_in if not any(c.strip() for c in cells))
    missed = sum(1 for key, _ in table if key not in keys)  # (an empty key finds nothing; its row is not blank)
    assert s["rows_read"] == len(rows_in) and s["rows_blank"] == blank
    assert (
        s["rows_read"]
        == s["rows_accepted"] + s["rows_rejected"] + s["rows_failed"] + s["rows_blank"] + s["rows_unmatched"]
    )
    assert s["rows_unmatched"] == (missed if drop else 0)
    listed = run_dir / "report" / "unmatched.csv"
    assert listed.exists() == bool(drop and missed)
    ambiguous = sum(1 for key, _ in table if key in twice)
    assert s["rows_rejected"] >= ambiguous + (0 if drop else missed)
