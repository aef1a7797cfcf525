"""Honeycomb API replies → retroflow events and notes.

A marker (a deploy, or any annotation somebody put on the graphs) is a ``change`` at its
``start_time``; one with an ``end_time`` spans a range (a 5-minute deploy) and keeps it in
``details``. Ids are ``<dataset>/<marker id>``, the same on every run.

Triggers give no events: the API says only whether a trigger fires *now*
(``triggered``), not when it fired. An event stamped with the collection time would sit
after the incident, as if the trigger had fired then; what the API does say, that a trigger
of the incident's datasets still fires, becomes a note in the retro's gaps instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from retroflow import Event, EventKind
from retroflow.sources import BadRecord, SkippedRecords

from .settings import ENVIRONMENT

__all__ = ["SOURCE", "BadRecord", "Skips", "firing_triggers", "marker_event", "marker_events"]

SOURCE = "honeycomb"


class Skips(SkippedRecords):
    """Records skipped so far, by what they were, with the first reason of each."""

    source = SOURCE
    unit = ""


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _seconds(record: Mapping[str, Any], key: str) -> datetime | None:
    value = record.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def marker_event(marker: Any, *, dataset: str, service: str | None) -> Event:
    """One marker of ``GET /1/markers/{dataset}`` as a ``change`` event.

    :raises BadRecord: no id, or no ``start_time``.
    """
    if not isinstance(marker, Mapping) or not _text(marker.get("id")):
        raise BadRecord("no marker id")
    start = _seconds(marker, "start_time")
    if start is None:
        raise BadRecord("no start_time")
    kind_of = _text(marker.get("type"))
    details: dict[str, Any] = {"dataset": dataset}
    if kind_of:
        details["marker_type"] = kind_of
    end = _seconds(marker, "end_time")
    if end is not None and end > start:
        details["end"] = end.isoformat().replace("+00:00", "Z")
        details["minutes"] = round((end - start).total_seconds() / 60, 1)
    where = "the environment" if dataset == ENVIRONMENT else dataset
    return Event.create(
        at=start,
        source=SOURCE,
        kind=EventKind.CHANGE,
        summary=_text(marker.get("message")) or f"{kind_of or 'marker'} on {where}",
        native_id=f"{dataset}/{marker['id']}",
        service=service,
        link=_text(marker.get("url")),
        details=details,
    )


def marker_events(
    markers: Any, *, dataset: str, service: str | None, window: tuple[datetime, datetime] | None, skips: Skips
) -> list[Event]:
    """The markers of one dataset that overlap ``window`` (all of them when ``None``)."""
    if not isinstance(markers, list):
        skips.add("markers", f"the reply for {dataset} is not a list")
        return []
    events = []
    for marker in markers:
        try:
            event = marker_event(marker, dataset=dataset, service=service)
        except BadRecord as exc:
            skips.add("markers", str(exc))
            continue
        end = _seconds(marker, "end_time") or event.at
        if window is None or (event.at <= window[1] and end >= window[0]):
            events.append(event)
    return events


def firing_triggers(triggers: Any) -> list[str]:
    """The names of the triggers that fire now (``triggered``), enabled ones only."""
    if not isinstance(triggers, list):
        return []
    return [
        _text(t.get("name")) or str(t.get("id"))
        for t in triggers
        if isinstance(t, Mapping) and t.get("triggered") is True and t.get("disabled") is not True
    ]
