"""docs/library.md runs as written: its ``# example:`` blocks are executed against the sandbox (the
orchestrators' task bodies as plain Python calls: no Airflow or Dagster is installed), the Kubernetes
manifest's command is run by a shell for several indexes, and shell completion and ``--version`` work."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.generate import order_lines
from tests.support import ROOT, sandbox_env

PAGE = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
SAMPLE_ORDERS = 11  # the valid orders of sample_data/orders.csv (README: 11 built, 11 accepted)


def example(name: str) -> str:
    """The ```python block of docs/library.md that starts with ``# example: NAME``."""
    found = re.search(rf"```python\n# example: {re.escape(name)}\n(.*?)```", PAGE, flags=re.S)
    assert found, f"docs/library.md has no example {name!r}"
    return found.group(1)


@pytest.fixture
def workdir(sandbox, tmp_path, monkeypatch) -> Path:
    """A working directory with sample_data/, and the sandbox as the environment's target."""
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    for name, value in sandbox_env(sandbox).items():
        monkeypatch.setenv(name, value)
    return tmp_path


def run_example(name: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"docs_example_{name.replace('-', '_')}"}
    exec(compile(example(name), f"docs/library.md#{name}", "exec"), namespace)
    return namespace


def test_the_quickstart_runs_and_prints_counts(workdir, sandbox, capsys):
    run_example("quickstart")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "1 20 3"  # exit code, accepted, rejected: as the README's session
    assert printed[1].endswith("reports/customers-demo/rejected.csv")
    assert "not-an-email" in "\n".join(printed[2:])
    assert sandbox.store.counts().customers == 20


def test_the_async_example_runs_both_imports_in_one_loop(workdir, sandbox, capsys):
    run_example("async")
    assert capsys.readouterr().out.split() == ["20", str(SAMPLE_ORDERS)]
    assert sandbox.store.counts().orders == SAMPLE_ORDERS


def test_the_airflow_task_body_is_a_plain_call(workdir, sandbox):
    counts = run_example("airflow-task")["load_orders"]("sample_data/orders.csv", str(workdir / "reports"))
    assert counts == {"accepted": 17, "rejected": 4, "exit_code": 1}
    assert (workdir / "reports" / "orders" / "rejected.csv").is_file()


@pytest.fixture
def nightly_lines(tmp_path) -> tuple[Path, int]:
    """3,000 order lines as a shop exports them (about 1 % broken), and how many valid orders they hold."""
    import importer

    path = tmp_path / "order-lines.csv"
    order_lines(3_000).write_csv(path)
    dry = importer.import_orders(path, run=importer.RunOptions(dry_run=True, report_dir=tmp_path / "dry"))
    return path, dry.summary.records_built - dry.summary.records_failed


def test_the_airflow_mapped_shards_send_every_order_once(workdir, sandbox, nightly_lines):
    source, valid_orders = nightly_lines
    load_shard = run_example("airflow-shards")["load_shard"]
    shards = [load_shard(str(source), k, 3, str(workdir / "state"), str(workdir / "reports")) for k in (1, 2, 3)]
    assert all(s["records_sent"] > 0 for s in shards)
    assert sum(s["records_sent"] for s in shards) == valid_orders
    assert sandbox.store.counts().orders == valid_orders
    assert sorted(p.name for p in (workdir / "state").glob("*.db")) == [f"shard-{k}-of-3.db" for k in (1, 2, 3)]


def test_the_dagster_asset_body_is_a_plain_call(workdir, sandbox):
    counts = run_example("dagster-asset")["ecdp_customers"]("sample_data/customers.csv", str(workdir / "r"))
    assert counts == {"rows_accepted": 20, "rows_rejected": 3}


def manifest_command() -> str:
    """The Indexed Job's shell command (the ``args`` entry, folded as YAML's ``>-`` folds it)."""
    found = re.search(r"args:\n\s+- >-\n((?:\s{14}\S.*\n)+)", PAGE)
    assert found, "no folded args in the manifest"
    return " ".join(line.strip() for line in found.group(1).splitlines())


def test_the_indexed_job_gives_each_pod_its_own_shard_and_state_and_together_they_send_everything(
    sandbox, tmp_path, nightly_lines
):
    source, valid_orders = nightly_lines
    command = manifest_command()
    assert command.startswith("exec ecdp-import orders s3://")
    local = (
        command.replace("exec ecdp-import", f"exec {BIN / 'ecdp-import'}")
        .replace("s3://exports/2026-12-03/order-lines.csv.gz", str(source))
        .replace("/state/", f"{tmp_path}/state/")
        .replace("/reports/", f"{tmp_path}/reports/")
    )
    (tmp_path / "state").mkdir()
    exits = []
    for index in range(3):
        env = {**os.environ, **sandbox_env(sandbox), "JOB_COMPLETION_INDEX": str(index), "SHARDS": "3"}
        done = subprocess.run(["/bin/sh", "-c", local], env=env, capture_output=True, text=True, timeout=120)
        exits.append(done.returncode)
        assert "Traceback" not in done.stderr, done.stderr
        assert (tmp_path / "reports" / "2026-12-03" / f"shard-{index}" / "summary.json").is_file()
    assert set(exits) <= {0, 1}, exits
    assert sorted(p.name for p in (tmp_path / "state").glob("*.db")) == [f"shard-{i}.db" for i in range(3)]
    assert sandbox.store.counts().orders == valid_orders


def test_shell_completion_is_clicks_and_completes_commands():
    env = {**os.environ, "_ECDP_IMPORT_COMPLETE": "bash_source"}
    script = subprocess.run([BIN / "ecdp-import"], env=env, capture_output=True, text=True, timeout=60)
    assert script.returncode == 0 and "complete -o nosort -F" in script.stdout
    env = {**os.environ, "_ECDP_IMPORT_COMPLETE": "bash_complete", "COMP_WORDS": "ecdp-import cust", "COMP_CWORD": "1"}
    words = subprocess.run([BIN / "ecdp-import"], env=env, capture_output=True, text=True, timeout=60)
    assert words.stdout.split() == ["plain,customers"]
    assert "_ECDP_IMPORT_COMPLETE=bash_source ecdp-import" in PAGE


def test_version_is_the_packages():
    import importer

    done = subprocess.run([BIN / "ecdp-import", "--version"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"ecdp-import, version {importer.__version__}"
