"""Order lines read from PostgreSQL against the same lines read from CSV (issue 33): peak RSS and time ratio.

The 1M-line CSV of the offline rows (``bench/data/orders_<N>.csv``) is loaded into a private PostgreSQL
cluster (``tests/support/postgres.py``'s starter: Debian's binaries, a free loopback port) as a table typed
as a shop's database types it (``timestamptz``, ``numeric(12,2)``, ``integer``) and keyed (``n``, the lines'
order: the SELECT's ``ORDER BY n`` is an index scan, as ``ORDER BY id`` on a shop's table is; without the key
the server sorted 1M rows on disk first, ~1.6 s more of its CPU on this machine). Then ``ecdp-import orders
--db ... --sql ... --dry-run`` and ``ecdp-import orders FILE.csv --dry-run`` run in turn, each a fresh
process measured by the kernel (``bench.offline.measure``): the medians, the highest peak RSS and the median
of the rounds' ratios PG ÷ CSV. Goals: peak RSS at most 700 MB, the ratio at most 1.5. Beside them, the
server's own share: ``psql`` copying the same SELECT's rows to nowhere (``COPY (...) TO STDOUT``), the time
no client can read the rows faster than (on a shared 2-core machine the server competes with the importer).
"""

from __future__ import annotations

from pathlib import Path
from statistics import median_high
from typing import Any

from bench.offline import INSTALLED, input_file, measure, ratios, summary
from tests.support.postgres import PostgresServer, find_binaries

#: the order lines' columns as a shop's database types them (the rest text)
TYPES = {
    "date": "timestamptz",
    "websiteId": "integer",
    "product.price": "numeric(12,2)",
    "product.quantity": "integer",
    "product.returned": "integer",
}


def load(server: PostgresServer, csv: Path) -> str:
    """The CSV as table ``lines`` (typed columns, ``n`` the line's order and its primary key, as a shop's table
    has one); the SELECT that reads it back in that order."""
    header = csv.open(encoding="utf-8").readline().strip().split(",")
    columns = ", ".join(f'"{name}" {TYPES.get(name, "text")}' for name in header)
    quoted = ", ".join(f'"{name}"' for name in header)
    server.sql(f"DROP TABLE IF EXISTS lines; CREATE TABLE lines ({columns}, n serial PRIMARY KEY)")
    server.sql(rf"\copy lines ({quoted}) from '{csv}' csv header")
    server.sql("VACUUM ANALYZE lines")
    return f"SELECT {quoted} FROM lines ORDER BY n"


def postgres_vs_csv(size: int, report: Path, rounds: int) -> dict[str, Any]:
    """``rounds`` rounds of the server's copy, the dry run from PostgreSQL and the one from CSV, of ``size``
    order lines; a reason instead without PostgreSQL."""
    binaries = find_binaries()
    if binaries is None:
        return {"skipped": "Debian's PostgreSQL is not installed (make system-packages)"}
    csv = input_file("orders", size)
    with PostgresServer(binaries) as server:
        select = load(server, csv)
        env = {"ECDP_DB_PASSWORD": server.password, "PGPASSWORD": server.password}
        psql = [
            server.binaries / "psql",
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-U",
            "ecdp_test",
            "-d",
            "shop",
            "-c",
            f"COPY ({select}) TO STDOUT",
        ]
        commands = {
            "server_copy": psql,
            "postgres": [
                INSTALLED / "ecdp-import",
                "orders",
                "--db",
                server.url_without_password,
                "--sql",
                select,
                "--dry-run",
                "--no-progress",
                "--report-dir",
                report / "pg",
            ],
            "csv": [
                INSTALLED / "ecdp-import",
                "orders",
                csv,
                "--dry-run",
                "--no-progress",
                "--report-dir",
                report / "csv",
            ],
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                runs[name].append(measure(command, env=env, report=report / ("csv" if name == "csv" else "pg")))
    per_csv = ratios(runs["postgres"], runs["csv"], "wall_s")
    return {
        "lines": size,
        **{name: summary(measured) for name, measured in runs.items()},
        "postgres_per_csv": round(median_high(per_csv), 2),
        "postgres_per_csv_rounds": [round(r, 2) for r in per_csv],
        "goals": {"peak_rss_mb": 700, "postgres_per_csv": 1.5},
    }
