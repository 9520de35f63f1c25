"""pandera's private API is used through one adapter (``importer.records.pandera_adapter``): only with the pandera
versions it was checked against, without changing the shared ``Check`` objects, and from many threads at once."""

from __future__ import annotations

import copy
import re
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandera
import pandera.polars as pa
import polars as pl
import pytest

from importer.records import pandera_adapter, schema_screen
from importer.records.schema_screen import Failing
from schemas.customers import customer_schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_pandera_is_a_version_the_adapter_was_checked_against() -> None:
    """Fails on any other pandera: re-run tests/records/test_schema_screen.py with it (the screen imitates
    pandera's polars backend through the adapter), then widen SUPPORTED_VERSIONS and the pin together."""
    assert pandera_adapter.is_supported(pandera.__version__), (
        f"pandera {pandera.__version__} is installed, but importer/records/pandera_adapter.py was checked against "
        f"pandera{pandera_adapter.SUPPORTED_RANGE} only: run tests/records/test_schema_screen.py with it and update "
        "SUPPORTED_VERSIONS, SUPPORTED_RANGE and the pin in pyproject.toml."
    )


@pytest.mark.parametrize(
    ("version", "supported"),
    [
        ("0.36.0", True),
        ("0.36.12", True),
        ("0.36.1rc2", True),
        ("0.35.9", False),
        ("0.37.0", False),
        ("1.36.0", False),
        ("unknown", False),
        ("", False),
    ],
)
def test_a_version_outside_the_checked_range_is_not_supported(version: str, supported: bool) -> None:
    assert pandera_adapter.is_supported(version) is supported


def test_the_pin_in_pyproject_is_the_adapters_range() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    [pin] = [dependency for dependency in dependencies if re.match(r"pandera\b", dependency)]
    assert pin == f"pandera[polars]{pandera_adapter.SUPPORTED_RANGE}"
    (low_major, low_minor), (high_major, high_minor) = pandera_adapter.SUPPORTED_VERSIONS
    assert pandera_adapter.SUPPORTED_RANGE == f">={low_major}.{low_minor},<{high_major}.{high_minor}"


def _failing_frame(rows: int) -> pl.DataFrame:
    """Customers (every column of the schema, text) of which every third has a bad e-mail and every fifth a bad
    gender."""
    given = {
        "email": [f"c{n}@example.com" if n % 3 else f"bad {n}" for n in range(rows)],
        "gender": ["Female" if n % 5 else "female" for n in range(rows)],
    }
    columns = customer_schema("email").columns
    return pl.DataFrame(
        {name: given.get(name, [None] * rows) for name in columns}, schema=dict.fromkeys(columns, pl.String)
    )


def _signature(found: Failing | None) -> tuple[list[int], list[str], dict[str, list[int]]]:
    assert found is not None
    return found.rows.to_list(), found.columns, found.checks


def test_screening_leaves_every_check_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """The schemas' checks are shared by the run's threads (and by pandera's own validation): the screen writes
    no attribute of any check."""
    schema = copy.deepcopy(customer_schema("email"))  # a schema not screened before: nothing cached
    builtins = [
        check.name
        for column in schema.columns.values()
        for check in column.checks
        if check.is_builtin_check(check.name or "")
    ]
    assert builtins  # it has built-in checks (str_matches, isin): those pandera's own __call__ reassigns
    frame = _failing_frame(30)
    written: list[str] = []
    setattr_of_check = pa.Check.__setattr__

    def recording(check: pa.Check, name: str, value: object) -> None:
        written.append(name)
        setattr_of_check(check, name, value)

    monkeypatch.setattr(pa.Check, "__setattr__", recording)
    found = schema_screen.failing(frame, schema)

    assert found is not None and found.columns  # it was screened, and found something
    assert written == []


def test_many_threads_screening_shared_schemas_get_the_answers_of_one() -> None:
    """The screen's cache is shared by the run's threads: each of many threads, on fresh and shared schemas,
    gets what a single thread gets."""
    frame = _failing_frame(300)
    expected = _signature(schema_screen.failing(frame, copy.deepcopy(customer_schema("email"))))
    assert expected[0] and set(expected[1]) == {"email", "gender"}
    shared = customer_schema("email")

    def screen(n: int) -> tuple[list[int], list[str], dict[str, list[int]]]:
        schema = shared if n % 2 else copy.deepcopy(shared)
        return _signature(schema_screen.failing(frame, schema))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(screen, range(200)))
    assert results == [expected] * 200
    assert len(schema_screen._CACHE) <= schema_screen._CACHE_SIZE
