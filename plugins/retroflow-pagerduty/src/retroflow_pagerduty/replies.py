"""What the PagerDuty source works with, live or from saved replies, without the API client.

Kept apart from :mod:`.api` so that loading the plugin (which every ``retroflow`` command
does) does not import the ``pagerduty`` client and ``httpx2``; :mod:`.api` is imported
only when an incident is fetched live.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from retroflow import SourceError

__all__ = ["IncidentNotFound", "Replies", "Sleep"]

Sleep = Callable[[float], None]


class IncidentNotFound(SourceError):
    """The API does not know the incident asked for."""


@attrs.frozen
class Replies:
    """The decoded API replies one retro is built from (live or saved).

    :ivar notes_on_limits: results the API's limits left out, said in words.
    :ivar skipped_pages: pages that did not hold the list they should have, by what.
    """

    incident: Mapping[str, Any]
    log_entries: Sequence[Any] = ()
    alerts: Sequence[Any] = ()
    notes: Sequence[Any] = ()
    history: Sequence[Any] = ()
    notes_on_limits: Sequence[str] = ()
    skipped_pages: Mapping[str, int] = attrs.field(factory=dict)
