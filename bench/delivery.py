"""Delivery benchmarks: throughput against latency by concurrency, and pacing under a rate limit.

The sandbox runs in its own process (``ecdp-import sandbox`` with fault options) so that its CPU does
not compete with the importer's; the importer runs through the library API, as the CLI does.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from importer.jobs.imports import import_customers
from importer.settings import ApiKey, ApiSettings, CustomerOptions, RunOptions

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_process(*fault_options: str) -> Iterator[tuple[str, str]]:
    """(url, key) of a sandbox in a child process, stopped on exit."""
    key, port = secrets.token_urlsafe(16), _free_port()
    process = subprocess.Popen(
        [BIN / "ecdp-import", "sandbox", "--port", str(port), *fault_options],
        env={**os.environ, "ECDP_API_KEY": key},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/customerattributes", headers={"x-api-key": key}, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, key
    finally:
        process.terminate()
        process.wait(timeout=30)


def _customers(directory: Path, count: int) -> Path:
    path = directory / f"customers-{count}.csv"
    lines = ["email,firstName"] + [f"bench{i}@example.com,Name {i}" for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(url: str, key: str, source: Path, report: Path, state: Path | None = None, **api: Any) -> dict[str, Any]:
    """One import; its own journal unless ``state`` is given (a remembered pace would change what is measured)."""
    chunk_size = api.pop("chunk_size")
    result = import_customers(
        [source],
        ApiSettings(url=url, key=ApiKey(key), **api),
        CustomerOptions(),
        RunOptions(chunk_size=chunk_size, report_dir=report, progress=False, state=state or report / "state.db"),
    )
    return result.summary.to_dict()


def concurrency_scaling(records: int = 20_000, latency_ms: int = 50) -> list[dict[str, Any]]:
    """Records/s at concurrency 1, 4, 16 with ``latency_ms`` of server latency, 100 records a request."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sandbox_process("--latency-ms", str(latency_ms)) as (url, key):
        source = _customers(Path(tmp), records)
        for concurrency in (1, 4, 16):
            summary = _run(url, key, source, Path(tmp) / f"r{concurrency}", concurrency=concurrency, chunk_size=100)
            rows.append(
                {
                    "concurrency": concurrency,
                    "latency_ms": latency_ms,
                    "records": records,
                    "requests": summary["requests"],
                    "seconds": summary["duration_s"],
                    "records_per_s": round(records / summary["duration_s"]),
                    "accepted": summary["records_accepted"],
                }
            )
    base = rows[0]["records_per_s"]
    for row in rows:
        row["speedup"] = round(row["records_per_s"] / base, 2)
    return rows


def rate_limited(limit: float = 20.0, seconds: float = 60.0, concurrency: int = 4) -> dict[str, Any]:
    """Achieved request rate and share of 429s against a sandbox allowing ``limit`` requests/s."""
    requests = int(limit * seconds)
    with tempfile.TemporaryDirectory() as tmp, sandbox_process("--rate-limit", str(limit)) as (url, key):
        source = _customers(Path(tmp), requests * 10)
        summary = _run(url, key, source, Path(tmp) / "r", concurrency=concurrency, chunk_size=10)
    accepted_requests = summary["requests"] - summary["throttled"]
    return {
        "limit_per_s": limit,
        "concurrency": concurrency,
        "requests": summary["requests"],
        "throttled": summary["throttled"],
        "throttled_share": round(summary["throttled"] / summary["requests"], 4),
        "seconds": summary["duration_s"],
        "achieved_per_s": round(accepted_requests / summary["duration_s"], 2),
        "achieved_share_of_limit": round(accepted_requests / summary["duration_s"] / limit, 3),
        "rows_accepted": summary["rows_accepted"],
        "rows_read": summary["rows_read"],
    }


def first_runs(limit: float = 20.0, seconds: float = 40.0, concurrency: int = 8, runs: int = 3) -> dict[str, Any]:
    """``runs`` first runs (each its own journal: no remembered pace) against a sandbox allowing ``limit``
    requests/s, chunks of 5: the rate reached, the share of 429s, and how soon it reached 90 % of the limit
    (issue 31: the slow start). Rates are of requests that went through (not answered 429), per second."""
    measured = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, runs + 1):
            with sandbox_process("--rate-limit", str(limit)) as (url, key):  # a fresh server: a full bucket
                source = _customers(Path(tmp), int(limit * seconds * 5))
                summary = _run(url, key, source, Path(tmp) / f"first{n}", concurrency=concurrency, chunk_size=5)
            through = _through_per_second(summary["timeline"])
            reached = _first_second(through, 0.9 * limit)
            steady = through[reached:] if reached is not None else []
            measured.append(
                {
                    "requests": summary["requests"],
                    "throttled": summary["throttled"],
                    "throttled_share": round(summary["throttled"] / summary["requests"], 4),
                    "seconds": summary["duration_s"],
                    "achieved_per_s": round((summary["requests"] - summary["throttled"]) / summary["duration_s"], 2),
                    "reached_per_s": round(sum(steady) / len(steady), 2) if steady else None,
                    "seconds_to_90_percent": reached + WINDOW_S if reached is not None else None,
                }
            )
    return {"limit_per_s": limit, "concurrency": concurrency, "chunk_size": 5, "runs": measured}


WINDOW_S = 2  # seconds the rate reached is averaged over: "reached 90 %" means for this long at least


def _through_per_second(timeline: dict[str, Any]) -> list[int]:
    """Requests that were not answered 429, per second of sending (the timeline's one-second buckets)."""
    columns = timeline["columns"]
    assert timeline["bucket_s"] == 1, "a run this short has one-second buckets"
    counts: dict[int, int] = {}
    for row in timeline["rows"]:
        cells = dict(zip(columns, row, strict=True))
        counts[cells["t"]] = cells["requests"] - cells["throttled"]
    return [counts.get(t, 0) for t in range(max(counts, default=-1) + 1)]


def _first_second(per_second: list[int], rate: float) -> int | None:
    """The first second from which ``WINDOW_S`` seconds average ``rate`` or more; None if none does."""
    for t in range(len(per_second) - WINDOW_S + 1):
        if sum(per_second[t : t + WINDOW_S]) >= rate * WINDOW_S:
            return t
    return None


def remembered_pace(limit: float = 20.0, seconds: float = 12.0, concurrency: int = 8) -> dict[str, Any]:
    """Two identical runs on one journal against a ``limit`` requests/s token bucket: the first finds the
    limit with 429s, the second starts at the pace the first remembered (issue 21)."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp, sandbox_process("--rate-limit", str(limit)) as (url, key):
        source = _customers(Path(tmp), int(limit * seconds * 5))
        for n in (1, 2):
            summary = _run(
                url,
                key,
                source,
                Path(tmp) / f"r{n}",
                state=Path(tmp) / "state.db",
                concurrency=concurrency,
                chunk_size=5,
            )
            accepted = summary["requests"] - summary["throttled"]
            runs.append(
                {
                    "requests": summary["requests"],
                    "throttled": summary["throttled"],
                    "throttled_share": round(summary["throttled"] / summary["requests"], 4),
                    "seconds": summary["duration_s"],
                    "achieved_share_of_limit": round(accepted / summary["duration_s"] / limit, 3),
                }
            )
    return {"limit_per_s": limit, "concurrency": concurrency, "chunk_size": 5, "first": runs[0], "second": runs[1]}
