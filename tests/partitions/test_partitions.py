"""The partitioned path (rows spread over hash partitions on disk, prepared one at a time) gives exactly
what the in-memory path (one partition) gives: the same orders and customers, the same rejected rows
with the same reasons, the same counts; for sorted and shuffled input. And --shard splits a load into
disjoint shares that together are the whole."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import polars as pl
import pytest

from bench.generate import customers, order_lines
from importer.budget import Budget
from importer.jobs.imports import import_customers, import_orders
from importer.partitions import hashed
from importer.settings import ApiSettings, CustomerOptions, OrderOptions, RunOptions
from tests.support import assert_accounted

COUNTS = ("rows_read", "rows_accepted", "rows_rejected", "rows_failed", "records_built", "orders_total_computed")


def dry_run(kind: str, path: Path, report: Path, **options: object) -> tuple[dict, dict[str, dict], list[dict]]:
    """(summary, records by key, rejected rows) of a dry run."""
    options = {"max_rejects": Budget.parse("100%"), **options}  # the rejects are compared, not judged
    run = RunOptions(dry_run=True, report_dir=report, progress=False, **options)
    if kind == "orders":
        result = import_orders([path], ApiSettings(), OrderOptions(), run)
    else:
        result = import_customers([path], ApiSettings(), CustomerOptions(), run)
    records: dict[str, dict] = {}
    for line in (report / "payloads.jsonl").read_bytes().splitlines():
        for record in orjson.loads(line)["data"]:
            key = record["id"] if kind == "orders" else record["email"]
            assert key not in records, f"{key} sent twice"
            records[key] = record
    rejected_file = report / "rejected.csv"
    with open(rejected_file, newline="", encoding="utf-8") if rejected_file.exists() else open("/dev/null") as handle:
        rejected = list(csv.DictReader(handle))
    assert_accounted(result.summary)
    return result.summary.to_dict(), records, rejected


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("partitions")
    lines = order_lines(6_000)
    files = {
        "orders sorted": lines,
        "orders shuffled": lines.sample(fraction=1.0, shuffle=True, seed=7),
        "customers": pl.concat([customers(3_000), customers(300)]).sample(fraction=1.0, shuffle=True, seed=3),
    }
    paths = {}
    for name, frame in files.items():
        paths[name] = folder / (name.replace(" ", "_") + ".csv")
        frame.write_csv(paths[name])
    return paths


@pytest.mark.parametrize("name", ["orders sorted", "orders shuffled", "customers"])
def test_partitioned_path_gives_what_the_in_memory_path_gives(inputs, tmp_path, monkeypatch, name):
    kind = name.split()[0]
    one = dry_run(kind, inputs[name], tmp_path / "one", partitions=1)
    monkeypatch.setattr(hashed, "FLUSH_ROWS", 1_000)  # several flushes: partitions read back from many files
    many = dry_run(kind, inputs[name], tmp_path / "many", partitions=7)
    assert many[0]["partitions"] == 7 and one[0]["partitions"] == 1
    assert {k: one[0].get(k) for k in COUNTS} == {k: many[0].get(k) for k in COUNTS}
    assert one[1] == many[1]  # every record, field by field (products in input order)
    assert one[2] == many[2]  # rejected rows, same order (input order), same reasons
    assert one[0]["rows_rejected"] > 0 and len(one[1]) > 1_000
    if kind == "customers":  # repeated customers are found across partitions: each key once
        assert any("only the first row of a customer" in r["_error"] for r in one[2])


def test_shuffled_lines_give_the_same_orders_as_sorted_lines(inputs, tmp_path):
    _, sorted_records, _ = dry_run("orders", inputs["orders sorted"], tmp_path / "s", partitions=5)
    _, shuffled_records, _ = dry_run("orders", inputs["orders shuffled"], tmp_path / "u", partitions=5)
    assert sorted_records.keys() == shuffled_records.keys()
    for key, record in sorted_records.items():  # products come in input order, which shuffling changes
        other = shuffled_records[key]
        assert {**record, "products": None} == {**other, "products": None}
        assert sorted(record["products"], key=orjson.dumps) == sorted(other["products"], key=orjson.dumps)


@pytest.mark.parametrize("name", ["orders sorted", "orders shuffled", "customers"])
def test_shards_are_disjoint_and_cover_the_load(inputs, tmp_path, small_partitions, name):
    """Streamed (sorted lines) or partitioned (shuffled lines, customers given twice), every record is in
    exactly one shard."""
    kind = name.split()[0]
    whole = dry_run(kind, inputs[name], tmp_path / "all")
    shares = [dry_run(kind, inputs[name], tmp_path / f"s{k}", shard=f"{k}/3") for k in (1, 2, 3)]
    keys = [set(records) for _, records, _ in shares]
    assert all(keys) and not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert keys[0] | keys[1] | keys[2] == set(whole[1])
    assert sum(s["rows_read"] for s, _, _ in shares) == whole[0]["rows_read"]
    assert sum(s["rows_rejected"] for s, _, _ in shares) == whole[0]["rows_rejected"]
    for summary, _, _ in shares:
        assert summary["rows_read"] + summary["rows_in_other_shards"] == whole[0]["rows_read"]
        assert (
            summary["first_pass"]
            == whole[0]["first_pass"]
            == ("streamed" if name == "orders sorted" else "partitioned")
        )


def test_a_bad_shard_is_a_usage_error(inputs, tmp_path):
    with pytest.raises(Exception, match="is not K/N"):
        dry_run("customers", inputs["customers"], tmp_path / "r", shard="4/3")


def test_a_header_only_file_after_a_file_with_rows(tmp_path):
    rows, header_only = tmp_path / "rows.csv", tmp_path / "header_only.csv"
    rows.write_text("email\na@example.com\n")
    header_only.write_text("email,firstName\n")
    run = RunOptions(dry_run=True, report_dir=tmp_path / "r", progress=False)
    summary = import_customers([rows, header_only], ApiSettings(), CustomerOptions(), run).summary.to_dict()
    assert (summary["rows_read"], summary["rows_would_send"], summary["exit_code"]) == (1, 1, 0)


@pytest.mark.parametrize("kind", ["orders", "customers"])
def test_preparing_partitions_in_parallel_changes_nothing(inputs, tmp_path, monkeypatch, kind):
    """Two workers prepare partitions at once; they are settled in order, so the payloads (bodies and
    their order), rejected.csv and the counts are exactly those of one worker."""
    from importer.jobs import second_pass

    name = "orders shuffled" if kind == "orders" else "customers"
    monkeypatch.setattr(second_pass, "PREPARE_WORKERS", 1)
    one = dry_run(kind, inputs[name], tmp_path / "one", partitions=6)
    monkeypatch.setattr(second_pass, "PREPARE_WORKERS", 3)
    three = dry_run(kind, inputs[name], tmp_path / "three", partitions=6)
    assert {k: one[0].get(k) for k in COUNTS} == {k: three[0].get(k) for k in COUNTS}
    assert (tmp_path / "one" / "payloads.jsonl").read_bytes() == (tmp_path / "three" / "payloads.jsonl").read_bytes()
    assert (tmp_path / "one" / "rejected.csv").read_bytes() == (tmp_path / "three" / "rejected.csv").read_bytes()


# -- the streamed first pass (importer.partitions.streamed) -------------------------------------------------------


@pytest.fixture
def small_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamed partitions of at most 500 rows: a few thousand lines make many of them."""
    from importer.partitions import streamed

    monkeypatch.setattr(streamed, "MAX_ROWS", 500)


def _straggler(path: Path, folder: Path) -> Path:
    """The file with its second line moved to the end: one order's lines are apart."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    moved = folder / "straggler.csv"
    moved.write_text("".join([lines[0], lines[1], *lines[3:], lines[2]]), encoding="utf-8")
    return moved


@pytest.mark.parametrize(
    "name, first_pass",
    [
        ("orders sorted", "streamed"),
        ("orders shuffled", "partitioned"),
        ("straggler", "partitioned"),
        ("customers", "partitioned"),
    ],
)
def test_streamed_path_or_its_fallback_gives_what_the_in_memory_path_gives(
    inputs, tmp_path, small_partitions, name, first_pass
):
    """Clustered input is prepared as it is read; input whose records' rows are apart is found out (early
    when shuffled, at the end for one straggling line) and run the partitioned way, with the same result."""
    path = _straggler(inputs["orders sorted"], tmp_path) if name == "straggler" else inputs[name]
    kind = "customers" if name == "customers" else "orders"
    one = dry_run(kind, path, tmp_path / "one", partitions=1)
    streamed = dry_run(kind, path, tmp_path / "streamed")
    assert streamed[0]["first_pass"] == first_pass
    if first_pass == "streamed":
        assert streamed[0]["partitions"] > 10
    assert {k: one[0].get(k) for k in COUNTS} == {k: streamed[0].get(k) for k in COUNTS}
    assert one[1] == streamed[1] and one[2] == streamed[2]


def test_a_file_that_breaks_while_streamed_stops_with_no_report(inputs, tmp_path, monkeypatch):
    """Reading and preparing overlap: a problem found half-way (bytes that are not UTF-8) stops the run
    with one sentence and leaves neither a report nor request bodies."""
    from importer.errors import InputError
    from importer.inputs import csv_text

    monkeypatch.setattr(csv_text, "BLOCK_BYTES", 16 << 10)  # many pieces before the broken one
    broken = tmp_path / "broken.csv"
    text = inputs["orders sorted"].read_bytes()
    broken.write_bytes(text[: len(text) // 2] + b"caf\xe9 latte\n" + text[len(text) // 2 :])
    with pytest.raises(InputError, match="not UTF-8"):
        dry_run("orders", broken, tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_streamed_orders_reach_the_sandbox_once_each(inputs, tmp_path, sandbox, small_partitions):
    """A real run: streamed (sorted) or started again partitioned (shuffled), every order is sent once,
    in whole requests of 100 however small the partitions are, and nothing is sent twice."""
    from tests.support import run_cli, sandbox_env

    for name, first_pass in (("orders sorted", "streamed"), ("orders shuffled", "partitioned")):
        sandbox.reset()
        run = run_cli(
            ["orders", str(inputs[name]), "--max-rejects", "20%"],
            env=sandbox_env(sandbox),
            report_dir=tmp_path / name.replace(" ", "_"),
        )
        summary = run.summary
        assert summary["first_pass"] == first_pass, run.stderr
        assert_accounted(summary)
        built = summary["records_built"]
        assert summary["records_accepted"] == built and sandbox.stats.count("POST", "/orders") == -(-built // 100)


def test_rejected_rows_are_put_in_order_a_window_at_a_time(inputs, tmp_path, monkeypatch):
    """rejected.csv is written a window of row ids at a time (memory does not grow with the rejects):
    byte for byte what one window gives, with parts from hash partitions and from files whose columns
    differ."""
    from importer.report import files

    second = tmp_path / "more.csv"
    second.write_text("email,firstName,notes\nnot-an-email,A,x\nb@example.com,B,y\nalso bad,C,z\n", encoding="utf-8")
    runs = {}
    for window in (files.WINDOW_ROWS, 7):
        monkeypatch.setattr(files, "WINDOW_ROWS", window)
        folder = tmp_path / f"w{window}"
        run = RunOptions(
            dry_run=True, report_dir=folder, progress=False, partitions=5, max_rejects=Budget.parse("100%")
        )
        import_customers([inputs["customers"], second], ApiSettings(), CustomerOptions(), run)
        runs[window] = (folder / "rejected.csv").read_bytes()
    one, windowed = runs.values()
    assert one == windowed and one.count(b"\n") > 100 and b"also bad" in one


def test_a_wide_batch_is_prepared_in_equal_partitions_of_bounded_cells(tmp_path, monkeypatch):
    """A batch of more cells than a partition may hold (a Parquet row group of a wide export) is cut into
    equal partitions under the bound (memory follows cells), and the run's records are those of one
    partition."""
    from importer.partitions import streamed

    lines = order_lines(3_000)
    path = tmp_path / "lines.parquet"
    lines.write_parquet(path)
    whole = dry_run("orders", path, tmp_path / "whole")
    width = lines.width
    monkeypatch.setattr(streamed, "MAX_CELLS", 500 * (width + streamed.ROW_CELLS))  # at most 500 rows a partition
    monkeypatch.setattr(streamed, "SLACK", 1.0)
    sliced = dry_run("orders", path, tmp_path / "sliced")
    assert sliced[0]["partitions"] >= 6 > whole[0]["partitions"]
    batch = lines.with_columns(pl.lit("f").alias("_file"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_rid"))
    cut = streamed.StreamedPartitions([batch], lambda _: pl.col("id"), None, list)
    assert [piece.height for piece in cut._slices()] == [500] * 6  # (equal, none over the bound)
    assert {k: whole[0].get(k) for k in COUNTS} == {k: sliced[0].get(k) for k in COUNTS}
    assert whole[1] == sliced[1] and whole[2] == sliced[2]


def test_the_first_pass_flushes_by_what_rows_hold_not_by_polars_estimate():
    """Empty text cells cost a view each (16 bytes), which polars' estimate leaves out: a wide export of
    empty cells is written out as its rows' memory says, not held whole (a 50-column export: estimated
    211 MB, held 1.2 GB)."""
    columns = {f"note{i}": pl.Series([None] * 20_000, dtype=pl.String) for i in range(40)}
    batch = pl.DataFrame({"id": [f"o{i}" for i in range(20_000)], **columns, "_rid": range(20_000)})
    assert batch.estimated_size() < 1 << 20 < hashed.held_bytes(batch)
    partitions = hashed.HashedPartitions(4, flush_bytes=4 << 20)
    try:
        partitions.add(batch, pl.col("id"))
        assert partitions._flushes == 1 and partitions._buffered == 0  # written out at once
        assert sum(frame.height for frame in partitions) == 20_000
    finally:
        partitions.close()
