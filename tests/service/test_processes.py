"""Real processes: a worker killed with ``kill -9`` mid-job loses nothing (another finishes
it: one stored version, no second ticket); SIGTERM stops ``retroflow worker`` and
``retroflow serve`` gracefully (issue 10 items 1 and 6)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retroflow import IncidentEvent, Lifecycle, WebhookDelivery
from retroflow.service.database import open_service_database
from retroflow.service.inbox import Received, record_delivery
from retroflow.service.jobs import TableJobs
from retroflow.store import open_store

from .processes import Processes

SECRET = "process-secret-1234"


class World(Processes):
    """A config, its database and the processes started on it."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "retroflow.db"
        super().__init__(
            tmp_path,
            f'[retroflow]\ndatabase = "sqlite:///{self.db}"\noutput = "out"\n\n'
            "[service]\ndraft_delay = 0\nlease_seconds = 2\nshutdown_grace = 1\nretry_delay = 1\n"
            'export = ["filetracker"]\n',
            name="process",
            timeout=60,
        )
        self.database = open_service_database(self.config)
        self.jobs = TableJobs(self.database)

    def resolve(self, incident: str = "INC-9") -> None:
        from datetime import UTC, datetime

        at = datetime.now(UTC)
        event = IncidentEvent("demo", incident, Lifecycle.RESOLVED, at, f"ev-{incident}")
        with self.database.transaction() as conn:
            received = Received("demo", WebhookDelivery(event.event_id, "resolved", event))
            record_delivery(conn, self.jobs, received, self.config.service, at)

    def start(self, *args: str, block: str | None = None) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "RETROFLOW_TEST_TICKETS": str(self.tickets),
            "RETROFLOW_TEST_MARKER": str(self.marker),
            "RETROFLOW_TEST_SECRET": SECRET,
            "RETROFLOW_TEST_BLOCK": block or "",
        }
        return self.spawn(list(args), env)

    def job(self) -> Any:
        [job] = self.jobs.jobs()
        return job

    def versions(self) -> list[int]:
        with open_store(f"sqlite:///{self.db}") as store:
            return [v.version for v in store.versions("INC-9")]

    def actions(self) -> int:
        with open_store(f"sqlite:///{self.db}") as store:
            return len(store.latest_retro("INC-9").actions)

    def close(self) -> None:
        self.kill_all()
        self.database.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = World(tmp_path)
    yield made
    made.close()


@pytest.mark.parametrize("point", ["collect", "create"], ids=["while building", "after creating tickets"])
def test_a_worker_killed_mid_job_loses_nothing(world: World, point: str) -> None:
    world.resolve()
    first = world.start("worker", "--workers", "1", block=point)
    world.wait_for(world.marker.exists, f"the first worker to stop at {point}")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    assert world.job().state == "running"  # leased to a dead worker
    second = world.start("worker", "--workers", "1")
    job = world.wait_for(lambda: world.job() if world.job().state == "done" else None, "another worker to finish")
    assert job.attempts == 2 and job.worker != f"{os.uname().nodename}:{first.pid}"
    assert world.versions() == [1]
    keys = world.ticket_keys()
    assert len(keys) == len(set(keys)) == world.actions() >= 3, "one ticket per action, never a second"
    os.kill(second.pid, signal.SIGTERM)
    assert second.wait(30) == 0


def test_sigterm_gives_a_running_jobs_lease_back_for_another_worker_at_once(world: World) -> None:
    world.resolve()
    first = world.start("worker", "--workers", "1", block="collect")
    world.wait_for(world.marker.exists, "the worker to start the job")
    os.kill(first.pid, signal.SIGTERM)
    assert first.wait(30) == 0
    assert "stopping: running jobs may finish" in world.log(first)
    job = world.job()
    assert (job.state, job.attempts) == ("queued", 0), "the lease is given back, the attempt not counted"
    world.start("worker", "--workers", "1")
    done = world.wait_for(lambda: world.job() if world.job().state == "done" else None, "the next worker")
    assert done.attempts == 1 and world.versions() == [1]


def test_serve_takes_a_delivery_drafts_it_and_stops_on_sigterm(world: World) -> None:
    server = world.start("serve", "--port", "0", "--workers", "1")
    port = world.wait_for(lambda: re.search(r"listening on http://127\.0\.0\.1:(\d+)", world.log(server)), "serve")[1]
    body = json.dumps({"id": "ev-1", "type": "resolved", "incident": "INC-9", "at": "2026-11-07T03:32:00+00:00"})
    signature = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    connection.request("POST", "/webhooks/demo", body=body, headers={"X-Demo-Signature": signature})
    assert connection.getresponse().status == 202
    connection.close()
    world.wait_for(lambda: world.job().state == "done", "the draft")
    assert world.versions() == [1] and len(world.ticket_keys()) == world.actions()
    assert (world.dir / "out" / "INC-9.md").is_file()
    os.kill(server.pid, signal.SIGTERM)
    assert server.wait(30) == 0
    assert "retroflow: stopped" in world.log(server)


def test_a_sigterm_while_serve_is_starting_stops_it(world: World) -> None:
    """The signal may come before uvicorn has its own handlers in place: it must still stop
    the server (it once was swallowed, and the server ran on)."""
    server = world.start("serve", "--port", "0", "--workers", "1")
    world.wait_for(lambda: "listening on" in world.log(server), "serve to bind", timeout=60)
    os.kill(server.pid, signal.SIGTERM)
    assert server.wait(30) == 0
    assert "retroflow: stopped" in world.log(server)
