"""Run an iterator a step ahead of its consumer, in a thread: the two overlap on two cores.

The first pass uses it: parsing the next piece of CSV (polars, which releases the GIL) while the
current batch is hashed into partitions and written out. ``prefetch`` makes an item only when fewer
than ``depth`` are made and not yet taken, so memory grows by that many items, not with the input.
Items come in their order; an exception raised by the iterator is raised to the consumer where the
iterator raised it (after the items before it). When the consumer stops early (an error of its own,
a break), the thread is told to stop and is waited for, and the iterator is closed in it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar, cast

from importer.inputs.files import close_reader

T = TypeVar("T")
_WAIT_S = 0.1  # how often a blocked thread looks whether its consumer has gone
_END = object()


def prefetch(items: Iterable[T], depth: int = 1, name: str = "ecdp-prefetch") -> Iterator[T]:
    """``items``, each produced in a thread while the consumer works on the one before. The thread
    starts on an item only when fewer than ``depth`` are made and not yet taken, so at most
    ``depth + 1`` items are alive at once (the consumer's, and those made or being made for it)."""
    made: queue.SimpleQueue[tuple[object, BaseException | None]] = queue.SimpleQueue()
    slots = threading.Semaphore(depth)
    stop = threading.Event()

    def slot() -> bool:
        while not stop.is_set():
            if slots.acquire(timeout=_WAIT_S):
                return True
        return False

    def read_ahead() -> None:
        iterator = iter(items)
        try:
            while slot():
                try:
                    item = next(iterator)
                except StopIteration:
                    made.put((_END, None))
                    return
                made.put((item, None))
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer's thread
            made.put((_END, exc))
        finally:
            close_reader(iterator)

    thread = threading.Thread(target=read_ahead, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = made.get()
            slots.release()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield cast(T, item)
    finally:
        stop.set()
        thread.join()
