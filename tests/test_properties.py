"""Property: for any table of valid and invalid cells, every row is accounted for, and every accepted
row's data arrives in the platform as normalised — or, over the default error budget (10%), nothing is
sent at all — through the library API, against the sandbox."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.pipeline import import_customers
from importer.settings import ApiKey, ApiSettings, CustomerOptions, RunOptions
from tests.support import customer, write_csv

_counter = itertools.count()

emails = st.one_of(
    st.builds(lambda n, d: f"user{n}@{d}.example", st.integers(0, 30), st.sampled_from(["a", "b", "ą"])),
    st.sampled_from(["", "not-an-email", "x@@y", " spaced @x.y"]),
)
# Control characters are left out: Python's str.strip() and Unicode's White_Space (polars) disagree on
# \x1c-\x1f, and the oracle below uses str.strip().
_letters = st.characters(blacklist_categories=("Cc", "Cs"))
names = st.one_of(st.text(_letters, min_size=0, max_size=12), st.text(_letters, min_size=257, max_size=260))
genders = st.sampled_from(["", "male", "Female", "NOTSPECIFIED", "other", " female "])
consents = st.sampled_from(["", "true", "False", "AwaitingConfirmation", "nope"])
rows = st.lists(st.tuples(emails, names, genders, consents), min_size=0, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=rows)
def test_every_row_is_accounted_for_and_accepted_rows_arrive(sandbox, tmp_path, table):
    sandbox.reset()
    run_dir = tmp_path / f"run{next(_counter)}"
    run_dir.mkdir()
    source = write_csv(run_dir / "in.csv", ["email", "firstName", "gender", "consent.1"], [list(r) for r in table])
    result = import_customers(
        [source],
        ApiSettings(url=sandbox.url, key=ApiKey(sandbox.api_key)),
        CustomerOptions(),
        RunOptions(chunk_size=7, report_dir=run_dir / "report", progress=False),
    )
    summary = result.summary
    assert summary["rows_read"] == len(table)
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_rejected"] + summary["rows_failed"]
    expected: dict[str, tuple[str, str, str]] = {}  # the first *valid* row of each customer is sent
    for email, name, gender, consent in table:
        if _valid(email, name, gender, consent):
            expected.setdefault(email.strip().lower(), (name, gender, consent))
    if summary["rows_rejected"] * 100 > 10 * len(table):  # over the default error budget: nothing is sent
        assert summary["exit_code"] == 2 and summary["stopped"].startswith("error budget:")
        assert summary["rows_accepted"] == 0 and summary["rows_failed"] == len(expected)
        assert sandbox.stats.total == 0
        return
    assert summary["rows_failed"] == 0 and summary["records_accepted"] == summary["rows_accepted"]
    assert summary["exit_code"] == (0 if summary["rows_rejected"] == 0 else 1)
    assert summary["rows_accepted"] == len(expected)
    for key, (name, gender, consent) in expected.items():
        stored = customer(sandbox, key)
        assert stored is not None
        assert stored.get("firstName") == (name.strip() or None)
        assert stored.get("gender") == GENDERS[gender.strip().lower()]
        assert stored.get("consentsData") == (
            {"consents": [{"id": 1, "value": consent.strip().capitalize()}]} if consent.strip() else None
        )
    assert Path(result.report_dir).is_dir()


GENDERS = {"": None, "male": "Male", "female": "Female", "notspecified": "NotSpecified"}


def _valid(email: str, name: str, gender: str, consent: str) -> bool:
    """The oracle: the documented rules, restated independently of the code under test."""
    address = email.strip()
    local, at, domain = address.partition("@")
    return (
        bool(at) and bool(local) and bool(domain) and "@" not in domain and not any(c.isspace() for c in address)
        and len(name.strip().encode("utf-16-le")) // 2 <= 256  # UTF-16 code units, as the platform counts
        and gender.strip().lower() in GENDERS
        and consent.strip().lower() in ("", "true", "false")
    )
