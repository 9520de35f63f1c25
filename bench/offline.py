"""Offline and end-to-end throughput of whole runs, each a fresh process (imports and page faults
included, as a user's cron job pays them), with its peak RSS read from the kernel (``wait4``).

- ``--dry-run`` of the importer on N order lines and N customers (lines/s, wall, peak RSS);
- per shape of order lines (clustered, sparse, shuffled): the importer, the bare polars floor
  (``bench/floor.py``) and, on clustered lines, the naive baseline (``bench/naive.py``: pandas + iterrows +
  dicts + json), run in turn (``shapes_side_by_side``);
- end to end into the sandbox (its own process, 50 ms latency) at concurrency 16;
- with ``--against DIR``: the same dry runs of another checkout (its own ``.venv``), alternating with
  this one's, so a change is judged by ratios measured in one run (this machine's speed drifts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median_high
from typing import Any

from bench.delivery import sandbox_process
from bench.generate import SHAPES

BIN = Path(sys.executable).parent
# The importer measured, as a user installs it: ``pip install .`` in a venv of its own, without the test extras
# (``make bench`` makes .venv-bench; the development venv's hypothesis, which pandera imports when it is
# installed, cost each run ~0.1 s and ~40 MB that users do not pay). The floor runs with its python (polars).
INSTALLED = Path(os.environ["ECDP_BENCH_VENV"]) / "bin" if os.environ.get("ECDP_BENCH_VENV") else BIN
# The naive baseline's interpreter (pandas, requests): a venv of its own (see the Makefile's bench target).
NAIVE_PYTHON = Path(
    os.environ.get("ECDP_BENCH_NAIVE_PYTHON")
    or Path(__file__).resolve().parent.parent / ".venv-naive" / "bin" / "python"
)
DATA = Path(__file__).resolve().parent / "data"


def measure(
    command: list[str | Path],
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0, 1),
    report: Path | None = None,
) -> dict[str, Any]:
    """Wall time (s), user and system CPU time (s, the kernel's accounting of the process and its children),
    peak RSS (MB) and exit code of a command run to its end (one of ``ok``). ``report``: the folder the
    command writes its report to, removed afterwards, so each run writes a new one (as the default
    ``reports/<run-id>/`` does)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(c) for c in command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if report is not None:
        shutil.rmtree(report, ignore_errors=True)
    if code not in ok:
        raise RuntimeError(f"{command} exited {code}: {stderr[-500:]}")
    return {
        "wall_s": round(wall, 2),
        "user_s": round(usage.ru_utime, 2),
        "sys_s": round(usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "exit_code": code,
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of one command: the median wall, user and system times, every wall time, the highest peak RSS."""
    return {
        "wall_s": median_high(run["wall_s"] for run in runs),
        "walls_s": [run["wall_s"] for run in runs],
        "user_s": median_high(run["user_s"] for run in runs),
        "sys_s": median_high(run["sys_s"] for run in runs),
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
    }


def ratios(numerators: list[dict[str, Any]], denominators: list[dict[str, Any]], figure: str) -> list[float]:
    """Each round's ratio of ``figure`` (the runs of a round follow each other, so the machine's drift mostly
    cancels)."""
    return [n[figure] / d[figure] for n, d in zip(numerators, denominators, strict=True)]


def input_file(kind: str, size: int) -> Path:
    """The synthetic file, generated once in a child process: the peak RSS the kernel reports for a
    measured child includes what it inherited from this process at fork, so this one must stay small."""
    path = DATA / f"{kind}_{size}.csv"
    if not path.exists():
        subprocess.run(
            [BIN / "python", Path(__file__).with_name("generate.py"), kind, str(size), path],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def shapes_side_by_side(size: int, report: Path, repeat: int, with_naive: bool = True) -> dict[str, Any]:
    """For each shape of order lines (clustered, sparse, shuffled, wide): the importer's ``--dry-run``, the bare
    polars floor (``bench/floor.py``) and, on the clustered file, the naive script, run in turn ``repeat``
    times (this machine's speed drifts: alternating keeps the ratios honest); medians and peak RSS, and the
    ratios as the median of each round's (importer ÷ floor, naive ÷ importer). Beside the wall-time ratio, the
    ratio of user CPU time (importer ÷ floor): the floor's wall time moves with what the kernel's fresh pages
    cost at the hour (its system time went from 1.5 to 0.6 s within an hour here), its user time much less."""
    results: dict[str, Any] = {}
    for shape in SHAPES:
        kind = "orders" if shape == "clustered" else f"orders-{shape}"
        path = input_file(kind, size)
        commands = {
            "importer": [
                INSTALLED / "ecdp-import",
                "orders",
                path,
                "--dry-run",
                "--no-progress",
                "--report-dir",
                report / shape,
            ],
            "floor": [INSTALLED / "python", Path(__file__).with_name("floor.py"), path],
        }
        if with_naive and shape == "clustered":
            commands["naive"] = [NAIVE_PYTHON, Path(__file__).with_name("naive.py"), path, "--dry-run"]
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
        for _ in range(repeat):
            for name, command in commands.items():
                runs[name].append(measure(command, report=report / shape))
        row: dict[str, Any] = {"lines": size, **{name: summary(measured) for name, measured in runs.items()}}
        per_floor = ratios(runs["importer"], runs["floor"], "wall_s")
        row["importer_per_floor"] = round(median_high(per_floor), 2)
        row["importer_per_floor_rounds"] = [round(r, 2) for r in per_floor]
        row["importer_per_floor_user_cpu"] = round(median_high(ratios(runs["importer"], runs["floor"], "user_s")), 2)
        if "naive" in row:
            per_naive = ratios(runs["naive"], runs["importer"], "wall_s")
            row["naive_per_importer"] = round(median_high(per_naive), 1)
            row["naive_per_importer_rounds"] = [round(r, 1) for r in per_naive]
        results[shape] = row
    return results


def dry_run(kind: str, size: int, report: Path, repeat: int = 1) -> dict[str, Any]:
    """``--dry-run`` of ``size`` lines, ``repeat`` times (this machine's speed drifts by a third from one
    minute to the next): the median wall time, the highest peak RSS, and every wall time."""
    path = input_file(kind, size)
    runs = [
        measure(
            [INSTALLED / "ecdp-import", kind, path, "--dry-run", "--no-progress", "--report-dir", report], report=report
        )
        for _ in range(repeat)
    ]
    result = {
        **runs[0],
        "wall_s": median_high(run["wall_s"] for run in runs),
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
    }
    if repeat > 1:
        result["walls_s"] = [run["wall_s"] for run in runs]
    return {"kind": kind, "lines": size, **result, "lines_per_s": round(size / result["wall_s"])}


def alternating(kind: str, size: int, other: Path, report: Path, pairs: int) -> dict[str, Any]:
    """``--dry-run`` of this checkout and of ``other`` (a checkout with its own ``.venv``), in turn, ``pairs``
    times: each one's median wall time and highest peak RSS, and the median of the pairs' ratios."""
    path = input_file(kind, size)
    commands = {
        name: [binary, kind, path, "--dry-run", "--no-progress", "--report-dir", report / name]
        for name, binary in (("this", BIN / "ecdp-import"), ("other", other / ".venv" / "bin" / "ecdp-import"))
    }
    runs: dict[str, list[dict[str, Any]]] = {"this": [], "other": []}
    for _ in range(pairs):
        for name, command in commands.items():
            runs[name].append(measure(command, report=report / name))
    per_pair = ratios(runs["this"], runs["other"], "wall_s")
    return {
        "kind": kind,
        "lines": size,
        "against": str(other),
        "pairs": pairs,
        "this": summary(runs["this"]),
        "other": summary(runs["other"]),
        "wall_ratio_median": round(median_high(per_pair), 3),
        "wall_ratio_range": [round(min(per_pair), 3), round(max(per_pair), 3)],
    }


def end_to_end(size: int, report: Path) -> dict[str, Any]:
    """Order lines into a sandbox with 50 ms latency, concurrency 16, 100 orders per request."""
    path = input_file("orders", size)
    with sandbox_process("--latency-ms", "50") as (url, key):
        result = measure(
            [
                INSTALLED / "ecdp-import",
                "orders",
                path,
                "--concurrency",
                "16",
                "--no-progress",
                "--report-dir",
                report,
                "--state",
                report / "state.db",
            ],
            env={"ECDP_API_KEY": key, "ECDP_API_URL": url},
        )
    summary = __import__("json").loads((report / "summary.json").read_text())
    return {
        "lines": size,
        **result,
        "orders_accepted": summary["records_accepted"],
        "orders_per_s": round(summary["records_accepted"] / result["wall_s"]),
        "lines_per_s": round(size / result["wall_s"]),
        "requests": summary["requests"],
    }
