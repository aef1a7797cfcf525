"""``retroflow jobs [--state S] [--json]`` and ``retroflow jobs retry ID``: what each
failure looks like, and putting a failed job back (issue 10 item 4)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from retroflow.cli import cli
from retroflow.config import Config
from retroflow.service.database import open_service_database
from retroflow.service.jobs import NewJob, TableJobs


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def jobs() -> Any:
    database = open_service_database(Config.empty())  # $RETROFLOW_DATABASE, set by tests/conftest.py
    assert database.url == os.environ["RETROFLOW_DATABASE"]
    yield TableJobs(database)
    database.close()


def schedule(jobs: TableJobs, key: str, attempts: int = 2) -> int:
    now = datetime.now(UTC) - timedelta(seconds=1)
    with jobs.database.transaction() as conn:
        payload = {"source": "pagerduty", "incident_id": key}
        return jobs.schedule(conn, NewJob("draft", f"draft:pagerduty:{key}", payload, now, attempts))


def test_no_jobs() -> None:
    result = run("jobs")
    assert result.exit_code == 0 and result.stdout == "no jobs\n"


def test_jobs_list_each_state_with_its_error_or_result(jobs: TableJobs) -> None:
    failed = schedule(jobs, "PFAIL", attempts=1)
    claim = jobs.claim("host:1", ["draft"], 60)
    jobs.retry_later(claim, "SourceError: PagerDuty API unreachable: incident PFAIL failed 4 time(s)", 30)
    schedule(jobs, "PDONE")
    done = jobs.claim("host:1", ["draft"], 60)
    jobs.finish(done, "PDONE: stored version 1; exported to jira: 3 created")
    schedule(jobs, "PRUN")
    jobs.claim("host:2", ["draft"], 60)
    result = run("jobs")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{failed + 2}\trunning\tdraft pagerduty:PRUN\tattempt 1/2\ton host:2, lease until ")
    assert "\tdone\tdraft pagerduty:PDONE\tattempt 1/2" in lines[1]
    assert lines[2] == "\tPDONE: stored version 1; exported to jira: 3 created"
    assert lines[3].startswith(f"{failed}\tfailed\tdraft pagerduty:PFAIL\tattempt 1/1\t")
    assert lines[4] == "\tSourceError: PagerDuty API unreachable: incident PFAIL failed 4 time(s)"
    only = run("jobs", "--state", "failed", "--json")
    [job] = json.loads(only.stdout)
    assert (job["id"], job["state"], job["attempts"], job["key"]) == (failed, "failed", 1, "draft:pagerduty:PFAIL")
    assert job["last_error"].startswith("SourceError") and job["payload"]["incident_id"] == "PFAIL"
    # Its keys, in the order they are written (the lock key is ``key``).
    written = (
        "id kind key state attempts max_attempts run_after lease_until worker last_error result payload "
        "created_at updated_at finished_at"
    )
    assert list(job) == written.split()
    assert job["created_at"].endswith("Z") and job["lease_until"] is None


def test_retry_puts_a_failed_job_back_now(jobs: TableJobs) -> None:
    failed = schedule(jobs, "PFAIL", attempts=1)
    jobs.retry_later(jobs.claim("w", ["draft"], 60), "boom", 30)
    result = run("jobs", "retry", str(failed))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{failed}\tqueued\tdraft pagerduty:PFAIL\tattempt 0/1\truns after ")
    assert jobs.claim("w", ["draft"], 60) is not None


def test_retry_refuses_a_job_that_is_not_failed(jobs: TableJobs) -> None:
    queued = schedule(jobs, "P1")
    result = run("jobs", "retry", str(queued))
    assert result.exit_code == 1
    assert result.stderr == f"Error: job {queued} is queued: only failed or cancelled jobs are retried\n"
    assert run("jobs", "retry", "404").stderr == "Error: no job 404 (see: retroflow jobs)\n"
