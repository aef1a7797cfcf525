"""Retros go into the store as normalised rows and come back equal; history is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sqlalchemy as sa

from retroflow.errors import RetroflowError
from retroflow.model import Retro
from retroflow.serialize import to_document
from retroflow.store import Store
from retroflow.store import schema as t


def test_a_stored_retro_loads_back_equal(store: Store, retro: Retro) -> None:
    version = store.save_retro(retro, "INC-1")
    loaded = store.latest_retro("INC-1")
    assert version == 1
    assert to_document(loaded) == to_document(attrs.evolve(retro, version=1))
    assert loaded == attrs.evolve(retro, version=1)
    assert all(e.at.tzinfo is UTC for e in loaded.timeline.events)


def test_rebuilding_keeps_every_version(store: Store, retro: Retro) -> None:
    store.save_retro(retro, "INC-1")
    changed = attrs.evolve(retro, scoring_model="second look")
    assert store.save_retro(changed, "INC-1") == 2
    assert store.retro("INC-1", version=1).scoring_model == retro.scoring_model != "second look"
    assert store.latest_retro("INC-1").scoring_model == "second look"
    assert [v.version for v in store.versions("INC-1")] == [1, 2]


def test_normalised_rows_are_written(store: Store, retro: Retro) -> None:
    store.save_retro(retro, "INC-1")
    with store.engine.connect() as conn:
        count = lambda table: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()  # noqa: E731
        assert count(t.events) == len(retro.timeline.events)
        assert count(t.factors) == len(retro.factors)
        assert count(t.actions) == len(retro.actions)
        assert count(t.scores) == sum(1 for a in retro.actions if a.score)
        titles = set(conn.execute(sa.select(t.actions.c.title)).scalars())
    assert "Alert on checkout error rate" in titles


def test_listing_shows_each_incident_once_with_its_newest_version(store: Store, retro: Retro) -> None:
    store.save_retro(retro, "INC-1", now=datetime(2026, 11, 5, tzinfo=UTC))
    store.save_retro(retro, "INC-1", now=datetime(2026, 11, 6, tzinfo=UTC))
    other = attrs.evolve(retro, incident=attrs.evolve(retro.incident, id="INC-2", title="Other"))
    store.save_retro(other, "INC-2", now=datetime(2026, 11, 4, tzinfo=UTC))
    listing = store.list_retros()
    assert [(r.incident_id, r.versions, r.latest_version) for r in listing] == [("INC-1", 2, 2), ("INC-2", 1, 1)]
    assert listing[0].actions == len(retro.actions)


def test_unknown_incident_or_version_is_a_clear_error(store: Store, retro: Retro) -> None:
    with pytest.raises(RetroflowError, match="the store has no retro for incident 'NOPE'"):
        store.latest_retro("NOPE")
    store.save_retro(retro, "INC-1")
    with pytest.raises(RetroflowError, match="version 7"):
        store.retro("INC-1", version=7)


def test_naive_timestamps_are_refused(store: Store, retro: Retro) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive"):
        store.save_retro(retro, "INC-1", now=datetime(2026, 11, 5) + timedelta(0))


def test_follow_ups_span_incidents_and_age_from_the_first_proposal(store: Store, retro: Retro) -> None:
    day = datetime(2026, 11, 1, tzinfo=UTC)
    store.save_retro(retro, "INC-1", now=day)
    store.save_retro(retro, "INC-1", now=day + timedelta(days=5))  # a rebuild does not reset the age
    other = attrs.evolve(
        retro,
        incident=attrs.evolve(retro.incident, id="INC-2"),
        actions=tuple(attrs.evolve(a, id="x" + a.id, owner="erin") for a in retro.actions),
    )
    store.save_retro(other, "INC-2", now=day + timedelta(days=3))
    follow = store.follow_ups(now=day + timedelta(days=10))
    assert {f.incident_id for f in follow} == {"INC-1", "INC-2"}
    assert len(follow) == 2 * len(retro.actions)
    ages = [f.age.days for f in follow]
    assert ages == sorted(ages, reverse=True) and ages[0] == 10 and ages[-1] == 7
    assert {f.owner for f in follow if f.incident_id == "INC-2"} == {"erin"}
    assert all(f.state == "not exported" for f in follow)


def test_event_times_in_other_offsets_are_stored_as_the_same_instant(store: Store, retro: Retro) -> None:
    from datetime import timezone

    from retroflow.model import Timeline

    shifted = tuple(
        attrs.evolve(e, at=e.at.astimezone(timezone(timedelta(hours=5, minutes=30)))) for e in retro.timeline.events
    )
    store.save_retro(attrs.evolve(retro, timeline=Timeline(shifted, retro.timeline.moments)), "INC-1")
    loaded = store.latest_retro("INC-1").timeline.events
    assert [e.at for e in loaded] == [e.at for e in retro.timeline.events]
    assert all(e.at.tzinfo is UTC for e in loaded)


def test_details_that_are_not_plain_json_are_stored_as_the_document_writes_them(store: Store, retro: Retro) -> None:
    from types import MappingProxyType

    from retroflow.model import Timeline

    first, *rest = retro.timeline.events
    odd = attrs.evolve(first, details={"frozen": MappingProxyType({"b": 1}), "when": datetime(2026, 11, 2, tzinfo=UTC)})
    store.save_retro(attrs.evolve(retro, timeline=Timeline((odd, *rest), retro.timeline.moments)), "INC-1")
    loaded = store.latest_retro("INC-1").timeline.events[0]
    assert loaded.details == {"frozen": {"b": 1}, "when": "2026-11-02T00:00:00Z"}


def test_concurrent_builds_all_end_stored(db_url: str, retro: Retro, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight builds of one incident saved at once (what the automation worker does): none
    is dropped, whatever SQLite's busy timeout (shortened here so waiting shows)."""
    import threading

    from retroflow.model import Timeline
    from retroflow.store import database, open_store
    from retroflow.testing import make_event

    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 20)
    events = [make_event("signal", i / 60, native_id=f"s{i}", service="checkout") for i in range(3000)]
    big = attrs.evolve(retro, timeline=Timeline.from_events([*retro.timeline.events, *events], retro.incident))
    errors: list[BaseException] = []
    with open_store(db_url) as store:
        start = threading.Barrier(8)

        def build() -> None:
            start.wait()
            try:
                store.save_retro(big, "INC-1")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=build) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert [v.version for v in store.versions("INC-1")] == list(range(1, 9))
        assert {v.event_count for v in store.versions("INC-1")} == {len(big.timeline.events)}
