"""The ``ecdp-import`` command group: its commands, and the one place errors become a sentence and a hint.

The commands live in one module per family (``import_commands``: customers, orders, retry;
``bulk_commands``: order-status, delete-orders, verify; ``utility_commands``: sandbox, inspect, runs,
config check, report); each parses options, calls the library and renders the result. No file,
validation or HTTP logic lives here. Errors the library raises on purpose (``ImporterError``) are turned
into one sentence and a hint on stderr with their exit code (one raised inside a task group too); a file
this machine could not write (``OSError``: disk full, no permission) names the file and what to do; anything
unexpected is reported the same way (no traceback unless ``ECDP_DEBUG=1``), because a cron mail must stay
readable. ``main`` makes SIGTERM (what ``timeout``, systemd and Kubernetes send) stop a run as Ctrl-C does;
a library call installs no signal handler.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from types import FrameType
from typing import Any

import click

from importer.cli import bulk_commands, import_commands, utility_commands
from importer.cli.config_options import ConfiguredCommand
from importer.errors import EXIT_FAULT, EXIT_ROWS_NOT_IMPORTED, EXIT_USAGE, ImporterError, file_fault
from importer.version import __version__


class ImporterGroup(click.Group):
    """A click group that turns every error into one sentence, a hint and an exit code."""

    command_class = ConfiguredCommand  # commands taking --profile get their defaults from the config file

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # stdout was closed early (e.g. piped into head): the report is written; say nothing more.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_ROWS_NOT_IMPORTED)
        except Exception as exc:  # noqa: BLE001 - every error becomes one sentence (_explain)
            _explain(ctx, _first(exc) if isinstance(exc, BaseExceptionGroup) else exc)


def _explain(ctx: click.Context, exc: BaseException) -> None:
    """One sentence and a hint, and the exit code: for an error the importer raised; for a file this machine
    could not write (the jobs name their own files; one that reaches here may have come after sending:
    exit 4); for a bug, the way to see more."""
    if isinstance(exc, ImporterError):
        _fail(exc.message, exc.hint)
        ctx.exit(exc.exit_code)
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        fault = file_fault(
            exc, exc.filename if isinstance(exc.filename, str) else ".", "the file", "--report-dir or --state"
        )
        _fail(fault.message, fault.hint)
        ctx.exit(EXIT_FAULT)
    if os.environ.get("ECDP_DEBUG") or not isinstance(exc, Exception):
        raise exc
    _fail(
        f"unexpected {type(exc).__name__}: {exc}",
        "this is a bug in ecdp-import; run again with ECDP_DEBUG=1 to see where.",
    )
    ctx.exit(EXIT_USAGE)


def _first(group: BaseException) -> BaseException:
    """The first error of a (nested) exception group."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


def _fail(message: str, hint: str | None) -> None:
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(f"Hint: {hint}", err=True)


@click.group(cls=ImporterGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ecdp-import")
def cli() -> None:
    """Bulk import of customer and order exports (CSV, Parquet) into the ExpertSender CDP API.

    The API key is read from the ECDP_API_KEY environment variable or from --api-key-file, never from
    the command line. Exit codes: 0 all rows imported; 1 some rows rejected or failed, or the run was
    interrupted after sending (see the report); 2 usage, configuration or input error, nothing sent; 3 the
    API rejected the key, sending stopped; 4 a fault of this machine (disk full, a folder that cannot be
    written, a damaged journal) stopped the run after it had sent records.
    """


for command in (
    import_commands.customers,
    import_commands.orders,
    import_commands.events,
    bulk_commands.order_status,
    bulk_commands.delete_orders,
    bulk_commands.undo,
    bulk_commands.verify,
    utility_commands.sandbox,
    utility_commands.inspect,
    utility_commands.runs,
    import_commands.retry,
    utility_commands.config_group,
    utility_commands.report,
):
    cli.add_command(command)


def main() -> None:
    """Console entry point (``ecdp-import`` and ``python -m importer``)."""
    # The objects made by the imports (~200k: polars, pandera, httpx, click) live as long as the process:
    # frozen, the collector no longer walks them each time it runs (a big run's CPU: docs/benchmarks.md).
    gc.freeze()
    signal.signal(signal.SIGTERM, _terminated)
    cli(prog_name="ecdp-import")


def _terminated(_signal: int, _frame: FrameType | None) -> None:  # (a signal handler's arguments)
    """SIGTERM outside sending stops the run as Ctrl-C does (while sending, the delivery engine handles both)."""
    raise KeyboardInterrupt
