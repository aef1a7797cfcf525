"""Factor heuristic ``misleading-signal`` (human layer) and the action it proposes.

A belief about the cause steered a decision, and where the fix landed showed the belief
wrong: what the responders looked at did not show the failing service. Two rules, one
function each:

* :func:`looked_elsewhere`: the belief named services, none of them the one the fix landed
  in, and a later decision acted on one of them ("I think it is orders-db" → "failing over
  orders-db" → the rollback of checkout);
* :func:`looked_healthy`: the belief said the service the fix landed in looked healthy
  ("checkout looks green"), and a later decision acted on another service.

What it reads (``docs/heuristics.md``): a belief is a ``message`` or ``decision`` with
``details["belief"]`` true (the Slack source marks them; event files can too); the services
an event names are ``details["services"]``, else its ``service``; the fix is the last
``change`` after the first belief up to the first mitigation (else the resolution), or else
that mitigation when it names a service. A decision that turns to the fix's service before
any other does means the belief steered nothing: no factor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from retroflow import hookimpl
from retroflow.default_plugins._plugin_kit import detail, minutes_of, minutes_text, service_named, strength
from retroflow.default_plugins.conditions.facts import TimelineFacts, cite, facts_of, quoted
from retroflow.default_plugins.conditions.keys import MISLEADING_SIGNAL
from retroflow.default_plugins.conditions.proposers import Proposal, Proposers
from retroflow.model import (
    Category,
    Effort,
    Event,
    EventKind,
    Factor,
    Incident,
    Layer,
    Timeline,
    and_list,
    format_duration,
)

LOOKED_ELSEWHERE = "looked-elsewhere"
LOOKED_HEALTHY = "looked-healthy"

_BELIEF_KINDS = frozenset({EventKind.MESSAGE, EventKind.DECISION})
#: Where one statement about a service ends and the next begins ("payments looks green,
#: I think it is orders-db"): "and" does not split ("checkout and payments look fine").
_CLAUSE_RE = re.compile(r"[,;:!?\n]|\.(?=\s|$)|\b(?:but|while|whereas|though|although)\b", re.IGNORECASE)
_HEALTHY_RE = re.compile(
    r"\b(?:looks?|looked|looking|is|are|was|were|seems?|seemed|stays?|stayed)\s+"
    r"(?:all\s+|totally\s+|completely\s+|perfectly\s+)?(?:green|fine|ok|okay|healthy|normal|clean)\b"
    r"|\ball green\b",
    re.IGNORECASE,
)

#: The proposer of the factor this plugin finds.
PROPOSERS = Proposers()
retroflow_propose_actions = PROPOSERS.hook()


# --- reading the events ---------------------------------------------------------------


def is_belief(event: Event) -> bool:
    return event.kind in _BELIEF_KINDS and event.details.get("belief") is True


def services_named(event: Event) -> tuple[str, ...]:
    """The services an event names: ``details["services"]`` (the Slack source lists every
    one the text names), else its ``service``."""
    listed = event.details.get("services")
    if isinstance(listed, list | tuple):
        names = tuple(str(name) for name in listed if isinstance(name, str) and name)
        if names:
            return names
    return (event.service,) if event.service else ()


def _says_healthy(text: str, service: str) -> bool:
    """Whether one clause of ``text`` names ``service`` and says it looks healthy."""
    name = re.compile(rf"(?<![\w-]){re.escape(service)}(?![\w-])", re.IGNORECASE)
    return any(name.search(clause) and _HEALTHY_RE.search(clause) for clause in _CLAUSE_RE.split(text))


def _fix(facts: TimelineFacts, since: Event, end: Event) -> Event | None:
    """Where the fix landed: the last change naming a service after ``since`` up to
    ``end`` (the first mitigation, else the resolution); else ``end`` when it is a
    mitigation naming a service. A resolution alone does not say where the fix was."""
    landed = None
    for event in facts.notable:
        if event.at > end.at:
            break
        if event.kind is EventKind.CHANGE and event.service and event.at > since.at:
            landed = event
    if landed is None and end.kind is EventKind.MITIGATION and end.service:
        landed = end
    return landed


def _steered(belief: Event, decisions: Sequence[Event], fix: Event, toward: set[str] | None) -> Event | None:
    """The first decision from the belief until the fix that acts on a service of
    ``toward`` (``None``: any service but the fix's); ``None`` when one acting on the fix's
    service comes first (the belief steered nothing)."""
    for decision in decisions:
        if decision.at < belief.at or decision.at > fix.at:
            continue
        named = services_named(decision)
        if fix.service in named:
            return None
        if named and (toward is None or toward.intersection(named)):
            return decision
    return None


# --- the rules -----------------------------------------------------------------------------


def looked_elsewhere(belief: Event, decisions: Sequence[Event], fix: Event) -> Event | None:
    """Rule 1: the belief named services, none of them the fix's, and steered a decision
    acting on one of them. Returns that decision."""
    named = services_named(belief)
    if not named or fix.service in named:
        return None
    return _steered(belief, decisions, fix, toward=set(named))


def looked_healthy(belief: Event, decisions: Sequence[Event], fix: Event) -> Event | None:
    """Rule 2: the belief said the fix's service looked healthy, and steered a decision
    acting on another service. Returns that decision."""
    text = belief.details.get("text")
    if not _says_healthy(text if isinstance(text, str) else belief.summary, str(fix.service)):
        return None
    return _steered(belief, decisions, fix, toward=None)


RULES = ((LOOKED_ELSEWHERE, looked_elsewhere), (LOOKED_HEALTHY, looked_healthy))


# --- the factor ----------------------------------------------------------------------------


def find_factors(timeline: Timeline) -> Iterator[Factor]:
    """The factor this plugin finds: for the first belief that a rule finds misleading."""
    facts = facts_of(timeline)
    end = facts.first(EventKind.MITIGATION) or facts.first(EventKind.RESOLUTION)
    if end is None:
        return
    beliefs = [e for e in facts.notable if e.at <= end.at and is_belief(e)]
    fix = _fix(facts, beliefs[0], end) if beliefs else None
    if fix is None:
        return
    decisions = [e for e in facts.of_kind(EventKind.DECISION) if e.at <= fix.at]
    for belief in beliefs:
        if belief.at >= fix.at:
            return
        for rule, applies in RULES:
            decision = applies(belief, decisions, fix)
            if decision is not None:
                yield _factor(rule, belief, decision, fix, decisions, facts)
                return


def _factor(
    rule: str, belief: Event, decision: Event, fix: Event, decisions: Sequence[Event], facts: TimelineFacts
) -> Factor:
    culprit = str(fix.service)
    if rule == LOOKED_ELSEWHERE:
        looked = [s for s in services_named(belief) if s != culprit]
        title = f"What the responders saw pointed at {and_list(looked)}; the failure was in {culprit}"
        said = "pointed the response at"
    else:
        looked = [s for s in services_named(decision) if s != culprit]
        title = f"{culprit} looked healthy to the responders; the failure was there"
        said = f"took {culprit} for healthy and turned the response to"
    # The time the belief held: until a decision turned to the fix's service, else the fix.
    turned = next((d for d in decisions if d.at > decision.at and culprit in services_named(d)), fix)
    held = turned.at - belief.at
    signal = facts.first_by_service.get(culprit)
    return Factor(
        key=MISLEADING_SIGNAL,
        layer=Layer.HUMAN,
        title=title,
        explanation=(
            f"{quoted(belief.summary)} ({belief.actor or 'a responder'}, {belief.at:%H:%M}) {said} "
            f"{and_list(looked)}: {quoted(decision.summary)} at {decision.at:%H:%M}. The fix landed in {culprit} "
            f"({quoted(fix.summary)} at {fix.at:%H:%M}); {format_duration(held)} passed before the response "
            f"turned to {culprit}. What the responders looked at did not show {culprit} failing."
        ),
        evidence=cite([belief, decision, fix]),
        strength=strength(0.5 + held.total_seconds() / 3600),
        details={
            "rule": rule,
            "service": culprit,
            "looked_at": looked,
            "believed_by": belief.actor,
            "minutes": minutes_of(held),
            "signal": signal.summary if signal is not None else None,
        },
    )


retroflow_find_factors = hookimpl(find_factors)


# --- the proposer --------------------------------------------------------------------------


@PROPOSERS.answer(MISLEADING_SIGNAL, Category.REDUCE_COGNITIVE_LOAD, Effort.LOW, "time-to-restore")
def _show_the_right_signal(incident: Incident, factor: Factor) -> Proposal:
    service = service_named(factor)
    looked = [str(name) for name in detail(factor, "looked_at", [])]
    signal = detail(factor, "signal")
    what = f"its first signal this time: {quoted(str(signal))}" if signal else "its error rate and latency"
    held = minutes_text(detail(factor, "minutes"))
    if detail(factor, "rule") == LOOKED_HEALTHY:
        title = f"Make the {service} dashboard show {service} failing, not only its own health"
        change = (
            f"Add to the {service} dashboard and its alert view the signals that showed the failure ({what}) "
            f"and its deploys of the last 24 h, so the view turns red when {service} fails; this time it looked "
            f"healthy for {held} while {service} was failing."
        )
    else:
        places = and_list(looked) or "the services the responders checked"
        title = f"Show {service}'s errors and deploys on the {places} dashboards"
        change = (
            f"Add {service}'s error rate ({what}) and its deploys of the last 24 h to the dashboards and alert "
            f"views of {places}, where the responders looked this time, with a link to the {service} dashboard, "
            f"so a failure in {service} is in view there; this time the belief held for {held}."
        )
    return Proposal(service, about=(service, *looked), title=title, change=change, target=f"{held} shorter (median)")
