"""A run's outcome in words, from its summary: a sentence for the report, a few words for the cron line.

Both the HTML report and the one-line cron summary say the same thing, so they take it from here. A
summary read back from an older report (``RunSummary.from_dict``) has defaults for what it lacks, so old
report directories can be rendered again.
"""

from __future__ import annotations

from dataclasses import dataclass

from importer.errors import EXIT_ABORTED, EXIT_OK, AbortReason
from importer.report.summary import ImportSummary, OperationSummary


@dataclass(frozen=True)
class Outcome:
    """``level``: ok, problems or stopped (the report's colour); ``short`` for the cron line; ``sentence``."""

    level: str
    short: str
    sentence: str


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def outcome(s: ImportSummary | OperationSummary) -> Outcome:
    """What the run came to, in words."""
    read, accepted, rejected, failed = s.rows_read - s.rows_set_aside, s.rows_accepted, s.rows_rejected, s.rows_failed
    aside = s.set_aside_counts(
        blank="blank, skipped",
        prose=True,
        unmatched="without a match in a joined file, dropped by the mapping",
        left_out="left out by the mapping (left_out.csv)",
    )
    skipped = f" ({'; '.join(aside)})" if aside else ""
    code, dry = s.exit_code, s.dry_run
    stopped = s.stopped if isinstance(s, ImportSummary) else None
    fix = f"{_rows(rejected)} rejected (fix them in rejected.csv)" if rejected else ""
    retry = f"{_rows(failed)} failed (import failed.csv again)" if failed else ""
    uncertain = s.rows_uncertain if isinstance(s, ImportSummary) else 0
    unsure = (
        f"{_rows(uncertain)} uncertain (sent without an answer: perhaps stored, see uncertain.csv)" if uncertain else ""
    )
    problems = "; ".join(p for p in (fix, retry, unsure) if p)
    if stopped:
        what = "Dry run: a real run would be stopped before sending" if dry else "Stopped before sending anything"
        held = s.rows_held if isinstance(s, ImportSummary) else 0
        kept = (
            f" {held:,} valid row{'' if held == 1 else 's'} {'would be' if dry else 'held back, none sent'}"
            f"{' held back, none sent' if dry else ' (held.csv)'}."
            if held
            else ""
        )
        return Outcome(
            "stopped",
            f"STOPPED: {stopped}",
            f"{what}: {stopped.split(';')[0]}.{kept} The export looks broken (wrong delimiter, truncated "
            "or changed columns?): check the reasons below, fix the export and run again.",
        )
    if code == EXIT_ABORTED:
        key = s.abort_reason == AbortReason.KEY_REFUSED
        todo = "Check the API key of this business unit." if key else "Send the rest with --resume."
        return Outcome(
            "stopped",
            f"STOPPED: {s.aborted}",
            f"Stopped: {s.aborted}. {_rows(accepted)} of {read:,} accepted; {_rows(failed)} not sent "
            f"or unanswered (failed.csv). {todo}",
        )
    if s.aborted:
        return Outcome(
            "problems",
            f"interrupted: {s.aborted}",
            f"Interrupted ({s.aborted}): {_rows(accepted)} of {read:,} accepted"
            + (f"; {problems}." if problems else "."),
        )
    if dry:
        if code == EXIT_OK:
            return Outcome(
                "ok",
                "dry run passed, nothing sent",
                f"Dry run: all {_rows(read)} passed every check and would be sent{skipped}. Nothing was sent.",
            )
        return Outcome(
            "problems",
            "dry run found problems, nothing sent",
            f"Dry run: {s.rows_would_send or 0:,} of {_rows(read)} would be sent; {problems}. Nothing was sent.",
        )
    verb = "imported" if isinstance(s, ImportSummary) else "done"  # order-status, delete-orders
    if code == EXIT_OK:
        return Outcome("ok", verb, f"All {_rows(read)} are in the platform{skipped}.")
    return Outcome(
        "problems", f"{verb} with problems", f"{accepted:,} of {_rows(read)} are in the platform{skipped}; {problems}."
    )
