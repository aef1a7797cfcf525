"""Job workers: threads that claim due jobs and run their functions.

Each thread claims one job at a time (:meth:`JobBackend.claim`), runs its function from
:data:`~retroflow.service.draft.JOB_FUNCTIONS`, and records the outcome: done, or retried
with backoff, or failed when out of attempts. One heartbeat thread renews the leases of
the jobs running; a job whose lease was lost (the process stalled past it and another
worker took the job) is left to its new owner.

:meth:`Workers.stop` is the graceful stop (SIGTERM): no new claims; running jobs get
``[service] shutdown_grace`` seconds to finish; the leases of those still running are
given back (queued again, the attempt not counted) for another worker to take at once.
A worker killed outright (``kill -9``) loses nothing either: its leases expire and the
jobs are claimed again; the draft job is safe to run twice (:mod:`~retroflow.service.draft`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

from retroflow.config import ServiceSettings
from retroflow.engine import describe_error
from retroflow.service.draft import JOB_FUNCTIONS, JobContext
from retroflow.service.jobs import Claim, JobBackend, backoff

__all__ = ["JobRunner", "Workers", "worker_name"]

log = structlog.get_logger(__name__)

JobFunction = Callable[[Mapping[str, Any], JobContext], str]


class JobRunner(Protocol):
    """What runs a process's jobs: :class:`Workers` (the table backend), or
    :class:`~retroflow.service.procrastinate_jobs.ProcrastinateWorkers`."""

    name: str
    threads: int

    def start(self) -> None: ...

    def wake(self) -> None:
        """A job may be due now: look at once."""
        ...

    def stop(self, grace: float | None = None) -> None:
        """Stop taking jobs; let running ones finish for ``grace`` seconds (default
        ``[service] shutdown_grace``)."""
        ...


def worker_name() -> str:
    """``host:pid``, shown in ``retroflow jobs`` for a running job."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Workers:
    """A pool of job threads (see the module's doc).

    :param context: the job context for a claim (its attempt number filled in).
    :param poll: seconds between two looks at the job table when nothing is due (a job
        scheduled in this process wakes the threads at once: :meth:`wake`).
    """

    def __init__(
        self,
        backend: JobBackend,
        context: Callable[[Claim], JobContext],
        settings: ServiceSettings,
        *,
        threads: int,
        poll: float = 1.0,
        functions: Mapping[str, JobFunction] = JOB_FUNCTIONS,
        name: str | None = None,
    ) -> None:
        self.backend = backend
        self.context = context
        self.settings = settings
        self.threads = threads
        self.poll = poll
        self.functions = dict(functions)
        self.name = name or worker_name()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._running: dict[int, Claim] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for n in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"retroflow-worker-{n + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.threads:
            threading.Thread(target=self._heartbeats, name="retroflow-heartbeat", daemon=True).start()
        log.info("workers started", worker=self.name, threads=self.threads)

    def wake(self) -> None:
        """A job may be due now: look at once."""
        self._wake.set()

    def running(self) -> list[Claim]:
        with self._lock:
            return list(self._running.values())

    def stop(self, grace: float | None = None) -> None:
        """Stop claiming; let running jobs finish for ``grace`` seconds (default
        ``[service] shutdown_grace``), then give the leases of the others back."""
        grace = self.settings.shutdown_grace if grace is None else grace
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for claim in self.running():
            released = self.backend.release(claim)
            log.warning("job lease given back", job=claim.job.id, kind=claim.job.kind, released=released)
        log.info("workers stopped", worker=self.name)

    # -- the threads -------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                claim = self.backend.claim(self.name, list(self.functions), self.settings.lease_seconds)
            except Exception as exc:  # the database is away: try again later
                log.warning("cannot claim jobs", error=describe_error(exc))
                claim = None
            if claim is None:
                if self._wake.wait(self.poll):
                    self._wake.clear()
                continue
            self._run(claim)

    def _run(self, claim: Claim) -> None:
        job = claim.job
        ident = threading.get_ident()
        with self._lock:
            self._running[ident] = claim
        log.info("job started", job=job.id, kind=job.kind, attempt=claim.attempt)
        try:
            result = self.functions[job.kind](job.payload, self.context(claim))
        except Exception as exc:
            error = describe_error(exc)
            delay = backoff(claim.attempt, self.settings.retry_delay, self.settings.max_retry_delay)
            state = self._record(lambda: self.backend.retry_later(claim, error, delay))
            log.warning("job failed", job=job.id, kind=job.kind, attempt=claim.attempt, now=state, error=error)
        else:
            finished = self._record(lambda: self.backend.finish(claim, result))
            log.info("job done", job=job.id, kind=job.kind, result=result, recorded=finished)
        finally:
            with self._lock:
                self._running.pop(ident, None)

    def _record(self, write: Callable[[], Any]) -> Any:
        """Record a job's outcome, trying again while the database is busy or away: a job
        whose outcome cannot be recorded keeps its lease until it expires, and is then run
        again (never lost)."""
        for attempt in range(5):
            try:
                return write()
            except Exception as exc:
                log.warning("cannot record job outcome", error=describe_error(exc), attempt=attempt + 1)
                time.sleep(min(5.0, 0.2 * 2**attempt))
        return "unrecorded"

    def _heartbeats(self) -> None:
        interval = self.settings.lease_seconds / 3
        while not self._stopping.wait(interval):
            for claim in self.running():
                try:
                    if not self.backend.heartbeat(claim, self.settings.lease_seconds):
                        log.warning("job lease lost", job=claim.job.id, kind=claim.job.kind)
                except Exception as exc:
                    log.warning("heartbeat failed", job=claim.job.id, error=describe_error(exc))
