"""The config file on the command line: ``--config``, ``--profile``, the key's source, ``config check``.

``ConfiguredCommand`` reads ``--config``/``--profile`` (or ``ECDP_CONFIG``/``ECDP_PROFILE``) before click
parses the other options, and hands the file's values to click as the command's ``default_map``. click
then applies exactly the documented precedence: command line > environment variable > default_map (the
profile over the file's defaults) > built-in default. A run checks the parts of the file it uses (and
refuses any key written anywhere in it); ``config check`` checks all of it.

The API key is looked up, never stored: ``--api-key-file`` / ``--api-key-env`` on the command line, then
``ECDP_API_KEY``, then the profile's (or the defaults') ``api-key-file`` / ``api-key-env``. Where it
came from (a file path or a variable name, never the key) is recorded for the report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from importer.cli import config_file
from importer.errors import UsageError
from importer.settings import API_KEY_ENV, ApiKey, load_api_key

HELP_FLAGS = frozenset({"-h", "--help"})
FROM_USER = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT, ParameterSource.PROMPT)


def catalogue(root: click.Group) -> dict[str, dict[str, click.Option]]:
    """The options a config file may set, per command (the commands that take ``--profile``)."""
    found = {}
    for name, command in root.commands.items():
        options = {p.name: p for p in command.params if isinstance(p, click.Option) and p.name}
        if "profile" in options:
            found[name] = {k: v for k, v in options.items() if k not in ("config_file", "profile")}
    return found


def _peek(args: Sequence[str], names: tuple[str, ...]) -> str | None:
    """The last value of an option among raw arguments (before ``--``), without parsing the rest."""
    value = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        for name in names:
            if arg == name and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith(name + "="):
                value = arg[len(name) + 1 :]
    return value


class ConfiguredCommand(click.Command):
    """A command whose defaults come from the config file (when it takes ``--profile``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_profile = any(p.name == "profile" for p in self.params)
        if takes_profile and not ctx.resilient_parsing and not HELP_FLAGS & set(args):
            explicit = _peek(args, ("--config",))
            path = config_file.find(Path(explicit) if explicit else None)
            profile = _peek(args, ("--profile",)) or os.environ.get(config_file.PROFILE_ENV) or None
            if path is None and profile is not None:
                raise UsageError(
                    f"--profile {profile}: there is no config file ({config_file.CONFIG_NAME} in the "
                    "working directory, --config PATH or ECDP_CONFIG).",
                    "Create one (docs/configuration.md has an example) or leave out --profile.",
                )
            if path is not None:
                root = ctx.find_root().command
                assert isinstance(root, click.Group)
                ctx.default_map = defaults(path, self.name or "", root, profile)
        return super().parse_args(ctx, args)


def defaults(path: Path, command: str, root: click.Group, profile: str | None) -> dict[str, Any]:
    """The default_map of ``command``; raises UsageError listing the problems of the parts it uses."""
    loaded = config_file.load(path)
    known = catalogue(root)
    found = config_file.problems(loaded, known, profile, every_profile=False)
    if found:
        raise UsageError(_listing(path, found), f"Check the whole file with: ecdp-import config check --config {path}")
    return config_file.defaults_for(loaded, command, known[command], profile)


def _listing(path: Path, found: Sequence[config_file.Problem]) -> str:
    count = f"{len(found)} problem" + ("" if len(found) == 1 else "s")
    return f"The config file {path} has {count}:\n" + "\n".join(f"  - {p}" for p in found)


def _source(ctx: click.Context, name: str) -> ParameterSource | None:
    return ctx.get_parameter_source(name) if name in ctx.params else None


def key_source(
    ctx: click.Context, common: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """(``file`` or ``env``, path or variable name) of the API key, by the documented precedence; None: none."""
    env = os.environ if environ is None else environ
    key_file, key_env = common.get("api_key_file"), common.get("api_key_env")
    if key_file is not None and _source(ctx, "api_key_file") in FROM_USER:
        return "file", str(key_file)
    if key_env and _source(ctx, "api_key_env") in FROM_USER:
        return "env", key_env
    if env.get(API_KEY_ENV, "").strip():
        return "env", API_KEY_ENV
    if key_file is not None:
        return "file", str(key_file)
    if key_env:
        return "env", key_env
    return None


def load_key(
    ctx: click.Context, common: Mapping[str, Any], dry_run: bool, warn: Callable[[str], None]
) -> ApiKey | None:
    """The API key for a run; None for a dry run without one. A key that is named but missing is an error,
    except in a dry run for a variable named by the config file (the job's environment may set it)."""
    source = key_source(ctx, common)
    if source is None:
        return None if dry_run else load_api_key(None, environ={})
    kind, where = source
    if kind == "file":
        return load_api_key(Path(where), warn=warn)
    value = os.environ.get(where, "").strip()
    if value:
        return ApiKey(value)
    if dry_run and _source(ctx, "api_key_env") == ParameterSource.DEFAULT_MAP:
        return None
    raise UsageError(
        f"No API key: the environment variable {where} is not set or empty.",
        f"Set {where} in the job's environment (crontab, systemd EnvironmentFile), or use --api-key-file.",
    )


def origin(ctx: click.Context, common: Mapping[str, Any]) -> dict[str, str]:
    """Where the run's settings came from, for the summary and the report (names and paths, never the key)."""
    path = config_file.find(common.get("config_file"))
    found = {"config": str(path)} if path is not None else {}
    if common.get("profile"):
        found["profile"] = str(common["profile"])
    if common.get("sandbox"):
        found["key"] = "the built-in sandbox"
    else:
        source = key_source(ctx, common)
        if source is not None:
            by = (
                " (config file)"
                if _source(ctx, f"api_key_{source[0]}") == ParameterSource.DEFAULT_MAP and source[1] != API_KEY_ENV
                else ""
            )
            found["key"] = ("file " if source[0] == "file" else "environment variable ") + source[1] + by
    return found


def check(explicit: Path | None, profile: str | None, root: click.Group) -> str:
    """``config check``: every problem at once (UsageError), or what the file sets up, in a few lines."""
    path = config_file.find(explicit)
    if path is None:
        raise UsageError(
            f"There is no config file: no {config_file.CONFIG_NAME} in the working directory, and no "
            "--config or ECDP_CONFIG.",
            "Create one: docs/configuration.md has an example.",
        )
    loaded = config_file.load(path)
    found = config_file.problems(loaded, catalogue(root), profile, every_profile=True)
    if found:
        raise UsageError(_listing(path, found), "Every setting is described in docs/configuration.md.")
    lines = [f"{path}: no problems."]
    defaults_table = loaded.data.get("defaults", {})
    lines.append(f"  defaults: {_describe(defaults_table)}")
    for name, table in loaded.profiles.items():
        if profile is None or name == profile:
            lines.append(f"  profile {name}: {_describe(table)}")
    return "\n".join(lines)


def _describe(table: dict[str, Any]) -> str:
    """The settings of a table in one line; the key source as where it is and whether it is there now."""
    parts = []
    for key, value in table.items():
        name = key.replace("-", "_")
        if isinstance(value, dict):
            parts.append(f"[{key}] {_describe(value)}")
        elif name == "api_key_env":
            state = "set" if os.environ.get(value, "").strip() else "not set here"
            parts.append(f"key from ${value} ({state})")
        elif name == "api_key_file":
            parts.append(f"key from file {value}")
        else:
            parts.append(f"{key.replace('_', '-')} {value}")
    return ", ".join(parts) or "(none)"
