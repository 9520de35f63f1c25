"""Files still being written, read while they grow: a query's result read as it arrives.

``postgres_copy`` has PostgreSQL's COPY text written into a private file by a process of its own, whose
reports a thread here follows (``GrowingFile.start``); the run's first read need not wait for the whole result.
``reader(path)`` gives a stream over such a file that reads what is written and waits, without holding the
GIL, only when it has caught up with the writer (a ``read(size)`` returns ``size`` bytes, or fewer only at the
file's end, as a file's read does). What needs the whole file (its size to plan partitions, its digest for the
journal) calls ``wait_for(path)`` first; for any other path both are no-ops (``reader`` gives None), so the
readers of ordinary files are unchanged.

The writer reports its progress (``GrowingFile.grew``, after flushing) and its end (``ended``, with the
error that stopped it, if any). An error is raised to every reader that reaches the point where it struck,
and by ``wait_for``: never a file that silently ends early. ``stop(path)`` ends a writer the run no longer
needs (a run stopped before reading it all): it cancels the writer's work (``postgres_copy``: kills the
process) and waits for the thread that follows it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from importer.errors import ImporterError

STOP_WAIT_S = 10.0  # how long ``stop`` waits for a cancelled writer's thread to end
_LOCK = threading.Lock()
_GROWING: dict[str, GrowingFile] = {}


class GrowingFile:
    """A file still being written: how far it is written, whether it has ended and how."""

    def __init__(self, path: Path, cancel: Callable[[], None]) -> None:
        self.path, self._cancel = path, cancel
        self._changed = threading.Condition()
        self._size, self._done = 0, False
        self._error: ImporterError | None = None
        self._thread: threading.Thread | None = None

    def start(self, write: Callable[[GrowingFile], None]) -> None:
        """Run ``write(self)`` in a thread of its own (it calls ``grew`` and, at its end, ``ended``)."""
        with _LOCK:
            _GROWING[str(self.path)] = self
        self._thread = threading.Thread(target=write, args=(self,), name=f"write {self.path.name}", daemon=True)
        self._thread.start()

    def grew(self, size: int) -> None:
        """The file holds ``size`` bytes, flushed: readers may read them."""
        with self._changed:
            self._size = size
            self._changed.notify_all()

    def ended(self, error: ImporterError | None = None) -> None:
        """The writer is done: the file is whole, or ``error`` stopped it."""
        with self._changed:
            self._done, self._error = True, error
            self._changed.notify_all()

    def readable(self, position: int, wanted: int) -> None:
        """Wait until ``wanted`` bytes past ``position`` are written (all of them when ``wanted`` < 0) or the
        file has ended; raise the writer's error once a reader has caught up with it."""
        with self._changed:
            self._changed.wait_for(lambda: self._done or (wanted >= 0 and self._size - position >= wanted))
            if self._error is not None and (wanted < 0 or self._size - position < wanted):
                raise self._error.with_traceback(None)

    def wait(self) -> None:
        """Wait for the whole file; the writer's error if it failed."""
        self.readable(0, -1)

    def stop(self) -> None:
        """Cancel the writer if it is still at work, and wait (``STOP_WAIT_S`` at most) for its thread."""
        with self._changed:
            done = self._done
        if not done:
            self._cancel()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)


class _Reader:
    """A read-only stream over a growing file (``streams.ByteStream``)."""

    def __init__(self, growing: GrowingFile) -> None:
        self._growing, self._position = growing, 0
        self._handle = growing.path.open("rb")

    def read(self, size: int = -1, /) -> bytes:
        self._growing.readable(self._position, size)
        data = self._handle.read(size)
        self._position += len(data)
        return data

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def reader(path: Path) -> _Reader | None:
    """A stream over ``path`` if a thread writes (or wrote) it this run, else None (read it as any file)."""
    with _LOCK:
        growing = _GROWING.get(str(path))
    return _Reader(growing) if growing is not None else None


def wait_for(path: Path) -> None:
    """Return once ``path`` is whole (at once for a file no thread writes); the writer's error if it failed."""
    with _LOCK:
        growing = _GROWING.get(str(path))
    if growing is not None:
        growing.wait()


def stop(path: Path) -> None:
    """End the writing of ``path`` (cancelled if still at work) and forget it; nothing for other paths."""
    with _LOCK:
        growing = _GROWING.pop(str(path), None)
    if growing is not None:
        growing.stop()
