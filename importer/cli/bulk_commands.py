"""The commands of the bulk operations, verify and undo: ``order-status``, ``delete-orders``, ``verify``,
``undo``.

Thin like the imports': parse options, build settings (``importer.cli.context``), call
``importer.api`` (update_order_statuses, delete_orders, verify), and print the summary. No file,
validation or HTTP logic here.
"""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal, cast

import click

from importer.cli.config_options import ConfiguredCommand
from importer.cli.context import (
    api_settings,
    command_run,
    confirmer,
    console,
    import_sources,
    operation_run,
    read_limits,
    warn,
)
from importer.cli.options import (
    DELIMITER_OPTION,
    ENCODING_OPTION,
    NO_PREFLIGHT_OPTION,
    OUTPUT_OPTIONS,
    READ_LIMIT_OPTIONS,
    STATE_OPTION,
    TIME_ZONE_NAMES_OPTION,
    connection_options,
    operation_options,
    options,
    sql_options,
)
from importer.errors import UsageError
from importer.resources import IMPORTS, resource
from importer.settings import CUSTOMER_MATCH_FIELDS, MATCH_BY_FIELDS, default_state


@click.command("order-status", cls=ConfiguredCommand)
@click.argument("files", nargs=-1)  # text, not click.Path: a Path would turn s3://b/k into s3:/b/k
@sql_options
@connection_options
@operation_options
def order_status(files: tuple[str, ...], **common: Any) -> None:
    """Set order statuses: rows of id,status (FILES or a SQL query: --db, --sql) into PUT /orders/status, one
    request per order."""
    from importer.api import update_order_statuses

    sources = import_sources(files, common)
    with api_settings(common) as (api, target):
        result = update_order_statuses(sources, api=api, run=operation_run(common), warn=warn)
    console().show(result.summary, target)
    sys.exit(result.exit_code)


@click.command("delete-orders", cls=ConfiguredCommand)
@click.argument("files", nargs=-1)  # text, not click.Path: a Path would turn s3://b/k into s3:/b/k
@click.option("--yes", is_flag=True, help="Delete without asking for confirmation (e.g. under cron).")
@sql_options
@connection_options
@operation_options
def delete_orders(files: tuple[str, ...], yes: bool, **common: Any) -> None:
    """Delete orders: rows of id (FILES or a SQL query: --db, --sql) into DELETE /orders/{id}, after confirming
    the count (unless --yes)."""
    from importer.api import delete_orders as delete

    sources = import_sources(files, common)
    with api_settings(common) as (api, target):
        confirm = confirmer(yes, lambda count: f"Delete {count} order{'s' if count != 1 else ''} in {target}?")
        result = delete(sources, api=api, run=operation_run(common), warn=warn, confirm=confirm)
    console().show(result.summary, target)
    sys.exit(result.exit_code)


@click.command(cls=ConfiguredCommand)
@click.argument("kind", type=click.Choice([r.command for r in IMPORTS if r.verifiable]))
@click.argument("files", nargs=-1)  # text, not click.Path: a Path would turn s3://b/k into s3:/b/k
@click.option("--sample", type=click.IntRange(min=1), help="Check this many records drawn at random (default: all).")
@click.option("--seed", "sample_seed", type=int, help="Seed of the --sample draw, to check the same records again.")
@click.option(
    "--match-by",
    type=click.Choice(list(MATCH_BY_FIELDS)),
    default="Email",
    show_default=True,
    help="customers: the business unit's identification field, by which each customer is read back.",
)
@click.option(
    "--customer-match",
    type=click.Choice(list(CUSTOMER_MATCH_FIELDS)),
    default="Email",
    show_default=True,
    help="orders: the customer identifier the business unit matches by, as for the import.",
)
@click.option(
    "--items",
    "items",
    multiple=True,
    help="orders: a file of order lines joined to FILES on the order id, as for the import; repeatable.",
)
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The mapping file the FILES were imported with (see docs/mapping.md).",
)
@click.option(
    "--preset",
    type=click.Choice(["magento", "shopify", "woocommerce"]),
    help="The preset the FILES were imported with.",
)
@TIME_ZONE_NAMES_OPTION
@sql_options
@connection_options
@options(*OUTPUT_OPTIONS, ENCODING_OPTION, DELIMITER_OPTION, *READ_LIMIT_OPTIONS, NO_PREFLIGHT_OPTION)
def verify(
    kind: str,
    files: tuple[str, ...],
    sample: int | None,
    sample_seed: int | None,
    match_by: str,
    customer_match: str,
    items: tuple[str, ...],
    time_zone_names: str,
    **common: Any,
) -> None:
    """Read FILES (or a SQL query: --db, --sql) as an import would, read each record back and report what
    differs (exit 0: all match)."""
    from importer.api import verify as verify_records
    from importer.jobs.verify import Sampling

    sources = import_sources(files, common)
    run = command_run(
        common,
        log_format=common["log_format"],
        mapping=common["mapping"],
        preset=common["preset"],
        encoding=common["encoding"],
        delimiter=common["delimiter"],
        preflight=not common["no_preflight"],
        limits=read_limits(common),
    )
    sampling = Sampling(size=sample, seed=sample_seed)
    with api_settings(common, identification=customer_match) as (api, target):
        declared = resource(kind)
        if items and not declared.items:
            raise UsageError("--items is for orders.", f"Verify {declared.naming.plural} from their files alone.")
        given = {"match_by": match_by, "customer_match": customer_match, "time_zone_names": time_zone_names}
        options = (
            declared.options_type(**{f.name: given[f.name] for f in fields(declared.options_type) if f.name in given})
            if declared.options_type
            else None
        )
        result = verify_records(
            cast(Literal["customers", "orders"], kind),
            sources,
            items=list(items),
            api=api,
            options=options,
            run=run,
            sampling=sampling,
            warn=warn,
        )
    console().show(result.summary, target)
    sys.exit(result.exit_code)


@click.command(cls=ConfiguredCommand)
@click.argument("run_id")
@click.option("--yes", is_flag=True, help="Delete without asking for confirmation (e.g. in a script).")
@connection_options
@options(*OUTPUT_OPTIONS, STATE_OPTION)
def undo(run_id: str, yes: bool, **common: Any) -> None:
    """Delete the orders import run RUN_ID created (never one that existed before it), after confirming the
    count; a customers run cannot be undone (the API has no delete): its customers are listed in a file."""
    from importer.api import undo as undo_run

    run = command_run(common, state=common["state"] or default_state(), log_format=common["log_format"])
    with api_settings(common) as (api, target):
        confirm = confirmer(
            yes, lambda count: f"Delete the {count} order{'s' if count != 1 else ''} run {run_id} created in {target}?"
        )
        result = undo_run(run_id, api=api, run=run, warn=warn, confirm=confirm)
    console().show(result.summary, target)
    sys.exit(result.exit_code)
