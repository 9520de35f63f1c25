"""``make bench``: run the benchmarks, print a table, write bench/results.json.

Benchmarks are measurements, not tests: they assert nothing and are never part of ``make test``.
``python bench/run.py --quick`` runs shorter versions (for a smoke check).
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.delivery import concurrency_scaling, rate_limited  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.json"


def main() -> None:
    quick = "--quick" in sys.argv
    scaling = concurrency_scaling(records=4_000 if quick else 20_000)
    print("Delivery vs concurrency (sandbox latency 50 ms, 100 records/request)")
    print(f"{'concurrency':>11} {'records/s':>10} {'speedup':>8} {'seconds':>8} {'requests':>9}")
    for row in scaling:
        print(f"{row['concurrency']:>11} {row['records_per_s']:>10} {row['speedup']:>8} {row['seconds']:>8} "
              f"{row['requests']:>9}")
    limited = rate_limited(seconds=15 if quick else 60)
    print(f"\nAgainst a sandbox rate limit of {limited['limit_per_s']:g} requests/s "
          f"(concurrency {limited['concurrency']}, {limited['seconds']} s):")
    print(f"  achieved {limited['achieved_per_s']} requests/s = {limited['achieved_share_of_limit']:.1%} of the limit; "
          f"429 answers: {limited['throttled']} of {limited['requests']} ({limited['throttled_share']:.2%})")
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "quick": quick,
        "delivery_concurrency": scaling,
        "delivery_rate_limited": limited,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {RESULTS}")


if __name__ == "__main__":
    main()
