"""Jobs: what runs later, and the backends that hold them.

:class:`JobQueue` is the interface the rest of the service uses; :class:`JobBackend` adds
the lease cycle of retroflow's own workers. :class:`TableJobs` is the embedded backend:
the ``jobs`` table in retroflow's own database, claimed with a lease. Scale-out on PostgreSQL with procrastinate (issue 10 item 7) is another
:class:`JobQueue` running the same job functions
(:data:`retroflow.service.draft.JOB_FUNCTIONS`): ``schedule`` is a ``defer`` inside the
caller's transaction with ``queueing_lock`` and ``lock`` both ``lock_key``, ``cancel``
cancels the queued job, and the claim/heartbeat/finish cycle is procrastinate's worker
(:mod:`retroflow.service.procrastinate_jobs`; ``docs/automation.md``, "Scale-out").

Semantics of the embedded backend:

* **One pending job per key** (a queueing lock): a partial unique index on ``lock_key``
  of queued jobs. Scheduling a key that has one moves it (debounce) instead of adding one.
* **One running job per key**: a job is not claimed while another of its key holds an
  unexpired lease.
* **Claim**: in one transaction, SQLite ``BEGIN IMMEDIATE`` + ``UPDATE … RETURNING``;
  PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` then ``UPDATE … RETURNING``. A job whose
  lease expired (its worker died) is claimed again; one claimed ``max_attempts`` times
  ends ``failed``.
* **Lease**: renewed by heartbeats while the job runs; every write of a claimed job checks
  its claim token, so a worker that lost its lease cannot overwrite the new owner's state.
* **Retry**: bounded exponential backoff, ``retry_delay × 2^(attempt-1)`` up to
  ``max_retry_delay``; out of attempts, ``failed`` with the last error.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from retroflow.clock import utcnow
from retroflow.errors import RetroflowError
from retroflow.service.database import ServiceDatabase
from retroflow.service.sql import driver
from retroflow.store import schema as t
from retroflow.store.schema import JobState

__all__ = ["Claim", "Job", "JobBackend", "JobQueue", "NewJob", "TableJobs", "backoff"]

Clock = Callable[[], datetime]


@attrs.frozen
class NewJob:
    """A job to run at ``run_after``: ``kind`` names its function, ``lock_key`` what it
    works on (one pending and one running job per key)."""

    kind: str
    lock_key: str
    payload: Mapping[str, Any]
    run_after: datetime
    max_attempts: int


@attrs.frozen
class Job:
    """A row of the job table, as ``retroflow jobs`` shows it."""

    id: int
    kind: str
    lock_key: str
    payload: Mapping[str, Any]
    state: str
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_until: datetime | None
    worker: str | None
    last_error: str | None
    result: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Job:
        m = row._mapping
        return cls(**{field.name: m[field.name] for field in attrs.fields(cls)})


@attrs.frozen
class Claim:
    """A job a worker holds: its lease is good while ``token`` matches the row's."""

    job: Job
    token: str
    worker: str

    @property
    def attempt(self) -> int:
        return self.job.attempts


def backoff(attempt: int, first: float, longest: float) -> float:
    """Seconds before retry ``attempt + 1``: ``first × 2^(attempt-1)``, at most ``longest``."""
    return float(min(longest, first * 2 ** max(0, attempt - 1)))


class JobQueue(Protocol):
    """Where jobs wait: what the intake, the lifecycle, ``watch`` and ``retroflow jobs``
    use, whichever backend runs the jobs (:class:`TableJobs`, or procrastinate's queue:
    :mod:`retroflow.service.procrastinate_jobs`)."""

    def schedule(self, conn: sa.Connection, job: NewJob) -> int:
        """Queue ``job`` in the caller's transaction ``conn``, or replace the queued job of
        its ``lock_key`` by it (one pending job per key); return the job's id."""
        ...

    def cancel(self, conn: sa.Connection, lock_key: str, reason: str) -> int | None:
        """Cancel the queued job of ``lock_key`` in ``conn``; its id, or ``None``."""
        ...

    def jobs(self, state: str | None = None, limit: int = 200) -> list[Job]:
        """Jobs, newest first."""
        ...

    def requeue(self, job_id: int) -> Job:
        """Queue a failed or cancelled job again, now, with its attempts reset."""
        ...


class JobBackend(JobQueue, Protocol):
    """A queue whose jobs retroflow's own workers claim with a lease
    (:class:`~retroflow.service.worker.Workers`; see the module's doc)."""

    def claim(self, worker: str, kinds: Sequence[str], lease: float) -> Claim | None:
        """Take the next due job of ``kinds`` for ``lease`` seconds, or ``None``."""
        ...

    def heartbeat(self, claim: Claim, lease: float) -> bool:
        """Extend the lease; ``False`` when it was lost (another worker has the job)."""
        ...

    def finish(self, claim: Claim, result: str) -> bool:
        """The job is done; ``False`` when the lease was lost."""
        ...

    def retry_later(self, claim: Claim, error: str, delay: float) -> str:
        """The attempt failed: queue it again after ``delay`` seconds, or end it ``failed``
        when out of attempts; return the state it is left in."""
        ...

    def release(self, claim: Claim) -> bool:
        """Give the lease back without counting the attempt (a worker stopping)."""
        ...


class TableJobs:
    """The embedded backend: the ``jobs`` table, leased (see the module's doc)."""

    def __init__(self, database: ServiceDatabase, *, now: Clock = utcnow) -> None:
        self.database = database
        self.now = now

    # -- in the caller's transaction (the intake's hot path: driver SQL, see service.sql) --

    def schedule(self, conn: sa.Connection, job: NewJob) -> int:
        # One statement: the queueing lock (the partial unique index on queued jobs' keys)
        # is the upsert's conflict target, so a queued job of the key is moved instead.
        sql = driver(conn)
        now = sql.time(self.now())
        row = sql.one(
            "INSERT INTO jobs (kind, lock_key, payload, state, attempts, max_attempts, run_after, created_at, "
            "updated_at) VALUES (?, ?, JSON(?), ?, 0, ?, ?, ?, ?) "
            "ON CONFLICT (lock_key) WHERE state = 'queued' DO UPDATE SET run_after = excluded.run_after, "
            "payload = excluded.payload, updated_at = excluded.updated_at RETURNING id",
            (
                job.kind,
                job.lock_key,
                sql.json(job.payload),
                JobState.QUEUED,
                job.max_attempts,
                sql.time(job.run_after),
                now,
                now,
            ),
        )
        assert row is not None
        return int(row[0])

    def cancel(self, conn: sa.Connection, lock_key: str, reason: str) -> int | None:
        sql = driver(conn)
        now = sql.time(self.now())
        row = sql.one(
            "UPDATE jobs SET state = ?, result = ?, finished_at = ?, updated_at = ? "
            "WHERE lock_key = ? AND state = ? RETURNING id",
            (JobState.CANCELLED, reason, now, now, lock_key, JobState.QUEUED),
        )
        return None if row is None else int(row[0])

    # -- claims ------------------------------------------------------------------------

    def claim(self, worker: str, kinds: Sequence[str], lease: float) -> Claim | None:
        now = self.now()
        if not self._anything_due(now):
            return None  # the usual answer, found without taking the write lock
        token = secrets.token_hex(16)
        with self.database.transaction() as conn:
            self._fail_exhausted(conn, now)
            job_id = self._next_due(conn, kinds, now)
            if job_id is None:
                return None
            row = conn.execute(
                sa.update(t.jobs)
                .where(t.jobs.c.id == job_id)
                .values(
                    state=JobState.RUNNING,
                    attempts=t.jobs.c.attempts + 1,
                    lease_until=now + timedelta(seconds=lease),
                    worker=worker,
                    claim_token=token,
                    updated_at=now,
                )
                .returning(*t.jobs.c)
            ).one()
        return Claim(Job.from_row(row), token, worker)

    def _anything_due(self, now: datetime) -> bool:
        """Whether a job may be due: a read (a deferred transaction on SQLite), so that
        workers looking every second do not queue for the write lock behind the intake."""
        j = t.jobs.c
        queued = sa.select(j.id).where(j.state == JobState.QUEUED, j.run_after <= now).limit(1)
        expired = sa.select(j.id).where(j.state == JobState.RUNNING, j.lease_until < now).limit(1)
        with self.database.reading() as conn:
            return conn.execute(queued).first() is not None or conn.execute(expired).first() is not None

    def _next_due(self, conn: sa.Connection, kinds: Sequence[str], now: datetime) -> int | None:
        """The id of the next job to run: running with an expired lease (its worker died),
        else queued and due; of a key no other job holds a live lease on. Each is one range
        of the (state, run_after) index: queued jobs not yet due are never read."""
        j = t.jobs.c
        other = t.jobs.alias("other")
        busy = (
            sa.select(other.c.id)
            .where(
                other.c.lock_key == j.lock_key,
                other.c.id != j.id,
                other.c.state == JobState.RUNNING,
                other.c.lease_until >= now,
            )
            .exists()
        )
        for due in (
            sa.and_(j.state == JobState.RUNNING, j.lease_until < now),
            sa.and_(j.state == JobState.QUEUED, j.run_after <= now),
        ):
            query = sa.select(j.id).where(due, j.kind.in_(list(kinds)), ~busy).order_by(j.run_after, j.id).limit(1)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=t.jobs)
            found = conn.execute(query).scalar_one_or_none()
            if found is not None:
                return int(found)
        return None

    def _fail_exhausted(self, conn: sa.Connection, now: datetime) -> None:
        """Jobs whose worker died on their last attempt end ``failed``, not claimed again."""
        j = t.jobs.c
        conn.execute(
            sa.update(t.jobs)
            .where(j.state == JobState.RUNNING, j.lease_until < now, j.attempts >= j.max_attempts)
            .values(
                state=JobState.FAILED,
                last_error=sa.func.coalesce(j.last_error + "\n", "")
                + "the worker running the last attempt stopped without finishing it (lease expired)",
                claim_token=None,
                lease_until=None,
                finished_at=now,
                updated_at=now,
            )
        )

    def _owned(self, claim: Claim) -> Any:
        j = t.jobs.c
        return sa.and_(j.id == claim.job.id, j.claim_token == claim.token, j.state == JobState.RUNNING)

    def heartbeat(self, claim: Claim, lease: float) -> bool:
        now = self.now()
        with self.database.transaction() as conn:
            changed = conn.execute(
                sa.update(t.jobs)
                .where(self._owned(claim))
                .values(lease_until=now + timedelta(seconds=lease), updated_at=now)
            ).rowcount
        return bool(changed)

    def finish(self, claim: Claim, result: str) -> bool:
        now = self.now()
        with self.database.transaction() as conn:
            values = {"state": JobState.DONE, "result": result, "finished_at": now}
            return self._leave(conn, claim, values, now) != "lost"

    def retry_later(self, claim: Claim, error: str, delay: float) -> str:
        now = self.now()
        with self.database.transaction() as conn:
            row = conn.execute(sa.select(t.jobs.c.attempts, t.jobs.c.max_attempts).where(self._owned(claim))).first()
            if row is None:
                return "lost"
            if row.attempts >= row.max_attempts:
                values: dict[str, Any] = {"state": JobState.FAILED, "finished_at": now}
            else:
                values = {"state": JobState.QUEUED, "run_after": now + timedelta(seconds=delay)}
            return self._leave(conn, claim, {**values, "last_error": error}, now)

    def release(self, claim: Claim) -> bool:
        now = self.now()
        with self.database.transaction() as conn:
            values = {"state": JobState.QUEUED, "run_after": now, "attempts": t.jobs.c.attempts - 1}
            return self._leave(conn, claim, values, now) != "lost"

    def _leave(self, conn: sa.Connection, claim: Claim, values: dict[str, Any], now: datetime) -> str:
        """End the claim with ``values``. A job going back to the queue while a newer job of
        its key is queued (a later resolve) is cancelled instead: that one supersedes it."""
        j = t.jobs.c
        if values["state"] == JobState.QUEUED:
            newer = conn.execute(
                sa.select(j.id).where(j.lock_key == claim.job.lock_key, j.state == JobState.QUEUED)
            ).scalar_one_or_none()
            if newer is not None:
                values = {"state": JobState.CANCELLED, "result": f"superseded by job {newer}", "finished_at": now}
        changed = conn.execute(
            sa.update(t.jobs)
            .where(self._owned(claim))
            .values(**values, lease_until=None, claim_token=None, updated_at=now)
        ).rowcount
        return str(values["state"]) if changed else "lost"

    # -- listing and operator actions --------------------------------------------------

    def jobs(self, state: str | None = None, limit: int = 200) -> list[Job]:
        query = sa.select(t.jobs).order_by(t.jobs.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(t.jobs.c.state == state)
        with self.database.reading() as conn:
            return [Job.from_row(row) for row in conn.execute(query)]

    def job(self, job_id: int) -> Job | None:
        with self.database.reading() as conn:
            row = conn.execute(sa.select(t.jobs).where(t.jobs.c.id == job_id)).first()
        return None if row is None else Job.from_row(row)

    def requeue(self, job_id: int) -> Job:
        j = t.jobs.c
        now = self.now()
        job = self.job(job_id)
        if job is None:
            raise RetroflowError(f"no job {job_id} (see: retroflow jobs)")
        try:
            with self.database.transaction() as conn:
                changed = conn.execute(
                    sa.update(t.jobs)
                    .where(j.id == job_id, j.state.in_([JobState.FAILED, JobState.CANCELLED]))
                    .values(state=JobState.QUEUED, attempts=0, run_after=now, finished_at=None, updated_at=now)
                ).rowcount
        except IntegrityError:
            raise RetroflowError(f"job {job_id}: another job of {job.lock_key} is already queued") from None
        if not changed:
            raise RetroflowError(f"job {job_id} is {job.state}: only failed or cancelled jobs are retried")
        job = self.job(job_id)
        assert job is not None
        return job
