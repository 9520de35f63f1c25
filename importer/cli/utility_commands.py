"""The commands around the imports: ``sandbox``, ``inspect``, ``runs``, ``config check`` and ``report``.

Thin like the others: parse options, call the library (the sandbox, ``importer.inputs.profile``,
``importer.jobs.run_history``, ``importer.cli.config_options``, ``importer.report.html_page``), print.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from importer.cli import config_options
from importer.cli.config_options import ConfiguredCommand
from importer.cli.context import import_sources, read_limits
from importer.cli.options import (
    CONFIG_OPTIONS,
    DELIMITER_OPTION,
    ENCODING_OPTION,
    READ_LIMIT_OPTIONS,
    STATE_OPTION,
    options,
    sql_options,
)
from importer.errors import UsageError
from importer.settings import API_KEY_ENV, CUSTOMER_MATCH_FIELDS, default_state
from schemas.targets import TARGETS


@click.command(cls=ConfiguredCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file that keeps the data across restarts (default: in memory).",
)
@click.option(
    "--api-key",
    "sandbox_key",
    help=f"The key the sandbox accepts (default: env {API_KEY_ENV}, else a random key it prints). "
    "A sandbox key is local; never pass a real platform key here.",
)
@click.option(
    "--identification",
    type=click.Choice(list(CUSTOMER_MATCH_FIELDS)),
    default="Email",
    show_default=True,
    help="The business unit's customer identifier, required on every order.",
)
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0, help="Fault: wait this long before each answer.")
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fault: share of requests answered 500/502/503 without processing them.",
)
@click.option(
    "--throttle-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fault: share of requests answered 429 with Retry-After without processing them.",
)
@click.option(
    "--retry-after",
    "retry_after_s",
    type=click.FloatRange(min=0),
    default=1,
    show_default=True,
    help="Fault: the seconds a --throttle-rate 429 asks to wait (Retry-After), e.g. 100000.",
)
@click.option(
    "--big-error-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fault: share of requests answered 400 with a body of --big-error-bytes, naming no record.",
)
@click.option(
    "--big-error-bytes",
    type=click.IntRange(min=256),
    default=1 << 20,
    show_default=True,
    help="Fault: the size of a --big-error-rate answer.",
)
@click.option(
    "--html-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fault: share of requests answered 200 with an HTML login page (as a proxy), not processed.",
)
@click.option(
    "--drip-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fault: share of requests processed, then answered one byte per --drip-interval.",
)
@click.option(
    "--drip-interval",
    "drip_interval_s",
    type=click.FloatRange(min=0.001),
    default=1.0,
    show_default=True,
    help="Fault: seconds between the bytes of a --drip-rate answer.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Fault: requests per second allowed; beyond it 429 with Retry-After.",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fault: share of requests processed but answered by closing the connection.",
)
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=None,
    help="Fault: bodies larger than this many bytes are answered 413.",
)
@click.option("--seed", type=int, default=None, help="Seed of the random faults, for a reproducible run.")
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file of attribute and consent definitions to serve and enforce (default: demo lists, "
    "not enforced), and of the custom events it knows.",
)
@click.option(
    "--custom-event",
    "custom_event_ids",
    type=click.IntRange(-(2**31), 2**31 - 1),
    multiple=True,
    help="A custom event id POST /scenariocustomevents accepts (repeatable; added to the --settings "
    "file's customEvents; default: 1, 2 and 3).",
)
def sandbox(
    host: str,
    port: int,
    db: Path | None,
    sandbox_key: str | None,
    identification: str,
    settings_file: Path | None,
    custom_event_ids: tuple[int, ...],
    **faults: Any,
) -> None:
    """Run the built-in sandbox: a local server that behaves like the documented API."""
    import secrets

    from importer.sandbox import CustomEvent, Faults, serve

    settings = _sandbox_settings(settings_file)
    key = sandbox_key or os.environ.get(API_KEY_ENV, "").strip()
    if key:
        click.echo("Sandbox key: the one given" + ("" if sandbox_key else f" in {API_KEY_ENV}") + ".", err=True)
    else:
        key = secrets.token_urlsafe(16)
        click.echo(f"Sandbox key (random): {key}  (export {API_KEY_ENV}=... to use it)", err=True)
    click.echo(
        f"Sandbox listening on http://{host}:{port}"
        + (f", data in {db}" if db else ", data in memory")
        + ". Ctrl-C stops it.",
        err=True,
    )
    try:
        injected = Faults(**faults)
    except ValueError as exc:
        raise UsageError(str(exc), "See ecdp-import sandbox --help for the fault options.") from None
    if settings is not None:
        click.echo(f"Settings from {settings_file}: served and enforced.", err=True)
    custom_events = [CustomEvent(event_id, f"customEvent{event_id}") for event_id in custom_event_ids] or None
    serve(
        host=host,
        port=port,
        db=str(db) if db else None,
        api_key=key,
        identification=identification,
        faults=injected,
        settings=settings,
        custom_events=custom_events,
    )


def _sandbox_settings(path: Path | None) -> Any:
    """The declared settings of ``sandbox --settings``, or None (the demo lists, not enforced)."""
    from importer.sandbox.definitions import SettingsFileError, load_settings

    if path is None:
        return None
    try:
        return load_settings(path)
    except SettingsFileError as exc:
        raise UsageError(str(exc), "See docs/cli.md, 'sandbox', for the settings file's format.") from None


@click.command(cls=ConfiguredCommand)
@click.argument("files", nargs=-1)  # text: a URL (s3://, https://) is a file too
@options(ENCODING_OPTION, DELIMITER_OPTION, *READ_LIMIT_OPTIONS)
@click.option(
    "--suggest",
    type=click.Choice(list(TARGETS)),
    help="Also print a mapping file skeleton (TOML) for this kind of import.",
)
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Instead, check this mapping's joins: how many rows of FILES each joined source matches.",
)
@click.option("--preset", help="Like --mapping, with a preset's mapping (shopify, woocommerce, magento).")
@click.option(
    "--kind",
    type=click.Choice(list(TARGETS)),
    default="orders",
    show_default=True,
    help="The preset's kind, with --preset.",
)
@sql_options
def inspect(
    files: tuple[str, ...],
    encoding: str | None,
    delimiter: str | None,
    suggest: str | None,
    mapping_file: Path | None,
    preset: str | None,
    kind: str,
    **limits: Any,
) -> None:
    """Describe export FILES (or a SQL query's rows: --db, --sql): encoding, delimiter, rows, columns with types,
    blanks and samples; with --mapping or --preset, how well the mapping's joins match FILES, before anything
    is sent."""
    from importer.inputs.files import ReadOptions
    from importer.inputs.locations import local_copies, renamed, shown
    from importer.inputs.presets import hint
    from importer.inputs.profile import inspect_file, render_inspection, suggest_mapping

    sources = import_sources(files, limits)
    options = ReadOptions(encoding=encoding, delimiter=delimiter, limits=read_limits(limits))
    if not sources and mapping_file is None and preset is None:
        raise UsageError("No FILES to inspect.", "Name the export files, e.g. ecdp-import inspect orders.csv.")
    with local_copies(sources) as paths:
        if mapping_file is not None or preset is not None:
            click.echo(renamed(_join_report(tuple(paths), options, mapping_file, preset, kind)))
            return
        for path in paths:
            found = inspect_file(path, options)
            click.echo(renamed(render_inspection(found)))
            looks_like = hint(column.name for column in found.columns)
            if looks_like:
                click.echo(looks_like)
            if suggest:
                name = shown(path).rsplit("/", 1)[-1]
                click.echo(f"\n# A starting point for --mapping (save it next to {name} and check every line):")
                click.echo(renamed(suggest_mapping(found, suggest)))


def _join_report(
    files: tuple[Path, ...], options: Any, mapping_file: Path | None, preset: str | None, kind: str
) -> str:
    """``inspect --mapping``: the driving table's rows, and a line per joined source."""
    from importer.inputs.mapping import join_rates, load_mapping
    from importer.inputs.presets import choose_for_files

    if mapping_file is not None and preset is not None:
        raise UsageError("--mapping and --preset cannot be combined.", "Give one of them.")
    choice = None if mapping_file is not None else choose_for_files(str(preset), kind, files, options)
    mapping = load_mapping(choice.generation.path if choice is not None else mapping_file or Path())
    rows, rates = join_rates(mapping, files, options)
    head = (
        f"Mapping {mapping.path.name} ({mapping.kind}): {rows:,} rows in the driving table "
        f"{mapping.sources[0].name} (blank rows left out)"
    )
    if choice is not None:
        head = f"read as: {choice.read_as}\n" + head
    if not rates:
        return head + "; it joins no other source, so every row is its own."
    return "\n".join([head + "; its joins:", *(f"  {rate.describe()}" for rate in rates)])


@click.command(cls=ConfiguredCommand)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many runs to show.")
@STATE_OPTION
@options(*CONFIG_OPTIONS)
def runs(limit: int, state: Path | None, **_config: Any) -> None:  # (--config, --profile: read for the defaults)
    """List recent runs from the journal: when, what, counts, exit code, report directory, series."""
    from importer.jobs.run_history import recent_runs

    rows = recent_runs(state or default_state(), limit)
    if not rows:
        click.echo("No runs recorded yet.")
        return
    click.echo(
        f"{'run':<23} {'command':<9} {'started (UTC)':<20} {'status':<11} {'exit':>4} {'read':>8} "
        f"{'accepted':>8} {'rejected':>8} {'failed':>7}  report  series"
    )
    for r in rows:
        click.echo(
            f"{r['id']:<23} {r['command']:<9} {r['started_at'][:19]:<20} {r['status']:<11} "
            f"{'' if r['exit_code'] is None else r['exit_code']:>4} {r['rows_read']:>8} {r['rows_accepted']:>8} "
            f"{r['rows_rejected']:>8} {r['rows_failed']:>7}  {r['report_dir'] or '-'}  "
            f"{r['series_name'] or '-'}" + (f"  window {r['window']}" if r.get("window") else "")
        )


@click.group(name="config")
def config_group() -> None:
    """Work with the config file (ecdp-import.toml): defaults and one profile per business unit."""


@config_group.command(name="check", cls=click.Command)
@options(*CONFIG_OPTIONS)
def config_check(config_file: Path | None, profile: str | None) -> None:
    """Check the config file and list every problem at once (exit 2); print what it sets up when it is fine."""
    root = click.get_current_context().find_root().command
    assert isinstance(root, click.Group)
    click.echo(config_options.check(config_file, profile, root))


@click.command(cls=click.Command)
@click.argument("report_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def report(report_dir: Path) -> None:
    """Render REPORT_DIR/report.html again from the run's summary.json and rejected.csv."""
    from importer.report.html_page import write

    click.echo(write(report_dir))
