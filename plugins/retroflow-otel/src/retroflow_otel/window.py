"""The stretch of time the ``otel`` source keeps records in, imported when the source runs
(:mod:`retroflow_otel.plugin` exports :class:`Window`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from retroflow.sources import OpenWindow

if TYPE_CHECKING:
    from .reader import Selection
    from .settings import OtelSettings

__all__ = ["Window"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST_NS = -(2**63)
_LATEST_NS = 2**64


def _unix_ns(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1) * 1_000


@attrs.frozen
class Window(OpenWindow):
    """The stretch of time kept (``Window.around(incident, minutes_before, minutes_after)``);
    an open end is ``None``."""

    def selection(self, settings: OtelSettings) -> Selection:
        from .reader import Selection

        start = _unix_ns(self.start) if self.start else _EARLIEST_NS
        end = _unix_ns(self.end) + 999 if self.end else _LATEST_NS  # the whole last microsecond
        return Selection(settings.threshold, start, end, settings.condense)

    def describe(self) -> str:
        from retroflow import format_timestamp

        if self.start and self.end:
            return f"in the incident's window {format_timestamp(self.start)} – {format_timestamp(self.end)}"
        if self.start:
            return f"in the incident's window, from {format_timestamp(self.start)} on"
        if self.end:
            return f"in the incident's window, up to {format_timestamp(self.end)}"
        return "in the files"
