"""What webhook receivers and incident feeds tell the service, and what it tells plugins
when a draft is stored. Frozen values; part of the public API (``from retroflow import
IncidentEvent``)."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from retroflow.model import Retro, as_utc

__all__ = ["DraftedRetro", "IncidentEvent", "Lifecycle", "WebhookDelivery"]


class Lifecycle(enum.StrEnum):
    """What an incident event means to the lifecycle: only ``resolved`` and ``reopened``
    change it; the others are recorded."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    OTHER = "other"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"occurred_at {value.isoformat()} has no UTC offset")
    return as_utc(value)


@attrs.frozen
class IncidentEvent:
    """Something that happened to an incident in the system that manages it.

    :ivar source: the receiver or feed that reported it (``pagerduty``); with
        ``incident_id`` it names the incident.
    :ivar incident_id: the incident's id in that system (the reference its retro is built
        for: the timeline sources are asked for it).
    :ivar kind: what it means to the lifecycle.
    :ivar occurred_at: when it happened (events are applied in this order, not in the
        order they arrive); for a resolve, the resolve time.
    :ivar event_id: unique per event: deliveries are deduplicated by it.
    :ivar event_type: the system's own name (``incident.resolved``).
    :ivar title: / :ivar service: / :ivar service_id: / :ivar urgency: / :ivar priority:
        what the event says of the incident (the ``[service]`` filters read them).
    :ivar url: the incident's page.
    """

    source: str
    incident_id: str
    kind: Lifecycle = attrs.field(converter=Lifecycle)
    occurred_at: datetime = attrs.field(converter=_aware)
    event_id: str
    event_type: str = ""
    title: str = ""
    service: str | None = None
    service_id: str | None = None
    urgency: str | None = None
    priority: str | None = None
    url: str | None = None


@attrs.frozen
class WebhookDelivery:
    """One verified, parsed webhook delivery.

    :ivar event_id: the sender's id of the event (the inbox key: a retry or replay of it
        is answered 2xx and changes nothing).
    :ivar event_type: the sender's event type, recorded.
    :ivar incident_event: what it means to an incident's lifecycle, or ``None`` for an
        event type retroflow does not act on (recorded and answered 2xx, no job).
    """

    event_id: str
    event_type: str
    incident_event: IncidentEvent | None = None


@attrs.frozen
class DraftedRetro:
    """A retro the service drafted and stored, for ``retroflow_retro_drafted``.

    :ivar source: / :ivar incident_id: the incident as its system knows it.
    :ivar retro: the stored retro (``retro.timeline_owner`` says who reconstructs the
        timeline).
    :ivar version: its version in the store.
    :ivar resolved_at: the resolve it was drafted for.
    :ivar url: the retro's link (``[service] retro_url``), or ``None``.
    """

    source: str
    incident_id: str
    retro: Retro
    version: int
    resolved_at: datetime
    url: str | None = None
