"""The ``ecdp-import`` command line: a thin layer of click commands over the library (``importer.jobs``).

``cli`` is the click group (its commands are in ``import_commands``, ``bulk_commands`` and
``utility_commands``); ``main`` is the console entry point.
"""

from __future__ import annotations

from importer.cli.group import cli, main

__all__ = ["cli", "main"]
