"""Incident references: an id, a number or an incident URL. Imported when the source runs
(the plugin module exports these names)."""

from __future__ import annotations

import re

import attrs

__all__ = ["IncidentRef", "parse_incident_ref"]

_URL = re.compile(r"^https://[A-Za-z0-9-]+(?:\.eu)?\.pagerduty\.com/incidents/([A-Za-z0-9]+)(?:[/?#].*)?$")
_ID = re.compile(r"^[A-Z0-9]{5,30}$")
_NUMBER = re.compile(r"^#?([0-9]{1,12})$")


@attrs.frozen
class IncidentRef:
    """A PagerDuty incident reference: an id, or an incident number."""

    value: str
    by_number: bool = False


def parse_incident_ref(text: str) -> IncidentRef | None:
    """``PT4KHLK``, ``1234``, ``#1234`` or an incident URL; ``None`` for anything else."""
    text = text.strip()
    if match := _NUMBER.match(text):
        return IncidentRef(match.group(1), by_number=True)
    if match := _URL.match(text):
        return IncidentRef(match.group(1))
    if _ID.match(text):
        return IncidentRef(text)
    return None
