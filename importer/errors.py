"""The importer's exceptions: one root, classified by what the user can do about them.

Bad *rows* are never exceptions: they are data and go to the report. Exceptions are for conditions
that stop a run (or prevent it from starting). Each carries the process exit code and a hint, so the
CLI can translate any of them into one sentence at one boundary, without a traceback::

    ImporterError                 root; message + hint + exit_code
    ├── UsageError                exit 2: bad option combination, bad configuration, missing key
    ├── InputError                exit 2: an input file cannot be read or lacks a required column
    ├── SettingsUnreadable        exit 2: the platform's settings lists could not be read (pre-flight)
    └── ApiAbort                  exit 3: the API refused the key (401/403); no further requests

Two signals are not errors and never reach a user: ``importer.partitions.streamed.NotClustered`` (a
streamed first pass found a record's rows apart: the job starts again partitioned) and the delivery
engine's ``Abort`` (a worker stops the whole sending; it becomes the run's ``aborted`` reason).

Messages never contain the API key (it is not passed to any of these constructors).
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_ROWS_NOT_IMPORTED = 1
EXIT_USAGE = 2
EXIT_ABORTED = 3


SHOWN_IN_MESSAGES = 20


def listed(items: Sequence[str], separator: str = ", ", shown: int = SHOWN_IN_MESSAGES) -> str:
    """Items for a message, capped: the first ``shown``, then "… and 9,990 more" (a file of 10,000
    columns must not make a message, a journal entry or a cron mail of 400 KB)."""
    if len(items) <= shown:
        return separator.join(items)
    return separator.join(items[:shown]) + f"{separator}… and {len(items) - shown:,} more"


class ImporterError(Exception):
    """Root of every error the importer raises on purpose."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} Hint: {self.hint}"


class UsageError(ImporterError):
    """The run cannot start: options, configuration or credentials are wrong. Nothing was sent."""


class InputError(ImporterError):
    """An input file cannot be read, or lacks what the run needs. Nothing was sent."""


class SettingsUnreadable(ImporterError):
    """A settings list could not be read, or is not what the API documents. Nothing was sent."""


class ApiAbort(ImporterError):
    """The API rejected the key (401/403): sending stopped at once."""

    exit_code = EXIT_ABORTED
