"""Full-size hostile files against the read limits (SECURITY.md): each must stop with exit 2 in at most
30 s under 600 MB peak RSS, nothing sent.

The bombs are written to a temporary folder a block at a time (never committed, never whole in memory):
2 GiB of NUL bytes as ``.csv.gz`` and ``.zip``, one 2 GiB line (``.csv.gz`` with and without a header,
``.zip`` with one, and a plain ``.csv`` on disk). Each is imported (``--dry-run``, a fresh process, its peak
RSS from ``wait4``) with the default limits, and again with the ratio limit out of the way
(``--max-compression-ratio 1000000``), so the limit a bomb meets next (the line) is measured too.

    .venv/bin/python -m bench.bombs [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

BIN = Path(sys.executable).parent
GiB, MiB = 1 << 30, 1 << 20
HEADER = b"email,first_name,last_name\n"
MAX_WALL_S, MAX_PEAK_MB = 30, 600


def gzip_of(path: Path, head: bytes, block: bytes, size: int) -> Path:
    """``head``, then ``block`` repeated to ``size`` bytes, as a gzip file of one member per block (a valid
    multi-member gzip: written in a second, as a bomb is made)."""
    member = gzip.compress(block, compresslevel=9, mtime=0)
    with path.open("wb") as out:
        if head:
            out.write(gzip.compress(head, mtime=0))
        for _ in range(size // len(block)):
            out.write(member)
    return path


def zip_of(path: Path, head: bytes, block: bytes, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("export.csv", "w", force_zip64=True) as out:
            out.write(head)
            for _ in range(size // len(block)):
                out.write(block)
    return path


def plain_of(path: Path, head: bytes, block: bytes, size: int) -> Path:
    with path.open("wb") as out:
        out.write(head)
        for _ in range(size // len(block)):
            out.write(block)
    return path


BOMBS = {  # name -> (writer, file name, head, block)
    "gzip of 2 GiB NUL bytes": (gzip_of, "nul.csv.gz", b"", bytes(MiB)),
    "zip of 2 GiB NUL bytes": (zip_of, "nul.zip", b"", bytes(MiB)),
    "gzip of one 2 GiB line": (gzip_of, "line.csv.gz", b"", b"x" * MiB),
    "gzip of a header and one 2 GiB line": (gzip_of, "header-line.csv.gz", HEADER, b"x" * MiB),
    "zip of a header and one 2 GiB line": (zip_of, "header-line.zip", HEADER, b"x" * MiB),
    "CSV of a header and one 2 GiB line": (plain_of, "header-line.csv", HEADER, b"x" * MiB),
}


def run(path: Path, extra: list[str], report: Path) -> dict[str, object]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            str(BIN / "ecdp-import"),
            "customers",
            str(path),
            "--dry-run",
            "--no-progress",
            "--output",
            "line",
            "--report-dir",
            str(report),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "wall_s": round(wall, 2),
        "peak_mb": round(usage.ru_maxrss / 1024),
        "message": stderr.splitlines()[0] if stderr else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the bombs here and keep them (default: a temporary folder)")
    parser.add_argument("--size", type=int, default=2 * GiB, help="bytes each bomb decompresses to (2 GiB)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ecdp-bombs-"))
    folder.mkdir(parents=True, exist_ok=True)
    failures = 0
    try:
        for name, (write, file_name, head, block) in BOMBS.items():
            path = folder / file_name
            if not path.exists():
                write(path, head, block, args.size)
            for limits, extra in (("default limits", []), ("ratio limit raised", ["--max-compression-ratio", "1e6"])):
                if limits != "default limits" and write is plain_of:
                    continue
                result = run(path, extra, folder / "report")
                ok = (
                    result["exit"] == 2
                    and float(str(result["wall_s"])) <= MAX_WALL_S
                    and int(str(result["peak_mb"])) <= MAX_PEAK_MB
                )
                failures += not ok
                print(
                    f"{'ok ' if ok else 'BAD'} {name} ({path.stat().st_size / MiB:.1f} MiB), {limits}: "
                    f"exit {result['exit']}, {result['wall_s']} s, peak {result['peak_mb']} MB\n"
                    f"    {result['message']}",
                    flush=True,
                )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
