"""Alert references: an alert's id, its URL or (Opsgenie) its tiny id. Imported when the
source runs (the plugin module exports these names)."""

from __future__ import annotations

import re

from retroflow.sources import RecordRef

__all__ = ["AlertRef", "parse_alert_ref"]

_ID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?:-\d+)?"
_URL = rf"^https://[^/\s]+/(?:[^\s]*/)?alerts?/(?:detail/)?({_ID})(?:[/?#]\S*)?$"
#: An alert id, an alert URL, then (where allowed) a tiny id: (pattern, by number).
_PATTERNS = ((re.compile(f"^{_ID}$"), False), (re.compile(_URL), False), (re.compile(r"^#?([0-9]{1,12})$"), True))


class AlertRef(RecordRef):
    """An alert reference: its id, or (Opsgenie) its tiny id (``by_number``)."""

    @property
    def tiny(self) -> bool:
        """It is a tiny id."""
        return self.by_number


def parse_alert_ref(text: str, *, tiny_allowed: bool) -> AlertRef | None:
    """An alert id, an alert URL, or (when ``tiny_allowed``) a tiny id; else ``None``."""
    return AlertRef.first_match(text, _PATTERNS if tiny_allowed else _PATTERNS[:2])
