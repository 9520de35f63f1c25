"""What a command run sets up from its options: API settings (or a sandbox to import into), run options,
and its console (how it prints).

The commands call these; the library (``importer.jobs``) gets typed settings and never sees click.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import click

from importer.cli import config_options
from importer.cli.rendering import Console
from importer.errors import UsageError
from importer.settings import (
    ApiKey,
    ApiSettings,
    ReadLimits,
    RunOptions,
    check_api_url,
    default_state,
    public_url,
)


@contextlib.contextmanager
def api_settings(common: dict[str, Any], identification: str = "Email") -> Iterator[tuple[ApiSettings, str]]:
    """API settings for a run, and the target as the summary names it; with --sandbox, a sandbox server
    running for the run's duration."""
    shared = {
        "timeout_s": common["timeout"],
        "concurrency": common["concurrency"],
        "rate": common["rate"],
        "max_retries": common["max_retries"],
        "max_retry_after_s": common["max_retry_after"],
        "max_throttle_wait_s": common["max_throttle_wait"],
    }
    if common["sandbox"]:
        from importer.sandbox import SandboxServer

        with SandboxServer(identification=identification) as server:
            yield ApiSettings(url=server.url, key=ApiKey(server.api_key), **shared), f"{server.url} (sandbox)"
        return
    url = check_api_url(common["api_url"], allow_insecure_http=common["allow_insecure_http"])
    # A dry run needs no key; when one is given anyway it is still checked (file readable, not empty).
    dry_run = bool(common.get("dry_run"))  # retry has no --dry-run: it always sends
    key = config_options.load_key(click.get_current_context(), common, dry_run, warn)
    yield ApiSettings(url=url, key=key, **shared), public_url(url)  # (the target is printed: no credentials)


def import_sources(files: tuple[str, ...], common: dict[str, Any]) -> list[Any]:
    """The inputs of an import: FILES, then the result of --sql / --sql-file on --db (or ECDP_DB_URL)."""
    from importer.inputs.databases import DB_PASSWORD_ENV, DB_URL_ENV, SqlQuery, read_password_file

    sql, sql_file, db = common.pop("sql"), common.pop("sql_file"), common.pop("db")
    password_file = common.pop("db_password_file")
    if sql is None and sql_file is None:
        if db or password_file:
            raise UsageError("--db and --db-password-file need a query.", 'Add --sql "SELECT ..." or --sql-file.')
        return list(files)
    if sql is not None and sql_file is not None:
        raise UsageError("--sql and --sql-file contradict each other.", "Give one of them.")
    if sql_file is not None:
        try:
            sql = sql_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"Cannot read the SQL file {sql_file}: {exc.strerror or exc}.", "Check the path."
            ) from None
    url = db or os.environ.get(DB_URL_ENV)
    if not url:
        raise UsageError("--sql needs a database.", f"Give --db URL or set {DB_URL_ENV}.")
    password = read_password_file(password_file) if password_file else None
    query = SqlQuery(url, sql, password=password)
    if db and query.secret() and query.secret() != password and query.secret() != os.environ.get(DB_PASSWORD_ENV):
        warn(
            f"The --db URL holds a password: other users of this machine can read a command line. Give it by "
            f"{DB_PASSWORD_ENV}, --db-password-file or {DB_URL_ENV} instead."
        )
    return [*files, query]


def import_run(common: dict[str, Any]) -> RunOptions:
    """The run options of an import (customers, orders)."""
    if common["changed_only"] and common["full"]:
        raise UsageError("--changed-only and --full contradict each other.", "Give one of them.")
    if common["since_overlap"] is not None and not common["since_column"]:
        raise UsageError(
            "--since-overlap needs --since-column.", "Name the cursor column, e.g. --since-column updated_at."
        )
    return command_run(
        common,
        state=common["state"] or default_state(),
        resume=common["resume"],
        changed_only=common["changed_only"] and not common["full"],
        mapping=common["mapping"],
        preset=common["preset"],
        encoding=common["encoding"],
        delimiter=common["delimiter"],  # "tab", "semicolon"... are understood by the reader
        limits=read_limits(common),
        chunk_size=common["chunk_size"],
        dry_run=common["dry_run"],
        log_format=console().event_format,
        shard=common.get("shard"),
        preflight=not common.get("no_preflight"),
        max_rejects=common["max_rejects"],
        full=common["full"],
        min_records=common["min_records"],
        max_drift=common["max_drift"],
        accept_drift=common["accept_drift"],
        series=common["series"],
        since_column=common["since_column"],
        since_overlap=common["since_overlap"],
    )


def command_run(common: dict[str, Any], **fields: Any) -> RunOptions:
    """Run options with what every command that writes a report shares: its report folder, the progress
    bar, Ctrl-C handled, where its settings came from, the metrics file and notification; and ``fields``."""
    return RunOptions(
        report_dir=common["report_dir"],
        progress=not common["no_progress"],
        interrupts=True,
        origin=config_options.origin(click.get_current_context(), common),
        metrics_file=common.get("metrics_file"),
        notify_url=common.get("notify_url"),
        **fields,
    )


def confirmer(yes: bool, question: Callable[[int], str]) -> Callable[[int], bool]:
    """The ``confirm(count)`` of a command that deletes: yes with ``--yes``, else the answer on the terminal
    (no answer, as under cron without --yes, is no)."""

    def confirm(count: int) -> bool:
        if yes:
            return True
        try:
            return click.confirm(question(count), err=True)
        except click.exceptions.Abort:  # no answer can be read (no terminal, end of input)
            return False

    return confirm


def operation_run(common: dict[str, Any]) -> RunOptions:
    """The run options of order-status and delete-orders."""
    return command_run(
        common,
        dry_run=common["dry_run"],
        log_format=common["log_format"],
        encoding=common["encoding"],
        delimiter=common["delimiter"],
        limits=read_limits(common),
    )


def read_limits(common: dict[str, Any]) -> ReadLimits:
    """The read limits of the ``--max-line-size``... options (``importer.cli.options.READ_LIMIT_OPTIONS``)."""
    return ReadLimits(
        line_bytes=common["max_line_size"],
        cell_bytes=common["max_cell_size"],
        columns=common["max_columns"],
        decompressed_bytes=common["max_decompressed_size"],
        compression_ratio=common["max_compression_ratio"],
        zip_entries=common["max_zip_entries"],
        zip_bytes=common["max_zip_size"],
    )


def console() -> Console:
    """This command run's printing choices (--output, --log-format), made once per run."""
    ctx = click.get_current_context()
    if "ecdp.console" not in ctx.meta:
        ctx.meta["ecdp.console"] = Console(ctx.params.get("output", "full"), ctx.params.get("log_format", "text"))
    found: Console = ctx.meta["ecdp.console"]
    return found


def warn(message: str) -> None:
    """A warning of this command run (printed as its console says, kept for its summary)."""
    console().warnings(message)
