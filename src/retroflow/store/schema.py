"""The tables of retroflow's store (SQLAlchemy Core). Alembic migrations build them.

Timestamps are aware UTC on the way in and out, on SQLite (which keeps no offset) as well as
on PostgreSQL (``timestamptz``). A retro version is immutable once written.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import SchemaItem

from retroflow.validation import MAX_LENGTH

__all__ = [
    "ExportState",
    "JobState",
    "UTCDateTime",
    "actions",
    "event_chunks",
    "events",
    "exports",
    "factors",
    "feed_checkpoints",
    "findings",
    "history_actions",
    "history_incidents",
    "human_input",
    "incident_lifecycles",
    "incidents",
    "jobs",
    "metadata",
    "retro_versions",
    "scores",
    "tracker_links",
    "version_chunks",
    "version_events",
    "webhook_deliveries",
    "with_postgresql_options",
]

#: Constraint names the same on every database, so migrations can refer to them.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back as an aware UTC datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive timestamp {value.isoformat()} cannot be stored (no UTC offset)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExportState:
    """States of an outbox row (see ``docs/persistence.md``)."""

    PENDING = "pending"  # intent written, no request sent yet
    IN_FLIGHT = "in_flight"  # claimed (lease committed) and maybe sent
    DONE = "done"  # ticket exists; its ref is in tracker_links (same transaction)
    NEEDS_RECONCILE = "needs_reconcile"  # ambiguous failure: search by key before re-creating
    FAILED = "failed"  # certain failure; retried on the next run

    ALL = (PENDING, IN_FLIGHT, DONE, NEEDS_RECONCILE, FAILED)


def _json() -> sa.JSON:
    return sa.JSON(none_as_null=True)


def _table(name: str, *items: SchemaItem) -> sa.Table:
    """A table of the store: in :data:`metadata`, which the migrations are checked against."""
    return sa.Table(name, metadata, *items)


def _numbered(name: str, *items: SchemaItem) -> sa.Table:
    """A table whose rows are numbered by ``id``, a number the database gives each new row."""
    return _table(name, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), *items)


def _keyed(name: str, *items: SchemaItem) -> sa.Table:
    """A table of records keyed by ``id``, the id each has where it comes from (an incident's
    in its source, an imported record's in the import)."""
    return _table(name, sa.Column("id", sa.String(200), primary_key=True), *items)


incidents = _keyed(
    "incidents",
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.String(100), nullable=False, server_default=""),
    sa.Column("services", _json(), nullable=False),
    sa.Column("severity", sa.String(50)),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("first_stored_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

retro_versions = _numbered(
    "retro_versions",
    sa.Column("incident_id", sa.String(200), sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("built_at", UTCDateTime(), nullable=False),
    sa.Column("request_ref", sa.String(500), nullable=False, server_default=""),
    sa.Column("scoring_model", sa.String(100), nullable=False, server_default=""),
    sa.Column("event_count", sa.Integer, nullable=False),
    # The JSON document of the retro without its timeline (events have their own table).
    sa.Column("document", _json(), nullable=False),
    # The human input that was applied to this version, as it was at build time.
    sa.Column("human_input", _json(), nullable=False),
    sa.UniqueConstraint("incident_id", "version", name="uq_retro_versions_incident_version"),
)

# Events are stored once per content: a timeline is cut into chunks where its events say
# so (see ``retroflow.store.store.timeline_chunks``), each chunk is stored once per incident
# under the digest of its events, and a version lists its chunks in order. Rebuilding an
# unchanged incident stores no event again; a changed one, only the chunks that changed.
event_chunks = _numbered(
    "event_chunks",
    sa.Column("incident_id", sa.String(200), sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),  # SHA-256 of the chunk's events, hex
    sa.Column("event_count", sa.Integer, nullable=False),
    sa.UniqueConstraint("incident_id", "digest", name="uq_event_chunks_incident_digest"),
)

version_chunks = _table(
    "version_chunks",
    sa.Column(
        "retro_version_id",
        sa.Integer,
        sa.ForeignKey("retro_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),  # the chunk's place in the timeline
    sa.Column("chunk_id", sa.Integer, sa.ForeignKey("event_chunks.id"), nullable=False),
    sa.Index("ix_version_chunks_chunk", "chunk_id"),
)

events = _numbered(
    "events",
    sa.Column("chunk_id", sa.Integer, sa.ForeignKey("event_chunks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # within the chunk
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("source", sa.String(MAX_LENGTH["source"]), nullable=False),
    sa.Column("native_id", sa.String(MAX_LENGTH["native_id"]), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("actor", sa.String(MAX_LENGTH["actor"])),
    sa.Column("service", sa.String(MAX_LENGTH["service"])),
    sa.Column("link", sa.Text),
    sa.Column("details", _json()),
    sa.Index("ix_events_chunk_position", "chunk_id", "position"),
)


def _version_part(name: str, *columns: SchemaItem) -> sa.Table:
    """A table of one part of a retro version (its factors, actions, …): rows numbered by
    ``id``, each of one version, found by it and deleted with it."""
    return _numbered(
        name,
        sa.Column(
            "retro_version_id", sa.Integer, sa.ForeignKey("retro_versions.id", ondelete="CASCADE"), nullable=False
        ),
        *columns,
        sa.Index(f"ix_{name}_version", "retro_version_id"),
    )


factors = _version_part(
    "factors",
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("layer", sa.String(20), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("evidence", _json(), nullable=False),
    sa.Column("strength", sa.Float, nullable=False),
    sa.Column("details", _json(), nullable=False),
)

actions = _version_part(
    "actions",
    sa.Column("incident_id", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("action_id", sa.String(100), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("category", sa.String(50)),
    sa.Column("owner", sa.String(200)),
    sa.Column("due", sa.Date),
    sa.Column("effort", sa.String(20)),
    sa.Column("proposed_by", sa.String(200), nullable=False),
    sa.Column("factor_keys", _json(), nullable=False),
    sa.Column("focus", sa.Boolean, nullable=False),
    sa.Index("ix_actions_incident_action", "incident_id", "action_id"),
)

scores = _version_part(
    "scores",
    sa.Column("action_id", sa.String(100), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("inputs", _json(), nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
)

findings = _version_part(
    "findings",
    sa.Column("target", sa.String(100), nullable=False),
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("suggestion", sa.Text, nullable=False),
    sa.Column("severity", sa.String(20), nullable=False),
)

human_input = _numbered(
    "human_input",
    # Not a foreign key: people may write input before the first retro is stored.
    sa.Column("incident_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # factor, event, action, new_action
    sa.Column("target", sa.String(200), nullable=False, server_default=""),
    sa.Column("payload", _json(), nullable=False),
    sa.Column("author", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_human_input_incident", "incident_id"),
)

exports = _numbered(
    "exports",
    sa.Column("incident_id", sa.String(200), nullable=False),
    sa.Column("action_id", sa.String(100), nullable=False),
    sa.Column("sink", sa.String(100), nullable=False),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("claim_token", sa.String(40)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("last_attempt_at", UTCDateTime()),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("incident_id", "action_id", "sink", name="uq_exports_incident_action_sink"),
    sa.Index("ix_exports_state", "state"),
)

tracker_links = _numbered(
    "tracker_links",
    sa.Column("export_id", sa.Integer, sa.ForeignKey("exports.id"), nullable=False, unique=True),
    sa.Column("incident_id", sa.String(200), nullable=False),
    sa.Column("action_id", sa.String(100), nullable=False),
    sa.Column("sink", sa.String(100), nullable=False),
    sa.Column("external_id", sa.String(200), nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("state", sa.String(20), nullable=False, server_default="open"),
    sa.Column("state_changed_at", UTCDateTime()),
    sa.Column("synced_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_tracker_links_incident_action", "incident_id", "action_id"),
)


def _imported() -> tuple[sa.Column[str], sa.Column[datetime]]:
    """A hash of an imported record as it was imported (re-importing an unchanged record
    leaves it alone), and when it was imported."""
    return sa.Column("digest", sa.String(32), nullable=False), sa.Column("imported_at", UTCDateTime(), nullable=False)


# The history import (``retroflow history import``): past incidents and done actions from
# other tools, for outcome metrics. Stored retros are read where they are.
history_incidents = _keyed(
    "history_incidents",
    sa.Column("services", _json(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("detected_at", UTCDateTime()),
    sa.Column("acknowledged_at", UTCDateTime()),
    sa.Column("alerts", sa.Integer),
    sa.Column("pages", sa.Integer),
    sa.Column("pages_out_of_hours", sa.Integer),
    sa.Column("auto_resolved", sa.Boolean),
    sa.Column("severity", sa.String(50)),
    sa.Column("details", _json(), nullable=False),
    *_imported(),
    sa.Index("ix_history_incidents_started", "started_at"),
)

history_actions = _keyed(
    "history_actions",
    sa.Column("incident_id", sa.String(200), nullable=False),
    sa.Column("service", sa.String(200)),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("metric", sa.String(100), nullable=False),
    sa.Column("done_at", UTCDateTime(), nullable=False),
    *_imported(),
)


def version_events() -> sa.Subquery:
    """Every event with the retro version that holds it, one row per version (an event
    of a chunk several versions share appears once for each): the columns ``events`` had
    before events were stored once per content, ``retro_version_id`` and ``position`` (in
    the version's timeline) among them. For queries over versions' events."""
    offset = (
        sa.func.coalesce(
            sa.func.sum(event_chunks.c.event_count).over(
                partition_by=version_chunks.c.retro_version_id,
                order_by=version_chunks.c.position,
                rows=(None, -1),
            ),
            0,
        )
    ).label("offset")
    placed = (
        sa.select(version_chunks.c.retro_version_id, version_chunks.c.chunk_id, offset)
        .join(event_chunks, event_chunks.c.id == version_chunks.c.chunk_id)
        .subquery()
    )
    e = events.c
    return (
        sa.select(
            placed.c.retro_version_id,
            (placed.c.offset + e.position).label("position"),
            e.at,
            e.source,
            e.native_id,
            e.kind,
            e.summary,
            e.actor,
            e.service,
            e.link,
            e.details,
        )
        .join(placed, placed.c.chunk_id == e.chunk_id)
        .subquery("version_events")
    )


# -- automation (issue 10): the webhook inbox, jobs, incident lifecycles, poll checkpoints ----


class JobState:
    """States of a job (see ``docs/automation.md``)."""

    QUEUED = "queued"  # waiting for run_after
    RUNNING = "running"  # claimed: leased to a worker until lease_until
    DONE = "done"
    FAILED = "failed"  # out of attempts: last_error says why
    CANCELLED = "cancelled"  # a reopen cancelled it, or a newer job of its incident replaced it

    ALL = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)


webhook_deliveries = _numbered(
    "webhook_deliveries",
    sa.Column("receiver", sa.String(100), nullable=False),  # the receiver, or "poll:<feed>"
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Column("webhook_id", sa.String(200)),  # X-Webhook-Id: the same on every retry
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("source", sa.String(100)),
    sa.Column("incident_id", sa.String(200)),
    sa.Column("occurred_at", UTCDateTime()),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("job_id", sa.Integer),
    sa.Column("body", sa.Text),  # the verified body, as received
    # The only index: each one more is pages to write and sync per delivery.
    sa.UniqueConstraint("receiver", "event_id", name="uq_webhook_deliveries_receiver_event"),
)

#: The rows the one-pending-job-per-key index covers (on SQLite and, see
#: :func:`with_postgresql_options`, PostgreSQL).
_QUEUED = "state = 'queued'"

jobs = _numbered(
    "jobs",
    sa.Column("kind", sa.String(50), nullable=False),
    # One pending job per key (a queueing lock), and one running job per key at a time.
    sa.Column("lock_key", sa.String(300), nullable=False),
    sa.Column("payload", _json(), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("run_after", UTCDateTime(), nullable=False),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("worker", sa.String(200)),
    sa.Column("claim_token", sa.String(40)),
    sa.Column("last_error", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Index("ix_jobs_state_run_after", "state", "run_after"),
    sa.Index("ix_jobs_lock_key", "lock_key"),
    sa.Index("uq_jobs_queued_lock_key", "lock_key", unique=True, sqlite_where=sa.text(_QUEUED)),
)


def with_postgresql_options() -> None:
    """Give the tables their PostgreSQL-only options (the queued jobs' partial index), once
    a PostgreSQL database is used: SQLAlchemy validates a ``postgresql_`` keyword by
    importing its PostgreSQL dialect, a tenth of the import of SQLAlchemy itself, which a
    build on SQLite would pay for nothing. The migrations create the same index."""
    queued = next(i for i in jobs.indexes if i.name == "uq_jobs_queued_lock_key")
    queued.dialect_options["postgresql"]["where"] = sa.text(_QUEUED)


incident_lifecycles = _table(
    "incident_lifecycles",
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("incident_id", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # open or resolved
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    # occurred_at of the last resolve or reopen applied: older ones arriving later are stale.
    sa.Column("changed_at", UTCDateTime()),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("pending_job_id", sa.Integer),
    # The resolve a version was stored for, in the transaction that stored it.
    sa.Column("drafted_resolved_at", UTCDateTime()),
    sa.Column("drafted_version", sa.Integer),
    # Plugins told of that draft (retroflow_retro_drafted), so a retry tells only the others.
    sa.Column("notified", _json()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

feed_checkpoints = _table(
    "feed_checkpoints",
    sa.Column("feed", sa.String(100), primary_key=True),
    sa.Column("checkpoint", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
