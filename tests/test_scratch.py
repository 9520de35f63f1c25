"""Private temporary folders: a run that was killed leaves its own, and the next run deletes them;
folders of live processes, of other programs and of other users' names are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from importer import scratch


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_folders_of_dead_runs_are_swept_and_nothing_else(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = [tmp_path / f"ecdp-{kind}-{dead}-x1" for kind in ("spool", "held", "read")]
    alive = tmp_path / f"ecdp-held-{os.getpid()}-x2"
    others = [tmp_path / "ecdp-held-x3", tmp_path / f"other-held-{dead}-x4", tmp_path / f"ecdp-parts-{dead}-x5"]
    for folder in [*stale, alive, *others]:
        folder.mkdir()
        (folder / "rows.parquet").write_bytes(b"personal data")
    (tmp_path / f"ecdp-spool-{dead}-file").write_bytes(b"not a folder")
    assert sorted(scratch.sweep(tmp_path)) == sorted(stale)
    assert not any(folder.exists() for folder in stale)
    assert alive.exists() and all(folder.exists() for folder in others)
    assert (tmp_path / f"ecdp-spool-{dead}-file").exists()


def test_a_scratch_folder_is_private_and_named_after_its_process() -> None:
    folder = scratch.scratch_dir("spool")
    try:
        assert folder.name.startswith(f"ecdp-spool-{os.getpid()}-")
        assert folder.stat().st_mode & 0o777 == 0o700
        assert folder not in scratch.sweep(folder.parent)  # this process is alive
    finally:
        folder.rmdir()
