"""PagerDuty Webhooks V3: the receiver ``retroflow serve`` runs at ``/webhooks/pagerduty``.

* **Signature** (``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]``): an HMAC-SHA256 of the
  raw body with a subscription's secret, one per active secret while one is rotated. Every
  ``v1=`` signature is checked against every configured secret
  (``[plugins.pagerduty] webhook_secrets``) with :func:`hmac.compare_digest`; one match
  makes the delivery genuine. No header, or no well-formed ``v1=`` signature in it: 400;
  none matching: 403 (PagerDuty's own verifier answers so). Nothing signs a time, so
  replays are stopped by the inbox's deduplication by event id.
* **Payload**: ``{"event": {"id", "event_type", "resource_type", "occurred_at", "agent",
  "client", "data"}}``, one event per delivery. ``incident.resolved``/``reopened``/
  ``triggered``/``acknowledged`` become :class:`~retroflow.IncidentEvent` s (their ``data``
  is the incident; a resolve has no ``resolved_at``: the resolve time is ``occurred_at``).
  Every other type (annotations, priority changes, ``pagey.ping``, service events, types
  added later) is accepted and recorded, and does nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from retroflow import Config, IncidentEvent, Lifecycle, WebhookDelivery, WebhookRejected, parse_timestamp

from .settings import TABLE, PagerDutySettings

__all__ = ["LIFECYCLE", "SIGNATURE_HEADER", "PagerDutyWebhooks", "incident_fields", "sign"]

SIGNATURE_HEADER = "x-pagerduty-signature"

#: Event types that move an incident's lifecycle.
LIFECYCLE = {
    "incident.triggered": Lifecycle.TRIGGERED,
    "incident.acknowledged": Lifecycle.ACKNOWLEDGED,
    "incident.resolved": Lifecycle.RESOLVED,
    "incident.reopened": Lifecycle.REOPENED,
}

_V1 = re.compile(r"^v1=([0-9a-fA-F]{64})$")


def sign(body: bytes, secret: str) -> str:
    """The ``v1=`` signature PagerDuty sends for ``body`` with ``secret`` (tests, benches)."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _signatures(header: str | None) -> list[bytes]:
    if not header:
        raise WebhookRejected("no X-PagerDuty-Signature header", status=400)
    found = [bytes.fromhex(match.group(1)) for part in header.split(",") if (match := _V1.match(part.strip()))]
    if not found:
        raise WebhookRejected("X-PagerDuty-Signature holds no well-formed v1= signature", status=400)
    return found


def _text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookRejected(f"{where}.{key}: expected a non-empty string")
    return value


def _string(mapping: Any, key: str) -> str | None:
    value = mapping.get(key) if isinstance(mapping, Mapping) else None
    return value if isinstance(value, str) else None


def incident_fields(incident: Mapping[str, Any]) -> dict[str, Any]:
    """What an incident object says that the lifecycle's filters and the job read: the
    webhook's ``data`` and the REST API's incident have the same shape."""
    return {
        "title": _string(incident, "title") or "",
        "service": _string(incident.get("service"), "summary"),
        "service_id": _string(incident.get("service"), "id"),
        "urgency": _string(incident, "urgency"),
        "priority": _string(incident.get("priority"), "summary"),
        "url": _string(incident, "html_url"),
    }


class PagerDutyWebhooks:
    """The ``pagerduty`` webhook receiver (a :class:`retroflow.WebhookReceiver`)."""

    name = TABLE

    def configured(self, config: Config) -> bool:
        settings: PagerDutySettings | None = config.settings_for(TABLE)
        return settings is not None and bool(settings.webhook_secrets)

    def verify(self, body: bytes, headers: Mapping[str, str], config: Config) -> None:
        signatures = _signatures(headers.get(SIGNATURE_HEADER))
        settings: PagerDutySettings | None = config.settings_for(TABLE)
        for secret in settings.webhook_secrets if settings else ():
            expected = hmac.new(secret.reveal().encode(), body, hashlib.sha256).digest()
            # Every signature is compared, matching or not: the time taken says nothing.
            matches = [hmac.compare_digest(expected, signature) for signature in signatures]
            if any(matches):
                return
        raise WebhookRejected("no signature matches a configured webhook secret", status=403)

    def parse(self, body: bytes, headers: Mapping[str, str], config: Config) -> WebhookDelivery:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("the body is not JSON") from None
        event = document.get("event") if isinstance(document, dict) else None
        if not isinstance(event, dict):
            raise WebhookRejected('expected {"event": {...}} (a V3 webhook)')
        event_id = _text(event, "id", "event")
        event_type = _text(event, "event_type", "event")
        kind = LIFECYCLE.get(event_type)
        if kind is None or event.get("resource_type") != "incident":
            return WebhookDelivery(event_id, event_type)
        try:
            occurred_at = parse_timestamp(_text(event, "occurred_at", "event"))
        except ValueError:
            raise WebhookRejected("event.occurred_at: not an ISO 8601 time with an offset") from None
        data = event.get("data")
        if not isinstance(data, dict):
            raise WebhookRejected("event.data: expected the incident")
        incident = IncidentEvent(
            source=TABLE,
            incident_id=_text(data, "id", "event.data"),
            kind=kind,
            occurred_at=occurred_at,
            event_id=event_id,
            event_type=event_type,
            **incident_fields(data),
        )
        return WebhookDelivery(event_id, event_type, incident)
