"""Incident references: an id, a number or an incident URL. Imported when the source runs
(the plugin module exports these names)."""

from __future__ import annotations

import re

from retroflow.sources import RecordRef

__all__ = ["IncidentRef", "parse_incident_ref"]

#: A number first (``12345`` is also an id's shape), an incident URL, an id: (pattern, by number).
_PATTERNS = (
    (re.compile(r"^#?([0-9]{1,12})$"), True),
    (re.compile(r"^https://[A-Za-z0-9-]+(?:\.eu)?\.pagerduty\.com/incidents/([A-Za-z0-9]+)(?:[/?#].*)?$"), False),
    (re.compile(r"^[A-Z0-9]{5,30}$"), False),
)


class IncidentRef(RecordRef):
    """A PagerDuty incident reference: an id, or an incident number (``by_number``)."""


def parse_incident_ref(text: str) -> IncidentRef | None:
    """``PT4KHLK``, ``1234``, ``#1234`` or an incident URL; ``None`` for anything else."""
    return IncidentRef.first_match(text, _PATTERNS)
