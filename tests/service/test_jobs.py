"""The embedded job backend: lease-based claims, one running job per key, retries with
bounded backoff, expired leases claimed again (issue 10 items 4 and 6). On SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from retroflow.errors import RetroflowError
from retroflow.service.jobs import NewJob, TableJobs, backoff
from retroflow.store import schema as t


def new(key: str = "draft:x:1", after: float = 0, clock=None, attempts: int = 3, **payload) -> NewJob:  # type: ignore[no-untyped-def]
    return NewJob("draft", key, {"n": key, **payload}, clock.now + timedelta(seconds=after), attempts)


def schedule(jobs: TableJobs, job: NewJob) -> int:
    with jobs.database.transaction() as conn:
        return jobs.schedule(conn, job)


@pytest.fixture
def timed(database, clock) -> TableJobs:  # type: ignore[no-untyped-def]
    return TableJobs(database, now=clock)


def test_a_job_is_claimed_once_due_in_order(timed, clock) -> None:  # type: ignore[no-untyped-def]
    later = schedule(timed, new("k:later", 60, clock))
    first = schedule(timed, new("k:first", 0, clock))
    claim = timed.claim("w1", ["draft"], lease=30)
    assert claim is not None and claim.job.id == first and claim.attempt == 1
    assert timed.claim("w1", ["draft"], lease=30) is None  # the other is not due
    assert timed.claim("w1", ["other-kind"], lease=30) is None
    timed.finish(claim, "done")
    clock.advance(61)
    assert timed.claim("w1", ["draft"], lease=30).job.id == later


def test_scheduling_a_key_with_a_queued_job_moves_it(timed, clock) -> None:  # type: ignore[no-untyped-def]
    first = schedule(timed, new("k", 60, clock, v=1))
    assert schedule(timed, new("k", 120, clock, v=2)) == first
    [job] = timed.jobs("queued")
    assert job.payload["v"] == 2 and job.run_after == clock.now + timedelta(seconds=120)


def test_the_queueing_lock_is_a_unique_index(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock))
    with pytest.raises(sa.exc.IntegrityError), timed.database.transaction() as conn:
        conn.execute(
            sa.insert(t.jobs).values(
                kind="draft",
                lock_key="k",
                payload={},
                state="queued",
                max_attempts=1,
                run_after=clock.now,
                created_at=clock.now,
                updated_at=clock.now,
            )
        )


def test_one_running_job_per_key(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock))
    running = timed.claim("w1", ["draft"], lease=30)
    schedule(timed, new("k", 0, clock))  # a later resolve: queued behind the running one
    assert timed.claim("w2", ["draft"], lease=30) is None
    timed.finish(running, "done")
    assert timed.claim("w2", ["draft"], lease=30) is not None


def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_write(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock))
    dead = timed.claim("w1", ["draft"], lease=30)
    clock.advance(10)
    assert timed.heartbeat(dead, lease=30)  # alive: extended to +40
    clock.advance(25)
    assert timed.claim("w2", ["draft"], lease=30) is None  # still leased (until +40)
    clock.advance(10)
    taken = timed.claim("w2", ["draft"], lease=30)
    assert taken is not None and taken.job.id == dead.job.id and taken.attempt == 2 and taken.worker == "w2"
    assert not timed.heartbeat(dead, lease=30)
    assert not timed.finish(dead, "late")
    assert timed.retry_later(dead, "late", 1) == "lost"
    assert timed.finish(taken, "finished by w2")
    [job] = timed.jobs()
    assert (job.state, job.result, job.attempts) == ("done", "finished by w2", 2)


def test_failures_retry_with_bounded_backoff_then_fail_with_the_last_error(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock, attempts=3))
    for attempt in (1, 2, 3):
        claim = timed.claim("w", ["draft"], lease=30)
        assert claim.attempt == attempt
        delay = backoff(attempt, 30, 3600)
        state = timed.retry_later(claim, f"boom {attempt}", delay)
        assert state == ("queued" if attempt < 3 else "failed")
        clock.advance(delay)
    [job] = timed.jobs()
    assert (job.state, job.last_error, job.attempts) == ("failed", "boom 3", 3)
    assert [backoff(n, 30, 100) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_a_worker_lost_on_the_last_attempt_ends_the_job_failed(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock, attempts=1))
    timed.claim("w1", ["draft"], lease=30)
    clock.advance(31)
    assert timed.claim("w2", ["draft"], lease=30) is None
    [job] = timed.jobs()
    assert job.state == "failed" and "lease expired" in job.last_error


def test_a_released_lease_does_not_count_an_attempt(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock))
    claim = timed.claim("w1", ["draft"], lease=30)
    assert timed.release(claim)
    again = timed.claim("w2", ["draft"], lease=30)
    assert again.attempt == 1


def test_a_job_going_back_to_the_queue_behind_a_newer_one_is_superseded(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock, v=1))
    claim = timed.claim("w", ["draft"], lease=30)
    newer = schedule(timed, new("k", 0, clock, v=2))
    assert timed.retry_later(claim, "boom", 10) == "cancelled"
    assert {(j.id, j.state) for j in timed.jobs()} == {(claim.job.id, "cancelled"), (newer, "queued")}
    assert timed.job(claim.job.id).result == f"superseded by job {newer}"


def test_cancel_takes_only_the_queued_job(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock))
    running = timed.claim("w", ["draft"], lease=30)
    queued = schedule(timed, new("k", 60, clock))
    with timed.database.transaction() as conn:
        assert timed.cancel(conn, "k", "reopened") == queued
        assert timed.cancel(conn, "k", "reopened") is None
    assert timed.job(running.job.id).state == "running"


def test_requeue_takes_failed_and_cancelled_jobs_only(timed, clock) -> None:  # type: ignore[no-untyped-def]
    schedule(timed, new("k", 0, clock, attempts=1))
    claim = timed.claim("w", ["draft"], lease=30)
    with pytest.raises(RetroflowError, match="is running: only failed or cancelled"):
        timed.requeue(claim.job.id)
    timed.retry_later(claim, "boom", 1)
    job = timed.requeue(claim.job.id)
    assert (job.state, job.attempts) == ("queued", 0)
    with pytest.raises(RetroflowError, match="no job 999"):
        timed.requeue(999)


def test_workers_claiming_at_once_never_take_one_job_twice(jobs, clock) -> None:  # type: ignore[no-untyped-def]
    for n in range(40):
        schedule(jobs, new(f"k{n}", -5, clock))
    taken: Counter[int] = Counter()
    lock = threading.Lock()

    def work(name: str) -> None:
        while (claim := jobs.claim(name, ["draft"], lease=60)) is not None:
            with lock:
                taken[claim.job.id] += 1
            assert jobs.finish(claim, name)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(taken) == 40 and set(taken.values()) == {1}
    assert Counter(j.state for j in jobs.jobs()) == {"done": 40}
