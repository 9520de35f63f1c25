"""``make bench``: run the benchmarks, print tables, write bench/results.json.

Benchmarks are measurements, not tests: they assert nothing and are never part of ``make test``. The 1M
dry runs are run three times and their median reported (this machine's speed drifts a lot).
``python bench/run.py --quick`` runs shorter versions (for a smoke check); ``--10m`` adds the 10M-line
dry run (2.3 GB of CSV, generated once into bench/data/). ``--offline`` runs only the offline part,
``--first-runs`` only the first runs against a rate limit (the other results are kept).
``--against DIR`` adds dry runs of the checkout in DIR (with its own ``.venv``: ``python3 -m venv .venv &&
.venv/bin/pip install -e .`` there), alternating with this one's: the ratios of a change, in one run.
``--send-cpu`` runs only the send ÷ dry-run CPU row (``bench/send_cpu.py``), keeping the other results;
``--wide`` only the files of 1,000 to 10,000 columns (``bench/wide.py``); ``--sql-source`` only 1M order lines
from PostgreSQL against the same from CSV (``bench/sql_source.py``).
"""

from __future__ import annotations

import compileall
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tempfile

from bench.delivery import concurrency_scaling, first_runs, rate_limited, remembered_pace
from bench.offline import alternating, dry_run, end_to_end, shapes_side_by_side
from bench.send_cpu import send_cpu_ratio
from bench.sql_source import postgres_vs_csv
from bench.wide import wide_columns

RESULTS = Path(__file__).resolve().parent / "results.json"
REPEAT = 3  # runs of each 1M dry run: the median is reported (with every run's time)
ROUNDS = 5  # rounds of the shapes' side-by-side runs (importer, floor, naive in turn): the ratios of one
# round are measured minutes apart at most, but this machine's phases still move them by a third


def offline(quick: bool, ten_million: bool) -> dict[str, object]:
    """Dry runs of the importer and the naive baseline, and end to end into the sandbox."""
    size = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        shapes = shapes_side_by_side(size, Path(tmp) / "s", ROUNDS)
        print_shapes(
            f"Order lines by shape ({size:,} lines; importer --dry-run, bare polars floor, naive script; "
            f"medians of {ROUNDS} rounds of runs in turn; ratios: the median of the rounds' ratios)",
            shapes,
        )
        shapes_10m = shapes_side_by_side(10 * size, Path(tmp) / "s10", 1, with_naive=False) if ten_million else None
        if shapes_10m:
            print_shapes(
                f"Order lines by shape ({10 * size:,} lines, one run each; the naive script is left out: "
                "it would take a quarter of an hour)",
                shapes_10m,
            )
        customers = dry_run("customers", size, Path(tmp) / "c", repeat=REPEAT)
        e2e = end_to_end(size // 10, Path(tmp) / "e")
    clustered = shapes["clustered"]
    orders = {
        "kind": "orders",
        "lines": size,
        **clustered["importer"],
        "lines_per_s": round(size / clustered["importer"]["wall_s"]),
    }
    baseline = {"lines": size, **clustered["naive"], "lines_per_s": round(size / clustered["naive"]["wall_s"])}
    ratio = clustered["naive_per_importer"]  # (the median of the rounds' ratios)
    print(f"Offline (--dry-run, a fresh process each; {size:,} lines)")
    print(f"{'run':<28} {'wall s':>7} {'lines/s':>10} {'peak RSS MB':>12}")
    for name, row in (
        ("importer, order lines", orders),
        ("importer, customers", customers),
        ("naive baseline, order lines", baseline),
    ):
        print(f"{name:<28} {row['wall_s']:>7} {row['lines_per_s']:>10,} {row['peak_rss_mb']:>12}")
    print(
        f"(importer rows: the median of {ROUNDS} runs of order lines, {REPEAT} of customers; order lines took "
        f"{orders.get('walls_s')} s)"
    )
    print(f"importer vs naive on order lines: {ratio}x faster")
    print(
        f"\nEnd to end into the sandbox (50 ms latency, concurrency 16): {e2e['lines']:,} lines, "
        f"{e2e['orders_accepted']:,} orders in {e2e['wall_s']} s = {e2e['orders_per_s']:,} orders/s "
        f"({e2e['lines_per_s']:,} lines/s), {e2e['requests']} requests, peak RSS {e2e['peak_rss_mb']} MB\n"
    )
    return {
        "dry_run_orders": orders,
        "dry_run_customers": customers,
        "naive_orders": baseline,
        "speedup_vs_naive": ratio,
        "end_to_end_orders": e2e,
        "order_line_shapes": shapes,
        **({"order_line_shapes_10x": shapes_10m} if shapes_10m else {}),
    }  # (--offline keeps an earlier 10M run's)


def print_shapes(title: str, shapes: dict[str, Any]) -> None:
    print(title)
    print(
        f"{'shape':<10} {'importer s':>10} {'floor s':>8} {'naive s':>8} {'imp÷floor':>9} {'naive÷imp':>9} "
        f"{'user÷':>6} {'floor sys s':>11} {'importer MB':>11} {'floor MB':>8}"
    )
    for shape, row in shapes.items():
        naive_s = row.get("naive", {}).get("wall_s", "")
        print(
            f"{shape:<10} {row['importer']['wall_s']:>10} {row['floor']['wall_s']:>8} {naive_s:>8} "
            f"{row['importer_per_floor']:>9} {row.get('naive_per_importer', ''):>9} "
            f"{row['importer_per_floor_user_cpu']:>6} {row['floor']['sys_s']:>11} "
            f"{row['importer']['peak_rss_mb']:>11} {row['floor']['peak_rss_mb']:>8}"
        )
    print(
        "(imp÷floor and naive÷imp: wall time; user÷: importer ÷ floor in user CPU time, which the floor's "
        "page faults, its system time, do not move)"
    )
    print()


def compile_sources(root: Path | None = None) -> None:
    """Write the importer's bytecode, as ``pip install`` does for an installed package: every measured
    run then imports it from the cache (this machine sets PYTHONDONTWRITEBYTECODE, which would make each
    fresh process compile the whole package again, 0.4 s a run)."""
    root = root or Path(__file__).resolve().parent.parent
    for package in ("importer", "schemas"):
        compileall.compile_dir(str(root / package), quiet=1)


def against(other: Path, quick: bool) -> dict[str, object]:
    """Alternating dry runs of this checkout and of ``other``: ratios of this / other."""
    size = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        found = {
            kind: alternating(kind, size, other, Path(tmp) / kind, pairs=REPEAT + 2) for kind in ("orders", "customers")
        }
    print(f"Against {other} (--dry-run, {size:,} lines, alternating runs, this / that)")
    print(
        f"{'run':<12} {'this wall s':>11} {'that wall s':>11} {'ratio':>7} {'ratios':>15} {'this MB':>8} {'that MB':>8}"
    )
    for kind, row in found.items():
        this, that = row["this"], row["other"]
        print(
            f"{kind:<12} {this['wall_s']:>11} {that['wall_s']:>11} {row['wall_ratio_median']:>7} "
            f"{str(row['wall_ratio_range']):>15} {this['peak_rss_mb']:>8} {that['peak_rss_mb']:>8}"
        )
    print()
    return {"against_other_checkout": found}


def measure_first_runs(quick: bool) -> dict[str, Any]:
    """The first runs against the sandbox's 20 requests/s (issue 31), printed."""
    first = first_runs(seconds=20 if quick else 40)
    print(
        f"\nFirst runs (no remembered pace) against {first['limit_per_s']:g} requests/s (concurrency "
        f"{first['concurrency']}, chunks of 5): rate reached, 429s, seconds to 90 % of the limit"
    )
    for row in first["runs"]:
        print(
            f"  {row['reached_per_s']} requests/s ({row['achieved_per_s']} over the run of {row['seconds']} s), "
            f"429s {row['throttled']} of {row['requests']} ({row['throttled_share']:.2%}), "
            f"90 % after {row['seconds_to_90_percent']} s"
        )
    return first


def send_cpu(quick: bool) -> dict[str, object]:
    """Send ÷ dry-run CPU of the importer, the same file and chunk size, the sandbox in its own process."""
    found = send_cpu_ratio(lines=30_000 if quick else 120_000, rounds=3 if quick else 5)
    print(
        f"\nSending ÷ dry run, CPU (user + system) of the importer: {found['lines']:,} sparse order lines, chunks "
        f"of {found['chunk_size']}, {found['rounds']} alternating pairs: median {found['send_per_dry_run_cpu']} "
        f"(rounds {found['ratios']}; dry run {found['dry_run_cpu_s']} s, sending {found['send_cpu_s']} s)"
    )
    return {"send_per_dry_run_cpu": found}


def wide(rounds: int) -> dict[str, Any]:
    """Files of 1,000 to 10,000 columns and 2 rows (issue 31), printed."""
    found = wide_columns(rounds=rounds)
    print("\nFiles of many columns, 2 rows, dry run (median of alternating runs):")
    for width, row in found["widths"].items():
        print(f"  {int(width):>6,} columns: {row['wall_s']} s wall, {row['user_s']} s user, {row['peak_rss_mb']} MB")
    print(
        f"  4,000 / 1,000 columns: {found['wall_4000_per_1000']}x the time; "
        f"output of the 10,000-column run: {found['output_bytes_10000']:,} bytes"
    )
    return found


def sql_source(quick: bool) -> dict[str, Any]:
    """Order lines from PostgreSQL against the same from CSV (issue 33), printed."""
    with tempfile.TemporaryDirectory() as tmp:
        found = postgres_vs_csv(100_000 if quick else 1_000_000, Path(tmp), 1 if quick else 4)
    if "skipped" in found:
        print(f"\nOrder lines from PostgreSQL: skipped ({found['skipped']})")
        return found
    pg, csv, copy = found["postgres"], found["csv"], found["server_copy"]
    print(
        f"\n{found['lines']:,} order lines from PostgreSQL vs the same from CSV (--dry-run, medians of "
        f"{len(pg['walls_s'])} rounds): PG {pg['wall_s']} s, {pg['peak_rss_mb']} MB peak RSS (goal 700); CSV "
        f"{csv['wall_s']} s, {csv['peak_rss_mb']} MB; PG ÷ CSV {found['postgres_per_csv']}x (goal 1.5; rounds "
        f"{found['postgres_per_csv_rounds']}); the server's own COPY of the rows to nowhere: {copy['wall_s']} s"
    )
    return found


def keep(rows: dict[str, Any]) -> None:
    """Write ``rows`` into ``RESULTS``, keeping the rows an earlier run measured that this one did not."""
    earlier = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**earlier, **rows}, indent=2) + "\n", encoding="utf-8")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def main() -> None:
    compile_sources()
    quick = "--quick" in sys.argv
    # one part alone, written beside the other results of an earlier run
    if "--first-runs" in sys.argv:
        keep({"first_runs_measured_at": _now(), "delivery_first_runs": measure_first_runs(quick)})
        return
    if "--wide" in sys.argv:
        keep({"wide_measured_at": _now(), "wide_columns": wide(3)})
        return
    if "--sql-source" in sys.argv:
        keep({"sql_source_measured_at": _now(), "postgres_vs_csv": sql_source(quick)})
        return
    if "--send-cpu" in sys.argv:
        keep({"send_cpu_measured_at": _now(), **send_cpu(quick)})
        return
    other = Path(sys.argv[sys.argv.index("--against") + 1]).resolve() if "--against" in sys.argv else None
    if other is not None:
        compile_sources(other)
    measured = {**(against(other, quick) if other is not None else {}), **offline(quick, "--10m" in sys.argv)}
    if "--offline" in sys.argv:  # the delivery results of an earlier full run are kept
        keep({"offline_measured_at": _now(), "quick": quick, **measured})
        return
    scaling = concurrency_scaling(records=4_000 if quick else 20_000)
    print("Delivery vs concurrency (sandbox latency 50 ms, 100 records/request)")
    print(f"{'concurrency':>11} {'records/s':>10} {'speedup':>8} {'seconds':>8} {'requests':>9}")
    for row in scaling:
        print(
            f"{row['concurrency']:>11} {row['records_per_s']:>10} {row['speedup']:>8} {row['seconds']:>8} "
            f"{row['requests']:>9}"
        )
    limited = rate_limited(seconds=15 if quick else 60)
    print(
        f"\nAgainst a sandbox rate limit of {limited['limit_per_s']:g} requests/s "
        f"(concurrency {limited['concurrency']}, {limited['seconds']} s):"
    )
    print(
        f"  achieved {limited['achieved_per_s']} requests/s = {limited['achieved_share_of_limit']:.1%} of the limit; "
        f"429 answers: {limited['throttled']} of {limited['requests']} ({limited['throttled_share']:.2%})"
    )
    first = measure_first_runs(quick)
    pace = remembered_pace()
    print(
        f"\nTwo identical runs against {pace['limit_per_s']:g} requests/s (concurrency {pace['concurrency']}, "
        f"chunks of 5): 429s {pace['first']['throttled_share']:.1%} of the first run's requests, "
        f"{pace['second']['throttled_share']:.1%} of the second's (at "
        f"{pace['second']['achieved_share_of_limit']:.0%} of the limit)"
    )
    sending = send_cpu(quick)
    columns = wide(1 if quick else 3)
    from_postgres = sql_source(quick)
    results = {
        "measured_at": _now(),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "quick": quick,
        **measured,
        "delivery_concurrency": scaling,
        "delivery_rate_limited": limited,
        "delivery_first_runs": first,
        "delivery_remembered_pace": pace,
        **sending,
        "wide_columns": columns,
        "postgres_vs_csv": from_postgres,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {RESULTS}")


if __name__ == "__main__":
    main()
