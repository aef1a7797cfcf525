"""One incident's records as the responders lived them, on published replies: who raised
the trigger, one signal per alert, the first assignment, same-second order, note authors,
records of other incidents, an incident not resolved yet."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

from retroflow_pagerduty import PagerDutySource, mapping

from retroflow import EventKind, RetroRequest, Timeline
from retroflow.engine import build_retro
from retroflow.testing import make_config, make_plugins

EXAMPLE = Path(__file__).parents[3] / "contrib" / "examples" / "checkout-outage" / "pagerduty"


def example_entries() -> dict[str, dict]:
    """The bundled example's log entries by type (of two notifications, the first)."""
    entries = json.loads((EXAMPLE / "log_entries.json").read_text(encoding="utf-8"))["log_entries"]
    return {entry["type"]: entry for entry in reversed(entries)}


def events_of(**lists) -> list:
    lists.setdefault("alerts", [])
    lists.setdefault("notes", [])
    return mapping.timeline(service=None, skips=mapping.Skips(), **lists)


def saved_retro(directory: Path, ref: str, replies: dict[str, object]):
    """A retro built with the default heuristics from replies saved in ``directory``."""
    for name, body in replies.items():
        (directory / name).write_text(json.dumps(body), encoding="utf-8")
    source = PagerDutySource()
    plugins = make_plugins(source)
    config = make_config(f'[plugins.pagerduty]\nreplies = "{directory}"\n', plugins=plugins)
    return build_retro(RetroRequest(ref), plugins=plugins, config=config)


# --- who raised the trigger ------------------------------------------------------------


def test_a_trigger_raised_on_the_website_carries_the_alert_text_and_says_a_person_raised_it(kit):
    entry = kit.load("pd_log_entries_all.devdocs_v2webhook.json")["trigger_log_entry"]
    event = mapping.log_entry_event(entry)
    assert event.kind is EventKind.ALERT
    assert event.summary == "My new incident"  # channel.summary, not "Triggered through the website"
    assert event.details["pagerduty_summary"] == "Triggered through the website"
    assert event.details["channel_details"] == "Oh my gosh"
    assert event.details["manual"] is True
    assert event.actor == "Laura Haley"


def test_a_monitor_trigger_says_what_fired_and_is_not_marked_manual(kit):
    api = mapping.log_entry_event(kit.load("pd_incident_log_entries.spec.json")["log_entries"][0])
    assert api.summary == "Tasks::SFDCValidator - PD_Data__c - duplicates"  # its event_details
    assert api.details["pagerduty_summary"] == "Triggered through the API"
    assert "manual" not in api.details
    example = mapping.log_entry_event(example_entries()["trigger_log_entry"])
    assert example.summary == "Checkout 5xx rate > 5% for 5 min"
    assert example.details["channel_details"]["monitor"] == "checkout-5xx"
    assert example.details["runbook"] == "https://wiki.example.com/runbooks/checkout-5xx"


def test_a_persons_trigger_gets_no_link_a_runbook_action(kit, tmp_path):
    retro = saved_retro(
        tmp_path,
        "PT4KHLK",
        {
            "incident.json": {"incident": kit.spec_incident()},
            "log_entries.json": {"log_entries": kit.published_log_entries()},
            "alerts.json": {"alerts": []},
            "notes.json": {"notes": []},
        },
    )
    said = [f.title for f in retro.factors] + [a.title for a in retro.actions]
    assert not [text for text in said if "Triggered through" in text or "My new incident" in text]
    runbook = next(f for f in retro.factors if f.key == "missing-runbook")
    assert runbook.details["monitors"] == ["Tasks::SFDCValidator - PD_Data__c - duplicates"]


# --- one signal per alert --------------------------------------------------------------


def test_an_alert_and_its_own_trigger_log_entry_are_one_signal(kit):
    trigger = kit.load("pd_incident_log_entries.spec.json")["log_entries"][0]
    alert = copy.deepcopy(kit.load("pd_incident_alerts.spec.json")["alerts"][0])
    alert.update(created_at=trigger["created_at"], first_trigger_log_entry={"id": trigger["id"]})
    events = events_of(log_entries=[trigger], alerts=[alert])
    assert [(e.kind, e.native_id) for e in events] == [(EventKind.ALERT, trigger["id"])]
    signal = events[0]
    assert signal.details["alert_id"] == "PT4KHLK"
    assert signal.details["severity"] == "critical"
    assert signal.details["alert_link"] == alert["html_url"]


def test_the_bundled_examples_alert_is_folded_into_its_trigger_and_a_re_trigger_stays(kit):
    alerts = json.loads((EXAMPLE / "alerts.json").read_text(encoding="utf-8"))["alerts"]
    events = events_of(log_entries=[example_entries()["trigger_log_entry"]], alerts=alerts)
    assert [(e.native_id, e.details.get("alert_id")) for e in events] == [
        ("R1CHKTRIGGER00000000000001", "PALCHK5XX0001"),
        ("PALCHK5XX0002", None),  # 4 min later, "(re-triggered)": a second firing
    ]


# --- the first assignment, and the order within a second --------------------------------


def test_the_policys_automatic_first_assignment_is_marked_initial_and_a_persons_is_not(kit):
    events = events_of(log_entries=list(example_entries().values()))
    initial = [e.native_id for e in events if e.details.get("initial")]
    assert initial == ["R1CHKASSIGN00000000000002"]  # "Assigned to bob." by the escalation policy
    by_a_person = kit.load("pd_log_entries_all.devdocs_v2webhook.json")["assign_log_entry"]
    (event,) = events_of(log_entries=[by_a_person])
    assert "initial" not in event.details  # "Assigned to Wiley Jacobson by Laura Haley"


def test_entries_of_one_second_keep_pagerdutys_order_the_trigger_before_its_assignment():
    entries = example_entries()
    trigger = entries["trigger_log_entry"]
    assign = {**entries["assign_log_entry"], "created_at": trigger["created_at"]}  # the same second
    assert assign["id"] < trigger["id"]  # their ids would put the assignment first
    newest_first = [assign, trigger]  # as PagerDuty lists an incident's log
    timeline = Timeline.from_events(events_of(log_entries=newest_first))
    assert [e.details["log_entry_type"] for e in timeline.events] == ["trigger_log_entry", "assign_log_entry"]


def test_log_entries_listed_newest_first_come_out_oldest_first():
    listed = json.loads((EXAMPLE / "log_entries.json").read_text(encoding="utf-8"))["log_entries"]
    assert listed[0]["type"] == "resolve_log_entry"  # as PagerDuty lists them
    events = events_of(log_entries=listed)
    times = [e.at for e in events if "log_entry_type" in e.details]
    assert times == sorted(times)


# --- who is an actor, and whose records these are ----------------------------------------


def test_a_note_an_event_rule_added_has_no_actor(kit):
    people, rule = kit.load("pd_incident_notes.spec.json")["notes"]
    assert rule["user"]["type"] == "bot_user_reference"
    event = mapping.note_event(rule)
    assert event.actor is None
    assert (event.details["agent"], event.details["agent_type"]) == ("A Global Event Rule", "bot_user_reference")
    assert mapping.note_event(people).actor == "Earline Greenholt"


def test_log_entries_of_another_incident_are_left_out_with_a_gap_that_says_so(kit):
    skips = mapping.Skips()
    incident = kit.spec_incident()  # PT4KHLK; the developer docs' four entries are of PRORDTY
    events = mapping.timeline(
        log_entries=kit.published_log_entries(verbatim=True),
        alerts=[],
        notes=[],
        service=None,
        skips=skips,
        incident=incident,
    )
    assert [e.native_id for e in events] == ["Q02JTSNZWHSEKV"]
    (gap,) = skips.gaps()
    assert (
        gap.reason
        == "log_entries of other incidents: 4 record(s) skipped (the first is of incident PRORDTY, not PT4KHLK)"
    )
    assert gap.count == 4


# --- an incident not resolved yet ------------------------------------------------------------


def test_an_incident_still_triggered_gives_a_provisional_retro_that_says_so(kit, tmp_path):
    reply = kit.load("pd_incident_eu_triggered.contenthub.json")  # a real EU account, no log saved
    retro = saved_retro(tmp_path, "Q1NJENORB5TPAU", {"incident.json": reply})
    provisional = [g for g in retro.gaps if g.kind == "incomplete"]
    assert [g.reason for g in provisional] == [
        "incident Q1NJENORB5TPAU is triggered, not resolved: this retro is provisional; "
        "build it again once the incident is resolved"
    ]
    # its creation is the first alert: "Triggered through the website." by a person
    assert retro.timeline.moments.first_alert == datetime(2023, 4, 3, 9, 42, 54, tzinfo=UTC)
    (trigger,) = retro.timeline.events
    assert (trigger.native_id, trigger.summary) == ("RS4E640MOTRXX7NN2STVY3C35D", "TEST TEST 3")
    assert trigger.details["manual"] is True
    assert "missing-runbook" not in {f.key for f in retro.factors}


def test_a_resolved_incident_is_not_provisional(kit):
    assert mapping.provisional_gap(mapping.incident_from_reply(kit.spec_incident())) is None
