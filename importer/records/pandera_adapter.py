"""The one place that touches pandera's private API, for the screen (``schema_screen``) that imitates pandera's
polars backend.

Why it exists: the screen evaluates a schema's ``Check`` objects as polars expressions in one query instead of
letting pandera collect each check on its own. To do that it must call a check's function exactly as pandera's
polars backend calls it, and pandera offers no public way to: the function and its arguments are the private
``Check._check_fn`` and ``Check._check_kwargs``, and a built-in check's polars variant is looked up in a registry
(``Check.__call__`` reloads it by the function's ``__name__`` before every call). Whatever depends on those
internals is here, read-only: nothing here changes a ``Check`` (pandera's own ``__call__`` reassigns
``_check_fn``; the screen, run by several threads on shared schemas, must not), so an upgrade of pandera that
moves them breaks this module only.

Checked against: pandera ``SUPPORTED_RANGE`` (the pin in pyproject.toml is the same range). A test fails on any
other installed version (``tests/records/test_pandera_adapter.py``); after an upgrade, re-run the screen's
hypothesis test (``tests/records/test_schema_screen.py``, which compares the screen's reasons with pandera's own on
whole frames), then widen ``SUPPORTED_VERSIONS`` and the pin together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.config import CONFIG

SUPPORTED_VERSIONS: tuple[tuple[int, int], tuple[int, int]] = ((0, 36), (0, 37))
"""pandera versions this module was checked against: at least the first (major, minor), below the second."""
SUPPORTED_RANGE = ">=0.36,<0.37"  # the same, as pyproject.toml pins it


def is_supported(version: str) -> bool:
    """Whether a pandera version (e.g. ``pandera.__version__``, "0.36.0") lies in ``SUPPORTED_VERSIONS``."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        return False
    lowest, beyond = SUPPORTED_VERSIONS
    return lowest <= (int(match[1]), int(match[2])) < beyond


def check_function(check: pa.Check) -> Callable[..., Any]:
    """The function pandera's polars backend calls for ``check``: for a built-in check, its registry's current
    dispatcher (as ``Check.__call__`` reloads it, by the function's ``__name__``), else the check's own."""
    function: Callable[..., Any] = check._check_fn
    builtin = getattr(function, "__name__", None)
    if builtin is not None and check.is_builtin_check(builtin):
        registered: Callable[..., Any] = check.get_builtin_check_fn(builtin)
        return registered
    return function


def call_check(check: pa.Check, data: pa.PolarsData) -> Any:
    """What ``check``'s function returns for ``data``, called with the check's own arguments as pandera's polars
    backend calls it; ``check`` is not changed."""
    return check_function(check)(data, **check._check_kwargs)


def register_polars_backends(schema: pa.DataFrameSchema) -> None:
    """Register pandera's polars backends for ``schema`` and its checks, as its ``validate`` does first."""
    schema.register_default_backends(pl.LazyFrame)


def narwhals_backend() -> bool:
    """Whether pandera runs polars checks through its narwhals backend (then the screen does not imitate it)."""
    return bool(CONFIG.use_narwhals_backend)
