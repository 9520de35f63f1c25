"""Custom events: ``POST /scenariocustomevents``, one event per request, triggered once per input row.

Not idempotent (an event starts the business unit's scenarios: sent twice, a customer may get a message
twice), so each is journaled before it leaves and sent at most once (``importer.jobs.dispatches``,
``importer.delivery.at_most_once``); its journal key is its row's place in the inputs (``file:row``: an
event has no key of its own), meaningful for the same inputs only. Not read back (the API has no GET) and
not undone (no delete). A 400 naming ``customEventId`` means the custom event does not exist: the run
stops (exit 3) instead of sending every row to the same refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from importer.delivery.at_most_once import AtMostOnce
from importer.delivery.single import record_errors
from importer.errors import AbortReason
from importer.records import events
from importer.resources.declaration import Binding, Naming, Resource, Sending, Undo
from importer.settings import EventOptions
from schemas.events import Event


def unknown_event(problem: Any, record: str) -> str | None:
    """Why the run stops, when a 400 to ``record`` says its custom event does not exist (its errors name
    ``customEventId``: the id was checked to be an int32 before sending, so the platform can only mean that
    it knows no such event)."""
    named = [message for field, message in record_errors(problem, {}) if field.lower() == events.EVENT_ID.lower()]
    if not named:
        return None
    event_id = orjson.loads(record).get(events.EVENT_ID)
    return f"{AbortReason.UNKNOWN_TARGET.words} custom event {event_id} ({named[0].rstrip('.')})"


def bind(options: EventOptions) -> Binding:
    """Custom events with a run's options (the event id, the data fields' types)."""
    return Binding(
        resource=EVENTS,
        kind="events",  # (the journal adds the inputs' hash: importer.jobs.dispatches)
        envelope={},
        prepare=lambda frame, _lists: events.prepare(frame, options),
        settings_lists=lambda _frame: [],
        key=events.key_expression,
        options={
            "event_id": options.event_id,
            "event_id_column": options.event_id_column,
            "field_types": dict(options.field_types),
            "resend_uncertain": options.resend_uncertain,
        },
        key_name="row",
        at_most_once=AtMostOnce(unknown_event, options.resend_uncertain),
    )


def recorded(options: Mapping[str, Any]) -> EventOptions:
    """The options an events run recorded in the journal (``retry`` sends its failed rows: never sent)."""
    return EventOptions(
        event_id=options.get("event_id"),
        event_id_column=options.get("event_id_column", events.EVENT_ID),
        field_types=options.get("field_types") or {},
    )


EVENTS = Resource(
    name="custom events",
    command="events",
    method="POST",
    path="/scenariocustomevents",
    schemas=(Event,),
    sending=Sending.SINGLE,
    naming=Naming("event", "events"),
    idempotent=False,
    undo=Undo.NOT_AT_ALL,
    journal_kind="events",
    summary_options=("event_id",),
    options_type=EventOptions,
    binder=bind,
    options_of=recorded,
)
