"""Blank rows (every cell empty or white space, as a spreadsheet saves its unused rows): skipped and
counted as ``rows_blank``, never checked, sent or rejected; the error budget counts the other rows only."""

from __future__ import annotations

import polars as pl

from importer.inputs.set_aside import without_blank_rows
from tests.support import ORDER_LINE_COLUMNS, assert_accounted, run_cli, sandbox_env, write_csv

CUSTOMERS = ["email", "firstName", "lastName", "gender", "attr.loyaltyTier", "consent.1"]


def test_a_spreadsheet_saved_csv_with_100000_trailing_blank_rows_imports_as_the_rows_it_has(sandbox, tmp_path):
    source = tmp_path / "saved.csv"
    rows = "\n".join(f"c{i}@example.com,Anna,Nowak,Female,gold,True" for i in range(5))
    source.write_text(",".join(CUSTOMERS) + "\n" + rows + "\n" + ",,,,,\n" * 100_000, encoding="utf-8")
    run = run_cli(["customers", str(source)], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr  # not stopped by the error budget, nothing rejected
    summary = run.summary
    assert (summary["rows_read"], summary["rows_blank"], summary["rows_accepted"]) == (100_005, 100_000, 5)
    assert summary["rows_rejected"] == 0 and not (tmp_path / "r" / "rejected.csv").exists()
    assert sandbox.store.counts().customers == 5
    assert_accounted(summary)
    assert "100000 blank (skipped)" in run.stdout
    assert "blank rows skipped" in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")


def test_white_space_is_blank_but_one_value_or_an_unreadable_line_is_not(sandbox, tmp_path):
    text = (
        "email,firstName\n"
        "a@example.com,A\n"
        " , \t\n"  # white space only: blank
        "\u00a0,\u3000\n"  # no-break and ideographic spaces: blank
        ",Bob\n"  # a name but no e-mail: rejected, not blank
        '"broken,quote\n'  # a line that cannot be read: rejected, not blank
        "\n"
    )  # an empty line: blank
    source = tmp_path / "in.csv"
    source.write_text(text, encoding="utf-8")
    run = run_cli(
        ["customers", str(source), "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "r"
    )
    summary = run.summary
    assert summary["rows_accepted"] == 1 and summary["rows_rejected"] == 2, run.rejected
    assert summary["rows_blank"] == summary["rows_read"] - 3
    assert_accounted(summary)
    assert sorted(r["_row"] for r in run.rejected) == ["5", "6"]  # row numbers as the file has them


def test_the_error_budget_counts_the_rows_that_are_not_blank(sandbox, tmp_path):
    rows = [[f"c{i}@example.com", "A"] for i in range(4)] + [["not-an-email", "B"]] + [["", ""]] * 200
    source = write_csv(tmp_path / "in.csv", ["email", "firstName"], rows)
    run = run_cli(["customers", str(source)], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 2  # 1 of 5 rows is 20 % > 10 %; 1 of 205 would have gone through
    assert run.summary["stopped"].startswith("error budget: 1 of 5 rows rejected (20%)")
    assert run.summary["rows_blank"] == 200 and sandbox.stats.count("POST", "/customers") == 0
    assert_accounted(run.summary)


def test_blank_lines_between_order_lines_change_no_order(sandbox, tmp_path):
    header = ORDER_LINE_COLUMNS
    line = ["o1", "2024-11-06T10:10:00Z", "20", "a@example.com", "p1", "Mug", "10", "1"]
    rows = [line, [""] * 8, {**dict(zip(header, line, strict=True)), "product.id": "p2"}.values(), [" "] * 8]
    source = write_csv(tmp_path / "orders.csv", header, [list(r) for r in rows])
    for first_pass in ("streamed", "partitioned"):
        args = ["orders", str(source)] + (
            ["--max-rejects", "100%", "--max-drift", "off"] if first_pass == "partitioned" else []
        )
        run = run_cli(args, env=sandbox_env(sandbox), report_dir=tmp_path / first_pass)
        assert run.exit_code == 0, run.stderr
        assert (run.summary["first_pass"], run.summary["rows_blank"]) == (first_pass, 2)
        assert run.summary["records_accepted"] == 1 and run.summary["rows_accepted"] == 2
        assert_accounted(run.summary)


def test_shards_share_the_blank_rows_without_counting_one_twice(tmp_path):
    rows = [[f"c{i}@example.com", "A"] for i in range(30)] + [["", ""]] * 40
    source = write_csv(tmp_path / "in.csv", ["email", "firstName"], rows)
    blank = 0
    for k in (1, 2, 3):
        run = run_cli(["customers", str(source), "--dry-run", "--shard", f"{k}/3"], report_dir=tmp_path / f"s{k}")
        assert run.exit_code == 0, run.stderr
        blank += run.summary["rows_blank"]
        assert run.summary["rows_read"] + run.summary["rows_in_other_shards"] == 70
    assert blank == 40


def test_the_bulk_operations_and_verify_skip_blank_rows_too(sandbox, tmp_path):
    orders = write_csv(tmp_path / "status.csv", ["id", "status"], [["o1", "paid"], ["", ""], ["", " "]])
    run = run_cli(["order-status", str(orders)], env=sandbox_env(sandbox), report_dir=tmp_path / "s", imports=False)
    summary = run.summary
    assert (summary["rows_read"], summary["rows_blank"], summary["rows_rejected"]) == (3, 2, 1)  # o1 is unknown
    customers = write_csv(tmp_path / "c.csv", ["email"], [["a@example.com"], [""]])
    run_cli(["customers", str(customers)], env=sandbox_env(sandbox), report_dir=tmp_path / "c")
    verified = run_cli(
        ["verify", "customers", str(customers)], env=sandbox_env(sandbox), report_dir=tmp_path / "v", imports=False
    )
    assert verified.exit_code == 0, verified.stderr
    assert (verified.summary["rows_read"], verified.summary["rows_blank"], verified.summary["records_matching"]) == (
        2,
        1,
        1,
    )


def test_without_blank_rows_keeps_a_frame_with_none_as_it_is():
    frame = pl.DataFrame({"_rid": [0, 1], "email": ["a@example.com", None], "firstName": [None, "B"]})
    kept, blank = without_blank_rows(frame)
    assert blank == 0 and kept is frame  # no copy
    mapped = pl.DataFrame({"_rid": [0, 1], "email": ["x", "x"], "_in.Mail": ["a@example.com", None]})
    kept, blank = without_blank_rows(mapped)  # a mapped run: the file's own columns decide (constants do not)
    assert blank == 1 and kept.get_column("_rid").to_list() == [0]
