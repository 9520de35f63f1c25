"""The command line's options, in the groups the commands share (as ``--help`` lists them).

Each group is a list of click options, applied in order by ``options(...)``: ``CONNECTION_OPTIONS`` (every
command that talks to the API), ``OUTPUT_OPTIONS`` (every command that writes a report), ``IMPORT_OPTIONS``
(customers, orders) and ``OPERATION_OPTIONS`` (order-status, delete-orders). The API key is never an
option's value: only where to find it (``--api-key-file``, ``--api-key-env``). Which options a config
file may set follows from these (``importer.cli.config_options.catalogue``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from importer.budget import Budget
from importer.cli import config_file
from importer.settings import (
    API_KEY_ENV,
    API_URL_ENV,
    DEFAULT_API_URL,
    DEFAULT_LIMITS,
    STATE_ENV,
    TIME_ZONE_NAMES,
    format_size,
    parse_size,
)

Command = TypeVar("Command", bound=Callable[..., Any])

OUTPUTS = ("auto", "full", "line")
OUTPUT_OPTION = click.option(
    "--output",
    type=click.Choice(OUTPUTS),
    default="auto",
    show_default=True,
    help="What to print: full (the summary over several lines, warnings on stderr), line (one summary line "
    "on stdout and nothing else: for cron), auto (full on a terminal, else line).",
)


class BudgetType(click.ParamType):  # type: ignore[type-arg]  # (generic from click 8.2; this works with 8.1)
    """``--max-rejects``: a number of rows (``50``) or a share of the rows read (``10%``)."""

    name = "budget"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Budget:
        if isinstance(value, Budget):
            return value
        try:
            return Budget.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class ShareType(click.ParamType):  # type: ignore[type-arg]  # (as BudgetType)
    """``--max-drift``: a share such as ``50%`` (or ``0.5``); ``off`` turns the check off (None)."""

    name = "share"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float | None:
        if value is None or isinstance(value, float):
            return value
        text = str(value).strip().lower()
        if text in ("off", "none"):
            return None
        try:
            share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"{value!r} is not a share such as 50% (or off)", param, ctx)
        if share < 0:
            self.fail(f"{value!r} is negative", param, ctx)
        return share


class SizeType(click.ParamType):  # type: ignore[type-arg]  # (as BudgetType)
    """A size in bytes: ``64MiB``, ``20GB``, ``1500``."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


CONFIG_OPTIONS = [
    click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=config_file.CONFIG_ENV,
        help=f"The config file (env {config_file.CONFIG_ENV}; default: {config_file.CONFIG_NAME} in the "
        "working directory, if there is one).",
    ),
    click.option(
        "--profile",
        envvar=config_file.PROFILE_ENV,
        help=f"A profile of the config file: one business unit's URL, key source and options "
        f"(env {config_file.PROFILE_ENV}).",
    ),
]
API_KEY_ENV_OPTION = click.option(
    "--api-key-env",
    metavar="NAME",
    help=f"Name of the environment variable holding the API key (default: {API_KEY_ENV}).",
)
MAX_REJECTS_OPTION = click.option(
    "--max-rejects",
    type=BudgetType(),
    default="10%",
    show_default=True,
    metavar="N|N%",
    help="Error budget: when validation rejects more rows than this (a count, or a share such as 10%), "
    "nothing is sent and the run exits 2. 100% turns it off.",
)


def options(*decorators: Callable[[Any], Any]) -> Callable[[Command], Command]:
    """One decorator applying click options in the order they are listed (as --help shows them)."""

    def apply(func: Command) -> Command:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


CONNECTION_OPTIONS = [  # every command that talks to the API
    click.option(
        "--api-url",
        envvar=API_URL_ENV,
        default=DEFAULT_API_URL,
        show_default=True,
        help=f"API base URL (env {API_URL_ENV}).",
    ),
    click.option(
        "--api-key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"File holding the API key (default: env {API_KEY_ENV}).",
    ),
    click.option(
        "--allow-insecure-http",
        is_flag=True,
        help="Allow an http:// API URL to another machine (the key and data then travel unencrypted).",
    ),
    API_KEY_ENV_OPTION,
    *CONFIG_OPTIONS,
    click.option(
        "--sandbox",
        is_flag=True,
        help="Start the built-in sandbox on a free local port and import into it (no key needed).",
    ),
    click.option(
        "--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="Requests in flight at once."
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=60.0,
        show_default=True,
        help="Seconds one request may take in all: connecting, sending and its whole answer.",
    ),
    click.option(
        "--rate",
        type=click.FloatRange(min=0.1),
        default=None,
        help="At most this many requests per second (default: as fast as the API allows; "
        "429 answers slow the run down either way).",
    ),
    click.option(
        "--max-retries",
        type=click.IntRange(0, 100),
        default=8,
        show_default=True,
        help="Retries of a request after a 5xx, a network error or a timeout.",
    ),
    click.option(
        "--max-retry-after",
        type=click.FloatRange(min=0),
        default=300.0,
        show_default=True,
        help="Seconds: an answer asking to wait longer (Retry-After) stops the run (exit 3); what was "
        "not sent is left for --resume.",
    ),
    click.option(
        "--max-throttle-wait",
        type=click.FloatRange(min=0),
        default=1800.0,
        show_default=True,
        help="Seconds the run may stand still in all waiting out 429 answers; past it the run stops "
        "(exit 3), what was not sent left for --resume.",
    ),
]
OUTPUT_OPTIONS = [  # every command that writes a report
    click.option(
        "--report-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where to write the report (default: reports/<run-id>/).",
    ),
    click.option("--no-progress", is_flag=True, help="No progress bar (there is none without a terminal)."),
    click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json: every event (chunk outcome, retry, throttling, abort) as a JSON line on stderr.",
    ),
    OUTPUT_OPTION,
    click.option(
        "--metrics-file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="ECDP_METRICS_FILE",
        help="Write the run's metrics here in Prometheus' text format at the end of every run (for "
        "node_exporter's textfile collector; env ECDP_METRICS_FILE).",
    ),
    click.option(
        "--notify-url",
        envvar="ECDP_NOTIFY_URL",
        metavar="URL",
        help="POST the summary (counts, no personal data, no key) here when a run ends with exit 1 or "
        "more (env ECDP_NOTIFY_URL: better for a webhook URL that holds a token).",
    ),
]
ENCODING_OPTION = click.option("--encoding", help="Encoding of CSV input (default: detected; e.g. utf-8, cp1250).")
DELIMITER_OPTION = click.option("--delimiter", help="Delimiter of CSV input: a character or tab (default: sniffed).")
_LIMIT = "Reading a file stops (exit 2, nothing sent) at "
READ_LIMIT_OPTIONS = [  # every command that reads export files (SECURITY.md: the limits, and why these defaults)
    click.option(
        "--max-line-size",
        type=SizeType(),
        default=format_size(DEFAULT_LIMITS.line_bytes),
        show_default=True,
        help=_LIMIT + "a line of CSV text longer than this.",
    ),
    click.option(
        "--max-cell-size",
        type=SizeType(),
        default=format_size(DEFAULT_LIMITS.cell_bytes),
        show_default=True,
        help=_LIMIT + "a cell of CSV text longer than this.",
    ),
    click.option(
        "--max-columns",
        type=click.IntRange(min=1),
        default=DEFAULT_LIMITS.columns,
        show_default=True,
        help=_LIMIT + "more columns than this, or a line of more fields.",
    ),
    click.option(
        "--max-decompressed-size",
        type=SizeType(),
        default=format_size(DEFAULT_LIMITS.decompressed_bytes),
        show_default=True,
        help=_LIMIT + "a .gz file or a zip's CSV that decompresses to more than this.",
    ),
    click.option(
        "--max-compression-ratio",
        type=click.FloatRange(min=1),
        default=DEFAULT_LIMITS.compression_ratio,
        show_default=True,
        metavar="N",
        help=_LIMIT + "a .gz file or a zip's CSV that decompresses to more than N times its size "
        "(judged past the first 16 MiB).",
    ),
    click.option(
        "--max-zip-entries",
        type=click.IntRange(min=1),
        default=DEFAULT_LIMITS.zip_entries,
        show_default=True,
        help=_LIMIT + "a zip file of more entries than this.",
    ),
    click.option(
        "--max-zip-size",
        type=SizeType(),
        default=format_size(DEFAULT_LIMITS.zip_bytes),
        show_default=True,
        help=_LIMIT + "a zip file whose entries declare more than this together.",
    ),
]
STATE_OPTION = click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=STATE_ENV,
    help=f"The run journal (env {STATE_ENV}; default .ecdp-import/state.db).",
)
TIME_ZONE_NAMES_OPTION = click.option(
    "--time-zone-names",
    type=click.Choice(TIME_ZONE_NAMES),
    default="windows",
    show_default=True,
    help="How timeZone is sent: Windows names (Central European Standard Time, as the vendor's examples) or "
    "IANA ones (Europe/Warsaw); either is read.",
)
NO_PREFLIGHT_OPTION = click.option(
    "--no-preflight",
    is_flag=True,
    help="Do not check attribute names, consent ids and values against the platform's settings.",
)
IMPORT_OPTIONS = [  # every import command
    click.option(
        "--chunk-size", type=click.IntRange(1, 10_000), default=100, show_default=True, help="Records per request."
    ),
    click.option(
        "--dry-run", is_flag=True, help="Do everything but send; write the request bodies to the report directory."
    ),
    MAX_REJECTS_OPTION,
    *OUTPUT_OPTIONS,
    click.option(
        "--mapping",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A mapping file (TOML) from the export's columns to the importer's; see docs/mapping.md.",
    ),
    ENCODING_OPTION,
    DELIMITER_OPTION,
    *READ_LIMIT_OPTIONS,
    click.option(
        "--preset",
        type=click.Choice(["magento", "shopify", "woocommerce"]),
        help="A shipped mapping for a platform's standard export (see docs/mapping.md).",
    ),
    STATE_OPTION,
    click.option(
        "--resume", is_flag=True, help="Continue the last unfinished run on the same inputs: skip what it got accepted."
    ),
    click.option(
        "--changed-only", is_flag=True, help="Send only records that are new or changed since they were last accepted."
    ),
    click.option(
        "--full",
        is_flag=True,
        help="Send every record (overrides --changed-only); a full load is not judged by --max-drift. "
        "With --since-column: read every row and start the watermark again.",
    ),
    click.option(
        "--since-column",
        metavar="COLUMN",
        help="Incremental load: read only the rows whose COLUMN (a time or number, e.g. updated_at) is "
        "after the watermark this job's last run left (see docs/input.md).",
    ),
    click.option(
        "--since-overlap",
        metavar="DURATION|N",
        help="With --since-column: read again the rows this far before the watermark, so rows committed "
        "late are not skipped (default 10m for times, 0 for numbers; combine with --changed-only).",
    ),
    click.option(
        "--min-records",
        type=click.IntRange(min=0),
        help="Fewer valid records than this stop the run before anything is sent (exit 2).",
    ),
    click.option(
        "--max-drift",
        type=ShareType(),
        default="50%",
        show_default=True,
        metavar="N%|off",
        help="Stop before sending (exit 2) when the valid records differ from the median of the last 5 "
        "successful runs of this job by more than this.",
    ),
    click.option("--accept-drift", is_flag=True, help="Let this run through the --min-records and --max-drift gate."),
    click.option(
        "--series",
        metavar="NAME",
        help="File this run under series NAME as well as what it reads: a new NAME starts a new "
        "history for --max-drift (see docs/operations.md).",
    ),
    click.option(
        "--shard",
        metavar="K/N",
        help="Only the records whose key falls in share K of N (CRC-32 of the key), so N machines or "
        "cron jobs can split one load without overlap.",
    ),
    NO_PREFLIGHT_OPTION,
]
SQL_OPTIONS = [  # every command that reads exports: a query's result as input (importer.inputs.databases)
    click.option(
        "--db",
        metavar="URL",
        help="The database --sql reads: postgresql://user@host:5432/db, sqlite:///path.db, "
        "duckdb:///path.db, mysql://user@host:3306/db or mssql://user@host:1433/db (default: env "
        "ECDP_DB_URL). Give the password by env "
        "ECDP_DB_PASSWORD or --db-password-file, not here (a command line is visible to others).",
    ),
    click.option("--sql", metavar="QUERY", help="Read the rows of this SELECT on --db (as if they were a file's)."),
    click.option(
        "--sql-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the rows of the SELECT in this file on --db.",
    ),
    click.option(
        "--db-password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File holding the database password (default: env ECDP_DB_PASSWORD, or the URL's).",
    ),
]
OPERATION_OPTIONS = [  # order-status and delete-orders
    click.option(
        "--dry-run",
        is_flag=True,
        help="Check every row, send nothing; write the requests to payloads.jsonl in the report.",
    ),
    *OUTPUT_OPTIONS,
    ENCODING_OPTION,
    DELIMITER_OPTION,
    *READ_LIMIT_OPTIONS,
]


connection_options = options(*CONNECTION_OPTIONS)
import_options = options(*IMPORT_OPTIONS)
sql_options = options(*SQL_OPTIONS)
operation_options = options(*OPERATION_OPTIONS)
