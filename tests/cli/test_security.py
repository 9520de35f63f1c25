"""Secrets and privacy: the key and personal data stay out of every artefact; TLS is verified; plain http
leaves this machine only when asked for; reports and state are owner-only whatever the umask.

Each promise of SECURITY.md is tested here (or, for the input corpus and formula cells, in
``test_bad_input.py``; for the journal's privacy, in ``test_journal.py``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from importer.cli import cli
from importer.errors import UsageError
from importer.sandbox import Faults, SandboxServer
from importer.settings import (
    ApiKey,
    ApiSettings,
    check_api_url,
    is_loopback,
    load_api_key,
)
from tests.support import ORDER_LINE_COLUMNS, ROOT, Run, run_cli, write_csv

CUSTOMERS = ["email", "firstName", "lastName", "phone"]


def people(count: int) -> list[list[str]]:
    """Distinctive personal data, easy to find if it leaks; the last row is invalid (an API-less reject)."""
    rows = [
        [f"zq.person{i}@privacy-canary.example", f"Xanthippe{i}", f"Quirinus{i}", f"+4860055{i:04d}"]
        for i in range(count)
    ]
    return [*rows, ["not-an-address", "Xanthippe-bad", "Quirinus-bad", ""]]


PERSONAL = ("privacy-canary", "Xanthippe", "Quirinus", "+486005")


def canary_key() -> str:
    return "ecdp-KEYCANARY-" + secrets.token_hex(16)


def artefacts(run: Run, *paths: Path) -> dict[str, bytes]:
    """Everything a run left behind: stdout, stderr, and every file under the given paths."""
    found = {"stdout": run.stdout.encode(), "stderr": run.stderr.encode()}
    for root in paths:
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            found[str(path)] = path.read_bytes()
    return found


def assert_absent(secret: str, found: dict[str, bytes]) -> None:
    needles = {secret.encode(), secret[len(secret) // 3 : 2 * len(secret) // 3].encode()}  # a part of it too
    leaks = [name for name, data in found.items() if any(needle in data for needle in needles)]
    assert not leaks, f"the key appears in {leaks}"


# -- the key -------------------------------------------------------------------------------------


def test_no_command_takes_the_key_on_the_command_line() -> None:
    """argv is visible to every user of the machine (ps, /proc/<pid>/cmdline): no option carries a key."""
    for name, command in cli.commands.items():
        for param in command.params:
            if name == "sandbox":  # the sandbox's own local key, documented as never a platform key
                continue
            assert isinstance(param, click.Argument) or not any(  # a file's path or a variable's name only
                opt.startswith("--api-key") and opt not in ("--api-key-file", "--api-key-env") for opt in param.opts
            ), (name, param.opts)
            assert param.envvar != "ECDP_API_KEY", (name, param.opts)  # click would show an env default


@pytest.mark.parametrize("args", [[], *[[name] for name in sorted(cli.commands)]], ids=lambda a: a[0] if a else "top")
def test_help_never_shows_the_key(args: list[str]) -> None:
    key = canary_key()
    run = run_cli(
        [*args, "--help"], env={"ECDP_API_KEY": key, "ECDP_API_URL": f"https://user:{key}@h.example"}, imports=False
    )
    assert run.exit_code == 0
    assert_absent(key, artefacts(run))


def test_the_key_never_shows_in_objects_or_exceptions() -> None:
    key = canary_key()
    settings = ApiSettings(key=ApiKey(key))
    assert key not in repr(settings) and key not in str(settings.key) and key not in f"{settings.key}"
    with pytest.raises(UsageError) as refused:
        check_api_url(f"ftp://user:{key}@h.example/")
    assert key not in str(refused.value)


def test_the_key_is_in_no_artefact_of_real_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Successful, partly failing, refused and broken runs, key from the environment and from a file,
    JSON logs: stdout, stderr, every report file, the state file (all its bytes) and `runs` hold no key."""
    key, wrong = canary_key(), canary_key()
    state = tmp_path / "state" / "state.db"
    monkeypatch.setenv("ECDP_STATE", str(state))
    customers = write_csv(tmp_path / "customers.csv", CUSTOMERS, people(60))
    orders = write_csv(
        tmp_path / "orders.csv",
        ORDER_LINE_COLUMNS,
        [
            [f"o{i}", "2024-11-01", "2", f"zq.person{i}@privacy-canary.example", f"p{i}", "P", "2", "1"]
            for i in range(20)
        ],
    )
    key_file, wrong_file = tmp_path / "key", tmp_path / "wrong"
    for path, value in ((key_file, key), (wrong_file, wrong)):
        path.write_text(value + "\n")
        path.chmod(0o600)
    runs: list[Run] = []
    json = ["--log-format", "json", "--chunk-size", "10", "--max-retries", "1"]
    with SandboxServer(api_key=key, faults=Faults(error_rate=0.4, throttle_rate=0.1, retry_after_s=0, seed=4)) as flaky:
        env = {"ECDP_API_URL": flaky.url}
        runs.append(
            run_cli(
                ["customers", str(customers), *json],
                env={**env, "ECDP_API_KEY": key},
                report_dir=tmp_path / "reports" / "env",
            )
        )
        runs.append(
            run_cli(
                ["orders", str(orders), "--api-key-file", str(key_file), *json],
                env=env,
                report_dir=tmp_path / "reports" / "file",
            )
        )
        runs.append(
            run_cli(
                ["customers", str(customers), "--api-key-file", str(wrong_file), *json],
                env=env,
                report_dir=tmp_path / "reports" / "refused",
            )
        )
        runs.append(
            run_cli(
                ["customers", str(tmp_path / "missing.csv"), *json],
                env={**env, "ECDP_API_KEY": key},
                report_dir=tmp_path / "reports" / "broken",
            )
        )
        failed_run = runs[0].summary["run_id"]
        runs.append(
            run_cli(
                ["retry", failed_run, "--log-format", "json"],
                env={**env, "ECDP_API_KEY": key},
                report_dir=tmp_path / "reports" / "retry",
            )
        )
    runs.append(run_cli(["runs"], imports=False))
    assert [r.exit_code for r in runs] == [1, 0, 3, 2, 0, 0], [r.stderr for r in runs]
    assert runs[0].summary["api_errors"] > 0 and runs[0].summary["rows_failed"] > 0  # errors did happen
    found: dict[str, bytes] = {}
    for number, run in enumerate(runs):
        found |= {f"run {number} {name}": data for name, data in artefacts(run).items()}
    found |= artefacts(runs[0], tmp_path / "reports", state.parent)
    assert any(name.endswith("errors.jsonl") for name in found) and any(
        name.endswith("-wal") or name.endswith("state.db") for name in found
    )
    assert_absent(key, found)
    assert_absent(wrong, found)


# -- personal data -------------------------------------------------------------------------------


def test_personal_data_never_reaches_the_logs(tmp_path: Path) -> None:
    """A run with API rejections, server errors, retries and throttling, in both log formats: stdout and
    stderr name rows by file and number only. (errors.jsonl, rejected.csv and failed.csv do hold rows:
    they are the private, owner-only report.)"""
    key = canary_key()
    source = write_csv(tmp_path / "in.csv", CUSTOMERS, people(40))
    with SandboxServer(api_key=key, faults=Faults(error_rate=0.3, throttle_rate=0.1, retry_after_s=0, seed=8)) as api:
        seed = write_csv(tmp_path / "seed.csv", CUSTOMERS, people(3)[:3])
        assert (
            run_cli(
                ["customers", str(seed)],
                env={
                    "ECDP_API_KEY": key,
                    "ECDP_API_URL": api.url,
                },
                report_dir=tmp_path / "seed",
            ).summary["rows_accepted"]
            == 3
        )
        outputs = []
        for log_format in ("json", "text"):
            run = run_cli(
                [
                    "customers",
                    str(source),
                    "--mode",
                    "Add",
                    "--log-format",
                    log_format,
                    "--chunk-size",
                    "5",
                    "--max-retries",
                    "1",
                ],
                env={"ECDP_API_KEY": key, "ECDP_API_URL": api.url},
                report_dir=tmp_path / log_format,
            )
            assert run.summary["api_errors"] > 0 and run.summary["rows_rejected"] >= 4  # API and local rejects
            outputs.append(run.stdout + run.stderr)
    assert any('"event": "retry"' in o or '"event":"retry"' in o for o in outputs)
    for output in outputs:
        leaked = [needle for needle in PERSONAL if needle in output]
        assert not leaked, output[:2000]
    errors = (tmp_path / "json" / "errors.jsonl").read_text(encoding="utf-8")
    assert "privacy-canary" in errors  # the private report is where such details go


def test_reports_and_state_are_owner_only_whatever_the_umask(
    sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state" / "state.db"
    monkeypatch.setenv("ECDP_STATE", str(state))
    source = write_csv(tmp_path / "in.csv", CUSTOMERS, people(5))
    previous = os.umask(0)  # the most permissive umask: modes must not depend on it
    try:
        sent = run_cli(
            ["customers", str(source), "--mode", "Add", "--max-rejects", "100%"],
            env={"ECDP_API_KEY": sandbox.api_key, "ECDP_API_URL": sandbox.url},
            report_dir=tmp_path / "reports" / "sent",
        )
        dry = run_cli(
            ["customers", str(source), "--dry-run", "--max-rejects", "100%"], report_dir=tmp_path / "reports" / "dry"
        )
    finally:
        os.umask(previous)
    assert (sent.exit_code, dry.exit_code) == (1, 1)
    names = {p.name for p in (tmp_path / "reports").rglob("*")}
    assert {"summary.json", "rejected.csv", "payloads.jsonl"} <= names
    for path in [tmp_path / "reports", *(tmp_path / "reports").rglob("*"), state.parent, *state.parent.iterdir()]:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_a_key_file_readable_by_others_is_warned_about(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(canary_key())
    key_file.chmod(0o644)
    warnings: list[str] = []
    load_api_key(key_file, warn=warnings.append)
    assert warnings and "chmod 600" in warnings[0]


# -- transport -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:1/x",
        "http://LOCALHOST.",
        "http://[::1]:8080",
        "https://api.ecdp.app",
        "https://10.0.0.1",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert check_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::ffff:127.0.0.1", False),
        ("api.ecdp.app", False),
        ("localhost.evil.example", False),
        ("127.0.0.1.nip.io", False),
    ],
)
def test_loopback_means_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "url",
    [
        "http://api.ecdp.app",
        "http://10.0.0.1",
        "http://192.168.1.5:8080",
        "http://0.0.0.0:8080",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:10.0.0.1]",
    ],
)
def test_plain_http_to_another_machine_is_refused_unless_allowed(url: str, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", CUSTOMERS, people(1)[:1])
    refused = run_cli(["customers", str(source), "--api-url", url, "--dry-run"], report_dir=tmp_path / "r1")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("Error: The API URL") and "plain http to another machine" in refused.stderr
    assert "Hint: Use https://, or pass --allow-insecure-http" in refused.stderr
    allowed = run_cli(
        ["customers", str(source), "--api-url", url, "--allow-insecure-http", "--dry-run"], report_dir=tmp_path / "r2"
    )
    assert allowed.exit_code == 0, allowed.stderr


def test_retry_refuses_plain_http_too(tmp_path: Path) -> None:
    run = run_cli(
        ["retry", "some-run", "--api-url", "http://api.ecdp.app"],
        env={"ECDP_API_KEY": canary_key()},
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 2 and "plain http" in run.stderr


def test_no_option_or_code_turns_tls_verification_off() -> None:
    names = {opt for command in cli.commands.values() for param in command.params for opt in param.opts}
    assert not [n for n in names if any(word in n for word in ("verify", "insecure-tls", "no-ssl", "cacert"))]
    root = ROOT / "importer"
    offenders = [
        str(p)
        for p in root.rglob("*.py")
        if "sandbox" not in p.parts
        and any(s in p.read_text(encoding="utf-8") for s in ("verify=False", "CERT_NONE", "check_hostname"))
    ]
    assert not offenders


class TlsServer:
    """A TLS server on loopback with a self-signed certificate; counts the HTTP requests it decrypts."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"https://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.refused_handshakes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    data = tls.recv(65536)
                    if data:
                        self.requests.append(data)
            except (ssl.SSLError, OSError):
                self.refused_handshakes += 1
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[tuple[TlsServer, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server = TlsServer(cert, key)
    yield server, cert
    server.close()


def test_a_self_signed_certificate_gets_no_request_and_no_key(self_signed, tmp_path: Path) -> None:
    server, cert = self_signed
    key = canary_key()
    source = write_csv(tmp_path / "in.csv", CUSTOMERS, people(3)[:3])
    env = {"ECDP_API_KEY": key, "ECDP_API_URL": server.url}
    run = run_cli(["customers", str(source), "--max-retries", "0"], env=env, report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "certificate" in run.stderr
    assert server.requests == [] and server.refused_handshakes >= 1  # nothing, the key least of all, was sent
    # The control: once the certificate is trusted (SSL_CERT_FILE, as for a company CA), the request arrives.
    trusted = run_cli(
        ["customers", str(source), "--max-retries", "0"],
        env={**env, "SSL_CERT_FILE": str(cert)},
        report_dir=tmp_path / "trusted",
    )
    assert trusted.exit_code == 1 and len(server.requests) == 1 and key.encode() in server.requests[0]


def test_a_certificate_failure_stops_the_run_with_one_sentence(self_signed, tmp_path: Path) -> None:
    server, _ = self_signed
    source = write_csv(tmp_path / "in.csv", CUSTOMERS, people(3)[:3])
    run = run_cli(
        ["customers", str(source), "--max-retries", "1"],
        env={"ECDP_API_KEY": canary_key(), "ECDP_API_URL": server.url},
        report_dir=tmp_path / "r",
    )
    lines = run.stderr.splitlines()
    assert run.exit_code == 2 and "certificate" in lines[0] and "nothing was sent" in lines[0], run.stderr
    assert len(lines) == 2 and lines[1].startswith("Hint: ") and "SSL_CERT_FILE" in lines[1]
    assert server.requests == []  # one handshake refused, no retry, no request
