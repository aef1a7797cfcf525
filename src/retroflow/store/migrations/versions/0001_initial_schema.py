"""Initial schema: incidents, retro versions and their rows, human input, the export outbox
and tracker links.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=200), nullable=False),
        sa.Column("action_id", sa.String(length=100), nullable=False),
        sa.Column("sink", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claim_token", sa.String(length=40), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
        sa.UniqueConstraint("incident_id", "action_id", "sink", name="uq_exports_incident_action_sink"),
        sa.UniqueConstraint("key", name=op.f("uq_exports_key")),
    )
    op.create_index("ix_exports_state", "exports", ["state"])

    op.create_table(
        "human_input",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), server_default="", nullable=False),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("author", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_human_input")),
    )
    op.create_index("ix_human_input_incident", "human_input", ["incident_id"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.String(length=100), server_default="", nullable=False),
        sa.Column("services", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("severity", sa.String(length=50), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_table(
        "retro_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_ref", sa.String(length=500), server_default="", nullable=False),
        sa.Column("scoring_model", sa.String(length=100), server_default="", nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("human_input", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_retro_versions_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retro_versions")),
        sa.UniqueConstraint("incident_id", "version", name="uq_retro_versions_incident_version"),
    )
    op.create_table(
        "tracker_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=200), nullable=False),
        sa.Column("action_id", sa.String(length=100), nullable=False),
        sa.Column("sink", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["export_id"], ["exports.id"], name=op.f("fk_tracker_links_export_id_exports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_links")),
        sa.UniqueConstraint("export_id", name=op.f("uq_tracker_links_export_id")),
    )
    op.create_index("ix_tracker_links_incident_action", "tracker_links", ["incident_id", "action_id"])

    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("retro_version_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("effort", sa.String(length=20), nullable=True),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("factor_keys", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("focus", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["retro_version_id"],
            ["retro_versions.id"],
            name=op.f("fk_actions_retro_version_id_retro_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
    )
    op.create_index("ix_actions_incident_action", "actions", ["incident_id", "action_id"])
    op.create_index("ix_actions_version", "actions", ["retro_version_id"])

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("retro_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("native_id", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("service", sa.String(length=200), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["retro_version_id"],
            ["retro_versions.id"],
            name=op.f("fk_events_retro_version_id_retro_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_version_position", "events", ["retro_version_id", "position"])

    op.create_table(
        "factors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("retro_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("layer", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["retro_version_id"],
            ["retro_versions.id"],
            name=op.f("fk_factors_retro_version_id_retro_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factors")),
    )
    op.create_index("ix_factors_version", "factors", ["retro_version_id"])

    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("retro_version_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["retro_version_id"],
            ["retro_versions.id"],
            name=op.f("fk_findings_retro_version_id_retro_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    op.create_index("ix_findings_version", "findings", ["retro_version_id"])

    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("retro_version_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("inputs", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["retro_version_id"],
            ["retro_versions.id"],
            name=op.f("fk_scores_retro_version_id_retro_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
    )
    op.create_index("ix_scores_version", "scores", ["retro_version_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_scores_version", table_name="scores")

    op.drop_table("scores")
    op.drop_index("ix_findings_version", table_name="findings")

    op.drop_table("findings")
    op.drop_index("ix_factors_version", table_name="factors")

    op.drop_table("factors")
    op.drop_index("ix_events_version_position", table_name="events")

    op.drop_table("events")
    op.drop_index("ix_actions_version", table_name="actions")
    op.drop_index("ix_actions_incident_action", table_name="actions")

    op.drop_table("actions")
    op.drop_index("ix_tracker_links_incident_action", table_name="tracker_links")

    op.drop_table("tracker_links")
    op.drop_table("retro_versions")
    op.drop_table("incidents")
    op.drop_index("ix_human_input_incident", table_name="human_input")

    op.drop_table("human_input")
    op.drop_index("ix_exports_state", table_name="exports")

    op.drop_table("exports")
