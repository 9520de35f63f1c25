"""ecdp-importer: bulk import of customer and order exports into the ExpertSender CDP API.

The package's folders are the pipeline's stages (``docs/design.md`` draws them, with what each owns)::

    inputs/      files, CSV text, encodings and delimiters, mappings and presets -> frames of strings
    partitions/  the first pass: the rows in partitions of whole records (streamed, or hashed on disk)
    records/     pure functions over frames: normalise, validate, pre-flight checks, JSON records
    delivery/    the HTTP engine: pacing, retries, abort; bulk chunks and single-record requests
    report/      the report's files, the typed run summary, report.html
    jobs/        the library's entry points: imports, order status and deletes, verify, runs, the journal
    cli/         the ``ecdp-import`` command line, a thin layer over ``jobs``
    sandbox/     a local server that behaves like the API (for tests, demos and trials)

beside ``frame`` (the bookkeeping columns every stage's frames carry), ``errors`` (the one exception
tree), ``settings`` (run settings and the API key), ``budget`` (the error budget) and ``scratch``
(private temporary folders).
"""

from __future__ import annotations

__version__ = "0.1.0"  # the one place of the version: pyproject.toml reads it from here
