"""Process-layer heuristics and the actions they propose.

* ``slow-mitigation``: from the decision (to roll back, fail over, …) to the mitigation, or
  from the acknowledgement to the mitigation, took long.
* ``missing-runbook``: alerts fired without a runbook link.
* ``late-escalation``: the page stayed unacknowledged long before it escalated (to a
  second person or level), or never escalated while unacknowledged.
* ``recurrence``: a similar past incident (same service, and the same alert or a similar
  title) within ``recurrence_days``; names its retro's actions and their status, and of
  those marked done, whether their outcome metric measurably improved (the retro's
  ``past_actions``).

Settings: ``[plugins.process-conditions]`` (:class:`ProcessSettings`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import attrs

from retroflow import hookimpl
from retroflow.config import Config
from retroflow.default_plugins._plugin_kit import (
    SettingsTable,
    detail,
    minutes_of,
    minutes_text,
    service_named,
    strength,
    threshold,
)
from retroflow.default_plugins.conditions.facts import (
    affected_services,
    cite,
    created_within,
    facts_of,
    handoff_of,
    is_alert_trigger,
    main_service,
    minutes,
    monitor_of,
    quoted,
    raised_by_hand,
    runbook_of,
    started,
)
from retroflow.default_plugins.conditions.keys import LATE_ESCALATION, MISSING_RUNBOOK, RECURRENCE, SLOW_MITIGATION
from retroflow.default_plugins.conditions.proposers import Proposal, Proposers
from retroflow.default_plugins.conditions.wait import Wait
from retroflow.model import (
    Category,
    Effort,
    Event,
    EventKind,
    Factor,
    Incident,
    Layer,
    PastActions,
    Timeline,
    Verdict,
    format_duration,
)

_WORD_RE = re.compile(r"[a-z0-9]+")
#: Words that say nothing about *which* failure a title describes.
_STOPWORDS = frozenset(
    {"a", "an", "and", "the", "of", "on", "in", "at", "to", "for", "from", "with", "by", "after", "before"}
    | {"during", "is", "are", "was", "were", "be", "not", "no", "failing", "failed", "errors", "error", "down"}
    | {"outage", "incident", "issue", "problem"}
)
_DONE = frozenset({"done", "closed", "resolved", "complete", "completed", "fixed", "won't do", "wontfix"})

#: The proposer of each factor key this plugin finds, declared next to its heuristic.
PROPOSERS = Proposers()
retroflow_propose_actions = PROPOSERS.hook()


@attrs.frozen
class ProcessSettings:
    """``[plugins.process-conditions]``.

    :ivar decision_minutes: decision → mitigation longer than this fires ``slow-mitigation``.
    :ivar ack_to_mitigation_minutes: acknowledgement → mitigation longer than this fires
        ``slow-mitigation``.
    :ivar escalation_minutes: a page unacknowledged for longer than this before it
        escalated (or without escalating) fires ``late-escalation``.
    :ivar recurrence_days: how far back a similar incident counts for ``recurrence``.
    :ivar title_similarity: share of title words two incidents must have in common
        (Jaccard, 0–1) to be similar when no alert matches.
    """

    decision_minutes: int = threshold(15)
    ack_to_mitigation_minutes: int = threshold(30)
    escalation_minutes: int = threshold(5)
    recurrence_days: int = threshold(90)
    title_similarity: float = 0.5


SETTINGS = SettingsTable("process-conditions", ProcessSettings)
retroflow_register_settings = SETTINGS.hook()


def find_factors(
    incident: Incident,
    timeline: Timeline,
    history: tuple[Incident, ...],
    config: Config,
    past_actions: PastActions | None,
) -> Iterator[Factor]:
    """The factors this plugin finds, one heuristic after the other."""
    settings = SETTINGS.read(config)
    facts = facts_of(timeline)
    triggers = [a for a in facts.of_kind(EventKind.ALERT) if is_alert_trigger(a)]
    yield from _slow_mitigation(incident, facts.notable, settings)
    yield from _missing_runbook(incident, [a for a in triggers if not raised_by_hand(a)])
    yield from _late_escalation(incident, facts.notable, settings)
    yield from _recurrence(incident, timeline, history, triggers, settings, past_actions)


retroflow_find_factors = hookimpl(find_factors)


def _slow_mitigation(incident: Incident, notable: tuple[Event, ...], settings: ProcessSettings) -> Iterator[Factor]:
    mitigation = next((e for e in notable if e.kind is EventKind.MITIGATION), None)
    if mitigation is None:
        return
    before = [e for e in notable if e.at <= mitigation.at]
    decision = next((e for e in reversed(before) if e.kind is EventKind.DECISION), None)
    ack = next((e for e in before if e.kind is EventKind.ACK), None)
    parts: list[str] = []
    evidence: list[Event | None] = []
    slow = False
    details: dict[str, Any] = {"service": mitigation.service or (incident.services[0] if incident.services else None)}
    if decision is not None:
        slow = _from_decision(decision, mitigation, before, settings, parts, evidence, details)
    if ack is not None:
        took = minutes(ack.at, mitigation.at)
        parts.append(
            f"{format_duration(mitigation.at - ack.at)} from the acknowledgement ({ack.at:%H:%M}) to mitigation; "
            f"threshold {minutes_text(settings.ack_to_mitigation_minutes)}"
        )
        evidence.insert(0, ack)
        details.update(
            ack_minutes=minutes_of(mitigation.at - ack.at), threshold_ack_minutes=settings.ack_to_mitigation_minutes
        )
        slow = slow or took > settings.ack_to_mitigation_minutes
    if not slow:
        return
    longest = max(details.get("decision_minutes", 0), details.get("ack_minutes", 0))
    details["mitigation"] = mitigation.summary
    yield Factor(
        key=SLOW_MITIGATION,
        layer=Layer.PROCESS,
        title="Mitigation took long once the way out was known"
        if decision is not None
        else "Mitigation took long after the page was acknowledged",
        explanation="; ".join(parts)
        + f". Mitigated: {quoted(mitigation.summary)} at {mitigation.at:%H:%M}. "
        + (
            "Once the way out was decided, carrying it out still took this long."
            if decision is not None
            else "Nothing on the timeline shows a faster way out being at hand."
        ),
        evidence=cite([*evidence, mitigation]),
        strength=strength(longest / (2 * settings.ack_to_mitigation_minutes)),
        details=details,
    )


def _from_decision(
    decision: Event,
    mitigation: Event,
    before: list[Event],
    settings: ProcessSettings,
    parts: list[str],
    evidence: list[Event | None],
    details: dict[str, Any],
) -> bool:
    """Decision → mitigation, said in ``parts``, cited in ``evidence`` and measured in
    ``details`` (with the change that carried it out, when one began in between): whether
    it took longer than ``decision_minutes``."""
    started = next(
        (e for e in before if e.at >= decision.at and e.kind is EventKind.CHANGE and e is not mitigation), None
    )
    text = (
        f"{format_duration(mitigation.at - decision.at)} from the decision {quoted(decision.summary)} "
        f"({decision.at:%H:%M}) to mitigation"
    )
    if started is not None:
        text += (
            f" ({format_duration(started.at - decision.at)} until {quoted(started.summary, 50)} began, "
            f"{format_duration(mitigation.at - started.at)} for it to finish)"
        )
    parts.append(text + f"; threshold {minutes_text(settings.decision_minutes)}")
    evidence += [decision, started]
    details.update(
        decision_minutes=minutes_of(mitigation.at - decision.at),
        threshold_decision_minutes=settings.decision_minutes,
    )
    return minutes(decision.at, mitigation.at) > settings.decision_minutes


@PROPOSERS.answer(SLOW_MITIGATION, Category.AUTOMATE_DECISION, Effort.MEDIUM, "time-to-restore")
def _slow_mitigation_action(incident: Incident, factor: Factor) -> Proposal:
    service = service_named(factor)
    took = detail(factor, "decision_minutes") or detail(factor, "ack_minutes")
    return Proposal(
        service,
        title=f"Make rolling back {service} one pre-approved command that completes in under 5 min",
        change=(
            f"Script the rollback of {service} (previous release kept warm, no rebuild, no approval step) and "
            f"link it from the alert; this time mitigation took {minutes_text(took)} "
            f"({quoted(detail(factor, 'mitigation', 'mitigation'), 60)})."
        ),
        target="≤ 5 min from decision to mitigation",
    )


def _missing_runbook(incident: Incident, triggers: list[Event]) -> Iterator[Factor]:
    linked = {monitor_of(a) for a in triggers if runbook_of(a)}
    bare = [a for a in triggers if monitor_of(a) not in linked]
    if not bare:
        return
    monitors = list(dict.fromkeys(monitor_of(a) for a in bare))
    service = next((a.service for a in bare if a.service), None)
    yield Factor(
        key=MISSING_RUNBOOK,
        layer=Layer.PROCESS,
        title=f"Alert{'s' if len(monitors) > 1 else ''} without a runbook link: {', '.join(monitors[:3])}",
        explanation=(
            f"{len(bare)} alert notification(s) from {', '.join(repr(m) for m in monitors[:5])} carried no runbook "
            "link: the responder had to work out the first steps alone, at the moment of least context."
        ),
        evidence=cite(bare),
        strength=1.0,
        details={"monitors": monitors, "service": service, "alerts": len(bare)},
    )


@PROPOSERS.answer(MISSING_RUNBOOK, Category.REDUCE_COGNITIVE_LOAD, Effort.LOW, "time-to-restore")
def _missing_runbook_action(incident: Incident, factor: Factor) -> Proposal:
    monitors = detail(factor, "monitors", ["the alert"])
    service = detail(factor, "service")
    return Proposal(
        service,
        about=(tuple(monitors),),  # the monitors as one item, as the action id has always been derived
        title=f"Link a runbook from {', '.join(repr(m) for m in monitors[:3])} with the first three checks",
        change=(
            f"Add a runbook link to {', '.join(repr(m) for m in monitors)} (first checks: recent deploys of "
            f"{service or 'the service'}, saturation of its connection pools, how to roll back), and make the "
            "alert definition fail review without one."
        ),
        target="a runbook link on 100% of paging alerts",
    )


def _late_escalation(incident: Incident, notable: tuple[Event, ...], settings: ProcessSettings) -> Iterator[Factor]:
    page = next((e for e in notable if e.kind is EventKind.PAGE), None)
    if page is None:
        return
    later = [e for e in notable if e.at >= page.at and e is not page]
    ack = next((e for e in later if e.kind is EventKind.ACK), None)
    escalation = next(
        (
            e
            for e in later
            if handoff_of(e) == "escalate" or (e.kind is EventKind.PAGE and e.actor and e.actor != page.actor)
        ),
        None,
    )
    escalated = escalation is not None and (ack is None or escalation.at <= ack.at)
    if escalated:
        assert escalation is not None
        wait = Wait(page, escalation, settings.escalation_minutes)
        title = f"The unacknowledged page escalated only after {wait.took}"
        text = f"stayed unacknowledged for {wait.took} before {quoted(escalation.summary)}"
    elif ack is not None and escalation is None:
        wait = Wait(page, ack, settings.escalation_minutes)
        title = f"The unacknowledged page did not escalate for {wait.took}"
        text = f"stayed unacknowledged for {wait.took} and never escalated"
    else:
        return
    if wait.too_long:
        yield wait.factor(
            LATE_ESCALATION,
            Layer.PROCESS,
            title=title,
            explanation=f"{quoted(page.summary)} at {page.at:%H:%M} {text} ({wait.threshold}); "
            "the escalation policy waited instead of bringing in a second person.",
            escalated=escalated,
            service=page.service or (incident.services[0] if incident.services else None),
        )


@PROPOSERS.answer(LATE_ESCALATION, Category.AUTOMATE_DECISION, Effort.LOW, "time-to-acknowledge")
def _late_escalation_action(incident: Incident, factor: Factor) -> Proposal:
    service = service_named(factor)
    timeout = detail(factor, "threshold_minutes", 5)
    return Proposal(
        service,
        title=f"Escalate unacknowledged {service} pages to the next level after {minutes_text(timeout)}",
        change=(
            f"Set the escalation timeout of the {service} escalation policy to {minutes_text(timeout)} "
            f"(this time the page waited {minutes_text(detail(factor, 'minutes'))}) and page the secondary and the "
            "team lead together at the second level."
        ),
        target=f"an unacknowledged page escalates within {minutes_text(timeout)}",
    )


def _words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if len(w) > 2 and w not in _STOPWORDS}


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _judged(incident_id: str, past_actions: PastActions | None) -> list[tuple[dict[str, Any], str]]:
    """The done actions of a past incident's retro and what their metric did: a recurrence
    after an action marked done whose metric did not improve says so."""
    judged = []
    for outcome in past_actions.outcomes if past_actions else ():
        action = outcome.action
        if action.incident != incident_id:
            continue
        done = f"{quoted(action.title, 60)}, marked done {action.done_at:%Y-%m-%d}"
        if outcome.verdict is Verdict.IMPROVED:
            text = f"{done}, measurably improved {action.metric}, yet it happened again"
        else:
            text = f"{done}, did not measurably improve {action.metric} ({outcome.verdict.value})"
        summary = {
            "action": action.id,
            "title": action.title,
            "metric": action.metric,
            "verdict": outcome.verdict.value,
        }
        judged.append((summary, text))
    return judged


#: A past incident like this one: the incident, the alerts of this one it also had, and why
#: it is alike (in words).
_Match = tuple[Incident, list[Event], str]


def _recurrence(
    incident: Incident,
    timeline: Timeline,
    history: tuple[Incident, ...],
    triggers: list[Event],
    settings: ProcessSettings,
    past_actions: PastActions | None,
) -> Iterator[Factor]:
    start = started(incident, timeline)
    if not history or start is None:
        return
    facts = facts_of(timeline)
    services = set(affected_services(incident, facts))
    matches = _similar_past(incident, history, triggers, services, start, settings)
    if not matches:
        return
    evidence = cite(
        [e for _, events, _ in matches for e in events] or [facts.first_signal or next(iter(timeline.events), None)]
    )
    if not evidence:
        return
    described = []
    pasts: list[dict[str, Any]] = []
    for past, _events, why in matches:
        text, summary = _described(past, why, start, services, past_actions)
        described.append(text)
        pasts.append(summary)
    first_evidence = next((e for _, events, _ in matches for e in events), None)
    yield Factor(
        key=RECURRENCE,
        layer=Layer.PROCESS,
        title=f"It happened before: {', '.join(p['id'] for p in pasts)}",
        explanation="A similar incident within "
        f"{settings.recurrence_days} days: " + " | ".join(described) + ". What was changed then did not prevent this.",
        evidence=evidence,
        strength=strength(0.5 + 0.25 * len(matches)),
        details={
            "past": pasts,
            "service": main_service(incident, facts, first_evidence),
            "monitor": monitor_of(first_evidence) if first_evidence is not None else None,
            "window_days": settings.recurrence_days,
        },
    )


def _similar_past(
    incident: Incident,
    history: tuple[Incident, ...],
    triggers: list[Event],
    services: set[str],
    start: datetime,
    settings: ProcessSettings,
) -> list[_Match]:
    """The past incidents within ``recurrence_days`` on one of ``services`` that had the
    same alert, or else a similar title; newest first."""
    first_alert: dict[str, Event] = {}
    for alert in triggers:
        first_alert.setdefault(monitor_of(alert).lower(), alert)
    title = _words(incident.title)
    matches: list[_Match] = []
    for past in created_within(history, start, timedelta(days=settings.recurrence_days)):
        if not services & set(past.services):
            continue
        past_alerts = [str(a).lower() for a in (past.details.get("alerts") or past.details.get("monitors") or ())]
        same = [first_alert[a] for a in past_alerts if a in first_alert]
        if same:
            matches.append((past, same, "the same alert " + ", ".join(repr(monitor_of(e)) for e in same)))
        elif _similarity(title, _words(past.title)) >= settings.title_similarity:
            matches.append((past, [], f"a similar title ({quoted(past.title, 60)})"))
    matches.sort(key=lambda m: m[0].created or start, reverse=True)
    return matches


def _described(
    past: Incident, why: str, start: datetime, services: set[str], past_actions: PastActions | None
) -> tuple[str, dict[str, Any]]:
    """A past incident in words (when, where, why alike, its retro's actions and what they
    did), and as the factor's details keep it."""
    assert past.created is not None
    days = (start - past.created) / timedelta(days=1)
    actions = [a for a in (past.details.get("actions") or ()) if isinstance(a, dict) and a.get("title")]
    listed = "; ".join(f"{quoted(str(a['title']), 60)} ({a.get('status') or 'status unknown'})" for a in actions)
    judged = _judged(past.id, past_actions)
    text = (
        f"{past.id} {days:.0f} days earlier on {', '.join(sorted(services & set(past.services)))} with {why}"
        + (f"; its retro's actions: {listed}" if listed else "; no retro actions are known for it")
        + "".join(f"; {text}" for _, text in judged)
    )
    summary = {
        "id": past.id,
        "title": past.title,
        "days_before": round(days, 1),
        "actions": [{"title": str(a["title"]), "status": a.get("status"), "owner": a.get("owner")} for a in actions],
        "outcomes": [outcome for outcome, _ in judged],
    }
    return text, summary


@PROPOSERS.answer(RECURRENCE, Category.AUTOMATE_DECISION, Effort.MEDIUM, "incident-rate")
def _recurrence_action(incident: Incident, factor: Factor) -> Proposal:
    pasts: list[dict[str, Any]] = detail(factor, "past", [])
    past: dict[str, Any] = pasts[0] if pasts else {"id": "the earlier incident", "actions": []}
    open_actions = [a for a in past.get("actions", ()) if str(a.get("status") or "").lower() not in _DONE]
    monitor = detail(factor, "monitor")
    service = service_named(factor)
    owners = [a["owner"] for a in open_actions if a.get("owner")]
    what = f"{monitor!r} on {service}" if monitor else service
    listed = "; ".join(quoted(a["title"], 60) for a in open_actions)
    return Proposal(
        service,
        about=(past["id"],),
        title=f"Reopen {past['id']}'s unfinished actions automatically when {what} recurs, and finish them",
        change=(
            (
                f"Finish {past['id']}'s open actions ({listed}); "
                if listed
                else f"Review what {past['id']}'s retro changed; "
            )
            + f"link its tracker items to {what} so a recurrence reopens them and shows in the follow-up report."
        ),
        target=f"0 recurrences of {what} in {detail(factor, 'window_days', 90)} days",
        owner=owners[0] if owners else None,
    )
