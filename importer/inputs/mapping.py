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

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from importer.errors import InputError
from importer.frame import FILE_COL, REJECT_COL, RID_COL, ROW_COL, UNJOINED_COL, UNMATCHED_COL, UNREADABLE_COL
from importer.inputs import conversions, joins
from importer.inputs.files import ReadOptions, read_file, read_inputs
from importer.inputs.set_aside import without_blank_rows
from importer.records import normalise
from schemas.customers import CUSTOMER_FIELDS
from schemas.orders import ORDER_FIELDS, PRODUCT_FIELDS

TARGETS = {"customers": set(CUSTOMER_FIELDS), "orders": {*ORDER_FIELDS, *PRODUCT_FIELDS}}
DYNAMIC_TARGETS = {"customers": ("attr.", "consent."), "orders": ("attr.", "product.attr.")}
PRESETS = Path(__file__).resolve().parent / "presets"
ATTRIBUTE_TARGETS = {"customers": {"customer": "attr."}, "orders": {"order": "attr.", "product": "product.attr."}}
_FIELD_KEYS = {"column", "value", "template", "format", "dayfirst", "timezone", "number", "map", "default",
               "lower", "upper", "unless", "conflict"}
CONFLICTS = ("first", "last", "reject")  # when the lines of an order disagree on a field
_SOURCE_KEYS = {"path", "encoding", "delimiter", "join", "null", "unmatched"}
UNMATCHED_CHOICES = ("reject", "drop")
WHOLE_NUMBER_TARGETS = {"product.quantity", "product.returned", "websiteId"}  # "2.0000" is 2 for these


@dataclass(frozen=True)
class Source:
    """A named table of the mapping; ``path`` None means a FILE given on the command line."""

    name: str
    path: Path | None
    encoding: str | None = None
    delimiter: str | None = None
    join_on: str | None = None  # a column of the tables before it (driving or joined)
    join_to: str | None = None  # its own column
    null: str | None = None  # a cell holding exactly this text is empty (MySQL tools write NULL)
    unmatched: str = "reject"  # a driving row this join finds no row for: "reject" it, or "drop" it

    @property
    def join(self) -> joins.Join:
        """The source's join (a joined source: ``join_on`` and ``join_to`` are set)."""
        assert self.join_on is not None and self.join_to is not None
        return joins.Join(self.name, self.join_on, self.join_to, drop=self.unmatched == "drop")


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file."""

    path: Path
    kind: str
    sources: list[Source]
    fields: dict[str, dict[str, Any]]
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> dict[str, str]:
        """Order-level field -> whose value to take when an order's lines disagree (``conflict = ...``)."""
        return {target: str(spec["conflict"]) for target, spec in self.fields.items() if "conflict" in spec}


def preset_path(name: str, kind: str) -> Path:
    """The mapping file of a preset (``importer/presets/<name>-<kind>.toml``); InputError if none."""
    path = PRESETS / f"{name}-{kind}.toml"
    if not path.exists():
        known = sorted({p.stem.rsplit("-", 1)[0] for p in PRESETS.glob(f"*-{kind}.toml")})
        raise InputError(f"There is no preset {name!r} for {kind}.", "Presets: " + ", ".join(known) + ".")
    return path


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
    if kind not in TARGETS:
        problems.append(f"kind must be \"customers\" or \"orders\", not {kind!r}")
        kind = "orders"
    sources = _sources(raw.get("sources", {}), path.parent, problems)
    fields = {}
    for target, spec in raw.get("fields", {}).items():
        fields[target] = _field(target, spec, kind, problems)
    attributes = raw.get("attributes", {})
    for level, spec in attributes.items():
        if level in ("ignore", "kind"):
            problems.append(f"{level} is inside [attributes]: in TOML a key after a [table] belongs to it, "
                            f"so put {level} = ... before the first [table]")
        elif level not in ATTRIBUTE_TARGETS[kind]:
            problems.append(f"attributes.{level}: use {' or '.join(ATTRIBUTE_TARGETS[kind])} for {kind}")
        elif not isinstance(spec, dict) or not ({"columns", "prefix"} & set(spec)):
            problems.append(f"attributes.{level}: give columns = [...] or prefix = \"...\"")
    unknown = set(raw) - {"kind", "sources", "fields", "attributes", "ignore"}
    problems += [f"unknown setting {name!r}" for name in sorted(unknown)]
    if problems:
        raise InputError(
            f"The mapping file {path} has {len(problems)} problem(s): " + "; ".join(problems) + ".",
            "See docs/mapping.md for the format; `ecdp-import inspect FILE` suggests a starting point.",
        )
    return Mapping(path, kind, sources, fields, attributes, list(raw.get("ignore", [])))


def _sources(raw: dict[str, Any], base: Path, problems: list[str]) -> list[Source]:
    sources = []
    for position, (name, spec) in enumerate(raw.items()):
        join = spec.get("join")
        if position > 0 and not (isinstance(join, dict) and {"on", "to"} <= set(join)):
            problems.append(f"sources.{name}: a joined source needs join = {{ on = \"...\", to = \"...\" }}")
            join = None
        problems += [f"sources.{name}: unknown setting {k!r}" for k in sorted(set(spec) - _SOURCE_KEYS)]
        null = spec.get("null")
        if null is not None and not isinstance(null, str):
            problems.append(f"sources.{name}: null must be a text, e.g. null = \"NULL\"")
            null = None
        unmatched = spec.get("unmatched", "reject")
        if unmatched not in UNMATCHED_CHOICES:
            problems.append(f"sources.{name}: unmatched must be \"reject\" or \"drop\", not {unmatched!r}")
            unmatched = "reject"
        elif position == 0 and "unmatched" in spec:
            problems.append(f"sources.{name}: unmatched belongs on a joined source, not the driving table")
        path = spec.get("path")
        sources.append(Source(name, base / path if path else None, spec.get("encoding"), spec.get("delimiter"),
                              join["on"] if join else None, join["to"] if join else None, null, unmatched))
    return sources or [Source("main", None)]


def _field(target: str, spec: Any, kind: str, problems: list[str]) -> dict[str, Any]:
    if target not in TARGETS[kind] and not target.startswith(DYNAMIC_TARGETS[kind]):
        problems.append(f"fields.{target}: not a {kind} field")
    if isinstance(spec, str):
        return {"column": spec}
    if not isinstance(spec, dict):
        problems.append(f"fields.{target}: give a column name or a table")
        return {}
    if len({"column", "value", "template"} & set(spec)) != 1:
        problems.append(f"fields.{target}: give exactly one of column, value, template")
    problems += [f"fields.{target}: unknown setting {k!r}" for k in sorted(set(spec) - _FIELD_KEYS)]
    if "format" in spec and "%" not in str(spec["format"]):
        problems.append(f"fields.{target}: format {spec['format']!r} has no strptime directive (e.g. %d.%m.%Y)")
    if "timezone" in spec:
        try:
            ZoneInfo(str(spec["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"fields.{target}: unknown time zone {spec['timezone']!r} "
                            "(use an IANA name, e.g. Europe/Warsaw)")
    if "map" in spec and not isinstance(spec["map"], dict):
        problems.append(f"fields.{target}: map must be a table of value = replacement")
    if "unless" in spec and not isinstance(spec["unless"], str):
        problems.append(f"fields.{target}: unless must name a column")
    if "conflict" in spec:
        order_level = kind == "orders" and not target.startswith("product.")
        if spec["conflict"] not in CONFLICTS:
            problems.append(f"fields.{target}: conflict must be \"first\", \"last\" or \"reject\", not "
                            f"{spec['conflict']!r}")
        elif not order_level or target == "id":
            problems.append(f"fields.{target}: conflict is for the order-level fields of orders (date, status, "
                            "customer.email, attr.*, ...): a product's fields are its line's own")
    return spec


def apply_mapping(
    mapping: Mapping, files: Sequence[Path], options: ReadOptions | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(canonical frame, driving table as read): sources read, joined and mapped."""
    driving, *joined = mapping.sources
    paths, given = _files_for_sources(mapping, list(files))
    original = read_inputs(paths, _read_options(driving, options))
    table = _nulls(original, driving)
    problems: list[str] = []
    for source in joined:
        table = _join(table, source, given.get(source.name, source.path), options, problems)
    available = set(table.columns)
    exprs = [_expression(target, spec, available, problems) for target, spec in mapping.fields.items()]
    attrs = _attribute_columns(mapping, available, problems)
    if problems:
        order = f" (FILEs are read as: {_file_order(mapping)})" if given else ""
        raise InputError(f"The mapping {mapping.path} does not fit the input{order}: " + "; ".join(problems) + ".",
                         "Check the column names with `ecdp-import inspect FILE`.")
    rejects = [r for _, r in exprs if r is not None]
    reasons = pl.concat_str(rejects, separator="; ", ignore_nulls=True)
    reject = [pl.when(reasons != "").then(reasons).alias(REJECT_COL)] if rejects else []
    mapped = table.select(RID_COL, FILE_COL, ROW_COL, *[e for e, _ in exprs], *attrs, *reject,
                          *[c for c in (UNREADABLE_COL, UNJOINED_COL, UNMATCHED_COL) if c in table.columns])
    return mapped, original


def unmapped_columns(mapping: Mapping, original: pl.DataFrame) -> list[str]:
    """Driving-table columns the mapping neither uses nor ignores (worth a warning)."""
    used = {str(spec.get(key, "")) for spec in mapping.fields.values() for key in ("column", "unless")}
    used |= {str(s.join_on) for s in mapping.sources if s.join_on}
    used |= {m for spec in mapping.fields.values() for m in re.findall(r"\{([^}]+)\}", str(spec.get("template", "")))}
    for spec in mapping.attributes.values():
        used |= set(spec.get("columns", []))
        used |= {c for c in original.columns if "prefix" in spec and c.startswith(spec["prefix"])}
    bookkeeping = (RID_COL, FILE_COL, ROW_COL, UNREADABLE_COL)
    return [c for c in original.columns if c not in (*used, *mapping.ignore, *bookkeeping)]


def _files_for_sources(mapping: Mapping, files: list[Path]) -> tuple[list[Path], dict[str, Path]]:
    """The driving table's files, and the FILE given for each joined source without a path."""
    driving, *joined = mapping.sources
    wanted = [s.name for s in joined if s.path is None]
    if not wanted:
        paths = files or ([driving.path] if driving.path else [])
        if not paths:
            raise InputError(f"No input: {mapping.path} names no file for {driving.name}.", "Name the export file.")
        return paths, {}
    if len(files) != 1 + len(wanted):
        raise InputError(
            f"The mapping {mapping.path} reads {1 + len(wanted)} files, in this order: {_file_order(mapping)}; "
            f"{len(files)} given.",
            f"Give them in that order, e.g. ecdp-import {mapping.kind} "
            + " ".join(f"{name}.csv" for name in [driving.name, *wanted]) + f" {_mapping_option(mapping)}",
        )
    return [files[0]], dict(zip(wanted, files[1:], strict=True))


def _file_order(mapping: Mapping) -> str:
    """The sources that take the command line's FILEs, in the order the FILEs are given."""
    driving, *joined = mapping.sources
    return ", ".join([driving.name, *[s.name for s in joined if s.path is None]])


def _mapping_option(mapping: Mapping) -> str:
    """How the user named this mapping on the command line: --preset NAME or --mapping PATH."""
    if mapping.path.parent == PRESETS:
        return f"--preset {mapping.path.stem.rsplit('-', 1)[0]}"
    return f"--mapping {mapping.path}"


def _nulls(frame: pl.DataFrame, source: Source) -> pl.DataFrame:
    """Cells holding exactly the source's ``null`` text made empty (the frame as read is kept for the report)."""
    if source.null is None:
        return frame
    columns = [c for c in frame.columns if c not in (RID_COL, FILE_COL, ROW_COL, UNREADABLE_COL)]
    return frame.with_columns(pl.when(pl.col(c).cast(pl.String) != source.null).then(pl.col(c)).alias(c)
                              for c in columns)


def _read_options(source: Source, options: ReadOptions | None) -> ReadOptions:
    """The source's own encoding/delimiter, else the command line's, else detection."""
    base = options or ReadOptions()
    return ReadOptions(encoding=source.encoding or base.encoding, delimiter=source.delimiter or base.delimiter,
                       limits=base.limits)


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
        problems.append(f"sources.{source.name}: {path.name} has no column {source.join_to!r}")
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
        path = given.get(source.name, source.path)
        other = _joined_source(table, source, path, options, problems)
        if other is None:
            raise InputError(f"The mapping {mapping.path} does not fit the input: " + "; ".join(problems) + ".",
                             "Check the column names with `ecdp-import inspect FILE`.")
        matched = joins.with_matches(table, other, source.join)
        rates.append(joins.rate(matched, source.join, path.name if path else source.name))
        table = joins.note_misses(matched, source.join).drop(joins.MATCHES)
    return table.height, rates


def _expression(target: str, spec: dict[str, Any], available: set[str],
                problems: list[str]) -> tuple[pl.Expr, pl.Expr | None]:
    """The target column, and (for ``default = "reject"``) the reason a row is rejected, or None."""
    if "value" in spec:
        expr = pl.lit(str(spec["value"]), dtype=pl.String)
    elif "template" in spec:
        names = re.findall(r"\{([^}]+)\}", spec["template"])
        problems += [f"fields.{target}: no column {n!r}" for n in names if n not in available]
        parts = re.split(r"\{[^}]+\}", spec["template"])
        pieces: list[pl.Expr] = []
        for i, name in enumerate(names):
            pieces += [pl.lit(parts[i]), pl.col(name).fill_null("") if name in available else pl.lit("")]
        expr = pl.concat_str([*pieces, pl.lit(parts[-1])])
    else:
        column = spec.get("column", "")
        if column not in available:
            problems.append(f"fields.{target}: no column {column!r}")
            return pl.lit(None, dtype=pl.String).alias(target), None
        expr = pl.col(column).cast(pl.String)
    expr = normalise.blank_to_null(expr)
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
    reject = None
    if "map" in spec:
        expr, reject = conversions.value_map(target, expr, spec["map"], spec.get("default", "keep"))
    if "number" in spec:
        formats = spec["number"] if isinstance(spec["number"], dict) else {}
        expr = conversions.number(expr, formats, target in WHOLE_NUMBER_TARGETS)
    if "format" in spec or spec.get("dayfirst") or "timezone" in spec:
        expr = conversions.date_time(expr, spec)
    return expr.alias(target), reject


def _attribute_columns(mapping: Mapping, available: set[str], problems: list[str]) -> list[pl.Expr]:
    exprs = []
    for level, spec in mapping.attributes.items():
        prefix = ATTRIBUTE_TARGETS[mapping.kind].get(level, "attr.")
        columns = list(spec.get("columns", []))
        problems += [f"attributes.{level}: no column {c!r}" for c in columns if c not in available]
        if "prefix" in spec:
            columns += sorted(c for c in available if c.startswith(spec["prefix"]) and c not in columns)
        for column in columns:
            if column in available:
                name = column.removeprefix(spec.get("prefix", "")).split(".")[-1]
                exprs.append(pl.col(column).cast(pl.String).alias(prefix + name))
    return exprs
