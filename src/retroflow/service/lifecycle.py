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
from retroflow.service.jobs import JobBackend, NewJob
from retroflow.store import schema as t

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


def apply_event(
    conn: sa.Connection, jobs: JobBackend, event: IncidentEvent, settings: ServiceSettings, now: datetime
) -> Decision:
    """Apply ``event`` to its incident's lifecycle in the caller's transaction ``conn``,
    scheduling or cancelling the draft job through ``jobs``."""
    row = _lifecycle(conn, event)
    if event.kind not in (Lifecycle.RESOLVED, Lifecycle.REOPENED):
        if row is None:
            _insert(conn, event, now, status=OPEN, changed_at=None)
        return Decision("recorded")
    same_resolve = (
        event.kind is Lifecycle.RESOLVED
        and row is not None
        and row.status == RESOLVED
        and abs(event.occurred_at - row.resolved_at) <= SAME_RESOLVE
    )
    if same_resolve:
        return Decision("same resolve", row.pending_job_id)
    if row is not None and row.changed_at is not None and event.occurred_at < row.changed_at:
        return Decision("stale")
    if event.kind is Lifecycle.REOPENED:
        return _reopen(conn, jobs, event, row, now)
    if not passes_filters(event, settings):
        return Decision("filtered")
    return _resolve(conn, jobs, event, row, settings, now)


def _lifecycle(conn: sa.Connection, event: IncidentEvent) -> Any:
    c = t.incident_lifecycles.c
    query = sa.select(t.incident_lifecycles).where(c.source == event.source, c.incident_id == event.incident_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # SQLite's BEGIN IMMEDIATE already serialises writers
    return conn.execute(query).first()


def _insert(conn: sa.Connection, event: IncidentEvent, now: datetime, **values: Any) -> None:
    conn.execute(
        sa.insert(t.incident_lifecycles).values(
            **{"title": event.title, **values}, source=event.source, incident_id=event.incident_id, updated_at=now
        )
    )


def _update(conn: sa.Connection, event: IncidentEvent, now: datetime, **values: Any) -> None:
    c = t.incident_lifecycles.c
    conn.execute(
        sa.update(t.incident_lifecycles)
        .where(c.source == event.source, c.incident_id == event.incident_id)
        .values(updated_at=now, **values)
    )


def _reopen(conn: sa.Connection, jobs: JobBackend, event: IncidentEvent, row: Any, now: datetime) -> Decision:
    values: dict[str, Any] = {"status": OPEN, "changed_at": event.occurred_at, "pending_job_id": None}
    if row is None:
        _insert(conn, event, now, **values)
        return Decision("reopened")
    _update(conn, event, now, **values)
    reason = f"the incident was reopened at {format_timestamp(event.occurred_at)}"
    cancelled = jobs.cancel(conn, lock_key(event.source, event.incident_id), reason)
    return Decision("cancelled", cancelled) if cancelled is not None else Decision("reopened")


def _resolve(
    conn: sa.Connection, jobs: JobBackend, event: IncidentEvent, row: Any, settings: ServiceSettings, now: datetime
) -> Decision:
    job = NewJob(
        kind=DRAFT,
        lock_key=lock_key(event.source, event.incident_id),
        payload=draft_payload(event),
        run_after=event.occurred_at + timedelta(seconds=settings.draft_delay),
        max_attempts=settings.max_attempts,
    )
    job_id = jobs.schedule(conn, job)
    values: dict[str, Any] = {
        "status": RESOLVED,
        "changed_at": event.occurred_at,
        "resolved_at": event.occurred_at,
        "pending_job_id": job_id,
    }
    if event.title:
        values["title"] = event.title
    if row is None:
        _insert(conn, event, now, **values)
        return Decision("scheduled", job_id)
    _update(conn, event, now, **values)
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
