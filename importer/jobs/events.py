"""Custom events from files: ``import_events``, one POST /scenariocustomevents per row, each sent at most once.

An import as customers and orders are (``importer.jobs.imports.run_import``: journal and ``--resume``, dry
run, error budget, report, metrics and notification alike), with what a non-idempotent endpoint needs:
the records are prepared by ``importer.records.events``, sent one per request by
``importer.delivery.at_most_once`` and journaled before they leave (``importer.jobs.dispatches``), so a
resumed or retried run sends no event twice; those whose answer never came are *uncertain*
(``uncertain.csv``, ``rows_uncertain``), sent again only with ``resend_uncertain``. An answer saying the
custom event does not exist stops the run (exit 3) within its first requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from importer.delivery.outcomes import ABORT_UNKNOWN
from importer.delivery.single import record_errors
from importer.errors import UsageError
from importer.jobs.dispatches import AtMostOnce
from importer.jobs.imports import Resource, run_import
from importer.jobs.results import RunResult, Warn, log_warning
from importer.records import events
from importer.settings import ApiSettings, EventOptions, RunOptions

PATH = "/scenariocustomevents"


def unknown_event(problem: Any, record: str) -> str | None:
    """Why the run stops, when a 400 to ``record`` says its custom event does not exist (its errors name
    ``customEventId``: the id was checked to be an int32 before sending, so the platform can only mean that
    it knows no such event)."""
    named = [message for field, message in record_errors(problem, {}) if field.lower() == events.EVENT_ID.lower()]
    if not named:
        return None
    event_id = orjson.loads(record).get(events.EVENT_ID)
    return f"{ABORT_UNKNOWN} custom event {event_id} ({named[0].rstrip('.')})"


def import_events(paths: Sequence[Path], api: ApiSettings, options: EventOptions, run: RunOptions,
                  warn: Warn = log_warning) -> RunResult:
    """Import custom events from ``paths``, one per row; raises ImporterError (exit 2) before sending if it
    cannot start."""
    if run.chunk_size != RunOptions.chunk_size and run.chunk_size != 1:
        raise UsageError("--chunk-size does not apply to events: the API takes one event per request.",
                         "Leave --chunk-size out; --concurrency sets how many requests are in flight.")
    resource = Resource(
        command="events",
        kind="events",
        path=PATH,
        envelope={},
        prepare=lambda frame, lists: events.prepare(frame, options),
        settings_lists=lambda frame: [],
        key=events.key_expression,
        options={"mode": "", "event_id": options.event_id, "resend_uncertain": options.resend_uncertain},
        at_most_once=AtMostOnce(unknown_event, options.resend_uncertain),
    )
    return run_import(resource, paths, api, replace(run, chunk_size=1), warn)
