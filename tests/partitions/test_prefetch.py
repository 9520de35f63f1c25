"""``prefetch``: items in order, errors where they happened, at most depth + 1 items alive, and a consumer
that stops early stops and closes the iterator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from importer.partitions.prefetch import prefetch


def test_items_come_in_order_and_an_error_after_the_items_before_it():
    def items() -> Iterator[int]:
        yield from range(5)
        raise ValueError("broken at 5")

    seen = []
    with pytest.raises(ValueError, match="broken at 5"):
        for item in prefetch(items()):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("depth", [1, 2])
def test_the_thread_makes_at_most_depth_items_beyond_the_one_being_used(depth):
    made: list[int] = []

    def items() -> Iterator[int]:
        for number in range(10):
            made.append(number)
            yield number

    for item in prefetch(items(), depth=depth):
        time.sleep(0.02)  # the thread has time to run ahead as far as it may
        assert len(made) <= item + 1 + depth


def test_a_consumer_that_stops_early_closes_the_iterator_in_its_thread():
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1_000)
        finally:
            closed.set()

    iterator = prefetch(items())
    assert next(iterator) == 0
    iterator.close()
    assert closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "ecdp-prefetch"]


def test_an_empty_iterator():
    assert list(prefetch(iter([]))) == []
