"""The README documents every command, option and exit code the CLI has."""

from __future__ import annotations

import click
import pytest

from importer.cli import cli
from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help_and_is_documented(name):
    command = cli.commands[name]
    assert command.help and len(command.help) > 20
    assert f"ecdp-import {name}" in README


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_documented(name):
    for param in cli.commands[name].params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts} has no help"
            assert any(f"`{opt}" in README for opt in param.opts), f"{name} {param.opts[0]} missing in README"


def test_exit_codes_are_documented():
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert code in README
