"""The tests' shared helpers: run the CLI against the sandbox, read what it left behind, find the data.

``ROOT`` is the checkout, ``DATA`` the tests' own input files (``tests/data``); ``browser`` drives Debian's
chromium over the DevTools protocol for the report's tests. Fixtures are in ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import csv
import http.server
import io
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from click.testing import CliRunner, Result

from importer.cli import cli
from importer.report.summary import RunSummary

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
#: the header of the smallest order-lines file a test writes (one product per line)
ORDER_LINE_COLUMNS = [
    "id",
    "date",
    "totalValue",
    "customer.email",
    "product.id",
    "product.name",
    "product.price",
    "product.quantity",
]


@dataclass
class Run:
    """One CLI run: click's result plus the report it wrote (if any)."""

    result: Result
    report_dir: Path

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    @property
    def stdout(self) -> str:
        return self.result.stdout

    @property
    def stderr(self) -> str:
        return self.result.stderr

    @property
    def summary(self) -> dict[str, Any]:
        return orjson.loads((self.report_dir / "summary.json").read_bytes())

    def rows(self, name: str) -> list[dict[str, str]]:
        path = self.report_dir / name
        if not path.exists():
            return []
        return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))

    @property
    def rejected(self) -> list[dict[str, str]]:
        return self.rows("rejected.csv")

    @property
    def failed(self) -> list[dict[str, str]]:
        return self.rows("failed.csv")


def free_port() -> int:
    """A loopback port nobody listens on now (a server to start there, or a connection to be refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False, crlf: bool = False) -> Path:
    """Write a CSV with Python's csv module (quoting what needs quoting)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return path


def run_cli(
    args: list[str], *, env: dict[str, str] | None = None, report_dir: Path | None = None, imports: bool = True
) -> Run:
    """Run ``ecdp-import ARGS --report-dir DIR`` in-process; stdout and stderr kept apart.

    ``imports``: the command takes the import options (``--no-progress`` is added, and ``--output full``:
    the multi-line summary and warnings on stderr, as on a terminal; tests/test_cron.py checks the rest).
    """
    extra = ["--report-dir", str(report_dir)] if report_dir is not None else []
    extra += ["--no-progress", "--output", "full"] if imports else []
    result = CliRunner().invoke(cli, [*args, *extra], env=env, catch_exceptions=False)
    return Run(result, report_dir or Path("/nonexistent"))


def sandbox_env(server: Any) -> dict[str, str]:
    return {"ECDP_API_KEY": server.api_key, "ECDP_API_URL": server.url}


def get(server: Any, path: str) -> httpx.Response:
    return httpx.get(server.url + path, headers={"x-api-key": server.api_key}, timeout=10)


def customer(server: Any, email: str) -> dict[str, Any] | None:
    response = get(server, f"/customers/email/{email}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()["data"]


def assert_accounted(summary: dict[str, Any] | RunSummary) -> None:
    """The invariant of every run: each row read is accepted (a dry run: would be sent), rejected, failed, held
    back (a stop before sending), blank (skipped), unmatched (dropped by the mapping) or left out (by the
    mapping's [[leave_out]] rules)."""
    if isinstance(summary, RunSummary):
        summary = summary.to_dict()
    required = ("rows_accepted", "rows_rejected", "rows_failed", "rows_blank", "rows_unmatched")
    counted = [summary[name] for name in required]
    optional = ("rows_would_send", "rows_held", "rows_left_out", "rows_uncertain")  # (not in each summary)
    counted += [summary.get(name) or 0 for name in optional]
    assert summary["rows_read"] == sum(counted)


@contextlib.contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port with ``handler`` (its request log silenced): its URL."""

    class Quiet(handler):  # (a subclass of the handler given)
        def log_message(self, format: str, *args: Any) -> None:
            """Not on the test's stderr."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
