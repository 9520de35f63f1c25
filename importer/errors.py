"""The importer's exceptions: one root, classified by what the user can do about them.

Bad *rows* are never exceptions: they are data and go to the report. Exceptions are for conditions
that stop a run (or prevent it from starting). Each carries the process exit code and a hint, so the
CLI can translate any of them into one sentence at one boundary, without a traceback::

    ImporterError                 root; message + hint + exit_code
    ├── UsageError                exit 2: bad option combination, bad configuration, missing key
    ├── InputError                exit 2: an input file cannot be read or lacks a required column
    ├── SettingsUnreadable        exit 2: the platform's settings lists could not be read (pre-flight)
    ├── ApiAbort                  exit 3: the API refused the key (401/403); no further requests
    ├── Interrupted               exit 2 before anything was sent, 1 after: Ctrl-C or SIGTERM outside sending
    └── LocalFault                exit 2 before anything was sent, 4 after: a file or folder of this machine
                                  failed the run (disk full, no permission, a damaged journal); names the path

Two signals are not errors and never reach a user: ``importer.partitions.streamed.NotClustered`` (a
streamed first pass found a record's rows apart: the job starts again partitioned) and the delivery
engine's ``Abort`` (a worker stops the whole sending; it becomes the run's ``aborted`` message and its
``AbortReason``: what the run's exit code, its report and its summary's ``abort_reason`` decide by).

Messages never contain the API key (it is not passed to any of these constructors).
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_ROWS_NOT_IMPORTED = 1
EXIT_USAGE = 2
EXIT_ABORTED = 3
EXIT_FAULT = 4


SHOWN_IN_MESSAGES = 20


def listed(items: Sequence[str], separator: str = ", ", shown: int = SHOWN_IN_MESSAGES) -> str:
    """Items for a message, capped: the first ``shown``, then "… and 9,990 more" (a file of 10,000
    columns must not make a message, a journal entry or a cron mail of 400 KB)."""
    if len(items) <= shown:
        return separator.join(items)
    return separator.join(items[:shown]) + f"{separator}… and {len(items) - shown:,} more"


class AbortReason(StrEnum):
    """Why a run's sending stopped before its end (summary.json's ``abort_reason``); the run's ``aborted``
    message says it to a person. Code decides by this, never by the message's words."""

    KEY_REFUSED = "key_refused"  # 401/403: no further request was sent
    CERTIFICATE = "certificate"  # the API's TLS certificate failed verification
    WAIT_TOO_LONG = "wait_too_long"  # a Retry-After beyond --max-retry-after
    THROTTLED_TOO_LONG = "throttled_too_long"  # the waits after 429s beyond --max-throttle-wait
    UNEXPECTED_ANSWERS = "unexpected_answers"  # success answers in a row that are not the API's documented ones
    UNKNOWN_TARGET = "unknown_target"  # the platform does not know what every request names (a custom event id)
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    LOCAL_FAULT = "local_fault"  # a file or folder of this machine (the report, the journal) failed the run

    @property
    def by_api(self) -> bool:
        """The run stopped for what the API answered: exit 3 (``EXIT_ABORTED``)."""
        return self in _BY_API

    @property
    def words(self) -> str:
        """How its ``aborted`` message begins (the rest says the details)."""
        return _WORDS[self]

    @classmethod
    def of_message(cls, aborted: str | None) -> AbortReason | None:
        """The reason of an ``aborted`` message written before summaries carried ``abort_reason`` (old
        reports and journals); None when it is none of them."""
        return next((reason for reason, words in _WORDS.items() if (aborted or "").startswith(words)), None)


_BY_API = frozenset(
    {
        AbortReason.KEY_REFUSED,
        AbortReason.WAIT_TOO_LONG,
        AbortReason.THROTTLED_TOO_LONG,
        AbortReason.UNEXPECTED_ANSWERS,
        AbortReason.UNKNOWN_TARGET,
    }
)
_WORDS = {
    AbortReason.KEY_REFUSED: "the API rejected the key",
    AbortReason.CERTIFICATE: "the API's TLS certificate failed verification",
    AbortReason.WAIT_TOO_LONG: "the API asked to wait",
    AbortReason.THROTTLED_TOO_LONG: "the API throttled the run",
    AbortReason.UNEXPECTED_ANSWERS: "the API's success answers were not the documented ones",
    AbortReason.UNKNOWN_TARGET: "the platform does not know",
    AbortReason.INTERRUPTED: "interrupted",
    AbortReason.LOCAL_FAULT: "stopped",
}


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


class LocalFault(ImporterError):
    """A file or folder of this machine failed the run: the disk is full, a folder cannot be written, the
    journal is damaged. Exit 2 when nothing was sent yet, 4 (``EXIT_FAULT``) once records were sent (the
    job sets ``exit_code`` and the ``summary`` of the counts it reached)."""

    def __init__(self, message: str, hint: str | None = None, path: Path | str | None = None) -> None:
        super().__init__(message, hint)
        self.path = path
        self.exit_code = EXIT_USAGE
        self.summary: Any = None  # the run's summary with the counts reached, when the job could build one

    def after_sending(self, sent: bool, summary: Any = None) -> LocalFault:
        """This fault as the end of a run that had (``sent``) or had not sent records yet."""
        self.exit_code = EXIT_FAULT if sent else EXIT_USAGE
        self.summary = summary
        accepted = getattr(summary, "records_accepted", None)
        if sent and accepted is not None:
            self.message += (
                f" {accepted:,} records were accepted before the run stopped (exit {EXIT_FAULT}); the "
                "report and the journal keep what could still be written."
            )
            self.args = (self.message,)
        return self


class Interrupted(ImporterError):
    """Ctrl-C or SIGTERM stopped a run outside its sending (while reading, or writing the report); while it
    sends, the delivery engine stops it gracefully and the run ends with its report."""

    def __init__(self, message: str, hint: str | None = None, *, sent: bool) -> None:
        super().__init__(message, hint)
        self.exit_code = EXIT_ROWS_NOT_IMPORTED if sent else EXIT_USAGE


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def file_fault(exc: OSError, path: Path | str, what: str, option: str) -> LocalFault:
    """One sentence for an ``OSError`` writing ``path`` (``what`` it is: "the report", ...; ``option``:
    how to point the run elsewhere), with what to do about it."""
    where = Path(exc.filename) if isinstance(exc.filename, str) else Path(path)
    folder = where.parent if where.suffix or not where.is_dir() else where
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _FULL:
        return LocalFault(
            f"No space left to write {what} {where} ({reason}).",
            f"Free space on that disk (df -h {folder}) or give {option} another place; then run the "
            "same command with --resume to send what was not sent.",
            where,
        )
    if exc.errno in _DENIED:
        return LocalFault(
            f"Cannot write {what} {where}: {reason}.",
            f"Let this user write to {folder}, or give {option} a folder it can write.",
            where,
        )
    return LocalFault(
        f"Cannot write {what} {where}: {reason}.", f"Check {folder}, or give {option} another place.", where
    )


def missing_extra(reading: str, name: str, extra: str) -> UsageError:
    """The error for an optional dependency that is not installed: ``reading`` (``duckdb://``, ``delta://
    tables``) needs ``name`` (what it is), which the importer's extra ``extra`` installs."""
    return UsageError(
        f"Reading {reading} needs {name}, which is not installed.", f"pip install 'ecdp-importer[{extra}]'"
    )
