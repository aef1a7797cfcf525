"""The processes: ``retroflow serve`` (intake, health, and job threads, on uvicorn) and
``retroflow worker`` (job threads only).

Stopping (SIGTERM, or Ctrl-C): the server stops accepting connections, answers the
requests in flight (each delivery stored or refused as usual), writes the inbox's last
batch, then stops its workers gracefully (:meth:`Workers.stop`); ``retroflow worker``
does the last part only.
"""

from __future__ import annotations

import gc
import signal
import socket
import threading
from collections.abc import Callable

from retroflow.config import Config
from retroflow.plugins import Plugins
from retroflow.service.app import Service, create_app
from retroflow.service.database import ServiceDatabase, open_service_database
from retroflow.service.draft import JobContext
from retroflow.service.inbox import Inbox
from retroflow.service.jobs import Claim, JobQueue, TableJobs
from retroflow.service.worker import JobRunner, Workers

__all__ = ["bind", "build_service", "open_jobs", "run_server", "run_workers"]

Progress = Callable[[str, str], None]


def open_jobs(config: Config, plugins: Plugins | None = None) -> tuple[ServiceDatabase, JobQueue]:
    """Open the database (migrating it) and the job queue ``[service] jobs`` names
    (procrastinate's: checked, its schema applied when missing).

    :param plugins: what the jobs run with, in a process that runs them.
    :raises ConfigError: procrastinate is asked for and not installed, or the database is
        not PostgreSQL.
    """
    if config.service.jobs != "procrastinate":
        database = open_service_database(config)
        return database, TableJobs(database)
    from retroflow.service import procrastinate_jobs as p

    p.check_settings(config)
    database = open_service_database(config)
    p.ensure_schema(database)

    def context(attempt: int) -> JobContext:
        assert plugins is not None
        return JobContext(config, plugins, database, attempt=attempt)

    return database, p.ProcrastinateJobs(database, config.service, context=context if plugins is not None else None)


def build_service(config: Config, plugins: Plugins, *, intake: bool, threads: int) -> Service:
    """Open the database (migrating it) and assemble the intake and ``threads`` workers."""
    database, jobs = open_jobs(config, plugins)
    workers: JobRunner | None = None
    if threads and isinstance(jobs, TableJobs):

        def context(claim: Claim) -> JobContext:
            return JobContext(config, plugins, database, attempt=claim.attempt)

        workers = Workers(jobs, context, config.service, threads=threads)
    elif threads:
        from retroflow.service.procrastinate_jobs import ProcrastinateJobs, ProcrastinateWorkers

        assert isinstance(jobs, ProcrastinateJobs)
        workers = ProcrastinateWorkers(jobs, config.service, threads=threads)
    inbox = Inbox(database, jobs, config.service, on_scheduled=workers.wake if workers else None) if intake else None
    return Service(config, plugins, database, jobs, inbox, workers)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (``port`` 0: any free port; :meth:`socket.getsockname` says which)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # that say they are TCP. Without it each answer (headers, then body: two writes) waited
    # for the client's delayed ACK, 40 ms a delivery (bench/bench_intake.py found it).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_server(service: Service, sock: socket.socket, *, progress: Progress) -> None:
    """Serve on ``sock`` until SIGTERM or Ctrl-C, then stop gracefully."""
    import uvicorn

    app = create_app(service)
    config = uvicorn.Config(
        app,
        log_config=None,  # retroflow's structlog configuration stays in charge
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(service.config.service.shutdown_grace) or None,
        server_header=False,
    )
    server = uvicorn.Server(config)
    # Everything loaded so far (plugins, SQLAlchemy, the app) lives as long as the process:
    # out of the collector's sight, full collections stop pausing the intake for tens of
    # milliseconds (bench/bench_intake.py: p99 at 32 connections ~95 ms before, ~50 after).
    gc.collect()
    gc.freeze()

    # A SIGTERM before uvicorn installs its own handlers (while the app starts) stops the
    # server as soon as it can; and uvicorn raises the signal it stopped for again once
    # stopped: with this handler that ends the command normally (exit 0), everything written.
    def stop(signum: int, _frame: object) -> None:
        server.should_exit = True

    previous = signal.signal(signal.SIGTERM, stop)
    host, port = sock.getsockname()[:2]
    receivers = ", ".join(f"/webhooks/{name}" for name in sorted(service.receivers)) or "none configured"
    threads = service.workers.threads if service.workers else 0
    progress("serve", f"listening on http://{host}:{port} (webhooks: {receivers}; {threads} job thread(s))")
    try:
        server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
        service.database.close()
    progress("serve", "stopped")


def run_workers(service: Service, *, progress: Progress) -> None:
    """Run ``service``'s workers until SIGTERM or Ctrl-C, then stop them gracefully."""
    stop = threading.Event()

    def stopping(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
    service.start()
    threads = service.workers.threads if service.workers else 0
    progress("worker", f"running {threads} job thread(s) as {service.workers.name if service.workers else '-'}")
    try:
        while not stop.wait(1.0):
            pass
        progress("worker", "stopping: running jobs may finish, then their leases are given back")
        service.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        service.database.close()
    progress("worker", "stopped")
