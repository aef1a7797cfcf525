"""``retroflow watch``: the polling fallback for setups that cannot receive webhooks.

Every ``[service] poll_interval`` each configured incident feed
(``retroflow_register_incident_feeds``) is asked for the incidents resolved since its
checkpoint; each resolve is recorded like a webhook delivery (:func:`record_delivery`,
receiver ``poll:<feed>``) and so schedules the same draft job. The checkpoint moves in the
same transaction, to :data:`OVERLAP` before the poll's end: a resolve the system lists
late is still seen, and one seen twice is a duplicate in the inbox. A resolve a webhook
reported too is the same resolve to the lifecycle (within a minute): drafted once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite

from retroflow.clock import utcnow
from retroflow.config import Config
from retroflow.engine import describe_error
from retroflow.plugins import Plugins
from retroflow.roles import IncidentFeed
from retroflow.service.database import ServiceDatabase
from retroflow.service.events import WebhookDelivery
from retroflow.service.inbox import Received, record_delivery
from retroflow.service.jobs import JobQueue
from retroflow.store import schema as t

__all__ = ["OVERLAP", "PollResult", "poll_once", "watch"]

log = structlog.get_logger(__name__)

#: How far back of the last poll's end the next poll starts.
OVERLAP = timedelta(minutes=10)


@attrs.frozen
class PollResult:
    """One feed's poll: the window asked for, what was recorded (outcome counts), or the
    error that left its checkpoint where it was."""

    feed: str
    since: datetime
    until: datetime
    outcomes: dict[str, int] = attrs.field(factory=dict)
    error: str | None = None


def checkpoint(database: ServiceDatabase, feed: str) -> datetime | None:
    with database.reading() as conn:
        return conn.execute(
            sa.select(t.feed_checkpoints.c.checkpoint).where(t.feed_checkpoints.c.feed == feed)
        ).scalar_one_or_none()


def _move_checkpoint(conn: sa.Connection, feed: str, to: datetime, now: datetime) -> None:
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(t.feed_checkpoints)
    conn.execute(
        insert.values(feed=feed, checkpoint=to, updated_at=now).on_conflict_do_update(
            index_elements=["feed"], set_={"checkpoint": to, "updated_at": now}
        )
    )


def poll_feed(
    name: str, feed: IncidentFeed, config: Config, database: ServiceDatabase, jobs: JobQueue, now: datetime
) -> PollResult:
    """Poll one feed from its checkpoint (the first time: ``[service] poll_lookback`` ago)."""
    since = checkpoint(database, name) or now - timedelta(seconds=config.service.poll_lookback)
    try:
        events = list(feed.resolved_between(since, now, config))
    except Exception as exc:  # the system is away: the checkpoint stays, the next poll retries
        log.warning("poll failed", feed=name, error=describe_error(exc))
        return PollResult(name, since, now, error=describe_error(exc))
    outcomes: dict[str, int] = {}
    with database.transaction() as conn:
        for event in events:
            delivery = WebhookDelivery(event.event_id, event.event_type or "poll", event)
            result = record_delivery(conn, jobs, Received(f"poll:{name}", delivery), config.service, now)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        _move_checkpoint(conn, name, max(since, now - OVERLAP), now)
    log.info("polled", feed=name, since=str(since), until=str(now), outcomes=outcomes)
    return PollResult(name, since, now, outcomes)


def poll_once(
    config: Config, plugins: Plugins, database: ServiceDatabase, jobs: JobQueue, *, now: datetime | None = None
) -> list[PollResult]:
    """Poll every configured feed once."""
    now = now or utcnow()
    results = []
    for name in plugins.incident_feeds.names():
        feed: IncidentFeed = plugins.incident_feeds.get(name)
        if feed.configured(config):
            results.append(poll_feed(name, feed, config, database, jobs, now))
    return results


def watch(
    config: Config,
    plugins: Plugins,
    database: ServiceDatabase,
    jobs: JobQueue,
    stop: threading.Event,
    *,
    on_poll: Callable[[list[PollResult]], None],
) -> None:
    """Poll every ``[service] poll_interval`` until ``stop`` is set."""
    while True:
        on_poll(poll_once(config, plugins, database, jobs))
        if stop.wait(config.service.poll_interval):
            return
