"""PagerDuty API replies → retroflow's model: the incident, its timeline events, history.

Pure functions over the decoded JSON of the REST API v2 (live or saved). A record with a
missing or odd field is skipped and counted, never a crash: :class:`Skips` collects them
and turns them into one :class:`~retroflow.Gap` per kind of record.

:func:`timeline` reads one incident's records as the responders lived them: log entries
in time order (PagerDuty lists them newest first), records of other incidents left out,
an alert and its own trigger log entry as one signal, the automatic first assignment
marked as such, and the incident's creation standing in for a trigger the log lacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from retroflow import Event, EventKind, Gap, Incident
from retroflow.sources import BadRecord, SkippedRecords
from retroflow.sources import record_time as _timestamp

__all__ = [
    "LOG_ENTRY_KINDS",
    "SOURCE",
    "BadRecord",
    "Skips",
    "alert_event",
    "history_incident",
    "incident_from_reply",
    "log_entry_event",
    "note_event",
    "provisional_gap",
    "service_name",
    "timeline",
]

SOURCE = "pagerduty"

#: What each log entry type was to the responders. A type not listed (PagerDuty adds
#: some now and then) becomes a ``response`` event with its type in the details.
LOG_ENTRY_KINDS: Mapping[str, EventKind] = {
    "trigger_log_entry": EventKind.ALERT,
    "notify_log_entry": EventKind.PAGE,
    "acknowledge_log_entry": EventKind.ACK,
    "acknowledgement_log_entry": EventKind.ACK,  # the spelling one schema of the spec uses
    "unacknowledge_log_entry": EventKind.RESPONSE,
    "assign_log_entry": EventKind.RESPONSE,
    "delegate_log_entry": EventKind.RESPONSE,
    "escalate_log_entry": EventKind.RESPONSE,
    "reassign_log_entry": EventKind.RESPONSE,
    "responder_request_log_entry": EventKind.RESPONSE,
    "responder_accept_log_entry": EventKind.RESPONSE,
    "repeat_escalation_path_log_entry": EventKind.RESPONSE,
    "exhaust_escalation_path_log_entry": EventKind.RESPONSE,
    "reach_ack_limit_log_entry": EventKind.RESPONSE,
    "reach_trigger_limit_log_entry": EventKind.RESPONSE,
    "snooze_log_entry": EventKind.RESPONSE,
    "urgency_change_log_entry": EventKind.RESPONSE,
    "priority_change_log_entry": EventKind.RESPONSE,
    "status_update_log_entry": EventKind.RESPONSE,
    "field_value_change_log_entry": EventKind.RESPONSE,
    "custom_field_value_change_log_entry": EventKind.RESPONSE,
    "annotate_log_entry": EventKind.MESSAGE,
    "resolve_log_entry": EventKind.RESOLUTION,
}

_PERSON_TYPES = frozenset({"user", "user_reference"})
#: Channels of a trigger a person raised by hand (the web app, the mobile app).
_MANUAL_CHANNELS = frozenset({"web_trigger", "mobile"})
_RUNBOOK = re.compile(r"runbook|playbook|wiki", re.IGNORECASE)


class Skips(SkippedRecords):
    """Records skipped so far, by what they were, with the first reason of each."""

    source = SOURCE


# --- small readers --------------------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _ref_name(value: Any) -> str | None:
    """The human name of a reference object (``summary``, else ``name``)."""
    if not isinstance(value, Mapping):
        return None
    return _text(value.get("summary")) or _text(value.get("name"))


def _ref_names(values: Any, key: str | None = None) -> list[str]:
    """Names of a list of references (or of ``item[key]`` for assignment-like lists)."""
    if not isinstance(values, list):
        return []
    names = []
    for item in values:
        ref = item.get(key) if key and isinstance(item, Mapping) else item
        name = _ref_name(ref)
        if name and name not in names:
            names.append(name)
    return names


def _required_text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not _text(value):
        raise BadRecord(f"missing {key!r}")
    return str(value)


def _optional_timestamp(record: Mapping[str, Any], key: str) -> datetime | None:
    try:
        return _timestamp(record, key)
    except BadRecord:
        return None


def _links(*sources: Any) -> dict[str, Any]:
    """``links`` (every href) and ``runbook`` (the first that looks like one) from the
    ``contexts`` lists of a log entry or alert, from custom alert details and from what a
    trigger's integration sent (its ``channel.details``)."""
    hrefs: list[str] = []
    runbook: str | None = None
    for contexts in sources:
        if isinstance(contexts, Mapping):  # alert body details: {"runbook": "https://..."}
            for key, value in contexts.items():
                if isinstance(value, str) and value.startswith(("http://", "https://")):
                    if value not in hrefs:
                        hrefs.append(value)
                    if runbook is None and _RUNBOOK.search(str(key)):
                        runbook = value
            continue
        if not isinstance(contexts, list):
            continue
        for context in contexts:
            if not isinstance(context, Mapping) or not _text(context.get("href")):
                continue
            href = str(context["href"])
            if href not in hrefs:
                hrefs.append(href)
            if runbook is None and (_RUNBOOK.search(href) or _RUNBOOK.search(str(context.get("text") or ""))):
                runbook = href
    found: dict[str, Any] = {}
    if hrefs:
        found["links"] = hrefs
    if runbook:
        found["runbook"] = runbook
    return found


def service_name(record: Mapping[str, Any]) -> str | None:
    """The name of the service a record (incident, alert, log entry) is about."""
    return _ref_name(record.get("service"))


# --- events ---------------------------------------------------------------------------


def _entry_details(entry: Mapping[str, Any], entry_type: str, kind: EventKind) -> dict[str, Any]:
    """What a log entry says beyond its summary, under the documented detail keys."""
    channel = _mapping(entry.get("channel"))
    agent = _mapping(entry.get("agent"))
    details: dict[str, Any] = {"log_entry_type": entry_type}
    if _text(channel.get("type")):
        details["channel"] = channel["type"]
    notification = _mapping(channel.get("notification"))
    if _text(notification.get("type")):
        details["notification"] = notification["type"]
    if _text(notification.get("status")):
        details["notification_status"] = notification["status"]
    if _text(agent.get("type")):
        details["agent_type"] = agent["type"]
    if kind is EventKind.RESPONSE:
        details["action"] = entry_type.removesuffix("_log_entry")
    assignees = _ref_names(entry.get("assignees"))
    if assignees:
        details["assignees"] = assignees
    if _text(entry.get("note")):
        details["note"] = entry["note"]
    changeset = entry.get("changeset")
    if isinstance(changeset, list) and changeset:
        details["changeset"] = [str(c) for c in changeset]
    event_details = entry.get("event_details")
    if isinstance(event_details, Mapping) and _text(event_details.get("description")):
        details["description"] = event_details["description"]
    for key in ("escalation_level", "urgency", "acknowledgement_timeout"):
        value = entry.get(key, channel.get(key))
        if isinstance(value, str | int) and not isinstance(value, bool):
            details[key] = value
    priority = _ref_name(entry.get("priority")) or _ref_name(channel.get("priority"))
    if priority:
        details["priority"] = priority
    # What the integration or the person sent: the alert's body for a trigger.
    sent = channel.get("details")
    if _text(sent) or (isinstance(sent, Mapping) and sent):
        details["channel_details"] = dict(sent) if isinstance(sent, Mapping) else sent
    details.update(_links(entry.get("contexts"), sent if isinstance(sent, Mapping) else None))
    return details


def _alert_text(entry: Mapping[str, Any]) -> str | None:
    """What a trigger was about, in the words of whoever raised it (the log entry's own
    summary only says how: "Triggered through the website")."""
    channel = _mapping(entry.get("channel"))
    event_details = _mapping(entry.get("event_details"))
    return (
        _text(channel.get("summary"))
        or _text(channel.get("subject"))
        or _text(channel.get("description"))
        or _text(event_details.get("description"))
    )


def log_entry_event(entry: Any, *, service: str | None = None) -> Event:
    """One log entry as an event (``native_id`` = the log entry id).

    :raises BadRecord: the entry has no id, type or valid ``created_at``.
    """
    if not isinstance(entry, Mapping):
        raise BadRecord("not a JSON object")
    entry_id = _required_text(entry, "id")
    entry_type = _required_text(entry, "type")
    at = _timestamp(entry, "created_at")
    kind = LOG_ENTRY_KINDS.get(entry_type, EventKind.RESPONSE)
    channel = _mapping(entry.get("channel"))
    agent = _mapping(entry.get("agent"))
    details = _entry_details(entry, entry_type, kind)
    action = entry_type.removesuffix("_log_entry")

    # A person did it, or PagerDuty did (a service, an escalation policy, a rule): only
    # people are actors, so heuristics that count responders count people.
    actor = _ref_name(agent) if agent.get("type") in _PERSON_TYPES else None
    if actor is None and _ref_name(agent):
        details["agent"] = _ref_name(agent)
    summary = _text(entry.get("summary")) or action.replace("_", " ")
    if entry_type == "notify_log_entry":
        # The person notified is who the page was for; the agent is what sent it.
        notified = _mapping(channel.get("notification")).get("user")
        actor = _ref_name(entry.get("user")) or _ref_name(notified) or actor
        via = str(details.get("notification") or details.get("channel") or "").removesuffix("_notification")
        if via and via not in summary:
            summary = f"{summary} (via {via})"
    elif entry_type == "annotate_log_entry":
        summary = _text(channel.get("summary")) or summary
    elif entry_type == "trigger_log_entry":
        text = _alert_text(entry)
        if text and text != summary:
            details["pagerduty_summary"] = summary
            summary = text
        if actor is not None or channel.get("type") in _MANUAL_CHANNELS:
            details["manual"] = True  # a person raised it: not a monitor
    return Event.create(
        at=at,
        source=SOURCE,
        kind=kind,
        summary=summary,
        native_id=entry_id,
        actor=actor,
        service=service_name(entry) or service,
        link=_text(entry.get("html_url")),
        details=details,
    )


def alert_event(alert: Any, *, service: str | None = None) -> Event:
    """One alert as an ``alert`` event (``native_id`` = the alert id)."""
    if not isinstance(alert, Mapping):
        raise BadRecord("not a JSON object")
    alert_id = _required_text(alert, "id")
    at = _timestamp(alert, "created_at")
    details: dict[str, Any] = {"pagerduty_type": "alert"}
    for key in ("status", "severity", "alert_key"):
        if _text(alert.get(key)):
            details[key] = alert[key]
    if isinstance(alert.get("suppressed"), bool):
        details["suppressed"] = alert["suppressed"]
    integration = _ref_name(alert.get("integration"))
    if integration:
        details["integration"] = integration
    trigger = _mapping(alert.get("first_trigger_log_entry"))
    if _text(trigger.get("id")):
        details["trigger_log_entry"] = trigger["id"]
    body = _mapping(alert.get("body"))
    custom = _mapping(body.get("details"))
    details.update(_links(body.get("contexts"), custom))
    return Event.create(
        at=at,
        source=SOURCE,
        kind=EventKind.ALERT,
        summary=_text(alert.get("summary")) or f"alert {alert_id}",
        native_id=alert_id,
        service=service_name(alert) or service,
        link=_text(alert.get("html_url")),
        details=details,
    )


def note_event(note: Any, *, service: str | None = None) -> Event:
    """One incident note as a ``message`` event (``native_id`` = the note id). Its author
    is the actor when a person wrote it; a note a service or an event rule added
    (``bot_user_reference``) names it in ``details["agent"]`` instead."""
    if not isinstance(note, Mapping):
        raise BadRecord("not a JSON object")
    note_id = _required_text(note, "id")
    at = _timestamp(note, "created_at")
    content = _required_text(note, "content")
    details: dict[str, Any] = {"pagerduty_type": "note"}
    channel = _ref_name(note.get("channel"))
    if channel:
        details["channel"] = channel
    user = _mapping(note.get("user"))
    author = _ref_name(user)
    person = user.get("type") in _PERSON_TYPES or "type" not in user  # PagerDuty: a bot says so
    if author and not person:
        details["agent"] = author
        details["agent_type"] = user["type"]
    return Event.create(
        at=at,
        source=SOURCE,
        kind=EventKind.MESSAGE,
        summary=content,
        native_id=note_id,
        actor=author if person else None,
        service=service,
        details=details,
    )


def timeline(
    *,
    log_entries: Iterable[Any],
    alerts: Iterable[Any],
    notes: Iterable[Any],
    service: str | None,
    skips: Skips,
    incident: Mapping[str, Any] | None = None,
) -> list[Event]:
    """Every event of one incident, as the responders lived it:

    * log entries in time order (PagerDuty lists them newest first; same-second entries
      keep PagerDuty's order, the trigger before its assignment);
    * log entries and alerts of another incident (``incident.id``) left out, counted;
    * an alert folded into its own trigger log entry: one signal, not two;
    * the automatic first assignment marked ``details["initial"]`` (not a hand-off);
    * the incident's first trigger, from ``incident``, when the log entries lack it;
    * an ``annotate`` log entry that repeats a note (same text) left out: the note is the
      same fact, with its author.
    """
    incident_id = _text(incident.get("id")) if incident else None
    note_events = list(_read(notes, "notes", note_event, service, skips))
    note_texts = {event.summary.strip() for event in note_events}
    entries = _chronological(_own(log_entries, "log_entries", incident_id, skips))
    entry_events = [
        event
        for event in _read(entries, "log_entries", log_entry_event, service, skips)
        if not (event.details.get("log_entry_type") == "annotate_log_entry" and event.summary.strip() in note_texts)
    ]
    entry_events = _mark_initial_assignment(entry_events)
    if incident is not None:
        entry_events = _with_first_trigger(incident, entry_events, service)
    alert_events = list(_read(_own(alerts, "alerts", incident_id, skips), "alerts", alert_event, service, skips))
    return [*_fold_alerts(entry_events, alert_events), *note_events]


def _read(
    records: Iterable[Any], what: str, to_event: Callable[..., Event], service: str | None, skips: Skips
) -> Iterator[Event]:
    """The events of ``records``; the ones that cannot be read are counted in ``skips``."""
    for record in records:
        try:
            yield to_event(record, service=service)
        except BadRecord as exc:
            skips.add(what, str(exc))


def _own(records: Iterable[Any], what: str, incident_id: str | None, skips: Skips) -> Iterator[Any]:
    """The records about ``incident_id``: one that names another incident in its
    ``incident`` reference (a saved file mixed up, a merged incident) is counted and left out."""
    for record in records:
        other = _text(_mapping(_mapping(record).get("incident")).get("id"))
        if incident_id is not None and other is not None and other != incident_id:
            skips.add(f"{what} of other incidents", f"the first is of incident {other}, not {incident_id}")
            continue
        yield record


def _chronological(entries: Iterable[Any]) -> list[Any]:
    """Log entries oldest first. PagerDuty lists an incident's log newest first; reversing
    the list (rather than sorting it) keeps its order among entries of the same second.
    When the times cannot tell (all in one second), the trigger, an incident's first
    entry, does."""
    listed = list(entries)
    times = [t for t in map(_created, listed) if t is not None]
    if times and times[0] != times[-1]:
        newest_first = times[0] > times[-1]
    else:
        types = [_mapping(entry).get("type") for entry in listed]
        newest_first = "trigger_log_entry" in types[1:] and types[0] != "trigger_log_entry"
    if newest_first:
        listed.reverse()
    return listed


def _created(record: Any) -> datetime | None:
    return _optional_timestamp(record, "created_at") if isinstance(record, Mapping) else None


_HANDOFF_ACTIONS = frozenset({"assign", "reassign", "escalate", "delegate"})


def _mark_initial_assignment(events: list[Event]) -> list[Event]:
    """The escalation policy's automatic first assignment ("Assigned to bob." by the
    policy, at the trigger) gives the incident its first owner; nobody handed it on."""
    first = next((e for e in events if e.details.get("action") in _HANDOFF_ACTIONS), None)
    if first is None or first.details.get("action") != "assign" or first.actor is not None:
        return events
    marked = attrs.evolve(first, details={**first.details, "initial": True})
    return [marked if e is first else e for e in events]


_WEBSITE = re.compile(r"\bwebsite\b", re.IGNORECASE)


def _with_first_trigger(incident: Mapping[str, Any], events: list[Event], service: str | None) -> list[Event]:
    """The incident's first trigger, when the log entries do not hold it (none saved, or
    past the API's 10,000): its ``first_trigger_log_entry`` at ``created_at``, the moment
    PagerDuty opened the incident. Without the reference, only when no trigger is known."""
    created = _optional_timestamp(incident, "created_at")
    if created is None:
        return events
    reference = _mapping(incident.get("first_trigger_log_entry"))
    native_id = _text(reference.get("id"))
    triggers = [e for e in events if e.details.get("log_entry_type") == "trigger_log_entry"]
    if any(e.native_id == native_id for e in triggers) or (native_id is None and triggers):
        return events
    how = _text(reference.get("summary"))
    details: dict[str, Any] = {"log_entry_type": "trigger_log_entry", "from_incident": True}
    if how:
        details["pagerduty_summary"] = how
        if _WEBSITE.search(how):  # PagerDuty's words for a trigger a person raised
            details["manual"] = True
    trigger = Event.create(
        at=created,
        source=SOURCE,
        kind=EventKind.ALERT,
        summary=_text(incident.get("title")) or how or "incident triggered",
        native_id=native_id or f"{_required_text(incident, 'id')}-trigger",
        service=service,
        link=_text(reference.get("html_url")),
        details=details,
    )
    return [trigger, *events]


def _fold_alerts(entries: list[Event], alerts: list[Event]) -> list[Event]:
    """An alert and the trigger log entry it raised are one signal: the alert's severity,
    status and links go onto the trigger (``details["alert_id"]``). An alert names its
    trigger (``first_trigger_log_entry``); without that, a trigger of the same second and
    text is its own. Each trigger takes one alert: later alerts stay alerts."""
    triggers = {e.native_id: e for e in entries if e.details.get("log_entry_type") == "trigger_log_entry"}
    folded: dict[str, Event] = {}
    kept: list[Event] = []
    for alert in alerts:
        trigger = triggers.get(str(alert.details.get("trigger_log_entry", "")))
        if trigger is not None and trigger.at != alert.at and alert.summary != trigger.summary:
            trigger = None  # names the trigger, but is a later re-trigger of it
        if trigger is None:
            trigger = next((t for t in triggers.values() if t.at == alert.at and t.summary == alert.summary), None)
        if trigger is None or trigger.native_id in folded:
            kept.append(alert)
            continue
        folded[trigger.native_id] = _fold(trigger, alert)
    return [*(folded.get(e.native_id, e) for e in entries), *kept]


def _fold(trigger: Event, alert: Event) -> Event:
    details = dict(trigger.details)
    for key, value in alert.details.items():
        if key not in ("pagerduty_type", "trigger_log_entry", "links"):
            details.setdefault(key, value)
    links = [*trigger.details.get("links", ()), *alert.details.get("links", ())]
    if links:
        details["links"] = list(dict.fromkeys(links))
    details["alert_id"] = alert.native_id
    if alert.link:
        details["alert_link"] = alert.link
    summary = trigger.summary
    if "pagerduty_summary" not in details and alert.summary != summary:
        # The trigger only said how ("Triggered through the API"); the alert says what.
        details["pagerduty_summary"] = summary
        summary = alert.summary
    return attrs.evolve(trigger, summary=summary, details=details)


# --- incidents ------------------------------------------------------------------------


def _people(data: Mapping[str, Any], status: str | None) -> dict[str, Any]:
    """Who the incident went to, who acknowledged, responded and resolved it."""
    details: dict[str, Any] = {}
    for key, names in (
        ("assignees", _ref_names(data.get("assignments"), "assignee")),
        ("acknowledgers", _ref_names(data.get("acknowledgements"), "acknowledger")),
        ("responders", _ref_names(data.get("incidents_responders"), "user")),
    ):
        if names:
            details[key] = names
    resolved_by = _ref_name(data.get("last_status_change_by")) if status == "resolved" else None
    if resolved_by:
        details["resolved_by"] = resolved_by
    return details


def _external_references(value: Any) -> list[dict[str, str]]:
    """Links to the incident's records elsewhere (a Slack channel, a ticket), in one shape
    whatever shape PagerDuty gives: ``type``, ``name``, ``external_id``, ``url``."""
    references = []
    for item in value if isinstance(value, list) else ():
        if not isinstance(item, Mapping):
            continue
        reference = {
            "type": _text(item.get("type")),
            "name": _text(item.get("summary")) or _text(item.get("external_name")) or _text(item.get("name")),
            "external_id": _text(item.get("external_id")) or _text(item.get("integration_id")),
            "url": _text(item.get("external_url")) or _text(item.get("html_url")) or _text(item.get("url")),
        }
        kept = {key: value for key, value in reference.items() if value}
        if kept:
            references.append(kept)
    return references


def _conference_bridge(value: Any) -> dict[str, str]:
    bridge = _mapping(value)
    found = {"number": _text(bridge.get("conference_number")), "url": _text(bridge.get("conference_url"))}
    return {key: value for key, value in found.items() if value}


def _record_details(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the incident record holds for a retro beyond the model's fields."""
    details: dict[str, Any] = {}
    if isinstance(data.get("incident_number"), int):
        details["number"] = data["incident_number"]
    status = _text(data.get("status"))
    if status:
        details["status"] = status
    for key, value in (
        ("description", _text(data.get("description"))),
        ("incident_type", _ref_name(data.get("incident_type"))),
        ("escalation_policy", _ref_name(data.get("escalation_policy"))),
        ("impacted_services", _ref_names(data.get("impacted_services"))),
        ("conference_bridge", _conference_bridge(data.get("conference_bridge"))),
        ("external_references", _external_references(data.get("external_references"))),
    ):
        if value:
            details[key] = value
    details.update(_people(data, status))
    for key in ("incident_key", "resolve_reason"):
        if _text(data.get(key)):
            details[key] = data[key]
    if isinstance(data.get("alert_counts"), Mapping):
        details["alert_counts"] = dict(data["alert_counts"])
    return details


def _services(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The incident's service, then the other services it impacted (by id: one service
    under two spellings is still one)."""
    service = _mapping(data.get("service"))
    names = [_ref_name(service)]
    seen = {_text(service.get("id"))}
    for impacted in data.get("impacted_services") or ():
        if isinstance(impacted, Mapping) and _text(impacted.get("id")) not in seen:
            seen.add(_text(impacted.get("id")))
            names.append(_ref_name(impacted))
    return tuple(dict.fromkeys(name for name in names if name))


def _incident_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an incident record and a history record share."""
    incident_id = _required_text(data, "id")
    status = _text(data.get("status"))
    resolved = _optional_timestamp(data, "resolved_at")
    if resolved is None and status == "resolved":
        resolved = _optional_timestamp(data, "last_status_change_at")
    title = _text(data.get("title")) or _text(data.get("summary")) or ""
    details = _record_details(data)
    links = [
        _text(data.get("html_url")),
        details.get("conference_bridge", {}).get("url"),
        *(reference.get("url") for reference in details.get("external_references", ())),
    ]
    return {
        "id": incident_id,
        "title": title,
        "source": SOURCE,
        "services": _services(data),
        "urgency": _text(data.get("urgency")),
        "priority": _ref_name(data.get("priority")),
        "teams": tuple(_ref_names(data.get("teams"))),
        "created": _optional_timestamp(data, "created_at"),
        "resolved": resolved,
        "links": tuple(dict.fromkeys(link for link in links if link)),
        "details": details,
    }


def incident_from_reply(data: Any, events: Sequence[Event] = ()) -> Incident:
    """The incident of a ``GET /incidents/{id}`` reply's ``incident`` object.

    The resolve log entry, when there is one, is the resolve time (it is what happened);
    ``resolved_at`` or, for a resolved incident, ``last_status_change_at`` stand in.

    :raises BadRecord: the object has no ``id``.
    """
    if not isinstance(data, Mapping):
        raise BadRecord("the incident is not a JSON object")
    fields = _incident_fields(data)
    resolves = [e.at for e in events if e.kind is EventKind.RESOLUTION]
    if resolves:
        fields["resolved"] = max(resolves)
    return Incident(**fields)


def provisional_gap(incident: Incident) -> Gap | None:
    """A gap saying the retro is provisional when the incident is not resolved yet: what
    happens next (mitigation, resolution, the people who joined) is not on its timeline."""
    if incident.resolved is not None:
        return None
    status = incident.details.get("status") or "not resolved"
    return Gap(
        SOURCE,
        "collect",
        "incomplete",
        f"incident {incident.id} is {status}, not resolved: this retro is provisional; "
        "build it again once the incident is resolved",
    )


def history_incident(data: Any) -> Incident:
    """A past incident from a ``GET /incidents`` reply (for recurrence and frequency)."""
    if not isinstance(data, Mapping):
        raise BadRecord("not a JSON object")
    return Incident(**_incident_fields(data))
