"""ecdp-importer: bulk import of customer and order exports into the ExpertSender CDP API.

As a library (``docs/library.md``)::

    import importer
    result = importer.import_orders("s3://exports/orders.csv.gz", run=importer.RunOptions(report_dir=...))
    result.summary.rows_accepted, result.exit_code, result.rejected()   # a polars DataFrame

The names in ``__all__`` are the public API (``importer.api`` defines the functions); everything else
is internal. The package's folders are the pipeline's stages (``docs/design.md`` draws them)::

    inputs/      files, URLs and frames, CSV text, encodings and delimiters, mappings -> frames of strings
    partitions/  the first pass: the rows in partitions of whole records (streamed, or hashed on disk)
    records/     pure functions over frames: normalise, validate, pre-flight checks, JSON records
    delivery/    the HTTP engine: pacing, retries, abort; bulk chunks and single-record requests
    report/      the report's files, the typed run summary, report.html
    jobs/        the runs: imports, order status and deletes, verify, retries, the journal, RunResult
    api.py       the library's entry points over ``jobs``, and their async twins
    cli/         the ``ecdp-import`` command line, a thin layer over ``api``
    sandbox/     a local server that behaves like the API (for tests, demos and trials)

beside ``frame`` (the bookkeeping columns every stage's frames carry), ``errors`` (the one exception
tree), ``settings`` (run settings and the API key), ``budget`` (the error budget) and ``scratch``
(private temporary folders).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from importer.version import __version__

logging.getLogger("ecdp_importer").addHandler(logging.NullHandler())  # a library prints nothing unasked

if TYPE_CHECKING:
    from importer.api import (
        api_from_env,
        delete_orders,
        delete_orders_async,
        import_customers,
        import_customers_async,
        import_events,
        import_events_async,
        import_orders,
        import_orders_async,
        undo,
        undo_async,
        update_order_statuses,
        update_order_statuses_async,
        verify,
        verify_async,
    )
    from importer.budget import Budget
    from importer.errors import (
        ApiAbort,
        ImporterError,
        InputError,
        Interrupted,
        LocalFault,
        SettingsUnreadable,
        UsageError,
    )
    from importer.inputs.databases import SqlQuery
    from importer.jobs.results import RunResult
    from importer.jobs.verify import Sampling
    from importer.report.summary import ImportSummary, OperationSummary, RunSummary, VerifySummary
    from importer.settings import (
        ApiKey,
        ApiSettings,
        CustomerOptions,
        EventOptions,
        OrderOptions,
        ReadLimits,
        RunOptions,
    )

#: public name -> the module that defines it; imported on first use, so ``import importer`` (and the
#: CLI's start) stays cheap: polars and httpx load only when a function is called
_WHERE = {
    **dict.fromkeys(
        [
            "import_customers",
            "import_orders",
            "import_events",
            "update_order_statuses",
            "delete_orders",
            "verify",
            "undo",
            "undo_async",
            "import_customers_async",
            "import_orders_async",
            "import_events_async",
            "update_order_statuses_async",
            "delete_orders_async",
            "verify_async",
            "api_from_env",
        ],
        "importer.api",
    ),
    **dict.fromkeys(
        ["ApiKey", "ApiSettings", "CustomerOptions", "OrderOptions", "EventOptions", "RunOptions", "ReadLimits"],
        "importer.settings",
    ),
    **dict.fromkeys(
        ["ImporterError", "UsageError", "InputError", "SettingsUnreadable", "ApiAbort", "LocalFault", "Interrupted"],
        "importer.errors",
    ),
    **dict.fromkeys(["ImportSummary", "OperationSummary", "RunSummary", "VerifySummary"], "importer.report.summary"),
    "RunResult": "importer.jobs.results",
    "Sampling": "importer.jobs.verify",
    "Budget": "importer.budget",
    "SqlQuery": "importer.inputs.databases",
}
__all__ = [
    "import_customers",
    "import_orders",
    "import_events",
    "update_order_statuses",
    "delete_orders",
    "verify",
    "import_customers_async",
    "import_orders_async",
    "import_events_async",
    "update_order_statuses_async",
    "delete_orders_async",
    "verify_async",
    "undo",
    "undo_async",
    "api_from_env",
    "ApiKey",
    "ApiSettings",
    "CustomerOptions",
    "OrderOptions",
    "EventOptions",
    "RunOptions",
    "ReadLimits",
    "Sampling",
    "Budget",
    "SqlQuery",
    "RunResult",
    "RunSummary",
    "ImportSummary",
    "OperationSummary",
    "VerifySummary",
    "ImporterError",
    "UsageError",
    "InputError",
    "SettingsUnreadable",
    "ApiAbort",
    "LocalFault",
    "Interrupted",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """The public names, imported when first asked for (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
