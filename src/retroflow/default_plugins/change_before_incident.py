"""Factor heuristic ``change-before-incident`` and the action it proposes.

Fires when a change (deploy, config or flag change) to an affected service landed within
``window_minutes`` before the first signal. Evidence: the change(s) and the first signal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import attrs

from retroflow import hookimpl
from retroflow.config import Config
from retroflow.model import (
    SIGNAL_KINDS,
    ActionItem,
    Category,
    Effort,
    EventKind,
    Factor,
    Incident,
    Layer,
    Timeline,
    Verification,
)

KEY = "change-before-incident"
TABLE = "change-before-incident"


@attrs.frozen
class ChangeBeforeIncidentSettings:
    """``[plugins.change-before-incident]``.

    :ivar window_minutes: how long before the first signal a change still counts.
    """

    window_minutes: int = 60


@hookimpl
def retroflow_register_settings(register: Any) -> None:
    register(TABLE, ChangeBeforeIncidentSettings)


def affected_services(incident: Incident, timeline: Timeline) -> set[str]:
    """The incident's services, and those of its signals."""
    services = set(incident.services)
    for event in timeline.events:
        if event.kind in SIGNAL_KINDS and event.service:
            services.add(event.service)
    return services


@hookimpl
def retroflow_find_factors(incident: Incident, timeline: Timeline, config: Config) -> Iterator[Factor]:
    settings: ChangeBeforeIncidentSettings = config.settings_for(TABLE) or ChangeBeforeIncidentSettings()
    first_signal = timeline.moments.first_signal
    if first_signal is None:
        return
    window_start = first_signal - timedelta(minutes=settings.window_minutes)
    services = affected_services(incident, timeline)
    signal = next(e for e in timeline.events if e.kind in SIGNAL_KINDS)
    changes = [
        e
        for e in timeline.events
        if e.kind is EventKind.CHANGE
        and window_start <= e.at <= first_signal
        and (e.service in services or not services)
    ]
    if not changes:
        return
    last = changes[-1]
    minutes = (first_signal - last.at).total_seconds() / 60
    names = sorted({c.service for c in changes if c.service})
    yield Factor(
        key=KEY,
        layer=Layer.TECHNICAL,
        title=f"A change to {', '.join(names) or 'the affected service'} shortly before the first signal",
        explanation=(
            f"{last.summary!r} landed {minutes:.0f} min before the first signal "
            f"({signal.summary!r}); nothing stopped the change when its effect showed."
        ),
        evidence=(*(c.id for c in changes), signal.id),
        strength=round(max(0.3, 1 - minutes / settings.window_minutes), 2),
        details={"services": names, "minutes_before_signal": round(minutes, 1), "change": last.summary},
    )


@hookimpl
def retroflow_propose_actions(incident: Incident, factors: tuple[Factor, ...]) -> Iterator[ActionItem]:
    for factor in factors:
        if factor.key != KEY:
            continue
        services = factor.details.get("services") or list(incident.services) or ["the affected service"]
        service = services[0]
        yield ActionItem.create(
            incident_id=incident.id,
            key=(KEY, service),
            title=f"Gate deploys of {service} on an automated canary check that rolls back on its own",
            change=(
                f"Deploy {service} to a canary first; compare its error rate and p95 latency "
                "with the baseline for 10 minutes and roll back automatically when either "
                "is worse, without waiting for a person."
            ),
            category=Category.AUTOMATE_DECISION,
            factors=(KEY,),
            verify=Verification(metric="bad deploys reaching all traffic", service=service, target="0 per quarter"),
            effort=Effort.MEDIUM,
        )
