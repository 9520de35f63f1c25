"""A real MariaDB server for the ConnectorX path (``mysql://``): Debian's binaries, a private server per session.

``make test`` installs Debian's ``mariadb-server`` package when it is missing (as it installs postgresql).
As root the data folder is made and the server run as the ``mysql`` user, in a temporary folder
that user owns; as anyone else, as that user. It listens on a free loopback port only (127.0.0.1, its unix
socket inside the folder), with a user ``ecdp_test`` that has a random password and the database ``shop``,
and is stopped and deleted at the end. ``find_server`` is None where the package is not installed: the tests
that need the server skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support import free_port

USER = "ecdp_test"
DATABASE = "shop"


def find_server() -> Path | None:
    """The MariaDB server binary (Debian: /usr/sbin/mariadbd), or None."""
    for name in ("mariadbd", "mysqld"):
        found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
        if found and shutil.which("mariadb-install-db") and shutil.which("mariadb"):
            return Path(found)
    return None


class MariaDbServer:
    """A throwaway server: ``url`` (with the password), ``url_without_password``, ``password``, ``port``."""

    def __init__(self, server: Path) -> None:
        self.server = server
        self.password = "pw-" + secrets.token_hex(12)
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="ecdp-test-mariadb-"))
        self.data = self.folder / "data"
        self.socket = self.folder / "mariadb.sock"
        self._as_mysql = os.geteuid() == 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mysql://{USER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def url_without_password(self) -> str:
        return f"mysql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _as_user(self) -> dict[str, Any]:
        """Popen's arguments that run a command as the ``mysql`` user when this is root (the server's own child,
        so it is waited for and reaped here)."""
        return {"user": "mysql", "group": "mysql", "extra_groups": []} if self._as_mysql else {}

    def start(self) -> MariaDbServer:
        if self._as_mysql:
            shutil.chown(self.folder, "mysql", "mysql")
        done = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._as_user(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed ({done.returncode}): {done.stderr or done.stdout}")
        log = open(self.folder / "server.log", "wb")  # (the server's own log: it keeps it open)
        self._process = subprocess.Popen(
            [
                str(self.server),
                "--no-defaults",
                f"--datadir={self.data}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.socket}",
                f"--pid-file={self.folder / 'server.pid'}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=0",
                "--skip-log-bin",
                "--max-connections=20",
                "--default-time-zone=+00:00",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
            ],
            stdout=log,
            stderr=log,
            **self._as_user(),
        )
        log.close()
        deadline = time.monotonic() + 60
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                tail = (self.folder / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mariadbd did not start: {tail}")
            time.sleep(0.2)
        self._root(
            f"CREATE DATABASE {DATABASE}; CREATE USER '{USER}'@'%' IDENTIFIED BY '{self.password}'; "
            f"GRANT ALL ON {DATABASE}.* TO '{USER}'@'%';"
        )
        return self

    def _answers(self) -> bool:
        done = subprocess.run(
            ["mariadb-admin", "--no-defaults", f"--socket={self.socket}", "-u", "root", "ping"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return done.returncode == 0

    def _root(self, statements: str) -> None:
        done = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", "root", "-e", statements],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mariadb failed: {done.stderr}")

    def sql(self, statements: str) -> None:
        """Run SQL statements with the mariadb client over TCP, as the test user with its password."""
        done = subprocess.run(
            [
                "mariadb",
                "--no-defaults",
                "--local-infile=1",
                "--default-character-set=utf8mb4",
                "-h",
                "127.0.0.1",
                "-P",
                str(self.port),
                "-u",
                USER,
                DATABASE,
                "-e",
                statements,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "MYSQL_PWD": self.password},
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mariadb failed: {done.stderr}")

    def stop(self) -> None:
        try:
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()  # (the server's own process, started here: a clean shutdown)
                try:
                    self._process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> MariaDbServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
