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
from typing import ParamSpec

from importer.delivery.outcomes import Aborted, Outcomes
from importer.delivery.sender import Sender
from importer.errors import EXIT_FAULT, EXIT_ROWS_NOT_IMPORTED, EXIT_USAGE, AbortReason, Interrupted, LocalFault
from importer.jobs.journal import Journal
from importer.jobs.results import Warn
from importer.report.files import Report
from importer.report.summary import ImportSummary, RunHead

P = ParamSpec("P")


class Watch:
    """The sender of one run (once it sends), the rows it settled without sending, and its first fault."""

    def __init__(self, report: Report, journal: Journal | None, run_id: str, warn: Warn) -> None:
        self.report, self.journal, self.run_id, self.warn = report, journal, run_id, warn
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
            self.sender.stop(stopped_by(fault), f"Stopping: {fault.message} Finishing the requests in flight.")

    def guarded(self, callback: Callable[P, None]) -> Callable[P, None]:
        """``callback`` whose ``LocalFault`` stops the sending (``note``) instead of breaking a worker."""

        def call(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                callback(*args, **kwargs)
            except LocalFault as fault:
                self.note(fault)

        return call

    def reached(
        self, head: RunHead, exit_code: int, aborted: Aborted, rows_read: int, api_errors: int
    ) -> ImportSummary:
        """The summary of a run stopped before its report was complete: the counts it reached."""
        outcomes = self.outcomes
        return ImportSummary(
            **head,
            exit_code=exit_code,
            rows_read=rows_read,
            rows_accepted=self.rows_settled + outcomes.accepted_rows,
            rows_sent=outcomes.rows_sent,
            records_sent=outcomes.records_sent,
            records_accepted=outcomes.accepted_records,
            records_rejected=len(outcomes.rejected),
            verified_after_ambiguous=outcomes.verified,
            rows_uncertain=len({row for rows, _ in outcomes.uncertain for row in rows}),
            requests=outcomes.requests,
            retries=outcomes.retries,
            throttled=outcomes.throttled,
            aborted=aborted.message,
            abort_reason=aborted.reason,
            api_errors=api_errors,
            timeline=outcomes.timeline.as_dict(),
        )

    def keep(self, summary: ImportSummary) -> ImportSummary:
        """Write ``summary`` to summary.json and the journal, each where it still can be."""
        for write in (
            lambda: self.report.summary(summary.to_dict()),
            lambda: self.journal.finish_run(self.run_id, summary, self.report.dir) if self.journal else None,
        ):
            try:
                write()
            except LocalFault as again:  # (the same disk, often): the first fault is what the run ends with
                if self.fault is None or again.message != self.fault.message:
                    self.warn(f"Also: {again.message}")
        return summary

    def ended(self, summary: ImportSummary | None, head: RunHead, rows_read: int) -> LocalFault:
        """The run's first fault, to raise, once its summary (the run's own, or the counts it reached) is kept
        with the fault as its ``aborted`` and the exit code that says whether anything was sent."""
        assert self.fault is not None
        exit_code, why = EXIT_FAULT if self.sent else EXIT_USAGE, stopped_by(self.fault)
        if summary is None:
            summary = self.reached(head, exit_code, why, rows_read, self.report.error_count)
        else:
            summary.exit_code, summary.aborted, summary.abort_reason = exit_code, why.message, why.reason
        self.report.release()
        return self.fault.after_sending(self.sent, self.keep(summary))

    def interrupted(self, head: RunHead, rows_read: int) -> Interrupted:
        """Ctrl-C or SIGTERM outside sending (before it, or while the report was written): the counts kept."""
        sent = self.sent
        reason = "interrupted while writing the report" if sent else "interrupted before anything was sent"
        self.keep(
            self.reached(
                head,
                EXIT_ROWS_NOT_IMPORTED if sent else EXIT_USAGE,
                Aborted(AbortReason.INTERRUPTED, reason),
                rows_read,
                self.report.error_count,
            )
        )
        self.report.release()
        return Interrupted(
            f"The run was {reason}.",
            "Run the same command again with --resume: what the API accepted is skipped.",
            sent=sent,
        )


def stopped_by(fault: LocalFault) -> Aborted:
    """A run's ``aborted`` when a file of its own failed it."""
    return Aborted(AbortReason.LOCAL_FAULT, f"{AbortReason.LOCAL_FAULT.words}: {fault.message}")
