"""A run's metrics in Prometheus' text exposition format, for node_exporter's textfile collector.

``exposition(summary, ...)`` renders one run as gauges named ``ecdp_import_*``, each with the labels
``command`` and ``profile`` (``default`` when no profile was used): rows and records by ``outcome``, the
HTTP requests, retries and 429 answers, the duration, the exit code, whether a gate stopped the run, when
it ran and when the job last succeeded (exit 0 or 1). ``write(path, text)`` replaces the file atomically
(a temporary file in the same folder, then ``os.replace``), so the collector never reads half a file: the
textfile collector's convention for cron jobs. One file per job: a second job writing the same file
replaces the first one's metrics.

The file holds counts and names only (no personal data, no key); it is readable by others (0644), since
the collector runs as another user.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROWS = (
    "read",
    "accepted",
    "would_send",
    "rejected",
    "failed",
    "uncertain",
    "held",
    "blank",
    "unmatched",
    "left_out",
    "not_found",
    "different",
    "missing",
    "in_other_shards",
)
RECORDS = ("built", "sent", "accepted", "rejected", "failed", "unchanged", "already_accepted", "not_found")
SCALARS = (  # (metric, summary field, help)
    ("requests", "requests", "HTTP requests the run sent"),
    ("retries", "retries", "requests sent again after a 5xx, a timeout or a dropped connection"),
    ("throttled", "throttled", "requests the API answered 429 (too many requests)"),
    ("duration_seconds", "duration_s", "how long the run took"),
    (
        "exit_code",
        "exit_code",
        "the run's exit code (0 all done, 1 rows left out, 2 nothing sent, 3 key refused, 4 a fault after sending)",
    ),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def exposition(
    summary: Mapping[str, Any], command: str, profile: str | None, finished_at: float, last_success: float | None
) -> str:
    """The text of a run's metrics (``finished_at``, ``last_success``: Unix times)."""
    labels = f'command="{_escape(command)}",profile="{_escape(profile or "default")}"'
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.extend([f"# HELP ecdp_import_{name} {help_text}", f"# TYPE ecdp_import_{name} gauge"])
        lines.extend(f"ecdp_import_{name}{{{labels}{extra}}} {_number(value)}" for extra, value in samples)

    gauge(
        "rows",
        "rows of the run's input by outcome",
        [(f',outcome="{o}"', summary[f"rows_{o}"]) for o in ROWS if summary.get(f"rows_{o}") is not None],
    )
    gauge(
        "records",
        "records (customers, orders) of the run by outcome",
        [(f',outcome="{o}"', summary[f"records_{o}"]) for o in RECORDS if summary.get(f"records_{o}") is not None],
    )
    for name, field, help_text in SCALARS:
        gauge(name, help_text, [("", summary.get(field) or 0)])
    gauge(
        "stopped",
        "1 when the error budget or the drift gate stopped the run before sending",
        [("", 1 if summary.get("stopped") else 0)],
    )
    gauge("last_run_timestamp_seconds", "when the run ended (Unix time)", [("", round(finished_at, 3))])
    if last_success is not None:
        gauge(
            "last_success_timestamp_seconds",
            "when a run of this job last ended with exit 0 or 1 (Unix time)",
            [("", round(last_success, 3))],
        )
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
