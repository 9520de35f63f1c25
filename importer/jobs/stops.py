"""How an import ends when it cannot end normally: its own files failed it, or it was interrupted outside sending.

``Watch`` follows one run: the sender once sending begins, and the callbacks that write the journal and
``errors.jsonl`` while it sends (``guarded``). The first ``LocalFault`` there (the disk full, a folder no
longer writable, a damaged journal) stops the sending the way Ctrl-C does: no new request, those in flight
answered and counted, the rest left for ``--resume``. ``reached`` is the summary of the counts a run got to
before a fault or an interrupt stopped it, for ``summary.json``, the journal (``runs``) and the metrics,
wherever they can still be written; ``sent`` says which exit code is honest: 2 (nothing was sent), or 4
(``EXIT_FAULT``) / 1 (interrupted) once records were sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from importer.delivery.outcomes import Outcomes
from importer.delivery.sender import Sender
from importer.errors import LocalFault
from importer.report.summary import ImportSummary, RunHead

T = TypeVar("T")


class Watch:
    """The sender of one run (once it sends), the rows it settled without sending, and its first fault."""

    def __init__(self) -> None:
        self.sender: Sender | None = None
        self.fault: LocalFault | None = None
        self.rows_settled = 0  # accepted without sending (--resume, --changed-only), as the second pass counted

    @property
    def outcomes(self) -> Outcomes:
        return self.sender.outcomes if self.sender is not None else Outcomes()

    @property
    def sent(self) -> bool:
        """Whether any request left: from then on, the platform may hold some of the run's records."""
        return self.outcomes.requests > 0

    def note(self, fault: LocalFault) -> None:
        """A file of the run failed it: remember the first such fault and stop the sending gracefully."""
        if self.fault is None:
            self.fault = fault
        if self.sender is not None:
            self.sender.stop(f"stopped: {fault.message}",
                             f"Stopping: {fault.message} Finishing the requests in flight.")

    def guarded(self, callback: Callable[[T], None]) -> Callable[[T], None]:
        """``callback`` whose ``LocalFault`` stops the sending (``note``) instead of breaking a worker."""

        def call(argument: T) -> None:
            try:
                callback(argument)
            except LocalFault as fault:
                self.note(fault)

        return call

    def reached(self, head: RunHead, exit_code: int, aborted: str, rows_read: int, api_errors: int) -> ImportSummary:
        """The summary of a run stopped before its report was complete: the counts it reached."""
        outcomes = self.outcomes
        return ImportSummary(**head, exit_code=exit_code, rows_read=rows_read,
                             rows_accepted=self.rows_settled + outcomes.accepted_rows, rows_sent=outcomes.rows_sent,
                             records_sent=outcomes.records_sent, records_accepted=outcomes.accepted_records,
                             records_rejected=len(outcomes.rejected), verified_after_ambiguous=outcomes.verified,
                             requests=outcomes.requests, retries=outcomes.retries, throttled=outcomes.throttled,
                             aborted=aborted, api_errors=api_errors,
                             timeline=outcomes.timeline.as_dict())
