"""The documentation: every command, option and exit code the CLI has is documented, and every relative
link in the README and docs/ resolves (the file, and the heading an anchor names)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from importer.cli import cli
from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCS = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
CLI_REFERENCE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command, those of subgroups (``config check``) included, by its full name."""
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_command_has_help_and_is_documented(name, command):
    assert command.help and len(command.help) > 20
    assert f"ecdp-import {name}" in README  # the README's command list
    assert f"ecdp-import {name}" in CLI_REFERENCE or f"`{name}`" in CLI_REFERENCE


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_option_is_documented(name, command):
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts} has no help"
            assert any(f"`{opt}" in DOCS for opt in param.opts), f"{name} {param.opts[0]} missing in docs/"


def test_exit_codes_are_documented():
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |"):
        assert code in README


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # (a # in code is no heading)
    return {_slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


@pytest.mark.parametrize("page", [ROOT / "README.md", ROOT / "SECURITY.md", *PAGES], ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    links = LINK.findall(re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S))
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    for link in local:
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} points at nothing"
        if anchor:
            assert anchor in _anchors(target), f"{page.name}: {link}: {target.name} has no heading #{anchor}"


def test_every_preset_is_named_in_the_cli_reference():
    """Each platform of importer/inputs/presets (``<platform>-<kind>*.toml``) in the row of ``--preset``."""
    platforms = {path.name.split("-")[0] for path in (ROOT / "importer" / "inputs" / "presets").glob("*.toml")}
    [row] = [line for line in CLI_REFERENCE.splitlines() if line.startswith("| `--preset NAME`")]
    assert platforms >= {"shopify", "woocommerce", "magento"}
    assert all(f"`{platform}`" in row for platform in platforms), (platforms, row)


def test_the_readme_is_a_front_page():
    assert len(README.splitlines()) <= 250
    assert "make demo" in README and "make test" in README
