"""Presets: the shipped mappings of shop platforms' exports, and which generation of an export a file is.

A preset is one or more mapping files ``presets/<platform>-<kind>*.toml`` (``shopify-customers.toml``,
``shopify-customers-2022.toml``). Each file reads one or more *generations* of the platform's export,
declared in the file as (docs/mapping.md, "Presets and the generations they read")::

    [[generation]]
    name = "Shopify customers export, 2023+ format"
    columns = ["Customer ID", "Default Address Address1"]   # the header holds every one of these
    without = ["Accepts Marketing"]                         # (optional) and none of these

``--preset NAME`` reads the header of the first FILE and takes the generation it fits, the most specific
first (the most columns and without named); a header that fits none takes the closest one (the largest
share of its ``columns`` held, then the fewest of ``without``) and the mapping then names what is
missing, as for any mapping. A preset file without
a ``[[generation]]`` reads one generation, recognised by the columns its fields read.

A file given without ``--preset`` or ``--mapping`` whose header fits a generation of any preset gets one
line naming the preset (:func:`hint`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from importer.errors import InputError
from importer.frame import is_own_column
from importer.inputs.files import ReadOptions, Source, close_reader
from importer.inputs.mapping import PRESETS
from schemas.targets import TARGETS

KINDS = tuple(TARGETS)  # the kinds of mapping a preset may be
PLATFORM_NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce", "magento": "Magento"}
_GENERATION_KEYS = {"name", "columns", "without"}


@dataclass(frozen=True)
class Generation:
    """One generation of a platform's export, and the preset file that reads it."""

    name: str
    preset: str  # shopify
    kind: str  # customers or orders
    path: Path  # the mapping file
    columns: tuple[str, ...]  # the header holds every one of these
    without: tuple[str, ...] = ()  # and none of these

    @property
    def specificity(self) -> int:
        """How much the generation asks of a header: the more, the sooner it is tried."""
        return len(self.columns) + len(self.without)

    def fits(self, header: set[str]) -> bool:
        """The header holds every column of ``columns`` and none of ``without``."""
        return not self.lacking(header) and not self.unexpected(header)

    def lacking(self, header: set[str]) -> list[str]:
        """The recognising columns the header does not hold."""
        return [c for c in self.columns if c not in header]

    def unexpected(self, header: set[str]) -> list[str]:
        """The columns the header holds that this generation does not have."""
        return [c for c in self.without if c in header]

    def closeness(self, header: set[str]) -> tuple[float, int, int]:
        """How close the header comes to fitting: the share of ``columns`` it holds first (a short header
        trivially holds none of ``without``: that is no evidence), then the fewest of ``without``."""
        held = 1 - len(self.lacking(header)) / max(len(self.columns), 1)
        return held, -len(self.unexpected(header)), self.specificity


@dataclass(frozen=True)
class Choice:
    """The generation a header is read as; ``fits`` False when it was only the closest."""

    generation: Generation
    fits: bool
    lacking: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()

    @property
    def read_as(self) -> str:
        """What the run says it read the file as (``read as: ...``)."""
        if self.fits:
            return self.generation.name
        differences = ([f"lacks {', '.join(self.lacking)}"] if self.lacking else []) + (
            [f"has {', '.join(self.unexpected)}"] if self.unexpected else []
        )
        return f"{self.generation.name} (the closest: the header {' and '.join(differences)})"


def preset_names() -> list[str]:
    """Every shipped preset (shopify, woocommerce, ...)."""
    return sorted({platform for platform, _ in _split_names()})


def preset_files(name: str, kind: str) -> list[Path]:
    """The mapping files of a preset for ``kind``, the plain ``<name>-<kind>.toml`` first; InputError if none."""
    files = sorted(
        (p for p in PRESETS.glob(f"{name}-{kind}*.toml") if _split(p) == (name, kind)),
        key=lambda p: (p.stem != f"{name}-{kind}", p.name),
    )
    if not files:
        known = sorted({platform for platform, k in _split_names() if k == kind})
        raise InputError(f"There is no preset {name!r} for {kind}.", "Presets: " + ", ".join(known) + ".")
    return files


def generations(name: str, kind: str) -> list[Generation]:
    """The generations a preset reads for ``kind``, in the order of its files."""
    return [g for path in preset_files(name, kind) for g in _file_generations(path)]


def choose(name: str, kind: str, header: Iterable[str]) -> Choice:
    """The generation of preset ``name`` for ``kind`` that ``header`` fits (the most specific), else the
    closest one."""
    columns = set(header)
    known = generations(name, kind)
    fitting = [g for g in known if g.fits(columns)]
    if fitting:
        return Choice(max(fitting, key=lambda g: g.specificity), True)  # (max keeps the first of equals)
    closest = max(known, key=lambda g: g.closeness(columns))
    return Choice(closest, False, tuple(closest.lacking(columns)), tuple(closest.unexpected(columns)))


def choose_for_files(name: str, kind: str, paths: Sequence[Path], options: ReadOptions) -> Choice:
    """:func:`choose` for the header of the first of ``paths`` (the driving table's)."""
    header = file_header(paths[0], options) if paths else []
    return choose(name, kind, header)


def recognise(header: Iterable[str]) -> Generation | None:
    """The generation of any preset (any kind) that ``header`` fits, the most specific; None if none."""
    columns = set(header)
    fitting = [
        g
        for platform, kind in _split_names()
        for g in generations(platform, kind)
        if len(g.columns) > 1 and g.fits(columns)
    ]
    return max(fitting, key=lambda g: g.specificity) if fitting else None


def hint(header: Iterable[str], command: str | None = None) -> str | None:
    """One line naming the preset whose export ``header`` looks like (for ``command``, the import being
    run), or None when it looks like none."""
    found = recognise(header)
    if found is None:
        return None
    platform = PLATFORM_NAMES.get(found.preset, found.preset.title())
    what = f"This looks like a {platform} {found.kind} export"
    if command is None or command == found.kind:
        return f"{what}: add --preset {found.preset}."
    return f"{what}, not {command}: import it with ecdp-import {found.kind} --preset {found.preset}."


def file_header(path: Path, options: ReadOptions = ReadOptions()) -> list[str]:
    """The columns of a file (its first batch only: a CSV's first piece, bounded)."""
    batches = Source(path, options).batches()
    try:
        first = next(batches)
    finally:  # (the reader holds the file, and a piece of it)
        close_reader(batches)
    return [c for c in first.columns if not is_own_column(c)]


def _split(path: Path) -> tuple[str, str] | None:
    """(platform, kind) of a preset file's name, None for a name of no kind."""
    platform, _, rest = path.stem.partition("-")
    kind = rest.split("-", 1)[0]
    return (platform, kind) if kind in KINDS else None


@cache
def _split_names() -> list[tuple[str, str]]:
    return sorted({split for path in PRESETS.glob("*.toml") if (split := _split(path)) is not None})


@cache
def _file_generations(path: Path) -> list[Generation]:
    """The generations a preset file declares (or the one its fields' columns recognise)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"The preset file {path} cannot be read: {exc}.", "Reinstall ecdp-importer.") from None
    split = _split(path)
    assert split is not None
    platform, kind = split
    declared = raw.get("generation")
    if declared is None:
        name = f"{PLATFORM_NAMES.get(platform, platform.title())} {kind} export"
        return [Generation(name, platform, kind, path, tuple(_columns_read(raw)))]
    problems = []
    if not isinstance(declared, list) or not declared:
        problems.append("generation must be an array of tables: [[generation]]")
        declared = []
    found = []
    for number, spec in enumerate(declared, 1):
        where = f"generation {number}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: not a table")
            continue
        problems += [f"{where}: unknown setting {k!r}" for k in sorted(set(spec) - _GENERATION_KEYS)]
        if not isinstance(spec.get("name"), str) or not spec["name"].strip():
            problems.append(f"{where}: name must be a text")
        columns, without = spec.get("columns"), spec.get("without", [])
        if not _texts(columns) or not columns:
            problems.append(f"{where}: columns must be a list of column names")
        if not _texts(without):
            problems.append(f"{where}: without must be a list of column names")
        if not problems:
            found.append(Generation(spec["name"], platform, kind, path, tuple(columns or ()), tuple(without)))
    if problems:
        raise InputError(
            f"The preset file {path} has {len(problems)} problem(s): " + "; ".join(problems) + ".",
            'See docs/mapping.md, "Presets and the generations they read".',
        )
    return found


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _columns_read(raw: dict[str, Any]) -> list[str]:
    """The driving table's columns a mapping's fields read by ``column`` (not the optional ones)."""
    joined = tuple(f"{name}." for name in list(raw.get("sources", {}))[1:])
    columns = []
    for spec in raw.get("fields", {}).values():
        column = spec if isinstance(spec, str) else spec.get("column") if isinstance(spec, dict) else None
        optional = isinstance(spec, dict) and spec.get("optional")
        if isinstance(column, str) and not optional and not column.startswith(joined) and column not in columns:
            columns.append(column)
    return columns
