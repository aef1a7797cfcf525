"""Write a synthetic incident with N events in the file-source format.

    python bench/generate.py --events 100000 --out bench/data/100k

writes ``events.jsonl``, ``incident.json`` and a ``retroflow.toml`` that reads them. The
mix is what a real incident export looks like: mostly log and metric signals across a few
services, a handful of alerts (some flapping), pages, acks, escalations, chat, deploys, a
rollback and a resolution. Deterministic for a given ``--events`` and ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 11, 3, 22, 0, tzinfo=UTC)
SERVICES = ["checkout", "payments", "cart", "search", "inventory"]
PEOPLE = ["alice", "bob", "carol", "dan", "erin", "frank"]


def generate(n: int, seed: int = 7) -> tuple[list[dict[str, object]], dict[str, object]]:
    rng = random.Random(seed)
    span = timedelta(hours=3)
    events: list[dict[str, object]] = []

    def at(fraction: float) -> str:
        return (START + span * fraction).isoformat()

    people_events = max(20, n // 200)
    for i in range(people_events):
        f = rng.random()
        kind = rng.choice(["page", "ack", "escalate", "assign", "message", "message", "message", "decision"])
        events.append(
            {
                "at": at(f),
                "kind": kind,
                "id": f"p-{i}",
                "source": "pagerduty" if kind != "message" else "slack",
                "actor": rng.choice(PEOPLE),
                "service": rng.choice(SERVICES[:2]),
                "summary": f"{kind} by responder {i}",
            }
        )
    for i in range(max(5, n // 2000)):
        events.append(
            {
                "at": at(rng.random()),
                "kind": "alert",
                "id": f"a-{i}",
                "source": "datadog",
                "service": rng.choice(SERVICES),
                "summary": f"alert {i}: error rate above threshold",
                "details": {"monitor": f"m-{i % 7}", "state": rng.choice(["triggered", "resolved"])},
            }
        )
    for i in range(3):
        events.append(
            {
                "at": at(0.01 * i),
                "kind": "deploy",
                "id": f"d-{i}",
                "source": "github",
                "service": SERVICES[i],
                "actor": PEOPLE[i],
                "summary": f"Deploy {SERVICES[i]} v1.{i}",
            }
        )
    events.append(
        {
            "at": at(0.7),
            "kind": "rollback",
            "id": "rb",
            "source": "github",
            "service": "checkout",
            "actor": "bob",
            "summary": "Rollback checkout",
        }
    )
    events.append(
        {"at": at(0.95), "kind": "resolve", "id": "res", "source": "pagerduty", "actor": "carol", "summary": "Resolved"}
    )
    remaining = n - len(events)
    for i in range(remaining):
        f = 0.02 + 0.9 * rng.random()
        service = rng.choice(SERVICES)
        events.append(
            {
                "at": at(f),
                "kind": "log",
                "id": f"l-{i}",
                "source": "otel",
                "service": service,
                "summary": f"ERROR {service}: upstream timed out after {rng.randint(1000, 5000)} ms",
                "details": {"trace_id": f"{rng.getrandbits(64):016x}", "severity": "ERROR"},
            }
        )
    events.sort(key=lambda e: str(e["at"]))
    incident = {
        "id": "BENCH-1",
        "title": "Synthetic outage",
        "services": SERVICES[:2],
        "urgency": "high",
        "created": START.isoformat(),
        "resolved": (START + span).isoformat(),
    }
    return events, incident


def write(directory: Path, n: int, seed: int = 7) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    events, incident = generate(n, seed)
    with (directory / "events.jsonl").open("w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event) + "\n")
    (directory / "incident.json").write_text(json.dumps(incident, indent=2), encoding="utf-8")
    (directory / "retroflow.toml").write_text(
        '[plugins.file]\nevents = ["events.jsonl"]\nincident = "incident.json"\n', encoding="utf-8"
    )
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(__file__).parent / "data" / f"{args.events}"
    print(write(out, args.events, args.seed))


if __name__ == "__main__":
    main()
