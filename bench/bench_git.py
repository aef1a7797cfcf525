"""The Git source on a big repository: a one-day window against the bare ``git log`` it needs.

    .venv/bin/python bench/bench_git.py [--commits 100000] [--pairs 15]

A repository of ``--commits`` commits over two years (one merge of a side branch per ten
commits, a tag per five hundred) is generated once with ``git fast-import`` and kept under
``bench/data/`` (about 20 s the first time). Two incidents are read, each with the default
window (24 h before the first signal until the resolve an hour later):

* ``recent``: three days before the tip (the retro written that week);
* ``a year ago``: half-way down the history (a retro rebuilt for an outcome review), where
  git walks 50,000 commits to reach the window.

Each measurement is a whole process, as the issue asks: the baseline is the ``git log``
command line the source runs for the window (same flags, same output, read to the end); the
source is a fresh Python process that imports the plugin and reads the repository through
it (``read_repository``: rev-parse, the log and the tags at once, the mapping to events). They run in
alternating pairs; the figure is the median of the per-pair ratios. The source's own time
inside its process (imports, then reading) is printed too, and the median ratio of the
reading alone to the git log, to tell Python's and retroflow's start-up apart from the
reading.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
START = datetime(2024, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
MERGE_EVERY = 10
TAG_EVERY = 500
#: Files are src/<one of DIRS>/<one of FILES_PER_DIR>.py: small trees, as in real code.
DIRS = 50
FILES_PER_DIR = 40


def _fast_import_stream(commits: int) -> bytes:
    """``commits`` commits evenly spread over ``SPAN``, each changing one of ``DIRS ×
    FILES_PER_DIR`` files: main, where every tenth is the merge of a commit of a long-lived
    side branch, and an annotated tag every ``TAG_EVERY`` commits of main. Branches continue
    themselves (no ``from``, which makes fast-import reload a tree) except for the first
    side commit."""
    step = SPAN.total_seconds() / commits
    out: list[bytes] = []
    mark = 0
    on_main = 0
    side = 0
    while mark < commits:
        n = mark
        at = int(START.timestamp() + n * step)
        who = f"Dev {n % 37} <dev{n % 37}@example.com> {at} +0000"
        path = f"src/pkg{n % DIRS:02d}/mod{n // DIRS % FILES_PER_DIR:02d}.py"
        change = f"M 100644 inline {path}\n".encode() + _data(f"# change {n}\nvalue = {n}\n")
        if on_main and on_main % MERGE_EVERY == 0 and mark + 2 <= commits:
            mark += 1
            start = f"from :{mark - 1}\n".encode() if not side else b""
            side = mark
            out += [b"commit refs/heads/side\n", f"mark :{side}\ncommitter {who}\n".encode()]
            out += [_data(f"Side work {n}\n"), start, change]
            message = f"Merge pull request #{n} from acme/side\n\nSide work {n}\n"
            change = f"merge :{side}\n".encode() + change  # the merge brings the side change to main
        else:
            message = f"Change {n} to {path}\n"
        mark += 1
        on_main += 1
        out += [b"commit refs/heads/main\n", f"mark :{mark}\ncommitter {who}\n".encode(), _data(message), change]
        if on_main % TAG_EVERY == 0:
            out += [f"tag v{on_main}\nfrom :{mark}\ntagger {who}\n".encode(), _data(f"Release {on_main}\n")]
    return b"".join(out)


def _data(text: str) -> bytes:
    body = text.encode()
    return f"data {len(body)}\n".encode() + body + b"\n"


def repository(commits: int) -> Path:
    """The generated repository (made once; kept in bench/data/)."""
    path = DATA / f"git-{commits}"
    if (path / "READY").is_file():
        return path
    subprocess.run(["rm", "-rf", str(path)], check=True)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    started = time.perf_counter()
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=_fast_import_stream(commits), check=True)
    subprocess.run(["git", "-C", str(path), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    (path / "READY").write_text("ok\n")
    print(f"generated {commits:,} commits in {time.perf_counter() - started:.1f} s: {path}")
    return path


#: The measured process: the plugin reading one repository, as the source does.
CHILD = """
import sys, time
started = time.perf_counter()
from datetime import datetime
from pathlib import Path
from retroflow_git.plugin import Window, read_repository
from retroflow_git.settings import RepoSettings
imported = time.perf_counter()
window = Window(datetime.fromisoformat(sys.argv[2]), datetime.fromisoformat(sys.argv[3]))
events, gaps = read_repository(RepoSettings(path=Path(sys.argv[1]), service="shop", branch="main"), window, 60.0)
print(len(events), len(gaps), imported - started, time.perf_counter() - imported)
"""


def _log_command(path: Path, since: datetime, until: datetime) -> list[str]:
    """The git log the source runs for the window, word for word."""
    from retroflow_git.history import _CONFIG, _log_args

    return ["git", "-C", str(path), *_CONFIG, *_log_args("main", since, until, ())]


def _timed(command: list[str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=True, env={**os.environ, "LC_ALL": "C"})
    return time.perf_counter() - started, done.stdout


def measure(path: Path, label: str, first_signal: datetime, pairs: int) -> None:
    since, until = first_signal - timedelta(hours=24), first_signal + timedelta(hours=1)
    baseline = _log_command(path, since, until)
    source = [sys.executable, "-c", CHILD, str(path), since.isoformat(), until.isoformat()]
    _timed(baseline), _timed(source)  # warm the page cache and the imports
    ratios: list[float] = []
    reading_ratios: list[float] = []
    base_times: list[float] = []
    source_times: list[float] = []
    inside: list[tuple[float, float]] = []
    for n in range(pairs):
        order = [(baseline, base_times), (source, source_times)]
        for command, times in order if n % 2 == 0 else reversed(order):
            seconds, out = _timed(command)
            times.append(seconds)
            if command is source:
                events, _gaps, imports, reading = out.split()
                inside.append((float(imports), float(reading)))
        ratios.append(source_times[-1] / base_times[-1])
        reading_ratios.append(inside[-1][1] / base_times[-1])
    commits = _timed(baseline)[1].count(b"\x1e")
    imports = statistics.median(i for i, _ in inside)
    reading = statistics.median(r for _, r in inside)
    print(
        f"{label:>11}: {commits} commits, {int(events)} events | git log {statistics.median(base_times) * 1000:7.1f} ms"
        f" | source process {statistics.median(source_times) * 1000:7.1f} ms"
        f" (imports {imports * 1000:.0f} ms, reading {reading * 1000:.1f} ms)"
        f" | median ratio {statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f});"
        f" reading alone {statistics.median(reading_ratios):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    path = repository(args.commits)
    tip = START + SPAN
    python = _timed([sys.executable, "-c", "pass"])[0]
    print(f"python start-up alone: {python * 1000:.0f} ms; goal: source ≤ 2x the git log, as whole processes")
    measure(path, "recent", tip - timedelta(days=3), args.pairs)
    measure(path, "a year ago", START + SPAN / 2, args.pairs)


if __name__ == "__main__":
    main()
