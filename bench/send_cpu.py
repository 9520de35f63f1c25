"""What sending costs the importer beyond preparing: its CPU time (user + system) sending a file into the
sandbox, divided by its CPU time on a ``--dry-run`` of the same file with the same chunk size.

The sandbox runs in its own process (``ecdp-import sandbox``), so its CPU is not counted; each importer run
is a fresh process of the installed importer (``.venv-bench``), its CPU read from the kernel (``wait4``).
Dry run and send alternate, a round being one of each, and the ratio reported is the median of the rounds'
own ratios (this machine's speed drifts by a third from one hour to the next). Both runs read the
platform's settings lists from the sandbox (the pre-flight), so what differs is the sending: the requests,
their answers, the journal's writes, the records held until every row is checked (the error budget).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from statistics import median
from typing import Any

from bench.delivery import sandbox_process
from bench.offline import INSTALLED, input_file, measure


def send_cpu_ratio(lines: int = 120_000, rounds: int = 3, chunk_size: int = 100) -> dict[str, Any]:
    """Send ÷ dry-run CPU of the importer on ``lines`` sparse order lines (about a third as many orders),
    ``rounds`` alternating pairs, the sandbox in a process of its own."""
    source = input_file("orders-sparse", lines)
    runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp, sandbox_process() as (url, key):
        env = {"ECDP_API_KEY": key}
        for n in range(rounds):
            command: list[str | Path] = [
                INSTALLED / "ecdp-import",
                "orders",
                source,
                "--api-url",
                url,
                "--chunk-size",
                str(chunk_size),
                "--no-progress",
                "--output",
                "line",
            ]
            dry = measure([*command, "--dry-run", "--report-dir", Path(tmp) / f"d{n}"], env, report=Path(tmp) / f"d{n}")
            sent = measure(
                [*command, "--report-dir", Path(tmp) / f"s{n}", "--state", Path(tmp) / f"s{n}.db"],
                env,
                report=Path(tmp) / f"s{n}",
            )  # (a journal of its own: nothing is skipped as accepted before)
            runs.append((dry, sent))
    cpu = [(d["user_s"] + d["sys_s"], s["user_s"] + s["sys_s"]) for d, s in runs]
    ratios = [round(s / d, 3) for d, s in cpu]
    return {
        "lines": lines,
        "chunk_size": chunk_size,
        "rounds": rounds,
        "send_per_dry_run_cpu": round(median(ratios), 3),
        "ratios": ratios,
        "dry_run_cpu_s": [round(d, 2) for d, _ in cpu],
        "send_cpu_s": [round(s, 2) for _, s in cpu],
        "send_wall_s": [s["wall_s"] for _, s in runs],
        "dry_run_wall_s": [d["wall_s"] for d, _ in runs],
    }
