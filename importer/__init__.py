"""ecdp-importer: bulk import of customer and order exports into the ExpertSender CDP API.

The package is a pipeline whose stages are modules named after what they do:
``read`` (files to frames) → ``customers`` (columns, normalisation, validation, records) →
``encode`` (JSON bodies) → ``send`` (HTTP) → ``report`` (reconciliation files), run by ``pipeline``.
``cli`` is a thin click layer over ``pipeline``; ``sandbox`` is a local server behaving like the API.
Beside the imports: ``preflight`` (checks against the platform's settings), ``order_ops`` (status
updates, deletes) and ``verify`` (what the platform holds against a file), over ``operations``.
"""

from __future__ import annotations

__version__ = "0.1.0"
