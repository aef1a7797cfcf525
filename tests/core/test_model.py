"""The domain model: validation, identity, ordering, key moments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest

from retroflow.default_plugins._plugin_kit import minutes_of, minutes_text
from retroflow.model import (
    Event,
    EventKind,
    Factor,
    Finding,
    Gap,
    Incident,
    Layer,
    Timeline,
    and_list,
    format_duration,
    parse_timestamp,
)
from retroflow.testing import T0, make_event


def test_event_create_converts_to_utc_and_resolves_kind_aliases() -> None:
    at = datetime(2026, 11, 2, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    event = Event.create(at=at, source="git", kind="deploy", summary="Deploy", native_id="d1")
    assert event.at == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert event.at.tzinfo is UTC
    assert event.kind is EventKind.CHANGE
    assert event.id == "git:d1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"at": datetime(2026, 1, 1)}, "no UTC offset"),
        ({"kind": "meteor"}, "unknown event kind"),
        ({"source": "a:b"}, "contains ':'"),
    ],
)
def test_event_create_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"at": T0, "source": "s", "kind": "signal", "summary": "x", **kwargs}
    with pytest.raises(ValueError, match=message):
        Event.create(**values)  # type: ignore[arg-type]


def test_event_without_native_id_gets_a_stable_one() -> None:
    first = Event.create(at=T0, source="s", kind="signal", summary="same")
    again = Event.create(at=T0, source="s", kind="signal", summary="same")
    other = Event.create(at=T0, source="s", kind="signal", summary="different")
    assert first.native_id == again.native_id != other.native_id


def test_parse_timestamp_accepts_z_and_offsets() -> None:
    assert parse_timestamp("2026-11-02T14:00:00Z") == parse_timestamp("2026-11-02T15:00:00+01:00") == T0


def test_timeline_dedupes_by_identity_keeping_the_first_and_sorts() -> None:
    late = make_event("ack", 10, source="pd", native_id="x", summary="first copy")
    dup = attrs.evolve(late, summary="second copy")
    early = make_event("page", 5, source="pd", native_id="y")
    timeline = Timeline.from_events([late, dup, early])
    assert [e.native_id for e in timeline.events] == ["y", "x"]
    assert timeline.events[1].summary == "first copy"
    assert len(timeline) == 2


def test_events_at_the_same_instant_keep_the_order_their_source_gave() -> None:
    # PagerDuty stamps to the second: the trigger and its assignment share one, and their
    # ids sort the other way round. The source's order is the only order there is.
    trigger = make_event("alert", 0, source="pd", native_id="R9", summary="triggered")
    assign = make_event("response", 0, source="pd", native_id="R1", summary="assigned")
    other = make_event("signal", 0, source="logs", native_id="z")
    later = make_event("ack", 1, source="pd", native_id="R0")
    timeline = Timeline.from_events([later, trigger, assign, other])
    assert [e.summary for e in timeline.events if e.source == "pd"] == ["triggered", "assigned", later.summary]
    assert [e.source for e in timeline.events[:3]] == ["logs", "pd", "pd"]  # sources still tie-break first
    again = Timeline.from_events([later, trigger, assign, other])
    assert again.events == timeline.events  # the same input, the same order
    assert Timeline.from_events(timeline.events).events == timeline.events  # and it survives a rebuild


def test_same_native_id_from_different_sources_are_different_events() -> None:
    a = make_event("signal", 1, source="a", native_id="1")
    b = make_event("signal", 1, source="b", native_id="1")
    assert len(Timeline.from_events([a, b])) == 2


def test_timeline_moments_and_durations() -> None:
    events = [
        make_event("signal", 0),
        make_event("alert", 12),
        make_event("page", 13),
        make_event("ack", 20),
        make_event("mitigation", 40),
        make_event("resolution", 60),
        make_event("signal", 30),
    ]
    timeline = Timeline.from_events(events)
    m = timeline.moments
    assert (m.first_signal, m.first_alert, m.first_page, m.first_ack) == (
        T0,
        T0 + timedelta(minutes=12),
        T0 + timedelta(minutes=13),
        T0 + timedelta(minutes=20),
    )
    assert m.durations() == {
        "detect": timedelta(minutes=12),
        "acknowledge": timedelta(minutes=7),
        "mitigate": timedelta(minutes=40),
        "resolve": timedelta(minutes=60),
    }


def test_incident_resolved_stands_in_for_a_missing_resolution_event() -> None:
    incident = Incident(id="I", resolved=T0 + timedelta(hours=2))
    timeline = Timeline.from_events([make_event("signal", 0)], incident)
    assert timeline.moments.resolve == T0 + timedelta(hours=2)
    assert timeline.moments.durations()["resolve"] == timedelta(hours=2)


def test_durations_are_unknown_without_both_ends() -> None:
    timeline = Timeline.from_events([make_event("page", 0)])
    assert timeline.moments.durations()["acknowledge"] is None


def test_factor_without_evidence_is_refused() -> None:
    with pytest.raises(ValueError, match="cites no evidence"):
        Factor(key="k", layer=Layer.HUMAN, title="t", explanation="e", evidence=())


def test_incident_from_mapping_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match="'id' is required"):
        Incident.from_mapping({"title": "x"})
    with pytest.raises(ValueError, match="unknown incident field"):
        Incident.from_mapping({"id": "x", "colour": "red"})
    with pytest.raises(ValueError, match="'created'"):
        Incident.from_mapping({"id": "x", "created": "2026-11-02T14:00:00"})


def test_incident_merge_fills_only_missing_fields() -> None:
    mine = Incident(id="I", title="From PagerDuty", services=())
    theirs = Incident(id="I", title="From file", services=("checkout",), urgency="high")
    merged = mine.merged_with(theirs)
    assert (merged.title, merged.services, merged.urgency) == ("From PagerDuty", ("checkout",), "high")


def test_the_index_finds_events_by_id_in_timeline_order_first_one_winning() -> None:
    first = make_event("alert", 5, native_id="x:1")  # a colon inside the native id is fine
    later = make_event("page", 1, native_id="p")
    duplicate = attrs.evolve(first, summary="the same event again")
    merged = Timeline.from_events([first, later, duplicate])
    direct = Timeline(events=(later, first, duplicate), moments=merged.moments)  # not merged
    for timeline in (merged, direct):
        index = timeline.index
        assert index["test:x:1"] is first and index["test:p"] is later
        assert list(index) == ["test:p", "test:x:1"] and len(index) == 2
        assert "test:nope" not in index and "no-colon" not in index and 7 not in index  # type: ignore[comparison-overlap]
        with pytest.raises(KeyError):
            index["other:p"]
    assert len(merged.index) == 2 and dict(merged.index) == {"test:p": later, "test:x:1": first}


def test_from_events_seeds_the_index_with_the_merge_keys() -> None:
    events = [make_event("alert", 1, native_id="a"), make_event("page", 2, native_id="b")]
    timeline = Timeline.from_events(events)
    assert "index" in dir(timeline) and timeline.index is timeline.index
    assert object.__getattribute__(timeline, "index")._by_key == {("test", "a"): events[0], ("test", "b"): events[1]}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0 s"),
        (timedelta(seconds=42.5), "43 s"),
        (timedelta(seconds=59.6), "1 min"),
        (timedelta(minutes=7, seconds=48), "7 min 48 s"),
        (timedelta(minutes=9, seconds=59.7), "10 min"),
        (timedelta(minutes=21, seconds=48), "22 min"),
        (timedelta(minutes=21, seconds=29), "21 min"),
        (timedelta(hours=1, minutes=33, seconds=52), "1 h 34 min"),  # not "1 h 33 min" beside "94 min"
        (timedelta(hours=1, minutes=59, seconds=30), "2 h"),
        (timedelta(hours=26, minutes=5), "26 h 5 min"),
        (timedelta(minutes=-3), "-3 min"),
    ],
)
def test_format_duration_rounds_to_the_unit_it_shows(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize("seconds", [0.4, 368.5, 368.6, 469.5, 599.5, 1308.0, 1309.49, 5632.0, 86_399.5])
def test_a_duration_kept_in_minutes_reads_as_the_duration_itself(seconds: float) -> None:
    """Factors keep durations in minutes (details); actions write them from there."""
    value = timedelta(seconds=seconds)
    assert minutes_text(minutes_of(value)) == format_duration(value)


# -- closed sets, readers of documents, owned details (issue 13 item 6) ----------------------


def test_closed_sets_are_enums_with_the_words_documents_and_the_database_hold() -> None:
    from retroflow.model import GapKind, Severity
    from retroflow.roles import TicketState
    from retroflow.store.exports import ExportOutcome

    assert [k.value for k in GapKind] == ["error", "timeout", "skipped", "incomplete"]
    assert [s.value for s in Severity] == ["info", "warning"]
    assert [s.value for s in TicketState] == ["open", "in progress", "done", "won't do", "missing"]
    assert {o.value for o in ExportOutcome} >= {"created", "reconciled", "already exported", "needs reconcile"}
    gap = Gap("p", "collect", "timeout", "slow")
    assert gap.kind is GapKind.TIMEOUT and json.dumps(gap.kind) == '"timeout"' and f"{gap.kind}" == "timeout"
    assert Finding("r", "m", "s").severity is Severity.WARNING


def test_a_ticket_state_is_read_from_the_tracker_s_word() -> None:
    from retroflow.roles import TicketRef, TicketState, TicketStatus

    ref = TicketRef(sink="x", external_id="1")
    assert TicketStatus(ref, "Closed").state is TicketState.DONE
    assert TicketStatus(ref, "cancelled").state is TicketState.WONT_DO
    with pytest.raises(ValueError, match="unknown ticket state 'shelved'"):
        TicketState.of("shelved")
    # A workflow's own word (or one an earlier store kept as given) is not closed: still
    # followed up, never a crash while reading follow-ups or rendering a report.
    assert TicketStatus(ref, "In Review").state is TicketState.OPEN


def test_the_model_reads_its_parts_of_a_document() -> None:
    from retroflow.model import NarrativeLine, Score, TimelineOwner, Verification

    assert Gap.from_dict({"plugin": "p", "stage": "s", "kind": "error", "reason": "r", "count": 2}) == Gap(
        "p", "s", "error", "r", 2
    )
    assert Finding.from_dict({"rule": "r", "message": "m", "suggestion": "s", "target": "a1", "severity": "info"}) == (
        Finding("r", "m", "s", "a1", "info")
    )
    assert Score.from_dict({"model": "rice", "value": 2.0}) == Score("rice", 2.0)
    assert Verification.from_dict({"metric": "time-to-detect"}) == Verification("time-to-detect")
    assert TimelineOwner.from_dict({"name": "ana", "reason": "rota"}) == TimelineOwner("ana", "rota")
    assert NarrativeLine.from_dict({"factor": "k", "evidence": ["a:1"]}) == NarrativeLine("k", ("a:1",))


def test_events_and_factors_own_their_details() -> None:
    details = {"monitor": "cpu"}
    event = make_event("alert", 0, details=details)
    factor = Factor(key="k", layer="technical", title="t", explanation="e", evidence=(event.id,), details=details)
    details["monitor"] = "changed"
    assert event.details["monitor"] == factor.details["monitor"] == "cpu"


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ([], ""),
        (["repo"], "repo"),
        (["repo", "token"], "repo and token"),
        (["url", "project", "token"], "url, project and token"),
    ],
)
def test_and_list_says_words_as_a_sentence_lists_them(words: list[str], said: str) -> None:
    assert and_list(iter(words)) == said
