"""ecdp-importer: bulk import of customer and order exports into the ExpertSender CDP API.

The package is a pipeline whose stages are modules named after what they do:
``read`` (files to frames) → ``customers`` (columns, normalisation, validation, records) →
``encode`` (JSON bodies) → ``send`` (HTTP) → ``report`` (reconciliation files), run by ``pipeline``.
``cli`` is a thin click layer over ``pipeline``; ``sandbox`` is a local server behaving like the API.
Beside the imports: ``preflight`` (checks against the platform's settings), ``order_ops`` (status
updates, deletes) and ``verify`` (what the platform holds against a file), over ``operations``.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

# polars' allocator (jemalloc) hands pages it no longer needs back to the kernel at once by default; the
# next allocation then faults fresh, zeroed pages in, which on virtual machines such as this project's
# costs more than the work done in them (1M order lines: 0.3 s of kernel time, ~5 % of the run). Kept
# for reuse for up to 10 s instead (~45 MB more peak memory). Read by jemalloc when polars is first
# loaded, so it must be set before; a value the user set is kept.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:10000")
