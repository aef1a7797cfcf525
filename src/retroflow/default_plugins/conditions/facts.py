"""Facts about a timeline that several default heuristics need, found in one pass.

Heuristics are separate plugins called one after another on the same :class:`Timeline`.
Indexing it once (per timeline object) and letting every heuristic walk only the small
list of *notable* events (everything but raw signals) keeps all of them together linear in
the number of events, however many heuristics there are.

Data conventions the default heuristics rely on are documented in ``docs/heuristics.md``.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import attrs

from retroflow.model import Event, EventKind, Incident, Timeline

#: At most this many event ids are cited by one factor; details keep the full count.
MAX_EVIDENCE = 25

#: Actors that are tools, not people (PagerDuty escalating on its own is not a responder).
AUTOMATION_ACTORS = ("pagerduty", "opsgenie", "datadog", "github", "system", "automation", "bot")

#: Kinds on which ``Event.actor`` is a responder.
RESPONDER_KINDS = frozenset({EventKind.PAGE, EventKind.ACK, EventKind.RESPONSE})

_HANDOFF_WORDS = {"escalat": "escalate", "reassign": "reassign", "re-assign": "reassign", "assign": "assign"}
_HANDOFF_RE = re.compile(r"\b(escalat\w*|re-?assign\w*|assign\w*|handed (?:over|off)|hand-?off)\b", re.IGNORECASE)
_RESOLVED_STATES = frozenset({"resolved", "recovered", "ok", "closed", "normal"})
_RECOVERED_RE = re.compile(r"\b(recovered|resolved|back to normal)\b", re.IGNORECASE)
_RUNBOOK_RE = re.compile(r"runbook|playbook", re.IGNORECASE)
_RETRIGGER_RE = re.compile(r"\s*\((?:re-?triggered|again|flapping)\)\s*$", re.IGNORECASE)


@attrs.frozen
class TimelineFacts:
    """What one pass over a timeline shows.

    :ivar notable: every event that is not a raw ``signal`` (alerts, pages, acks, responses,
        changes, messages, decisions, mitigations, resolutions), in time order.
    :ivar first_signal: the first signal or alert.
    :ivar first_by_service: the first signal or alert of each service, in time order.
    :ivar signal_count: how many signals and alerts there are.
    """

    notable: tuple[Event, ...]
    first_signal: Event | None
    first_by_service: Mapping[str, Event]
    signal_count: int

    def of_kind(self, *kinds: EventKind) -> list[Event]:
        return [event for event in self.notable if event.kind in kinds]

    def first(self, kind: EventKind, after: datetime | None = None) -> Event | None:
        for event in self.notable:
            if event.kind is kind and (after is None or event.at >= after):
                return event
        return None


def _index(timeline: Timeline) -> TimelineFacts:
    notable: list[Event] = []
    first_by_service: dict[str, Event] = {}
    first_signal: Event | None = None
    signals = 0
    signal, alert = EventKind.SIGNAL, EventKind.ALERT
    for event in timeline.events:
        kind = event.kind
        if kind is signal or kind is alert:
            signals += 1
            if first_signal is None:
                first_signal = event
            service = event.service
            if service is not None and service not in first_by_service:
                first_by_service[service] = event
            if kind is signal:
                continue
        notable.append(event)
    return TimelineFacts(
        notable=tuple(notable),
        first_signal=first_signal,
        first_by_service=first_by_service,
        signal_count=signals,
    )


_lock = threading.Lock()
_last: tuple[weakref.ref[Timeline], TimelineFacts] | None = None


def facts_of(timeline: Timeline) -> TimelineFacts:
    """The facts of ``timeline``, computed once per timeline object (the last one is kept
    while that timeline lives)."""
    global _last
    with _lock:
        if _last is not None and _last[0]() is timeline:
            return _last[1]
    facts = _index(timeline)
    with _lock:
        _last = (weakref.ref(timeline), facts)
    return facts


# --- reading events by the data conventions ---------------------------------------------


def minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def handoff_of(event: Event) -> str | None:
    """``"escalate"``, ``"reassign"`` or ``"assign"`` when ``event`` hands the incident to
    somebody (a response whose ``details["action"]`` or summary says so), else ``None``."""
    if event.kind is not EventKind.RESPONSE or event.details.get("role") or event.details.get("initial"):
        # Handing out a role (incident commander, scribe) is not a hand-off, nor is the
        # incident's first, automatic assignment: nobody had it before.
        return None
    action = str(event.details.get("action", "")).lower()
    if action:
        for word, name in _HANDOFF_WORDS.items():
            if action.startswith(word):
                return name
        return None
    match = _HANDOFF_RE.search(event.summary)
    if match is None:
        return None
    word = match.group(1).lower()
    if word.startswith("escalat"):
        return "escalate"
    if word.startswith(("reassign", "re-assign", "hand")):
        return "reassign"
    return "assign"


def is_alert_trigger(event: Event) -> bool:
    """An alert that fired (not one reporting its own recovery)."""
    if event.kind is not EventKind.ALERT:
        return False
    state = str(event.details.get("state", "")).lower()
    if state:
        return state not in _RESOLVED_STATES
    return _RECOVERED_RE.search(event.summary) is None


def raised_by_hand(event: Event) -> bool:
    """An alert a person raised (``details["manual"]``: an incident triggered from a web
    page or an app), not a monitor: it has no runbook to link and is not an automated signal."""
    return event.kind is EventKind.ALERT and bool(event.details.get("manual"))


def monitor_of(event: Event) -> str:
    """The monitor an alert came from: ``details["monitor"]`` (or ``alert``, ``rule``),
    else its summary without a "(re-triggered)" suffix."""
    for key in ("monitor", "alert", "rule"):
        value = event.details.get(key)
        if value:
            return str(value)
    return _RETRIGGER_RE.sub("", event.summary)


def runbook_of(event: Event) -> str | None:
    """The runbook an alert links: ``details["runbook"]`` (or ``runbook_url``,
    ``playbook``), a ``link`` naming a runbook, or any details value naming one."""
    for key in ("runbook", "runbook_url", "playbook"):
        value = event.details.get(key)
        if value:
            return str(value)
    if event.link and _RUNBOOK_RE.search(event.link):
        return event.link
    for value in event.details.values():
        if isinstance(value, str) and _RUNBOOK_RE.search(value) and "://" in value:
            return value
    return None


def is_person(actor: str | None, automation: Iterable[str] = AUTOMATION_ACTORS) -> bool:
    return bool(actor) and str(actor).lower() not in {a.lower() for a in automation}


def responders(facts: TimelineFacts, automation: Iterable[str] = AUTOMATION_ACTORS) -> dict[str, Event]:
    """Each responder (actor of a page, ack or response that is a person) and the first
    event that shows them, in order of appearance."""
    tools = {a.lower() for a in automation}
    found: dict[str, Event] = {}
    for event in facts.notable:
        actor = event.actor
        if event.kind in RESPONDER_KINDS and actor and actor.lower() not in tools and actor not in found:
            found[actor] = event
    return found


def affected_services(incident: Incident, facts: TimelineFacts) -> list[str]:
    """The incident's services, then those signals show, in order of first sight."""
    return list(dict.fromkeys([*incident.services, *facts.first_by_service]))


def started(incident: Incident, timeline: Timeline) -> datetime | None:
    """When the incident started: the first moment on the timeline, else its creation."""
    return timeline.moments.start or incident.created


def created_within(history: Iterable[Incident], start: datetime, window: timedelta) -> list[Incident]:
    """The past incidents created in the ``window`` before ``start``, in their order."""
    since = start - window
    return [past for past in history if past.created is not None and since <= past.created < start]


def main_service(incident: Incident, facts: TimelineFacts, *events: Event | None) -> str | None:
    """The service to name in an action: that of the given events, else the first
    signal's, else the incident's first."""
    for event in (*events, facts.first_signal):
        if event is not None and event.service:
            return event.service
    return incident.services[0] if incident.services else None


def cite(events: Iterable[Event | None], limit: int = MAX_EVIDENCE) -> tuple[str, ...]:
    """Event ids to cite, in order, without repeats, at most ``limit``."""
    ids: dict[str, None] = {}
    for event in events:
        if event is not None:
            ids.setdefault(event.id, None)
            if len(ids) >= limit:
                break
    return tuple(ids)


def quoted(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"
