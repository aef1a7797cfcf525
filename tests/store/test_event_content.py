"""Events are stored once per content: a rebuild of an unchanged incident stores no event
again, a changed timeline stores the chunks around the change, every version loads its own
timeline, and the 0002 migration moves events already stored into chunks (and back)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import sqlalchemy as sa
from alembic import command

from retroflow.model import Event, Retro, Timeline
from retroflow.serialize import to_document
from retroflow.store import Store
from retroflow.store import schema as t
from retroflow.store.database import _alembic_config, make_engine, migrate
from retroflow.store.events import _MAX_CHUNK, _MIN_CHUNK, timeline_chunks
from retroflow.testing import make_event


def many_events(n: int, *, changed: int | None = None) -> list[Event]:
    """``n`` events a second apart, with varied details; event ``changed`` says otherwise."""
    return [
        make_event(
            "signal",
            i / 60,
            summary=f"ERROR checkout: timed out after {1000 + i % 97} ms" + (" (changed)" if i == changed else ""),
            native_id=f"log-{i}",
            service="checkout",
            details={"trace_id": f"{i * 7919:016x}", "attempt": i % 3, "tags": ["a", i % 5]},
        )
        for i in range(n)
    ]


def with_events(retro: Retro, events: Sequence[Event]) -> Retro:
    return attrs.evolve(retro, timeline=Timeline.from_events(list(events), retro.incident))


def count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_rebuilding_an_unchanged_incident_stores_no_event_again(store: Store, retro: Retro) -> None:
    big = with_events(retro, many_events(5_000))
    store.save_retro(big, "INC-1")
    rows, chunks = count(store, t.events), count(store, t.event_chunks)
    assert rows == 5_000 and chunks > 1
    assert store.save_retro(big, "INC-1") == 2
    assert (count(store, t.events), count(store, t.event_chunks)) == (rows, chunks)
    assert count(store, t.version_chunks) == 2 * chunks
    for version in (1, 2):
        assert store.retro("INC-1", version).timeline.events == big.timeline.events


def test_a_changed_timeline_stores_only_the_chunks_around_the_change(store: Store, retro: Retro) -> None:
    before = many_events(20_000)
    after = many_events(20_000, changed=12_345)
    after.insert(3_000, make_event("message", 50.5, summary="a note added later", native_id="note-1"))
    store.save_retro(with_events(retro, before), "INC-1")
    store.save_retro(with_events(retro, after), "INC-1")
    added = count(store, t.events) - 20_000
    assert 0 < added <= 4 * _MAX_CHUNK and added < 20_000 // 2
    assert store.retro("INC-1", 1).timeline.events == Timeline.from_events(before).events
    assert store.retro("INC-1", 2).timeline.events == Timeline.from_events(after).events


def test_chunks_are_cut_where_the_events_say_so() -> None:
    events = Timeline.from_events(many_events(30_000)).events
    chunks = timeline_chunks(events)
    assert [e for _digest, chunk in chunks for e in chunk] == list(events)
    assert all(_MIN_CHUNK <= len(chunk) <= _MAX_CHUNK for _digest, chunk in chunks[:-1])
    assert timeline_chunks(events) == chunks  # the same events, the same digests
    changed = [*events[:10_000], make_event("message", 999, native_id="inserted"), *events[10_000:]]
    digests = [digest for digest, _ in chunks]
    new = [digest for digest, _ in timeline_chunks(changed) if digest not in digests]
    assert 1 <= len(new) <= 2


def test_every_version_lists_its_events_for_queries_over_versions(store: Store, retro: Retro) -> None:
    store.save_retro(with_events(retro, many_events(3_000)), "INC-1")
    store.save_retro(retro, "INC-1")
    expected = [(1, i, f"log-{i}") for i in range(3_000)] + [
        (2, i, e.native_id) for i, e in enumerate(retro.timeline.events)
    ]
    rows = t.version_events()
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.select(rows.c.retro_version_id, rows.c.position, rows.c.native_id).order_by(
                rows.c.retro_version_id, rows.c.position
            )
        ).all()
    assert [tuple(row) for row in found] == expected


# -- the migration --------------------------------------------------------------------------

_OLD_EVENTS = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("retro_version_id", sa.Integer),
    sa.Column("position", sa.Integer),
    sa.Column("at", t.UTCDateTime()),
    sa.Column("source", sa.String),
    sa.Column("native_id", sa.String),
    sa.Column("kind", sa.String),
    sa.Column("summary", sa.Text),
    sa.Column("actor", sa.String),
    sa.Column("service", sa.String),
    sa.Column("link", sa.Text),
    sa.Column("details", sa.JSON(none_as_null=True)),
)


def _store_the_old_way(conn: sa.Connection, retro: Retro, versions: Sequence[Sequence[Event]]) -> None:
    """Versions of ``retro`` with these timelines, written as revision 0001 held them: each
    version's events in rows of their own."""
    incident = retro.incident
    now = incident.created
    conn.execute(
        sa.insert(t.incidents).values(
            id=incident.id, title=incident.title, services=[], first_stored_at=now, updated_at=now
        )
    )
    for number, events in enumerate(versions, start=1):
        version = attrs.evolve(retro, version=number, timeline=Timeline(events=(), moments=retro.timeline.moments))
        document = to_document(version)
        del document["timeline"]
        version_id = conn.execute(
            sa.insert(t.retro_versions)
            .values(
                incident_id=incident.id,
                version=number,
                built_at=now,
                event_count=len(events),
                document=document,
                human_input={},
            )
            .returning(t.retro_versions.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(_OLD_EVENTS),
            [
                {
                    "retro_version_id": version_id,
                    "position": i,
                    **{k: getattr(e, k) for k in ("at", "source", "native_id", "summary", "actor", "service", "link")},
                    "kind": e.kind.value,
                    "details": dict(e.details) or None,
                }
                for i, e in enumerate(events)
            ],
        )


def test_the_migration_keeps_every_version_and_each_chunk_once(db_url: str, retro: Retro) -> None:
    first = Timeline.from_events(many_events(4_000)).events
    changed = Timeline.from_events(many_events(4_000, changed=2_500)).events
    engine = make_engine(db_url)
    migrate(engine, "0001")
    with engine.begin() as conn:
        _store_the_old_way(conn, retro, [first, first, changed, retro.timeline.events])
    migrate(engine)
    store = Store(engine)
    try:
        for version, events in enumerate([first, first, changed, retro.timeline.events], start=1):
            assert store.retro("INC-1", version).timeline.events == events
        stored = count(store, t.events)
        assert 4_000 + len(retro.timeline.events) < stored < 2 * 4_000  # version 2 kept nothing twice
        store.save_retro(with_events(retro, changed), "INC-1")  # a rebuild finds the migrated chunks
        assert count(store, t.events) == stored
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "-1")  # this migration's downgrade
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(_OLD_EVENTS.c.retro_version_id, _OLD_EVENTS.c.native_id).order_by(
                    _OLD_EVENTS.c.retro_version_id, _OLD_EVENTS.c.position
                )
            ).all()
        every = [first, first, changed, retro.timeline.events, changed]
        assert [r.native_id for r in rows] == [e.native_id for events in every for e in events]
        migrate(engine)
        assert store.retro("INC-1", 5).timeline.events == changed
    finally:
        store.close()
