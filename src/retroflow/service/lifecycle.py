"""The incident lifecycle: when a retro is drafted.

One row per incident, keyed by ``(source, incident id)``; events are applied in the order
they *occurred*, not the order they arrive (a webhook retried for hours, or a poll, may
bring an old event late):

* ``resolved`` → the draft is scheduled ``[service] draft_delay`` after the resolve (the
  quiet period); a second resolve (after a reopen) moves it, so one draft is pending per
  incident.
* ``reopened`` before the draft runs → the draft is cancelled; the next resolve schedules
  it again. A draft stored before the reopen stays; the next resolve's draft is a new
  version of the same retro (human input applies to every version).
* an event older than the last resolve or reopen applied is stale: recorded, ignored.
* a resolve of an incident already resolved, within :data:`SAME_RESOLVE` of the resolve
  recorded, is that resolve again (a webhook and a poll both reporting it): ignored.
* other events (triggered, acknowledged, annotated, ...) are recorded only.

An incident first seen resolved (no earlier event ever arrived) is drafted like any other.
``[service] services``, ``urgencies`` and ``priorities`` keep a resolve from scheduling a
draft when they are set and the event matches none of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from retroflow.config import ServiceSettings
from retroflow.model import format_timestamp
from retroflow.service.events import IncidentEvent, Lifecycle
from retroflow.service.jobs import JobQueue, NewJob
from retroflow.service.sql import Driver, driver

__all__ = ["DRAFT", "SAME_RESOLVE", "Decision", "apply_event", "lock_key", "passes_filters"]

#: The job kind that drafts a retro (see :mod:`retroflow.service.draft`).
DRAFT = "draft"

#: Two reports of one resolve (a webhook's ``occurred_at``, a poll's ``resolved_at``) may
#: differ by this much.
SAME_RESOLVE = timedelta(seconds=60)

OPEN = "open"
RESOLVED = "resolved"


@attrs.frozen
class Decision:
    """What an event did: ``outcome`` is ``scheduled``, ``rescheduled``, ``cancelled``,
    ``reopened`` (nothing pending to cancel), ``same resolve``, ``stale``, ``filtered`` or
    ``recorded``; ``job_id`` the draft job it scheduled or cancelled."""

    outcome: str
    job_id: int | None = None


def lock_key(source: str, incident_id: str) -> str:
    return f"{DRAFT}:{source}:{incident_id}"


def passes_filters(event: IncidentEvent, settings: ServiceSettings) -> bool:
    """Whether ``[service] services`` / ``urgencies`` / ``priorities`` let this incident be
    drafted (a filter that is empty lets everything through; services match by name or id)."""
    if settings.services and not {event.service, event.service_id} & set(settings.services):
        return False
    if settings.urgencies and event.urgency not in settings.urgencies:
        return False
    return not (settings.priorities and event.priority not in settings.priorities)


@attrs.frozen
class _State:
    """An incident's lifecycle row (its columns in order), as the rules read it and as an
    incident's first event writes it."""

    status: str
    changed_at: datetime | None
    resolved_at: datetime | None
    pending_job_id: int | None


def apply_event(
    conn: sa.Connection, jobs: JobQueue, event: IncidentEvent, settings: ServiceSettings, now: datetime
) -> Decision:
    """Apply ``event`` to its incident's lifecycle in the caller's transaction ``conn``,
    scheduling or cancelling the draft job through ``jobs``."""
    sql = driver(conn)
    row = _lifecycle(sql, event)
    if event.kind not in (Lifecycle.RESOLVED, Lifecycle.REOPENED):
        if row is None:
            _insert(sql, event, _State(OPEN, None, None, None), now)
        return Decision("recorded")
    if (
        event.kind is Lifecycle.RESOLVED
        and row is not None
        and row.status == RESOLVED
        and row.resolved_at is not None
        and abs(event.occurred_at - row.resolved_at) <= SAME_RESOLVE
    ):
        return Decision("same resolve", row.pending_job_id)
    if row is not None and row.changed_at is not None and event.occurred_at < row.changed_at:
        return Decision("stale")
    if event.kind is Lifecycle.REOPENED:
        return _reopen(conn, sql, jobs, event, row, now)
    if not passes_filters(event, settings):
        return Decision("filtered")
    return _resolve(conn, sql, jobs, event, row, settings, now)


def _lifecycle(sql: Driver, event: IncidentEvent) -> _State | None:
    # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL locks the row.
    lock = " FOR UPDATE" if sql.postgres else ""
    row = sql.one(
        "SELECT status, changed_at, resolved_at, pending_job_id FROM incident_lifecycles "
        "WHERE source = ? AND incident_id = ?" + lock,
        (event.source, event.incident_id),
    )
    if row is None:
        return None
    return _State(row[0], sql.read_time(row[1]), sql.read_time(row[2]), row[3])


def _insert(sql: Driver, event: IncidentEvent, state: _State, now: datetime) -> None:
    """The lifecycle row of an incident first seen in ``event``, in ``state``."""
    sql.run(
        "INSERT INTO incident_lifecycles (source, incident_id, status, title, changed_at, resolved_at, "
        "pending_job_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.source,
            event.incident_id,
            state.status,
            event.title,
            sql.time(state.changed_at),
            sql.time(state.resolved_at),
            state.pending_job_id,
            sql.time(now),
        ),
    )


def _reopen(
    conn: sa.Connection, sql: Driver, jobs: JobQueue, event: IncidentEvent, row: _State | None, now: datetime
) -> Decision:
    if row is None:
        _insert(sql, event, _State(OPEN, event.occurred_at, None, None), now)
        return Decision("reopened")
    sql.run(
        "UPDATE incident_lifecycles SET status = ?, changed_at = ?, pending_job_id = NULL, updated_at = ? "
        "WHERE source = ? AND incident_id = ?",
        (OPEN, sql.time(event.occurred_at), sql.time(now), event.source, event.incident_id),
    )
    reason = f"the incident was reopened at {format_timestamp(event.occurred_at)}"
    cancelled = jobs.cancel(conn, lock_key(event.source, event.incident_id), reason)
    return Decision("cancelled", cancelled) if cancelled is not None else Decision("reopened")


def _resolve(
    conn: sa.Connection,
    sql: Driver,
    jobs: JobQueue,
    event: IncidentEvent,
    row: _State | None,
    settings: ServiceSettings,
    now: datetime,
) -> Decision:
    job = NewJob(
        kind=DRAFT,
        lock_key=lock_key(event.source, event.incident_id),
        payload=draft_payload(event),
        run_after=event.occurred_at + timedelta(seconds=settings.draft_delay),
        max_attempts=settings.max_attempts,
    )
    job_id = jobs.schedule(conn, job)
    if row is None:
        _insert(sql, event, _State(RESOLVED, event.occurred_at, event.occurred_at, job_id), now)
        return Decision("scheduled", job_id)
    at = sql.time(event.occurred_at)
    sql.run(
        "UPDATE incident_lifecycles SET status = ?, changed_at = ?, resolved_at = ?, pending_job_id = ?, "
        "title = CASE WHEN ? = '' THEN title ELSE ? END, updated_at = ? WHERE source = ? AND incident_id = ?",
        (RESOLVED, at, at, job_id, event.title, event.title, sql.time(now), event.source, event.incident_id),
    )
    return Decision("rescheduled" if row.pending_job_id == job_id else "scheduled", job_id)


def draft_payload(event: IncidentEvent) -> dict[str, Any]:
    """What the draft job needs to know of the resolve (JSON)."""
    return {
        "source": event.source,
        "incident_id": event.incident_id,
        "resolved_at": format_timestamp(event.occurred_at),
        "event_id": event.event_id,
        "title": event.title,
        "url": event.url,
    }
