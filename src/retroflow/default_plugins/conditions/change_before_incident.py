"""Factor heuristic ``change-before-incident`` (technical) and the action it proposes.

Fires when a change (deploy, config or flag change) to an affected service landed within
``window_minutes`` before the first signal. Evidence: the change(s) and the first signal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import attrs

from retroflow import hookimpl
from retroflow.config import Config
from retroflow.default_plugins._plugin_kit import SettingsTable, detail, minutes_of, minutes_text, threshold
from retroflow.default_plugins.conditions.facts import affected_services, cite, facts_of, minutes, quoted
from retroflow.default_plugins.conditions.keys import CHANGE_BEFORE_INCIDENT
from retroflow.default_plugins.conditions.proposers import Proposal, Proposers
from retroflow.model import Category, Effort, EventKind, Factor, Incident, Layer, Timeline, format_duration

#: The proposer of the factor this plugin finds.
PROPOSERS = Proposers()
retroflow_propose_actions = PROPOSERS.hook()


@attrs.frozen
class ChangeBeforeIncidentSettings:
    """``[plugins.change-before-incident]``.

    :ivar window_minutes: how long before the first signal a change still counts.
    """

    window_minutes: int = threshold(60)


SETTINGS = SettingsTable("change-before-incident", ChangeBeforeIncidentSettings)
retroflow_register_settings = SETTINGS.hook()


def find_factors(incident: Incident, timeline: Timeline, config: Config) -> Iterator[Factor]:
    """The factors this plugin finds."""
    settings = SETTINGS.read(config)
    facts = facts_of(timeline)
    signal = facts.first_signal
    if signal is None:
        return
    window_start = signal.at - timedelta(minutes=settings.window_minutes)
    services = set(affected_services(incident, facts))
    changes = [
        e
        for e in facts.notable
        if e.kind is EventKind.CHANGE and window_start <= e.at <= signal.at and (e.service in services or not services)
    ]
    if not changes:
        return
    last = changes[-1]
    before = minutes(last.at, signal.at)
    names = sorted({c.service for c in changes if c.service})
    yield Factor(
        key=CHANGE_BEFORE_INCIDENT,
        layer=Layer.TECHNICAL,
        title=f"A change to {', '.join(names) or 'the affected service'} shortly before the first signal",
        explanation=(
            f"{last.summary!r} landed {format_duration(signal.at - last.at)} before the first signal "
            f"({signal.summary!r}); nothing stopped the change when its effect showed."
        ),
        evidence=(*cite(changes), signal.id),
        strength=round(max(0.3, 1 - before / settings.window_minutes), 2),
        details={
            "services": names,
            "minutes_before_signal": minutes_of(signal.at - last.at),
            "change": last.summary,
            "change_by": last.actor,
        },
    )


retroflow_find_factors = hookimpl(find_factors)


@PROPOSERS.answer(CHANGE_BEFORE_INCIDENT, Category.AUTOMATE_DECISION, Effort.MEDIUM, "auto-resolved")
def _gate_deploys(incident: Incident, factor: Factor) -> Proposal:
    services = detail(factor, "services") or list(incident.services) or ["the affected service"]
    service = services[0]
    return Proposal(
        service,
        title=f"Gate deploys of {service} on an automated canary check that rolls back on its own",
        change=(
            f"Deploy {service} to a canary first; compare its error rate and p95 latency "
            "with the baseline for 10 minutes and roll back automatically when either "
            f"is worse, without waiting for a person (this time: {quoted(detail(factor, 'change', 'the change'))} "
            f"showed its first error {minutes_text(detail(factor, 'minutes_before_signal'))} after it landed)."
        ),
        target="bad deploys roll back on their own: 0 reach all traffic",
    )
