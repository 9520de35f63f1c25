"""What a run's summary records beyond its counts: options in effect, warnings, and sending over time.

``run_facts`` is added to ``summary.json`` by the pipeline so the report (``report.html``) can show how
the run was set up (never the key: only where it came from) and what sending looked like, without
reaching back into the run. ``WarningLog`` keeps the warnings a run gave, so that they are in the report
even when nobody saw them (under cron, warnings are not printed: see ``importer.cli.rendering``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from importer.delivery.outcomes import Outcomes
from importer.settings import ApiSettings, RunOptions, public_url


class WarningLog:
    """A warning sink that remembers every message and passes it on to ``sink`` (if any)."""

    def __init__(self, sink: Callable[[str], None] | None = None) -> None:
        self.messages: list[str] = []
        self.sink = sink

    def __call__(self, message: str) -> None:
        if message in self.messages:  # a warning every partition gives (pre-flight's) is given once
            return
        self.messages.append(message)
        if self.sink is not None:
            self.sink(message)


def recording(warn: Callable[[str], None]) -> WarningLog:
    """``warn`` itself when it already records, else a recorder passing messages on to it."""
    return warn if isinstance(warn, WarningLog) else WarningLog(warn)


def run_facts(api: ApiSettings, run: RunOptions, outcomes: Outcomes, warn: Callable[[str], None]) -> dict[str, Any]:
    """Summary fields: ``rows_sent``, ``options``, ``origin``, ``warnings``, ``timeline``."""
    return {
        "rows_sent": outcomes.rows_sent,
        "options": {
            "api_url": public_url(api.url),
            "chunk_size": run.chunk_size,
            "concurrency": api.concurrency,
            "rate": api.rate,
            "timeout_s": api.timeout_s,
            "max_retries": api.max_retries,
            "max_rejects": str(run.max_rejects),
            "mapping": str(run.mapping) if run.mapping else None,
            "preset": run.preset,
            "encoding": run.encoding,
            "delimiter": run.delimiter,
            "changed_only": run.changed_only,
            "resume": run.resume,
            "dry_run": run.dry_run,
            "state": None if run.dry_run else str(run.state),
        },
        "origin": dict(run.origin),
        "warnings": list(warn.messages) if isinstance(warn, WarningLog) else [],
        "timeline": outcomes.timeline.as_dict(),
    }
