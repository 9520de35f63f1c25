"""How API answers end up in the report: 400 per record, 401 abort, dry run, report files, secrets."""

from __future__ import annotations

import os
import stat

import orjson

from importer.cli.rendering import summary_line
from importer.report.metrics import exposition
from importer.report.summary import RunSummary
from tests.support import assert_accounted, customer, run_cli, sandbox_env, write_csv

HEADER = ["email", "firstName", "phone"]


def test_add_of_existing_customer_rejects_only_that_row(sandbox, tmp_path):
    seed = write_csv(tmp_path / "seed.csv", HEADER, [["old@example.com", "Old", ""]])
    assert run_cli(["customers", str(seed)], env=sandbox_env(sandbox), report_dir=tmp_path / "r0").exit_code == 0
    source = write_csv(
        tmp_path / "in.csv",
        HEADER,
        [["new1@example.com", "N1", ""], ["old@example.com", "Changed", ""], ["new2@example.com", "N2", ""]],
    )
    run = run_cli(["customers", str(source), "--mode", "Add"], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 1
    assert_accounted(run.summary)
    [rejected] = run.rejected
    assert (rejected["_stage"], rejected["_row"], rejected["_field"]) == ("api", "3", "email")
    assert "already exists" in rejected["_error"]  # the API's own message
    assert customer(sandbox, "new1@example.com") and customer(sandbox, "new2@example.com")
    assert customer(sandbox, "old@example.com")["firstName"] == "Old"
    assert run.summary["requests"] == 2 and run.summary["records_rejected"] == 1
    [error] = [orjson.loads(line) for line in (run.report_dir / "errors.jsonl").read_bytes().splitlines()]
    assert error["status"] == 400 and len(error["rows"]) == 3 and error["rows"][1]["row"] == 3
    assert error["records"][1] == {"email": "old@example.com", "firstName": "Changed"}


def test_update_of_missing_customer_is_an_api_rejection(sandbox, tmp_path):
    source = write_csv(tmp_path / "in.csv", HEADER, [["ghost@example.com", "G", ""]])
    run = run_cli(["customers", str(source), "--mode", "Update"], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 1
    assert run.rejected[0]["_stage"] == "api" and "No customer" in run.rejected[0]["_error"]
    assert customer(sandbox, "ghost@example.com") is None


def test_wrong_key_aborts_at_once_and_reports_every_row_as_not_sent(sandbox, tmp_path):
    rows = [[f"u{i}@example.com", "U", ""] for i in range(250)]
    source = write_csv(tmp_path / "in.csv", HEADER, rows)
    env = {**sandbox_env(sandbox), "ECDP_API_KEY": "wrong-key"}
    run = run_cli(["customers", str(source), "--concurrency", "2"], env=env, report_dir=tmp_path / "r")
    assert run.exit_code == 3
    assert "rejected the key" in run.stdout
    assert 1 <= sandbox.stats.count("POST", "/customers", 401) <= 2
    assert sandbox.stats.count(status=201) == 0
    summary = run.summary
    assert_accounted(summary)
    assert summary["rows_failed"] == 250 and summary["exit_code"] == 3 and summary["abort_reason"] == "key_refused"
    assert len(run.failed) == 250 and all(r["_stage"] == "api" for r in run.failed)


def test_dry_run_sends_nothing_and_writes_the_bodies(sandbox, tmp_path):
    rows = [[f"d{i}@example.com", "D", "+48 600 000 00" + str(i)] for i in range(5)] + [["bad", "X", ""]]
    source = write_csv(tmp_path / "in.csv", HEADER, rows)
    env = {"ECDP_API_URL": sandbox.url}  # no key needed
    run = run_cli(
        ["customers", str(source), "--dry-run", "--chunk-size", "2", "--max-rejects", "1"],
        env=env,
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 1
    assert sandbox.stats.total == 0
    bodies = [orjson.loads(line) for line in (run.report_dir / "payloads.jsonl").read_bytes().splitlines()]
    assert [len(b["data"]) for b in bodies] == [2, 2, 1]
    assert bodies[0]["mode"] == "AddOrUpdate" and bodies[0]["matchBy"] == "Email"
    assert bodies[2]["data"][0] == {"email": "d4@example.com", "firstName": "D", "phone": "+48600000004"}
    summary = run.summary
    assert (summary["rows_accepted"], summary["rows_would_send"], summary["rows_rejected"]) == (0, 5, 1)
    assert (summary["records_sent"], summary["records_accepted"]) == (0, 0)  # a dry run accepts nothing
    assert_accounted(summary)
    assert "5 valid (would be sent)" in run.stdout and "accepted" not in run.stdout
    metrics = exposition(summary, "customers", None, 0.0, None)
    assert (
        'outcome="would_send"} 5' in metrics
        and 'ecdp_import_rows{command="customers",profile="default",outcome="accepted"} 0' in metrics
    )


def test_a_dry_run_summary_of_an_older_version_is_read_as_one_written_now():
    """Before, a dry run's rows_accepted held the rows a real run would send (and rows_would_send, once it
    existed, the same; order operations had no rows_would_send and counted records_accepted too)."""
    older = {
        "command": "customers",
        "dry_run": True,
        "rows_read": 6,
        "rows_accepted": 5,
        "rows_rejected": 1,
        "rows_blank": 0,
        "rows_unmatched": 0,
        "exit_code": 1,
    }
    summary = RunSummary.from_dict(older)
    assert (summary.rows_accepted, summary.rows_would_send) == (0, 5)
    assert_accounted(summary)
    assert "5 would be sent" in summary_line(summary) and "accepted" not in summary_line(summary)
    operation = RunSummary.from_dict(
        {
            "command": "delete-orders",
            "dry_run": True,
            "rows_read": 3,
            "rows_accepted": 3,
            "records_accepted": 2,
            "rows_blank": 0,
            "rows_unmatched": 0,
        }
    )
    assert (operation.rows_accepted, operation.rows_would_send, operation.records_accepted) == (0, 3, 0)
    real = {**older, "dry_run": False}
    assert RunSummary.from_dict(real).rows_accepted == 5


def test_a_report_folder_used_again_gets_new_files_not_old_ones_cut_short(sandbox, tmp_path):
    """A second dry run into the same --report-dir replaces payloads.jsonl by a new file (ext4 writes a file
    truncated and written again to disk when it is closed: ~0.2 s for a large dry run); still owner-only,
    with nothing of the first run's bodies, and a link planted at the name is replaced, not followed."""
    env = {"ECDP_API_URL": sandbox.url}
    first = write_csv(tmp_path / "first.csv", HEADER, [[f"f{i}@example.com", "F", ""] for i in range(50)])
    second = write_csv(tmp_path / "second.csv", HEADER, [["s@example.com", "S", ""]])
    report_dir = tmp_path / "r"
    assert run_cli(["customers", str(first), "--dry-run"], env=env, report_dir=report_dir).exit_code == 0
    payloads = report_dir / "payloads.jsonl"
    with payloads.open("rb") as earlier:  # (held open: the old file stays readable, its inode not reused)
        written = earlier.read()
        assert run_cli(["customers", str(second), "--dry-run"], env=env, report_dir=report_dir).exit_code == 0
        assert os.fstat(earlier.fileno()).st_nlink == 0  # the old file was unlinked, not truncated
        earlier.seek(0)
        assert earlier.read() == written and b"f49@example.com" in written
    assert stat.S_IMODE(os.stat(payloads).st_mode) == 0o600
    [body] = [orjson.loads(line) for line in payloads.read_bytes().splitlines()]
    assert body["data"] == [{"email": "s@example.com", "firstName": "S"}]
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not the report's\n")
    payloads.unlink()
    payloads.symlink_to(elsewhere)
    assert run_cli(["customers", str(second), "--dry-run"], env=env, report_dir=report_dir).exit_code == 0
    assert not payloads.is_symlink() and elsewhere.read_text() == "not the report's\n"


def test_chunking_splits_requests(sandbox, tmp_path):
    source = write_csv(tmp_path / "in.csv", HEADER, [[f"c{i}@example.com", "C", ""] for i in range(7)])
    run = run_cli(["customers", str(source), "--chunk-size", "3"], env=sandbox_env(sandbox), report_dir=tmp_path / "r")
    assert run.exit_code == 0
    assert sorted(len(b["data"]) for b in sandbox.stats.json_bodies("/customers")) == [1, 3, 3]
    assert run.summary["requests"] == 3


def test_report_neutralises_formulas_and_reimport_restores_them(sandbox, tmp_path):
    rows = [["not-an-email", '=HYPERLINK("x")', "+48 601 234 567"], ["ok@example.com", "@home", ""]]
    source = write_csv(tmp_path / "in.csv", HEADER, rows)
    run = run_cli(
        ["customers", str(source), "--max-rejects", "100%"], env=sandbox_env(sandbox), report_dir=tmp_path / "r1"
    )
    [rejected] = run.rejected
    assert rejected["firstName"] == '\'=HYPERLINK("x")' and rejected["phone"] == "'+48 601 234 567"
    # a person fixes the e-mail in rejected.csv and imports the file as it is
    fixed = (run.report_dir / "rejected.csv").read_text(encoding="utf-8").replace("not-an-email", "fixed@example.com")
    (tmp_path / "fixed.csv").write_text(fixed, encoding="utf-8")
    again = run_cli(["customers", str(tmp_path / "fixed.csv")], env=sandbox_env(sandbox), report_dir=tmp_path / "r2")
    assert again.exit_code == 0, again.stderr
    assert "Ignored columns" not in again.stderr
    stored = customer(sandbox, "fixed@example.com")
    assert stored["firstName"] == '=HYPERLINK("x")' and stored["phone"] == "+48601234567"
    assert customer(sandbox, "ok@example.com")["firstName"] == "@home"


def test_report_is_private_and_never_holds_the_key(sandbox, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(sandbox.api_key + "\n")
    key_file.chmod(0o600)
    source = write_csv(tmp_path / "in.csv", HEADER, [["a@example.com", "A", ""], ["bad", "B", ""]])
    env = {"ECDP_API_URL": sandbox.url}
    run = run_cli(
        ["customers", str(source), "--api-key-file", str(key_file), "--mode", "Add", "--max-rejects", "100%"],
        env=env,
        report_dir=tmp_path / "reports" / "run",
    )
    assert run.exit_code == 1
    for directory in (tmp_path / "reports", run.report_dir):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    files = list(run.report_dir.iterdir())
    assert {f.name for f in files} == {"summary.json", "rejected.csv", "report.html"}
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert sandbox.api_key not in path.read_text(encoding="utf-8")
    assert sandbox.api_key not in run.stdout + run.stderr


def test_api_key_is_not_a_command_line_option():
    run = run_cli(["customers", "--help"])
    assert run.exit_code == 0
    assert "--api-key-file" in run.stdout and "--api-key " not in run.stdout


def test_missing_key_is_a_usage_error(tmp_path):
    source = write_csv(tmp_path / "in.csv", HEADER, [["a@example.com", "A", ""]])
    run = run_cli(["customers", str(source)], env={"ECDP_API_KEY": ""}, report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert "No API key" in run.stderr and "Traceback" not in run.stderr


def test_built_in_sandbox_option_needs_no_key(tmp_path):
    source = write_csv(tmp_path / "in.csv", HEADER, [["a@example.com", "A", ""]])
    run = run_cli(["customers", str(source), "--sandbox"], env={"ECDP_API_KEY": ""}, report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr
    assert "(sandbox)" in run.stdout and run.summary["records_accepted"] == 1
