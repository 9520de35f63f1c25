"""Prepare and send at the same time: the second pass in a thread, the delivery engine on the event loop.

Preparing (polars, which releases the GIL) and sending (httpx, on asyncio) overlap on two cores: the
second pass ``put``s chunks into a bounded ``ChunkQueue`` while the sender's workers take them, so a slow
network holds the preparation back instead of letting prepared requests pile up in memory. An error of
the preparing thread stops the sending and is raised here; chunks never sent are handed back in
``Outcomes.unsent``, so their rows are reported as failed.
"""

from __future__ import annotations

import asyncio
import threading

from importer.delivery.chunk_queue import ChunkQueue
from importer.delivery.outcomes import CTRL_C, Outcomes
from importer.delivery.sender import Sender, run_loop
from importer.jobs.second_pass import SecondPass
from importer.partitions import Rows

RECORDS_QUEUED = 256  # records prepared ahead of the workers at least


def prepare_and_send(second_pass: SecondPass, rows: Rows, sender: Sender) -> Outcomes:
    """Every partition of ``rows`` prepared by ``second_pass`` and sent by ``sender``; their outcomes."""
    # (chunks of one record, as at-most-once sending makes them, queue more of them: the preparing thread is
    # woken per chunk, and a short queue left the workers waiting for it)
    queue = ChunkQueue(capacity=max(4, 2 * sender.api.concurrency, RECORDS_QUEUED // second_pass.chunk_size))
    failure: list[BaseException] = []

    def prepare_in_thread() -> None:
        try:
            second_pass.run(rows, queue.put)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, raised there
            failure.append(exc)
            queue.stop()
        finally:
            queue.close()

    async def deliver() -> Outcomes:
        queue.attach()
        thread = threading.Thread(target=prepare_in_thread, name="ecdp-prepare", daemon=True)
        thread.start()
        try:
            return await sender.run(queue)
        finally:
            queue.stop()
            await asyncio.to_thread(thread.join)

    try:
        outcomes = run_loop(deliver())
    except KeyboardInterrupt:  # only where the sender cannot handle SIGINT itself (not the main thread)
        sender.outcomes.abort(CTRL_C)
        outcomes = sender.outcomes
    if failure:
        raise failure[0]
    outcomes.unsent += second_pass.unsent + queue.leftovers()
    return outcomes
