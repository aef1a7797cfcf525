"""What one PagerDuty retro costs: requests and wall time against a fake API with latency.

    .venv/bin/python bench/bench_pagerduty.py [--log-entries 950] [--alerts 120] [--notes 3] [--latency 0.05]

The fake API (``retroflow_pagerduty.testing.FakePagerDuty`` behind ``httpx2.MockTransport``)
answers every request after ``--latency`` seconds, like a real round trip. For each
``concurrency`` setting the table shows the requests made, the theoretical minimum
(1 incident + ⌈log entries/100⌉ + ⌈alerts/100⌉ + 1 notes), the wall time, the ideal wall
time at that concurrency (latency × waves of requests), and the plugin's own time (the same
run with no latency). A last row adds the incident history (90 days: one more request).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from retroflow_pagerduty import PagerDutySource
from retroflow_pagerduty.testing import FakePagerDuty

from retroflow import RetroRequest
from retroflow.testing import make_config, make_plugins

TOKEN = "bench-token-0123456789"
START = datetime(2026, 11, 7, 2, 19, tzinfo=UTC)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def account(log_entries: int, alerts: int, notes: int, past: int, latency: float) -> FakePagerDuty:
    service = {"id": "PCHKOUT", "type": "service_reference", "summary": "checkout"}
    incident: dict[str, Any] = {
        "id": "Q0BENCH0001",
        "type": "incident",
        "incident_number": 1,
        "title": "Checkout 5xx rate > 5%",
        "created_at": _stamp(START),
        "status": "resolved",
        "resolved_at": _stamp(START + timedelta(hours=1)),
        "service": service,
        "urgency": "high",
        "html_url": "https://bench.pagerduty.com/incidents/Q0BENCH0001",
    }
    kinds = ["notify_log_entry", "escalate_log_entry", "annotate_log_entry", "assign_log_entry"]
    entries = [
        {
            "id": f"RLOG{n:06d}",
            "type": "trigger_log_entry" if n == 0 else kinds[n % len(kinds)],
            "summary": f"log entry {n}",
            "created_at": _stamp(START + timedelta(seconds=n)),
            "agent": {"id": "PUSER01", "type": "user_reference", "summary": "bob"},
            "channel": {"type": "auto"},
            "service": service,
        }
        for n in range(log_entries)
    ]
    alert_list = [
        {
            "id": f"PALR{n:06d}",
            "type": "alert",
            "summary": f"alert {n}",
            "created_at": _stamp(START),
            "service": service,
        }
        for n in range(alerts)
    ]
    note_list = [
        {"id": f"PNOT{n:04d}", "content": f"note {n}", "created_at": _stamp(START), "user": {"summary": "carol"}}
        for n in range(notes)
    ]
    history = [
        {**incident, "id": f"QPAST{n:05d}", "incident_number": 100 + n, "created_at": _stamp(START - timedelta(days=n))}
        for n in range(1, past + 1)
    ]
    return FakePagerDuty(
        [incident, *history],
        log_entries={incident["id"]: entries},
        alerts={incident["id"]: alert_list},
        notes={incident["id"]: note_list},
        token=TOKEN,
        latency=latency,
    )


def run(fake: FakePagerDuty, concurrency: int, history_days: int) -> tuple[int, float, int]:
    source = PagerDutySource(transport=fake.transport)
    toml = (
        "[plugins.pagerduty]\n"
        'token = "env:RETROFLOW_BENCH_PAGERDUTY_TOKEN"\n'
        f"history_days = {history_days}\nconcurrency = {concurrency}\n"
    )
    config = make_config(toml, plugins=make_plugins(source, default_plugins=False))
    fake.requests.clear()
    started = time.perf_counter()
    result = source.retroflow_timeline_source(RetroRequest("Q0BENCH0001"), config)
    elapsed = time.perf_counter() - started
    assert result is not None
    return len(fake.requests), elapsed, len(result.events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-entries", type=int, default=950)
    parser.add_argument("--alerts", type=int, default=120)
    parser.add_argument("--notes", type=int, default=3)
    parser.add_argument("--history", type=int, default=30, help="past incidents of the service in the window")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    args = parser.parse_args()
    os.environ["RETROFLOW_BENCH_PAGERDUTY_TOKEN"] = TOKEN
    fake = account(args.log_entries, args.alerts, args.notes, args.history, args.latency)
    minimum = 1 + max(1, math.ceil(args.log_entries / 100)) + max(1, math.ceil(args.alerts / 100)) + 1
    print(
        f"incident with {args.log_entries} log entries, {args.alerts} alerts, {args.notes} notes; "
        f"fake API latency {args.latency * 1000:.0f} ms per request"
    )
    print(f"theoretical minimum: 1 + ⌈{args.log_entries}/100⌉ + ⌈{args.alerts}/100⌉ + 1 = {minimum} requests\n")
    first_wave = 4  # incident, first page of log entries, first page of alerts, notes
    later = minimum - first_wave
    print(f"{'mode':<28} {'requests':>8} {'minimum':>8} {'wall time':>10} {'ideal':>7} {'0 ms API':>9} {'events':>7}")
    rows = [(f"concurrency={c}", c, 0) for c in (1, 4, 8, 16)]
    rows.append(("concurrency=4 + 90d history", 4, 90))
    for label, concurrency, history_days in rows:
        fake.latency = 0.0  # the same work without latency: the plugin's own time
        run(fake, concurrency, history_days)  # warm-up
        _, own, _ = run(fake, concurrency, history_days)
        fake.latency = args.latency
        requests, elapsed, events = run(fake, concurrency, history_days)
        waves = math.ceil(first_wave / concurrency) + math.ceil(later / concurrency)
        print(
            f"{label:<28} {requests:>8} {minimum:>8} {elapsed * 1000:>8.0f}ms {waves * args.latency * 1000:>5.0f}ms "
            f"{own * 1000:>7.0f}ms {events:>7}"
        )
    print(
        "\nideal: latency × the waves of requests at that concurrency "
        f"(⌈{first_wave}/c⌉ + ⌈{later}/c⌉; two round trips once c ≥ {later}); "
        "0 ms API: the same run against an API without latency"
    )


if __name__ == "__main__":
    main()
