"""Benchmark and validation: outcome verdicts on synthetic histories with planted effects.

    .venv/bin/python bench/bench_outcomes.py [--services 200] [--years 2] [--runs 3] [--window 180]

Each run generates a history for ``--services`` services over ``--years`` years: Poisson
incident streams (a rate per service), log-normal times to restore (σ 1 on the log
scale), times to detect and acknowledge, alerts and pages per incident. Every service has
one done action, produced by an incident a few days before ``done_at`` (which the verdict
must leave out), in one of four groups:

* ``rate``: the incident rate falls to 0.3× once the action is done (metric
  ``incident-rate``), with 4–8 incidents a month: ≥ 24 expected in the before window;
* ``restore``: times to restore fall to 0.4× (``time-to-restore``), 7–10 incidents a
  month: ≥ 40 per window;
* ``null``: nothing changes (``incident-rate``, ``time-to-restore`` or
  ``alerts-per-incident``), 2–8 incidents a month;
* ``little``: 0.2–0.5 incidents a month (≤ 3 expected per window), half of them with a
  planted 0.3×/0.4× effect: the data cannot show it.

The history is written as a JSON Lines import file; ``retroflow history import`` and
``retroflow outcomes --json --window W`` run in this process (a fresh SQLite store per
run). Reported, against the goals of issue 11:

* precision and recall of ``improved`` on the planted effects the data can show (``rate``
  and ``restore``): goal ≥ 0.9 each;
* the share of ``null`` actions called ``improved``: goal ≤ 5 %;
* the share of ``little`` actions called anything but ``inconclusive``: goal ≤ 5 %;
* the time of import + outcomes for the whole history (wall and this process's CPU time,
  since the machine may be shared; the first run includes importing the modules and
  creating the store): goal under 5 s; beside it, the baseline of reading the same file
  with a bare ``json.loads`` per line (the ratio says what the store and the statistics
  cost on top of reading).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from retroflow import format_timestamp
from retroflow.cli import cli

START = datetime(2024, 1, 1, tzinfo=UTC)
MONTH = 30.0  # days
GROUPS = ("rate", "restore", "null", "little")


def _group(number: int, services: int) -> str:
    """A quarter of the services in each group, interleaved."""
    return GROUPS[number % len(GROUPS)] if services >= len(GROUPS) else "null"


def _service_plan(rng: random.Random, group: str, days: float) -> dict[str, Any]:
    if group == "rate":
        monthly, rate_factor, restore_factor, metric = rng.uniform(4, 8), 0.3, 1.0, "incident-rate"
    elif group == "restore":
        monthly, rate_factor, restore_factor, metric = rng.uniform(7, 10), 1.0, 0.4, "time-to-restore"
    elif group == "null":
        monthly, rate_factor, restore_factor = rng.uniform(2, 8), 1.0, 1.0
        metric = rng.choice(["incident-rate", "time-to-restore", "alerts-per-incident"])
    else:
        monthly = rng.uniform(0.2, 0.5)
        planted = rng.random() < 0.5
        metric = rng.choice(["incident-rate", "time-to-restore"])
        rate_factor = 0.3 if planted and metric == "incident-rate" else 1.0
        restore_factor = 0.4 if planted and metric == "time-to-restore" else 1.0
    return {
        "monthly": monthly,
        "rate_factor": rate_factor,
        "restore_factor": restore_factor,
        "metric": metric,
        "median_minutes": rng.uniform(20, 120),
        "done": START + timedelta(days=rng.uniform(0.35, 0.6) * days),
    }


def _incidents(rng: random.Random, service: str, plan: dict[str, Any], days: float) -> list[dict[str, Any]]:
    records = []
    at = START
    end = START + timedelta(days=days)
    while True:
        after = at >= plan["done"]
        rate = plan["monthly"] / MONTH * (plan["rate_factor"] if after else 1.0)
        at += timedelta(days=rng.expovariate(rate))
        if at >= end:
            return records
        after = at >= plan["done"]
        minutes = rng.lognormvariate(math.log(plan["median_minutes"]), 1.0) * (plan["restore_factor"] if after else 1.0)
        detected = at + timedelta(minutes=rng.lognormvariate(math.log(3), 0.8))
        acknowledged = detected + timedelta(minutes=rng.lognormvariate(math.log(4), 0.8))
        resolved = at + timedelta(minutes=max(minutes, (acknowledged - at).total_seconds() / 60 + 1))
        pages = 1 + int(rng.expovariate(1.5))
        records.append(
            {
                "type": "incident",
                "id": f"{service}-{len(records):05d}",
                "service": service,
                "started_at": format_timestamp(at),
                "detected_at": format_timestamp(detected),
                "acknowledged_at": format_timestamp(acknowledged),
                "resolved_at": format_timestamp(resolved),
                "alerts": 1 + int(rng.expovariate(0.4)),
                "pages": pages,
                "pages_out_of_hours": sum(rng.random() < 0.4 for _ in range(pages)),
                "severity": rng.choice(["SEV1", "SEV2", "SEV3"]),
            }
        )


def generate(path: Path, services: int, years: float, seed: int) -> dict[str, str]:
    """Write the import file; return each action's group."""
    rng = random.Random(seed)
    days = 365.0 * years
    groups: dict[str, str] = {}
    with path.open("w", encoding="utf-8") as out:
        for number in range(services):
            service = f"svc-{number:03d}"
            group = _group(number, services)
            plan = _service_plan(rng, group, days)
            incidents = _incidents(rng, service, plan, days)
            for record in incidents:
                out.write(json.dumps(record) + "\n")
            # The action came from an incident a few days before it was done (if any).
            done = plan["done"]
            earlier = [r for r in incidents if r["started_at"] < format_timestamp(done - timedelta(days=3))]
            source = earlier[-1]["id"] if earlier else f"{service}-none"
            action_id = f"act-{service}"
            groups[action_id] = group
            out.write(
                json.dumps(
                    {
                        "type": "action",
                        "id": action_id,
                        "incident": source,
                        "service": service,
                        "title": f"Planted change on {service}",
                        "metric": plan["metric"],
                        "done_at": format_timestamp(done),
                    }
                )
                + "\n"
            )
    return groups


def run_once(services: int, years: float, seed: int, window: int, workdir: Path) -> dict[str, Any]:
    data = workdir / f"history-{seed}.jsonl"
    groups = generate(data, services, years, seed)
    runner = CliRunner()
    env = {"RETROFLOW_DATABASE": f"sqlite:///{workdir / f'outcomes-{seed}.db'}"}

    started = time.perf_counter()
    with data.open(encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)
    baseline = time.perf_counter() - started

    started, cpu = time.perf_counter(), time.process_time()
    imported = runner.invoke(cli, ["-q", "history", "import", str(data)], env=env)
    import_seconds, import_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert imported.exit_code == 0, imported.output
    started, cpu = time.perf_counter(), time.process_time()
    result = runner.invoke(cli, ["-q", "outcomes", "--json", "--window", str(window)], env=env)
    outcome_seconds, outcome_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.exit_code == 0, result.output
    actions = json.loads(result.stdout)["actions"]
    verdicts = {a["id"]: a["verdict"] for a in actions}
    lines = sum(1 for _ in data.open(encoding="utf-8"))
    return {
        "groups": groups,
        "verdicts": verdicts,
        "lines": lines,
        "baseline": baseline,
        "import": import_seconds,
        "outcomes": outcome_seconds,
        "cpu": import_cpu + outcome_cpu,
        "fleet_moved": sum(1 for a in actions if a["control"] and a["control"]["fleet_moved"]),
    }


def score(runs: list[dict[str, Any]]) -> dict[str, Any]:
    counts: Counter[tuple[str, str]] = Counter()
    for run in runs:
        for action_id, group in run["groups"].items():
            counts[(group, run["verdicts"][action_id])] += 1
    planted = counts[("rate", "improved")] + counts[("restore", "improved")]
    showable = sum(n for (g, _), n in counts.items() if g in ("rate", "restore"))
    called = sum(n for (_, v), n in counts.items() if v == "improved")
    nulls = sum(n for (g, _), n in counts.items() if g == "null")
    little = sum(n for (g, _), n in counts.items() if g == "little")
    return {
        "precision": planted / called if called else float("nan"),
        "recall": planted / showable if showable else float("nan"),
        "recall_rate": counts[("rate", "improved")] / max(1, sum(n for (g, _), n in counts.items() if g == "rate")),
        "recall_restore": counts[("restore", "improved")]
        / max(1, sum(n for (g, _), n in counts.items() if g == "restore")),
        "null_improved": counts[("null", "improved")] / nulls if nulls else float("nan"),
        "little_decided": (little - counts[("little", "inconclusive")]) / little if little else float("nan"),
        "table": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3, help="independent histories (different seeds)")
    parser.add_argument("--window", type=int, default=180, help="--window DAYS given to retroflow outcomes")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("RETROFLOW_CONFIG", None)
        runs = [run_once(args.services, args.years, args.seed + n, args.window, Path(tmp)) for n in range(args.runs)]
    result = score(runs)
    print(f"{args.runs} histories × {args.services} services × {args.years:g} years, window {args.window} days")
    print(f"  lines per history: {statistics.mean(r['lines'] for r in runs):,.0f}")
    print("  verdicts by group:")
    for group in GROUPS:
        row = {v: n for (g, v), n in sorted(result["table"].items()) if g == group}
        print(f"    {group:<8} {row}")
    print(f"  precision of improved (planted, showable): {result['precision']:.3f}   goal ≥ 0.9")
    print(
        f"  recall of improved:                        {result['recall']:.3f}   goal ≥ 0.9 "
        f"(rate {result['recall_rate']:.3f}, restore {result['recall_restore']:.3f})"
    )
    print(f"  no-effect actions called improved:         {result['null_improved']:.1%}   goal ≤ 5 %")
    print(f"  too-little-data actions not inconclusive:  {result['little_decided']:.1%}   goal ≤ 5 %")
    print(f"  controls flagging a moving fleet: {statistics.mean(r['fleet_moved'] for r in runs):.0f} per history")
    for n, run in enumerate(runs, start=1):
        total = run["import"] + run["outcomes"]
        print(
            f"  run {n}: import {run['import']:.2f} s + outcomes {run['outcomes']:.2f} s = {total:.2f} s wall, "
            f"{run['cpu']:.2f} s CPU (goal < 5 s); baseline json.loads of the file {run['baseline']:.3f} s, "
            f"ratio {total / run['baseline']:.0f}×"
        )
    print(f"  load average while running: {os.getloadavg()[0]:.1f} (the machine may be shared)")


if __name__ == "__main__":
    main()
