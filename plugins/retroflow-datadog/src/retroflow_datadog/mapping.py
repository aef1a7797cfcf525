"""Datadog Events API v2 replies → retroflow events.

A monitor event (it carries a ``monitor`` or ``monitor_id``, or the ``source:alert`` tag)
becomes an ``alert`` event whose ``details["state"]`` says whether the monitor fired
(``triggered``, ``warn``, ``no data``) or recovered (``recovered``), so the heuristics
count only firings. Every other event the search found (deploys, config changes) is a
``change``. Ids are Datadog's event ids, the same on every run.

Pure functions over the decoded JSON; an event with a missing or odd field is skipped and
counted (:class:`Skips`), never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from retroflow import Event, EventKind, Gap, parse_timestamp
from retroflow.sources import BadRecord

from .settings import ServiceMap

__all__ = ["SOURCE", "BadRecord", "Skips", "event_of", "events_of"]

SOURCE = "datadog"

#: Monitor states (``transition.destination_state``) and event statuses, in words the
#: heuristics read (``recovered`` is a recovery; the others are firings).
_STATES = {"alert": "triggered", "warn": "warn", "no data": "no data", "ok": "recovered"}
_STATUSES = {"error": "triggered", "failure": "triggered", "warning": "warn", "success": "recovered"}
#: "[P1] [Triggered on {service:payments}] Name" → the state word, and the name after it.
_TITLE = re.compile(r"^\s*(?:\[P\d\]\s*)?\[(re-?triggered|triggered|recovered|warn\w*|no data)\b[^\]]*\]\s*", re.I)
_URL = re.compile(r"https?://[^\s)\]>|\"']+")
_RUNBOOK = re.compile(r"runbook|playbook|wiki", re.I)


@attrs.define
class Skips:
    """Events skipped so far, with the first reason."""

    count: int = 0
    first_reason: str = ""

    def add(self, reason: str) -> None:
        self.count += 1
        self.first_reason = self.first_reason or reason

    def gaps(self) -> list[Gap]:
        if not self.count:
            return []
        return [Gap(SOURCE, "collect", "skipped", f"events: {self.count} skipped ({self.first_reason})", self.count)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _time(outer: Mapping[str, Any], inner: Mapping[str, Any]) -> datetime:
    """``attributes.timestamp`` (ISO 8601), else the inner ``timestamp`` (ms since epoch)."""
    text = outer.get("timestamp")
    if isinstance(text, str):
        try:
            return parse_timestamp(text)
        except ValueError:
            raise BadRecord(f"timestamp {text!r} is not an ISO 8601 time") from None
    millis = inner.get("timestamp")
    if isinstance(millis, int | float) and not isinstance(millis, bool):
        return datetime.fromtimestamp(millis / 1000, UTC)
    raise BadRecord("no timestamp")


def _monitor_id(inner: Mapping[str, Any], monitor: Mapping[str, Any]) -> int | None:
    for value in (monitor.get("id"), inner.get("monitor_id")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _state(inner: Mapping[str, Any], monitor: Mapping[str, Any], title: str) -> str | None:
    """What the monitor did: its transition, else the event status, else the title."""
    transition = _mapping(monitor.get("transition"))
    destination = _text(transition.get("destination_state"))
    if destination and destination.lower() in _STATES:
        return _STATES[destination.lower()]
    status = _text(inner.get("status"))
    if status and status.lower() in _STATUSES:
        return _STATUSES[status.lower()]
    match = _TITLE.match(title)
    if match is None:
        return None
    word = match.group(1).lower()
    return "recovered" if word == "recovered" else "no data" if word == "no data" else word.replace("-", "")


def _service(inner: Mapping[str, Any], tags: list[str], monitor_id: int | None, services: ServiceMap) -> str | None:
    """The mapped service, else the event's ``service`` (not Datadog's "undefined"), else
    its ``service:`` tag."""
    mapped = services.service_of(tags, monitor_id)
    if mapped:
        return mapped
    own = _text(inner.get("service"))
    if own and own != "undefined":
        return own
    return next((t.removeprefix("service:") for t in tags if t.startswith("service:") and len(t) > 8), None)


def _runbook(message: str | None) -> dict[str, Any]:
    urls = list(dict.fromkeys(_URL.findall(message or "")))
    found: dict[str, Any] = {}
    runbook = next((u for u in urls if _RUNBOOK.search(u)), None)
    if runbook:
        found["runbook"] = runbook
    return found


def event_of(item: Any, *, services: ServiceMap, app_url: str, fallback_service: str | None = None) -> Event:
    """One event of a ``GET /api/v2/events`` reply's ``data`` list; ``fallback_service`` is
    its service when nothing in the event names one (the search asked for one service).

    :raises BadRecord: no id, or no readable time.
    """
    if not isinstance(item, Mapping) or not _text(item.get("id")):
        raise BadRecord("no event id")
    outer = _mapping(item.get("attributes"))
    inner = _mapping(outer.get("attributes"))
    monitor = _mapping(inner.get("monitor"))
    tags = list(dict.fromkeys([*_strings(outer.get("tags")), *_strings(monitor.get("tags"))]))
    monitor_id = _monitor_id(inner, monitor)
    message = _text(outer.get("message"))
    title = _text(inner.get("title")) or _text(inner.get("event_object")) or (message or "").split("\n")[0]
    details: dict[str, Any] = {"tags": tags} if tags else {}
    for key in ("status", "priority", "hostname"):
        if _text(inner.get(key)):
            details[key] = inner[key]
    is_monitor = bool(monitor) or monitor_id is not None or "source:alert" in tags
    link = None
    if is_monitor:
        kind = EventKind.ALERT
        name = _text(monitor.get("name")) or _text(monitor.get("templated_name")) or _TITLE.sub("", title)
        details["monitor"] = name
        if monitor_id is not None:
            details["monitor_id"] = monitor_id
        state = _state(inner, monitor, title)
        if state:
            details["state"] = state
        groups = _strings(inner.get("monitor_groups"))
        if groups:
            details["groups"] = groups
        details.update(_runbook(message))
        alert_url = _text(_mapping(monitor.get("result")).get("alert_url"))
        link = app_url + alert_url if alert_url and alert_url.startswith("/") else alert_url
    else:
        kind = EventKind.CHANGE
        source = next((t.removeprefix("source:") for t in tags if t.startswith("source:")), None)
        if source or _text(inner.get("source_type_name")):
            details["change_source"] = source or inner["source_type_name"]
        if message and message != title:
            details["message"] = message[:500]
    return Event.create(
        at=_time(outer, inner),
        source=SOURCE,
        kind=kind,
        summary=title or f"Datadog event {item['id']}",
        native_id=str(item["id"]),
        service=_service(inner, tags, monitor_id, services) or fallback_service,
        link=link,
        details=details,
    )


def events_of(
    items: Iterable[Any],
    *,
    services: ServiceMap,
    app_url: str,
    window: tuple[datetime, datetime] | None,
    skips: Skips,
    fallback_service: str | None = None,
) -> list[Event]:
    """The events of ``items`` inside ``window`` (all of them when it is ``None``)."""
    events = []
    for item in items:
        try:
            event = event_of(item, services=services, app_url=app_url, fallback_service=fallback_service)
        except BadRecord as exc:
            skips.add(str(exc))
            continue
        if window is None or window[0] <= event.at <= window[1]:
            events.append(event)
    return events
