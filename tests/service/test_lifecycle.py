"""The incident lifecycle: resolve schedules a draft after the quiet period, reopen cancels
it, events apply in the order they occurred (issue 10 item 3). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from retroflow import IncidentEvent, Lifecycle
from retroflow.config import ServiceSettings
from retroflow.service.database import ServiceDatabase
from retroflow.service.jobs import TableJobs
from retroflow.service.lifecycle import Decision, apply_event
from retroflow.store import schema as t

SETTINGS = ServiceSettings(draft_delay=600)


def event(kind: str, minutes: float, incident: str = "P1", event_id: str | None = None, **more: Any) -> IncidentEvent:
    from datetime import UTC, datetime

    at = datetime(2026, 11, 7, 3, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return IncidentEvent(
        source="pagerduty",
        incident_id=incident,
        kind=Lifecycle(kind),
        occurred_at=at,
        event_id=event_id or f"{kind}-{minutes}-{incident}",
        **more,
    )


def apply(
    database: ServiceDatabase, jobs: TableJobs, e: IncidentEvent, settings: ServiceSettings = SETTINGS
) -> Decision:
    with database.transaction() as conn:
        return apply_event(conn, jobs, e, settings, e.occurred_at)


def queued(jobs: TableJobs) -> list[Any]:
    return jobs.jobs("queued")


def test_a_resolve_schedules_the_draft_after_the_quiet_period(database, jobs) -> None:
    resolve = event("resolved", 10, title="Checkout down")
    decision = apply(database, jobs, resolve)
    assert decision.outcome == "scheduled"
    [job] = queued(jobs)
    assert job.id == decision.job_id
    assert job.run_after == resolve.occurred_at + timedelta(minutes=10)
    assert job.kind == "draft" and job.lock_key == "draft:pagerduty:P1"
    assert job.payload["incident_id"] == "P1" and job.payload["resolved_at"] == "2026-11-07T03:10:00Z"


def test_a_reopen_before_the_draft_runs_cancels_it_and_the_next_resolve_schedules_again(database, jobs) -> None:
    first = apply(database, jobs, event("resolved", 10))
    reopened = apply(database, jobs, event("reopened", 12))
    assert reopened == Decision("cancelled", first.job_id)
    assert queued(jobs) == []
    assert jobs.jobs("cancelled")[0].result == "the incident was reopened at 2026-11-07T03:12:00Z"
    second = apply(database, jobs, event("resolved", 20))
    assert second.outcome == "scheduled" and second.job_id != first.job_id
    [job] = queued(jobs)
    assert job.payload["resolved_at"] == "2026-11-07T03:20:00Z"


def test_events_apply_in_the_order_they_occurred_not_arrived(database, jobs) -> None:
    # resolve (t30) arrives first, then the reopen (t20) and resolve (t10) that preceded it
    assert apply(database, jobs, event("resolved", 30)).outcome == "scheduled"
    assert apply(database, jobs, event("reopened", 20)).outcome == "stale"
    assert apply(database, jobs, event("resolved", 10)).outcome == "stale"
    [job] = queued(jobs)
    assert job.payload["resolved_at"] == "2026-11-07T03:30:00Z"


def test_a_late_resolve_older_than_a_reopen_leaves_the_incident_open(database, jobs) -> None:
    assert apply(database, jobs, event("reopened", 20)).outcome == "reopened"  # first seen reopened
    assert apply(database, jobs, event("resolved", 10)).outcome == "stale"
    assert queued(jobs) == []


def test_an_incident_first_seen_resolved_is_drafted(database, jobs) -> None:
    assert apply(database, jobs, event("resolved", 5)).outcome == "scheduled"
    assert len(queued(jobs)) == 1


def test_triggered_and_acknowledged_are_recorded_only(database, jobs) -> None:
    assert apply(database, jobs, event("triggered", 0)).outcome == "recorded"
    assert apply(database, jobs, event("acknowledged", 1)).outcome == "recorded"
    assert queued(jobs) == []
    assert apply(database, jobs, event("resolved", 5)).outcome == "scheduled"


def test_the_same_resolve_reported_twice_schedules_once(database, jobs) -> None:
    webhook = apply(database, jobs, event("resolved", 10, event_id="webhook-1"))
    polled = event("resolved", 10.5, event_id="P1:resolved:...")  # a poll's resolved_at, 30 s apart
    assert apply(database, jobs, polled) == Decision("same resolve", webhook.job_id)
    earlier = event("resolved", 9.5, event_id="P1:resolved:earlier")  # or 30 s before
    assert apply(database, jobs, earlier) == Decision("same resolve", webhook.job_id)
    assert len(queued(jobs)) == 1


def test_a_second_resolve_while_one_is_pending_moves_the_draft(database, jobs) -> None:
    first = apply(database, jobs, event("resolved", 10))
    second = apply(database, jobs, event("resolved", 30))  # the reopen in between was lost
    assert second == Decision("rescheduled", first.job_id)
    [job] = queued(jobs)
    assert job.run_after == event("resolved", 40).occurred_at
    assert job.payload["resolved_at"] == "2026-11-07T03:30:00Z"


def test_filters_keep_other_incidents_from_being_drafted(database, jobs) -> None:
    settings = ServiceSettings(services=["checkout", "PCHK"], urgencies=["high"], priorities=["P1", "P2"])
    wanted = {"service": "checkout", "urgency": "high", "priority": "P1"}
    assert apply(database, jobs, event("resolved", 1, "A", **wanted), settings).outcome == "scheduled"
    by_id = {**wanted, "service": "Checkout API", "service_id": "PCHK"}
    assert apply(database, jobs, event("resolved", 1, "B", **by_id), settings).outcome == "scheduled"
    for name, value in (("service", "search"), ("urgency", "low"), ("priority", "P4")):
        other = {**wanted, name: value}
        assert apply(database, jobs, event("resolved", 1, f"X-{name}", **other), settings).outcome == "filtered"
    assert {job.payload["incident_id"] for job in queued(jobs)} == {"A", "B"}


def test_lifecycle_rows_are_keyed_by_source_and_incident(database, jobs) -> None:
    apply(database, jobs, event("resolved", 1, "P1"))
    other = IncidentEvent(
        source="opsgenie", incident_id="P1", kind="resolved", occurred_at=event("resolved", 1).occurred_at, event_id="x"
    )
    assert apply(database, jobs, other).outcome == "scheduled"
    with database.reading() as conn:
        rows = conn.execute(sa.select(t.incident_lifecycles.c.source, t.incident_lifecycles.c.status)).all()
    assert sorted(rows) == [("opsgenie", "resolved"), ("pagerduty", "resolved")]
