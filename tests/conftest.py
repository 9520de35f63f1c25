"""Shared fixtures. Each section belongs to one part of the project; add new sections below."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox import SandboxServer

# -- sandbox: one local ECDP API per test session, emptied before each test ----------------------


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """The session's sandbox API on a free loopback port (in-memory store, random API key)."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox with no customers, orders or request statistics."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture(scope="module")
def crm_sandbox() -> Iterator[SandboxServer]:
    """A business unit that identifies customers by crmId (exports that give no e-mail; Shopify's Customer
    ID), one per test module."""
    with SandboxServer(identification="CrmId") as server:
        yield server


@pytest.fixture
def crm(crm_sandbox: SandboxServer) -> SandboxServer:
    """The crmId business unit with no customers, orders or request statistics."""
    crm_sandbox.reset()
    return crm_sandbox


# -- run journal: every test gets its own state file -----------------------------------------------


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """ECDP_STATE points at a fresh directory, so no test shares (or locks) another's journal."""
    monkeypatch.setenv("ECDP_STATE", str(tmp_path_factory.mktemp("state") / "state.db"))


# -- a business unit with declared attribute and consent definitions (pre-flight, verify) ----------

PLATFORM_SETTINGS = Path(__file__).resolve().parent / "data" / "platform" / "settings.json"


@pytest.fixture(scope="session")
def platform_server() -> Iterator[SandboxServer]:
    """A second sandbox that serves and enforces tests/data/platform/settings.json, as the platform would."""
    from importer.sandbox.definitions import load_settings

    with SandboxServer(settings=load_settings(PLATFORM_SETTINGS)) as server:
        yield server


@pytest.fixture
def platform(platform_server: SandboxServer) -> SandboxServer:
    """The declared-settings sandbox with no customers, orders or request statistics."""
    platform_server.reset()
    return platform_server


# -- object storage: a real S3-compatible server (moto's) on loopback, one per test session --------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port: its endpoint URL. Any access key is accepted."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A botocore S3 client of the session's server, with the environment a run reads its credentials
    from (``AWS_*``, as on a real machine) and an empty bucket ``exports``."""
    import botocore.session

    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_server,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    client = botocore.session.get_session().create_client("s3")
    for listed in client.list_objects_v2(Bucket="exports").get("Contents", []) if _has_bucket(client) else []:
        client.delete_object(Bucket="exports", Key=listed["Key"])
    if not _has_bucket(client):
        client.create_bucket(Bucket="exports")
    return client


def _has_bucket(client: Any) -> bool:
    return any(b["Name"] == "exports" for b in client.list_buckets().get("Buckets", []))


# -- a real PostgreSQL server (Debian's package; make test installs it), one per test session and worker --


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A private PostgreSQL cluster on a free loopback port, its user ``ecdp_test`` with a random password
    (``server.url`` holds it, ``server.url_without_password`` does not), database ``shop``; stopped at the end."""
    from tests.support.postgres import PostgresServer, find_binaries

    binaries = find_binaries()
    if binaries is None:
        pytest.skip("Debian's PostgreSQL is not installed (apt-get install postgresql; make test does it)")
    with PostgresServer(binaries) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[Any]:
    """A private MariaDB server on a free loopback port (the ``mysql://`` path through ConnectorX), its user
    ``ecdp_test`` with a random password, database ``shop``; stopped at the end."""
    from tests.support.mariadb import MariaDbServer, find_server

    server = find_server()
    if server is None:
        pytest.skip("Debian's MariaDB is not installed (apt-get install mariadb-server; make test does it)")
    with MariaDbServer(server) as started:
        yield started
