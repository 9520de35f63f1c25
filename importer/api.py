"""The importer as a library: the functions a data team's task calls (Airflow, Dagster, Prefect, a notebook).

Each function takes its sources — local paths, ``s3://``/``gs://``/``az://``/``https://`` URLs, polars
``DataFrame``/``LazyFrame`` objects, ``SqlQuery(url, sql)`` (a query's rows from PostgreSQL, SQLite or
DuckDB), or lake tables (``delta://…``, ``iceberg://…``, a folder, prefix or glob of Parquet files) — typed
options, and returns a ``RunResult`` (the summary's counts, the exit code, the report's files, the rejected
rows as a DataFrame on request). The CLI calls exactly these. By default a call prints nothing (events and
warnings go to the ``ecdp_importer`` logger), installs no signal handler and writes the usual report folder;
``RunOptions`` turns on a progress bar, stderr lines, Ctrl-C handling or switches off ``report.html``.

Every function has an ``async`` twin (``import_customers_async`` ...) for code inside an event loop; the
plain function, called from a thread whose event loop is running (a notebook cell), runs the import in
a worker thread and waits for it, instead of failing as ``asyncio.run`` would. A run raises
``ImporterError`` (one message and a hint) only when it cannot start or the API refused the key; bad
rows are never exceptions: they are counted and in ``result.rejected()``.

After every run, one that could not start included, ``RunOptions.metrics_file`` and ``notify_url`` are
served (``importer.jobs.monitoring``). ``undo`` deletes the orders an import run created. ``import_events``
triggers custom events, each at most once.

``api=None`` reads the target from the environment: ``ECDP_API_URL`` (default the production API) and
the key from ``ECDP_API_KEY`` or the file named by ``ECDP_API_KEY_FILE``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from importer.errors import ImporterError, UsageError
from importer.inputs.locations import Source, local_copies, renamed, series_names
from importer.jobs import imports, incremental, order_operations
from importer.jobs import undo as undoing
from importer.jobs import verify as verifying
from importer.jobs.monitoring import after_run
from importer.jobs.results import LOGGER, RunResult, Warn, finished, log_warning
from importer.jobs.verify import Sampling
from importer.resources import IMPORTS, find
from importer.resources.events import EVENTS
from importer.settings import (
    API_KEY_ENV,
    API_URL_ENV,
    DEFAULT_API_URL,
    ApiSettings,
    CustomerOptions,
    EventOptions,
    OrderOptions,
    RunOptions,
    check_api_url,
    load_api_key,
    public_url,
)

API_KEY_FILE_ENV = "ECDP_API_KEY_FILE"
Sources = Source | Sequence[Source]
_IMPORT_COMMANDS = {r.command for r in IMPORTS}  # (--since-column is theirs)
T = TypeVar("T")
P = ParamSpec("P")


def api_from_env(dry_run: bool = False) -> ApiSettings:
    """The API settings of the environment: ``ECDP_API_URL``, and the key from ``ECDP_API_KEY`` or the file
    ``ECDP_API_KEY_FILE`` names (a dry run needs none)."""
    url = check_api_url(os.environ.get(API_URL_ENV) or DEFAULT_API_URL)
    key_file = os.environ.get(API_KEY_FILE_ENV)
    if dry_run and not key_file and not os.environ.get(API_KEY_ENV):
        return ApiSettings(url=url)
    return ApiSettings(url=url, key=load_api_key(Path(key_file) if key_file else None))


def import_customers(
    sources: Sources,
    *,
    api: ApiSettings | None = None,
    options: CustomerOptions | None = None,
    run: RunOptions | None = None,
    warn: Warn = log_warning,
) -> RunResult:
    """Import customers (POST /customers) from CSV, xlsx or Parquet sources, frames or ``SqlQuery`` results."""
    run = run or RunOptions()
    return _call(
        "customers",
        sources,
        (),
        api,
        run,
        lambda paths, api_, warn_: imports.import_customers(paths, api_, options or CustomerOptions(), run, warn_),
        warn,
    )


def import_orders(
    sources: Sources,
    *,
    items: Sources = (),
    api: ApiSettings | None = None,
    options: OrderOptions | None = None,
    run: RunOptions | None = None,
    warn: Warn = log_warning,
) -> RunResult:
    """Import orders (POST /orders): order lines, or orders with ``items`` (their lines, joined on the
    order id), or nested Parquet."""
    run = run or RunOptions()
    return _call(
        "orders",
        sources,
        items,
        api,
        run,
        lambda paths, api_, warn_: imports.import_orders(paths, api_, options or OrderOptions(), run, warn_),
        warn,
    )


def import_events(
    sources: Sources,
    *,
    api: ApiSettings | None = None,
    options: EventOptions | None = None,
    run: RunOptions | None = None,
    warn: Warn = log_warning,
) -> RunResult:
    """Trigger custom events (POST /scenariocustomevents), one per row; each is sent at most once (events are
    not idempotent: ``--resume`` never resends one, those sent without an answer are listed as uncertain).
    ``options.event_id`` (or a ``customEventId`` column) says which custom event."""
    run = run or RunOptions()
    return _call(
        "events",
        sources,
        (),
        api,
        run,
        lambda paths, api_, warn_: imports.import_resource(EVENTS, paths, api_, options or EventOptions(), run, warn_),
        warn,
    )


def update_order_statuses(
    sources: Sources, *, api: ApiSettings | None = None, run: RunOptions | None = None, warn: Warn = log_warning
) -> RunResult:
    """Set order statuses (PUT /orders/status) from rows of ``id,status``."""
    run = run or RunOptions()
    return _call(
        "order-status",
        sources,
        (),
        api,
        run,
        lambda paths, api_, warn_: order_operations.update_order_status(paths, api_, run, warn_),
        warn,
    )


def delete_orders(
    sources: Sources,
    *,
    api: ApiSettings | None = None,
    run: RunOptions | None = None,
    confirm: Callable[[int], bool] | None = None,
    warn: Warn = log_warning,
) -> RunResult:
    """Delete the orders (DELETE /orders/{id}) of rows of ``id``; ``confirm(count)``, when given, is asked
    first, and a False answer sends nothing and raises ``UsageError``. A library call is its caller's decision:
    without ``confirm`` it asks nobody."""
    run = run or RunOptions()
    return _call(
        "delete-orders",
        sources,
        (),
        api,
        run,
        lambda paths, api_, warn_: order_operations.delete_orders(paths, api_, run, warn_, confirm),
        warn,
    )


def undo(
    run_id: str,
    *,
    api: ApiSettings | None = None,
    run: RunOptions | None = None,
    confirm: Callable[[int], bool] | None = None,
    warn: Warn = log_warning,
) -> RunResult:
    """Delete the orders import run ``run_id`` created (recorded in ``run.state``), leaving every order
    that existed before it; a customers run deletes nothing (the API has no delete) and lists its keys."""
    run = run or RunOptions()
    return _call(
        "undo", (), (), api, run, lambda _, api_, warn_: undoing.undo_run(run_id, api_, run, warn_, confirm), warn
    )


def verify(
    kind: Literal["customers", "orders"],
    sources: Sources,
    *,
    items: Sources = (),
    api: ApiSettings | None = None,
    options: CustomerOptions | OrderOptions | None = None,
    sampling: Sampling | None = None,
    run: RunOptions | None = None,
    warn: Warn = log_warning,
) -> RunResult:
    """Read the sources as an import would, read each record back and report what differs (exit 0: all
    match); ``sampling`` checks a random sample instead of every record."""
    run, sampling = run or RunOptions(), sampling or Sampling()
    declared = find(kind)
    if declared is None or not declared.verifiable:
        names = " or ".join(r.command for r in IMPORTS if r.verifiable)
        raise UsageError(f"verify: kind {kind!r} is not {names}.", f"Pass {names}.")
    if _listed(items) and not declared.items:
        raise UsageError(
            f"items are for orders, not {declared.naming.plural}.",
            f"Verify {declared.naming.plural} from their files alone.",
        )
    return _call(
        "verify",
        sources,
        items,
        api,
        replace(run, dry_run=False),
        lambda paths, api_, warn_: verifying.verify_resource(
            declared, paths, api_, declared.options(options), run, sampling, warn_
        ),
        warn,
    )


def _async_twin(function: Callable[P, RunResult]) -> Callable[P, Coroutine[Any, Any, RunResult]]:
    """``function`` for a running event loop: the run goes on in a worker thread while the loop goes on."""

    @functools.wraps(function)  # the same signature (inspect, IDEs, docs)
    async def twin(*args: P.args, **kwargs: P.kwargs) -> RunResult:
        return await asyncio.to_thread(function, *args, **kwargs)

    twin.__name__ = twin.__qualname__ = f"{function.__name__}_async"
    twin.__doc__ = f"``{function.__name__}`` awaited inside a running event loop (the run is in a worker thread)."
    return twin


import_customers_async = _async_twin(import_customers)
import_orders_async = _async_twin(import_orders)
import_events_async = _async_twin(import_events)
update_order_statuses_async = _async_twin(update_order_statuses)
delete_orders_async = _async_twin(delete_orders)
verify_async = _async_twin(verify)
undo_async = _async_twin(undo)


def _listed(sources: Sources) -> list[Source]:
    """One source or several, as a list (a str or a path is one source, not a sequence of characters)."""
    if isinstance(sources, (str, os.PathLike)) or not isinstance(sources, Sequence):
        return [sources]
    return list(sources)


def _call(
    command: str,
    sources: Sources,
    items: Sources,
    api: ApiSettings | None,
    run: RunOptions,
    job: Callable[[list[Path], ApiSettings, Warn], RunResult],
    warn: Warn,
) -> RunResult:
    """Run ``job`` on local paths for the sources (copies of URLs and frames), outside any running loop,
    with the copies' temporary names replaced by what they stand for in warnings and errors; then tell
    monitoring (metrics file, notification) what became of it, a run that could not start included."""
    listed = _listed(sources) + _listed(items)

    def named(message: str) -> None:
        warn(renamed(message))

    def work() -> RunResult:
        target = api
        try:
            target = api or api_from_env(run.dry_run)
            # (--since-column: a query's window in its SQL, so the database sends only the window's rows)
            pushed = incremental.push_down(command, listed, target, run) if command in _IMPORT_COMMANDS else listed
            with local_copies(pushed) as paths:
                result = job(paths, target, named)
        except ImporterError as error:
            after_run(command, series_names(listed), target or _unresolved(), run, error, named)
            raise
        LOGGER.info("%s", finished(result))
        after_run(command, series_names(listed), target, run, result, named)
        return result

    return _outside_loop(work)


def _unresolved() -> ApiSettings:
    """The target of a run whose settings could not be read from the environment (for its metrics)."""
    return ApiSettings(url=public_url(os.environ.get(API_URL_ENV) or DEFAULT_API_URL))  # (never its secrets)


def _outside_loop(work: Callable[[], T]) -> T:
    """``work()`` here, or in a worker thread when this thread runs an event loop (the jobs start their own)."""
    try:
        asyncio.get_running_loop()
        in_a_loop = True
    except RuntimeError:  # the usual case: no loop runs in this thread
        in_a_loop = False
    if not in_a_loop:
        return work()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecdp-import") as pool:
        return pool.submit(work).result()
