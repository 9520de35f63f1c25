"""Reading inputs: errors as one sentence (exit 2), header-only files, other encodings, ragged rows."""

from __future__ import annotations

import pytest

from tests.support import run_cli


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("dup.csv", b"email,email\na@example.com,b@example.com\n", "has the column 'email' twice"),
        ("noname.csv", b"email,,x\na@example.com,1,2\n", "column without a name"),
        ("empty.csv", b"", "no 'email' column"),
    ],
    ids=["duplicate-column", "blank-header", "empty-file"],
)
def test_unreadable_input_is_one_sentence_and_exit_2(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    run = run_cli(["customers", str(path), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert message in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("target", ["missing.csv", "."], ids=["missing-path", "directory"])
def test_bad_paths(tmp_path, target):
    run = run_cli(["customers", str(tmp_path / target), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2 and run.stderr.startswith("Error: ")


def test_header_only_file_is_a_clean_empty_run(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("email,firstName\n")
    run = run_cli(["customers", str(path), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 0 and run.summary["rows_read"] == 0


def test_a_latin1_file_is_detected_and_read(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,firstName\nb@example.com,J\xf6rg M\xfcller\n".encode("cp1252"))
    run = run_cli(["customers", str(path), "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr
    assert '"firstName":"Jörg Müller"' in (tmp_path / "r" / "payloads.jsonl").read_text(encoding="utf-8")


def test_a_ragged_row_is_a_rejected_row_not_a_crash(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"email,firstName\na@example.com,A\nb@example.com,B,extra\nc@example.com,C\n")
    run = run_cli(["customers", str(path), "--dry-run", "--max-rejects", "100%"], report_dir=tmp_path / "r")
    assert run.exit_code == 1
    assert (run.summary["rows_read"], run.summary["rows_would_send"], run.summary["rows_rejected"]) == (3, 2, 1)
    assert run.rejected[0]["_row"] == "3"
    assert (
        run.rejected[0]["_error"].startswith("Line 3 could not be read")
        and "is required" not in run.rejected[0]["_error"]
    )
    assert "_unreadable" not in run.rejected[0]  # the report shows the user's columns only
