"""Benchmark: building a retro from a 100,000-event file against a bare ``json.loads``.

    python bench/bench_build.py [--events 100000] [--rounds 10]

Measured side by side in one process, alternating, best of ``--rounds``:

* baseline: read the file and ``json.loads`` every line;
* build: the whole ``retroflow retro`` job minus writing files — collect with the file
  source, merge, heuristics, proposers, review, scoring, JSON and Markdown rendering.

Peak memory of the build is measured in a fresh subprocess (``ru_maxrss``). The target
(issue 2): build ≤ 3 × baseline, peak < 500 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import write

from retroflow.config import find_config_file, load_config
from retroflow.engine import build_retro, paused_gc
from retroflow.logs import configure_logging
from retroflow.plugins import Plugins, get_plugin_manager
from retroflow.request import RetroRequest
from retroflow.roles import document_bytes


def baseline(events_file: Path) -> float:
    start = time.perf_counter()
    with events_file.open(encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)
    return time.perf_counter() - start


def baseline_kept(events_file: Path) -> float:
    """The same, keeping the parsed objects (what any program that uses them pays)."""
    start = time.perf_counter()
    with events_file.open(encoding="utf-8") as handle:
        parsed = [json.loads(line) for line in handle]
    seconds = time.perf_counter() - start
    del parsed
    return seconds


def build(directory: Path) -> tuple[float, int, dict[str, float]]:
    """The job, timed as a whole and by phase: (seconds, document bytes, phase seconds)."""
    start = time.perf_counter()
    config = load_config(find_config_file(directory / "retroflow.toml"))
    plugins = Plugins(get_plugin_manager(load_entrypoints=False))
    config.validate_plugins({n: plugins.settings.get(n) for n in plugins.settings.names()})
    retro = build_retro(RetroRequest("BENCH-1"), plugins=plugins, config=config)
    phases = {"build": time.perf_counter() - start}
    size = 0
    with paused_gc():
        for name in ("json", "markdown"):
            began = time.perf_counter()
            size += len(document_bytes(plugins.renderers.get(name), retro))  # what the CLI writes
            phases[name] = time.perf_counter() - began
    return time.perf_counter() - start, size, phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--peak-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    configure_logging(level="warning", json=False)  # as the CLI does
    if args.peak_only:
        build(args.peak_only)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        return
    directory = Path(__file__).parent / "data" / str(args.events)
    if not (directory / "events.jsonl").exists():
        write(directory, args.events)
    base_times, kept_times, build_times = [], [], []
    phase_times: dict[str, list[float]] = {}
    size = 0
    for _ in range(args.rounds):
        base_times.append(baseline(directory / "events.jsonl"))
        kept_times.append(baseline_kept(directory / "events.jsonl"))
        seconds, size, phases = build(directory)
        build_times.append(seconds)
        for phase, phase_seconds in phases.items():
            phase_times.setdefault(phase, []).append(phase_seconds)
    peak = int(
        subprocess.run(
            [sys.executable, __file__, "--peak-only", str(directory)], check=True, capture_output=True, text=True
        ).stdout.split()[-1]
    )
    b, k, r = min(base_times), min(kept_times), min(build_times)
    print(f"events: {args.events:,}  documents: {size / 1e6:.1f} MB")
    print(f"json.loads baseline: {b:.3f} s (best of {args.rounds})")
    print(f"json.loads, results kept in a list: {k:.3f} s (best of {args.rounds})")
    print(f"retro build + render: {r:.3f} s (best of {args.rounds})")
    print(f"ratio: {r / b:.2f}x the bare json.loads (target <= 3x); {r / k:.2f}x the kept one")
    print(
        f"ratio of the medians (how noisy the machine was): {statistics.median(build_times) / statistics.median(base_times):.2f}x"
    )
    print(
        "by phase (best of each): "
        + ", ".join(f"{p} {min(t):.3f} s ({min(t) / b:.2f}x)" for p, t in phase_times.items())
    )
    print(f"peak memory of the build: {peak} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
