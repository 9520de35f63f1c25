"""Find the rows, columns and checks of a pandera schema a frame fails, in one polars query, so that
pandera itself runs only where it has something to say.

pandera's polars backend collects each check of each column on its own (two or three queries per
check), which costs the same per validation however few rows there are, and a run validates three
schemas per partition. ``failing`` evaluates the very same ``Check`` objects as polars expressions in one
``select``: each check function is called as pandera's backend calls it (the polars variant of a
built-in check, with the check's own arguments) on a stand-in for the frame that keeps the expression
it is asked to select; pandera's handling of nulls (``ignore_na``) and its nullability rule are applied
as pandera applies them. A check may be stood in for by a cheaper expression that fails wherever it
fails (``coarse``: one regex for both text checks, ``schemas.common.COARSE_CHECKS``). ``failure_cases``
then makes pandera's failure cases for the failing rows, checks and columns (the same rows, values and
order pandera reports, with each check evaluated exactly as above), so pandera's own validation, which
costs more per call than a partition's whole screen, is not run at all for a schema that can be screened.

This is exact (a hypothesis test compares the reasons with pandera's on the whole frame, for every
schema) for checks that select one row-wise expression (a row passes or fails on its own values),
as every check in ``schemas/`` does. ``failing`` returns ``None`` for a schema it cannot screen (frame-wide
checks, strict or regex columns, uniqueness, coercion, a missing column, a dtype pandera would refuse, a
check that does anything but select one expression): the caller then validates the whole frame with
pandera.

Every touch of pandera's private API (a check's function and arguments, its backend registration) goes through
``pandera_adapter``, which names the pandera versions it was checked against. The screens are cached per schema
for all threads (a lock guards the cache; a cached entry keeps its schema and ``coarse`` alive, so their ids stay
theirs), and no ``Check`` is changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.engines import polars_engine

from importer.records import pandera_adapter

_ROW = "_screen_row"
_NO_COARSE: Mapping[str, Callable[[str], pl.Expr]] = MappingProxyType({})  # one object: its screens are cached


@dataclass(frozen=True)
class Failing:
    """Where a frame breaks a schema: the failing rows (positions, ascending) and, per column with a
    failure, whether its nullability rule failed and the numbers of its failing checks."""

    rows: pl.Series
    columns: list[str]  # in the schema's order (pandera reports failures in that order)
    nulls: set[str]  # columns with a null where the schema wants a value
    checks: dict[str, list[int]]  # column -> the positions of its failing checks in ``column.checks``
    exact: Mapping[tuple[str, int | None], pl.Expr] = field(default_factory=dict)  # see ``_Screen.exact``

    def schema(self, schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
        """``schema`` with only the failing columns, each with only its failing rules (a new schema of the
        same column definitions: ``_screenable`` made sure they carry nothing else that matters)."""
        columns = {}
        for name in self.columns:
            column = schema.columns[name]
            columns[name] = pa.Column(
                column.dtype,
                checks=[column.checks[i] for i in self.checks.get(name, [])],
                nullable=name not in self.nulls,
                name=name,
            )
        return pa.DataFrameSchema(columns)


@dataclass(frozen=True)
class _Outcome:
    """One pass/fail expression of the screen: a column's nullability rule (``checks`` empty) or some of
    its checks (several when one coarse expression stands in for them)."""

    column: str
    checks: tuple[int, ...]
    passed: pl.Expr


def failing(
    frame: pl.DataFrame, schema: pa.DataFrameSchema, coarse: Mapping[str, Callable[[str], pl.Expr]] | None = None
) -> Failing | None:
    """Where ``frame`` breaks ``schema``'s row checks, or None when the schema cannot be screened.

    ``coarse`` may give, per check name, a cheaper expression of a column's name that fails at least
    wherever the check fails: the rows it flags are handed to pandera with that check, which decides."""
    screened = _screen_of(schema, frame.schema, _NO_COARSE if coarse is None else coarse)
    if screened is None:
        return None
    outcomes = screened.outcomes
    if not outcomes:
        return Failing(pl.Series(_ROW, [], dtype=pl.UInt32), [], set(), {})
    bad = (
        frame.lazy()
        .select((~outcome.passed).alias(str(number)) for number, outcome in enumerate(outcomes))
        .with_row_index(_ROW)
        .filter(pl.any_horizontal(pl.exclude(_ROW)))
        .collect()
    )
    columns: list[str] = []
    nulls: set[str] = set()
    checks: dict[str, list[int]] = {}
    for number, outcome in enumerate(outcomes):
        if bad.get_column(str(number)).any():
            name = outcome.column
            columns += [] if name in columns else [name]
            if not outcome.checks:
                nulls.add(name)
            checks.setdefault(name, []).extend(outcome.checks)
    return Failing(bad.get_column(_ROW), columns, nulls, {n: sorted(c) for n, c in checks.items() if c}, screened.exact)


def failure_cases(frame: pl.DataFrame, found: Failing) -> pl.DataFrame:
    """pandera's ``failure_cases`` (``column``, ``check_number``, ``index``, ``failure_case``) of ``frame`` (the
    failing rows ``found``, positions from 0), in pandera's order: by column in the schema's order, then
    the nullability rule, then each check in order, rows ascending. Checks a coarse expression stood in
    for are evaluated exactly here, so a row the coarse expression flagged in vain gives no case."""
    rules = [
        (name, number)
        for name in found.columns
        for number in ([None] if name in found.nulls else []) + found.checks.get(name, [])
    ]
    failed = frame.select((~found.exact[rule]).alias(str(position)) for position, rule in enumerate(rules))
    cases = [
        frame.select(
            pl.lit(name).alias("column"),
            pl.lit(number, dtype=pl.Int32).alias("check_number"),
            pl.int_range(pl.len(), dtype=pl.Int32).alias("index"),
            pl.col(name).cast(pl.String).alias("failure_case"),
        ).filter(failed.get_column(str(position)))
        for position, (name, number) in enumerate(rules)
    ]
    return (
        pl.concat(cases)
        if cases
        else pl.DataFrame(
            schema={"column": pl.String, "check_number": pl.Int32, "index": pl.Int32, "failure_case": pl.String}
        )
    )


@dataclass(frozen=True)
class _Screen:
    """A schema's screen: its pass/fail expressions, and every rule exactly (``exact``: per column and check
    number, or None for the nullability rule, whether a row passes it) for ``failure_cases``."""

    outcomes: list[_Outcome]
    exact: dict[tuple[str, int | None], pl.Expr]


_Coarse = Mapping[str, Callable[[str], pl.Expr]]
_Key = tuple[int, int, tuple[pl.DataType | None, ...], bool]
_CACHE: dict[_Key, tuple[pa.DataFrameSchema, _Coarse, _Screen | None]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def _screen_of(schema: pa.DataFrameSchema, dtypes: pl.Schema, coarse: _Coarse) -> _Screen | None:
    """The screen's expressions for ``schema`` over columns of these ``dtypes``, or None when it cannot be
    screened; worked out once per schema (the schemas are made once per run and shared, see ``schemas``)."""
    narwhals = pandera_adapter.narwhals_backend()
    key = (id(schema), id(coarse), tuple(dtypes.get(name) for name in schema.columns), narwhals)
    with _CACHE_LOCK:  # held while a screen is worked out, so each is worked out once, by one thread
        cached = _CACHE.get(key)
        if cached is not None and cached[0] is schema and cached[1] is coarse:
            return cached[2]
        screened = _expressions(schema, dtypes, coarse) if _screenable(schema, dtypes, narwhals) else None
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (schema, coarse, screened)  # (both kept, so their ids stay their own)
    return screened


def _expressions(schema: pa.DataFrameSchema, dtypes: pl.Schema, coarse: _Coarse) -> _Screen | None:
    """Every rule of ``schema`` as an expression; None when a check is not one row-wise selection."""
    pandera_adapter.register_polars_backends(schema)
    outcomes: list[_Outcome] = []
    exact: dict[tuple[str, int | None], pl.Expr] = {}
    for name, column in schema.columns.items():
        if not column.nullable:
            exact[name, None] = _present(dtypes[name], name)
            outcomes.append(_Outcome(name, (), exact[name, None]))
        stood_in: dict[Callable[[str], pl.Expr], list[int]] = {}  # a coarse expression -> the checks it stands for
        for number, check in enumerate(column.checks):
            passed = _check_expression(check, name)
            if passed is None:
                return None
            exact[name, number] = passed
            rough = coarse.get(check.name or "")
            if rough is not None:
                stood_in.setdefault(rough, []).append(number)
            else:
                outcomes.append(_Outcome(name, (number,), passed))
        outcomes += [_Outcome(name, tuple(numbers), rough(name)) for rough, numbers in stood_in.items()]
    return _Screen(outcomes, exact)


class _Selection:
    """What a check function selected from the stand-in frame."""

    def __init__(self, exprs: tuple[Any, ...]) -> None:
        self.exprs = exprs


class _StandIn:
    """Takes the place of the LazyFrame a check function gets: keeps what it selects."""

    def select(self, *exprs: Any) -> _Selection:
        return _Selection(exprs)


def _check_expression(check: pa.Check, name: str) -> pl.Expr | None:
    """Whether each row passes ``check`` on column ``name``, as pandera's polars backend decides it
    (its ``apply`` and ``postprocess``), or None when the check is not one row-wise selection."""
    selected = pandera_adapter.call_check(check, pa.PolarsData(_StandIn(), name))  # type: ignore[arg-type]
    if not isinstance(selected, _Selection) or len(selected.exprs) != 1 or not isinstance(selected.exprs[0], pl.Expr):
        return None
    passed = selected.exprs[0]
    return (passed | passed.is_null()) if check.ignore_na else passed.fill_null(False)


def _present(dtype: pl.DataType, name: str) -> pl.Expr:
    """pandera's nullability rule: not null (and, for floats, not NaN)."""
    value = pl.col(name)
    return value.is_not_null() & value.is_not_nan() if dtype.is_float() else value.is_not_null()


def _screenable(schema: pa.DataFrameSchema, dtypes: pl.Schema, narwhals: bool) -> bool:
    if narwhals:  # its checks run through another backend than the one imitated here
        return False
    if schema.strict or schema.checks or schema.unique or schema.coerce or schema.parsers or schema.drop_invalid_rows:
        return False
    for name, column in schema.columns.items():
        if (
            column.regex
            or column.unique
            or column.coerce
            or column.parsers
            or column.default is not None
            or column.drop_invalid_rows
            or name not in dtypes
        ):
            return False
        if column.dtype is not None and not column.dtype.check(polars_engine.Engine.dtype(dtypes[name])):
            return False
        if any(
            check.element_wise or check.groupby is not None or check.n_failure_cases is not None
            for check in column.checks
        ):
            return False
    return True
