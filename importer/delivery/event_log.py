"""What a run tells while it runs: events on stderr (notes, or JSON lines with ``--log-format json``) and
the progress bar.

Events carry chunk numbers, counts, HTTP statuses, rates and delays: never the API key, never record
contents, never an API error message (it may quote personal data; those go to the private report).

* ``logging`` (a library call's default): every event to the ``ecdp_importer`` logger (``LOGGER``), the
  notable ones at INFO with their sentence, the rest at DEBUG with their fields; nothing is printed
  unless the caller's logging configuration says so (the package adds a ``NullHandler``);
* ``text`` (the command line's): only what a person watching should know (rate changes, chunk size
  changes, waits of 5 s or more, stopping, aborting) as one line each, written around the progress bar;
* ``json``: every event (chunk outcomes, retries, throttling, rate changes, aborts) as one JSON object
  per line, for cron jobs and log collectors;
* ``quiet``: nothing printed (a run under cron prints one summary line; see ``importer.cli.rendering``).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from tqdm import tqdm

NOTABLE = {"rate", "pace", "chunk_size", "wait", "stopping", "abort"}
LOGGER = logging.getLogger("ecdp_importer")
FORMATS = ("logging", "text", "json", "quiet")


class EventLog:
    """Writes events in the chosen format; counts them either way."""

    def __init__(self, fmt: str = "logging", stream: IO[str] | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown log format {fmt!r}")
        self.fmt = fmt
        self.stream = stream
        self.counts: dict[str, int] = {}

    def emit(self, event: str, message: str = "", **fields: Any) -> None:
        """Record ``event``; ``message`` is the human sentence for text mode."""
        self.counts[event] = self.counts.get(event, 0) + 1
        if self.fmt == "logging":
            notable = event in NOTABLE and message
            if not LOGGER.isEnabledFor(logging.INFO if notable else logging.DEBUG):
                return  # nobody listens: its fields are not encoded (a chunk event comes with every answer)
            LOGGER.log(
                logging.INFO if notable else logging.DEBUG,
                message if notable else "%s %s",
                *(() if notable else (event, orjson.dumps(fields).decode())),
                extra={"event": event},
            )
            return
        stream = self.stream or sys.stderr
        if self.fmt == "json":
            line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
            stream.write(orjson.dumps(line).decode() + "\n")
            stream.flush()
        elif self.fmt == "text" and event in NOTABLE and message:
            tqdm.write(message, file=stream)


def progress_bar(total: int | None, enabled: bool) -> tqdm[Any] | None:
    """A records bar on a terminal; None when disabled or stderr is not a TTY (cron, pipes)."""
    if not enabled or not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit="rec", desc="sending", file=sys.stderr, dynamic_ncols=True)
