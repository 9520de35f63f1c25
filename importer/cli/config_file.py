"""The configuration file ``ecdp-import.toml``: defaults for every option, and one profile per business unit.

::

    [defaults]                      # every command that has the option
    max-rejects = "5%"
    [defaults.orders]               # one command only
    mode = "AddOrReplace"
    [profiles.shop-pl]              # --profile shop-pl
    api-url = "https://api.ecdp.app"
    api-key-env = "ECDP_KEY_SHOP_PL"   # the NAME of the variable holding the key (or api-key-file = PATH)
    [profiles.shop-pl.customers]
    match-by = "Email"

Keys are the long option names (``chunk-size`` or ``chunk_size``). The file is found in the working
directory, or given with ``--config`` / ``ECDP_CONFIG``. Relative paths in it are relative to the file.
Precedence (click's ``default_map``): command line > environment > profile > file defaults > built-in.

The file never holds the API key: a key-like setting (``api-key``, ``token``...) is refused for every
run with a sentence saying what to write instead, and no message here ever repeats a value that could
be a key. ``problems`` lists every problem of a file at once (``ecdp-import config check``).
This module knows the file; ``importer.cli.config_options`` connects it to the command line.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from importer.errors import UsageError
from importer.settings import check_api_url

CONFIG_NAME = "ecdp-import.toml"
CONFIG_ENV, PROFILE_ENV = "ECDP_CONFIG", "ECDP_PROFILE"
META = frozenset({"config", "profile", "help", "version"})  # chosen on the command line, not in the file
KEY_SOURCES = ("api_key_env", "api_key_file")
PATHS = frozenset({"api_key_file", "mapping", "items", "report_dir", "state"})  # relative to the file
_SECRET = re.compile(r"^(x_)?(api_?)?(key|token|secret|password)s?$|^(ecdp_)?api_?key$")
_KEYLIKE = re.compile(r"[A-Za-z0-9+/=_.-]{20,}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_NO_KEY = (
    "the config file must not hold the API key itself: name the environment variable that holds it "
    '(api-key-env = "ECDP_KEY_SHOP_PL") or the file (api-key-file = "/etc/ecdp/shop-pl.key", chmod 600)'
)
Catalogue = Mapping[str, Mapping[str, click.Option]]  # command name -> option name -> option


@dataclass(frozen=True)
class Problem:
    """One problem of a config file: where (``profiles.shop-pl.chunk-size``) and what, in words."""

    where: str
    text: str
    secret: bool = False  # a key in the file: refused for every run, whatever profile it uses

    def __str__(self) -> str:
        return f"{self.where}: {self.text}" if self.where else self.text


@dataclass(frozen=True)
class ConfigFile:
    """A parsed ``ecdp-import.toml``."""

    path: Path
    data: dict[str, Any]

    @property
    def profiles(self) -> dict[str, Any]:
        profiles = self.data.get("profiles")
        return profiles if isinstance(profiles, dict) else {}

    def resolve(self, value: str) -> str:
        """A path from the file, relative to the file's directory (``~`` expanded)."""
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else self.path.parent / path)


def find(explicit: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """``--config``, else ``$ECDP_CONFIG``, else ``ecdp-import.toml`` in the working directory, else None."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    here = Path(CONFIG_NAME)
    return here if here.is_file() else None


def load(path: Path) -> ConfigFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"Cannot read the config file {path}: {exc.strerror or exc}.",
            "Check the path given to --config (or ECDP_CONFIG).",
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"The config file {path} is not UTF-8 text.", "Save it as UTF-8.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"The config file {path} is not valid TOML: {exc}.",
            'Strings need quotes: chunk-size = 200, mode = "AddOrUpdate".',
        ) from None
    return ConfigFile(path, data)


def _name(key: str) -> str:
    return key.replace("-", "_")


def _shown(key: str) -> str:
    return key.replace("_", "-")


def problems(
    config: ConfigFile, catalogue: Catalogue, profile: str | None = None, every_profile: bool = True
) -> list[Problem]:
    """Every problem of the file (``every_profile``), or of the parts a run with ``profile`` uses (and any key)."""
    found: list[Problem] = []
    every_option = {name for options in catalogue.values() for name in options}
    for key in config.data:
        if _SECRET.match(_name(key).lower()):
            found.append(Problem(key, _NO_KEY, secret=True))
        elif _name(key) in every_option:
            found.append(Problem(key, "settings go in a table: put it under [defaults] or [profiles.NAME]"))
        elif key not in ("defaults", "profiles"):
            found.append(_unknown("", key, ["defaults", "profiles"], top=True))
    defaults = config.data.get("defaults", {})
    found += _table(config, "defaults", defaults, catalogue)
    profiles = config.data.get("profiles", {})
    if not isinstance(profiles, dict):
        found.append(Problem("profiles", "must be tables: [profiles.NAME]"))
        profiles = {}
    for name, table in profiles.items():
        if not every_profile and name != profile:
            found += [p for p in _table(config, f"profiles.{name}", table, catalogue) if p.secret]
        else:
            found += _table(config, f"profiles.{name}", table, catalogue)
    if profile is not None and profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        found.append(Problem("", f"there is no profile {profile!r} (profiles in the file: {known})"))
    return found


def _table(
    config: ConfigFile, where: str, table: Any, catalogue: Catalogue, command: str | None = None
) -> list[Problem]:
    """Problems of one table of settings; command tables (``[where.orders]``) are checked inside."""
    if not isinstance(table, dict):
        return [Problem(where, "must be a table of settings ([" + where + "])")]
    scope = {command: catalogue[command]} if command else dict(catalogue)
    known = {name for options in scope.values() for name in options}
    found: list[Problem] = []
    sources = [k for k in table if _name(k) in KEY_SOURCES]
    if len(sources) > 1:
        found.append(Problem(where, "give one of api-key-env and api-key-file, not both"))
    for key, value in table.items():
        name, at = _name(key), f"{where}.{key}"
        if _SECRET.match(name.lower()):
            found.append(Problem(at, _NO_KEY, secret=True))
        elif command is None and key in catalogue and isinstance(value, dict):
            found += _table(config, at, value, catalogue, command=key)
        elif name in META:
            found.append(
                Problem(at, f"{_shown(name)} is chosen on the command line (--{_shown(name)}), not in the file")
            )
        elif name not in known:
            found.append(_unknown(where, key, [*sorted(known), *(() if command else catalogue)]))
        else:
            found += _value(config, at, name, value, scope)
    return found


def _unknown(where: str, key: str, known: list[str], top: bool = False) -> Problem:
    close = difflib.get_close_matches(_shown(_name(key)), [_shown(k) for k in known], n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    what = "unknown top-level table" if top else "unknown setting"
    return Problem(f"{where}.{key}" if where else key, f"{what}{hint}")


def _value(config: ConfigFile, at: str, name: str, value: Any, scope: Catalogue) -> list[Problem]:
    """Type, range and choice of one value, checked as the command line checks it, for each command."""
    if name == "api_key_env":
        if not isinstance(value, str) or not _ENV_NAME.match(value) or _looks_secret(value):
            return [
                Problem(
                    at,
                    "must be the name of an environment variable (letters, digits, _), such as "
                    "ECDP_KEY_SHOP_PL; the value is not shown, in case it is the key itself",
                    secret=True,
                )
            ]
        return []
    if isinstance(value, str) and name not in PATHS and _looks_like_key(value):
        return [Problem(at, "the value is not shown: it looks like an API key. " + _NO_KEY, secret=True)]
    having = {command: options[name] for command, options in scope.items() if name in options}
    wrong = _type_problem(next(iter(having.values())), value)
    if wrong:
        return [Problem(at, wrong)]
    failed: dict[str, str] = {}
    for command, option in having.items():
        try:
            for item in value if option.multiple else [value]:
                option.type.convert(item, option, None)
        except click.BadParameter as exc:
            failed[command] = exc.message.rstrip(".")
    if len(failed) == len(having) and len(set(failed.values())) == 1:
        return [Problem(at, next(iter(failed.values())))]  # wrong for every command alike
    if failed:
        base, key = at.rsplit(".", 1)
        tables = " and ".join(f"[{base}.{c}]" for c in having)
        return [
            Problem(at, f"{message} (for {command}): set {key} per command, under {tables}")
            for command, message in failed.items()
        ]
    if name == "api_url":
        try:
            check_api_url(value)
        except UsageError as exc:
            return [Problem(at, exc.message.rstrip("."))]
    return _missing_files(config, at, name, value) if name in PATHS else []


def _type_problem(option: click.Option, value: Any) -> str | None:
    """A TOML value of the wrong kind, in words (before click converts it)."""
    if option.multiple:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "must be a list of strings"
    if option.is_flag:
        return None if isinstance(value, bool) else "must be true or false"
    kind = getattr(option.type, "name", "")
    if kind in ("integer", "integer range"):
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be a whole number"
    if kind in ("float", "float range"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if kind == "budget":
        ok = isinstance(value, (int, str)) and not isinstance(value, bool)
        return None if ok else 'must be a number of rows (50) or a share ("10%")'
    return None if isinstance(value, str) else "must be a string (in quotes)"


def _missing_files(config: ConfigFile, at: str, name: str, value: Any) -> list[Problem]:
    if name not in ("api_key_file", "mapping", "items"):
        return []  # report and state locations are created by the run
    found = []
    for item in value if isinstance(value, list) else [value]:
        path = Path(config.resolve(item))
        if path.is_file():
            continue
        looks_like_path = "/" in item or "." in item or item.startswith("~")
        if name == "api_key_file" and not looks_like_path:
            found.append(
                Problem(
                    at,
                    "no such file (the value is not shown: it does not look like a path; is it the "
                    "key itself? Name the file that holds the key)",
                    secret=True,
                )
            )
        else:
            found.append(Problem(at, f"no such file: {path}"))
    return found


def _looks_secret(value: str) -> bool:
    """An api-key-env value that is more likely a key than a variable name (long, no _, letters and digits)."""
    return len(value) >= 20 and "_" not in value and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _looks_like_key(value: str) -> bool:
    """A setting's value that looks like a key (20+ characters of base64/hex/uuid, letters and digits): not
    repeated in any message, and refused, since the file must not hold the key."""
    return bool(_KEYLIKE.fullmatch(value)) and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def defaults_for(
    config: ConfigFile, command: str, options: Mapping[str, click.Option], profile: str | None
) -> dict[str, Any]:
    """The ``default_map`` of one command: file defaults, then its command table, then the profile's two.

    A table that names a key source (api-key-env or api-key-file) replaces the key source of the tables
    before it, so a profile's key never mixes with a default one.
    """
    tables: list[Any] = [config.data.get("defaults", {})]
    if profile is not None:
        tables.append(config.profiles.get(profile, {}))
    merged: dict[str, Any] = {}
    for table in tables:
        if not isinstance(table, dict):
            continue
        for part in (table, table.get(command)):
            if not isinstance(part, dict):
                continue
            values = {_name(k): v for k, v in part.items() if _name(k) in options and _name(k) not in META}
            if any(k in values for k in KEY_SOURCES):
                for k in KEY_SOURCES:
                    merged.pop(k, None)
            merged.update(values)
    for name in PATHS & merged.keys():
        value = merged[name]
        merged[name] = [config.resolve(v) for v in value] if isinstance(value, list) else config.resolve(value)
    return merged
