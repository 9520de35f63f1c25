"""Hostile and broken files are bounded: every read limit (``ReadLimits``, SECURITY.md) stops the run with
exit 2 and one line naming the limit and its option, within bounded memory, and nothing is sent from the
file. Sizes here are small, with the limits lowered; ``bench/bombs.py`` measures the full-size bombs.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import importer
from importer.errors import InputError
from importer.inputs import csv_text
from importer.inputs.files import ReadOptions, read_file
from importer.settings import ReadLimits, parse_size
from tests.support import ROOT, run_cli, sandbox_env

MiB = 1 << 20
HEADER = b"email,first_name,last_name\n"

# The CLI in a process of its own, its peak resident memory (VmHWM) on the last line of stderr. (Not
# ru_maxrss: Linux carries the parent's peak over fork and exec, and this process holds the sandbox.)
_CHILD = """
import atexit, re, sys
from pathlib import Path
def peak():
    status = Path("/proc/self/status").read_text()
    sys.stderr.write("\\nPEAK_KB " + re.search(r"VmHWM:\\s+(\\d+) kB", status)[1] + "\\n")
atexit.register(peak)
from importer.cli import cli
cli(sys.argv[1:], prog_name="ecdp-import")
"""


def _measured(args: list[str], server, tmp_path: Path) -> tuple[int, str, int]:
    """(exit code, stderr without the peak line, peak RSS in MB) of ``ecdp-import ARGS`` into ``server``."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args, "--no-progress", "--report-dir", str(tmp_path / "r")],
        env={**os.environ, **sandbox_env(server), "ECDP_STATE": str(tmp_path / "state.db")},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    peak = int(re.search(r"PEAK_KB (\d+)", done.stderr)[1]) // 1024
    return done.returncode, done.stderr.split("\nPEAK_KB")[0].strip(), peak


def _gzip(path: Path, head: bytes, block: bytes, blocks: int) -> Path:
    """``head`` and ``blocks`` times ``block``, gzipped a block at a time (never the whole text in memory)."""
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head)
        for _ in range(blocks):
            out.write(block)
    return path


def _zip(path: Path, head: bytes, block: bytes, blocks: int, name: str = "export.csv") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open(name, "w") as out:
        out.write(head)
        for _ in range(blocks):
            out.write(block)
    return path


def _rows(count: int, start: int = 0) -> bytes:
    return b"".join(b"p%d@example.com,Ann,Smith\n" % i for i in range(start, start + count))


def _stopped(message: str, option: str) -> None:
    """The one line of a limit crossed: names the option, says nothing was sent, no traceback."""
    first = message.splitlines()[0]
    assert first.startswith("Error: Reading ") and f"stopped at the limit {option} " in first, message
    assert "nothing was sent" in message and "Traceback" not in message


def test_a_gzip_bomb_of_nul_bytes_stops_at_the_ratio_limit_in_bounded_memory(sandbox, tmp_path):
    bomb = _gzip(tmp_path / "customers.csv.gz", b"", bytes(MiB), 48)  # 48 MiB of NULs in ~50 KB
    code, stderr, peak = _measured(["customers", str(bomb)], sandbox, tmp_path)
    assert code == 2
    _stopped(stderr, "--max-compression-ratio")
    assert "decompresses" in stderr and "times its compressed size" in stderr
    assert peak < 300, f"{peak} MB"
    assert sandbox.stats.total == 0 and sandbox.store.counts().customers == 0
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("header", [True, False], ids=["with-header", "without-header"])
@pytest.mark.parametrize("kind", ["gz", "zip"])
def test_one_endless_line_stops_at_the_line_limit(sandbox, tmp_path, kind, header):
    head = HEADER if header else b""
    write = _gzip if kind == "gz" else _zip
    bomb = write(
        tmp_path / f"customers.csv.{kind}" if kind == "gz" else tmp_path / "customers.zip", head, b"x" * MiB, 12
    )  # one 12 MiB line (under the ratio's 16 MiB floor)
    code, stderr, peak = _measured(["customers", str(bomb), "--max-line-size", "2MiB"], sandbox, tmp_path)
    assert code == 2
    _stopped(stderr, "--max-line-size")
    assert f"line {2 if header else 1} is longer" in stderr
    assert peak < 300, f"{peak} MB"
    assert sandbox.stats.total == 0 and sandbox.store.counts().customers == 0


def test_a_zip_of_too_many_entries_is_refused_before_its_entries_are_listed(tmp_path):
    path = tmp_path / "customers.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("customers.csv", HEADER + _rows(2))
        for number in range(5):
            archive.writestr(f"notes/{number}.json", b"")
    run = run_cli(["customers", str(path), "--dry-run", "--max-zip-entries", "4"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    _stopped(run.stderr, "--max-zip-entries")
    assert "the zip file has 6 entries" in run.stderr
    assert (
        run_cli(["customers", str(path), "--dry-run", "--max-zip-entries", "6"], report_dir=tmp_path / "r2").exit_code
        == 0
    )


def test_a_zip_whose_entries_declare_too_much_is_refused(tmp_path):
    path = _zip(tmp_path / "customers.zip", HEADER, _rows(1000), 3)
    run = run_cli(["customers", str(path), "--dry-run", "--max-zip-size", "20KB"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    _stopped(run.stderr, "--max-zip-size")
    run = run_cli(["customers", str(path), "--dry-run", "--max-decompressed-size", "20KB"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    _stopped(run.stderr, "--max-decompressed-size")
    assert "export.csv declares" in run.stderr


def test_too_many_columns_stop_the_run(tmp_path):
    path = tmp_path / "wide.csv"
    names = ["email", *[f"c{i}" for i in range(49)]]
    path.write_text(",".join(names) + "\n" + ",".join(["a@example.com"] + ["1"] * 49) + "\n")
    run = run_cli(["customers", str(path), "--dry-run", "--max-columns", "20"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    _stopped(run.stderr, "--max-columns")
    assert "its header has 50 columns" in run.stderr or "line 1 has more fields" in run.stderr


def test_a_line_of_too_many_fields_stops_the_run_before_it_is_split(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(HEADER + _rows(3) + b"x@example.com" + b"," * 5000 + b"\n" + _rows(3, 10))
    run = run_cli(["customers", str(path), "--dry-run", "--max-columns", "100"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    _stopped(run.stderr, "--max-columns")
    assert "line 5 has more fields" in run.stderr


def test_a_cell_over_the_limit_stops_the_run_naming_its_row_and_column(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(HEADER + _rows(2) + b"b@example.com," + b"x" * (3 * MiB) + b",Jones\n" + _rows(2, 5))
    run = run_cli(["customers", str(path), "--dry-run", "--max-cell-size", "2MiB"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    _stopped(run.stderr, "--max-cell-size")
    assert "row 4 has a longer cell (column 'first_name')" in run.stderr
    assert (
        run_cli(["customers", str(path), "--dry-run", "--max-cell-size", "4MiB"], report_dir=tmp_path / "r2").exit_code
        == 0
    )


@pytest.mark.parametrize("gated", [True, False], ids=["streamed-first-pass", "partitioned-first-pass"])
def test_a_limit_crossed_deep_into_a_file_sends_nothing_from_it(sandbox, tmp_path, gated):
    """The rows before the limit are read (and, streamed, prepared) before it is crossed: still nothing is sent,
    whether the run holds its records for the error budget or sends as soon as the first pass is done."""
    good = tmp_path / "a.csv"
    good.write_bytes(HEADER + _rows(100))
    bad = _gzip(tmp_path / "b.csv.gz", HEADER, _rows(20_000, 1000), 10)  # ~6 MB of rows
    budget = ["--max-rejects", "10%"] if gated else ["--max-rejects", "100%"]
    run = run_cli(
        ["customers", str(good), str(bad), "--max-decompressed-size", "4MiB", *budget],
        env=sandbox_env(sandbox),
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2
    _stopped(run.stderr, "--max-decompressed-size")
    assert sandbox.stats.total == 0 and sandbox.store.counts().customers == 0


def test_the_config_file_and_the_library_raise_a_limit(tmp_path, monkeypatch):
    path = tmp_path / "customers.csv"
    path.write_bytes(HEADER + b"b@example.com," + b"x" * (2 * MiB) + b",Jones\n")
    monkeypatch.chdir(tmp_path)
    run = run_cli(["customers", str(path), "--dry-run", "--max-cell-size", "1MiB"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    (tmp_path / "ecdp-import.toml").write_text('[defaults]\nmax-cell-size = "1MiB"\n')
    run = run_cli(["customers", str(path), "--dry-run"], report_dir=tmp_path / "r2")
    assert run.exit_code == 2 and "--max-cell-size 1 MiB" in run.stderr
    (tmp_path / "ecdp-import.toml").write_text('[defaults]\nmax-cell-size = "3MiB"\n')
    assert run_cli(["customers", str(path), "--dry-run"], report_dir=tmp_path / "r3").exit_code == 0
    with pytest.raises(importer.InputError, match="--max-cell-size"):
        importer.import_customers(
            str(path),
            run=importer.RunOptions(
                dry_run=True, report_dir=tmp_path / "r4", limits=importer.ReadLimits(cell_bytes=MiB)
            ),
        )
    result = importer.import_customers(
        str(path),
        run=importer.RunOptions(
            dry_run=True, report_dir=tmp_path / "r5", limits=importer.ReadLimits(cell_bytes="3MiB")
        ),
    )
    assert result.summary.rows_read == 1


def test_a_stray_quote_no_longer_makes_the_rest_of_the_file_one_piece():
    """Quotes that stay open past the line limit: the piece ends at a line end all the same."""
    text = HEADER + b'a@example.com,Ann,27" screen\n' + _rows(50_000)
    pieces = list(csv_text._pieces(io.BytesIO(text), iter(lambda: 64 << 10, None), 256 << 10))
    assert b"".join(pieces) == text
    assert max(map(len, pieces)) <= (256 << 10) + (64 << 10)


def test_rows_read_through_the_limits_are_the_rows_of_the_file(tmp_path):
    """Pieces cut at line ends where a stray quote keeps quotes open read the same rows as one piece would."""
    path = tmp_path / "customers.csv"
    path.write_bytes(HEADER + b'a@example.com,Ann,27" screen\n' + _rows(20_000))
    whole = read_file(path)
    cut = read_file(path, ReadOptions(limits=ReadLimits(line_bytes=64 << 10)))
    assert cut.height == whole.height == 20_001
    assert cut.drop("_file").equals(whole.drop("_file")) and "_unreadable" not in cut.columns


def test_other_encodings_and_compressed_text_read_without_a_temporary_copy(tmp_path, monkeypatch):
    text = "email,first_name\n" + "".join(f"p{i}@example.com,Łucja\n" for i in range(5000))
    (tmp_path / "cp.csv").write_bytes(text.encode("cp1250"))
    with gzip.open(tmp_path / "utf.csv.gz", "wb") as out:
        out.write(text.encode("utf-8"))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)
    for name, encoding in (("cp.csv", "cp1250"), ("utf.csv.gz", None)):
        frame = read_file(tmp_path / name, ReadOptions(encoding=encoding))
        assert frame.height == 5000 and frame.item(4999, "first_name") == "Łucja"
    assert list(temp.iterdir()) == []


def test_limits_are_checked_when_given(tmp_path):
    assert ReadLimits(line_bytes="2MiB").line_bytes == 2 * MiB  # type: ignore[arg-type]
    assert parse_size("20GB") == 20 * 1000**3 and parse_size("1.5KiB") == 1536
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    with pytest.raises(ValueError, match="positive"):
        ReadLimits(columns=0)
    with pytest.raises(InputError, match="--max-line-size"):
        path = tmp_path / "long.csv"
        path.write_bytes(b"email\n" + b"x" * 5000 + b"\n")
        read_file(path, ReadOptions(limits=ReadLimits(line_bytes=1000)))
