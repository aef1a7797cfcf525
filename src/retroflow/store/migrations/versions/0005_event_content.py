"""Events stored once per content: a version's timeline is a list of chunks, each stored
once per incident under the digest of its events (see ``retroflow.store.events``).

The events already stored are cut into chunks as a build cuts them; a chunk an earlier
version of the same incident holds already is not kept twice (so a database where an
unchanged incident was rebuilt shrinks; SQLite reuses the freed pages). Every version
loads the same timeline as before. The downgrade gives each version its own copy again.

Revision ID: 0005_event_content
Revises: 0004_automation (written beside 0003 and 0004 on another branch; it comes after
them, so that a database already at 0004_automation gets it too)
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from retroflow.store.events import events_of_rows, timeline_chunks

# revision identifiers, used by Alembic.
revision: str = "0005_event_content"
down_revision: str | Sequence[str] | None = "0004_automation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "at, source, native_id, kind, summary, actor, service, link, details"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "event_chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_event_chunks_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_chunks")),
        sa.UniqueConstraint("incident_id", "digest", name="uq_event_chunks_incident_digest"),
    )
    op.create_table(
        "version_chunks",
        sa.Column("retro_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("chunk_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chunk_id"], ["event_chunks.id"], name=op.f("fk_version_chunks_chunk_id_event_chunks")
        ),
        sa.ForeignKeyConstraint(
            ["retro_version_id"],
            ["retro_versions.id"],
            name=op.f("fk_version_chunks_retro_version_id_retro_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("retro_version_id", "position", name=op.f("pk_version_chunks")),
    )
    op.create_index("ix_version_chunks_chunk", "version_chunks", ["chunk_id"])
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("chunk_id", sa.Integer(), nullable=True))
    _chunk_stored_events(op.get_bind())
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_version_position")
        batch.drop_constraint("fk_events_retro_version_id_retro_versions", type_="foreignkey")
        batch.drop_column("retro_version_id")
        batch.alter_column("chunk_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_events_chunk_id_event_chunks", "event_chunks", ["chunk_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_events_chunk_position", ["chunk_id", "position"])


def _chunk_stored_events(conn: sa.Connection) -> None:
    """Cut each version's stored timeline into chunks, oldest version first: the rows of a
    new chunk are moved into it (renumbered within it), those of a chunk the incident
    holds already are deleted."""
    versions = conn.execute(sa.text("SELECT id, incident_id FROM retro_versions ORDER BY id")).all()
    known: dict[tuple[str, str], int] = {}
    for version_id, incident_id in versions:
        rows = conn.execute(
            sa.text(
                "SELECT id, position, at, source, kind, summary, native_id, actor, service, link, "
                "CAST(details AS TEXT) FROM events WHERE retro_version_id = :v ORDER BY position"
            ),
            {"v": version_id},
        ).all()
        if not rows:
            continue
        ids = [row[0] for row in rows]
        contiguous = [row[1] for row in rows] == list(range(len(rows)))
        events = events_of_rows([row[2:] for row in rows], sqlite=conn.dialect.name == "sqlite")
        start = 0
        for position, (digest, chunk) in enumerate(timeline_chunks(events)):
            chunk_ids = ids[start : start + len(chunk)]
            chunk_id = known.get((incident_id, digest))
            if chunk_id is None:
                chunk_id = _new_chunk(conn, incident_id, digest, len(chunk))
                known[(incident_id, digest)] = chunk_id
                _move_rows(conn, chunk_id, version_id, start, chunk_ids, contiguous)
            else:
                _delete_rows(conn, version_id, start, chunk_ids, contiguous)
            conn.execute(
                sa.text("INSERT INTO version_chunks (retro_version_id, position, chunk_id) VALUES (:v, :p, :c)"),
                {"v": version_id, "p": position, "c": chunk_id},
            )
            start += len(chunk)


def _new_chunk(conn: sa.Connection, incident_id: str, digest: str, count: int) -> int:
    chunk_id: int = conn.execute(
        sa.text("INSERT INTO event_chunks (incident_id, digest, event_count) VALUES (:i, :d, :n) RETURNING id"),
        {"i": incident_id, "d": digest, "n": count},
    ).scalar_one()
    return chunk_id


def _move_rows(
    conn: sa.Connection, chunk_id: int, version_id: int, start: int, ids: list[int], contiguous: bool
) -> None:
    """Rows ``start`` to ``start + len(ids) - 1`` of the version into the chunk: one range
    update when positions run 0, 1, 2, … (as every build wrote them), else row by row."""
    if contiguous:
        conn.execute(
            sa.text(
                "UPDATE events SET chunk_id = :c, position = position - :s "
                "WHERE retro_version_id = :v AND chunk_id IS NULL AND position BETWEEN :s AND :e"
            ),
            {"c": chunk_id, "s": start, "v": version_id, "e": start + len(ids) - 1},
        )
        return
    conn.execute(
        sa.text("UPDATE events SET chunk_id = :c, position = :p WHERE id = :i"),
        [{"c": chunk_id, "p": i, "i": row_id} for i, row_id in enumerate(ids)],
    )


def _delete_rows(conn: sa.Connection, version_id: int, start: int, ids: list[int], contiguous: bool) -> None:
    if contiguous:
        conn.execute(
            sa.text(
                "DELETE FROM events WHERE retro_version_id = :v AND chunk_id IS NULL AND position BETWEEN :s AND :e"
            ),
            {"v": version_id, "s": start, "e": start + len(ids) - 1},
        )
        return
    conn.execute(sa.text("DELETE FROM events WHERE id = :i"), [{"i": row_id} for row_id in ids])


def downgrade() -> None:
    """Downgrade schema: a copy of its chunks' events for every version."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("retro_version_id", sa.Integer(), nullable=True))
    conn: Any = op.get_bind()
    conn.execute(
        sa.text(
            f"INSERT INTO events (retro_version_id, chunk_id, position, {_COLUMNS}) "
            f"SELECT p.retro_version_id, e.chunk_id, p.preceding + e.position, {', '.join('e.' + c for c in _COLUMNS.split(', '))} "
            "FROM events AS e JOIN ("
            "  SELECT v.retro_version_id, v.chunk_id, COALESCE(SUM(c.event_count) OVER ("
            "    PARTITION BY v.retro_version_id ORDER BY v.position"
            "    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS preceding"
            "  FROM version_chunks AS v JOIN event_chunks AS c ON c.id = v.chunk_id"
            ") AS p ON p.chunk_id = e.chunk_id "
            "WHERE e.retro_version_id IS NULL"
        )
    )
    conn.execute(sa.text("DELETE FROM events WHERE retro_version_id IS NULL"))
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_chunk_position")
        batch.drop_constraint("fk_events_chunk_id_event_chunks", type_="foreignkey")
        batch.drop_column("chunk_id")
        batch.alter_column("retro_version_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_events_retro_version_id_retro_versions",
            "retro_versions",
            ["retro_version_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_events_version_position", ["retro_version_id", "position"])
    op.drop_index("ix_version_chunks_chunk", table_name="version_chunks")
    op.drop_table("version_chunks")
    op.drop_table("event_chunks")
