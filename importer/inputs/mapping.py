"""Mapping files: turn an export we did not design into the importer's columns (docs/mapping.md).

``load_mapping`` reads and checks the TOML (every problem listed at once, exit 2); ``apply_mapping``
reads the sources, joins them onto the driving table, and builds each target field with polars
expressions: a column, a constant or a template, then value maps, date formats and time zones, and
number formats. Its output has the importer's canonical column names, so the resource stages run
unchanged; it also returns the driving table as read, which is what the report shows per row.

Values a conversion cannot handle are left as the user wrote them, so validation rejects the row
with that value; ``default = "reject"`` on a value map rejects unmapped values with a clear reason.

A joined source without a ``path`` takes a FILE from the command line (presets cannot know where the
user's files are): the first FILE is the driving table, the next ones those sources, in order.

Joins never multiply rows and name what they miss (``importer.inputs.joins``); ``join_rates`` measures
each join of a mapping before anything is sent (``ecdp-import inspect --mapping``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from importer.errors import InputError, listed
from importer.frame import (
    FILE_COL,
    LEFT_OUT_COL,
    REJECT_COL,
    RID_COL,
    ROW_COL,
    UNJOINED_COL,
    UNMATCHED_COL,
    UNREADABLE_COL,
    is_own_column,
)
from importer.inputs import joins, mapping_fields
from importer.inputs.files import ReadOptions, read_file, read_inputs
from importer.inputs.mapping_sources import Source, read_sources
from importer.inputs.set_aside import without_blank_rows
from schemas.targets import TARGETS

PRESETS = Path(__file__).resolve().parent / "presets"
CONFLICTS = ("first", "last", "reject")  # when the lines of an order disagree on a field


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file."""

    path: Path
    kind: str
    sources: list[Source]
    fields: dict[str, dict[str, Any]]
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    leave_out: list[dict[str, Any]] = field(default_factory=list)  # [[leave_out]]: when, reason

    @property
    def conflicts(self) -> dict[str, str]:
        """Order-level field -> whose value to take when an order's lines disagree (``conflict = ...``)."""
        return {target: str(spec["conflict"]) for target, spec in self.fields.items() if "conflict" in spec}


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; InputError listing every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"Cannot read the mapping file {path}: {exc.strerror or exc}.", "Check the path.") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The mapping file {path} is not valid TOML: {exc}.", "See docs/mapping.md.") from None
    problems: list[str] = []
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in TARGETS:
        kinds = " or ".join(f'"{k}"' for k in TARGETS)
        problems.append(f"kind must be {kinds}, not {kind!r}")
        kind = list(TARGETS)[-1]  # (the other problems are checked as for the last kind)
    sources = read_sources(raw.get("sources", {}), path.parent, problems)
    fields = {}
    for target, spec in raw.get("fields", {}).items():
        fields[target] = _field(target, spec, kind, problems)
    attributes = raw.get("attributes", {})
    for level, spec in attributes.items():
        if level in ("ignore", "kind"):
            problems.append(
                f"{level} is inside [attributes]: in TOML a key after a [table] belongs to it, "
                f"so put {level} = ... before the first [table]"
            )
        elif level not in TARGETS[kind].attributes:
            problems.append(f"attributes.{level}: use {' or '.join(TARGETS[kind].attributes)} for {kind}")
        elif not isinstance(spec, dict) or not ({"columns", "prefix"} & set(spec)):
            problems.append(f'attributes.{level}: give columns = [...] or prefix = "..."')
    leave_out = mapping_fields.check_leave_out(raw.get("leave_out", []), problems)
    identifiers = TARGETS[kind].identifiers
    if fields and not set(identifiers) & set(fields):
        problems.append(f"fields: map {' or '.join(identifiers)}: a {kind[:-1]} is known by it")
    unknown = set(raw) - {"kind", "sources", "fields", "attributes", "ignore", "leave_out", "generation"}  # presets.py
    problems += [f"unknown setting {name!r}" for name in sorted(unknown)]
    if problems:
        raise InputError(
            f"The mapping file {path} has {len(problems)} problem(s): " + listed(problems, "; ") + ".",
            "See docs/mapping.md for the format; `ecdp-import inspect FILE` suggests a starting point.",
        )
    return Mapping(path, kind, sources, fields, attributes, list(raw.get("ignore", [])), leave_out)


def _field(target: str, spec: Any, kind: str, problems: list[str]) -> dict[str, Any]:
    if target == "leave_out":
        problems.append(
            "leave_out is inside [fields]: write the rules as [[leave_out]] tables after the fields, "
            "or before the first [table]"
        )
        return {}
    if target not in TARGETS[kind].fields and not target.startswith(TARGETS[kind].dynamic):
        problems.append(f"fields.{target}: not a {kind} field")
    if isinstance(spec, str):
        return {"column": spec}
    if not isinstance(spec, dict):
        problems.append(f"fields.{target}: give a column name or a table")
        return {}
    mapping_fields.check_field(target, spec, kind, problems)
    if "format" in spec and "%" not in str(spec["format"]):
        problems.append(f"fields.{target}: format {spec['format']!r} has no strptime directive (e.g. %d.%m.%Y)")
    if "timezone" in spec:
        try:
            ZoneInfo(str(spec["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"fields.{target}: unknown time zone {spec['timezone']!r} (use an IANA name, e.g. Europe/Warsaw)"
            )
    if "map" in spec and not isinstance(spec["map"], dict):
        problems.append(f"fields.{target}: map must be a table of value = replacement")
    if "unless" in spec and not isinstance(spec["unless"], str):
        problems.append(f"fields.{target}: unless must name a column")
    if "conflict" in spec:
        order_level = TARGETS[kind].record_level(target)
        if spec["conflict"] not in CONFLICTS:
            problems.append(f'fields.{target}: conflict must be "first", "last" or "reject", not {spec["conflict"]!r}')
        elif not order_level or target == "id":
            problems.append(
                f"fields.{target}: conflict is for the order-level fields of orders (date, status, "
                "customer.email, attr.*, ...): a product's fields are its line's own"
            )
    return spec


def apply_mapping(
    mapping: Mapping,
    files: Sequence[Path],
    options: ReadOptions | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(canonical frame, driving table as read): sources read, joined and mapped; ``warn`` is given what the
    mapping reads as empty (optional fields' absent columns, a chain's skipped columns)."""
    driving, *joined = mapping.sources
    paths, given = _files_for_sources(mapping, list(files))
    original = read_inputs(paths, _read_options(driving, options))
    table = _nulls(original, driving)
    problems: list[str] = []
    for source in joined:
        table = _join(table, source, given.get(source.name) or source.local_file(), options, problems)
    available = set(table.columns)
    joined_well = not problems
    built = {
        target: mapping_fields.field_expression(
            target, spec, available, problems, target in TARGETS[mapping.kind].whole_numbers
        )
        for target, spec in mapping.fields.items()
    }
    attrs = _attribute_columns(mapping, available, problems)
    unidentified = _unidentified(mapping, available) if joined_well else None  # (a bad join hides columns too)
    if unidentified is not None:
        problems = [unidentified, *[p for p in problems if not p.startswith(_identifier_prefixes(mapping))]]
        if len(problems) == 1:
            raise InputError(
                unidentified[0].upper() + unidentified[1:] + ".",
                "Export the file again with one of them; `ecdp-import inspect FILE` lists its columns.",
            )
    if problems:
        order = f" (FILEs are read as: {_file_order(mapping)})" if given else ""
        raise InputError(
            f"The mapping {mapping.path} does not fit the input{order}: " + listed(problems, "; ") + ".",
            "Check the column names with `ecdp-import inspect FILE`.",
        )
    warnings = [w for b in built.values() for w in b.warnings]
    for message in warnings + mapping_fields.leave_out_warnings(mapping.leave_out, available):
        if warn is not None:
            warn(message)
    left_out = mapping_fields.left_out_reason(mapping.leave_out, available)
    if left_out is not None and UNREADABLE_COL in available:  # a line the reader could not parse is rejected
        left_out = pl.when(pl.col(UNREADABLE_COL).is_null()).then(left_out)
    target = TARGETS[mapping.kind]
    line = target.line_prefix is not None and left_out is not None  # an order line left out keeps its order's cells
    rejects = [
        pl.when(left_out.is_null()).then(b.reject)
        if left_out is not None and line and not target.record_level(t)
        else b.reject
        for t, b in built.items()
        if b.reject is not None
    ]
    reasons = pl.concat_str(rejects, separator="; ", ignore_nulls=True)
    reject = [pl.when(reasons != "").then(reasons).alias(REJECT_COL)] if rejects else []
    noted = [left_out.alias(LEFT_OUT_COL)] if left_out is not None else []
    mapped = table.select(
        RID_COL,
        FILE_COL,
        ROW_COL,
        *[b.expr for b in built.values()],
        *attrs,
        *reject,
        *noted,
        *[c for c in (UNREADABLE_COL, UNJOINED_COL, UNMATCHED_COL) if c in table.columns],
    )
    limits = target.max_lengths
    mapped = mapping_fields.fit_long_values(
        mapped, {t: limits[t] for t, spec in mapping.fields.items() if spec.get("fit") == "hash"}
    )
    if line:
        mapped = mapping_fields.left_out_lines(mapped)
    return mapped, original


def _unidentified(mapping: Mapping, available: set[str]) -> str | None:
    """Why no record can be told apart (no field that identifies one is read from a column the file has);
    None when one is."""
    fields = {t: spec for t, spec in mapping.fields.items() if t in TARGETS[mapping.kind].identifiers}
    if not fields or any(_reads_present(spec, available) for spec in fields.values()):
        return None
    columns = list(dict.fromkeys(c for spec in fields.values() for c in mapping_fields.source_columns(spec)))
    what = TARGETS[mapping.kind].record
    return (
        f"the file has no column that identifies {what}: "
        + ", ".join(columns)
        + f" (the columns this mapping reads for {', '.join(sorted(fields))})"
    )


def _identifier_prefixes(mapping: Mapping) -> tuple[str, ...]:
    return tuple(f"fields.{t}: no column" for t in TARGETS[mapping.kind].identifiers)


def _reads_present(spec: dict[str, Any], available: set[str]) -> bool:
    """A field gives values from the file: a constant, or one of the columns it reads is there."""
    return "value" in spec or any(c in available for c in mapping_fields.source_columns(spec))


def unmapped_columns(mapping: Mapping, original: pl.DataFrame) -> list[str]:
    """Driving-table columns the mapping neither uses nor ignores (worth a warning)."""
    used = {c for spec in mapping.fields.values() for c in mapping_fields.source_columns(spec)}
    used |= {c for rule in mapping.leave_out for c in rule["when"]}
    used |= {str(s.join_on) for s in mapping.sources if s.join_on}
    for spec in mapping.attributes.values():
        used |= set(spec.get("columns", []))
        used |= {c for c in original.columns if "prefix" in spec and c.startswith(spec["prefix"])}
    known = used | set(mapping.ignore) | {RID_COL, FILE_COL, ROW_COL, UNREADABLE_COL}  # (a set: 10,000 columns)
    return [c for c in original.columns if c not in known and not is_own_column(c)]


def _files_for_sources(mapping: Mapping, files: list[Path]) -> tuple[list[Path], dict[str, Path]]:
    """The driving table's files, and the FILE given for each joined source without a path."""
    driving, *joined = mapping.sources
    wanted = [s.name for s in joined if s.from_command_line]
    if not wanted:
        own = driving.local_file()
        paths = files or ([own] if own else [])
        if not paths:
            raise InputError(f"No input: {mapping.path} names no file for {driving.name}.", "Name the export file.")
        return paths, {}
    if len(files) != 1 + len(wanted):
        raise InputError(
            f"The mapping {mapping.path} reads {1 + len(wanted)} files, in this order: {_file_order(mapping)}; "
            f"{len(files)} given.",
            f"Give them in that order, e.g. ecdp-import {mapping.kind} "
            + " ".join(f"{name}.csv" for name in [driving.name, *wanted])
            + f" {_mapping_option(mapping)}",
        )
    return [files[0]], dict(zip(wanted, files[1:], strict=True))


def _file_order(mapping: Mapping) -> str:
    """The sources that take the command line's FILEs, in the order the FILEs are given."""
    driving, *joined = mapping.sources
    return ", ".join([driving.name, *[s.name for s in joined if s.from_command_line]])


def _mapping_option(mapping: Mapping) -> str:
    """How the user named this mapping on the command line: --preset NAME or --mapping PATH."""
    if mapping.path.parent == PRESETS:
        return f"--preset {mapping.path.stem.split('-', 1)[0]}"
    return f"--mapping {mapping.path}"


def _nulls(frame: pl.DataFrame, source: Source) -> pl.DataFrame:
    """Cells holding exactly the source's ``null`` text made empty (the frame as read is kept for the report)."""
    if source.null is None:
        return frame
    columns = [c for c in frame.columns if c not in (RID_COL, FILE_COL, ROW_COL, UNREADABLE_COL)]
    return frame.with_columns(
        pl.when(pl.col(c).cast(pl.String) != source.null).then(pl.col(c)).alias(c) for c in columns
    )


def _read_options(source: Source, options: ReadOptions | None) -> ReadOptions:
    """The source's own encoding/delimiter, else the command line's, else detection."""
    base = options or ReadOptions()
    return ReadOptions(
        encoding=source.encoding or base.encoding, delimiter=source.delimiter or base.delimiter, limits=base.limits
    )


def _joined_source(
    table: pl.DataFrame, source: Source, path: Path | None, options: ReadOptions | None, problems: list[str]
) -> pl.DataFrame | None:
    """The rows of a joined source, named ``<source>.<column>``; None (and the problem noted) when the join
    names a column that is not there."""
    assert path is not None and source.join_on is not None and source.join_to is not None
    read = read_file(path, _read_options(source, options))  # (a line it cannot parse has no key: never found)
    other = _nulls(read.drop(FILE_COL, ROW_COL, UNREADABLE_COL, strict=False), source)
    other = other.rename({c: f"{source.name}.{c}" for c in other.columns})
    if source.join_on not in table.columns:
        problems.append(f"sources.{source.name}: join on {source.join_on!r}, which no earlier table has")
    if source.join.column not in other.columns:
        problems.append(f"sources.{source.name}: {_label(source, path)} has no column {source.join_to!r}")
    return None if problems else other


def _join(
    table: pl.DataFrame, source: Source, path: Path | None, options: ReadOptions | None, problems: list[str]
) -> pl.DataFrame:
    other = _joined_source(table, source, path, options, problems)
    return table if other is None else joins.join(table, other, source.join)


def join_rates(
    mapping: Mapping, files: Sequence[Path], options: ReadOptions | None = None
) -> tuple[int, list[joins.JoinRate]]:
    """(driving rows, how each join fits them), the joins made as an import makes them, blank rows left
    out; InputError when a join names a column that is not there."""
    driving, *joined = mapping.sources
    paths, given = _files_for_sources(mapping, list(files))
    table, _ = without_blank_rows(_nulls(read_inputs(paths, _read_options(driving, options)), driving))
    rates: list[joins.JoinRate] = []
    problems: list[str] = []
    for source in joined:
        path = given.get(source.name) or source.local_file()
        other = _joined_source(table, source, path, options, problems)
        if other is None:
            raise InputError(
                f"The mapping {mapping.path} does not fit the input: " + listed(problems, "; ") + ".",
                "Check the column names with `ecdp-import inspect FILE`.",
            )
        matched = joins.with_matches(table, other, source.join)
        rates.append(joins.rate(matched, source.join, _label(source, path)))
        table = joins.note_misses(matched, source.join).drop(joins.MATCHES)
    return table.height, rates


def _label(source: Source, path: Path | None) -> str:
    """How a message names a joined source: its file's name, or (a query) the source's name."""
    return path.name if path is not None and source.query is None else source.name


def read_files(mapping: Mapping, paths: Sequence[Path]) -> list[Path]:
    """The files a mapped run reads: the command line's (the driving table's, then the joined sources' without
    a path), then the files and query copies the mapping's sources name."""
    driving, *joined = mapping.sources
    own = [f for f in (s.local_file() for s in joined if not s.from_command_line) if f is not None]
    first = driving.local_file()
    return [*(paths or ([first] if first else [])), *own]


def _attribute_columns(mapping: Mapping, available: set[str], problems: list[str]) -> list[pl.Expr]:
    exprs = []
    for level, spec in mapping.attributes.items():
        prefix = TARGETS[mapping.kind].attributes.get(level, "attr.")
        columns = list(spec.get("columns", []))
        problems += [f"attributes.{level}: no column {c!r}" for c in columns if c not in available]
        if "prefix" in spec:
            named = set(columns)
            columns += sorted(c for c in available if c.startswith(spec["prefix"]) and c not in named)
        for column in columns:
            if column in available:
                name = column.removeprefix(spec.get("prefix", "")).split(".")[-1]
                exprs.append(pl.col(column).cast(pl.String).alias(prefix + name))
    return exprs
