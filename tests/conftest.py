"""Shared fixtures. Each section belongs to one part of the project; add new sections below."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
