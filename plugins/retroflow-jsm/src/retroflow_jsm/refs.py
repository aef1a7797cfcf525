"""Alert references: an alert"s id, its URL or (Opsgenie) its tiny id. Imported when the
source runs (the plugin module exports these names)."""

from __future__ import annotations

import re

import attrs

__all__ = ["AlertRef", "parse_alert_ref"]

_ID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?:-\d+)?"
_ALERT_ID = re.compile(f"^{_ID}$")
_TINY = re.compile(r"^#?([0-9]{1,12})$")
_URL = re.compile(rf"^https://[^/\s]+/(?:[^\s]*/)?alerts?/(?:detail/)?({_ID})(?:[/?#]\S*)?$")


@attrs.frozen
class AlertRef:
    """An alert reference: its id, or (Opsgenie) its tiny id."""

    value: str
    tiny: bool = False


def parse_alert_ref(text: str, *, tiny_allowed: bool) -> AlertRef | None:
    """An alert id, an alert URL, or (when ``tiny_allowed``) a tiny id; else ``None``."""
    text = text.strip()
    if _ALERT_ID.match(text):
        return AlertRef(text)
    if match := _URL.match(text):
        return AlertRef(match.group(1))
    if tiny_allowed and (match := _TINY.match(text)):
        return AlertRef(match.group(1), tiny=True)
    return None
