"""Automation: the webhook inbox, the job table, incident lifecycles, poll checkpoints.

Revision ID: 0004_automation
Revises: 0003_outcome_history
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004_automation"
down_revision: str | Sequence[str] | None = "0003_outcome_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = sa.text("state = 'queued'")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("receiver", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("webhook_id", sa.String(length=200), nullable=True),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("incident_id", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("receiver", "event_id", name="uq_webhook_deliveries_receiver_event"),
    )
    # No other index: every index is pages more to write (and sync) per delivery, and the
    # intake looks deliveries up by (receiver, event id) only.
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("lock_key", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("claim_token", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_state_run_after", "jobs", ["state", "run_after"], unique=False)
    op.create_index("ix_jobs_lock_key", "jobs", ["lock_key"], unique=False)
    # The queueing lock: at most one queued job per key (a partial unique index).
    op.create_index(
        "uq_jobs_queued_lock_key", "jobs", ["lock_key"], unique=True, sqlite_where=QUEUED, postgresql_where=QUEUED
    )
    op.create_table(
        "incident_lifecycles",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_job_id", sa.Integer(), nullable=True),
        sa.Column("drafted_resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drafted_version", sa.Integer(), nullable=True),
        sa.Column("notified", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "incident_id", name=op.f("pk_incident_lifecycles")),
    )
    op.create_table(
        "feed_checkpoints",
        sa.Column("feed", sa.String(length=100), nullable=False),
        sa.Column("checkpoint", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_feed_checkpoints")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("feed_checkpoints")
    op.drop_table("incident_lifecycles")
    op.drop_index("uq_jobs_queued_lock_key", table_name="jobs")
    op.drop_index("ix_jobs_lock_key", table_name="jobs")
    op.drop_index("ix_jobs_state_run_after", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("webhook_deliveries")
