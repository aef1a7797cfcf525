"""The ``pagerduty`` incident feed ``retroflow watch`` polls: incidents resolved in a window.

``GET /incidents?statuses[]=resolved&since&until&time_zone=UTC&sort_by=resolved_at:desc``.
``since``/``until`` select incidents by creation, so the request looks
:data:`CREATED_WINDOW` further back than the window and keeps the incidents whose
``resolved_at`` falls in it; pages are read newest resolve first, and reading stops at the
first incident resolved before the window. The API takes ranges of at most six months and
``offset + limit ≤ 10000``; both bounds are kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from retroflow import Config, IncidentEvent, Lifecycle, format_timestamp, parse_timestamp

from .settings import TABLE, PagerDutySettings
from .webhooks import incident_fields

if TYPE_CHECKING:  # the client is imported when a poll runs, not when plugins load
    from .api import PagerDutyApi

__all__ = ["CREATED_WINDOW", "resolved_event", "resolved_incidents"]

#: How long before a window an incident resolved in it may have been created (an incident
#: open longer than this is not seen by polling; a webhook still reports it).
CREATED_WINDOW = timedelta(days=30)


def resolved_event(incident: Mapping[str, Any]) -> IncidentEvent | None:
    """A resolved incident of the list as a lifecycle event (``None`` without an id or a
    resolve time). Its event id names the incident and the resolve: a later poll listing
    the same resolve again is a duplicate."""
    resolved = incident.get("resolved_at") or incident.get("last_status_change_at")
    incident_id = incident.get("id")
    if not isinstance(resolved, str) or not isinstance(incident_id, str):
        return None
    try:
        at = parse_timestamp(resolved)
    except ValueError:
        return None
    return IncidentEvent(
        source=TABLE,
        incident_id=incident_id,
        kind=Lifecycle.RESOLVED,
        occurred_at=at,
        event_id=f"{incident_id}:resolved:{format_timestamp(at)}",
        event_type="incident.resolved (polled)",
        **incident_fields(incident),
    )


def resolved_incidents(api: PagerDutyApi, since: datetime, until: datetime) -> Iterator[IncidentEvent]:
    """Every incident resolved in ``[since, until)``, newest resolve first."""
    from .api import MAX_RANGE, PAGE_SIZE, PAGINATION_LIMIT

    created_since = max(since - CREATED_WINDOW, until - MAX_RANGE + timedelta(days=1))
    params: dict[str, Any] = {
        "statuses[]": ["resolved"],
        "since": format_timestamp(created_since),
        "until": format_timestamp(until),
        "time_zone": "UTC",
        "sort_by": "resolved_at:desc",
        "limit": PAGE_SIZE,
    }
    offset = 0
    while offset + PAGE_SIZE <= PAGINATION_LIMIT:
        reply = api.get("/incidents", {**params, "offset": offset}, what=f"resolved incidents page {offset // 100 + 1}")
        items = reply.get("incidents")
        if not isinstance(items, list):
            return
        for item in items:
            event = resolved_event(item) if isinstance(item, Mapping) else None
            if event is None or event.occurred_at >= until:
                continue
            if event.occurred_at < since:
                return  # sorted by resolve time: the rest are older still
            yield event
        if reply.get("more") is not True or not items:
            return
        offset += len(items)


class PagerDutyFeed:
    """The ``pagerduty`` incident feed (a :class:`retroflow.IncidentFeed`)."""

    name = TABLE

    def __init__(self, api: Any) -> None:
        self._api = api  # () -> PagerDutyApi, for the plugin's transport in tests

    def configured(self, config: Config) -> bool:
        settings: PagerDutySettings | None = config.settings_for(TABLE)
        return settings is not None and settings.token is not None

    def resolved_between(self, since: datetime, until: datetime, config: Config) -> list[IncidentEvent]:
        api = self._api(config.settings_for(TABLE))
        try:
            return list(resolved_incidents(api, since, until))
        finally:
            api.close()
