"""Which channel to read: the one configured, or the one the incident links to.

PagerDuty incidents carry their Slack channel as a link (an external reference or the
conference bridge); so do incident files (``links``). A link names the channel by id:

* ``https://<workspace>.slack.com/archives/<CHANNEL>`` (the "copy link" form, with an
  optional ``/p<ts>`` message part);
* ``https://app.slack.com/client/<TEAM>/<CHANNEL>``;
* ``slack://channel?team=<TEAM>&id=<CHANNEL>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from retroflow import Incident

__all__ = ["ChannelRef", "channel_from_incident", "channel_links"]

_ARCHIVES = re.compile(r"(https://[A-Za-z0-9-]+(?:\.enterprise)?\.slack\.com)/archives/([CGD][A-Z0-9]{6,})\b")
_APP_CLIENT = re.compile(r"https://app\.slack\.com/client/T[A-Z0-9]+/([CGD][A-Z0-9]{6,})\b")
_DEEP_LINK = re.compile(r"slack://channel\?(?:[^\s\"']*&)?id=([CGD][A-Z0-9]{6,})\b")
#: How deep to look into ``Incident.details`` for links (raw PagerDuty fields nest a little).
_MAX_DEPTH = 4


@attrs.frozen
class ChannelRef:
    """A channel by id or (in an export) by name, and the workspace's address if known."""

    name_or_id: str
    workspace_url: str | None = None


def channel_links(texts: Iterable[str]) -> Iterator[ChannelRef]:
    """Every Slack channel link in ``texts``, in order."""
    for text in texts:
        for match in _ARCHIVES.finditer(text):
            yield ChannelRef(match.group(2), match.group(1))
        for pattern in (_APP_CLIENT, _DEEP_LINK):
            for match in pattern.finditer(text):
                yield ChannelRef(match.group(1))


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif depth < _MAX_DEPTH and isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif depth < _MAX_DEPTH and isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, depth + 1)


def channel_from_incident(incident: Incident) -> ChannelRef | None:
    """The first Slack channel the incident links to: its ``links`` first, then any link in
    its ``details`` (e.g. PagerDuty's ``external_references`` or ``conference_bridge``)."""
    for texts in (incident.links, _strings(incident.details)):
        for ref in channel_links(texts):
            return ref
    return None
