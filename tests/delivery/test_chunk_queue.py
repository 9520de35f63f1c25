"""The chunk queue between the preparing thread and the sender, and what sending keeps cheap (issue 31): a
producer held back resumes at half the capacity, a stop wakes it at once, a whole chunk is sent as it was
joined, and the journal's fingerprints stay those of earlier versions."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time

import polars as pl

from importer.delivery.chunk_queue import ChunkQueue
from importer.jobs.journal import fingerprints
from importer.records.chunking import chunk_of, in_chunks


def _chunks(count: int) -> list:
    return [chunk_of(i, [f'{{"id":"o{i}"}}'], [[i]]) for i in range(count)]


def test_a_full_queue_holds_the_producer_until_half_of_it_is_taken():
    queue = ChunkQueue(capacity=4)
    put: list[int] = []

    def produce() -> None:
        for chunk in _chunks(10):
            if not queue.put(chunk):
                return
            put.append(chunk.index)
        queue.close()

    async def consume() -> tuple[list[int], list[int]]:
        queue.attach()
        producer = threading.Thread(target=produce)
        producer.start()
        while len(put) < 4:
            await asyncio.sleep(0.01)
        taken, put_by_then = [], []
        while (chunk := await queue.get()) is not None:
            await asyncio.sleep(0.3 if chunk.index < 2 else 0)  # (longer than the producer's look at stopping)
            taken.append(chunk.index)
            put_by_then.append(len(put))
        await asyncio.to_thread(producer.join)
        return taken, put_by_then

    taken, put_by_then = asyncio.run(consume())
    assert taken == list(range(10))  # every chunk, in order
    # full at 4, the producer waits while 3 are queued, and resumes when 2 are: it puts 2 more at once
    assert put_by_then[:2] == [4, 6]


def test_stop_wakes_a_producer_held_back_and_refuses_its_chunk():
    queue = ChunkQueue(capacity=1)
    results: list[bool] = []
    queue.put(_chunks(1)[0])
    producer = threading.Thread(target=lambda: results.append(queue.put(_chunks(2)[1])))
    started = time.monotonic()
    producer.start()
    time.sleep(0.05)
    queue.stop()
    producer.join(timeout=5)
    assert results == [False] and time.monotonic() - started < 1
    assert [chunk.index for chunk in queue.leftovers()] == [0]  # the one taken in, given back once
    assert queue.leftovers() == []


def test_a_whole_chunk_is_sent_as_joined_and_its_parts_are_made_when_split():
    frame = pl.DataFrame({"_json": ['{"id":"a"}', '{"id":"b"}', '{"id":"c"}'], "_rid": [[1], [2, 3], [4]]})
    chunk = next(in_chunks(frame, 3))
    assert chunk.part(0, 3) is chunk and chunk.part(0, 10) is chunk  # (its joined texts are not made again)
    envelope = {"mode": "AddOrReplace"}
    assert chunk.body(envelope) == b'{"mode":"AddOrReplace","data":[{"id":"a"},{"id":"b"},{"id":"c"}]}'
    half = chunk.part(1, 3)
    assert half.body(envelope) == b'{"mode":"AddOrReplace","data":[{"id":"b"},{"id":"c"}]}' and half.rows == 3


def test_fingerprints_are_those_earlier_journals_hold():
    texts = ['{"id":"ORD-1","name":"Książka 🎒"}', '{"id":"ORD-2"}']
    expected = [hashlib.blake2b(text.encode(), digest_size=16).hexdigest() for text in texts]
    assert fingerprints(pl.Series(texts)) == expected
