"""The queue of chunks from the thread that prepares them to the event loop that sends them.

Preparing (polars, off the event loop) and sending (httpx, on it) overlap: the preparing thread
``put``s chunks while the sender's workers ``get`` them. The queue holds at most ``capacity`` chunks, so
a slow network holds the preparation back instead of letting prepared requests pile up in memory. A
producer held back is woken when the queue is down to half its capacity, not at every chunk taken: each
wake-up is a thread switch and a hand-over of the GIL, which cost the sending thread more than the chunk.
When the sender stops (abort, Ctrl-C), ``put`` refuses further chunks (they stay the producer's) and
``leftovers`` gives back the ones taken in but never sent, so their rows can be reported as not sent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

from importer.records.chunking import Chunk

_WAIT_S = 0.2  # how often a blocked producer looks whether the sender has stopped


class ChunkQueue:
    """A bounded, thread-safe queue of chunks between one producer thread and an asyncio consumer."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._room = threading.Condition()  # guards _held; a producer waits on it while the queue is full
        self._held = 0  # chunks put and not yet taken
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Chunk | None] | None = None
        self._early: list[Chunk | None] = []  # put before the consumer's loop was attached
        self._lock = threading.Lock()
        self.stopped = False
        self._refused: list[Chunk] = []  # taken by a worker that then stopped

    @classmethod
    def of(cls, chunks: Iterable[Chunk]) -> ChunkQueue:
        """A queue already holding every chunk (no producer thread)."""
        items = list(chunks)
        queue = cls(capacity=len(items) + 1)
        for chunk in items:
            queue.put(chunk)
        queue.close()
        return queue

    def attach(self) -> None:
        """Bind to the running event loop (the consumer's); chunks put earlier are queued now."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue()
            for item in self._early:
                self._queue.put_nowait(item)
            self._early = []

    def put(self, chunk: Chunk) -> bool:
        """Hand a chunk over (blocking while the queue is full); False when the sender has stopped, and the
        chunk stays the caller's."""
        with self._room:
            if self._held >= self.capacity:  # full: wait until half of it is taken, or the sender has stopped
                while not self.stopped and self._held > self.capacity // 2:
                    self._room.wait(_WAIT_S)  # (looking every _WAIT_S whether the sender has stopped)
            if self.stopped:
                return False
            self._held += 1
        self._enqueue(chunk)
        return True

    def close(self) -> None:
        """No more chunks will come."""
        self._enqueue(None)

    def _enqueue(self, item: Chunk | None) -> None:
        with self._lock:
            if self._loop is None or self._queue is None:
                self._early.append(item)
            else:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def get(self) -> Chunk | None:
        """The next chunk, or None when there are no more (the end mark stays for the other workers)."""
        if self._queue is None:
            self.attach()
        assert self._queue is not None
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)
            return None
        with self._room:
            self._held -= 1
            if self._held == self.capacity // 2:  # a producer held back resumes, with room for several chunks
                self._room.notify()
        return item

    def put_back(self, chunk: Chunk) -> None:
        """A chunk taken but not sent (the sender is stopping)."""
        self._refused.append(chunk)

    def stop(self) -> None:
        """The sender takes no more chunks (a producer waiting for a free slot is woken at once)."""
        if not self.stopped:
            self.stopped = True
            with self._room:
                self._room.notify_all()

    def leftovers(self) -> list[Chunk]:
        """Chunks handed over but never sent (put back, or still queued); each is given back once."""
        left, self._refused = self._refused, []
        if self._queue is None:
            queued, self._early = self._early, []
        else:
            queued = []
            while not self._queue.empty():
                queued.append(self._queue.get_nowait())
        return left + [c for c in queued if c is not None]
