"""A run's outcome in words, from its summary: a sentence for the report, a few words for the cron line.

Both the HTML report and the one-line cron summary say the same thing, so they take it from here.
Works on summaries written before a field existed (``.get`` with a fallback) so that old report
directories can be re-rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from importer.errors import EXIT_ABORTED, EXIT_OK


@dataclass(frozen=True)
class Outcome:
    """``level``: ok, problems or stopped (the report's colour); ``short`` for the cron line; ``sentence``."""

    level: str
    short: str
    sentence: str


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def outcome(s: dict[str, Any]) -> Outcome:
    read, accepted = s.get("rows_read", 0), s.get("rows_accepted", 0)
    rejected, failed = s.get("rows_rejected", 0), s.get("rows_failed", 0)
    code, dry = s.get("exit_code"), bool(s.get("dry_run"))
    fix = f"{_rows(rejected)} rejected (fix them in rejected.csv)" if rejected else ""
    retry = f"{_rows(failed)} failed (import failed.csv again)" if failed else ""
    problems = "; ".join(p for p in (fix, retry) if p)
    if s.get("stopped"):
        what = "Dry run: a real run would be stopped before sending" if dry else "Stopped before sending anything"
        return Outcome("stopped", f"STOPPED: {s['stopped']}",
                       f"{what}: {s['stopped'].split(';')[0]}. The export looks broken (wrong delimiter, truncated or "
                       "changed columns?): check the reasons below, fix the export and run again.")
    if code == EXIT_ABORTED:
        return Outcome("stopped", f"STOPPED: {s.get('aborted')}",
                       f"Stopped: {s.get('aborted')}. {_rows(accepted)} of {read:,} accepted; {_rows(failed)} not sent "
                       "or unanswered (failed.csv). Check the API key of this business unit.")
    if s.get("aborted"):
        return Outcome("problems", f"interrupted: {s['aborted']}",
                       f"Interrupted ({s['aborted']}): {_rows(accepted)} of {read:,} accepted" + (f"; {problems}." if problems else "."))
    if dry:
        if code == EXIT_OK:
            return Outcome("ok", "dry run passed, nothing sent",
                           f"Dry run: all {_rows(read)} passed every check and would be sent. Nothing was sent.")
        return Outcome("problems", "dry run found problems, nothing sent",
                       f"Dry run: {accepted:,} of {_rows(read)} would be sent; {problems}. Nothing was sent.")
    verb = "imported" if s.get("command") in (None, "customers", "orders", "retry") else "done"  # order-status ...
    if code == EXIT_OK:
        return Outcome("ok", verb, f"All {_rows(read)} are in the platform.")
    return Outcome("problems", f"{verb} with problems",
                   f"{accepted:,} of {_rows(read)} are in the platform; {problems}.")
