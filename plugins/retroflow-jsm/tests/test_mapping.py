"""Opsgenie / JSM Operations alerts, log lines and notes → retroflow events and the incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from retroflow_jsm.mapping import AlertContext, Skips, incident_of, log_event, note_event, timeline
from retroflow_jsm.replies import unwrap, unwrap_list
from retroflow_jsm.settings import ServiceMap

from retroflow import EventKind

from .conftest import fixture
from .scenario import ALERT_ID, opsgenie_alert, opsgenie_logs, opsgenie_notes

DOCS_ALERT = unwrap(fixture("og_alert.docs.json"))
NO_MAP = ServiceMap()


def context(alert: dict[str, object] | None = None, services: ServiceMap = NO_MAP) -> AlertContext:
    return AlertContext.of(alert or opsgenie_alert(), services)


def test_the_documented_alert_is_the_incident_and_its_alert_event() -> None:
    ctx = context(DOCS_ALERT)
    events = timeline(DOCS_ALERT, unwrap_list(fixture("og_logs.docs.json")) or [], [], ctx, Skips())
    alert, ack = events  # "Viewed on [web]" is left out
    created = datetime(2017, 3, 21, 20, 32, 52, 353000, tzinfo=UTC)
    assert (alert.kind, alert.native_id, alert.at, alert.summary) == (
        EventKind.ALERT,
        "70413a06-38d6-4c85-92b8-5ebc900d42e2",
        created,
        "Our servers are in danger",
    )
    assert alert.details["integration"] == "Nebuchadnezzar" and alert.details["count"] == 79
    assert (ack.kind, ack.actor, ack.native_id) == (
        EventKind.ACK,
        "neo@opsgenie.com",
        "70413a06-38d6-4c85-92b8-5ebc900d42e2/log/1492000072838_1492000072838234593",
    )
    incident = incident_of(DOCS_ALERT, events, ctx)
    assert (incident.id, incident.title, incident.priority) == (alert.native_id, alert.summary, "P4")
    assert incident.details["number"] == "1791" and incident.details["closed_by"] == "neo@opsgenie.com"
    assert incident.resolved == created + timedelta(milliseconds=60503)  # no close line: report.closeTime
    assert incident.teams == ("4513b7ea-3b91-438f-b7e4-e3e54af9147c",)


@pytest.mark.parametrize(
    ("line", "owner", "kind", "action", "actor"),
    [
        ("Sent [Voice] notification to [alice@acme.com]", "alice@acme.com", EventKind.PAGE, None, "alice@acme.com"),
        ("Sent [SMS] notification to [bob@acme.com]", "System", EventKind.PAGE, None, "bob@acme.com"),
        ("Alert acknowledged via mobile", "bob@acme.com", EventKind.ACK, None, "bob@acme.com"),
        ("Alert unacknowledged via web", "bob@acme.com", EventKind.RESPONSE, "unacknowledge", "bob@acme.com"),
        ("Escalated to [Payments Secondary] by escalation [EP]", "System", EventKind.RESPONSE, "escalate", None),
        ("Alert is assigned to [carol@acme.com]", "bob@acme.com", EventKind.RESPONSE, "assign", "bob@acme.com"),
        ("Alert reassigned to [dan@acme.com]", "bob@acme.com", EventKind.RESPONSE, "reassign", "bob@acme.com"),
        ("Added responder [Database team]", "bob@acme.com", EventKind.RESPONSE, "add_responder", "bob@acme.com"),
        ("Alert snoozed until 15:00", "bob@acme.com", EventKind.RESPONSE, "snooze", "bob@acme.com"),
        ("Alert closed via web", "bob@acme.com", EventKind.RESOLUTION, None, "bob@acme.com"),
        ("Alert closed via Datadog", "Datadog", EventKind.RESOLUTION, None, None),  # the integration, not a person
        ("Alert priority changed to P2", "bob@acme.com", EventKind.RESPONSE, "update", "bob@acme.com"),
    ],
)
def test_log_lines_are_read_by_their_words(
    line: str, owner: str, kind: EventKind, action: str | None, actor: str | None
) -> None:
    entry = {"log": line, "type": "system", "owner": owner, "createdAt": "2026-11-02T14:05:00Z", "offset": "1"}
    event = log_event(entry, context())
    assert event is not None
    assert (event.kind, event.details.get("action"), event.actor) == (kind, action, actor)
    assert event.service == "payments-api"  # the alert's service:<name> tag


@pytest.mark.parametrize(
    "line", ["Viewed on [web]", "Alert created via Datadog", "Alert note added", "[bob] added note to the alert"]
)
def test_log_lines_that_are_not_responses_are_left_out(line: str) -> None:
    entry = {"log": line, "type": "system", "owner": "System", "createdAt": "2026-11-02T14:05:00Z", "offset": "2"}
    assert log_event(entry, context()) is None


def test_a_notification_names_its_channel() -> None:
    entry = {"log": "Sent [Voice] notification to [alice@acme.com]", "owner": "alice@acme.com",
             "createdAt": "2026-11-02T14:01:00Z", "offset": "3"}  # fmt: skip
    event = log_event(entry, context())
    assert event is not None and event.details["channel"] == "voice"


def test_services_come_from_teams_then_tags_then_the_service_detail() -> None:
    by_team = ServiceMap.parse(["payments=team:team-payments", "other=tag:P1"])
    assert context(services=by_team).service == "payments"
    assert context(services=ServiceMap.parse(["core=tag:P1"])).service == "core"
    detailed = {**opsgenie_alert(), "tags": [], "details": {"service": "ledger"}}
    assert context(detailed).service == "ledger"
    assert context({**opsgenie_alert(), "tags": []}).service is None
    with pytest.raises(ValueError, match=r"services\[0\]: expected"):
        ServiceMap.parse(["payments=label:x"])


def test_notes_are_messages_by_their_authors() -> None:
    (note,) = opsgenie_notes()
    event = note_event(note, context())
    assert (event.kind, event.actor, event.native_id) == (EventKind.MESSAGE, "bob@acme.com", f"{ALERT_ID}/note/n1")


def test_records_that_cannot_be_read_are_skipped_and_counted() -> None:
    skips = Skips()
    logs = [*opsgenie_logs(), {"log": "x", "createdAt": "yesterday"}, {"createdAt": "2026-11-02T14:05:00Z"}, 7]
    events = timeline(opsgenie_alert(), logs, [{"owner": "bob"}], context(), skips)
    assert len(events) == 6  # the alert, and 5 of its 7 lines (not the creation, not the view)
    assert [(g.reason, g.count) for g in skips.gaps()] == [
        ("logs: 3 record(s) skipped (createdAt 'yesterday' is not an ISO 8601 time with an offset)", 3),
        ("notes: 1 record(s) skipped (missing 'note')", 1),
    ]


def test_ids_are_stable_even_without_offsets() -> None:
    entry = {"log": "Alert acknowledged via web", "owner": "bob@acme.com", "createdAt": "2026-11-02T14:05:00Z"}
    first, second = log_event(entry, context()), log_event(dict(entry), context())
    assert first is not None and second is not None and first.native_id == second.native_id
