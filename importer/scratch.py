"""Private temporary folders of a run, and the sweep of those a dead run left behind.

A run keeps rows and records it cannot hold in memory in folders of the system's temporary directory
(the hash partitions of ``importer.partitions.hashed``, the held records of ``importer.jobs.second_pass``,
the private copy ``importer.inputs.locations`` downloads a URL or writes a frame, a query or a table into;
``read`` folders are those of older versions, which copied a compressed or recoded file there). They hold
personal data, so they (0700) and the files in them (0600, made by ``private_file`` before a byte is written)
are readable by the owner only, and are deleted when the run ends. A run that is killed (``kill -9``, out of
memory, power cut) cannot delete them: their names carry the process id, and every run starts by deleting
the folders of processes of its user that no longer exist (``sweep``). A folder of a live process is never
touched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

_NAME = re.compile(r"^ecdp-(spool|held|read|copy)-(\d+)-")
FILE_MODE = 0o600  # a scratch file's mode (its folder's is 0700)


def scratch_dir(kind: str) -> Path:
    """A new private folder (0700) for ``kind`` (spool, held, read, copy) of this process."""
    return Path(tempfile.mkdtemp(prefix=prefix(kind)))


def private_file(path: Path) -> Path:
    """``path`` made as a new empty file readable by its owner only (0600), before anything is written to it:
    a writer that opens it again (``polars``, ``pyarrow``, a process) truncates it and keeps its mode."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    return path


def prefix(kind: str) -> str:
    """The name with which this process's folders of ``kind`` start."""
    return f"ecdp-{kind}-{os.getpid()}-"


def sweep(directory: Path | None = None) -> list[Path]:
    """Delete the folders dead runs of this user left in ``directory`` (the temporary directory); the
    folders deleted."""
    root = directory or Path(tempfile.gettempdir())
    swept: list[Path] = []
    try:
        entries = list(root.iterdir())
    except OSError:  # no temporary directory to look at: nothing to sweep
        return swept
    for entry in entries:
        found = _NAME.match(entry.name)
        if found is None or not _left_by_the_dead(entry, int(found.group(2))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        swept.append(entry)
    return swept


def _left_by_the_dead(entry: Path, pid: int) -> bool:
    try:
        if not entry.is_dir() or entry.is_symlink() or entry.stat().st_uid != os.getuid():
            return False
        os.kill(pid, 0)  # no signal is sent: this only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: the process exists (another user's); or the entry went away
        return False
    return False
