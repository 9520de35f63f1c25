"""The import commands: ``customers``, ``orders``, ``events`` and ``retry`` (a run's failed rows, sent again).

Each parses its options, builds typed settings (``importer.cli.context``), calls one library function
(``importer.api``, ``importer.jobs.run_history``) and prints the summary it returns; the exit
code is the run's. No file, validation or HTTP logic here.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from importer.cli.config_options import ConfiguredCommand
from importer.cli.context import api_settings, command_run, console, import_run, import_sources
from importer.cli.options import (
    OUTPUT_OPTIONS,
    STATE_OPTION,
    TIME_ZONE_NAMES_OPTION,
    connection_options,
    import_options,
    options,
    sql_options,
)
from importer.settings import (
    CUSTOMER_MATCH_FIELDS,
    CUSTOMER_MODES,
    MATCH_BY_FIELDS,
    ORDER_MODES,
    CustomerOptions,
    EventOptions,
    OrderOptions,
    default_state,
)


@click.command(cls=ConfiguredCommand)
@click.argument("files", nargs=-1)  # text, not click.Path: a Path would turn s3://b/k into s3:/b/k
@click.option(
    "--mode",
    type=click.Choice(CUSTOMER_MODES),
    default="AddOrUpdate",
    show_default=True,
    help="Add new customers only, Update existing ones only, or both.",
)
@click.option(
    "--match-by",
    type=click.Choice(list(MATCH_BY_FIELDS)),
    default="Email",
    show_default=True,
    help="The business unit's identification field (Settings > Customers).",
)
@click.option(
    "--allow-confirmation-emails",
    is_flag=True,
    help="Send AwaitingConfirmation consents (the platform e-mails those customers).",
)
@sql_options
@connection_options
@import_options
def customers(files: tuple[str, ...], mode: str, match_by: str, allow_confirmation_emails: bool, **common: Any) -> None:
    """Import customers from CSV or Parquet FILES, or a SQL query's rows (--db, --sql), into POST /customers."""
    from importer.api import import_customers

    sources = import_sources(files, common)
    options = CustomerOptions(mode=mode, match_by=match_by, allow_confirmation_emails=allow_confirmation_emails)
    with api_settings(common) as (api, target):
        result = import_customers(sources, api=api, options=options, run=import_run(common), warn=console().warnings)
    console().show(result.summary, target)
    sys.exit(result.exit_code)


@click.command(cls=ConfiguredCommand)
@click.argument("files", nargs=-1)  # text, not click.Path: a Path would turn s3://b/k into s3:/b/k
@click.option(
    "--items",
    "items",
    multiple=True,
    help="A file of order lines (products) joined to FILES on the order id; repeatable.",
)
@click.option(
    "--mode",
    type=click.Choice(ORDER_MODES),
    default="AddOrReplace",
    show_default=True,
    help="Add new orders only, Replace existing ones only, or both.",
)
@click.option(
    "--customer-match",
    type=click.Choice(list(CUSTOMER_MATCH_FIELDS)),
    default="Email",
    show_default=True,
    help="The customer identifier the business unit matches by; required on every order.",
)
@TIME_ZONE_NAMES_OPTION
@sql_options
@connection_options
@import_options
def orders(
    files: tuple[str, ...], items: tuple[str, ...], mode: str, customer_match: str, time_zone_names: str, **common: Any
) -> None:
    """Import orders (lines grouped into orders with products) from FILES or a SQL query (--db, --sql) into
    POST /orders."""
    from importer.api import import_orders

    sources = import_sources(files, common)
    options = OrderOptions(mode=mode, customer_match=customer_match, time_zone_names=time_zone_names)
    with api_settings(common, identification=customer_match) as (api, target):
        result = import_orders(
            sources, items=list(items), api=api, options=options, run=import_run(common), warn=console().warnings
        )
    console().show(result.summary, target)
    sys.exit(result.exit_code)


def _field_type(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """``--field-type NAME=TYPE`` (repeatable) as a mapping (the types are checked with the columns)."""
    types: dict[str, str] = {}
    for value in values:
        name, equals, kind = value.partition("=")
        if not equals or not name.strip() or not kind.strip():
            raise click.BadParameter(f"{value!r} is not NAME=TYPE (e.g. amount=Money).", ctx, param)
        types[name.strip()] = kind.strip()
    return types


@click.command(cls=ConfiguredCommand)
@click.argument("files", nargs=-1)  # text, not click.Path: a Path would turn s3://b/k into s3:/b/k
@click.option(
    "--event-id",
    type=click.IntRange(-(2**31), 2**31 - 1),
    default=None,
    help="The custom event every row triggers (Automation > Scenarios > Custom events).",
)
@click.option(
    "--event-id-column",
    default="customEventId",
    show_default=True,
    help="Without --event-id: the column holding each row's custom event id.",
)
@click.option(
    "--field-type",
    "field_types",
    multiple=True,
    callback=_field_type,
    metavar="NAME=TYPE",
    help="The type of the data field of column data.NAME (String, Text, Number, Money, Date, DateTime, "
    "Boolean, URL); repeatable. Undeclared fields are typed by their values.",
)
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="With --resume: send again the events the run resumed sent without an answer (they may be "
    "stored: a customer may get a scenario's message twice).",
)
@sql_options
@connection_options
@import_options
def events(
    files: tuple[str, ...],
    event_id: int | None,
    event_id_column: str,
    field_types: dict[str, str],
    resend_uncertain: bool,
    **common: Any,
) -> None:
    """Trigger custom events (POST /scenariocustomevents) from FILES or a SQL query (--db, --sql): one per
    row, each sent at most once."""
    from importer.api import import_events

    sources = import_sources(files, common)
    options = EventOptions(
        event_id=event_id, event_id_column=event_id_column, field_types=field_types, resend_uncertain=resend_uncertain
    )
    with api_settings(common) as (api, target):
        result = import_events(sources, api=api, options=options, run=import_run(common), warn=console().warnings)
    console().show(result.summary, target)
    sys.exit(result.exit_code)


@click.command(cls=ConfiguredCommand)
@click.argument("run_id")
@connection_options
@options(*OUTPUT_OPTIONS, STATE_OPTION)
def retry(run_id: str, **common: Any) -> None:
    """Send again the failed rows of run RUN_ID (not its rejected rows), with that run's options."""
    from importer.jobs.monitoring import after_run
    from importer.jobs.run_history import retry_run

    state = common["state"] or default_state()
    run = command_run(common, state=state, log_format=console().event_format)
    with api_settings(common) as (api, target):
        result = retry_run(run_id, api, run, warn=console().warnings)
        if result is not None:
            after_run("retry", result.summary.files, api, run, result, console().warnings)
    if result is None:
        click.echo(f"Run {run_id} has no failed rows: nothing to retry.")
        return
    console().show(result.summary, target)
    sys.exit(result.exit_code)
