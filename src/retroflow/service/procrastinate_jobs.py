"""Scale-out on PostgreSQL: the jobs on procrastinate's queue (``[service] jobs =
"procrastinate"``, the ``procrastinate`` extra; ``docs/automation.md``, "Scale-out").

The same job functions (:data:`~retroflow.service.draft.JOB_FUNCTIONS`) run as
procrastinate tasks (``retroflow.<kind>``, queue ``retroflow``) in procrastinate's tables,
in retroflow's own PostgreSQL database:

* **Enqueued in the intake's transaction.** :meth:`ProcrastinateJobs.schedule` defers the
  job with procrastinate's ``connection=`` option on the psycopg connection under the
  caller's SQLAlchemy transaction: the inbox row, the lifecycle and the job commit or roll
  back together. (procrastinate's SQLAlchemy connector is for psycopg2; retroflow's engine
  is on psycopg 3, whose raw connection procrastinate's psycopg connectors take as is.)
* **One pending draft per incident**: the job's ``queueing_lock`` is its ``lock_key``
  (procrastinate's unique index on waiting jobs). A later resolve cancels the waiting job
  and defers a new one, in the same transaction; a reopen cancels it.
* **Never two builds of one incident at once**: the job's ``lock`` is its ``lock_key`` too
  (procrastinate starts no job while another of its lock is running).
* **Retries**: bounded exponential backoff, :func:`~retroflow.service.jobs.backoff` of
  ``[service] retry_delay`` and ``max_retry_delay``, ``max_attempts`` attempts in all.
* **A worker that dies** (``kill -9``) stops sending heartbeats; after ``[service]
  lease_seconds`` any other worker gives its running jobs back to the queue
  (:meth:`ProcrastinateWorkers._recover`), or ends them ``failed`` on their last attempt.

procrastinate keeps no result or error of a job: ``retroflow jobs`` shows its state,
attempts and times; what a job did or why it failed is in the workers' logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog

from retroflow.config import Config, ServiceSettings
from retroflow.engine import describe_error
from retroflow.errors import ConfigError, RetroflowError
from retroflow.service.database import ServiceDatabase
from retroflow.service.draft import JOB_FUNCTIONS, JobContext
from retroflow.service.jobs import Job, NewJob, backoff
from retroflow.store.database import _normalise, database_url, describe_url

if TYPE_CHECKING:
    from procrastinate import App

__all__ = [
    "QUEUE",
    "ProcrastinateJobs",
    "ProcrastinateWorkers",
    "check_settings",
    "ensure_schema",
    "libpq_conninfo",
]

log = structlog.get_logger(__name__)

#: The procrastinate queue retroflow's tasks wait in (its workers take no other).
QUEUE = "retroflow"

#: procrastinate's job statuses as ``retroflow jobs`` names them (the table backend's).
STATES = {
    "todo": "queued",
    "doing": "running",
    "succeeded": "done",
    "failed": "failed",
    "cancelled": "cancelled",
    "aborted": "cancelled",
}

#: Keys of the advisory locks under which a process applies procrastinate's schema, and
#: recovers the jobs of stalled workers.
SCHEMA_LOCK = 0x7265_7472_6F66
RECOVERY_LOCK = 0x7265_7472_6F67


def task_name(kind: str) -> str:
    return f"retroflow.{kind}"


def _import() -> Any:
    """The ``procrastinate`` module, or the install hint."""
    try:
        import procrastinate
    except ImportError:
        raise ConfigError(
            '[service] jobs = "procrastinate" needs procrastinate, which is not installed: '
            "pip install 'retroflow[procrastinate]'"
        ) from None
    return procrastinate


def check_settings(config: Config) -> str:
    """The database URL, checked for procrastinate: installed, and a PostgreSQL database.

    :raises ConfigError: naming ``[service] jobs`` and what is wrong.
    """
    _import()
    url = database_url(config)
    if _normalise(url).get_backend_name() != "postgresql":
        raise ConfigError(
            f'{config.label}: [service] jobs = "procrastinate" needs a PostgreSQL database '
            f"(postgresql://…), not {describe_url(url)} (set [retroflow] database or $RETROFLOW_DATABASE, "
            'or use jobs = "table")'
        )
    return url


def libpq_conninfo(url: str) -> str:
    """The libpq URI (what psycopg's pools connect with) of a SQLAlchemy URL."""
    return _normalise(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _raw(conn: sa.Connection) -> Any:
    """The psycopg connection under ``conn``, in its transaction."""
    return conn.connection.driver_connection


def ensure_schema(database: ServiceDatabase) -> bool:
    """Apply procrastinate's schema to the database when it has none; ``True`` if applied.
    Several processes starting at once take turns (an advisory lock)."""
    procrastinate = _import()
    with database.transaction() as conn:
        raw = _raw(conn)
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        if raw.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is not None:
            return False
        raw.execute(procrastinate.schema.SchemaManager.get_schema())
    log.info("procrastinate schema applied")
    return True


class _Backoff:
    """procrastinate's retry decision with retroflow's backoff and ``max_attempts``."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings

    def strategy(self) -> Any:
        from procrastinate import retry

        settings = self.settings

        class Strategy(retry.BaseRetryStrategy):
            def get_retry_decision(self, *, exception: BaseException, job: Any) -> retry.RetryDecision | None:
                attempt = job.attempts + 1  # procrastinate counts the attempts before this one
                if attempt >= settings.max_attempts:
                    return None
                delay = backoff(attempt, settings.retry_delay, settings.max_retry_delay)
                return retry.RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=delay))

        return Strategy()


class ProcrastinateJobs:
    """The :class:`~retroflow.service.jobs.JobQueue` on procrastinate (see the module's doc).

    :param context: the job context for an attempt number (the workers' processes; the
        intake's never runs a job).
    """

    def __init__(
        self,
        database: ServiceDatabase,
        settings: ServiceSettings,
        *,
        context: Callable[[int], JobContext] | None = None,
        functions: Mapping[str, Callable[[Mapping[str, Any], JobContext], str]] = JOB_FUNCTIONS,
    ) -> None:
        procrastinate = _import()
        self.database = database
        self.settings = settings
        self.context = context
        self.functions = dict(functions)
        self.conninfo = libpq_conninfo(database.url)
        # Deferring runs on the caller's connection: this app's connector is never opened.
        self.app: App = self.new_app(procrastinate.SyncPsycopgConnector())

    def new_app(self, connector: Any) -> App:
        """An app on ``connector`` with a task for each job function."""
        import procrastinate

        app = procrastinate.App(connector=connector)
        for kind in self.functions:
            app.task(name=task_name(kind), queue=QUEUE, pass_context=True, retry=_Backoff(self.settings).strategy())(
                self._task(kind)
            )
        return app

    def _task(self, kind: str) -> Callable[..., str]:
        function = self.functions[kind]

        def run(job_context: Any, **payload: Any) -> str:
            job = job_context.job
            if self.context is None:
                raise RetroflowError("this process runs no jobs")
            attempt = job.attempts + 1
            log.info("job started", job=job.id, kind=kind, attempt=attempt, worker=job_context.worker_name)
            try:
                result = function(payload, self.context(attempt))
            except Exception as exc:
                newer = self._waiting(job.queueing_lock)
                if newer is not None:  # a later resolve: that job supersedes this one
                    log.info("job superseded", job=job.id, kind=kind, by=newer, error=describe_error(exc))
                    return f"superseded by job {newer}"
                log.warning("job failed", job=job.id, kind=kind, attempt=attempt, error=describe_error(exc))
                raise
            log.info("job done", job=job.id, kind=kind, result=result)
            return result

        return run

    # -- in the caller's transaction -----------------------------------------------------

    def _queued(self, conn: sa.Connection, lock_key: str) -> int | None:
        row = (
            _raw(conn)
            .execute(
                "SELECT id FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo' FOR UPDATE", (lock_key,)
            )
            .fetchone()
        )
        return None if row is None else int(row[0])

    def schedule(self, conn: sa.Connection, job: NewJob) -> int:
        waiting = self._queued(conn, job.lock_key)
        if waiting is not None:  # the queueing lock: the new job replaces the waiting one
            self.app.job_manager.cancel_job_by_id(waiting, connection=_raw(conn))
        deferrer = self.app.tasks[task_name(job.kind)].configure(
            lock=job.lock_key, queueing_lock=job.lock_key, schedule_at=job.run_after, connection=_raw(conn)
        )
        return int(deferrer.defer(**job.payload))

    def cancel(self, conn: sa.Connection, lock_key: str, reason: str) -> int | None:
        waiting = self._queued(conn, lock_key)
        if waiting is None or not self.app.job_manager.cancel_job_by_id(waiting, connection=_raw(conn)):
            return None
        log.info("job cancelled", job=waiting, key=lock_key, reason=reason)
        return waiting

    def _waiting(self, lock_key: str | None) -> int | None:
        if lock_key is None:
            return None
        with self.database.reading() as conn:
            return self._queued(conn, lock_key)

    # -- listing and operator actions --------------------------------------------------

    def jobs(self, state: str | None = None, limit: int = 200) -> list[Job]:
        statuses = [s for s, named in STATES.items() if state is None or named == state]
        with self.database.reading() as conn:
            rows = _raw(conn).execute(_LIST + " ORDER BY j.id DESC LIMIT %s", (QUEUE, statuses, limit)).fetchall()
        return [self._job(row) for row in rows]

    def job(self, job_id: int) -> Job | None:
        with self.database.reading() as conn:
            row = _raw(conn).execute(_LIST + " AND j.id = %s", (QUEUE, list(STATES), job_id)).fetchone()
        return None if row is None else self._job(row)

    def _job(self, row: Any) -> Job:
        (job_id, task, key, args, status, attempts, scheduled_at, worker_id, created, updated, finished) = row
        state = STATES[status]
        created = created or datetime.now(UTC)
        return Job(
            id=int(job_id),
            kind=task.removeprefix("retroflow."),
            lock_key=key or "",
            payload=args,
            state=state,
            attempts=attempts + 1 if state == "running" else attempts,
            max_attempts=self.settings.max_attempts,
            run_after=scheduled_at or created,
            lease_until=None,
            worker=None if worker_id is None else f"procrastinate worker {worker_id}",
            last_error="procrastinate keeps no errors: see the workers' logs" if state == "failed" else None,
            result=None,
            created_at=created,
            updated_at=updated or created,
            finished_at=finished,
        )

    def requeue(self, job_id: int) -> Job:
        """A failed job is retried now (procrastinate's retry, its attempts reset); a
        cancelled one is deferred again as a new job."""
        job = self.job(job_id)
        if job is None:
            raise RetroflowError(f"no job {job_id} (see: retroflow jobs)")
        if job.state not in ("failed", "cancelled"):
            raise RetroflowError(f"job {job_id} is {job.state}: only failed or cancelled jobs are retried")
        from procrastinate import exceptions, sql

        try:
            with self.database.transaction() as conn:
                if job.state == "cancelled":
                    again = NewJob(job.kind, job.lock_key, job.payload, datetime.now(UTC), job.max_attempts)
                    job_id = self.schedule(conn, again)
                else:
                    self.app.connector.execute_query_one_with_connection(
                        _raw(conn),
                        query=sql.queries["retry_job"],
                        job_id=job_id,
                        retry_at=datetime.now(UTC),
                        new_priority=None,
                        new_queue_name=None,
                        new_lock=None,
                    )
                    _raw(conn).execute("UPDATE procrastinate_jobs SET attempts = 0 WHERE id = %s", (job_id,))
        except (exceptions.AlreadyEnqueued, exceptions.UniqueViolation):
            raise RetroflowError(f"job {job_id}: another job of {job.lock_key} is already queued") from None
        found = self.job(job_id)
        assert found is not None
        return found

    def recover_stalled(self) -> list[int]:
        """Give the running jobs of workers silent for ``lease_seconds`` (killed, or cut
        off) back to the queue, or end them ``failed`` on their last attempt; their ids.

        One transaction under an advisory lock, with procrastinate's own queries: workers
        recovering at once take turns, and the second sees what the first did (a job it
        gave back and another worker took is not stalled any more)."""
        from procrastinate import sql

        recovered = []
        with self.database.transaction() as conn:
            raw, connector = _raw(conn), self.app.connector
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (RECOVERY_LOCK,))
            stalled = connector.execute_query_all_with_connection(
                raw,
                query=sql.queries["select_stalled_jobs_by_heartbeat"],
                queue=QUEUE,
                task_name=None,
                seconds_since_heartbeat=self.settings.lease_seconds,
            )
            for job in stalled:
                if job["queueing_lock"] and self._queued(conn, job["queueing_lock"]) is not None:
                    # a later resolve's job waits: it supersedes this one (shown cancelled)
                    query, args = sql.queries["finish_job"], {"status": "aborted", "delete_job": False}
                elif job["attempts"] + 1 >= self.settings.max_attempts:
                    query, args = sql.queries["finish_job"], {"status": "failed", "delete_job": False}
                else:
                    query = sql.queries["retry_job"]
                    args = {
                        "retry_at": datetime.now(UTC),
                        "new_priority": None,
                        "new_queue_name": None,
                        "new_lock": None,
                    }
                connector.execute_query_one_with_connection(raw, query=query, job_id=job["id"], **args)
                recovered.append(int(job["id"]))
        for job_id in recovered:
            log.warning("job of a stopped worker given back (or failed, on its last attempt)", job=job_id)
        return recovered


# Times come from procrastinate's events: the first ("deferred") and the last change
# ("scheduled" events carry the time a job is scheduled for, not when it happened).
_LIST = """
SELECT j.id, j.task_name, COALESCE(j.queueing_lock, j.lock), j.args, j.status::text, j.attempts, j.scheduled_at,
       j.worker_id,
       (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type <> 'scheduled'),
       (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type <> 'scheduled'),
       (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id
         AND e.type IN ('succeeded', 'failed', 'cancelled', 'aborted'))
  FROM procrastinate_jobs j
 WHERE j.queue_name = %s AND j.status::text = ANY(%s)"""


class ProcrastinateWorkers:
    """procrastinate's worker in a thread of its own (its event loop), with ``threads``
    jobs at once; what :class:`~retroflow.service.worker.Workers` is to the table.

    :meth:`stop` is the graceful stop: procrastinate takes no new job, lets running jobs
    finish for ``[service] shutdown_grace`` seconds, then asks them to stop (a job is
    given back to the queue when it does).
    """

    def __init__(
        self,
        jobs: ProcrastinateJobs,
        settings: ServiceSettings,
        *,
        threads: int,
        poll: float = 1.0,
        name: str | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        import procrastinate

        from retroflow.service.worker import worker_name

        self.jobs = jobs
        self.settings = settings
        self.threads = threads
        self.poll = poll
        self.name = name or worker_name()
        self.conninfo = jobs.conninfo
        self.connect_timeout = connect_timeout
        self.app = jobs.new_app(procrastinate.PsycopgConnector())  # on the pool _main opens
        self._thread = threading.Thread(target=self._run, name="retroflow-procrastinate", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._failed: str | None = None

    def start(self) -> None:
        self._thread.start()
        self._started.wait(self.connect_timeout + 30)
        if self._failed is not None:
            raise RetroflowError(f"the procrastinate worker did not start: {self._failed}")
        log.info("workers started", worker=self.name, threads=self.threads, jobs="procrastinate")

    def wake(self) -> None:
        """Nothing to do: procrastinate's workers hear of new jobs (LISTEN/NOTIFY)."""

    def stop(self, grace: float | None = None) -> None:
        grace = self.settings.shutdown_grace if grace is None else grace
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(grace + 10)
        log.info("workers stopped", worker=self.name)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:
            self._failed = describe_error(exc)
            log.error("procrastinate worker stopped", error=self._failed)
        finally:
            self._started.set()

    async def _main(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        self._loop = asyncio.get_running_loop()
        # The worker's own pool (the job threads, the listener, heartbeats), opened here so
        # that a database out of reach fails the start within connect_timeout, saying why.
        pool = AsyncConnectionPool(
            self.conninfo, min_size=1, max_size=self.threads + 4, open=False, check=AsyncConnectionPool.check_connection
        )
        await pool.open(wait=True, timeout=self.connect_timeout)
        try:
            await self._work(pool)
        finally:
            await pool.close()

    async def _work(self, pool: Any) -> None:
        lease = self.settings.lease_seconds
        async with self.app.open_async(pool):
            self._task = asyncio.create_task(
                self.app.run_worker_async(
                    queues=[QUEUE],
                    name=self.name,
                    concurrency=self.threads,
                    install_signal_handlers=False,
                    shutdown_graceful_timeout=self.settings.shutdown_grace,
                    fetch_job_polling_interval=self.poll,
                    update_heartbeat_interval=lease / 3,
                    stalled_worker_timeout=lease,
                )
            )
            recovery = asyncio.create_task(self._recover())
            self._started.set()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            finally:
                recovery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovery

    async def _recover(self) -> None:
        """Every third of ``lease_seconds``: :meth:`ProcrastinateJobs.recover_stalled`."""
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            try:
                await asyncio.to_thread(self.jobs.recover_stalled)
            except Exception as exc:  # the database is away: next time
                log.warning("cannot recover stalled jobs", error=describe_error(exc))
