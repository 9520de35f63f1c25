"""No secret in a URL is ever shown: an API URL with credentials, a query or a fragment is refused (nothing is
sent, the secret not echoed), and an input URL's credentials and query appear in no artefact of a real run."""

from __future__ import annotations

import http.server
import secrets

import pytest

from importer.errors import UsageError
from importer.settings import ApiSettings
from tests.cli.test_security import artefacts, assert_absent
from tests.support import http_server, run_cli, sandbox_env, write_csv

CSV = b"email,firstName\n" + b"".join(f"u{i}@example.com,Ann\n".encode() for i in range(30))


def canary() -> str:
    return "URLCANARY" + secrets.token_hex(12)


@pytest.mark.parametrize(
    ("shape", "said"),
    [
        ("http://reader:{secret}@{host}", "carries credentials"),
        ("http://{secret}@{host}", "carries credentials"),
        ("http://{host}/?key={secret}", "query string"),
        ("http://{host}?{secret}", "query string"),
        ("http://{host}#{secret}", "fragment"),
    ],
    ids=["user-password", "user", "query", "bare-query", "fragment"],
)
@pytest.mark.parametrize("given", ["option", "environment"])
def test_an_api_url_with_a_secret_in_it_is_refused_and_never_echoed(sandbox, tmp_path, shape, said, given):
    secret = canary()
    url = shape.format(secret=secret, host=sandbox.url.removeprefix("http://"))
    source = write_csv(tmp_path / "in.csv", ["email"], [["a@example.com"]])
    env = {**sandbox_env(sandbox), **({"ECDP_API_URL": url} if given == "environment" else {})}
    run = run_cli(
        ["customers", str(source), *(["--api-url", url] if given == "option" else [])],
        env=env,
        report_dir=tmp_path / "report",
    )
    assert run.exit_code == 2, run.stderr
    assert said in run.stderr and "ECDP_API_KEY" in run.stderr
    assert secret not in run.stdout + run.stderr
    assert sandbox.stats.total == 0  # nothing was sent (with a query, every request once went to POST /)


def test_a_library_call_refuses_the_same_urls():
    secret = canary()
    for url in (f"https://user:{secret}@api.example.com", f"https://api.example.com/?key={secret}"):
        with pytest.raises(UsageError) as refused:
            ApiSettings(url=url)
        assert secret not in str(refused.value)


class Export(http.server.BaseHTTPRequestHandler):
    """A shop's export behind a URL with credentials and a signed query; anything else is a 404."""

    def do_GET(self) -> None:
        found = self.path.startswith("/exports/customers.csv")
        self.send_response(200 if found else 404)
        body = CSV if found else b"no such export"
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_an_input_urls_credentials_and_query_are_in_no_artefact(sandbox, tmp_path):
    """A run from an http(s) URL with user:password@ and a signature in its query, JSON logs, metrics and a
    journal, a run of a URL that is not there, and `runs`: stdout, stderr, every report file, every byte of
    the state folder and the metrics hold neither secret."""
    password, signature = canary(), canary()
    state = tmp_path / "state" / "state.db"
    with http_server(Export) as base:
        host = base.removeprefix("http://")
        url = f"http://reader:{password}@{host}/exports/customers.csv?X-Signature={signature}&expires=1"
        missing = f"http://reader:{password}@{host}/exports/gone.csv?X-Signature={signature}"
        common = ["--log-format", "json", "--state", str(state), "--metrics-file", str(tmp_path / "m" / "run.prom")]
        done = run_cli(["customers", url, *common], env=sandbox_env(sandbox), report_dir=tmp_path / "reports" / "ok")
        gone = run_cli(
            ["customers", missing, *common], env=sandbox_env(sandbox), report_dir=tmp_path / "reports" / "gone"
        )
    listed = run_cli(["runs", "--state", str(state)], imports=False)
    assert done.exit_code == 0, done.stderr
    assert done.summary["rows_accepted"] == 30 and done.summary["files"] == [f"{base}/exports/customers.csv"]
    assert gone.exit_code == 2 and f"{base}/exports/gone.csv" in gone.stderr  # named, without its secrets
    found = {
        **artefacts(done, tmp_path / "reports", state.parent, tmp_path / "m"),
        **{f"gone {k}": v for k, v in artefacts(gone).items()},
        **{f"runs {k}": v for k, v in artefacts(listed).items()},
    }
    assert any(name.endswith("state.db") for name in found) and any(name.endswith(".prom") for name in found)
    assert_absent(password, found)
    assert_absent(signature, found)
