"""Scale-out on PostgreSQL with procrastinate (issue 10 item 7), in this process: the choice
in config and its errors, the enqueue inside the intake's transaction, the queueing lock
(one pending draft per incident), a reopen cancelling the draft, ``retroflow jobs`` on
procrastinate's queue, and a worker running the draft job. ``test_procrastinate_processes``
runs several ``retroflow worker`` processes."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from retroflow import IncidentEvent, Lifecycle, WebhookDelivery, hookimpl
from retroflow.cli import cli
from retroflow.config import Config
from retroflow.errors import ConfigError, RetroflowError
from retroflow.plugins import Plugins
from retroflow.service.inbox import Received, record_delivery
from retroflow.service.procrastinate_jobs import ProcrastinateJobs, ProcrastinateWorkers, libpq_conninfo
from retroflow.service.server import build_service, open_jobs
from retroflow.store.build import store_for

T0 = datetime(2026, 11, 7, 3, 32, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _configured_database(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/conftest.py sets $RETROFLOW_DATABASE (a SQLite file), which wins over the
    # config's [retroflow] database: these tests mean the config's.
    monkeypatch.delenv("RETROFLOW_DATABASE", raising=False)


class Setup:
    def __init__(self, config: Config, plugins: Plugins) -> None:
        self.config, self.plugins = config, plugins
        self.database, jobs = open_jobs(config, plugins)
        assert isinstance(jobs, ProcrastinateJobs)
        self.jobs = jobs

    def event(self, kind: str, at: datetime, incident: str = "INC-1", event_id: str | None = None) -> str:
        event = IncidentEvent("demo", incident, Lifecycle(kind), at, event_id or f"{kind}-{at.isoformat()}")
        with self.database.transaction() as conn:
            received = Received("demo", WebhookDelivery(event.event_id, kind, event))
            return record_delivery(conn, self.jobs, received, self.config.service, at).outcome

    def states(self) -> list[tuple[str, str]]:
        return [(job.state, job.lock_key) for job in reversed(self.jobs.jobs())]

    def raw(self, sql: str, *params: Any) -> list[Any]:
        with self.database.reading() as conn:
            return list(conn.connection.driver_connection.execute(sql, params).fetchall())


@pytest.fixture
def setup(pg_url: str, configure: Callable[..., tuple[Config, Plugins]]) -> Iterator[Setup]:
    config, plugins = configure(pg_url, 'jobs = "procrastinate"\ndraft_delay = 600\nretry_delay = 1')
    made = Setup(config, plugins)
    yield made
    made.database.close()


# -- the choice in config ------------------------------------------------------------------


def test_procrastinate_needs_a_postgresql_database(sqlite_url: str, configure: Any) -> None:
    config, plugins = configure(sqlite_url, 'jobs = "procrastinate"')
    with pytest.raises(ConfigError, match=r'\[service\] jobs = "procrastinate" needs a PostgreSQL database') as info:
        build_service(config, plugins, intake=True, threads=1)
    assert "retroflow.db" in str(info.value) and 'jobs = "table"' in str(info.value)


def test_procrastinate_not_installed_says_how_to_install_it(
    pg_url: str, configure: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, plugins = configure(pg_url, 'jobs = "procrastinate"')
    monkeypatch.setitem(sys.modules, "procrastinate", None)  # what an absent package looks like to import
    with pytest.raises(ConfigError, match=r"pip install 'retroflow\[procrastinate\]'"):
        build_service(config, plugins, intake=True, threads=0)


def test_the_default_is_the_table_backend(sqlite_url: str, configure: Any) -> None:
    config, plugins = configure(sqlite_url)
    service = build_service(config, plugins, intake=False, threads=0)
    assert type(service.jobs).__name__ == "TableJobs"
    service.database.close()


def test_the_libpq_address_keeps_the_connection_options() -> None:
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:5433/retro?options=-csearch_path%3Dt1"
    assert libpq_conninfo(url) == "postgresql://postgres:s3cret@127.0.0.1:5433/retro?options=-csearch_path%3Dt1"


# -- the queue -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_resolve_defers_the_draft_in_the_intakes_transaction(setup: Setup) -> None:
    assert setup.event("resolved", T0) == "scheduled"
    [(job_id, task, lock, queueing_lock, status, scheduled_at, args)] = setup.raw(
        "SELECT id, task_name, lock, queueing_lock, status::text, scheduled_at, args FROM procrastinate_jobs"
    )
    assert (task, lock, queueing_lock, status) == ("retroflow.draft", "draft:demo:INC-1", "draft:demo:INC-1", "todo")
    assert scheduled_at == T0 + timedelta(minutes=10)
    assert args["incident_id"] == "INC-1" and args["resolved_at"] == "2026-11-07T03:32:00Z"
    [(outcome, delivery_job)] = setup.raw("SELECT outcome, job_id FROM webhook_deliveries")
    assert (outcome, delivery_job) == ("scheduled", job_id)


@pytest.mark.postgres
def test_a_delivery_that_is_not_stored_enqueues_nothing(setup: Setup) -> None:
    """The job is deferred on the intake's connection: a rolled-back transaction leaves
    neither the delivery nor the job."""
    event = IncidentEvent("demo", "INC-1", Lifecycle.RESOLVED, T0, "ev-1")
    with pytest.raises(RuntimeError), setup.database.transaction() as conn:
        record_delivery(
            conn, setup.jobs, Received("demo", WebhookDelivery("ev-1", "resolved", event)), setup.config.service, T0
        )
        raise RuntimeError("the commit fails")
    assert setup.raw("SELECT count(*) FROM procrastinate_jobs") == [(0,)]
    assert setup.raw("SELECT count(*) FROM webhook_deliveries") == [(0,)]


@pytest.mark.postgres
def test_duplicate_resolves_leave_one_pending_draft(setup: Setup) -> None:
    assert setup.event("resolved", T0, event_id="ev-1") == "scheduled"
    assert setup.event("resolved", T0, event_id="ev-1") == "duplicate"  # the same delivery again
    assert setup.event("resolved", T0 + timedelta(seconds=20), event_id="ev-2") == "same resolve"  # webhook + poll
    assert setup.event("resolved", T0 + timedelta(minutes=5), event_id="ev-3") == "scheduled"  # a later resolve
    assert setup.states() == [("cancelled", "draft:demo:INC-1"), ("queued", "draft:demo:INC-1")]
    [(scheduled_at,)] = setup.raw("SELECT scheduled_at FROM procrastinate_jobs WHERE status = 'todo'")
    assert scheduled_at == T0 + timedelta(minutes=15)


@pytest.mark.postgres
def test_the_queueing_lock_is_procrastinates(setup: Setup) -> None:
    """Deferring past retroflow's check (another program on the same queue) is refused by
    procrastinate's unique index on waiting jobs of one queueing lock."""
    from procrastinate import exceptions

    setup.event("resolved", T0)
    task = setup.jobs.app.tasks["retroflow.draft"]
    with pytest.raises(exceptions.AlreadyEnqueued), setup.database.transaction() as conn:
        raw = conn.connection.driver_connection
        task.configure(queueing_lock="draft:demo:INC-1", connection=raw).defer(incident_id="INC-1")


@pytest.mark.postgres
def test_a_reopen_within_the_delay_cancels_the_draft_and_the_next_resolve_defers_again(setup: Setup) -> None:
    setup.event("resolved", T0)
    assert setup.event("reopened", T0 + timedelta(minutes=3)) == "cancelled"
    assert setup.states() == [("cancelled", "draft:demo:INC-1")]
    assert setup.event("resolved", T0 + timedelta(minutes=8)) == "scheduled"
    assert setup.states() == [("cancelled", "draft:demo:INC-1"), ("queued", "draft:demo:INC-1")]


@pytest.mark.postgres
def test_jobs_lists_and_retries_procrastinates_jobs(setup: Setup) -> None:
    setup.event("resolved", T0, incident="INC-1")
    setup.event("reopened", T0 + timedelta(minutes=1), incident="INC-1")
    [cancelled] = setup.jobs.jobs("cancelled")
    assert (cancelled.kind, cancelled.max_attempts, cancelled.finished_at is not None) == ("draft", 5, True)
    again = setup.jobs.requeue(cancelled.id)
    assert again.state == "queued" and again.id != cancelled.id and again.payload == cancelled.payload
    with pytest.raises(RetroflowError, match=r"is queued: only failed or cancelled jobs are retried"):
        setup.jobs.requeue(again.id)
    with pytest.raises(RetroflowError, match=r"no job 999"):
        setup.jobs.requeue(999)
    with setup.database.transaction() as conn:  # a job out of attempts
        conn.connection.driver_connection.execute(
            "UPDATE procrastinate_jobs SET status = 'failed', attempts = 5 WHERE id = %s", (again.id,)
        )
    [failed] = setup.jobs.jobs("failed")
    assert failed.last_error == "procrastinate keeps no errors: see the workers' logs"
    retried = setup.jobs.requeue(failed.id)
    assert (retried.id, retried.state, retried.attempts) == (failed.id, "queued", 0)


@pytest.mark.postgres
def test_retroflow_jobs_shows_procrastinates_queue(setup: Setup) -> None:
    setup.event("resolved", T0, incident="INC-7")
    path = setup.config.base_dir / "retroflow.toml"
    path.write_text(
        f'[retroflow]\ndatabase = "{setup.database.url}"\n[service]\njobs = "procrastinate"\n', encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "jobs"])
    assert result.exit_code == 0, result.output
    assert "\tqueued\tdraft demo:INC-7\tattempt 0/5\truns after 2026-11-07 03:42:00Z" in result.stdout


def running_stalled(setup: Setup, job_id: int, attempts: int = 0) -> None:
    """``job_id`` taken by a worker that then went silent (killed) an hour ago."""
    with setup.database.transaction() as conn:
        raw = conn.connection.driver_connection
        [worker] = raw.execute("SELECT procrastinate_register_worker_v1()").fetchone()
        raw.execute("UPDATE procrastinate_jobs SET attempts = %s WHERE id = %s", (attempts, job_id))
        [taken] = raw.execute("SELECT id FROM procrastinate_fetch_job_v2(ARRAY['retroflow'], %s)", (worker,)).fetchone()
        assert taken == job_id
        raw.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %s", (worker,)
        )


@pytest.mark.postgres
def test_the_jobs_of_a_silent_worker_are_given_back_or_failed_on_their_last_attempt(setup: Setup) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    for incident in ("INC-1", "INC-2", "INC-3"):
        setup.event("resolved", past, incident=incident, event_id=f"ev-{incident}")
    ids = {job.lock_key.rsplit(":", 1)[1]: job.id for job in setup.jobs.jobs()}
    running_stalled(setup, ids["INC-1"])
    running_stalled(setup, ids["INC-2"], attempts=4)  # its fifth and last attempt
    running_stalled(setup, ids["INC-3"])
    assert setup.event("reopened", past + timedelta(minutes=1), incident="INC-3") == "reopened"  # running: stays
    assert setup.event("resolved", past + timedelta(minutes=2), incident="INC-3") == "scheduled"
    assert [j.state for j in setup.jobs.jobs("running")] == ["running"] * 3
    assert sorted(setup.jobs.recover_stalled()) == sorted(ids.values())
    states = {job.id: (job.state, job.attempts) for job in setup.jobs.jobs()}
    assert states[ids["INC-1"]] == ("queued", 1)  # given back, its attempt counted
    assert states[ids["INC-2"]] == ("failed", 5)
    assert states[ids["INC-3"]][0] == "cancelled"  # superseded by the later resolve's job
    assert setup.jobs.recover_stalled() == []


# -- a worker ------------------------------------------------------------------------------


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
def test_a_procrastinate_worker_drafts_the_retro(pg_url: str, configure: Any, demo: Any) -> None:
    config, plugins = configure(pg_url, 'jobs = "procrastinate"\ndraft_delay = 0\nshutdown_grace = 1')
    service = build_service(config, plugins, intake=False, threads=2)
    assert isinstance(service.workers, ProcrastinateWorkers)
    service.start()
    try:
        now = datetime.now(UTC)
        event = IncidentEvent("demo", "INC-3", Lifecycle.RESOLVED, now, "ev-3")
        with service.database.transaction() as conn:
            record_delivery(
                conn, service.jobs, Received("demo", WebhookDelivery("ev-3", "resolved", event)), config.service, now
            )
        job = wait_for(lambda: next((j for j in service.jobs.jobs("done")), None), "the draft")
    finally:
        service.stop()
        service.database.close()
    assert (job.attempts, demo.builds) == (1, ["INC-3"])
    with store_for(config) as store:
        assert [v.version for v in store.versions("INC-3")] == [1]


class Unreachable:
    """Told of every draft, and failing: the job fails after storing the draft."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def retroflow_retro_drafted(self, draft: Any) -> None:
        self.calls += 1
        raise RuntimeError("chat is down")


@pytest.mark.postgres
def test_a_failing_draft_is_retried_with_backoff_then_fails(pg_url: str, configure: Any, demo: Any) -> None:
    config, plugins = configure(
        pg_url,
        'jobs = "procrastinate"\ndraft_delay = 0\nshutdown_grace = 1\nretry_delay = 0.2\nmax_attempts = 2',
        plugins=(Unreachable(),),
    )
    service = build_service(config, plugins, intake=False, threads=1)
    service.start()
    try:
        now = datetime.now(UTC)
        event = IncidentEvent("demo", "INC-4", Lifecycle.RESOLVED, now, "ev-4")
        with service.database.transaction() as conn:
            record_delivery(
                conn, service.jobs, Received("demo", WebhookDelivery("ev-4", "resolved", event)), config.service, now
            )
        job = wait_for(lambda: next(iter(service.jobs.jobs("failed")), None), "the job to fail")
    finally:
        service.stop()
        service.database.close()
    assert job.attempts == 2 and demo.builds == ["INC-4"]  # built and stored once, told twice
    [unreachable] = [p for p in plugins.pm.get_plugins() if isinstance(p, Unreachable)]
    assert unreachable.calls == 2


@pytest.mark.postgres
def test_a_worker_that_cannot_reach_the_database_says_so(setup: Setup) -> None:
    workers = ProcrastinateWorkers(setup.jobs, setup.config.service, threads=1, connect_timeout=1)
    workers.conninfo = "postgresql://nobody@127.0.0.1:1/none"
    with pytest.raises(RetroflowError, match=r"the procrastinate worker did not start: PoolTimeout"):
        workers.start()
