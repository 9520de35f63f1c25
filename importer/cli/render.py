"""The human summaries of the bulk operations and of verify, as lines for stdout.

Only counts, field names and paths: never record contents (names, e-mail addresses, values), which may
be personal data and belong in the private report only. The imports' summary is rendered by ``cli``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _line(label: str, text: str) -> str:
    return f"  {label + ':' if label else '':<11}{text}"


def operation_lines(s: dict[str, Any], target: str) -> list[str]:
    """order-status and delete-orders."""
    deletes = s["command"] == "delete-orders"
    verb = "checked (dry run, nothing sent)" if s["dry_run"] else f"sent to {target}"
    lines = [f"{s['command']}: {s['rows_read']} rows read from {', '.join(s['files'])}, {verb}"]
    not_found = f", {s['rows_not_found']} not found" if deletes else ""
    if s["dry_run"]:
        lines.append(_line("rows", f"{s['rows_accepted']} valid (would be sent), {s['rows_rejected']} rejected"))
        lines.append(_line("orders", f"{s['records_built']} to be {s['done']}  ({s['duration_s']:.2f} s)"))
        lines.append(_line("payloads", str(s["payloads_file"])))
    else:
        lines.append(_line("rows", f"{s['rows_accepted']} accepted, {s['rows_rejected']} rejected, "
                                   f"{s['rows_failed']} failed{not_found}"))
        found = f", {s['records_not_found']} not found" if deletes else ""
        lines.append(_line("orders", f"{s['records_built']} to be {s['done']}, {s['records_sent']} sent in "
                                     f"{_count(s['requests'], 'request')}, {s['records_accepted']} {s['done']}{found}"
                                     f"  ({s['duration_s']:.2f} s)"))
    return lines + _tail(s, [
        ("rejected_file", "rows to fix and send again"),
        ("failed_file", f"rows to send again (ecdp-import {s['command']} failed.csv)"),
        ("not_found_file", "orders the platform does not hold: check these ids"),
    ])


def verify_lines(s: dict[str, Any], target: str) -> list[str]:
    """verify customers|orders."""
    noun = s["kind"]
    sampled = f"a sample of {s['records_checked']} of {s['records_built']}" if s["sample"] else "all"
    lines = [
        f"verify {noun}: {s['rows_read']} rows read from {', '.join(s['files'])}, compared with {target}",
        _line(noun, f"{s['records_checked']} checked ({sampled}): {s['records_matching']} match, "
                    f"{s['records_different']} different, {s['records_missing']} missing, "
                    f"{s['records_failed']} failed  ({s['duration_s']:.2f} s)"),
    ]
    if s["fields_different"]:
        counts = ", ".join(f"{name} ({n})" for name, n in s["fields_different"].items())
        lines.append(_line("differ", counts))
    if s["rows_invalid"]:
        lines.append(_line("rows", f"{s['rows_invalid']} not checked: invalid in the file, so never sent"))
    if s.get("aborted"):
        lines.append(_line("stopped", s["aborted"]))
    return lines + _tail(s, [
        ("mismatched_file", "rows whose record differs in the platform (_error names the fields)"),
        ("missing_file", "rows whose record the platform does not hold: import it to fill the gap"),
        ("failed_file", "rows that could not be read back (verify it again)"),
        ("rejected_file", "rows invalid in the file"),
    ])


def _tail(s: dict[str, Any], files: list[tuple[str, str]]) -> list[str]:
    lines = []
    if s.get("aborted") and s["command"] != "verify":
        lines.append(_line("stopped", s["aborted"]))
    lines.append(_line("report", s["report_dir"]))
    lines += [_line("", f"{Path(s[key]).name}: {what}") for key, what in files if s.get(key)]
    return lines
