"""Why a run stopped early is a code (``AbortReason``) next to its message: summary.json carries both, the
report decides by the code, and a summary written before the code existed is read back with it."""

from __future__ import annotations

import orjson
import pytest

from importer.delivery.outcomes import Aborted, Outcomes
from importer.errors import EXIT_ABORTED, EXIT_OK, EXIT_ROWS_NOT_IMPORTED, AbortReason
from importer.report.outcome import outcome
from importer.report.summary import ImportSummary, RunSummary

KEY = "the API rejected the key (HTTP 401); no further requests were sent"


@pytest.mark.parametrize(
    ("aborted", "reason"),
    [
        (KEY, AbortReason.KEY_REFUSED),
        (
            "the API asked to wait 100000 s (Retry-After), more than the 60 s --max-retry-after allows; "
            "what was not sent is left for --resume",
            AbortReason.WAIT_TOO_LONG,
        ),
        ("the API throttled the run: it would have waited 10 s in all on 429 answers", AbortReason.THROTTLED_TOO_LONG),
        ("the API's success answers were not the documented ones: 3 in a row", AbortReason.UNEXPECTED_ANSWERS),
        ("the API's TLS certificate failed verification (self-signed)", AbortReason.CERTIFICATE),
        ("interrupted (SIGTERM)", AbortReason.INTERRUPTED),
        ("interrupted (Ctrl-C twice): requests in flight were abandoned", AbortReason.INTERRUPTED),
        ("stopped: No space left to write the report", AbortReason.LOCAL_FAULT),
        (None, None),
    ],
)
def test_an_old_summary_without_abort_reason_is_read_back_with_it(aborted, reason):
    old = {"command": "customers", "exit_code": 3, "aborted": aborted, "rows_read": 10}  # (no abort_reason)
    assert RunSummary.from_dict(old).abort_reason is reason


def test_the_reason_round_trips_through_summary_json_and_an_unknown_one_falls_back_to_the_message():
    summary = ImportSummary(command="orders", exit_code=3, aborted=KEY, abort_reason=AbortReason.KEY_REFUSED)
    written = orjson.loads(orjson.dumps(summary.to_dict()))
    assert written["abort_reason"] == "key_refused" and written["aborted"] == KEY
    assert RunSummary.from_dict(written).abort_reason is AbortReason.KEY_REFUSED
    later = {**written, "abort_reason": "a_reason_of_a_later_version"}
    assert RunSummary.from_dict(later).abort_reason is AbortReason.KEY_REFUSED
    assert "abort_reason" not in ImportSummary(command="orders").to_dict()  # a run that was not stopped


def test_the_report_decides_by_the_reason_not_by_the_words():
    # the same words with another reason: not a key problem; another message with the key's reason: it is
    worded = ImportSummary(
        command="customers",
        exit_code=EXIT_ABORTED,
        aborted=KEY,
        abort_reason=AbortReason.WAIT_TOO_LONG,
        rows_read=5,
        rows_failed=5,
    )
    assert "Send the rest with --resume." in outcome(worded).sentence
    coded = ImportSummary(
        command="customers",
        exit_code=EXIT_ABORTED,
        aborted="HTTP 403 from the API",
        abort_reason=AbortReason.KEY_REFUSED,
        rows_read=5,
        rows_failed=5,
    )
    assert "Check the API key of this business unit." in outcome(coded).sentence


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (AbortReason.KEY_REFUSED, EXIT_ABORTED),
        (AbortReason.WAIT_TOO_LONG, EXIT_ABORTED),
        (AbortReason.THROTTLED_TOO_LONG, EXIT_ABORTED),
        (AbortReason.UNEXPECTED_ANSWERS, EXIT_ABORTED),
        (AbortReason.UNKNOWN_TARGET, EXIT_ABORTED),
        (AbortReason.CERTIFICATE, EXIT_ROWS_NOT_IMPORTED),
        (AbortReason.INTERRUPTED, EXIT_ROWS_NOT_IMPORTED),
        (AbortReason.LOCAL_FAULT, EXIT_ROWS_NOT_IMPORTED),
    ],
)
def test_the_exit_code_follows_the_reason(reason, code):
    outcomes = Outcomes()
    outcomes.abort(Aborted(reason, "whatever the message says"))
    assert outcomes.exit_code(rows_left_out=True) == code
    assert outcomes.key_refused is (reason is AbortReason.KEY_REFUSED)
    assert Outcomes().exit_code(rows_left_out=False) == EXIT_OK
