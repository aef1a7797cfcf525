"""JSM Operations / Opsgenie replies → retroflow's model, the way PagerDuty's are mapped.

The alert is the incident, and its ``alert`` event (the trigger). Its log is what the
responders did, one event per line, read by the words Opsgenie writes (JSM Operations keeps
them): a notification is a ``page`` to the person notified, an acknowledgement an ``ack``,
escalations and assignments ``response`` events with ``details["action"]`` = ``escalate``,
``assign``…, closing the alert the ``resolution``. So the responder heuristics (slow
acknowledgement, late escalation, ownership churn, out-of-hours pages) read an Opsgenie
team's alert as they read a PagerDuty incident. Notes are ``message`` events.

Log lines that say nothing about responding are left out: the alert's creation (the alert
event is that fact), views ("Viewed on [web]": reading is not responding) and notes (read from
the notes themselves). Ids are the alert's id and each line's ``offset``, the same on every
run. A record with a missing or odd field is skipped and counted, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from retroflow import Event, EventKind, Incident, stable_id
from retroflow.sources import BadRecord, SkippedRecords
from retroflow.sources import record_time as _timestamp

from .settings import ServiceMap

__all__ = ["LOG_RULES", "SOURCE", "AlertContext", "BadRecord", "Skips", "incident_of", "timeline"]

SOURCE = "jsm"


@attrs.frozen
class LogRule:
    """Log lines matching ``pattern`` are ``kind`` events (``None``: left out)."""

    pattern: re.Pattern[str]
    kind: EventKind | None
    action: str | None = None


def _rule(pattern: str, kind: EventKind | None, action: str | None = None) -> LogRule:
    return LogRule(re.compile(pattern, re.IGNORECASE), kind, action)


#: The first rule that matches a log line decides; a line no rule matches is a ``response``
#: with ``details["action"] = "update"``.
LOG_RULES: tuple[LogRule, ...] = (
    _rule(r"^\s*viewed\b", None),
    _rule(r"\bnote\b", None),
    _rule(r"\bun-?acknowledg", EventKind.RESPONSE, "unacknowledge"),
    _rule(r"\backnowledg", EventKind.ACK),
    _rule(r"\bescalat", EventKind.RESPONSE, "escalate"),
    _rule(r"\bre-?assign", EventKind.RESPONSE, "reassign"),
    _rule(r"\bassign|\bownership\b|\btook owner", EventKind.RESPONSE, "assign"),
    _rule(r"\bresponder|\badded team\b|\bteam added\b", EventKind.RESPONSE, "add_responder"),
    _rule(r"\bsnooz", EventKind.RESPONSE, "snooze"),
    _rule(r"\bnotif|\bsent\b|\bcalled\b|\bpaged\b", EventKind.PAGE),
    _rule(r"\bclos(?:e|ed|ing)\b|\bresolved\b", EventKind.RESOLUTION),
    _rule(r"\bcreated\b", None),
)
_BRACKETS = re.compile(r"\[([^\]]+)\]")
_CHANNELS = ("sms", "voice", "email", "mobile", "push", "phone", "slack", "teams")
_URL = re.compile(r"https?://[^\s)\]>|\"']+")
_RUNBOOK = re.compile(r"runbook|playbook|wiki", re.IGNORECASE)
_TOOLS = frozenset({"system", "opsgenie", "jsm", "jira service management", "atlassian"})


class Skips(SkippedRecords):
    """Records skipped so far, by what they were, with the first reason of each."""

    source = SOURCE


# --- small readers --------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str) and v.strip()] if isinstance(value, list) else []


@attrs.frozen
class AlertContext:
    """What every event of one alert shares: its id, service, and the names of the tools
    (its integration and source) that act on it, which are not responders."""

    alert_id: str
    service: str | None
    tools: frozenset[str]

    @classmethod
    def of(cls, alert: Mapping[str, Any], services: ServiceMap) -> AlertContext:
        integration = alert.get("integration")
        names = {
            _text(alert.get("source")),
            _text(integration.get("name")) if isinstance(integration, Mapping) else None,
        }
        return cls(str(alert["id"]), service_of(alert, services), frozenset(n.lower() for n in names if n) | _TOOLS)

    def person(self, owner: Any) -> str | None:
        """``owner`` when it is a person, not the system or an integration."""
        name = _text(owner)
        return name if name and name.lower() not in self.tools else None


def _teams(alert: Mapping[str, Any]) -> list[str]:
    """The ids of the alert's responders that are teams."""
    responders = alert.get("responders")
    if not isinstance(responders, list):
        return []
    return [
        str(r["id"]) for r in responders if isinstance(r, Mapping) and r.get("type") == "team" and _text(r.get("id"))
    ]


def service_of(alert: Mapping[str, Any], services: ServiceMap) -> str | None:
    """The mapped service (teams, then tags), else the ``service`` detail, else a
    ``service:<name>`` tag."""
    tags = _strings(alert.get("tags"))
    mapped = services.service_of(tags, _teams(alert))
    if mapped:
        return mapped
    details = alert.get("details")
    if isinstance(details, Mapping) and _text(details.get("service")):
        return str(details["service"]).strip()
    return next((t.split(":", 1)[1] for t in tags if t.startswith("service:") and t != "service:"), None)


# --- events ---------------------------------------------------------------------------


def alert_event(alert: Mapping[str, Any], context: AlertContext) -> Event:
    """The alert as the ``alert`` event that started it all (``native_id`` = its id)."""
    details: dict[str, Any] = {}
    for key in ("tinyId", "alias", "priority", "source", "status", "entity"):
        if _text(alert.get(key)):
            details[key if key != "tinyId" else "tiny_id"] = alert[key]
    tags = _strings(alert.get("tags"))
    if tags:
        details["tags"] = tags
    if isinstance(alert.get("count"), int) and alert["count"] > 1:
        details["count"] = alert["count"]
    integration = alert.get("integration")
    if isinstance(integration, Mapping) and _text(integration.get("name")):
        details["integration"] = integration["name"]
    custom = alert.get("details")
    urls = [v for v in custom.values() if isinstance(v, str)] if isinstance(custom, Mapping) else []
    urls += _URL.findall(str(alert.get("description") or ""))
    runbook = next((u for u in urls if _URL.fullmatch(u) and _RUNBOOK.search(u)), None)
    if runbook:
        details["runbook"] = runbook
    return Event.create(
        at=_timestamp(alert, "createdAt"),
        source=SOURCE,
        kind=EventKind.ALERT,
        summary=_text(alert.get("message")) or f"alert {context.alert_id}",
        native_id=context.alert_id,
        service=context.service,
        details=details,
    )


def _rule_for(text: str) -> LogRule | None:
    return next((rule for rule in LOG_RULES if rule.pattern.search(text)), None)


def _recipient(text: str, context: AlertContext, owner: Any) -> tuple[str | None, str | None]:
    """Who a notification went to (a bracketed address, else the line's owner) and how."""
    brackets = _BRACKETS.findall(text)
    channel = next((b for b in brackets if b.strip().lower().split()[0] in _CHANNELS), None) if brackets else None
    person = next((b.strip() for b in brackets if "@" in b), None)
    return person or context.person(owner), channel


def _listed(record: Any, key: str) -> tuple[Mapping[str, Any], str, datetime, str]:
    """A log line or a note: the record, its text (``key``), its time, and its ``offset``
    in the list (else an id made of its time and text).

    :raises BadRecord: not an object, no ``key`` text or no valid ``createdAt``.
    """
    if not isinstance(record, Mapping):
        raise BadRecord("not a JSON object")
    text = _text(record.get(key))
    if text is None:
        raise BadRecord(f"missing {key!r}")
    offset = _text(record.get("offset")) or stable_id(record.get("createdAt"), text)
    return record, text, _timestamp(record, "createdAt"), offset


def log_event(entry: Any, context: AlertContext) -> Event | None:
    """One log line as an event, or ``None`` for a line that is left out.

    :raises BadRecord: not an object, no ``log`` text or no valid ``createdAt``.
    """
    entry, text, at, offset = _listed(entry, "log")
    rule = _rule_for(text)
    if rule is None:
        kind, action = EventKind.RESPONSE, "update"
    elif rule.kind is None:
        return None
    else:
        kind, action = rule.kind, rule.action or "update"
    details: dict[str, Any] = {"log_type": entry["type"]} if _text(entry.get("type")) else {}
    actor = context.person(entry.get("owner"))
    if kind is EventKind.PAGE:
        actor, channel = _recipient(text, context, entry.get("owner"))
        if channel:
            details["channel"] = channel.strip().lower()
    elif kind is EventKind.RESPONSE:
        details["action"] = action
        if details["action"] == "escalate":
            actor = None  # the escalation policy escalated; whoever it reached is paged next
    if actor is None and _text(entry.get("owner")):
        details["owner"] = entry["owner"]
    return Event.create(
        at=at,
        source=SOURCE,
        kind=kind,
        summary=text,
        native_id=f"{context.alert_id}/log/{offset}",
        actor=actor,
        service=context.service,
        details=details,
    )


def note_event(note: Any, context: AlertContext) -> Event:
    """One note as a ``message`` event.

    :raises BadRecord: not an object, no ``note`` text or no valid ``createdAt``.
    """
    note, text, at, offset = _listed(note, "note")
    return Event.create(
        at=at,
        source=SOURCE,
        kind=EventKind.MESSAGE,
        summary=text,
        native_id=f"{context.alert_id}/note/{offset}",
        actor=context.person(note.get("owner")),
        service=context.service,
        details={"jsm_type": "note"},
    )


def timeline(
    alert: Mapping[str, Any], logs: Iterable[Any], notes: Iterable[Any], context: AlertContext, skips: Skips
) -> list[Event]:
    """Every event of one alert: the alert, its log lines that are responses, its notes."""
    events = [alert_event(alert, context)]
    for entry in logs:
        try:
            event = log_event(entry, context)
        except BadRecord as exc:
            skips.add("logs", str(exc))
            continue
        if event is not None:
            events.append(event)
    events.extend(_notes(notes, context, skips))
    return events


def _notes(notes: Iterable[Any], context: AlertContext, skips: Skips) -> Iterator[Event]:
    for note in notes:
        try:
            yield note_event(note, context)
        except BadRecord as exc:
            skips.add("notes", str(exc))


# --- the incident ---------------------------------------------------------------------


def _resolved(alert: Mapping[str, Any], events: Sequence[Event], created: datetime) -> datetime | None:
    """The close log line, else, for a closed alert, creation + ``report.closeTime`` (ms)."""
    closes = [e.at for e in events if e.kind is EventKind.RESOLUTION]
    if closes:
        return max(closes)
    if alert.get("status") != "closed":
        return None
    report = alert.get("report")
    close_ms = report.get("closeTime") if isinstance(report, Mapping) else None
    if isinstance(close_ms, int) and not isinstance(close_ms, bool):
        return created + timedelta(milliseconds=close_ms)
    return None


def incident_of(alert: Mapping[str, Any], events: Sequence[Event], context: AlertContext) -> Incident:
    """The alert as the incident a retro is about (``id`` = the alert's id)."""
    created = _timestamp(alert, "createdAt")
    details: dict[str, Any] = {}
    for key, name in (("tinyId", "number"), ("alias", "alias"), ("status", "status"), ("owner", "owner")):
        if _text(alert.get(key)):
            details[name] = alert[key]
    report = alert.get("report")
    if isinstance(report, Mapping):
        for key, name in (("acknowledgedBy", "acknowledged_by"), ("closedBy", "closed_by")):
            if _text(report.get(key)):
                details[name] = report[key]
    responders = list(dict.fromkeys(e.actor for e in events if e.actor and e.kind is not EventKind.MESSAGE))
    if responders:
        details["responders"] = responders
    return Incident(
        id=context.alert_id,
        title=_text(alert.get("message")) or "",
        source=SOURCE,
        services=(context.service,) if context.service else (),
        priority=_text(alert.get("priority")),
        teams=tuple(dict.fromkeys(_teams(alert))),
        created=created,
        resolved=_resolved(alert, events, created),
        details=details,
    )
