"""The time-zone rule (importer.records.order_dates) as docs/orders.md states it: each row of the doc's
table is imported into the sandbox and read back, so the documentation cannot drift from the code."""

from __future__ import annotations

import re

import polars as pl
import pytest

from importer.records import order_dates, time_zones
from tests.support import ROOT, assert_accounted, get, run_cli, sandbox_env, write_csv

ORDERS_DOC = (ROOT / "docs" / "orders.md").read_text(encoding="utf-8")
LINE = {
    "totalValue": "10",
    "customer.email": "a@example.com",
    "product.id": "p1",
    "product.name": "Thing",
    "product.price": "10",
    "product.quantity": "1",
}


def _doc_rows() -> list[tuple[str, str, str, str, str]]:
    """(date, timeZone, option, sent date or "rejected: ...", sent timeZone) of the doc's table."""
    table = ORDERS_DOC[ORDERS_DOC.index("| in the file: `date` |") :].split("\n\n")[0].splitlines()[2:]
    rows = []
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        date = re.findall(r"`([^`]*)`", cells[0])[0]
        zone_cell = cells[1]
        zones = re.findall(r"`([^`]*)`", zone_cell)
        zone = zones[0] if zones else ""
        option = "iana" if "--time-zone-names iana" in zone_cell else "windows"
        sent = cells[2] if cells[2].startswith("rejected") else re.findall(r"`([^`]*)`", cells[2])[0]
        sent_zone = (re.findall(r"`([^`]*)`", cells[3]) or [""])[0]
        rows.append((date, zone, option, sent, sent_zone))
    return rows


DOC_ROWS = _doc_rows()


def test_the_doc_table_has_a_row_for_each_case():
    assert len(DOC_ROWS) == 8
    assert sum(sent.startswith("rejected") for _, _, _, sent, _ in DOC_ROWS) == 2


@pytest.mark.parametrize(
    ("date", "zone", "names", "sent_date", "sent_zone"), DOC_ROWS, ids=[f"{d}|{z}" for d, z, *_ in DOC_ROWS]
)
def test_each_documented_case_is_what_the_platform_receives(sandbox, tmp_path, date, zone, names, sent_date, sent_zone):
    row = {"id": "o1", "date": date, "timeZone": zone, **LINE}
    source = write_csv(tmp_path / "orders.csv", list(row), [list(row.values())])
    run = run_cli(
        ["orders", str(source), "--time-zone-names", names, "--max-rejects", "100%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert_accounted(run.summary)
    if sent_date.startswith("rejected"):
        [rejected] = run.rejected
        wanted = {"skip": "does not exist in Europe/Warsaw", "time zone": f"'{zone}' is not a time zone"}
        assert any(key in sent_date and text in rejected["_error"] for key, text in wanted.items()), rejected
        assert get(sandbox, "/orders/o1").status_code == 404
        return
    assert run.exit_code == 0, run.rejected
    [body] = sandbox.stats.json_bodies("/orders")
    assert (body["data"][0]["date"], body["data"][0]["timeZone"]) == (sent_date, sent_zone)


def test_the_instant_is_the_same_whichever_way_the_platform_reads_date_and_timezone():
    """Sent with a zone, the clock time and the offset agree: read as an instant (its offset) or as a
    clock time in timeZone, it is the instant the file meant."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    heads = pl.DataFrame(
        {
            "date": ["2024-11-06T10:10:00Z", "2024-07-01 10:10", "2024-01-15T23:30:00-05:00"],
            "timeZone": ["Europe/Warsaw", "America/New_York", "Asia/Tokyo"],
        }
    )
    meant = [
        datetime(2024, 11, 6, 10, 10, tzinfo=ZoneInfo("UTC")),
        datetime(2024, 7, 1, 10, 10, tzinfo=ZoneInfo("America/New_York")),
        datetime(2024, 1, 16, 4, 30, tzinfo=ZoneInfo("UTC")),
    ]
    sent = order_dates.localise(heads, "iana")
    for (date, zone), instant in zip(sent.select("date", "timeZone").iter_rows(), meant, strict=True):
        as_instant = datetime.fromisoformat(date)
        as_clock_in_zone = as_instant.replace(tzinfo=None).replace(tzinfo=ZoneInfo(zone))
        assert as_instant == instant == as_clock_in_zone


def test_every_windows_name_of_cldr_is_known_and_names_a_zone_polars_can_convert_in():
    names = pl.DataFrame({"timeZone": sorted(time_zones.win_tz)})
    zones = names.select(time_zones.iana_expr(time_zones.canonical_expr(pl.col("timeZone")))).to_series()
    assert zones.null_count() == 0
    for zone in zones.unique():
        pl.DataFrame({"d": ["2024-01-01 00:00"]}).select(
            pl.col("d").str.to_datetime().dt.replace_time_zone(zone)
        )  # raises for a zone polars lacks


def test_repeated_dates_and_several_zones_give_what_each_row_alone_gives():
    """Worked out once per distinct date of each zone (a join) or row by row: the same answer."""
    dates = ["2024-11-06 10:10", "2024-03-31 02:30", "2024-07-01T10:10:00+02:00", None, "junk"]
    zones = ["Europe/Warsaw", "Pacific Standard Time", None, "Asia/Tokyo", "Mars"]
    rows = [(d, z) for d in dates for z in zones] * 3  # repeated: the distinct dates are few
    heads = pl.DataFrame({"date": [d for d, _ in rows], "timeZone": [z for _, z in rows]})
    together = order_dates.localise(heads, "windows")
    alone = pl.concat(
        [order_dates.localise(heads.slice(i, 1), "windows") for i in range(heads.height)], how="diagonal_relaxed"
    )
    columns = ["date", "timeZone", order_dates.ZONE, order_dates.ZONE_PROBLEM]
    assert together.select(columns).to_dicts() == alone.select(columns).to_dicts()
    warsaw = together.filter(pl.col("timeZone") == "Central European Standard Time")
    assert warsaw.get_column("date").to_list()[:3] == [
        "2024-11-06T10:10:00.000+01:00",
        "2024-03-31 02:30",
        "2024-07-01T10:10:00.000+02:00",
    ]  # (skipped: as written)
