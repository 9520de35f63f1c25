"""The installed entry points as a user runs them: separate processes, real ports, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, free_port

BIN = Path(sys.executable).parent


def test_python_m_importer_and_console_script_agree():
    module = subprocess.run([sys.executable, "-m", "importer", "--version"], capture_output=True, text=True)
    script = subprocess.run([BIN / "ecdp-import", "--version"], capture_output=True, text=True)
    assert module.returncode == script.returncode == 0
    assert module.stdout == script.stdout and "ecdp-import" in module.stdout


def test_demo_command_imports_the_sample_into_a_built_in_sandbox(tmp_path):
    done = subprocess.run(
        [
            BIN / "ecdp-import",
            "customers",
            ROOT / "sample_data/customers.csv",
            "--sandbox",
            "--max-rejects",
            "25%",
            "--report-dir",
            tmp_path / "report",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ECDP_API_KEY": ""},
    )
    assert done.returncode == 1, done.stderr
    assert "20 accepted, 3 rejected, 0 failed" in done.stdout
    assert str(tmp_path / "report") in done.stdout
    assert "Traceback" not in done.stderr


def _start_sandbox(port: int, db: Path, key: str, *options: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [BIN / "ecdp-import", "sandbox", "--port", str(port), "--db", db, *options],
        env={**os.environ, "ECDP_API_KEY": key},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/customerattributes", timeout=1)
            return process
        except httpx.TransportError:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
    process.kill()
    pytest.fail("the sandbox did not start within 30 s")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    return stderr


def test_sandbox_command_keeps_data_in_its_db_across_a_restart(tmp_path):
    key, db, port = "local-sandbox-key-for-test", tmp_path / "sandbox.db", free_port()
    headers = {"x-api-key": key}
    url = f"http://127.0.0.1:{port}"
    process = _start_sandbox(port, db, key)
    try:
        assert httpx.get(f"{url}/customerattributes", timeout=5).status_code == 401
        created = httpx.post(
            f"{url}/customers",
            headers=headers,
            timeout=5,
            json={"mode": "Add", "matchBy": "Email", "data": [{"email": "kept@example.com"}]},
        )
        assert created.status_code == 201
    finally:
        stderr = _stop(process)
    assert key not in stderr and "Traceback" not in stderr
    process = _start_sandbox(port, db, key)
    try:
        found = httpx.get(f"{url}/customers/email/kept@example.com", headers=headers, timeout=5)
        assert found.status_code == 200 and found.json()["data"]["email"] == "kept@example.com"
    finally:
        _stop(process)


def test_sandbox_command_knows_the_custom_events_given_and_keeps_those_received(tmp_path):
    key, db, port = "local-sandbox-key-for-test", tmp_path / "sandbox.db", free_port()
    headers = {"x-api-key": key}
    url = f"http://127.0.0.1:{port}"
    process = _start_sandbox(port, db, key, "--custom-event", "41", "--custom-event", "42")
    try:
        statuses = [
            httpx.post(
                f"{url}/scenariocustomevents",
                headers=headers,
                timeout=5,
                json={"customEventId": event_id, "customerEmail": "e@example.com"},
            ).status_code
            for event_id in (41, 1, 42)
        ]
        assert statuses == [201, 400, 201]  # 1: a demo event, replaced by those given
    finally:
        _stop(process)
    process = _start_sandbox(port, db, key)
    try:
        kept = httpx.get(f"{url}/_sandbox/customevents", headers=headers, timeout=5).json()
        assert [event["customEventId"] for event in kept["data"]] == [41, 42] and kept["total"] == 2
    finally:
        _stop(process)
