"""Benchmark: all heuristics and proposers together are linear in the number of events.

    python bench/bench_heuristics.py [--sizes 100000 200000 400000] [--rounds 3] [--repeat 5]

For each size, a synthetic incident from ``generate.py`` (plus 40 past incidents, so the
history heuristics run) becomes a :class:`~retroflow.model.Timeline` outside the timing.
Then every ``retroflow_find_factors`` and every ``retroflow_propose_actions``
implementation of the default plugins is called directly, one after another, as the
engine does. Best of ``--rounds`` (3) rounds of ``--repeat`` (5) runs each (a round counts
its mean), every run on a fresh ``Timeline`` object so nothing cached is reused, with the
cyclic garbage collector paused as the engine does while it builds a retro. Wall-clock and
CPU time are both shown (CPU time stays honest when other processes share the machine).
Review and the narrative are timed apart, for information. Linear means each doubling of
the events roughly doubles the time: the ratios printed should be close to 2.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).parent))

from generate import START, generate

from retroflow.model import Event, Incident, Retro, Timeline, parse_timestamp
from retroflow.narrative import narrate
from retroflow.testing import make_config, make_plugins


def timeline_of(n: int) -> tuple[Incident, Timeline, tuple[Incident, ...]]:
    records, incident_record = generate(n)
    events = [
        Event.create(
            at=parse_timestamp(str(r["at"])),
            source=str(r.get("source", "file")),
            kind=str(r["kind"]),
            summary=str(r["summary"]),
            native_id=str(r["id"]),
            actor=r.get("actor"),  # type: ignore[arg-type]
            service=r.get("service"),  # type: ignore[arg-type]
            details=r.get("details"),  # type: ignore[arg-type]
        )
        for r in records
    ]
    incident = Incident.from_mapping(incident_record)
    history = tuple(
        Incident(
            id=f"PAST-{i}",
            title="Synthetic outage" if i % 4 == 0 else f"Unrelated problem {i}",
            services=("checkout", "search")[i % 2],
            created=START - timedelta(hours=3 * i + 1),
            details={
                "responders": ["alice", "bob"] if i % 3 == 0 else ["zoe"],
                "alerts": [f"m-{i % 7}"],
                "factors": ["detection-gap"] if i % 2 else ["slow-mitigation"],
                "actions": [{"title": f"Past action {i}", "status": "open" if i % 2 else "done"}],
            },
        )
        for i in range(40)
    )
    return incident, Timeline.from_events(events, incident), history


@attrs.frozen
class Timing:
    """Best wall-clock and best CPU time of the rounds (CPU time stays honest when other
    processes compete for the machine)."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall * 1000:7.1f} ms wall, {self.cpu * 1000:7.1f} ms CPU"


def best_of(rounds: int, run: Callable[[], Any], repeat: int = 1) -> tuple[Timing, Any]:
    """Best of ``rounds``; each round runs ``repeat`` times and counts the mean (runs of a
    few milliseconds are otherwise at the mercy of the scheduler)."""
    wall = cpu = float("inf")
    result = None
    for _ in range(rounds):
        gc.collect()
        gc.disable()  # as while the engine builds a retro: a full collection over the heap is noise here
        try:
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(repeat):
                result = run()
            wall = min(wall, (time.perf_counter() - start) / repeat)
            cpu = min(cpu, (time.process_time() - start_cpu) / repeat)
        finally:
            gc.enable()
    return Timing(wall, cpu), result


def call(impl: Any, **kwargs: Any) -> list[Any]:
    """One hook implementation with the arguments it asks for, as the engine calls it."""
    return list(impl.function(*[kwargs[name] for name in impl.argnames]) or ())


def measure(n: int, rounds: int, repeat: int, plugins: Any, config: Any) -> tuple[Timing, Timing]:
    incident, base, history = timeline_of(n)
    finders = plugins.implementations("retroflow_find_factors")
    proposers = plugins.implementations("retroflow_propose_actions")
    reviewers = plugins.implementations("retroflow_review_actions")

    def heuristics_and_proposers() -> tuple[list[Any], list[Any]]:
        timeline = Timeline(events=base.events, moments=base.moments)  # fresh object: nothing cached
        factors: list[Any] = []
        for impl in finders:
            factors += call(impl, incident=incident, timeline=timeline, history=history, config=config)
        actions: list[Any] = []
        for impl in proposers:
            actions += call(impl, incident=incident, timeline=timeline, factors=tuple(factors), config=config)
        return factors, actions

    seconds, (factors, actions) = best_of(rounds, heuristics_and_proposers, repeat)

    def review_and_narrative() -> list[Any]:
        timeline = Timeline(events=base.events, moments=base.moments)
        retro = Retro(
            incident=incident,
            timeline=timeline,
            factors=tuple(factors),
            actions=tuple(actions),
            narrative=narrate(factors, timeline),
            history=history,
        )
        return [f for impl in reviewers for f in call(impl, retro=retro, config=config)]

    review_seconds, findings = best_of(rounds, review_and_narrative)
    print(f"{n:>8,} events: heuristics+proposers {seconds} ({len(factors)} factors, {len(actions)} actions)")
    print(f"{'':>16}review+narrative     {review_seconds} ({len(findings)} findings)")
    print(f"{'':>16}factors: {', '.join(sorted(f.key for f in factors))}", flush=True)
    return seconds, review_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000, 400_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5, help="runs per round of heuristics+proposers")
    args = parser.parse_args()
    plugins = make_plugins()
    config = make_config(plugins=plugins)
    rows = [(n, *measure(n, args.rounds, args.repeat, plugins, config)) for n in args.sizes]
    print()
    for (n0, t0, r0), (n1, t1, r1) in itertools.pairwise(rows):
        print(
            f"{n0:,} → {n1:,}: heuristics+proposers × {t1.wall / t0.wall:.2f} wall, × {t1.cpu / t0.cpu:.2f} CPU; "
            f"review+narrative × {r1.wall / r0.wall:.2f} wall, × {r1.cpu / r0.cpu:.2f} CPU"
        )


if __name__ == "__main__":
    main()
