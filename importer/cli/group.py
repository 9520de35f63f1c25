"""The ``ecdp-import`` command line: parse options, call the library, render the result.

No file, validation or HTTP logic lives here. Errors the library raises on purpose (``ImporterError``)
are turned into one sentence and a hint on stderr with their exit code; anything unexpected is reported
the same way (no traceback unless ``ECDP_DEBUG=1``), because a cron mail must stay readable.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from importer import __version__
from importer.cli import config_options
from importer.cli.config_options import (
    API_KEY_ENV_OPTION,
    CONFIG_OPTIONS,
    MAX_REJECTS_OPTION,
    ConfiguredCommand,
)
from importer.cli.rendering import OUTPUT_OPTION, Console, summary_line
from importer.errors import (
    EXIT_ROWS_NOT_IMPORTED,
    EXIT_USAGE,
    ImporterError,
    UsageError,
)
from importer.settings import (
    API_KEY_ENV,
    API_URL_ENV,
    CUSTOMER_MATCH_FIELDS,
    CUSTOMER_MODES,
    DEFAULT_API_URL,
    MATCH_BY_FIELDS,
    ORDER_MODES,
    STATE_ENV,
    ApiKey,
    ApiSettings,
    CustomerOptions,
    OrderOptions,
    RunOptions,
    check_api_url,
    default_state,
)


class ImporterGroup(click.Group):
    """A click group that turns every error into one sentence, a hint and an exit code."""

    command_class = ConfiguredCommand  # commands taking --profile get their defaults from the config file

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImporterError as exc:
            _fail(exc.message, exc.hint)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # stdout was closed early (e.g. piped into head): the report is written; say nothing more.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_ROWS_NOT_IMPORTED)
        except Exception as exc:  # a bug: still one readable sentence, and the way to see more
            if os.environ.get("ECDP_DEBUG"):
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc}",
                  "this is a bug in ecdp-import; run again with ECDP_DEBUG=1 to see where.")
            ctx.exit(EXIT_USAGE)


def _fail(message: str, hint: str | None) -> None:
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(f"Hint: {hint}", err=True)


@click.group(cls=ImporterGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ecdp-import")
def cli() -> None:
    """Bulk import of customer and order exports (CSV, Parquet) into the ExpertSender CDP API.

    The API key is read from the ECDP_API_KEY environment variable or from --api-key-file, never from
    the command line. Exit codes: 0 all rows imported; 1 some rows rejected or failed (see the report);
    2 usage, configuration or input error, nothing sent; 3 the API rejected the key, sending stopped.
    """


def options(*decorators: Any) -> Any:
    """One decorator applying click options in the order they are listed (as --help shows them)."""

    def apply(func: Any) -> Any:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


CONNECTION_OPTIONS = [  # every command that talks to the API
    click.option("--api-url", envvar=API_URL_ENV, default=DEFAULT_API_URL, show_default=True,
                 help=f"API base URL (env {API_URL_ENV})."),
    click.option("--api-key-file", type=click.Path(dir_okay=False, path_type=Path),
                 help=f"File holding the API key (default: env {API_KEY_ENV})."),
    click.option("--allow-insecure-http", is_flag=True,
                 help="Allow an http:// API URL to another machine (the key and data then travel unencrypted)."),
    API_KEY_ENV_OPTION,
    *CONFIG_OPTIONS,
    click.option("--sandbox", is_flag=True,
                 help="Start the built-in sandbox on a free local port and import into it (no key needed)."),
    click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
                 help="Requests in flight at once."),
    click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
                 help="Seconds to wait for one request."),
    click.option("--rate", type=click.FloatRange(min=0.1), default=None,
                 help="At most this many requests per second (default: as fast as the API allows; "
                      "429 answers slow the run down either way)."),
    click.option("--max-retries", type=click.IntRange(0, 100), default=8, show_default=True,
                 help="Retries of a request after a 5xx, a network error or a timeout."),
]
OUTPUT_OPTIONS = [  # every command that writes a report
    click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path),
                 help="Where to write the report (default: reports/<run-id>/)."),
    click.option("--no-progress", is_flag=True, help="No progress bar (there is none without a terminal)."),
    click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                 help="json: every event (chunk outcome, retry, throttling, abort) as a JSON line on stderr."),
    OUTPUT_OPTION,
]
ENCODING_OPTION = click.option("--encoding", help="Encoding of CSV input (default: detected; e.g. utf-8, cp1250).")
DELIMITER_OPTION = click.option("--delimiter", help="Delimiter of CSV input: a character or tab (default: sniffed).")
STATE_OPTION = click.option("--state", type=click.Path(dir_okay=False, path_type=Path), envvar=STATE_ENV,
                            help=f"The run journal (env {STATE_ENV}; default .ecdp-import/state.db).")
NO_PREFLIGHT_OPTION = click.option(
    "--no-preflight", is_flag=True,
    help="Do not check attribute names, consent ids and values against the platform's settings.")
IMPORT_OPTIONS = [  # every import command
    click.option("--chunk-size", type=click.IntRange(1, 10_000), default=100, show_default=True,
                 help="Records per request."),
    click.option("--dry-run", is_flag=True,
                 help="Do everything but send; write the request bodies to the report directory."),
    MAX_REJECTS_OPTION,
    *OUTPUT_OPTIONS,
    click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path),
                 help="A mapping file (TOML) from the export's columns to the importer's; see docs/mapping.md."),
    ENCODING_OPTION,
    DELIMITER_OPTION,
    click.option("--preset", type=click.Choice(["magento", "shopify", "woocommerce"]),
                 help="A shipped mapping for a platform's standard export (see README, Migrations)."),
    STATE_OPTION,
    click.option("--resume", is_flag=True,
                 help="Continue the last unfinished run on the same inputs: skip what it got accepted."),
    click.option("--changed-only", is_flag=True,
                 help="Send only records that are new or changed since they were last accepted."),
    click.option("--full", is_flag=True, help="Send every record (overrides --changed-only)."),
    click.option("--shard", metavar="K/N",
                 help="Only the records whose key falls in share K of N (CRC-32 of the key), so N machines or "
                      "cron jobs can split one load without overlap."),
    NO_PREFLIGHT_OPTION,
]
connection_options = options(*CONNECTION_OPTIONS)
run_options = options(*IMPORT_OPTIONS)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(CUSTOMER_MODES), default="AddOrUpdate", show_default=True,
              help="Add new customers only, Update existing ones only, or both.")
@click.option("--match-by", type=click.Choice(list(MATCH_BY_FIELDS)), default="Email", show_default=True,
              help="The business unit's identification field (Settings > Customers).")
@click.option("--allow-confirmation-emails", is_flag=True,
              help="Send AwaitingConfirmation consents (the platform e-mails those customers).")
@connection_options
@run_options
def customers(files: tuple[Path, ...], mode: str, match_by: str, allow_confirmation_emails: bool,
              **common: Any) -> None:
    """Import customers from CSV or Parquet FILES into POST /customers."""
    from importer.jobs.imports import import_customers

    options = CustomerOptions(mode=mode, match_by=match_by, allow_confirmation_emails=allow_confirmation_emails)
    with _api(common) as (api, target):
        result = import_customers(list(files), api, options, _run(common), warn=_console().warnings)
    _render(result.summary, target)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--items", "items", multiple=True, type=click.Path(path_type=Path),
              help="A file of order lines (products) joined to FILES on the order id; repeatable.")
@click.option("--mode", type=click.Choice(ORDER_MODES), default="AddOrReplace", show_default=True,
              help="Add new orders only, Replace existing ones only, or both.")
@click.option("--customer-match", type=click.Choice(list(CUSTOMER_MATCH_FIELDS)), default="Email", show_default=True,
              help="The customer identifier the business unit matches by; required on every order.")
@connection_options
@run_options
def orders(files: tuple[Path, ...], items: tuple[Path, ...], mode: str, customer_match: str, **common: Any) -> None:
    """Import orders (lines grouped into orders with products) into POST /orders."""
    from importer.jobs.imports import import_orders

    options = OrderOptions(mode=mode, customer_match=customer_match)
    with _api(common, identification=customer_match) as (api, target):
        result = import_orders([*files, *items], api, options, _run(common), warn=_console().warnings)
    _render(result.summary, target)
    sys.exit(result.exit_code)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite file that keeps the data across restarts (default: in memory).")
@click.option("--api-key", "sandbox_key",
              help=f"The key the sandbox accepts (default: env {API_KEY_ENV}, else a random key it prints). "
                   "A sandbox key is local; never pass a real platform key here.")
@click.option("--identification", type=click.Choice(list(CUSTOMER_MATCH_FIELDS)), default="Email", show_default=True,
              help="The business unit's customer identifier, required on every order.")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0, help="Fault: wait this long before each answer.")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0,
              help="Fault: share of requests answered 500/502/503 without processing them.")
@click.option("--throttle-rate", type=click.FloatRange(0, 1), default=0,
              help="Fault: share of requests answered 429 with Retry-After without processing them.")
@click.option("--rate-limit", type=click.FloatRange(min=0.01), default=None,
              help="Fault: requests per second allowed; beyond it 429 with Retry-After.")
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=0,
              help="Fault: share of requests processed but answered by closing the connection.")
@click.option("--max-body", type=click.IntRange(min=1), default=None,
              help="Fault: bodies larger than this many bytes are answered 413.")
@click.option("--seed", type=int, default=None, help="Seed of the random faults, for a reproducible run.")
@click.option("--settings", "settings_file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file of attribute and consent definitions to serve and enforce (default: demo lists, "
                   "not enforced).")
def sandbox(host: str, port: int, db: Path | None, sandbox_key: str | None, identification: str,
            settings_file: Path | None, **faults: Any) -> None:
    """Run the built-in sandbox: a local server that behaves like the documented API."""
    import secrets

    from importer.sandbox import Faults, serve

    settings = _sandbox_settings(settings_file)
    key = sandbox_key or os.environ.get(API_KEY_ENV, "").strip()
    if key:
        click.echo("Sandbox key: the one given" + ("" if sandbox_key else f" in {API_KEY_ENV}") + ".", err=True)
    else:
        key = secrets.token_urlsafe(16)
        click.echo(f"Sandbox key (random): {key}  (export {API_KEY_ENV}=... to use it)", err=True)
    click.echo(f"Sandbox listening on http://{host}:{port}" + (f", data in {db}" if db else ", data in memory")
               + ". Ctrl-C stops it.", err=True)
    try:
        injected = Faults(**faults)
    except ValueError as exc:
        raise UsageError(str(exc), "See ecdp-import sandbox --help for the fault options.") from None
    if settings is not None:
        click.echo(f"Settings from {settings_file}: served and enforced.", err=True)
    serve(host=host, port=port, db=str(db) if db else None, api_key=key, identification=identification,
          faults=injected, settings=settings)


def _sandbox_settings(path: Path | None) -> Any:
    """The declared settings of ``sandbox --settings``, or None (the demo lists, not enforced)."""
    from importer.sandbox.definitions import SettingsFileError, load_settings

    if path is None:
        return None
    try:
        return load_settings(path)
    except SettingsFileError as exc:
        raise UsageError(str(exc), "See README, 'sandbox', for the settings file's format.") from None


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@options(ENCODING_OPTION, DELIMITER_OPTION)
@click.option("--suggest", type=click.Choice(["customers", "orders"]),
              help="Also print a mapping file skeleton (TOML) for this kind of import.")
def inspect(files: tuple[Path, ...], encoding: str | None, delimiter: str | None, suggest: str | None) -> None:
    """Describe export FILES: encoding, delimiter, rows, columns with types, blanks and samples."""
    from importer.inputs.files import ReadOptions
    from importer.inputs.profile import inspect_file, render_inspection, suggest_mapping

    options = ReadOptions(encoding=encoding, delimiter=delimiter)
    for path in files:
        found = inspect_file(path, options)
        click.echo(render_inspection(found))
        if suggest:
            click.echo(f"\n# A starting point for --mapping (save it next to {path.name} and check every line):")
            click.echo(suggest_mapping(found, suggest))


@cli.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many runs to show.")
@STATE_OPTION
@options(*CONFIG_OPTIONS)
def runs(limit: int, state: Path | None, **config: Any) -> None:
    """List recent runs from the journal: when, what, counts, exit code, report directory."""
    from importer.jobs.run_history import recent_runs

    rows = recent_runs(state or default_state(), limit)
    if not rows:
        click.echo("No runs recorded yet.")
        return
    click.echo(f"{'run':<23} {'command':<9} {'started (UTC)':<20} {'status':<11} {'exit':>4} {'read':>8} "
               f"{'accepted':>8} {'rejected':>8} {'failed':>7}  report")
    for r in rows:
        click.echo(f"{r['id']:<23} {r['command']:<9} {r['started_at'][:19]:<20} {r['status']:<11} "
                   f"{'' if r['exit_code'] is None else r['exit_code']:>4} {r['rows_read']:>8} {r['rows_accepted']:>8} "
                   f"{r['rows_rejected']:>8} {r['rows_failed']:>7}  {r['report_dir'] or ''}")


@cli.command()
@click.argument("run_id")
@connection_options
@options(*OUTPUT_OPTIONS, STATE_OPTION)
def retry(run_id: str, **common: Any) -> None:
    """Send again the failed rows of run RUN_ID (not its rejected rows), with that run's options."""
    from importer.jobs.run_history import retry_run

    state = common["state"] or default_state()
    with _api(common) as (api, target):
        result = retry_run(run_id, api, RunOptions(
            state=state, report_dir=common["report_dir"], progress=not common["no_progress"],
            log_format=_console().event_format, origin=config_options.origin(click.get_current_context(), common),
        ), warn=_console().warnings)
    if result is None:
        click.echo(f"Run {run_id} has no failed rows: nothing to retry.")
        return
    _render(result.summary, target)
    sys.exit(result.exit_code)


@cli.group(name="config")
def config_group() -> None:
    """Work with the config file (ecdp-import.toml): defaults and one profile per business unit."""


@config_group.command(name="check", cls=click.Command)
@options(*CONFIG_OPTIONS)
def config_check(config_file: Path | None, profile: str | None) -> None:
    """Check the config file and list every problem at once (exit 2); print what it sets up when it is fine."""
    click.echo(config_options.check(config_file, profile, cli))


@cli.command(cls=click.Command)
@click.argument("report_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def report(report_dir: Path) -> None:
    """Render REPORT_DIR/report.html again from the run's summary.json and rejected.csv."""
    from importer.report.html_page import write

    click.echo(write(report_dir))


@contextlib.contextmanager
def _api(common: dict[str, Any], identification: str = "Email") -> Iterator[tuple[ApiSettings, str]]:
    """API settings for a run; with --sandbox, a sandbox server running for the run's duration."""
    shared = {
        "timeout_s": common["timeout"],
        "concurrency": common["concurrency"],
        "rate": common["rate"],
        "max_retries": common["max_retries"],
    }
    if common["sandbox"]:
        from importer.sandbox import SandboxServer

        with SandboxServer(identification=identification) as server:
            yield ApiSettings(url=server.url, key=ApiKey(server.api_key), **shared), f"{server.url} (sandbox)"
        return
    url = check_api_url(common["api_url"], allow_insecure_http=common["allow_insecure_http"])
    # A dry run needs no key; when one is given anyway it is still checked (file readable, not empty).
    dry_run = bool(common.get("dry_run"))  # retry has no --dry-run: it always sends
    key = config_options.load_key(click.get_current_context(), common, dry_run, _warn)
    yield ApiSettings(url=url, key=key, **shared), url


def _run(common: dict[str, Any]) -> RunOptions:
    if common["changed_only"] and common["full"]:
        raise UsageError("--changed-only and --full contradict each other.", "Give one of them.")
    return RunOptions(
        state=common["state"] or default_state(),
        resume=common["resume"],
        changed_only=common["changed_only"] and not common["full"],
        mapping=common["mapping"],
        preset=common["preset"],
        encoding=common["encoding"],
        delimiter=common["delimiter"],  # "tab", "semicolon"... are understood by the reader
        chunk_size=common["chunk_size"],
        dry_run=common["dry_run"],
        report_dir=common["report_dir"],
        progress=not common["no_progress"],
        log_format=_console().event_format,
        shard=common.get("shard"),
        preflight=not common.get("no_preflight"),
        max_rejects=common["max_rejects"],
        origin=config_options.origin(click.get_current_context(), common),
    )


def _console() -> Console:
    """This command run's printing choices (--output, --log-format), made once per run."""
    ctx = click.get_current_context()
    if "ecdp.console" not in ctx.meta:
        ctx.meta["ecdp.console"] = Console(ctx.params.get("output", "full"), ctx.params.get("log_format", "text"))
    return ctx.meta["ecdp.console"]


def _warn(message: str) -> None:
    _console().warnings(message)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _render(summary: dict[str, Any], target: str) -> None:
    """The human summary on stdout; one line without a terminal (cron), see importer.cli.rendering."""
    s = summary
    if _console().one_line:
        click.echo(summary_line(s))
        return

    def line(label: str, text: str) -> None:
        click.echo(f"  {label + ':' if label else '':<11}{text}")

    verb = "checked (dry run, nothing sent)" if s["dry_run"] else f"imported into {target}"
    click.echo(f"{s['command']}: {s['rows_read']} rows read from {', '.join(s['files'])}, {verb}")
    if s["dry_run"]:
        valid = f"{s['rows_accepted']} valid (would be sent)" if not s.get("stopped") else f"{s['rows_valid']} valid"
        line("rows", f"{valid}, {s['rows_rejected']} rejected")
        line(s["command"], f"{s['records_built']} built  ({s['duration_s']:.2f} s)")
        if s.get("payloads_file"):
            line("payloads", str(s["payloads_file"]))
    else:
        line("rows", f"{s['rows_accepted']} accepted, {s['rows_rejected']} rejected, {s['rows_failed']} failed")
        line(s["command"], f"{s['records_built']} built, {s['records_sent']} sent in "
                           f"{_count(s['requests'], 'request')}, {s['records_accepted']} accepted  "
                           f"({s['duration_s']:.2f} s)")
    if s.get("stopped") or s.get("aborted"):
        line("stopped", s.get("stopped") or s["aborted"])
    line("report", s["report_dir"])
    line("", "report.html: the run at a glance (open it in a browser)")
    for label, key in (("fix and re-import", "rejected_file"), ("retry", "failed_file")):
        if s.get(key):
            line("", f"{Path(s[key]).name}: rows to {label}")


def main() -> None:
    """Console entry point (``ecdp-import`` and ``python -m importer``)."""
    # The objects made by the imports (~200k: polars, pandera, httpx, click) live as long as the process:
    # frozen, the collector no longer walks them each time it runs (2-3 % of a big run's CPU before).
    gc.freeze()
    cli(prog_name="ecdp-import")


# The bulk operations' commands (order-status, delete-orders, verify) are in importer/bulk_commands.py;
# importing it registers them on ``cli`` (it imports this module's option groups and helpers).
from importer.cli import bulk_commands  # noqa: E402,F401
