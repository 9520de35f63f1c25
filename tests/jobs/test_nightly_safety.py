"""Nightly safety against the sandbox over loopback HTTP: the drift gate, the metrics file, the
notification, ``undo``, and a pace remembered from one run to the next."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import importer
from importer.sandbox import Faults, SandboxServer
from tests.support import free_port, get, http_server, run_cli, sandbox_env, write_csv

LINE = {
    "date": "2024-11-06T10:10:00Z",
    "totalValue": "10",
    "customer.email": "a@example.com",
    "status": "placed",
    "product.id": "p1",
    "product.name": "Thing",
    "product.price": "10",
    "product.quantity": "1",
}


def customers(path: Path, count: int, start: int = 0) -> Path:
    rows = [[f"c{n}@example.com", f"C{n}"] for n in range(start, start + count)]
    return write_csv(path, ["email", "firstName"], rows)


def night(server: SandboxServer, tmp_path: Path, source: Path, *extra: str, name: str = "night") -> Any:
    state = tmp_path / "state.db"
    return run_cli(
        ["customers", str(source), "--state", str(state), *extra], env=sandbox_env(server), report_dir=tmp_path / name
    )


# -- the drift gate -----------------------------------------------------------------------------------


def test_a_tenth_size_export_after_five_normal_nights_stops_with_nothing_sent(sandbox, tmp_path):
    for day in range(1, 6):  # the shop's export is named by date: one series all the same
        run = night(
            sandbox,
            tmp_path,
            customers(tmp_path / f"customers-2026-12-0{day}.csv", 1000 + 10 * day),
            name=f"night-{day}",
        )
        assert run.exit_code == 0, run.stderr
    sandbox.stats.reset()
    small = customers(tmp_path / "customers-2026-12-06.csv", 100)
    run = night(sandbox, tmp_path, small, name="small")
    assert run.exit_code == 2
    assert sandbox.stats.count("POST", "/customers") == 0  # nothing was sent
    stopped = run.summary["stopped"]
    assert "100 valid records, -90% from the median 1,030 of the last 5 successful runs" in stopped
    assert "--max-drift 50%" in stopped and "100 valid records" in run.stdout
    assert run.summary["rows_held"] == 100 and run.summary["records_sent"] == 0  # every row accounted for
    assert run.summary["rows_failed"] == 0 and run.summary["held_file"] is not None
    through = night(sandbox, tmp_path, small, "--accept-drift", name="accepted")
    assert through.exit_code == 0 and through.summary["records_accepted"] == 100


def test_first_runs_and_full_loads_are_not_judged_but_min_records_is_a_floor(sandbox, tmp_path):
    first = night(sandbox, tmp_path, customers(tmp_path / "a.csv", 30), name="first")
    assert first.exit_code == 0  # no history: nothing to compare with
    for day in range(4):
        assert night(sandbox, tmp_path, customers(tmp_path / "a.csv", 30), name=f"n{day}").exit_code == 0
    full = night(sandbox, tmp_path, customers(tmp_path / "a.csv", 300), "--full", name="full")
    assert full.exit_code == 0 and full.summary["records_sent"] == 300
    floor = night(sandbox, tmp_path, customers(tmp_path / "b.csv", 5), "--min-records", "10", name="floor")
    assert floor.exit_code == 2 and "5 valid records < --min-records 10" in floor.summary["stopped"]
    off = night(sandbox, tmp_path, customers(tmp_path / "a.csv", 3), "--max-drift", "off", name="off")
    assert off.exit_code == 0


def mapped(tmp_path: Path, shop: str, count: int) -> Path:
    """A mapping that names its export itself (no FILE on the command line), as a migration's does."""
    folder = tmp_path / shop
    folder.mkdir(exist_ok=True)
    customers(folder / "export.csv", count)
    mapping = folder / f"{shop}.toml"
    mapping.write_text(
        'kind = "customers"\n[sources.main]\npath = "export.csv"\n[fields]\nemail = "email"\nfirstName = "firstName"\n',
        encoding="utf-8",
    )
    return mapping


def test_two_imports_through_different_mappings_in_one_state_are_judged_each_on_its_own(sandbox, tmp_path):
    state, env = tmp_path / "state.db", sandbox_env(sandbox)

    def run(mapping: Path, name: str) -> Any:
        return run_cli(
            ["customers", "--mapping", str(mapping), "--state", str(state)], env=env, report_dir=tmp_path / name
        )

    for night_number in range(3):
        assert run(mapped(tmp_path, "olist", 200), f"olist-{night_number}").exit_code == 0
    other = run(mapped(tmp_path, "uci", 20), "uci")  # another shop's export: not a tenth of Olist's
    assert other.exit_code == 0 and other.summary["records_accepted"] == 20
    shrunk = run(mapped(tmp_path, "olist", 20), "olist-small")  # Olist's own history still judges Olist
    assert shrunk.exit_code == 2 and "-90% from the median 200 of the last 3" in shrunk.summary["stopped"]
    listing = run_cli(["runs", "--state", str(state)], imports=False).stdout.splitlines()
    host = sandbox.url.split("://", 1)[1]
    assert listing[0].split()[-1] == "series" and len(listing) == 6
    assert listing[1].endswith(f"customers · mapping olist.toml · export.csv → {host}")
    assert listing[2].endswith(f"customers · mapping uci.toml · export.csv → {host}")


def test_the_median_judges_a_series_only_after_three_successful_runs(sandbox, tmp_path):
    for day in (1, 2):
        assert (
            night(sandbox, tmp_path, customers(tmp_path / f"c-2026-12-0{day}.csv", 200), name=f"n{day}").exit_code == 0
        )
    small = customers(tmp_path / "c-2026-12-03.csv", 20)
    third = night(sandbox, tmp_path, small, name="third")  # two earlier runs: no median yet
    assert third.exit_code == 0 and third.summary["records_accepted"] == 20
    fourth = night(sandbox, tmp_path, customers(tmp_path / "c-2026-12-04.csv", 20, start=20), name="fourth")
    assert fourth.exit_code == 2  # 200, 200, 20: the median 200 of three runs judges the fourth
    assert "-90% from the median 200 of the last 3 successful runs" in fourth.summary["stopped"]
    named = night(
        sandbox, tmp_path, customers(tmp_path / "c-2026-12-05.csv", 20, start=40), "--series", "smaller", name="named"
    )
    assert named.exit_code == 0  # a new --series NAME: a new history, started on purpose


# -- metrics and the notification -----------------------------------------------------------------------


def metrics_of(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_the_metrics_file_parses_and_its_counts_are_the_summarys(sandbox, tmp_path):
    source = write_csv(
        tmp_path / "c.csv",
        ["email", "firstName"],
        [*[[f"m{n}@example.com", "M"] for n in range(19)], ["broken", "X"], ["", ""]],
    )
    metrics = tmp_path / "textfile" / "ecdp_customers.prom"
    run = night(sandbox, tmp_path, source, "--metrics-file", str(metrics))
    assert run.exit_code == 1
    found, summary = metrics_of(metrics), run.summary
    labels = (("command", "customers"), ("profile", "default"))

    def value(name: str, outcome: str | None = None) -> float:
        key = tuple(sorted((*labels, *((("outcome", outcome),) if outcome else ()))))
        return found[(f"ecdp_import_{name}", key)]

    for outcome in ("read", "accepted", "rejected", "failed", "blank"):
        assert value("rows", outcome) == summary[f"rows_{outcome}"], outcome
    for outcome in ("sent", "accepted", "rejected"):
        assert value("records", outcome) == summary[f"records_{outcome}"], outcome
    assert value("requests") == summary["requests"] and value("throttled") == summary["throttled"]
    assert value("exit_code") == 1 and value("duration_seconds") == pytest.approx(summary["duration_s"])
    assert value("last_success_timestamp_seconds") >= value("last_run_timestamp_seconds") - 60
    assert sandbox.api_key not in metrics.read_text() and "m1@example.com" not in metrics.read_text()
    assert not list(metrics.parent.glob(".*"))  # written atomically: no temporary file left


def test_a_run_that_cannot_start_still_writes_its_metrics(sandbox, tmp_path):
    metrics = tmp_path / "ecdp.prom"
    run = night(sandbox, tmp_path, tmp_path / "missing-export.csv", "--metrics-file", str(metrics))
    assert run.exit_code == 2
    found = metrics_of(metrics)
    assert found[("ecdp_import_exit_code", (("command", "customers"), ("profile", "default")))] == 2


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local endpoint that records the JSON POSTed to it."""
    received: list[dict[str, Any]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

    with http_server(Hook) as url:
        yield f"{url}/hooks/T0K3N", received


def test_a_run_with_rejected_rows_notifies_without_personal_data(sandbox, tmp_path, webhook):
    url, received = webhook
    source = write_csv(tmp_path / "c.csv", ["email"], [*[[f"n{n}@example.com"] for n in range(19)], ["broken"]])
    run = night(sandbox, tmp_path, source, "--notify-url", url)
    assert run.exit_code == 1 and len(received) == 1
    sent = received[0]
    assert sent["exit_code"] == 1 and sent["rows_rejected"] == 1 and sent["rows_accepted"] == 19
    text = json.dumps(sent)
    assert "example.com" not in text and "broken" not in text and sandbox.api_key not in text
    clean = night(sandbox, tmp_path, customers(tmp_path / "ok.csv", 20), "--notify-url", url, name="ok")
    assert clean.exit_code == 0 and len(received) == 1  # exit 0: nothing to tell


def test_a_notify_endpoint_that_is_down_does_not_change_the_exit_code(sandbox, tmp_path):
    port = free_port()  # a port nobody listens on
    source = write_csv(tmp_path / "c.csv", ["email"], [*[[f"d{n}@example.com"] for n in range(19)], ["broken"]])
    run = night(sandbox, tmp_path, source, "--notify-url", f"http://127.0.0.1:{port}/hooks/secret-token")
    assert run.exit_code == 1
    assert f"The notification to http://127.0.0.1:{port} was not delivered (ConnectError)" in run.stderr
    assert "secret-token" not in run.stderr


# -- undo ------------------------------------------------------------------------------------------------


def orders_file(path: Path, ids: list[str]) -> Path:
    return write_csv(path, ["id", *LINE], [[order_id, *LINE.values()] for order_id in ids])


def test_undo_deletes_exactly_the_orders_a_run_created(sandbox, tmp_path):
    state, env = tmp_path / "state.db", sandbox_env(sandbox)
    before = run_cli(
        ["orders", str(orders_file(tmp_path / "a.csv", ["o1", "o2"])), "--state", str(state)],
        env=env,
        report_dir=tmp_path / "a",
    )
    assert before.exit_code == 0
    second = run_cli(
        ["orders", str(orders_file(tmp_path / "b.csv", ["o2", "o3", "o4"])), "--state", str(state)],
        env=env,
        report_dir=tmp_path / "b",
    )
    assert second.exit_code == 0
    run_id = second.summary["run_id"]
    refused = run_cli(
        ["undo", run_id, "--state", str(state), "--output", "full"], env=env, report_dir=tmp_path / "no", imports=False
    )
    assert refused.exit_code == 2 and get(sandbox, "/orders/o3").status_code == 200  # not confirmed: nothing sent
    undone = run_cli(
        ["undo", run_id, "--state", str(state), "--yes", "--output", "full"],
        env=env,
        report_dir=tmp_path / "undo",
        imports=False,
    )
    assert undone.exit_code == 0, undone.stderr
    assert [get(sandbox, f"/orders/{o}").status_code for o in ("o1", "o2", "o3", "o4")] == [200, 200, 404, 404]
    summary = undone.summary
    assert summary["command"] == "undo" and summary["undo_of"] == run_id
    assert summary["records_accepted"] == 2 and summary["records_kept"] == 1
    assert "1 order of run" in undone.stderr and "existed before it" in undone.stderr


def test_undo_of_a_customers_run_lists_them_and_deletes_nothing(sandbox, tmp_path):
    state = tmp_path / "state.db"
    run = night(sandbox, tmp_path, customers(tmp_path / "c.csv", 3))
    result = importer.undo(
        run.summary["run_id"],
        api=importer.ApiSettings(url=sandbox.url, key=importer.ApiKey(sandbox.api_key)),
        run=importer.RunOptions(state=state, report_dir=tmp_path / "undo"),
    )
    assert result.exit_code == 1 and result.summary.to_dict()["not_undoable"] == 3
    assert result.rows("not_undoable.csv")["key"].to_list() == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert sandbox.store.counts().customers == 3


# -- the remembered pace --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_second_of_two_runs_starts_at_the_pace_the_first_found(tmp_path):
    """Issue 21: a 20 req/s token bucket, concurrency 8, chunks of 5, runs of about 16 s (long enough for the
    first run, which starts slowly, to meet the limit more than once: the rate between two 429s is what it
    remembers)."""
    with SandboxServer(faults=Faults(rate_limit=20)) as server:
        source = customers(tmp_path / "c.csv", 1600)
        api = importer.ApiSettings(url=server.url, key=importer.ApiKey(server.api_key), concurrency=8)
        runs = [
            importer.import_customers(
                source,
                api=api,
                run=importer.RunOptions(chunk_size=5, state=tmp_path / "state.db", report_dir=tmp_path / f"run-{n}"),
            ).summary
            for n in (1, 2)
        ]
    first, second = runs
    assert first.rows_accepted == second.rows_accepted == 1600
    assert first.throttled > 0  # the first run found the limit the usual way
    assert second.throttled / second.requests < 0.01, (second.throttled, second.requests, first.timeline["rows"])
    sending = second.duration_s
    assert (second.requests - second.throttled) / sending >= 0.9 * 20, (second.requests, sending)


def test_a_first_run_starts_slowly_ramps_up_and_meets_the_limit_with_few_429s(tmp_path):
    """Issue 31: no remembered pace, an unknown 20 req/s token bucket, concurrency 8, chunks of 5, ~10 s: the
    run starts below the limit and rises to it (slow start), with few 429s (an unpaced start ran into it
    with a burst: 3-8 % of its requests answered 429)."""
    with SandboxServer(faults=Faults(rate_limit=20)) as server:
        api = importer.ApiSettings(url=server.url, key=importer.ApiKey(server.api_key), concurrency=8)
        summary = importer.import_customers(
            customers(tmp_path / "c.csv", 1000),
            api=api,
            run=importer.RunOptions(chunk_size=5, state=tmp_path / "state.db", report_dir=tmp_path / "first"),
        ).summary
    assert summary.rows_accepted == 1000
    through = {t: requests - throttled for t, requests, *_, throttled in summary.timeline["rows"]}
    assert summary.timeline["bucket_s"] == 1 and through[0] < 10  # the first second: slowly, well under 20
    assert max(through.values()) >= 18, through  # then up to the limit
    assert summary.throttled <= max(5, 0.03 * summary.requests), (summary.throttled, summary.requests, through)
