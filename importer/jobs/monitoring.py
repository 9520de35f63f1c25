"""What a run tells monitoring when it ends: the metrics file and the notification.

``after_run`` is called by the library API (``importer.api``) for every run, the ones that could not
start included (an ``ImporterError``: exit 2 or 3 without a summary of counts; a ``LocalFault`` with the
counts it reached), so a nightly job whose
export went missing shows up in the metrics and the webhook like one that rejected rows:

* ``--metrics-file``: ``importer.report.metrics``, with the job's last success from the journal (the
  run's series, ``importer.jobs.drift.series_of``);
* ``--notify-url``: when the exit code is 1 or more, the summary's counts and reasons as JSON (no rows,
  no personal data, no key: a whitelist of fields) POSTed with up to 3 attempts, 10 s each, under the
  delivery engine's retry rules (``NOTIFICATION``, a ``RetryPolicy``: network errors, 429 and 5xx are
  tried again after 0.5 s, then 1 s, or the ``Retry-After`` asked when it is at most 10 s; a longer one is
  not waited); a notification that cannot be delivered is a warning, never a different exit code.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
import orjson

from importer.delivery.pacing import retry_after_seconds
from importer.delivery.retry_policy import RetryPolicy, Verdict
from importer.errors import ImporterError, LocalFault
from importer.jobs import drift
from importer.jobs.journal import Journal, target_of
from importer.jobs.results import RunResult, Warn
from importer.report import metrics
from importer.settings import ApiSettings, RunOptions, public_url

TIMEOUT_S = 10.0
# 3 attempts at most, whatever failed them; backoff without jitter (one request: nothing to spread out)
NOTIFICATION = RetryPolicy(
    max_retries=2,
    max_throttles=2,
    backoff_base_s=0.5,
    jitter=False,
    max_retry_after_s=TIMEOUT_S,
    statuses=frozenset({429, *range(500, 600)}),
)
NOTIFIED = (
    "command",
    "run_id",
    "exit_code",
    "api_url",
    "started_at",
    "duration_s",
    "report_dir",
    "stopped",
    "aborted",
    "abort_reason",
    "dry_run",
    "shard",
    "requests",
    "retries",
    "throttled",
    "api_errors",
)


def after_run(
    command: str,
    names: Sequence[str],
    api: ApiSettings,
    run: RunOptions,
    outcome: RunResult | ImporterError,
    warn: Warn,
) -> None:
    """Write the metrics file and send the notification that ``run`` asks for."""
    if run.metrics_file is None and not run.notify_url:
        return
    summary = outcome.summary.to_dict() if isinstance(outcome, RunResult) else _failed(command, outcome)
    if isinstance(outcome, LocalFault) and outcome.summary is not None:  # stopped by a fault: the counts it reached
        summary = outcome.summary.to_dict()
    profile = run.origin.get("profile")
    if run.metrics_file is not None:
        series = drift.series_of(command, target_of(api), run, names)
        text = metrics.exposition(summary, command, profile, time.time(), _last_success(run, series.id))
        try:
            metrics.write(run.metrics_file, text)
        except OSError as exc:
            warn(f"Could not write the metrics file {run.metrics_file}: {exc.strerror or exc}.")
    if run.notify_url and int(summary["exit_code"]) >= 1:
        problem = notify(
            run.notify_url, {**{k: summary.get(k) for k in NOTIFIED}, "profile": profile, **_counts(summary)}
        )
        if problem:
            warn(problem)


def _failed(command: str, error: ImporterError) -> dict[str, Any]:
    """The summary of a run that could not start or was stopped by its key: what it is, nothing counted."""
    return {"command": command, "exit_code": error.exit_code, "aborted": f"{type(error).__name__}: {error.message}"}


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k.startswith(("rows_", "records_")) and isinstance(v, int)}


def _last_success(run: RunOptions, series: str) -> float | None:
    """When the job last succeeded, from the journal (when there is one yet)."""
    if not run.state.exists():
        return None
    try:
        with contextlib.closing(Journal(run.state)) as journal:
            finished = journal.last_success(series)
    except LocalFault:  # a journal that cannot be read now must not fail a run that is over
        return None
    return datetime.fromisoformat(finished).timestamp() if finished else None


def notify(
    url: str, payload: dict[str, Any], policy: RetryPolicy = NOTIFICATION, timeout_s: float = TIMEOUT_S
) -> str | None:
    """POST ``payload`` as JSON to ``url``, retried as ``policy`` says; None when it was delivered (2xx), else
    the warning to give."""
    where = public_url(url).split("/", 3)
    shown = "/".join(where[:3])  # scheme and host only: a webhook's path often holds its token
    retry = 0
    while True:
        status, retry_after, error = None, None, None
        try:
            answer = httpx.post(
                url, content=orjson.dumps(payload), timeout=timeout_s, headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            last, error = type(exc).__name__, exc
        else:
            if answer.is_success:
                return None
            status, retry_after = answer.status_code, retry_after_seconds(answer.headers.get("retry-after"))
            last = f"HTTP {status}"
        if (
            policy.verdict(status, error, retry_after) is not Verdict.RETRY
            or policy.gives_up(status, retry)
            or policy.too_long(retry_after)
        ):  # (a refusal: sending it again will not help)
            return f"The notification to {shown} was not delivered ({last}); the run's exit code is unchanged."
        time.sleep(policy.delay(status, retry, retry_after))
        retry += 1
