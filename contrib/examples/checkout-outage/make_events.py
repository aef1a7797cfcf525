"""Writes events.jsonl: the made-up checkout outage CHK-1042 (deterministic; rerun to regenerate).

A deploy of checkout shrinks the payment-client connection pool; errors start six minutes
later, the alert fires 21 minutes after that, the on-call engineer is paged at night and
acknowledges late, the team chases the database before finding the deploy, rolls back, and
resolves.

This file holds what the example's other sources do not: the logs and metrics, the
monitor's alerts, the pages, the acknowledgement and the resolution, and the moment the
impact stopped. The deploys come from the Git repository (make_repo.py) and the saved
GitHub replies (make_github_replies.py), the chat from the Slack export
(make_slack_export.py).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE = datetime(2026, 11, 7, 1, 52, tzinfo=UTC)


def at(minutes: float) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat()


def main() -> None:
    rng = random.Random(1042)
    events: list[dict[str, object]] = []
    # Error logs: sparse at first, then a flood while the pool is exhausted.
    minute = 6.0
    n = 0
    while minute < 82:
        rate = 0.5 if minute < 12 else 0.08
        minute += rng.expovariate(1 / rate)
        if minute >= 82:
            break
        n += 1
        events.append(
            {
                "at": at(round(minute, 4)),
                "kind": "log",
                "id": f"log-{n:05d}",
                "source": "otel",
                "service": "checkout",
                "summary": "ERROR payment-client: timed out waiting for a connection from the pool (size 5)",
            }
        )
    events += [
        {
            "at": at(13),
            "kind": "metric",
            "id": "m-p95-1",
            "source": "otel",
            "service": "checkout",
            "summary": "checkout p95 latency 2.4 s (baseline 310 ms)",
        },
        {
            "at": at(16),
            "kind": "metric",
            "id": "m-err-1",
            "source": "otel",
            "service": "payments",
            "summary": "payments client error rate 12% (baseline 0.1%)",
        },
        {
            "at": at(27),
            "kind": "alert",
            "id": "alert-5xx-1",
            "source": "datadog",
            "service": "checkout",
            "summary": "Checkout 5xx rate > 5% for 5 min",
            "details": {"monitor": "checkout-5xx", "state": "triggered"},
        },
        {
            "at": at(27.2),
            "kind": "page",
            "id": "pd-notify-1",
            "source": "pagerduty",
            "service": "checkout",
            "actor": "bob",
            "summary": "Paged bob (checkout primary on-call) by phone",
        },
        {
            "at": at(31),
            "kind": "alert",
            "id": "alert-5xx-2",
            "source": "datadog",
            "service": "checkout",
            "summary": "Checkout 5xx rate > 5% for 5 min (re-triggered)",
            "details": {"monitor": "checkout-5xx", "state": "triggered"},
        },
        {
            "at": at(35),
            "kind": "escalate",
            "id": "pd-escalate-1",
            "source": "pagerduty",
            "service": "checkout",
            "actor": "pagerduty",
            "summary": "Escalated to level 2: carol (storefront lead)",
        },
        {
            "at": at(35.1),
            "kind": "page",
            "id": "pd-notify-2",
            "source": "pagerduty",
            "service": "checkout",
            "actor": "carol",
            "summary": "Paged carol by push notification",
        },
        {
            "at": at(49),
            "kind": "ack",
            "id": "pd-ack-1",
            "source": "pagerduty",
            "service": "checkout",
            "actor": "bob",
            "summary": "bob acknowledged",
        },
        {
            # The impact stopped: written down by the responders (no source records it).
            "at": at(82),
            "kind": "mitigation",
            "id": "mitigated",
            "actor": "bob",
            "service": "checkout",
            "summary": "Mitigated: checkout 5xx back under 0.5% after the rollback to v2.13.2",
        },
        {
            "at": at(86),
            "kind": "alert",
            "id": "alert-5xx-3",
            "source": "datadog",
            "service": "checkout",
            "summary": "Checkout 5xx rate recovered",
            "details": {"monitor": "checkout-5xx", "state": "resolved"},
        },
        {
            "at": at(100),
            "kind": "resolve",
            "id": "pd-resolve-1",
            "source": "pagerduty",
            "service": "checkout",
            "actor": "carol",
            "summary": "Resolved by carol",
        },
    ]
    events.sort(key=lambda e: (str(e["at"]), str(e["id"])))
    out = Path(__file__).with_name("events.jsonl")
    out.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")


if __name__ == "__main__":
    main()
