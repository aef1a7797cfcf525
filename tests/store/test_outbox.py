"""Exports through the outbox end with exactly one ticket per action, whatever fails."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
import sqlalchemy as sa

from retroflow.errors import RetroflowError, TrackerError
from retroflow.model import ActionItem, Retro
from retroflow.store import Store
from retroflow.store import schema as t
from retroflow.store.exports import export_actions, export_key, sync_status
from retroflow.store.fake import FakeTrackerSink
from retroflow.testing import make_config


class Crash(BaseException):
    """The process dying: not an error anything in retroflow catches."""


def crash_at(stage: str, times: int = 1) -> Callable[[str], None]:
    left = [times]

    def checkpoint(reached: str) -> None:
        if reached == stage and left[0] > 0:
            left[0] -= 1
            raise Crash(stage)

    return checkpoint


def with_actions(retro: Retro, n: int) -> Retro:
    actions = [
        ActionItem.create(incident_id=retro.incident.id, title=f"Action {i:03d}", key=("bulk", i)) for i in range(n)
    ]
    return attrs.evolve(retro, actions=tuple(actions))


def one_ticket_per_action(sink: FakeTrackerSink, store: Store, incident_id: str = "INC-1") -> None:
    retro = store.latest_retro(incident_id)
    for action in retro.actions:
        key = export_key(incident_id, action.id, sink.name)
        assert len(sink.tracker.tickets_with_key(key)) == 1, action.title
    assert len(sink.tracker.tickets) == len(retro.actions)
    rows = store.export_rows(incident_id, sink.name)
    assert {r.state for r in rows} == {"done"}
    assert len(store.links([sink.name])) == len(retro.actions)


@pytest.fixture
def stored(store: Store, retro: Retro) -> Store:
    store.save_retro(with_actions(retro, 3), "INC-1")
    return store


def test_export_creates_one_ticket_per_action_carrying_its_key(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.complete and report.counts() == {"created": 3}
    one_ticket_per_action(sink, stored)
    links = {link.external_id: link for link in stored.links()}
    for ticket in sink.tracker.tickets:
        assert links[ticket.external_id].key == ticket.key


def test_crash_before_the_request_then_retry_gives_one_ticket(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock, search_lag=30)
    with pytest.raises(Crash):
        export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, checkpoint=crash_at("claimed"))
    assert sink.tracker.create_calls == []
    assert {r.state for r in stored.export_rows()} == {"in_flight"}
    # Another run inside the lease leaves the rows to their owner.
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"in flight elsewhere": 3} and sink.tracker.create_calls == []
    clock.advance(601)  # the crashed run's lease expired
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"created": 3}
    assert len(sink.tracker.find_calls) == 3  # searched before re-creating
    one_ticket_per_action(sink, stored)


def test_crash_after_the_request_before_the_commit_then_retry_gives_one_ticket(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock, search_lag=30)
    with pytest.raises(Crash):
        export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, checkpoint=crash_at("sent"))
    assert len(sink.tracker.tickets) == 3 and store_states(stored) == {"in_flight"}
    clock.advance(601)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"reconciled": 3}
    assert len(sink.tracker.create_calls) == 1
    one_ticket_per_action(sink, stored)


def test_crash_after_the_commit_then_retry_gives_one_ticket(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock, max_batch=2)
    with pytest.raises(Crash):
        export_actions(
            stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, checkpoint=crash_at("committed")
        )
    assert store_states(stored) == {"done", "pending"}
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"already exported": 2, "created": 1}
    one_ticket_per_action(sink, stored)


def test_reclaim_takes_over_an_unexpired_lease(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    with pytest.raises(Crash):
        export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, checkpoint=crash_at("sent"))
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, reclaim=True)
    assert report.counts() == {"reconciled": 3}
    one_ticket_per_action(sink, stored)


def test_120_actions_take_3_calls_and_a_rerun_takes_none(store: Store, retro: Retro, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    store.save_retro(with_actions(retro, 120), "INC-1")
    sink = FakeTrackerSink(clock=clock, max_batch=50)
    report = export_actions(store, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert [len(call) for call in sink.tracker.create_calls] == [50, 50, 20]
    assert report.create_calls == 3 and report.counts() == {"created": 120}
    again = export_actions(store, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert len(sink.tracker.create_calls) == 3 and again.create_calls == 0
    assert again.counts() == {"already exported": 120}
    one_ticket_per_action(sink, store)


def test_rate_limit_is_waited_out_with_the_injected_sleep(stored: Store, clock) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    sink.tracker.fail_next = [
        (TrackerError("429", retry_after=7), False),
        (TrackerError("429", retry_after=9999), False),
    ]
    slept: list[float] = []
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=slept.append, max_wait=120)
    assert slept == [7, 120]  # Retry-After honoured, capped
    assert report.counts() == {"created": 3} and len(sink.tracker.create_calls) == 3
    one_ticket_per_action(sink, stored)


def test_rate_limit_waits_are_bounded_and_the_rows_stay_retryable(stored: Store, clock) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    sink.tracker.fail_next = [(TrackerError("429", retry_after=1), False)] * 4
    slept: list[float] = []
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=slept.append, max_rate_limit_waits=3)
    assert slept == [1, 1, 1] and len(sink.tracker.create_calls) == 4
    assert report.counts() == {"failed": 3} and store_states(stored) == {"failed"}
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=slept.append)
    assert report.counts() == {"created": 3}
    one_ticket_per_action(sink, stored)


def test_partial_batch_failure_keeps_failed_items_retryable(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock, search_lag=10)
    first, second, _third = stored.latest_retro("INC-1").actions
    key = lambda a: export_key("INC-1", a.id, sink.name)  # noqa: E731
    sink.tracker.fail_items = {
        key(first): TrackerError("field 'assignee' is invalid"),
        key(second): TrackerError("timed out", ambiguous=True),  # it landed anyway
    }
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert [i.outcome for i in report.items] == ["failed", "needs reconcile", "created"]
    states = {r.action_id: r.state for r in stored.export_rows()}
    assert states[first.id] == "failed" and states[second.id] == "needs_reconcile"
    clock.advance(11)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert [i.outcome for i in report.items] == ["created", "reconciled", "already exported"]
    assert sink.tracker.create_calls[-1] == [key(first)]
    one_ticket_per_action(sink, stored)


def test_ambiguous_failure_waits_for_the_search_lag_before_concluding(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock, search_lag=30)  # find sees a ticket only 30 s after it is made
    sink.tracker.fail_next = [(TrackerError("504 after send", ambiguous=True), True)]
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"needs reconcile": 3}
    clock.advance(5)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"waiting for search lag": 3} and len(sink.tracker.create_calls) == 1
    clock.advance(30)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"reconciled": 3} and len(sink.tracker.create_calls) == 1
    one_ticket_per_action(sink, stored)


def test_ambiguous_failure_that_did_not_land_is_recreated_after_the_lag(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock, search_lag=30)
    sink.tracker.fail_next = [(TrackerError("connection reset after send", ambiguous=True), False)]
    export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    clock.advance(31)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"created": 3} and len(sink.tracker.create_calls) == 2
    one_ticket_per_action(sink, stored)


def test_rebuilding_the_retro_does_not_export_again(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    stored.save_retro(attrs.evolve(stored.latest_retro("INC-1"), scoring_model="rebuilt"), "INC-1")
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"already exported": 3} and len(sink.tracker.create_calls) == 1


def test_dry_run_sends_and_writes_nothing(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, dry_run=True)
    assert report.counts() == {"would create": 3}
    assert report.items[0].preview == {"title": "Action 000", "labels": [report.items[0].key], "assignee": None}
    assert sink.tracker.create_calls == [] and stored.export_rows() == []
    export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, dry_run=True)
    assert report.counts() == {"already exported": 3}


def test_sync_stores_states_and_followup_lists_open_actions(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    done, wip, _open = sink.tracker.tickets
    clock.advance(3600)
    sink.tracker.set_state(done.external_id, "Done")
    sink.tracker.set_state(wip.external_id, "in_progress")
    report = sync_status(stored, [sink], make_config(), now=clock)
    assert report.updated == 3 and report.changed == 2 and report.errors == ()
    states = {link.external_id: (link.state, link.state_changed_at) for link in stored.links()}
    assert states[done.external_id] == ("done", clock.now)
    assert states[wip.external_id][0] == "in progress"
    follow = stored.follow_ups(now=clock.now)
    assert [f.state for f in follow] == ["in progress", "open"]
    assert all(f.tracker == "fake" and f.url for f in follow)


def test_a_ticket_gone_from_the_tracker_stays_on_the_follow_up_list(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    gone, dropped, _open = sink.tracker.tickets
    sink.tracker.set_state(gone.external_id, "deleted")
    sink.tracker.set_state(dropped.external_id, "Won't Do")
    sync_status(stored, [sink], make_config(), now=clock)
    follow = stored.follow_ups(now=clock.now)
    assert sorted(f.state for f in follow) == ["missing", "open"], "a lost action is seen, not taken as declined"


def test_sync_reports_a_failing_sink_and_carries_on(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)

    class Broken:
        def status(self, refs):  # type: ignore[no-untyped-def]
            raise TrackerError("503 from tracker")

    report = sync_status(stored, [sink], make_config(), clients={"fake": Broken()})  # type: ignore[dict-item]
    assert report.updated == 0 and report.errors == ("fake: 503 from tracker",)


def store_states(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(t.exports.c.state)).scalars())


def test_a_second_export_during_the_first_sends_nothing(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    seen = []

    def meanwhile(stage: str) -> None:
        if stage == "claimed" and not seen:
            seen.append(export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep))

    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, checkpoint=meanwhile)
    assert seen[0].counts() == {"in flight elsewhere": 3} and seen[0].create_calls == 0
    assert report.counts() == {"created": 3}
    one_ticket_per_action(sink, stored)


def test_only_the_named_actions_are_exported(stored: Store, clock, no_sleep) -> None:  # type: ignore[no-untyped-def]
    sink = FakeTrackerSink(clock=clock)
    first = stored.latest_retro("INC-1").actions[0]
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, action_ids=[first.id])
    assert [i.action_id for i in report.items] == [first.id] and len(sink.tracker.tickets) == 1
    with pytest.raises(RetroflowError, match="no action 'nope'"):
        export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, action_ids=["nope"])


def test_a_create_sent_after_rate_limit_waits_is_given_its_search_lag_from_the_send(stored: Store, clock) -> None:  # type: ignore[no-untyped-def]
    # Jira-like: a new ticket shows in search only 120 s after it is made.
    sink = FakeTrackerSink(clock=clock, search_lag=120)
    sink.tracker.fail_next = [(TrackerError("429", retry_after=40), False)] * 2
    with pytest.raises(Crash):  # killed after the create landed, 80 s after the claim
        export_actions(
            stored, "INC-1", sink, make_config(), now=clock, sleep=clock.advance, checkpoint=crash_at("sent")
        )
    assert len(sink.tracker.tickets) == 3 and store_states(stored) == {"in_flight"}
    clock.advance(50)  # 130 s after the claim, but only 50 s after the create was sent
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=clock.advance, reclaim=True)
    assert report.counts() == {"waiting for search lag": 3}
    assert not report.complete
    clock.advance(71)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=clock.advance)
    assert report.counts() == {"reconciled": 3}
    one_ticket_per_action(sink, stored)


def test_a_wait_inside_the_client_moves_the_attempt_time_too(stored: Store, clock) -> None:  # type: ignore[no-untyped-def]
    """A sink that waits out a rate limit itself (RetryBudget) before sending."""
    from retroflow.http import RetryBudget

    @attrs.frozen
    class Limits:
        timeout: float = 30.0
        max_retry_wait: float = 60.0
        max_retries: int = 3

    sink = FakeTrackerSink(clock=clock, search_lag=120)
    client = sink.open(make_config())
    create = client.create

    def patient_create(drafts):  # type: ignore[no-untyped-def]
        RetryBudget(Limits(), clock.advance).spend(55)  # a 429 answered inside the client
        return create(drafts)

    client.create = patient_create  # type: ignore[method-assign]
    with pytest.raises(Crash):
        export_actions(stored, "INC-1", sink, make_config(), now=clock, client=client, checkpoint=crash_at("sent"))
    clock.advance(70)  # 125 s after the claim, 70 s after the create
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, reclaim=True)
    assert report.counts() == {"waiting for search lag": 3}
    clock.advance(51)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock)
    assert report.counts() == {"reconciled": 3}
    one_ticket_per_action(sink, stored)


def test_rows_another_export_claims_between_the_reads_are_reported_as_held(  # type: ignore[no-untyped-def]
    stored: Store, clock, no_sleep, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retroflow.store import exports

    sink = FakeTrackerSink(clock=clock)
    read_rows = exports._Run._rows
    reads: dict[int, int] = {}

    def racing_rows(run, action_ids):  # type: ignore[no-untyped-def]
        reads[id(run)] = reads.get(id(run), 0) + 1
        if len(reads) == 1 and reads[id(run)] == 2:  # the first run, between its two reads
            with pytest.raises(Crash):  # another export claims every row (and is still sending)
                export_actions(
                    stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep, checkpoint=crash_at("claimed")
                )
        return read_rows(run, action_ids)

    monkeypatch.setattr(exports._Run, "_rows", racing_rows)
    report = export_actions(stored, "INC-1", sink, make_config(), now=clock, sleep=no_sleep)
    assert report.counts() == {"in flight elsewhere": 3}
    assert not report.complete, "an export that did nothing is not complete"
    assert sink.tracker.create_calls == []
