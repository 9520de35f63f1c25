"""A mapping's field settings and row rules: their checks, and the polars expressions they become.

``check_field`` checks one ``[fields]`` entry and ``check_leave_out`` the ``[[leave_out]]`` rules, each
adding its problems to the mapping's list (``importer.inputs.mapping.load_mapping`` names them all at
once). ``field_expression`` builds a target column from its source (``column``, ``columns`` as a fallback
chain, ``value``, ``template`` or ``rules``) and its conversions, in this order: ``strip_prefix``, trim
(an empty cell is null), ``unless``, ``lower``/``upper``, ``map``, ``number``, dates. ``fit = "hash"``
comes last, on the mapped frame (``fit_long_values``): only the rare too-long values see Python.

A condition (in ``rules`` and ``[[leave_out]]``) tests one cell: ``true`` (it has a value), ``false``
(it is empty), a text or a list of texts (trimmed, case-insensitive) or ``{ matches = "regex" }``. A
column the file lacks is an empty cell (and named in the field's warning).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from importer.frame import LEFT_LINE_COL, LEFT_OUT_COL
from importer.inputs import conversions
from importer.records import normalise
from schemas.common import utf16_units
from schemas.targets import TARGETS

SOURCE_KEYS = ("column", "columns", "value", "template", "rules")  # exactly one per field
FIELD_KEYS = {
    *SOURCE_KEYS,
    "format",
    "dayfirst",
    "timezone",
    "number",
    "map",
    "default",
    "lower",
    "upper",
    "unless",
    "conflict",
    "optional",
    "strip_prefix",
    "fit",
}
FITS = ("hash",)
HASH_DIGITS = 8  # hex digits of the SHA-256 after "~" in a value shortened by fit = "hash"
REJECT = "reject"
TEMPLATE_NAME = re.compile(r"\{([^}]+)\}")


def check_field(target: str, spec: dict[str, Any], kind: str, problems: list[str]) -> None:
    """Note every problem of a field's table (its source, conversions and new settings)."""
    where = f"fields.{target}"
    if len(set(SOURCE_KEYS) & set(spec)) != 1:
        problems.append(f"{where}: give exactly one of column, columns, value, template, rules")
    problems += [f"{where}: unknown setting {k!r}" for k in sorted(set(spec) - FIELD_KEYS)]
    if "columns" in spec and not (
        isinstance(spec["columns"], list) and spec["columns"] and all(isinstance(c, str) and c for c in spec["columns"])
    ):
        problems.append(f'{where}: columns must be a list of column names, e.g. columns = ["SKU", "Name"]')
    if "optional" in spec:
        if not isinstance(spec["optional"], bool):
            problems.append(f"{where}: optional must be true or false")
        elif spec["optional"] and not ({"column", "columns"} & set(spec)):
            problems.append(f"{where}: optional is for a field read from column or columns")
    if "strip_prefix" in spec and not (isinstance(spec["strip_prefix"], str) and spec["strip_prefix"]):
        problems.append(f'{where}: strip_prefix must be the characters to remove, e.g. strip_prefix = "\'"')
    elif "strip_prefix" in spec and not ({"column", "columns"} & set(spec)):
        problems.append(f"{where}: strip_prefix is for a field read from column or columns")
    if "fit" in spec:
        if spec["fit"] not in FITS:
            problems.append(f'{where}: fit must be "hash", not {spec["fit"]!r}')
        elif target not in TARGETS[kind].max_lengths:
            problems.append(f'{where}: fit = "hash" is for a field with a maximum length, which {target} has not')
    if "rules" in spec:
        _check_rules(where, spec, problems)


def _check_rules(where: str, spec: dict[str, Any], problems: list[str]) -> None:
    """Note the problems of a field given by ``rules`` (and of what goes with them: no map, a default)."""
    rules = spec["rules"]
    if not isinstance(rules, list) or not rules:
        problems.append(f'{where}: rules must be a list of {{ when = {{ ... }}, then = "..." }}')
    else:
        for number, rule in enumerate(rules, 1):
            _check_rule(f"{where}: rule {number}", rule, "then", problems)
    if "map" in spec:
        problems.append(f"{where}: rules and map cannot be combined (give each rule's value in its then)")
    if "default" in spec and not isinstance(spec["default"], str | int | float):
        problems.append(f'{where}: default must be a value or "reject"')


def check_leave_out(raw: Any, problems: list[str]) -> list[dict[str, Any]]:
    """The ``[[leave_out]]`` rules (each ``when`` and ``reason``), their problems noted."""
    if not isinstance(raw, list):
        problems.append("leave_out must be rules written as [[leave_out]] tables, each with when and reason")
        return []
    for number, rule in enumerate(raw, 1):
        _check_rule(f"leave_out rule {number}", rule, "reason", problems)
    return [r for r in raw if isinstance(r, dict)]


def _check_rule(where: str, rule: Any, outcome: str, problems: list[str]) -> None:
    if not isinstance(rule, dict):
        problems.append(f'{where}: give a table {{ when = {{ ... }}, {outcome} = "..." }}')
        return
    problems += [f"{where}: unknown setting {k!r}" for k in sorted(set(rule) - {"when", outcome})]
    if not isinstance(rule.get(outcome), str | int | float) or (outcome == "reason" and not rule[outcome]):
        problems.append(f'{where}: give {outcome} = "..."')
    when = rule.get("when")
    if not isinstance(when, dict) or not when:
        problems.append(f'{where}: give when = {{ "Column" = ... }}, the conditions on the row\'s cells')
        return
    for column, condition in when.items():
        problem = _condition_problem(condition)
        if problem:
            problems.append(f"{where}: {column!r}: {problem}")


def _condition_problem(condition: Any) -> str | None:
    if isinstance(condition, bool | str):
        return None
    if isinstance(condition, list) and condition and all(isinstance(v, str) for v in condition):
        return None
    if isinstance(condition, dict) and set(condition) == {"matches"} and isinstance(condition["matches"], str):
        try:
            pl.select(pl.lit("").str.contains(condition["matches"]))
        except pl.exceptions.PolarsError:
            return f"matches {condition['matches']!r} is not a regular expression"
        return None
    return 'a condition is true, false, a text, a list of texts or { matches = "regex" }'


def rule_columns(spec: dict[str, Any]) -> list[str]:
    """The columns a field's (or a leave_out rule's) conditions read, in order, once each."""
    rules = spec.get("rules", []) if "rules" in spec else [spec]
    return list(dict.fromkeys(c for rule in rules for c in rule.get("when", {})))


def source_columns(spec: dict[str, Any]) -> list[str]:
    """Every column a field reads (its source, ``unless``): what the mapping uses of the file."""
    names = [*spec.get("columns", []), *rule_columns(spec), *TEMPLATE_NAME.findall(str(spec.get("template", "")))]
    return [*names, *[str(spec[k]) for k in ("column", "unless") if k in spec]]


@dataclass
class Built:
    """A field's expression, the reason it rejects a row (or None), and the warnings its columns give."""

    expr: pl.Expr
    reject: pl.Expr | None = None
    warnings: list[str] = field(default_factory=list)


def cell(name: str, available: set[str], strip: str | None = None) -> pl.Expr:
    """A column's cell as text, trimmed, empty as null (and ``strip``'s characters removed from its start);
    a column the file lacks is an empty cell."""
    if name not in available:
        return pl.lit(None, dtype=pl.String)
    value = pl.col(name).cast(pl.String)
    if strip:
        value = value.str.strip_chars_start().str.strip_chars_start(strip)
    return normalise.blank_to_null(value)


def condition(name: str, test: Any, available: set[str]) -> pl.Expr:
    """Whether a row's cell of ``name`` meets ``test`` (never null)."""
    value = cell(name, available)
    if test is True:
        result = value.is_not_null()
    elif test is False:
        result = value.is_null()
    elif isinstance(test, dict):
        result = value.str.contains(str(test["matches"]))
    else:
        texts = [str(t).strip().lower() for t in (test if isinstance(test, list) else [test])]
        result = value.str.to_lowercase().is_in(texts)
    return result.fill_null(False)


def all_of(when: dict[str, Any], available: set[str]) -> pl.Expr:
    """A rule's conditions all hold."""
    return pl.all_horizontal([condition(name, test, available) for name, test in when.items()])


def field_expression(
    target: str, spec: dict[str, Any], available: set[str], problems: list[str], whole_number: bool
) -> Built:
    """The target column from its source and conversions; problems noted for columns the file lacks
    (unless the field is optional: then a warning)."""
    built = _source(target, spec, available, problems)
    expr = built.expr
    if "unless" in spec:  # empty where the named column has a value (e.g. Magento's child items)
        unless = str(spec["unless"])
        if unless not in available:
            problems.append(f"fields.{target}: unless names no column {unless!r}")
        else:
            expr = pl.when(normalise.blank_to_null(pl.col(unless)).is_null()).then(expr)
    if spec.get("lower"):
        expr = expr.str.to_lowercase()
    if spec.get("upper"):
        expr = expr.str.to_uppercase()
    if "map" in spec:
        expr, built.reject = conversions.value_map(target, expr, spec["map"], spec.get("default", "keep"))
    if "number" in spec:
        formats = spec["number"] if isinstance(spec["number"], dict) else {}
        expr = conversions.number(expr, formats, whole_number)
    if "format" in spec or spec.get("dayfirst") or "timezone" in spec:
        expr = conversions.date_time(expr, spec)
    built.expr = expr.alias(target)
    return built


def _source(target: str, spec: dict[str, Any], available: set[str], problems: list[str]) -> Built:
    """The field's value before its conversions (trimmed, empty as null)."""
    where, strip = f"fields.{target}", spec.get("strip_prefix")
    if "value" in spec:
        return Built(normalise.blank_to_null(pl.lit(str(spec["value"]), dtype=pl.String)))
    if "template" in spec:
        names = TEMPLATE_NAME.findall(spec["template"])
        problems += [f"{where}: no column {n!r}" for n in names if n not in available]
        parts = TEMPLATE_NAME.split(spec["template"])[::2]
        pieces: list[pl.Expr] = []
        for i, name in enumerate(names):
            pieces += [pl.lit(parts[i]), pl.col(name).fill_null("") if name in available else pl.lit("")]
        return Built(normalise.blank_to_null(pl.concat_str([*pieces, pl.lit(parts[-1])])))
    if "rules" in spec:
        return _rules(target, spec, available)
    chain = [str(c) for c in spec["columns"]] if "columns" in spec else [str(spec.get("column", ""))]
    present = [c for c in chain if c in available]
    absent = [c for c in chain if c not in available]
    warnings = []
    if not present and not spec.get("optional"):
        problems.append(f"{where}: no column " + " or ".join(repr(c) for c in chain))
    elif not present:
        warnings.append(
            f"{where} is left empty: the file has no column " + " or ".join(repr(c) for c in chain) + " (optional)"
        )
    elif absent:
        warnings.append(
            f"{where}: the file has no column "
            + ", ".join(repr(c) for c in absent)
            + "; read from "
            + ", ".join(repr(c) for c in present)
        )
    expr = pl.coalesce([cell(c, available, strip) for c in present]) if present else pl.lit(None, dtype=pl.String)
    return Built(expr, None, warnings)


def _rules(target: str, spec: dict[str, Any], available: set[str]) -> Built:
    """The first rule whose conditions hold gives the value; none: ``default`` (``"reject"``: the row is
    rejected naming the cells). Only rows with a value in one of the rules' columns are evaluated (an
    order's later lines, without its order-level cells, give no value rather than the default)."""
    columns = rule_columns(spec)
    absent = [c for c in columns if c not in available]
    warnings = (
        [
            f"fields.{target}: the file has no column "
            + ", ".join(repr(c) for c in absent)
            + "; its rules read it as empty"
        ]
        if absent
        else []
    )
    read = pl.any_horizontal([cell(c, available).is_not_null() for c in columns])
    default = spec.get("default")
    chosen: Any = pl
    for rule in spec["rules"]:
        chosen = chosen.when(read & all_of(rule["when"], available)).then(pl.lit(str(rule["then"]), dtype=pl.String))
    if default is None or default == REJECT:
        expr = chosen.otherwise(pl.lit(None, dtype=pl.String))
    else:
        expr = chosen.when(read).then(pl.lit(str(default), dtype=pl.String)).otherwise(pl.lit(None, dtype=pl.String))
    reject = None
    if default == REJECT:
        cells = [pl.format("{} '{}'", pl.lit(c), cell(c, available).fill_null("")) for c in columns]
        reject = pl.when(read & expr.is_null()).then(
            pl.format(
                "{}: no rule of the mapping fits the cells {}", pl.lit(target), pl.concat_str(cells, separator=", ")
            )
        )
    return Built(expr, reject, warnings)


def left_out_reason(rules: list[dict[str, Any]], available: set[str]) -> pl.Expr | None:
    """Per row, the reason of the first ``[[leave_out]]`` rule it meets (null: kept); None without rules."""
    if not rules:
        return None
    chosen: Any = pl
    for rule in rules:
        chosen = chosen.when(all_of(rule["when"], available)).then(pl.lit(str(rule["reason"])))
    reason: pl.Expr = chosen.otherwise(pl.lit(None, dtype=pl.String))
    return reason


def leave_out_warnings(rules: list[dict[str, Any]], available: set[str]) -> list[str]:
    """One warning naming the columns ``[[leave_out]]`` reads that the file lacks (read as empty)."""
    columns = dict.fromkeys(c for rule in rules for c in rule["when"] if c not in available)
    return (
        ["leave_out: the file has no column " + ", ".join(repr(c) for c in columns) + "; its rules read it as empty"]
        if columns
        else []
    )


def left_out_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """Orders: a left-out line whose order has a line kept stays, for its order-level cells, with no product
    (``_left_line``); the lines of an order all of whose lines are left out (or without an id) keep
    ``_left_out``, and are set aside whole. Only the orders with a left-out line are counted (a window
    over every order costs seconds on a large export)."""
    left = pl.col(LEFT_OUT_COL).is_not_null()
    if "id" not in frame.columns or not frame.select(left.any()).item():
        return frame
    order = pl.col("id")
    touched = frame.filter(left & order.is_not_null()).group_by("id").agg(pl.len().alias("_left"))
    lines = frame.join(touched, on="id", how="semi").group_by("id").agg(pl.len().alias("_lines"))
    whole_ids = touched.join(lines, on="id").filter(pl.col("_left") == pl.col("_lines")).get_column("id")
    whole = left & (order.is_null() | order.is_in(whole_ids.implode()))
    line = left & ~whole
    products = [c for c in frame.columns if c.startswith("product.")]
    return frame.with_columns(
        *[pl.when(~line).then(pl.col(c)).alias(c) for c in products],
        pl.when(line).then(pl.col(LEFT_OUT_COL)).alias(LEFT_LINE_COL),
        pl.when(whole).then(pl.col(LEFT_OUT_COL)).alias(LEFT_OUT_COL),
    )


def shortened(value: str, limit: int) -> str:
    """``value`` cut to fit ``limit`` UTF-16 code units: its first characters, ``~`` and the first 8 hex
    digits of the SHA-256 of the whole value (UTF-8): stable, and two long values stay two."""
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:HASH_DIGITS]
    room, kept, units = limit - HASH_DIGITS - 1, [], 0
    for char in value:
        units += 2 if ord(char) > 0xFFFF else 1
        if units > room:
            break
        kept.append(char)
    return "".join(kept) + "~" + digest


def fit_long_values(
    frame: pl.DataFrame, limits: dict[str, int], shorten: Callable[[str, int], str] = shortened
) -> pl.DataFrame:
    """``frame`` with each value of a ``limits`` column longer than its limit shortened (``fit = "hash"``):
    one polars pass finds them; only those are touched in Python."""
    for target, limit in limits.items():
        value = pl.col(target)
        # (UTF-16 units never exceed UTF-8 bytes: only values longer in bytes are counted, as schemas.common does)
        too_long = pl.when(value.str.len_bytes() > limit).then(utf16_units(value) > limit).otherwise(False)
        positions = frame.select(pl.arg_where(too_long.fill_null(False))).to_series()
        if positions.len():
            long_values = frame.get_column(target).gather(positions).to_list()
            fitted = pl.Series([shorten(v, limit) for v in long_values], dtype=pl.String)
            frame = frame.with_columns(frame.get_column(target).scatter(positions, fitted))
    return frame
