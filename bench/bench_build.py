"""Benchmark: ``retroflow retro`` of a 100,000-event file, as a whole process, against a
process that only runs ``json.loads`` over the same lines.

    .venv/bin/python bench/bench_build.py [--events 100000] [--pairs 7] [--baseline DIR]
    .venv/bin/python bench/bench_build.py --in-process [--events 100000] [--rounds 10]

Whole processes (the default), timed from outside, alternating, ``--pairs`` times. Each
pair runs the bare ``json.loads`` loop and then, in turn, the variants of
``retroflow -q retro BENCH-1 -o DIR`` (the order reversed every other pair):

* ``retro``: the default, with the store (SQLite), building an incident the store already
  holds (the usual rebuild);
* ``retro, new db``: the same into an empty database (the first build: the tables are
  created and every event is stored);
* ``retro --no-store``.

The figure is the median of the per-pair ratios (variant ÷ ``json.loads``), from wall time
and from CPU time (user + system, from ``wait4``; the machine may be shared). Then
``retroflow --help`` (median of ``--pairs`` × 3 runs), and the peak memory (``ru_maxrss``)
of ``retroflow retro`` with the store at ``--peak-events`` (300,000) events, first build
and rebuild.

Then the floor (``--skip floor`` leaves it out): three processes, timed in the same
alternating pairs against the ``json.loads`` process. One imports every module
the rebuild imports (read from ``-X importtime`` of one rebuild) and does nothing else; one
imports SQLAlchemy alone; one makes the same imports and then reads the events into the model
as the rebuild does. What these take of the 3× budget is not left for building, writing
and storing the retro.

``--baseline DIR`` runs the same commands from another checkout's ``DIR/.venv`` (e.g. a
copy of ``main``) in the same pairs, side by side. Every process runs with bytecode caching
on (under ``bench/data/pycache``), as an installed package does, whatever
``PYTHONDONTWRITEBYTECODE`` says, and one warm-up run of each precedes the timed ones.

``--in-process`` instead measures the build in this process, by phase, against a bare
``json.loads`` (issue 2: ≤ 3 ×), and its peak memory in a fresh process.

Targets (issue 9, item 20): ``retroflow retro`` ≤ 3 × the ``json.loads`` process (median of
the pairs), ``retroflow --help`` under 0.15 s, peak memory at 300,000 events under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).parent))

from generate import write

DATA = Path(__file__).parent / "data"
LOADS = "import json, sys\nwith open(sys.argv[1], encoding='utf-8') as handle:\n    for line in handle:\n        json.loads(line)\n"


@attrs.frozen
class Run:
    """One whole process: wall seconds, CPU seconds (user + system), peak MB."""

    wall: float
    cpu: float
    peak_mb: float


def child_env() -> dict[str, str]:
    """The environment of every measured process: bytecode cached as an install has it,
    no configuration or plugin selection leaking in from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETROFLOW_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(DATA / "pycache")
    return env


def timed(command: list[str], *, cwd: Path, env: dict[str, str]) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@attrs.frozen
class Checkout:
    """The ``retroflow`` of one checkout, and where its runs write."""

    label: str
    retroflow: Path
    work: Path

    def retro(self, variant: str) -> tuple[list[str], dict[str, str]]:
        out = self.work / "out"
        out.mkdir(parents=True, exist_ok=True)
        env = child_env()
        command = [str(self.retroflow), "-q", "retro", "BENCH-1", "-o", str(out)]
        if variant == "--no-store":
            command.append("--no-store")
        database = self.work / ("new.db" if variant == "new db" else "rebuild.db")
        if variant == "new db":
            for stale in self.work.glob("new.db*"):
                stale.unlink()
        env["RETROFLOW_DATABASE"] = f"sqlite:///{database}"
        return command, env

    def run(self, variant: str, directory: Path) -> Run:
        command, env = self.retro(variant)
        return timed(command, cwd=directory, env=env)


VARIANTS = ("rebuild", "new db", "--no-store")


def loads_command(directory: Path) -> list[str]:
    """The process every figure is a ratio to: a bare ``json.loads`` of each event line."""
    return [sys.executable, "-c", LOADS, str(directory / "events.jsonl")]


def whole(args: argparse.Namespace, directory: Path, checkouts: list[Checkout]) -> None:
    loads = loads_command(directory)
    env = child_env()
    timed(loads, cwd=directory, env=env)
    for checkout in checkouts:  # warm-up: bytecode, and the incident stored once
        for variant in VARIANTS:
            checkout.run(variant, directory)
    jobs = [(c, v) for c in checkouts for v in VARIANTS]
    ratios: dict[tuple[str, str], list[tuple[float, float]]] = {}
    runs: dict[tuple[str, str], list[Run]] = {}
    base_runs: list[Run] = []
    for pair in range(args.pairs):
        order = jobs if pair % 2 == 0 else jobs[::-1]
        base = timed(loads, cwd=directory, env=env)
        base_runs.append(base)
        for checkout, variant in order:
            run = checkout.run(variant, directory)
            runs.setdefault((checkout.label, variant), []).append(run)
            ratios.setdefault((checkout.label, variant), []).append((run.wall / base.wall, run.cpu / base.cpu))
        print(
            f"pair {pair + 1}: json.loads {base.wall:.2f} s wall, {base.cpu:.2f} s CPU | "
            + " | ".join(f"{c.label} {v} {runs[(c.label, v)][-1].wall:.2f} s" for c, v in jobs),
            flush=True,
        )
    print(
        f"\njson.loads process: median {statistics.median(r.wall for r in base_runs):.2f} s wall, "
        f"{statistics.median(r.cpu for r in base_runs):.2f} s CPU"
    )
    print(f"{'':<26}{'median wall':>12}{'median CPU':>12}{'ratio wall':>12}{'ratio CPU':>11}")
    for checkout, variant in jobs:
        key = (checkout.label, variant)
        wall = statistics.median(r.wall for r in runs[key])
        cpu = statistics.median(r.cpu for r in runs[key])
        ratio_wall = statistics.median(r[0] for r in ratios[key])
        ratio_cpu = statistics.median(r[1] for r in ratios[key])
        print(
            f"{checkout.label + ' ' + variant:<26}{wall:>10.2f} s{cpu:>10.2f} s{ratio_wall:>11.2f}x{ratio_cpu:>10.2f}x"
        )
    print("(target: retro <= 3x the json.loads process, median of the pairs)")


def help_time(args: argparse.Namespace, checkouts: list[Checkout]) -> None:
    env = child_env()
    python = [sys.executable, "-c", "pass"]
    runs: dict[str, list[Run]] = {c.label: [] for c in checkouts}
    bare: list[Run] = []
    for checkout in checkouts:
        timed([str(checkout.retroflow), "--help"], cwd=checkout.work, env=env)
    for i in range(args.pairs * 3):
        bare.append(timed(python, cwd=DATA, env=env))
        for checkout in checkouts if i % 2 == 0 else checkouts[::-1]:
            runs[checkout.label].append(timed([str(checkout.retroflow), "--help"], cwd=checkout.work, env=env))
    print(
        f"\npython -c pass: median {statistics.median(r.wall for r in bare) * 1000:.0f} ms wall, "
        f"{statistics.median(r.cpu for r in bare) * 1000:.0f} ms CPU"
    )
    for label, found in runs.items():
        print(
            f"{label} retroflow --help: median {statistics.median(r.wall for r in found) * 1000:.0f} ms wall, "
            f"{statistics.median(r.cpu for r in found) * 1000:.0f} ms CPU, peak {max(r.peak_mb for r in found):.0f} MB"
            " (target < 150 ms)"
        )


def peak(args: argparse.Namespace, checkouts: list[Checkout]) -> None:
    directory = _data(args.peak_events)
    print(f"\npeak memory, retroflow retro of {args.peak_events:,} events with the store:")
    for checkout in checkouts:
        figures = []
        for variant in ("new db", "rebuild", "rebuild"):
            command, env = checkout.retro(variant)
            env["RETROFLOW_DATABASE"] = env["RETROFLOW_DATABASE"].replace(".db", f"-{args.peak_events}.db")
            if variant == "new db":
                for stale in checkout.work.glob(f"new-{args.peak_events}.db*"):
                    stale.unlink()
            run = timed(command, cwd=directory, env=env)
            figures.append(f"{variant} {run.peak_mb:.0f} MB ({run.wall:.1f} s)")
        size = sum(f.stat().st_size for f in checkout.work.glob(f"rebuild-{args.peak_events}.db*"))
        print(f"{checkout.label}: " + ", ".join(figures) + f"; database after the rebuilds {size / 2**20:.0f} MB")
    print("(target < 500 MB)")


def imported_modules(checkout: Checkout, directory: Path) -> list[str]:
    """The modules a rebuild imports (the incident stored once before), in the order they
    finish importing."""
    command, env = checkout.retro("rebuild")
    subprocess.run(command, cwd=directory, env=env, check=True, stdout=subprocess.DEVNULL)
    python = checkout.retroflow.parent / "python"
    trace = subprocess.run(
        [str(python), "-X", "importtime", *command], cwd=directory, env=env, capture_output=True, text=True, check=True
    ).stderr
    return [line.rsplit("|", 1)[1].strip() for line in trace.splitlines() if line.startswith("import time:")][1:]


# Imports each module by name; a module the rebuild only tried (``nt`` on Linux) fails here too.
IMPORT_ALL = """import importlib, sys
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
"""
# Then reads the events into the model as the rebuild does (the file source's reader, the
# collector paused, the timeline sorted) and ends as the CLI does, without freeing them.
READ_EVENTS = """
import os
from pathlib import Path
from retroflow.default_plugins.sources.file import read_events
from retroflow.engine import paused_gc
from retroflow.model import Timeline
with paused_gc():
    Timeline.from_events(read_events(Path(sys.argv[1]))[0])
os._exit(0)
"""


def floor(args: argparse.Namespace, directory: Path, checkouts: list[Checkout]) -> None:
    env = child_env()
    events = str(directory / "events.jsonl")
    modules = imported_modules(checkouts[0], directory)
    python = str(checkouts[0].retroflow.parent / "python")
    imports, reading = f"imports of the rebuild ({len(modules)} modules)", "the same imports, then reading the events"
    probes = {
        imports: [python, "-c", IMPORT_ALL, events, *modules],
        "import sqlalchemy": [python, "-c", "import sqlalchemy"],
        reading: [python, "-c", IMPORT_ALL + READ_EVENTS, events, *modules],
    }
    for command in probes.values():  # warm-up: bytecode
        timed(command, cwd=directory, env=env)
    base: list[float] = []
    walls: dict[str, list[float]] = {name: [] for name in probes}
    for pair in range(args.pairs):
        base.append(timed(loads_command(directory), cwd=directory, env=env).wall)
        for name, command in probes.items() if pair % 2 == 0 else reversed(probes.items()):
            walls[name].append(timed(command, cwd=directory, env=env).wall)
    ratio = {name: statistics.median(w / b for w, b in zip(found, base, strict=True)) for name, found in walls.items()}
    print(
        f"\nfloor of {checkouts[0].label}: processes that import (and read), ÷ the json.loads process (median of the pairs)"
    )
    print(f"{'json.loads process':<44}{statistics.median(base):>6.2f} s")
    for name, found in walls.items():
        print(f"{name:<44}{statistics.median(found):>6.2f} s{ratio[name]:>7.2f}x")
    print(f"left of the 3x budget for reading, building, writing and storing: {3 - ratio[imports]:.2f}x")
    print(f"left of it for building, writing and storing, once the events are read: {3 - ratio[reading]:.2f}x")


def _data(events: int) -> Path:
    directory = DATA / str(events)
    if not (directory / "events.jsonl").exists():
        write(directory, events)
    return directory


def checkouts_for(args: argparse.Namespace, work: Path) -> list[Checkout]:
    here = Path(__file__).resolve().parent.parent
    found = [Checkout("this", here / ".venv" / "bin" / "retroflow", work / "this")]
    if args.baseline:
        found.append(Checkout("baseline", args.baseline.resolve() / ".venv" / "bin" / "retroflow", work / "baseline"))
    for checkout in found:
        if not checkout.retroflow.exists():
            raise SystemExit(f"{checkout.retroflow}: not found (run scripts/setup.sh in that checkout)")
        checkout.work.mkdir(parents=True, exist_ok=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another checkout (with its .venv) to run side by side")
    parser.add_argument("--peak-events", type=int, default=300_000)
    parser.add_argument("--skip", action="append", default=[], choices=["whole", "help", "peak", "floor"])
    parser.add_argument("--in-process", action="store_true", help="the in-process build by phase (issue 2)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of --in-process")
    parser.add_argument("--peak-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_only or args.in_process:
        in_process(args)
        return
    directory = _data(args.events)
    work = Path(tempfile.mkdtemp(prefix="retroflow-bench-build-"))
    try:
        checkouts = checkouts_for(args, work)
        print(f"{args.events:,} events; load average {os.getloadavg()[0]:.1f}; {', '.join(c.label for c in checkouts)}")
        if "whole" not in args.skip:
            whole(args, directory, checkouts)
        if "help" not in args.skip:
            help_time(args, checkouts)
        if "peak" not in args.skip:
            peak(args, checkouts)
        if "floor" not in args.skip:
            floor(args, directory, checkouts)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- in process (issue 2) ------------------------------------------------------------------


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
    from retroflow.config import find_config_file, load_config
    from retroflow.engine import build_retro, paused_gc
    from retroflow.plugins import Plugins, get_plugin_manager
    from retroflow.request import RetroRequest
    from retroflow.roles import document_bytes

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


def in_process(args: argparse.Namespace) -> None:
    from retroflow.logs import configure_logging

    configure_logging(level="warning", json=False)  # as the CLI does
    if args.peak_only:
        build(args.peak_only)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        return
    directory = _data(args.events)
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
    peak_mb = int(
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
    print(f"peak memory of the build: {peak_mb} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
