"""PagerDuty API replies → retroflow's model: the incident, its timeline events, history.

Pure functions over the decoded JSON of the REST API v2 (live or saved). A record with a
missing or odd field is skipped and counted, never a crash: :class:`Skips` collects them
and turns them into one :class:`~retroflow.Gap` per kind of record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from retroflow import Event, EventKind, Gap, Incident, parse_timestamp

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
_RUNBOOK = re.compile(r"runbook|playbook|wiki", re.IGNORECASE)


class BadRecord(ValueError):
    """A record this module cannot turn into an event (the message says why)."""


@attrs.define
class Skips:
    """Records skipped so far, by what they were (``log_entries``, ``alerts``, ...)."""

    counts: dict[str, int] = attrs.field(factory=dict)
    first_reason: dict[str, str] = attrs.field(factory=dict)

    def add(self, what: str, reason: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        self.first_reason.setdefault(what, reason)

    def gaps(self) -> tuple[Gap, ...]:
        return tuple(
            Gap(
                SOURCE,
                "collect",
                "skipped",
                f"{what}: {count} record(s) skipped ({self.first_reason[what]})",
                count,
            )
            for what, count in sorted(self.counts.items())
        )


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


def _timestamp(record: Mapping[str, Any], key: str) -> datetime:
    value = record.get(key)
    if not isinstance(value, str):
        raise BadRecord(f"missing {key!r}")
    try:
        return parse_timestamp(value)
    except ValueError:
        raise BadRecord(f"{key} {value!r} is not an ISO 8601 time with an offset") from None


def _optional_timestamp(record: Mapping[str, Any], key: str) -> datetime | None:
    try:
        return _timestamp(record, key)
    except BadRecord:
        return None


def _links(*sources: Any) -> dict[str, Any]:
    """``links`` (every href) and ``runbook`` (the first that looks like one) from the
    ``contexts`` lists of a log entry or alert and from custom alert details."""
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
    action = entry_type.removesuffix("_log_entry")
    if kind is EventKind.RESPONSE:
        details["action"] = action
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
    details.update(_links(entry.get("contexts")))

    # A person did it, or PagerDuty did (a service, an escalation policy, a rule): only
    # people are actors, so heuristics that count responders count people.
    actor = _ref_name(agent) if agent.get("type") in _PERSON_TYPES else None
    if actor is None and _ref_name(agent):
        details["agent"] = _ref_name(agent)
    summary = _text(entry.get("summary")) or action.replace("_", " ")
    if entry_type == "notify_log_entry":
        # The person notified is who the page was for; the agent is what sent it.
        actor = _ref_name(entry.get("user")) or _ref_name(notification.get("user")) or actor
        via = str(details.get("notification") or details.get("channel") or "").removesuffix("_notification")
        if via and via not in summary:
            summary = f"{summary} (via {via})"
    elif entry_type == "annotate_log_entry":
        summary = _text(channel.get("summary")) or summary
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
    """One incident note as a ``message`` event (``native_id`` = the note id)."""
    if not isinstance(note, Mapping):
        raise BadRecord("not a JSON object")
    note_id = _required_text(note, "id")
    at = _timestamp(note, "created_at")
    content = _required_text(note, "content")
    details: dict[str, Any] = {"pagerduty_type": "note"}
    channel = _ref_name(note.get("channel"))
    if channel:
        details["channel"] = channel
    return Event.create(
        at=at,
        source=SOURCE,
        kind=EventKind.MESSAGE,
        summary=content,
        native_id=note_id,
        actor=_ref_name(note.get("user")),
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
) -> list[Event]:
    """Every event of one incident. An ``annotate`` log entry that repeats a note (same
    text) is left out: the note is the same fact, with its author."""
    note_events = list(_read(notes, "notes", note_event, service, skips))
    note_texts = {event.summary.strip() for event in note_events}
    entry_events = [
        event
        for event in _read(log_entries, "log_entries", log_entry_event, service, skips)
        if not (event.details.get("log_entry_type") == "annotate_log_entry" and event.summary.strip() in note_texts)
    ]
    return [*note_events, *entry_events, *_read(alerts, "alerts", alert_event, service, skips)]


def _read(
    records: Iterable[Any], what: str, to_event: Callable[..., Event], service: str | None, skips: Skips
) -> Iterator[Event]:
    """The events of ``records``; the ones that cannot be read are counted in ``skips``."""
    for record in records:
        try:
            yield to_event(record, service=service)
        except BadRecord as exc:
            skips.add(what, str(exc))


# --- incidents ------------------------------------------------------------------------


def _incident_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an incident record and a history record share."""
    incident_id = _required_text(data, "id")
    created = _optional_timestamp(data, "created_at")
    status = _text(data.get("status"))
    resolved = _optional_timestamp(data, "resolved_at")
    if resolved is None and status == "resolved":
        resolved = _optional_timestamp(data, "last_status_change_at")
    service = _ref_name(data.get("service"))
    details: dict[str, Any] = {}
    if isinstance(data.get("incident_number"), int):
        details["number"] = data["incident_number"]
    if status:
        details["status"] = status
    policy = _ref_name(data.get("escalation_policy"))
    if policy:
        details["escalation_policy"] = policy
    assignees = _ref_names(data.get("assignments"), "assignee")
    if assignees:
        details["assignees"] = assignees
    acknowledgers = _ref_names(data.get("acknowledgements"), "acknowledger")
    if acknowledgers:
        details["acknowledgers"] = acknowledgers
    responders = _ref_names(data.get("incidents_responders"), "user")
    if responders:
        details["responders"] = responders
    resolved_by = _ref_name(data.get("last_status_change_by")) if status == "resolved" else None
    if resolved_by:
        details["resolved_by"] = resolved_by
    for key in ("incident_key", "resolve_reason"):
        if _text(data.get(key)):
            details[key] = data[key]
    if isinstance(data.get("alert_counts"), Mapping):
        details["alert_counts"] = dict(data["alert_counts"])
    link = _text(data.get("html_url"))
    return {
        "id": incident_id,
        "title": _text(data.get("title")) or _text(data.get("summary")) or "",
        "source": SOURCE,
        "services": (service,) if service else (),
        "urgency": _text(data.get("urgency")),
        "priority": _ref_name(data.get("priority")),
        "teams": tuple(_ref_names(data.get("teams"))),
        "created": created,
        "resolved": resolved,
        "links": (link,) if link else (),
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


def history_incident(data: Any) -> Incident:
    """A past incident from a ``GET /incidents`` reply (for recurrence and frequency)."""
    if not isinstance(data, Mapping):
        raise BadRecord("not a JSON object")
    return Incident(**_incident_fields(data))
