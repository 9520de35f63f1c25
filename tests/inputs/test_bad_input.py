"""The broken-input corpus (tests/data/bad): every file through the real CLI, none of them a traceback.

Each entry either gives per-row rejects (exit 1, with the expected reason in rejected.csv) or one clear
sentence and a hint (exit 2); a file that holds nothing wrong after all imports cleanly (exit 0). For
every run that writes a report, ``rows_read = rows_accepted + rows_rejected + rows_failed`` holds, the
number of rows read is the number of records in the file (no row lost), no CSV the report holds has a
cell a spreadsheet would run as a formula, and no e-mail address of the input reaches stderr.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from importer.sandbox import Faults, SandboxServer
from tests.support import (
    DATA,
    Run,
    assert_accounted,
    customer,
    run_cli,
    sandbox_env,
    write_csv,
)

CORPUS = DATA / "bad"
sys.path.insert(0, str(CORPUS))
import make_corpus  # noqa: E402  (the corpus's own generator, tests/data/bad/make_corpus.py)

FORMULA_START = re.compile(r"^[=+\-@\t\r]")


@dataclass(frozen=True)
class Case:
    """One corpus entry and what must happen to it."""

    name: str
    exits: frozenset[int]
    rows: int | None = None  # rows read, when the run gets that far
    says: str = ""  # in a rejected row's _error (exit 1) or in the error sentence (exit 2)
    command: str = "customers"
    args: tuple[str, ...] = ()
    sandbox: bool = False  # imported into the sandbox instead of a dry run


def case(name: str, exits: int | set[int], rows: int | None = None, says: str = "", **kw: object) -> Case:
    command = "orders" if "orders" in name else "customers"
    return Case(name, frozenset({exits} if isinstance(exits, int) else exits), rows, says, command, **kw)  # type: ignore[arg-type]


CASES = [
    # -- no data, no header, a header that cannot be used
    case("empty.csv", 2, says="has no 'email' column"),
    case("blank_lines_only.csv", 2, says="has no 'email' column"),
    case("header_only.csv", 0, rows=0),
    case("no_header.csv", 2, says="has no 'email' column"),
    case("duplicate_columns.csv", 2, says="has the column 'email' twice"),
    case("duplicate_columns_case.csv", 2, says="both mean 'email'"),
    case("blank_column_name.csv", 2, says="has a column without a name (column 2)"),
    case("unterminated_quote_header.csv", 2, says="The header line"),
    # -- lines the CSV parser cannot read: one rejected row each, the rest imported
    case("ragged_rows.csv", 1, rows=4, says="it has 5 fields but the header has 4"),
    case("unterminated_quote.csv", 1, rows=4, says="a quote opened on it is never closed"),
    case("semicolons_in_comma_file.csv", 1, rows=2, says="it has 1 fields but the header has 3"),
    case("deep_multiline_cell.csv", 1, rows=2, says="at most 256 are allowed"),
    case("cell_1mb.csv", 1, rows=2, says="has 1048576 characters"),
    case("columns_10000.csv", 0, rows=3),
    # -- bytes and encodings
    case("nul_bytes.csv", 1, rows=3, says="contains a control character", sandbox=True),
    case("control_characters.csv", 1, rows=2, says="contains a control character"),
    case("binary_garbage.csv", 2, says="has no 'email' column"),
    case("invalid_utf8_middle.csv", 2, says="is not UTF-8 text"),
    case("invalid_utf8_after_1mb.csv", 2, says="is not UTF-8 text"),
    case("mixed_encodings.csv", 2, says="is not UTF-8 text"),
    case("utf16_without_bom.csv", 0, rows=1),
    case("bom_in_middle.csv", 1, rows=3, says="byte order mark"),
    case("line_endings_mixed.csv", 0, rows=4),
    case("cr_only.csv", 0, rows=2),
    case("whitespace_cells.csv", 1, rows=4, says="email: is required"),
    case("emoji_rtl.csv", 0, rows=4, sandbox=True),
    # -- values
    case("excel_errors.csv", 1, rows=3, says="'#VALUE!' is a spreadsheet error value"),
    case("excel_errors.xlsx", 1, rows=4, says="'#DIV/0!' is a spreadsheet error value"),
    case(
        "scientific_phone.csv",
        1,
        rows=3,
        says="'4.86001E+10' is an id a spreadsheet rewrote as a number",
        args=("--match-by", "PhoneNumber"),
    ),
    case("scientific_numbers_orders.csv", 1, rows=4, says="product.quantity: '1e2' is not a whole number"),
    case("huge_number_1e400_orders.csv", 1, rows=5, says="totalValue: '1e400' is not a number"),
    case("nan_inf_orders.csv", 1, rows=6, says="totalValue: 'NaN' is not a number"),
    case("negative_zero_orders.csv", 1, rows=4, says="product.quantity: '-0' is not a whole number"),
    case("dates_before_1900.csv", 1, rows=5, says="dateOfBirth: '0000-01-01' is not", sandbox=True),
    case("dates_after_9999.csv", 1, rows=5, says="dateOfBirth: '9999-12-31T23:30:00-01:00' is not"),
    case("dates_after_9999_orders.csv", 1, rows=4, says="date: '10000-01-01' is not", sandbox=True),
    case("leap_days.csv", 1, rows=8, says="dateOfBirth: '2023-02-29' is not", sandbox=True),
    case("formula_injection.csv", 1, rows=4, says="email: '=1+1' is not an e-mail address"),
    # -- containers and typed formats
    case("truncated.csv.gz", 2, says="Cannot read"),
    case("not_a_zip.zip", 2, says="is not a valid zip file"),
    case("zip_with_two_csvs.zip", 2, says="holds 2 CSV files"),
    case("not_really.xlsx", 2, says="as an xlsx workbook"),
    case("truncated.parquet", 2, says="as Parquet"),
    case("not_parquet.parquet", 2, says="as Parquet"),
    case("wrong_types_customers.parquet", 2, says="The column 'firstName' holds nested values"),
    case("wrong_types_orders.parquet", 1, rows=3, says="totalValue: 'ten' is not a number"),
    # -- paths that are not files
    case("a_directory.csv", 2, says="is a folder that holds no Parquet files"),  # (a folder is a Parquet dataset)
    case("missing.csv", 2, says="does not exist"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every entry's path: the committed files, and the generated ones in a temporary directory."""
    committed = {p.name: p for p in CORPUS.iterdir() if p.name not in ("README.md", "make_corpus.py", "__pycache__")}
    return {**committed, **make_corpus.write_generated(tmp_path_factory.mktemp("bad"))}


def run_case(entry: Case, path: Path, tmp_path: Path, env: dict[str, str] | None = None) -> Run:
    """Run one entry; the error budget is off: these small files are mostly bad rows, and what is checked
    is how each row is handled (``tests/test_budget.py`` checks the budget)."""
    args = [entry.command, str(path), *entry.args, *([] if entry.sandbox else ["--dry-run"]), "--max-rejects", "100%"]
    return run_cli(args, env=env, report_dir=tmp_path / "report")


@pytest.mark.parametrize("entry", CASES, ids=[c.name for c in CASES])
def test_bad_input(entry: Case, corpus: dict[str, Path], tmp_path: Path, sandbox_server: SandboxServer) -> None:
    env = None
    if entry.sandbox:
        sandbox_server.reset()
        env = sandbox_env(sandbox_server)
    run = run_case(entry, corpus[entry.name], tmp_path, env)
    assert run.exit_code in entry.exits, run.stderr
    assert "Traceback" not in run.stderr and "unexpected" not in run.stderr, run.stderr
    assert "@example" not in run.stderr  # rows are named by file and number, never by their data
    if run.exit_code == 2:
        lines = [line for line in run.stderr.splitlines() if not line.startswith("Warning: ")]
        assert len(lines) == 2 and lines[0].startswith("Error: ") and lines[1].startswith("Hint: "), run.stderr
        assert entry.says in lines[0]
        assert not (tmp_path / "report").exists() or not any((tmp_path / "report").iterdir())
        return
    summary = run.summary
    assert_accounted(summary)
    assert summary["rows_read"] == entry.rows
    assert summary["exit_code"] == run.exit_code
    if entry.says:
        errors = rejected_errors(run.report_dir)
        assert any(entry.says in error for error in errors), errors
    assert_no_formula_cells(run.report_dir)
    if entry.sandbox:
        assert summary["rows_failed"] == 0 and summary["records_accepted"] == summary["records_built"]
        stored = sandbox_server.store.counts()
        assert (stored.orders if entry.command == "orders" else stored.customers) == summary["records_accepted"]


def report_rows(path: Path) -> list[list[str]]:
    """A report CSV's rows (header included), whatever the size of its cells."""
    limit = csv.field_size_limit(1 << 30)  # the importer's own reader relies on the default: restore it
    try:
        return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    finally:
        csv.field_size_limit(limit)


def rejected_errors(report: Path) -> list[str]:
    rows = report_rows(report / "rejected.csv") if (report / "rejected.csv").exists() else [["_error"]]
    column = rows[0].index("_error")
    return [row[column] for row in rows[1:]]


def assert_no_formula_cells(report: Path) -> None:
    for path in report.glob("*.csv"):
        for row in report_rows(path):
            formulas = [cell for cell in row if FORMULA_START.match(cell)]
            assert not formulas, (path.name, formulas)


def test_text_arrives_exactly_as_written(corpus: dict[str, Path], sandbox: SandboxServer, tmp_path: Path) -> None:
    """Emoji (ZWJ sequences, flags), RTL scripts, bidi controls and combining marks are data: stored unchanged."""
    run = run_cli(["customers", str(corpus["emoji_rtl.csv"])], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr
    with corpus["emoji_rtl.csv"].open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            stored = customer(sandbox, row["email"])
            assert stored is not None
            assert (stored["firstName"], stored["lastName"]) == (row["firstName"], row["lastName"])


def test_nothing_with_a_control_character_is_sent(
    corpus: dict[str, Path], sandbox: SandboxServer, tmp_path: Path
) -> None:
    run = run_cli(
        ["customers", str(corpus["nul_bytes.csv"]), "--max-rejects", "100%"],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1
    assert [r["_row"] for r in run.rejected] == ["2", "3"]
    assert all("\x00" not in str(body) for body in sandbox.stats.json_bodies("/customers"))
    assert customer(sandbox, "c@example.com") is not None


def test_formula_cells_are_neutralised_in_failed_csv_and_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Valid rows whose cells look like formulas, a file named like one, and a server that fails."""
    rows = [["a@example.com", '=HYPERLINK("http://x.example")', "+1"], ["b@example.com", "@SUM(A1)", "-1"]]
    source = write_csv(tmp_path / "=1+1.csv", ["email", "firstName", "lastName"], rows)
    monkeypatch.chdir(tmp_path)  # the report names the file as given: "=1+1.csv"
    with SandboxServer(faults=Faults(error_rate=1.0)) as broken:
        run = run_cli(
            ["customers", source.name, "--max-retries", "0"], env=sandbox_env(broken), report_dir=tmp_path / "report"
        )
    assert run.exit_code == 1 and run.summary["rows_failed"] == 2
    failed = run.failed
    assert [r["_file"] for r in failed] == ["'=1+1.csv"] * 2
    assert [r["firstName"] for r in failed] == ['\'=HYPERLINK("http://x.example")', "'@SUM(A1)"]
    assert_no_formula_cells(run.report_dir)


def test_every_entry_is_tested_and_described(corpus: dict[str, Path]) -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    described = set(re.findall(r"^\| `([^`]+)`", readme, flags=re.MULTILINE))
    assert set(corpus) == {c.name for c in CASES} == described
    assert len(CASES) >= 30


def test_committed_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    for written in make_corpus.write_committed(tmp_path):
        assert written.read_bytes() == (CORPUS / written.name).read_bytes(), written.name


def test_warning_about_many_ignored_columns_stays_short(corpus: dict[str, Path], tmp_path: Path) -> None:
    run = run_case(case("columns_10000.csv", 0, rows=3), corpus["columns_10000.csv"], tmp_path)
    assert run.exit_code == 0 and len(run.stderr) < 1000
    assert "and 9,979 more (all in summary.json)" in run.stderr
    summary = json.loads((run.report_dir / "summary.json").read_text())
    assert len(summary["ignored_columns"]) == 9_999


def test_error_cell_in_a_date_typed_xlsx_column_is_rejected(corpus: dict[str, Path], tmp_path: Path) -> None:
    run = run_case(case("excel_errors.xlsx", 1, rows=4), corpus["excel_errors.xlsx"], tmp_path)
    assert "5" in [r["_row"] for r in run.rejected]
