"""The process that writes a PostgreSQL COPY into a file: ``python -P .../postgres_copy_writer.py``.

``postgres_copy`` starts it once it has checked the query, so that the run reads the file while this process
writes it (``importer.inputs.growing_files``). It is a process, not a thread, because the server sends a row a
message: passing on a million messages is a million turns of a Python loop, which in a thread would take the
GIL from the run's reading every few microseconds (measured: the run read at a third of its speed meanwhile).

It reads one JSON line from stdin (``conninfo``: the connection string, password included, which is why it
is never an argument; ``session``, ``statement``, ``target``, ``block``), writes the rows to ``target`` (made,
owner only, by the parent) ``block`` bytes at a time, flushed, and says on stdout after each block ``written
<bytes>``; at its end ``done <bytes>``, or ``cannot-connect <what the driver said>`` / ``failed <what the
server said>`` (as JSON text) and exit status 1. It imports psycopg and the standard library only (it
starts in a fifth of a second), and ends when its reader is gone (its stdout closed) or when killed; it
leaves SIGINT and SIGTERM to the run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any, BinaryIO, TextIO

COPY_OUT, FATAL_ERROR = 3, 7  # libpq's ExecStatus: a COPY TO under way; an error
COPY_BROKEN = -2  # PQgetCopyData: the connection failed (-1: the COPY ended)


def main(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Run the COPY the JSON line on ``stdin`` describes; 0 when the file is whole."""
    import psycopg

    job: dict[str, Any] = json.loads(stdin.readline())
    try:
        connection = psycopg.connect(job["conninfo"], autocommit=True)
    except psycopg.Error as exc:
        return _said(stdout, "cannot-connect", str(exc))
    try:
        with connection:
            connection.execute(job["session"])
            descriptor = os.open(job["target"], os.O_WRONLY | os.O_TRUNC)  # (made, owner only, by its reader)
            with os.fdopen(descriptor, "wb") as file:
                written, failed = _copy(connection.pgconn, job["statement"].encode(), file, int(job["block"]), stdout)
    except psycopg.Error as exc:
        return _said(stdout, "failed", str(exc))
    except OSError as exc:  # the disk full, or the reader gone (its pipe closed)
        return _said(stdout, "failed", str(exc))
    if failed is not None:
        return _said(stdout, "failed", failed)
    print(f"done {written}", file=stdout, flush=True)
    return 0


def _copy(pgconn: Any, statement: bytes, file: BinaryIO, block_bytes: int, stdout: TextIO) -> tuple[int, str | None]:
    """Run ``COPY ... TO STDOUT`` on libpq's connection (``psycopg.pq``, blocking: this process has nothing else
    to do) and write its rows as they come, joined and flushed ``block_bytes`` at a time, each block reported:
    (the bytes written, the server's error or None). One call a row is the whole loop: a third less CPU than
    psycopg's ``Copy`` iterator."""
    pgconn.nonblocking = 0
    pgconn.send_query(statement)
    started = pgconn.get_result()
    if started is None or started.status != COPY_OUT:
        refused = _message(started.error_message if started is not None else pgconn.error_message)
        return 0, _error_at_end(pgconn) or refused
    block: list[bytes] = []
    pending = written = 0
    get = pgconn.get_copy_data
    while (row := get(0))[0] > 0:
        block.append(row[1])
        pending += row[0]
        if pending >= block_bytes:
            written += _flush(file, block)
            print(f"written {written}", file=stdout, flush=True)
            block, pending = [], 0
    written += _flush(file, block)
    broken = _message(pgconn.error_message) if row[0] == COPY_BROKEN else None
    return written, _error_at_end(pgconn) or broken


def _error_at_end(pgconn: Any) -> str | None:
    """The results left on the connection read to their end (the COPY's status, then none): the error among
    them, if any."""
    failed = None
    while (result := pgconn.get_result()) is not None:
        if result.status == FATAL_ERROR:
            failed = _message(result.error_message)
    return failed


def _message(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").strip() or "the connection was lost"


def _flush(file: BinaryIO, block: list[bytes]) -> int:
    data = b"".join(block)
    file.write(data)
    file.flush()
    return len(data)


def _said(stdout: TextIO, what: str, text: str) -> int:
    """Report what went wrong as one line (the parent scrubs it of the password and words it); exit status 1."""
    try:
        print(f"{what} {json.dumps(text or what)}", file=stdout, flush=True)
    except OSError:  # (the reader is gone: nobody to tell)
        return 1
    return 1


if __name__ == "__main__":
    # Ctrl-C, and the SIGTERM systemd or Kubernetes send to the whole group, are the run's to act on: it
    # reports the interruption, then kills this process (a run killed outright ends it through the closed pipe).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(main())
