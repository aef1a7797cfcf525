"""PagerDuty records → incident and events, on PagerDuty's published payloads."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from retroflow_pagerduty import mapping

from retroflow import EventKind


def test_published_log_entries_get_kinds_that_mean_something_to_responders(kit):
    events = {e.details["log_entry_type"]: e for e in map(mapping.log_entry_event, kit.published_log_entries())}
    assert events["trigger_log_entry"].kind is EventKind.ALERT
    assert events["acknowledge_log_entry"].kind is EventKind.ACK
    assert events["assign_log_entry"].kind is EventKind.RESPONSE
    assert events["assign_log_entry"].details["action"] == "assign"
    assert events["assign_log_entry"].details["assignees"] == ["Wiley Jacobson"]
    assert events["resolve_log_entry"].kind is EventKind.RESOLUTION


def test_a_log_entry_event_carries_id_actor_link_channel_and_service(kit):
    entry = kit.load("pd_log_entries_all.devdocs_v2webhook.json")["trigger_log_entry"]
    event = mapping.log_entry_event(entry)
    assert event.source == "pagerduty"
    assert event.native_id == "R2XGXEI3W0FHMSDXHDIBQGBQ5E"
    assert event.actor == "Laura Haley"
    assert event.service == "Production XDB Cluster"
    assert event.link == "https://webdemo.pagerduty.com/incidents/PRORDTY/log_entries/R2XGXEI3W0FHMSDXHDIBQGBQ5E"
    assert event.details["channel"] == "web_trigger"
    assert event.details["agent_type"] == "user_reference"
    assert event.details["description"] == "My new incident"


def test_timestamps_in_z_and_offset_forms_are_the_same_instant(kit):
    entries = kit.load("pd_log_entries_all.devdocs_v2webhook.json")
    assert entries["resolve_log_entry"]["created_at"].endswith("+00:00")  # as published
    resolve = mapping.log_entry_event(entries["resolve_log_entry"])
    assert resolve.at == datetime(2017, 9, 26, 15, 18, 9, tzinfo=UTC)
    assert resolve.at.tzinfo is UTC
    zulu = copy.deepcopy(entries["resolve_log_entry"])
    zulu["created_at"] = "2017-09-26T15:18:09Z"
    assert mapping.log_entry_event(zulu).at == resolve.at


def test_notify_names_the_person_paged_and_the_channel(kit):
    entry = copy.deepcopy(kit.load("pd_log_entries_all.devdocs_v2webhook.json")["assign_log_entry"])
    entry.update(
        type="notify_log_entry",
        summary="Notified Wiley Jacobson",
        channel={"type": "sms"},
        user={"id": "PFBSJ2Z", "type": "user_reference", "summary": "Wiley Jacobson"},
    )
    event = mapping.log_entry_event(entry)
    assert event.kind is EventKind.PAGE
    assert event.actor == "Wiley Jacobson"
    assert event.details["channel"] == "sms"
    assert "via sms" in event.summary


def test_urgency_priority_and_unknown_types_are_responses_with_their_type(kit):
    base = kit.load("pd_log_entries_all.devdocs_v2webhook.json")["acknowledge_log_entry"]
    for entry_type in ("urgency_change_log_entry", "priority_change_log_entry", "brand_new_log_entry"):
        entry = {**base, "type": entry_type}
        event = mapping.log_entry_event(entry)
        assert event.kind is EventKind.RESPONSE
        assert event.details["log_entry_type"] == entry_type
        assert event.details["action"] == entry_type.removesuffix("_log_entry")


def test_alerts_are_alert_events_with_severity_and_runbook_links(kit):
    alert = copy.deepcopy(kit.load("pd_incident_alerts.spec.json")["alerts"][0])
    event = mapping.alert_event(alert)
    assert (event.kind, event.native_id, event.service) == (EventKind.ALERT, "PT4KHLK", "My Mail Service")
    assert event.details["severity"] == "critical"
    assert "runbook" not in event.details
    alert["body"]["contexts"] = [{"type": "link", "href": "https://wiki.example.com/runbooks/mail", "text": "Runbook"}]
    alert["body"]["details"]["dashboard"] = "https://grafana.example.com/d/mail"
    details = mapping.alert_event(alert).details
    assert details["runbook"] == "https://wiki.example.com/runbooks/mail"
    assert details["links"] == ["https://wiki.example.com/runbooks/mail", "https://grafana.example.com/d/mail"]


def test_notes_are_messages_by_their_author(kit):
    note = kit.load("pd_incident_notes.spec.json")["notes"][0]
    event = mapping.note_event(note)
    assert event.kind is EventKind.MESSAGE
    assert (event.summary, event.actor, event.native_id) == (
        "Firefighters are on the scene.",
        "Earline Greenholt",
        "PWL7QXS",
    )
    assert event.at == datetime(2013, 3, 6, 20, 28, 51, tzinfo=UTC)  # -05:00 in the reply


def test_the_incident_fills_services_urgency_priority_teams_and_times(kit):
    incident = mapping.incident_from_reply(kit.spec_incident())
    assert incident.id == "PT4KHLK"
    assert incident.title == "The server is on fire."
    assert incident.source == "pagerduty"
    assert incident.services == ("My Mail Service",)
    assert (incident.urgency, incident.priority, incident.teams) == ("high", "P2", ("Engineering",))
    assert incident.created == datetime(2015, 10, 6, 21, 30, 42, tzinfo=UTC)
    assert incident.resolved == datetime(2015, 10, 6, 21, 38, 23, tzinfo=UTC)
    assert incident.links == ("https://subdomain.pagerduty.com/incidents/PT4KHLK", "https://example.com/acb-123")
    assert incident.details["number"] == 1234
    assert incident.details["escalation_policy"] == "Another Escalation Policy"
    assert incident.details["status"] == "resolved"


def test_the_incident_keeps_its_type_and_conference_bridge(kit):
    incident = mapping.incident_from_reply(kit.spec_incident())
    assert incident.details["incident_type"] == "incident_default"
    assert incident.details["conference_bridge"] == {
        "number": "+1-415-555-1212,,,,1234#",
        "url": "https://example.com/acb-123",
    }
    assert "https://example.com/acb-123" in incident.links


def test_the_incident_keeps_its_description_and_impacted_services(kit):
    data = kit.load("pd_incident_eu_triggered.contenthub.json")["incident"]  # a real EU account
    incident = mapping.incident_from_reply(data)
    assert incident.details["description"] == "TEST TEST 3"
    assert incident.details["impacted_services"] == ["Community OnCall"]
    assert incident.services == ("Community OnCall",)  # impacted: its own service, by id
    checkout = {"id": "PBIZ001", "type": "business_service_reference", "summary": "Checkout (customer-facing)"}
    data = {**data, "impacted_services": [*data["impacted_services"], checkout]}
    assert mapping.incident_from_reply(data).services == ("Community OnCall", "Checkout (customer-facing)")


def test_external_references_become_structured_links_in_either_shape(kit):
    shapes = kit.load("pd_incident_external_references.mcp_server.json")
    data = {**kit.spec_incident(), "external_references": shapes["feat_new_read_tools"] + shapes["pull_121"]}
    incident = mapping.incident_from_reply(data)
    assert incident.details["external_references"] == [
        {"type": "servicenow_reference", "external_id": "INC001234"},
        {"type": "zendesk_reference", "external_id": "12345"},
        {
            "type": "external_reference",
            "name": "Datadog Monitor: CPU Alert",
            "external_id": "12345678",
            "url": "https://app.datadoghq.com/monitors/12345678",
        },
        {
            "type": "external_reference",
            "name": "Runbook",
            "external_id": "runbook-001",
            "url": "https://wiki.example.com/runbooks/cpu-alert",
        },
    ]
    assert incident.links[-2:] == (
        "https://app.datadoghq.com/monitors/12345678",
        "https://wiki.example.com/runbooks/cpu-alert",
    )
    slack = {
        "type": "slack_channel_reference",
        "summary": "#inc-1234",
        "external_url": "https://acme.slack.com/archives/C0INC1234",
    }
    with_slack = mapping.incident_from_reply({**kit.spec_incident(), "external_references": [slack]})
    assert with_slack.details["external_references"][0]["url"] == "https://acme.slack.com/archives/C0INC1234"
    assert "https://acme.slack.com/archives/C0INC1234" in with_slack.links


def test_a_log_entrys_channel_details_are_kept(kit):
    entries = kit.load("pd_log_entries_all.devdocs_v2webhook.json")
    assert mapping.log_entry_event(entries["trigger_log_entry"]).details["channel_details"] == "Oh my gosh"
    assert "channel_details" not in mapping.log_entry_event(entries["acknowledge_log_entry"]).details


def test_the_resolve_log_entry_is_the_resolve_time(kit):
    data = kit.spec_incident()
    data.pop("resolved_at")
    resolve = mapping.log_entry_event(kit.load("pd_log_entries_all.devdocs_v2webhook.json")["resolve_log_entry"])
    assert mapping.incident_from_reply(data, [resolve]).resolved == resolve.at
    assert mapping.incident_from_reply(data).resolved == datetime(2015, 10, 6, 21, 38, 23, tzinfo=UTC)


def test_records_with_missing_or_odd_fields_are_skipped_and_counted(kit):
    good = kit.published_log_entries()
    bad = [
        {**good[0], "created_at": None},
        {**good[1], "created_at": "yesterday"},
        {k: v for k, v in good[2].items() if k != "id"},
        "not an object",
    ]
    skips = mapping.Skips()
    events = mapping.timeline(
        log_entries=[*good, *bad],
        alerts=[{"id": "A1"}],
        notes=[{"id": "N1", "created_at": "2015-10-06T21:30:42Z"}],
        service=None,
        skips=skips,
    )
    assert len(events) == len(good)
    gaps = {gap.reason.split(":")[0]: gap for gap in skips.gaps()}
    assert gaps["log_entries"].count == 4
    assert gaps["log_entries"].kind == "skipped"
    assert gaps["alerts"].count == 1
    assert gaps["notes"].count == 1
    assert "created_at" in gaps["log_entries"].reason


def test_an_annotate_log_entry_that_repeats_a_note_is_one_message(kit):
    note = kit.load("pd_incident_notes.spec.json")["notes"][0]
    annotate = {
        **kit.load("pd_log_entries_all.devdocs_v2webhook.json")["acknowledge_log_entry"],
        "id": "RANNOTATE",
        "type": "annotate_log_entry",
        "channel": {"type": "note", "summary": note["content"]},
    }
    other = {**annotate, "id": "RANNOTATE2", "channel": {"type": "note", "summary": "Only in the log"}}
    events = mapping.timeline(
        log_entries=[annotate, other], alerts=[], notes=[note], service=None, skips=mapping.Skips()
    )
    messages = {(e.native_id, e.summary) for e in events if e.kind is EventKind.MESSAGE}
    assert messages == {("PWL7QXS", note["content"]), ("RANNOTATE2", "Only in the log")}


def test_history_incidents_carry_services_times_and_responders(kit):
    data = kit.spec_incident()
    data["assignments"] = [{"at": "2015-10-06T21:31:00Z", "assignee": {"id": "PU1", "summary": "Wiley Jacobson"}}]
    data["acknowledgements"] = [{"at": "2015-10-06T21:32:00Z", "acknowledger": {"id": "PU2", "summary": "Laura Haley"}}]
    past = mapping.history_incident(data)
    assert past.services == ("My Mail Service",)
    assert past.created is not None and past.resolved is not None
    assert past.details["assignees"] == ["Wiley Jacobson"]
    assert past.details["acknowledgers"] == ["Laura Haley"]
    assert past.details["resolved_by"] == "Earline Greenholt"


def test_only_people_are_actors_pagerduty_itself_is_the_agent(kit):
    trigger = kit.load("pd_incident_log_entries.spec.json")["log_entries"][0]
    assert trigger["agent"]["type"] == "service_reference"
    event = mapping.log_entry_event(trigger)
    assert event.actor is None
    assert event.details["agent"] == "My Mail Service"
