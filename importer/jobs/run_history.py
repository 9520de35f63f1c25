"""Working with recorded runs: list them, and send a run's failed rows again.

``retry_run`` re-imports the run's ``failed.csv`` (valid rows that did not reach the platform) with the
options the run was recorded with; rejected rows are not retried, because sending them again cannot
succeed until they are fixed (fix ``rejected.csv`` and import it instead).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from importer.errors import UsageError
from importer.inputs.files import ReadOptions
from importer.inputs.mapping import load_mapping
from importer.inputs.presets import choose_for_files
from importer.jobs.imports import import_resource
from importer.jobs.journal import Journal
from importer.jobs.results import RunResult, Warn
from importer.report.summary import ImportSummary, RunSummary, window_text
from importer.resources import resource
from importer.settings import ApiSettings, RunOptions


def recent_runs(state: Path, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs, newest first, with their row counts (zero while a run has no summary)."""
    if not state.exists():
        return []
    journal = Journal(state)
    try:
        rows = journal.runs(limit)
    finally:
        journal.close()
    for row in rows:
        if row["status"] == "running" and not _alive(row.pop("pid")):
            row["status"] = "died"  # killed (e.g. kill -9, a reboot): continue it with --resume
        row.pop("pid", None)
        summary = RunSummary.from_dict(orjson.loads(row.pop("summary") or "{}"))
        for count in ("rows_read", "rows_accepted", "rows_rejected", "rows_failed"):
            row[count] = getattr(summary, count, 0)
        row["window"] = window_text(getattr(summary, "window", None), short=True)  # --since-column: what was read
    return rows


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def retry_run(run_id: str, api: ApiSettings, run: RunOptions, warn: Warn) -> RunResult | None:
    """Import the failed rows of ``run_id`` again; None when it has none."""
    journal = Journal(run.state)
    try:
        recorded = journal.run(run_id)
    finally:
        journal.close()
    if recorded is None:
        raise UsageError(f"There is no run {run_id!r} in {run.state}.", "List the runs with: ecdp-import runs")
    summary = RunSummary.from_dict(orjson.loads(recorded["summary"] or "{}"))
    if not isinstance(summary, ImportSummary):  # (the journal records imports only)
        raise UsageError(
            f"Run {run_id} is not an import: only imports can be retried.", "List the runs with: ecdp-import runs"
        )
    failed = Path(summary.failed_file) if summary.failed_file else None
    if recorded["status"] == "running":
        raise UsageError(
            f"Run {run_id} never finished (it has no report of failed rows).",
            "Continue it with --resume on the same inputs.",
        )
    if failed is None:
        return None
    if not failed.exists():
        raise UsageError(f"The failed rows of run {run_id} ({failed}) are gone.", "Re-run the import instead.")
    options = orjson.loads(recorded["options"])
    mapping, preset = summary.mapping, summary.preset
    files = [failed, *_joined_files(run_id, summary, recorded["command"], failed)] if mapping or preset else [failed]
    retry = RunOptions(
        **{
            **run.__dict__,
            "chunk_size": options.get("chunk_size", run.chunk_size),
            "mapping": Path(mapping) if mapping else None,
            "preset": preset,
        }
    )
    declared = resource(recorded["command"])
    return import_resource(declared, files, api, declared.recorded_options(options), retry, warn)


def _joined_files(run_id: str, summary: ImportSummary, command: str, failed: Path) -> list[Path]:
    """The command-line files a mapping or preset joined onto the first one (failed.csv holds the first
    one's columns, so a retry reads it in the first file's place and the joined files as the run did;
    sources the mapping names a path for are read from there again)."""
    path = (
        Path(summary.mapping)
        if summary.mapping
        else choose_for_files(summary.preset or "", command, [failed], ReadOptions()).generation.path
    )
    _, *joined_sources = load_mapping(path).sources
    from_command_line = sum(1 for source in joined_sources if source.from_command_line)
    joined = [Path(name) for name in summary.files[1 : 1 + from_command_line]]
    gone = [path for path in joined if not path.is_file()]
    if gone:
        raise UsageError(
            f"Run {run_id} joined {gone[0]} onto its rows, and that file is gone.",
            "Put it back where it was, or import the export again.",
        )
    return joined
