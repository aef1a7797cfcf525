"""Benchmark: drafts per second with three ``retroflow worker`` processes on PostgreSQL, jobs
on procrastinate's queue (``[service] jobs = "procrastinate"``) against retroflow's own job
table (``jobs = "table"``, the baseline), side by side on the same server (issue 10 item 7).

    python bench/bench_scaleout.py [--incidents 60] [--rounds 2] [--threads 2]

A throwaway PostgreSQL cluster (fsync on) from the binaries on PATH; each round of each
backend gets a database of its own. Three worker processes (``--threads`` job threads
each) start and wait; then ``--incidents`` resolves are recorded as the intake records a
webhook (inbox row, lifecycle, job deferred, one transaction each) and the clock runs until
every incident has its stored version. The workers are ``tests/service/worker_process.py``
(retroflow with a small timeline source: a real build, store and Markdown per draft, no
network). Rounds alternate between the backends; the best round of each is reported.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from retroflow import IncidentEvent, Lifecycle, WebhookDelivery
from retroflow.config import load_config
from retroflow.logs import configure_logging
from retroflow.service.inbox import Received, record_delivery
from retroflow.service.server import open_jobs
from retroflow.store.pgtemp import temporary_postgres

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "service" / "worker_process.py"


def workers(config: Path, directory: Path, count: int, threads: int) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k != "RETROFLOW_DATABASE"}
    env.update(RETROFLOW_TEST_TICKETS=str(directory / "tickets.json"), RETROFLOW_TEST_MARKER=str(directory / "m"))
    started = []
    for n in range(count):
        with open(directory / f"worker-{n}.log", "wb") as log:
            started.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), "--config", str(config), "worker", "--workers", str(threads)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 60
    for n in range(count):
        while "job thread(s) as" not in (directory / f"worker-{n}.log").read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise SystemExit(f"worker {n} did not start:\n{(directory / f'worker-{n}.log').read_text()}")
            time.sleep(0.05)
    return started


def one_round(server: str, backend: str, n: int, incidents: int, threads: int) -> float:
    """Seconds from the first resolve recorded to the last draft stored."""
    name = f"bench_{backend}_{n}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    url = re.sub(r"/postgres$", f"/{name}", server)
    with tempfile.TemporaryDirectory(prefix="retroflow-bench-scaleout-") as tmp:
        directory = Path(tmp)
        path = directory / "retroflow.toml"
        path.write_text(
            f'[retroflow]\ndatabase = "{url}"\noutput = "out"\n[service]\njobs = "{backend}"\ndraft_delay = 0\n'
        )
        config = load_config(path)
        database, jobs = open_jobs(config)  # migrated (and procrastinate's schema) before the workers start
        processes = workers(path, directory, 3, threads)
        try:
            at = datetime.now(UTC) - timedelta(minutes=1)
            start = time.perf_counter()
            for i in range(incidents):
                event = IncidentEvent("demo", f"INC-{i:04d}", Lifecycle.RESOLVED, at, f"ev-{i}")
                with database.transaction() as conn:
                    delivery = Received("demo", WebhookDelivery(event.event_id, "resolved", event))
                    record_delivery(conn, jobs, delivery, config.service, at)
            while (stored := drafted(database.engine)) < incidents:
                if time.perf_counter() - start > 600:
                    raise SystemExit(f"{backend}: {stored} of {incidents} drafts after 10 minutes")
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            with database.reading() as conn:
                per_incident = conn.exec_driver_sql("SELECT max(n) FROM (SELECT count(*) AS n FROM retro_versions "
                                                    "GROUP BY incident_id) AS c").scalar()  # fmt: skip
            assert per_incident == 1, f"{backend}: an incident was drafted {per_incident} times"
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(60)
            database.close()
    return elapsed


def drafted(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM retro_versions").scalar() or 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="job threads per worker process")
    args = parser.parse_args()
    configure_logging(level="warning")
    os.environ["RETROFLOW_LOAD_PLUGINS"] = ""
    os.environ.pop("RETROFLOW_DATABASE", None)
    times: dict[str, list[float]] = {"table": [], "procrastinate": []}
    with temporary_postgres(durable=True) as server:
        for n in range(args.rounds):
            for backend in times:
                seconds = one_round(server, backend, n, args.incidents, args.threads)
                times[backend].append(seconds)
                print(f"round {n + 1} {backend}: {args.incidents} drafts in {seconds:.2f} s "
                      f"({args.incidents / seconds:.1f} drafts/s)")  # fmt: skip
    best = {backend: args.incidents / min(seconds) for backend, seconds in times.items()}
    print(f"3 workers × {args.threads} threads, {args.incidents} incidents, best of {args.rounds}:")
    print(f"  table (baseline): {best['table']:.1f} drafts/s; procrastinate: {best['procrastinate']:.1f} drafts/s")
    print(f"  ratio procrastinate / table: {best['procrastinate'] / best['table']:.2f}")


if __name__ == "__main__":
    main()
