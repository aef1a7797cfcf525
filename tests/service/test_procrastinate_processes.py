"""Scale-out on PostgreSQL with procrastinate, in real processes (issue 10 item 7): three
``retroflow worker`` processes on one database draft N resolved incidents, each built
once; two drafts of one incident never build at once; a worker killed mid-job loses
nothing; ``retroflow serve`` takes a webhook and its own worker drafts it. The PostgreSQL
server is the tests' own (``pg_url``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retroflow import IncidentEvent, Lifecycle, WebhookDelivery
from retroflow.service.inbox import Received, record_delivery
from retroflow.service.procrastinate_jobs import ProcrastinateJobs
from retroflow.service.server import open_jobs
from retroflow.store import open_store

from .processes import Processes

pytestmark = pytest.mark.postgres


class Cluster(Processes):
    """A config on the test's PostgreSQL schema, the queue, and the worker processes."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.url = url
        super().__init__(
            tmp_path,
            f'[retroflow]\ndatabase = "{url}"\noutput = "out"\n\n'
            '[service]\njobs = "procrastinate"\ndraft_delay = 0\nlease_seconds = 3\nshutdown_grace = 2\n'
            'retry_delay = 1\nexport = ["filetracker"]\n',
            name="worker",
            timeout=45,
        )
        self.builds = tmp_path / "builds.txt"
        self.database, jobs = open_jobs(self.config)
        assert isinstance(jobs, ProcrastinateJobs)
        self.jobs = jobs

    def start(
        self, *, threads: int = 2, block: str = "", build_seconds: float = 0, command: tuple[str, ...] = ("worker",)
    ) -> subprocess.Popen[bytes]:
        env = {
            **{k: v for k, v in os.environ.items() if k != "RETROFLOW_DATABASE"},
            "RETROFLOW_TEST_TICKETS": str(self.tickets),
            "RETROFLOW_TEST_MARKER": str(self.marker),
            "RETROFLOW_TEST_SECRET": "serve-secret",
            "RETROFLOW_TEST_BLOCK": block,
            "RETROFLOW_TEST_BUILDS": str(self.builds),
            "RETROFLOW_TEST_BUILD_SECONDS": str(build_seconds),
        }
        return self.spawn([*command, "--workers", str(threads)], env)

    def running(self, process: subprocess.Popen[bytes]) -> bool:
        return "job thread(s) as" in self.log(process)

    def event(self, kind: str, incident: str, at: datetime) -> str:
        """A resolve or reopen, recorded as the intake records a delivery (its job deferred
        in the same transaction)."""
        event = IncidentEvent("demo", incident, Lifecycle(kind), at, f"{kind}-{incident}-{at.timestamp()}")
        with self.database.transaction() as conn:
            received = Received("demo", WebhookDelivery(event.event_id, kind, event))
            return record_delivery(conn, self.jobs, received, self.config.service, at).outcome

    def done(self) -> int:
        return len(self.jobs.jobs("done"))

    def build_lines(self, phase: str = "end") -> list[tuple[str, float, int]]:
        """``(incident, time, pid)`` of each build's start or end."""
        lines = [line.split() for line in self.builds.read_text().splitlines()] if self.builds.exists() else []
        return [(incident, float(at), int(pid)) for incident, said, at, pid in lines if said == phase]

    def versions(self, incident: str) -> list[int]:
        with open_store(self.url) as store:
            return [v.version for v in store.versions(incident)]

    def actions(self, incident: str) -> int:
        with open_store(self.url) as store:
            return len(store.latest_retro(incident).actions)

    def stop(self, process: subprocess.Popen[bytes]) -> int:
        os.kill(process.pid, signal.SIGTERM)
        return process.wait(30)

    def close(self) -> None:
        self.kill_all()
        self.database.close()


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    monkeypatch.delenv("RETROFLOW_DATABASE", raising=False)  # the config's database, not the tests' SQLite
    made = Cluster(tmp_path, pg_url)
    yield made
    made.close()


def test_three_workers_draft_n_incidents_each_built_once(cluster: Cluster) -> None:
    n = 12
    workers = [cluster.start(threads=2, build_seconds=0.2) for _ in range(3)]
    for worker in workers:
        cluster.wait_for(lambda w=worker: cluster.running(w), "the workers to start")
    now = datetime.now(UTC)
    incidents = [f"INC-{i:02d}" for i in range(n)]
    assert {cluster.event("resolved", incident, now) for incident in incidents} == {"scheduled"}
    cluster.wait_for(lambda: cluster.done() == n, f"{n} drafts")
    builds = cluster.build_lines()
    assert sorted(b[0] for b in builds) == incidents, "each incident built exactly once"
    assert all(cluster.versions(incident) == [1] for incident in incidents)
    assert len({b[2] for b in builds}) >= 2, "the drafts were shared out between the workers"
    keys = cluster.ticket_keys()
    assert len(keys) == len(set(keys)) == sum(cluster.actions(i) for i in incidents), "one ticket per action"
    assert all(j.attempts == 1 for j in cluster.jobs.jobs("done"))
    assert [cluster.stop(w) for w in workers] == [0, 0, 0]
    assert all("stopping: running jobs may finish" in cluster.log(w) for w in workers)


def test_two_drafts_of_one_incident_never_build_at_once(cluster: Cluster) -> None:
    for _ in range(3):
        cluster.start(threads=2, build_seconds=1.5)
    for worker in cluster.processes:
        cluster.wait_for(lambda w=worker: cluster.running(w), "the workers to start")
    first = datetime.now(UTC) - timedelta(minutes=1)  # every draft due at once
    cluster.event("resolved", "INC-L", first)
    cluster.wait_for(lambda: cluster.build_lines("start"), "the first draft to start building")
    # Reopened and resolved again while the first draft builds: a second draft waits, with
    # idle workers about, until the first is done (procrastinate's lock).
    cluster.event("reopened", "INC-L", first + timedelta(seconds=1))
    assert cluster.event("resolved", "INC-L", first + timedelta(seconds=2)) == "scheduled"
    cluster.wait_for(lambda: cluster.done() == 2, "both drafts")
    [first_start, second_start] = sorted(at for _, at, _ in cluster.build_lines("start"))
    [first_end, second_end] = sorted(at for _, at, _ in cluster.build_lines("end"))
    assert first_start < first_end <= second_start < second_end
    assert cluster.versions("INC-L") == [1, 2]


def test_a_worker_killed_mid_job_loses_nothing(cluster: Cluster) -> None:
    doomed = cluster.start(threads=1, block="collect")
    cluster.wait_for(lambda: cluster.running(doomed), "the first worker to start")
    cluster.event("resolved", "INC-K", datetime.now(UTC))
    cluster.wait_for(cluster.marker.exists, "the first worker to take the job")
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(10)
    [job] = cluster.jobs.jobs()
    assert job.state == "running"
    cluster.start(threads=1)
    [done] = cluster.wait_for(lambda: cluster.jobs.jobs("done"), "another worker to finish the job")
    assert done.id == job.id and done.attempts == 2
    assert cluster.versions("INC-K") == [1]


def test_serve_takes_a_webhook_and_its_procrastinate_worker_drafts_it(cluster: Cluster) -> None:
    import hashlib
    import hmac
    import http.client
    import re

    server = cluster.start(threads=1, command=("serve", "--port", "0"))
    port = cluster.wait_for(lambda: re.search(r"listening on http://127\.0\.0\.1:(\d+)", cluster.log(server)), "serve")[
        1
    ]
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    body = json.dumps({"id": "ev-1", "type": "resolved", "incident": "INC-S", "at": at}).encode()
    signature = hmac.new(b"serve-secret", body, hashlib.sha256).hexdigest()
    for expected in (202, 200):  # stored and deferred; then a replay: nothing more
        connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        connection.request("POST", "/webhooks/demo", body=body, headers={"X-Demo-Signature": signature})
        assert connection.getresponse().status == expected
        connection.close()
    [job] = cluster.wait_for(lambda: cluster.jobs.jobs("done"), "the draft")
    assert job.lock_key == "draft:demo:INC-S" and job.attempts == 1
    assert cluster.versions("INC-S") == [1] and [b[0] for b in cluster.build_lines()] == ["INC-S"]
    assert cluster.stop(server) == 0
    assert "retroflow: stopped" in cluster.log(server)
