"""Human-layer heuristics and the actions they propose.

These describe the conditions people worked in, never what a person should have done:

* ``slow-acknowledgement``: the first page waited long for an acknowledgement.
* ``ownership-churn``: the incident was handed on (escalated, reassigned) several times
  before it was fixed.
* ``out-of-hours-page``: responders were paged outside working hours in their time zone.
* ``responder-load``: a responder was already in other incidents in the prior 24 h
  (from the history incidents' ``details["responders"]``).
* ``no-coordinator``: many responders and nobody in the coordinator role.

Settings: ``[plugins.human-conditions]`` (:class:`HumanSettings`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from retroflow import hookimpl
from retroflow.config import Config
from retroflow.default_plugins._plugin_kit import (
    SettingsTable,
    detail,
    minutes_text,
    service_named,
    strength,
    threshold,
)
from retroflow.default_plugins.conditions.facts import (
    AUTOMATION_ACTORS,
    TimelineFacts,
    cite,
    created_within,
    facts_of,
    handoff_of,
    is_person,
    main_service,
    quoted,
    responders,
    started,
)
from retroflow.default_plugins.conditions.keys import (
    NO_COORDINATOR,
    OUT_OF_HOURS,
    OWNERSHIP_CHURN,
    RESPONDER_LOAD,
    SLOW_ACK,
)
from retroflow.default_plugins.conditions.proposers import Proposal, Proposers
from retroflow.default_plugins.conditions.wait import Wait
from retroflow.model import Category, Effort, Event, EventKind, Factor, Incident, Layer, Timeline

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_COORDINATOR_ROLES = frozenset({"incident commander", "incident lead", "coordinator", "ic", "incident manager"})
_COORDINATOR_RE = re.compile(r"(?i:\bincident (?:commander|lead|manager)\b|\bcoordinat(?:or|ing|es)\b)|\bIC\b")

#: The proposer of each factor key this plugin finds, declared next to its heuristic.
PROPOSERS = Proposers()
retroflow_propose_actions = PROPOSERS.hook()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')") from None


def _parse_hours(text: str) -> tuple[time, time]:
    match = _HOURS_RE.match(text)
    if match is None:
        raise ValueError(f"working_hours {text!r}: expected 'HH:MM-HH:MM', e.g. '09:00-18:00'")
    h1, m1, h2, m2 = map(int, match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2, m2) > (24, 0):
        raise ValueError(f"working_hours {text!r}: not a time of day")
    end = time.max if (h2, m2) == (24, 0) else time(h2, m2)
    return time(h1, m1), end


def _check_hours(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    _parse_hours(value)


def _check_days(instance: Any, attribute: attrs.Attribute[Any], value: list[str]) -> None:
    for day in value:
        if day.lower()[:3] not in DAYS:
            raise ValueError(f"working_days: {day!r} is not a day (use mon, tue, … sun)")


def _check_zone(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    _zone(value)


def _check_zones(instance: Any, attribute: attrs.Attribute[Any], value: list[str]) -> None:
    for item in value:
        name, sep, zone = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"responder_time_zones: {item!r} is not 'name=Zone/Name'")
        _zone(zone.strip())


@attrs.frozen
class HumanSettings:
    """``[plugins.human-conditions]``.

    :ivar ack_minutes: first page → acknowledgement longer than this fires
        ``slow-acknowledgement``.
    :ivar handoffs: this many escalations or reassignments before the fix fires
        ``ownership-churn``.
    :ivar working_hours: local working hours, ``"HH:MM-HH:MM"``.
    :ivar working_days: local working days (``mon`` … ``sun``).
    :ivar default_time_zone: the zone of responders not listed in ``responder_time_zones``.
    :ivar responder_time_zones: ``"name=Zone/Name"`` entries, e.g. ``"bob=Europe/Berlin"``.
    :ivar load_window_hours: how far back other incidents count for ``responder-load``.
    :ivar load_incidents: this many other incidents of one responder in that window fires
        ``responder-load``.
    :ivar coordinator_responders: this many responders with no coordinator fires
        ``no-coordinator``.
    :ivar automation_actors: actors that are tools, not people.
    """

    ack_minutes: int = threshold(10)
    handoffs: int = threshold(2)
    working_hours: str = attrs.field(default="09:00-18:00", validator=_check_hours)
    working_days: list[str] = attrs.field(factory=lambda: list(DAYS[:5]), validator=_check_days)
    default_time_zone: str = attrs.field(default="UTC", validator=_check_zone)
    responder_time_zones: list[str] = attrs.field(factory=list, validator=_check_zones)
    load_window_hours: int = threshold(24)
    load_incidents: int = threshold(1)
    coordinator_responders: int = threshold(4)
    automation_actors: list[str] = attrs.field(factory=lambda: list(AUTOMATION_ACTORS))

    def zone_of(self, person: str | None) -> ZoneInfo:
        """The person's zone: theirs when listed, else the default."""
        if person:
            for item in self.responder_time_zones:
                name, _, zone = item.partition("=")
                if name.strip().lower() == person.lower():
                    return _zone(zone.strip())
        return _zone(self.default_time_zone)

    def working_time(self) -> Callable[[datetime], bool]:
        """A test of whether a local time is within working hours on a working day."""
        start, end = _parse_hours(self.working_hours)
        days = {DAYS.index(d.lower()[:3]) for d in self.working_days}
        return lambda local: local.weekday() in days and start <= local.time() < end


SETTINGS = SettingsTable("human-conditions", HumanSettings)
retroflow_register_settings = SETTINGS.hook()


def find_factors(
    incident: Incident, timeline: Timeline, history: tuple[Incident, ...], config: Config
) -> Iterator[Factor]:
    """The factors this plugin finds, one heuristic after the other."""
    settings = SETTINGS.read(config)
    facts = facts_of(timeline)
    pages = facts.of_kind(EventKind.PAGE)
    people = responders(facts, settings.automation_actors)
    yield from _slow_ack(incident, facts, pages, settings)
    yield from _ownership_churn(incident, facts, settings)
    yield from _out_of_hours(incident, facts, pages, settings)
    yield from _responder_load(incident, timeline, history, people, settings)
    yield from _no_coordinator(incident, facts, people, settings)


retroflow_find_factors = hookimpl(find_factors)


def _slow_ack(
    incident: Incident, facts: TimelineFacts, pages: Sequence[Event], settings: HumanSettings
) -> Iterator[Factor]:
    """First page → first ack after it (or the mitigation or resolution: never acked)."""
    if not pages:
        return
    page = pages[0]
    ack = facts.first(EventKind.ACK, after=page.at)
    end = ack or facts.first(EventKind.MITIGATION, after=page.at) or facts.first(EventKind.RESOLUTION, after=page.at)
    if end is None:
        return
    wait = Wait(page, end, settings.ack_minutes)
    if wait.too_long:
        what = f"acknowledged by {ack.actor or 'someone'}" if ack else "never acknowledged"
        yield wait.factor(
            SLOW_ACK,
            Layer.HUMAN,
            title=f"The first page waited {wait.took} for an acknowledgement",
            explanation=(
                f"{quoted(page.summary)} at {page.at:%H:%M} was {what} {wait.took} later ({wait.threshold}); "
                "the page did not reach a person able to respond at once."
            ),
            paged=page.actor,
            acknowledged=bool(ack),
            service=main_service(incident, facts, page),
        )


@PROPOSERS.answer(SLOW_ACK, Category.DETECT_FASTER, Effort.LOW, "time-to-acknowledge")
def _slow_ack_action(incident: Incident, factor: Factor) -> Proposal:
    service = service_named(factor)
    return Proposal(
        service,
        title=f"Notify the {service} on-call by a phone call that repeats until acknowledged",
        change=(
            f"Change the {service} on-call notification rules from a single push or call to a phone call "
            f"repeated every 2 min until acknowledged, with acknowledgement from the call itself (the first "
            f"page waited {minutes_text(detail(factor, 'minutes'))})."
        ),
        target="p90 ≤ 5 min",
    )


def _ownership_churn(incident: Incident, facts: TimelineFacts, settings: HumanSettings) -> Iterator[Factor]:
    """Escalations and reassignments before the fix."""
    fix = facts.first(EventKind.MITIGATION) or facts.first(EventKind.RESOLUTION)
    if fix is not None:
        handoffs = [e for e in facts.notable if e.at <= fix.at and handoff_of(e)]
        if len(handoffs) >= settings.handoffs:
            fixer = fix.actor if is_person(fix.actor, settings.automation_actors) else None
            yield Factor(
                key=OWNERSHIP_CHURN,
                layer=Layer.HUMAN,
                title=f"The incident changed hands {len(handoffs)} times before it was fixed",
                explanation=(
                    f"{len(handoffs)} escalations or reassignments (threshold {settings.handoffs}) came before "
                    f"{quoted(fix.summary)} at {fix.at:%H:%M}"
                    + (f" by {fixer}" if fixer else "")
                    + "; each hand-off cost time and context."
                ),
                evidence=cite([*handoffs, fix]),
                strength=strength(len(handoffs) / (2 * settings.handoffs)),
                details={
                    "handoffs": len(handoffs),
                    "threshold": settings.handoffs,
                    "fixer": fixer,
                    "service": main_service(incident, facts, *handoffs[:1]),
                },
            )


@PROPOSERS.answer(OWNERSHIP_CHURN, Category.REDUCE_COGNITIVE_LOAD, Effort.LOW, "time-to-restore")
def _ownership_churn_action(incident: Incident, factor: Factor) -> Proposal:
    service = service_named(factor)
    fixer = detail(factor, "fixer")
    return Proposal(
        service,
        title=f"Route {service} alerts straight to the team that can fix them",
        change=(
            f"Map the alerts of this incident to the escalation policy of the team that fixed it"
            f"{f' ({fixer})' if fixer else ''}, with a service-ownership entry, so the first page reaches "
            f"them instead of {detail(factor, 'handoffs')} hand-offs."
        ),
        target="≤ 1 hand-off before mitigation",
    )


def _out_of_hours(
    incident: Incident, facts: TimelineFacts, pages: Sequence[Event], settings: HumanSettings
) -> Iterator[Factor]:
    """Pages outside the paged person's working hours."""
    outside: list[tuple[Event, str]] = []
    at_work = settings.working_time()
    for page in pages:
        zone = settings.zone_of(page.actor)
        local = page.at.astimezone(zone)
        if not at_work(local):
            outside.append((page, f"{page.actor or 'someone'} at {local:%a %H:%M} {zone.key}"))
    if outside:
        persons = list(dict.fromkeys(p.actor for p, _ in outside if p.actor))
        yield Factor(
            key=OUT_OF_HOURS,
            layer=Layer.HUMAN,
            title=f"Paged outside working hours: {', '.join(persons) or 'the on-call'}",
            explanation=(
                "Paged "
                + "; ".join(text for _, text in outside[:4])
                + (f" and {len(outside) - 4} more" if len(outside) > 4 else "")
                + f" (working hours {settings.working_hours}, {', '.join(settings.working_days)}): "
                "woken or off-duty responders need longer to reach full attention."
            ),
            evidence=cite(p for p, _ in outside),
            strength=1.0,
            details={
                "pages": len(outside),
                "people": persons,
                "service": main_service(incident, facts, outside[0][0]),
            },
        )


@PROPOSERS.answer(OUT_OF_HOURS, Category.AUTOMATE_DECISION, Effort.MEDIUM, "out-of-hours-pages")
def _out_of_hours_action(incident: Incident, factor: Factor) -> Proposal:
    service = service_named(factor)
    return Proposal(
        service,
        title=f"Let {service} remediate on its own out of hours and page only if that fails",
        change=(
            f"Outside working hours, have the {service} alert run the safe first step on its own (roll back "
            "the last deploy, fail over) and page a person only when it does not recover, with a night "
            "runbook that needs no context."
        ),
        target="-50% per quarter",
    )


def _responder_load(
    incident: Incident,
    timeline: Timeline,
    history: tuple[Incident, ...],
    people: Mapping[str, Event],
    settings: HumanSettings,
) -> Iterator[Factor]:
    """The same people in other incidents shortly before."""
    start = started(incident, timeline)
    if start is not None and history and people:
        recent = created_within(history, start, timedelta(hours=settings.load_window_hours))
        busy: dict[str, list[str]] = {}
        for past in recent:
            for name in past.details.get("responders") or ():
                if str(name) in people:
                    busy.setdefault(str(name), []).append(past.id)
        busy = {name: ids for name, ids in busy.items() if len(ids) >= settings.load_incidents}
        if busy:
            names = sorted(busy, key=list(people).index)
            yield Factor(
                key=RESPONDER_LOAD,
                layer=Layer.HUMAN,
                title=f"Responders came from other incidents: {', '.join(names)}",
                explanation=(
                    "In the "
                    f"{settings.load_window_hours} h before this incident "
                    + "; ".join(f"{n} was in {', '.join(busy[n])}" for n in names)
                    + ": they started this one already tired and with less context to spare."
                ),
                evidence=cite(people[n] for n in names),
                strength=strength(max(len(v) for v in busy.values()) / 3),
                details={"people": {n: busy[n] for n in names}, "window_hours": settings.load_window_hours},
            )


@PROPOSERS.answer(RESPONDER_LOAD, Category.REDUCE_COGNITIVE_LOAD, Effort.MEDIUM, "time-to-acknowledge")
def _responder_load_action(incident: Incident, factor: Factor) -> Proposal:
    people = detail(factor, "people", {})
    return Proposal(
        None,
        title="Hand over to a fresh responder after an incident: cap incidents per on-call in 24 h",
        change=(
            "After an incident, route the next pages of that responder to the secondary for "
            f"{detail(factor, 'window_hours', 24)} h (this time {', '.join(people) or 'responders'} came "
            "from earlier incidents)."
        ),
        target="0 responders a month paged in two incidents within 24 h",
    )


def _no_coordinator(
    incident: Incident, facts: TimelineFacts, people: Mapping[str, Event], settings: HumanSettings
) -> Iterator[Factor]:
    """Many responders and nobody coordinating."""
    if len(people) >= settings.coordinator_responders and not any(_coordinates(e) for e in facts.notable):
        names = list(people)
        yield Factor(
            key=NO_COORDINATOR,
            layer=Layer.HUMAN,
            title=f"{len(names)} responders and no coordinator",
            explanation=(
                f"{', '.join(names)} responded (threshold {settings.coordinator_responders}) and no event shows an "
                "incident commander or coordinator: everyone investigated, nobody held the overall picture."
            ),
            evidence=cite(people.values()),
            strength=strength(len(names) / (2 * settings.coordinator_responders)),
            details={"responders": names, "service": main_service(incident, facts)},
        )


def _coordinates(event: Event) -> bool:
    role = str(event.details.get("role", "")).lower()
    if role in _COORDINATOR_ROLES:
        return True
    return event.kind in (EventKind.RESPONSE, EventKind.MESSAGE, EventKind.DECISION) and bool(
        _COORDINATOR_RE.search(event.summary)
    )


@PROPOSERS.answer(NO_COORDINATOR, Category.AUTOMATE_DECISION, Effort.LOW, "time-to-restore")
def _no_coordinator_action(incident: Incident, factor: Factor) -> Proposal:
    count = len(detail(factor, "responders", []))
    return Proposal(
        detail(factor, "service"),
        about=(),
        title="Assign an incident commander automatically once three responders join",
        change=(
            "When the third responder joins, the incident tool assigns the incident-commander role to the "
            f"secondary on-call and posts a status template (this time {count} people responded uncoordinated)."
        ),
        target="a named commander in 100% of incidents with 3+ responders",
    )
