"""Benchmark: storing a 100,000-event retro and loading it back, on SQLite and PostgreSQL.

    python bench/bench_store.py [--events 100000] [--rounds 3] [--no-postgres]

Builds the retro of a synthetic incident in memory once (the whole ``retroflow retro`` job
minus rendering and writing files), then, best of ``--rounds`` on each database:

* store: ``Store.save_retro`` of an incident the store does not hold yet (the incident, the
  document, every event in bulk, factors, actions, scores, findings) in one transaction;
* rebuild: ``Store.save_retro`` of the same retro again, a new version of an incident whose
  events are stored already (events are stored once per content: none is written);
* load: ``Store.latest_retro`` (the document and every event, back to a ``Retro``).

The database's size is shown after the rounds (SQLite: the file and its WAL).

SQLite is a file in WAL mode on local disk; PostgreSQL is a throwaway local cluster
(fsync on) started from the binaries on PATH. Reports both times and store ÷ build.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).parent))

from generate import write

from retroflow.config import find_config_file, load_config
from retroflow.engine import build_retro
from retroflow.logs import configure_logging
from retroflow.model import Retro
from retroflow.plugins import Plugins, get_plugin_manager
from retroflow.request import RetroRequest
from retroflow.store import Store, open_store
from retroflow.store.pgtemp import PostgresUnavailable, temporary_postgres


def build(directory: Path) -> tuple[float, Retro]:
    start = time.perf_counter()
    config = load_config(find_config_file(directory / "retroflow.toml"))
    plugins = Plugins(get_plugin_manager(load_entrypoints=False))
    config.validate_plugins({n: plugins.settings.get(n) for n in plugins.settings.names()})
    retro = build_retro(RetroRequest("BENCH-1"), plugins=plugins, config=config)
    return time.perf_counter() - start, retro


def best(rounds: int, func: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(name: str, url: str, retro: Retro, rounds: int, build_time: float) -> None:
    store = open_store(url)
    try:
        incidents = (attrs.evolve(retro, incident=attrs.evolve(retro.incident, id=f"BENCH-{i}")) for i in range(1, 99))
        store_time = best(rounds, lambda: store.save_retro(next(incidents), "BENCH"))
        rebuild_time = best(rounds, lambda: store.save_retro(retro, "BENCH-1"))
        loaded: list[Retro] = []
        load_time = best(rounds, lambda: loaded.append(store.latest_retro("BENCH-1")))
        assert loaded[-1].timeline.events == retro.timeline.events, "loaded events differ"
        size = _size(store)
    finally:
        store.close()
    print(
        f"{name:<11} store {store_time:6.2f} s   rebuild {rebuild_time:6.2f} s   load {load_time:6.2f} s   "
        f"store/build {store_time / build_time:5.2f}   rebuild/build {rebuild_time / build_time:5.2f}   "
        f"load/build {load_time / build_time:5.2f}   database {size / 2**20:,.0f} MB "
        f"({rounds} incidents, {2 * rounds} versions)"
    )


def _size(store: Store) -> int:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            path = Path(str(store.engine.url.database))
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if not p.name.endswith("-lock"))
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    configure_logging(level="warning", json=False)
    with tempfile.TemporaryDirectory(prefix="retroflow-bench-") as tmp:
        directory = write(Path(tmp) / "incident", args.events)
        build_time = min(build(directory)[0] for _ in range(2))
        _, retro = build(directory)
        print(f"{len(retro.timeline.events):,} events, {len(retro.actions)} actions; build {build_time:.2f} s")
        measure("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", retro, args.rounds, build_time)
        if args.no_postgres:
            return
        try:
            with temporary_postgres(durable=True) as url:
                measure("postgresql", url, retro, args.rounds, build_time)
        except PostgresUnavailable as exc:
            print(f"postgresql  skipped: {exc}")


if __name__ == "__main__":
    main()
