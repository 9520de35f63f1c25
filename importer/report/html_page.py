"""``report.html``: one run on one page, for the person reading it the morning after.

The outcome in one coloured sentence, the rows as a funnel (read → valid → sent → accepted), why rows
were rejected (grouped by field and reason, with a few examples: file, row, offending value), sending
over time (throughput, retries, 429s), warnings, and the options in effect (never the key).

Rendered from the report directory alone (``summary.json`` and ``rejected.csv``), so ``ecdp-import
report DIR`` can render it again at any time. The page is self-contained: inline CSS and SVG, no script,
no font or image to fetch, and a Content-Security-Policy that forbids loading anything. Every value from
the data is escaped with ``html.escape``. The file is created 0600 like the rest of the report.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import orjson

from importer.errors import UsageError
from importer.report import charts
from importer.report.files import open_private
from importer.report.outcome import outcome
from importer.report.reject_groups import RejectGroup, RejectSummary, summarise
from importer.report.summary import ImportSummary, OperationSummary, RunSummary, window_text
from importer.resources import find

REPORT_NAME = "report.html"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
MAX_GROUPS, MAX_CHART_BARS = 25, 10
LINKED_FILES = (
    ("rejected.csv", "rows to fix and import again"),
    ("failed.csv", "valid rows whose sending failed: import again to retry"),
    ("held.csv", "valid rows held back, never sent: the run stopped before sending; import them with the fixed rows"),
    ("errors.jsonl", "every error answer of the API"),
    ("payloads.jsonl", "request bodies of the dry run"),
    ("summary.json", "counts and options, for machines"),
)

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#263238;margin:0;background:#f5f7f8}
main{max-width:980px;margin:0 auto;padding:24px 28px 40px;background:#fff;min-height:100vh}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #e0e6e9;padding-bottom:4px}
.meta{color:#607d8b;font-size:13px;margin:0}
.outcome{margin:18px 0 6px;padding:14px 18px;border-radius:8px;font-size:17px;font-weight:600;border-left:8px solid}
.ok{background:#e8f5e9;border-color:#2e7d32;color:#1b5e20}.problems{background:#fff4e0;border-color:#ef8f00;color:#7a4a00}
.stopped{background:#fdecea;border-color:#c62828;color:#8e1c1c}
.funnel{display:grid;grid-template-columns:150px 1fr 90px;gap:6px 12px;align-items:center}
.funnel .label{text-align:right;font-weight:600}.funnel .track{background:#eceff1;border-radius:4px;height:26px}
.funnel .bar{height:26px;border-radius:4px;min-width:2px}.funnel .n{font-weight:700;font-size:17px}
.funnel .note{grid-column:2/4;color:#607d8b;font-size:13px;margin:-4px 0 4px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceff1;vertical-align:top}
th{background:#f5f7f8;font-weight:600}td.n{text-align:right;font-weight:700;white-space:nowrap}
.tag{font-size:11px;padding:1px 6px;border-radius:9px;background:#eceff1;color:#455a64;white-space:nowrap}
.tag.api{background:#e3f2fd;color:#0d47a1}
code{font:13px ui-monospace,Menlo,Consolas,monospace;background:#f5f7f8;padding:0 3px}
.ex{color:#455a64;font-size:13px}.muted{color:#78909c}ul.warn li{color:#7a4a00}.chart{max-width:100%;height:auto}
"""


def write(report_dir: Path) -> Path:
    """Render ``report.html`` in ``report_dir`` from its ``summary.json`` and ``rejected.csv``."""
    summary_file = report_dir / "summary.json"
    if not summary_file.is_file():
        raise UsageError(
            f"{report_dir} has no summary.json: it is not a report directory of ecdp-import.",
            "Give a directory under reports/ (ecdp-import runs lists them).",
        )
    summary = RunSummary.from_dict(orjson.loads(summary_file.read_bytes()))
    if not isinstance(summary, (ImportSummary, OperationSummary)):
        raise UsageError(
            f"{report_dir} is the report of a verify run, which has no report.html.",
            "Its files (mismatched.csv, missing.csv) and summary.json are the report.",
        )
    page = render(summary, summarise(report_dir / "rejected.csv"), present=_present(report_dir))
    target = report_dir / REPORT_NAME
    with open_private(target) as out:
        out.write(page.encode("utf-8"))
    return target


def _rows_heading(s: ImportSummary | OperationSummary) -> str:
    """ "Rows", or what a row of the resource is where it is not a record ("Rows (order lines)")."""
    declared = find(s.command) if isinstance(s, ImportSummary) else None
    rows = declared.naming.rows if declared is not None else "rows"
    return "<h2>Rows</h2>" if rows == "rows" else f"<h2>Rows ({escape(rows)})</h2>"


def _present(report_dir: Path) -> list[str]:
    return [name for name, _ in LINKED_FILES if (report_dir / name).is_file()]


def render(s: ImportSummary | OperationSummary, rejects: RejectSummary, present: list[str] | None = None) -> str:
    """The whole page as text."""
    said = outcome(s)
    command = s.command or "import"
    title = f"{command} import {s.run_id or ''}".strip()
    body = [
        f"<h1>{escape(command)} import</h1>",
        f'<p class="meta">{_meta(s)}</p>',
        f'<p class="meta" id="window">window: {escape(window_text(s.window))}</p>'
        if isinstance(s, ImportSummary) and s.window
        else "",
        f'<p class="outcome {said.level}" id="outcome">{escape(said.sentence)}</p>',
        _rows_heading(s),
        _funnel(s, rejects),
        _rejects(rejects),
        _sending(s),
        _warnings(s.warnings if isinstance(s, ImportSummary) else []),
        "<h2>Options</h2>",
        _options(s),
        _files(present or []),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
        "<body><main>\n" + "\n".join(part for part in body if part) + "\n</main></body></html>\n"
    )


def _n(value: Any) -> str:
    return f"{int(value or 0):,}"


def _meta(s: ImportSummary | OperationSummary) -> str:
    files = ", ".join(str(f).replace("\\", "/").rsplit("/", 1)[-1] for f in s.files)
    profile = s.origin.get("profile") if isinstance(s, ImportSummary) else None
    parts = [
        f"run {s.run_id or '?'}",
        f"started {(s.started_at or '?').replace('T', ' ')}",
        f"{s.duration_s:.1f} s",
        f"into {s.api_url or '?'}" + (f" (profile {profile})" if profile else ""),
        f"from {files}" if files else "",
    ]
    return " · ".join(escape(p) for p in parts if p)


def _funnel(s: ImportSummary | OperationSummary, rejects: RejectSummary) -> str:
    read, blank = s.rows_read, s.rows_set_aside
    invalid = rejects.by_stage.get("validation", 0)
    valid = s.rows_valid if s.rows_valid is not None else read - blank - invalid
    sent = s.rows_sent
    accepted = s.rows_accepted
    api_rejected = max(0, s.rows_rejected - (read - blank - valid))
    failed = s.rows_failed
    stopped = s.stopped if isinstance(s, ImportSummary) else None
    steps = [("read", read, charts.GREY, "")]
    before = read - blank - valid  # rejected before sending
    notes = [
        f"{_n(before)} rejected before sending (see below)" if before else "",
        f"{_n(s.rows_blank)} blank rows skipped (every cell empty)" if s.rows_blank else "",
        f"{_n(s.rows_unmatched)} rows dropped by the mapping (no match in a joined file)" if s.rows_unmatched else "",
        f"{_n(s.rows_left_out)} rows left out by the mapping's leave_out rules (left_out.csv)"
        if s.rows_left_out
        else "",
    ]
    steps.append(("valid", valid, charts.BLUE, "; ".join(n for n in notes if n)))
    held = s.rows_held if isinstance(s, ImportSummary) else 0
    if s.dry_run:
        steps.append(
            (
                "would be sent",
                (s.rows_would_send or 0) if not stopped else 0,
                charts.GREEN,
                "dry run: nothing was sent"
                + (f" (and a real run would be stopped: {_n(held)} valid rows held back)" if stopped else ""),
            )
        )
    else:
        if sent is not None:
            skipped = valid - sent
            why = [f"{_n(skipped)} valid rows not sent"] if skipped > 0 else []
            if skipped > 0 and stopped:
                why = [f"{_n(held)} valid rows held back (held.csv)", "stopped before sending"]
            elif skipped > 0 and isinstance(s, ImportSummary) and (s.records_unchanged or s.records_already_accepted):
                why.append("in the platform already (unchanged, or accepted by the run resumed)")
            elif skipped > 0 and s.aborted:
                why.append(s.aborted)
            steps.append(("sent", sent, charts.BLUE, ": ".join(why)))
        lost = [
            f"{_n(api_rejected)} rejected by the API" if api_rejected else "",
            f"{_n(failed)} failed (failed.csv)" if failed else "",
            f"{_n(s.rows_uncertain)} uncertain: sent, no answer (uncertain.csv)"
            if isinstance(s, ImportSummary) and s.rows_uncertain
            else "",
        ]
        steps.append(("accepted", accepted, charts.GREEN, ", ".join(x for x in lost if x)))
    top = max(read, 1)
    cells = []
    for label, value, color, note in steps:
        width = 100 * value / top
        cells.append(
            f'<div class="label">{escape(label)}</div><div class="track"><div class="bar" '
            f'style="width:{width:.1f}%;background:{color}"></div></div><div class="n">{_n(value)}</div>'
        )
        if note:
            cells.append(f'<div></div><div class="note">{escape(note)}</div>')
    return f'<div class="funnel" id="funnel">{"".join(cells)}</div>'


def _group_label(group: RejectGroup) -> str:
    return f"{group.field}: {group.reason}" if group.field else group.reason


def _rejects(rejects: RejectSummary) -> str:
    if not rejects.groups:
        return "<h2>Rejected rows</h2><p>No row was rejected.</p>"
    head = (
        f"<h2>Why {_n(rejects.rows)} rows were rejected</h2>"
        f'<p class="muted">Grouped by field and reason (a row can fail in several fields); the full list, '
        f'ready to fix and import again, is <a href="rejected.csv">rejected.csv</a>.</p>'
    )
    chart = charts.bars(
        [(_group_label(g), g.rows) for g in rejects.groups[:MAX_CHART_BARS]], title="Rejected rows by reason"
    )
    rows = []
    for g in rejects.groups[:MAX_GROUPS]:
        examples = "<br>".join(
            f"{escape(e.file)} row {escape(e.row)}" + (f": <code>{escape(e.value)}</code>" if e.value else "")
            for e in g.examples
        )
        stage = "API" if g.stage == "api" else g.stage
        rows.append(
            f'<tr><td class="n">{_n(g.rows)}</td><td>{escape(g.field) or "<span class=muted>(row)</span>"}'
            f'</td><td>{escape(g.reason)} <span class="tag {escape(g.stage)}">{escape(stage)}</span></td>'
            f'<td class="ex">{examples}</td></tr>'
        )
    more = len(rejects.groups) - MAX_GROUPS
    tail = f'<p class="muted">…and {more} more reasons in rejected.csv.</p>' if more > 0 else ""
    return (
        head + chart + '<table id="rejects"><thead><tr><th>rows</th><th>field</th><th>reason</th>'
        "<th>examples (file, row, value)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + tail
    )


def _sending(s: ImportSummary | OperationSummary) -> str:
    if not s.requests:
        stopped = s.stopped if isinstance(s, ImportSummary) else None
        why = (
            "this was a dry run"
            if s.dry_run
            else "the run was stopped before sending"
            if stopped
            else "there was nothing to send"
        )
        return f"<h2>Sending</h2><p>Nothing was sent: {escape(why)}.</p>"
    chart = charts.over_time(s.timeline if isinstance(s, ImportSummary) else {})
    duration = s.duration_s
    speed = f", {s.records_accepted / duration:,.0f} records/s on average" if duration else ""
    facts = (
        f"{_count(s.records_sent, 'record')} in {_count(s.requests, 'request')}{speed}; "
        f"{_count(s.retries, 'retry', 'retries')}, {_count(s.throttled, 'answer')} 429 (slow down), "
        f"{_count(s.api_errors, 'error answer')} in errors.jsonl."
    )
    short = "" if chart else '<p class="muted">(Too short a run to draw over time.)</p>'
    return f"<h2>Sending over time</h2><p>{escape(facts)}</p>{chart}{short}"


def _count(value: Any, noun: str, plural: str | None = None) -> str:
    number = int(value or 0)
    return f"{number:,} " + (noun if number == 1 else plural or noun + "s")


def _warnings(warnings: list[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return f'<h2>Warnings</h2><ul class="warn">{items}</ul>'


def _options(s: ImportSummary | OperationSummary) -> str:
    origin = s.origin if isinstance(s, ImportSummary) else {}
    used = s.options if isinstance(s, ImportSummary) else {}
    resource = (
        [("read as", s.read_as), ("mode", s.mode), ("match by", s.match_by), ("customer match", s.customer_match)]
        if isinstance(s, ImportSummary)
        else []
    )
    rows: list[tuple[str, Any]] = [
        ("command", s.command),
        ("files", ", ".join(s.files)),
        *resource,
        ("config file", origin.get("config")),
        ("profile", origin.get("profile")),
        ("API key from", origin.get("key")),
        *[(name.replace("_", " "), value) for name, value in used.items()],
    ]
    shown = [(name, value) for name, value in rows if value not in (None, "", False)]
    cells = "".join(f"<tr><th>{escape(name)}</th><td>{escape(_plain(value))}</td></tr>" for name, value in shown)
    return f'<table id="options">{cells}</table>'


def _plain(value: Any) -> str:
    return "yes" if value is True else str(value)


def _files(present: list[str]) -> str:
    if not present:
        return ""
    meaning = dict(LINKED_FILES)
    items = "".join(
        f'<li><a href="{escape(name)}">{escape(name)}</a>: {escape(meaning[name])}</li>' for name in present
    )
    return f"<h2>Files in this report</h2><ul>{items}</ul>"
