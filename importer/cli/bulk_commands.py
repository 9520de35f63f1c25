"""The ``ecdp-import`` commands of the bulk operations: ``order-status``, ``delete-orders`` and ``verify``.

Thin like ``importer.cli.group``, whose group, option groups and helpers they use (importing ``importer.cli.group``
registers them): parse options, build settings, call ``importer.jobs.order_operations`` or ``importer.jobs.verify``, and
print the summary ``importer.cli.render`` makes. No file, validation or HTTP logic here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from importer.cli.group import (
    DELIMITER_OPTION,
    ENCODING_OPTION,
    NO_PREFLIGHT_OPTION,
    OUTPUT_OPTIONS,
    _api,
    _console,
    _warn,
    cli,
    connection_options,
    options,
)
from importer.cli.rendering import summary_line
from importer.errors import UsageError
from importer.settings import (
    CUSTOMER_MATCH_FIELDS,
    MATCH_BY_FIELDS,
    CustomerOptions,
    OrderOptions,
    RunOptions,
)

OPERATION_OPTIONS = [  # order-status and delete-orders
    click.option("--dry-run", is_flag=True,
                 help="Check every row, send nothing; write the requests to payloads.jsonl in the report."),
    *OUTPUT_OPTIONS,
    ENCODING_OPTION,
    DELIMITER_OPTION,
]


@cli.command("order-status")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@connection_options
@options(*OPERATION_OPTIONS)
def order_status(files: tuple[Path, ...], **common: Any) -> None:
    """Set order statuses: rows of id,status into PUT /orders/status, one request per order."""
    from importer.jobs.order_operations import update_order_status

    with _api(common) as (api, target):
        result = update_order_status(list(files), api, _operation_run(common), warn=_warn)
    _echo_lines(result.summary, target, "operation_lines")
    sys.exit(result.exit_code)


@cli.command("delete-orders")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Delete without asking for confirmation (e.g. under cron).")
@connection_options
@options(*OPERATION_OPTIONS)
def delete_orders(files: tuple[Path, ...], yes: bool, **common: Any) -> None:
    """Delete orders: rows of id into DELETE /orders/{id}, after confirming the count (unless --yes)."""
    from importer.jobs.order_operations import delete_orders as delete

    with _api(common) as (api, target):

        def confirm(count: int) -> bool:
            if yes:
                return True
            try:
                return click.confirm(f"Delete {count} order{'s' if count != 1 else ''} in {target}?", err=True)
            except click.exceptions.Abort:  # no answer can be read (no terminal, end of input)
                return False

        result = delete(list(files), api, _operation_run(common), warn=_warn, confirm=confirm)
    _echo_lines(result.summary, target, "operation_lines")
    sys.exit(result.exit_code)


@cli.command()
@click.argument("kind", type=click.Choice(["customers", "orders"]))
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sample", type=click.IntRange(min=1), help="Check this many records drawn at random (default: all).")
@click.option("--seed", "sample_seed", type=int, help="Seed of the --sample draw, to check the same records again.")
@click.option("--match-by", type=click.Choice(list(MATCH_BY_FIELDS)), default="Email", show_default=True,
              help="customers: the business unit's identification field, by which each customer is read back.")
@click.option("--customer-match", type=click.Choice(list(CUSTOMER_MATCH_FIELDS)), default="Email", show_default=True,
              help="orders: the customer identifier the business unit matches by, as for the import.")
@click.option("--items", "items", multiple=True, type=click.Path(path_type=Path),
              help="orders: a file of order lines joined to FILES on the order id, as for the import; repeatable.")
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path),
              help="The mapping file the FILES were imported with (see docs/mapping.md).")
@click.option("--preset", type=click.Choice(["shopify"]), help="The preset the FILES were imported with.")
@connection_options
@options(*OUTPUT_OPTIONS, ENCODING_OPTION, DELIMITER_OPTION, NO_PREFLIGHT_OPTION)
def verify(kind: str, files: tuple[Path, ...], sample: int | None, sample_seed: int | None, match_by: str,
           customer_match: str, items: tuple[Path, ...], **common: Any) -> None:
    """Read FILES as an import would, read each record back and report what differs (exit 0: all match)."""
    from importer.jobs.verify import Sampling, verify_customers, verify_orders

    run = RunOptions(report_dir=common["report_dir"], progress=not common["no_progress"],
                     log_format=common["log_format"], mapping=common["mapping"], preset=common["preset"],
                     encoding=common["encoding"], delimiter=common["delimiter"],
                     preflight=not common["no_preflight"])
    sampling = Sampling(size=sample, seed=sample_seed)
    with _api(common, identification=customer_match) as (api, target):
        if kind == "customers":
            if items:
                raise UsageError("--items is for orders.", "Verify customers from their files alone.")
            options = CustomerOptions(match_by=match_by)
            result = verify_customers(list(files), api, options, run, sampling, warn=_warn)
        else:
            result = verify_orders([*files, *items], api, OrderOptions(customer_match=customer_match), run,
                                   sampling, warn=_warn)
    _echo_lines(result.summary, target, "verify_lines")
    sys.exit(result.exit_code)


def _operation_run(common: dict[str, Any]) -> RunOptions:
    return RunOptions(dry_run=common["dry_run"], report_dir=common["report_dir"], progress=not common["no_progress"],
                      log_format=common["log_format"], encoding=common["encoding"], delimiter=common["delimiter"])


def _echo_lines(summary: dict[str, Any], target: str, renderer: str) -> None:
    """The summary over several lines, or one line without a terminal (as the imports, see importer.cli.rendering)."""
    from importer.cli import render

    if _console().one_line:
        click.echo(summary_line(summary))
        return
    click.echo("\n".join(getattr(render, renderer)(summary, target)))
