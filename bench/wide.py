"""Files of thousands of columns (issue 31): a dry run of a customers file of 1,000, 4,000 and 10,000
``attr.*`` columns and a few rows, each a fresh process of the installed importer, alternating the widths,
the median of each width's runs; the ratio of 4,000 to 1,000 columns (linear: ~4 and less, as the fixed cost
of a run is shared; quadratic: ~16) and the output's size (the messages name 20 columns and count the rest).
"""

from __future__ import annotations

import csv
import subprocess
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

from bench.offline import INSTALLED, measure

WIDTHS = (1_000, 4_000, 10_000)


def wide_file(path: Path, columns: int, rows: int) -> Path:
    """A customers file of an e-mail and ``columns`` attribute columns, every cell filled."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["email", *[f"attr.a{i}" for i in range(columns)]])
        for row in range(rows):
            writer.writerow([f"u{row}@example.com", *[f"v{row}-{i}" for i in range(columns)]])
    return path


def wide_columns(rows: int = 2, rounds: int = 3) -> dict[str, Any]:
    """Each width's median wall and user CPU time over ``rounds`` alternating runs, and the output's bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        files = {width: wide_file(Path(tmp) / f"c{width}.csv", width, rows) for width in WIDTHS}
        runs: dict[int, list[dict[str, Any]]] = {width: [] for width in WIDTHS}
        for n in range(rounds):
            for width, path in files.items():
                report = Path(tmp) / f"r{width}-{n}"
                runs[width].append(
                    measure(
                        [
                            INSTALLED / "ecdp-import",
                            "customers",
                            path,
                            "--dry-run",
                            "--no-progress",
                            "--report-dir",
                            report,
                        ],
                        report=report,
                    )
                )
        path = files[WIDTHS[-1]]
        shown = subprocess.run(
            [
                str(INSTALLED / "ecdp-import"),
                "customers",
                str(path),
                "--dry-run",
                "--no-progress",
                "--report-dir",
                str(Path(tmp) / "shown"),
            ],
            capture_output=True,
            check=False,
        )
    widths = {
        str(width): {
            "wall_s": median(r["wall_s"] for r in runs[width]),
            "user_s": median(r["user_s"] for r in runs[width]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs[width]),
        }
        for width in WIDTHS
    }
    return {
        "rows": rows,
        "rounds": rounds,
        "widths": widths,
        "wall_4000_per_1000": round(widths["4000"]["wall_s"] / widths["1000"]["wall_s"], 2),
        "output_bytes_10000": len(shown.stdout) + len(shown.stderr),
    }


if __name__ == "__main__":
    print(wide_columns())
