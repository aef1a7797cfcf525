"""The condensed timeline every document shows: rows, not thousands of log lines.

The timeline is condensed minute by minute: what people did and said is listed, floods of
signals are counted per service, and quiet runs of signal-only minutes collapse into one
row. The Markdown and HTML renderers both show these rows; each only writes them its way.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from retroflow.model import Event, EventKind

__all__ = ["MAX_ROWS", "PER_ROW", "Row", "condense", "row_finder"]

#: At most this many timeline rows; past it, rows without people in them are merged.
MAX_ROWS = 60
#: At most this many events are named in one row.
PER_ROW = 4


def _hm(value: datetime) -> str:
    return value.strftime("%H:%M")


@attrs.define
class Row:
    """One row of a condensed timeline: the minutes from :attr:`start` to :attr:`end`
    (inclusive, whole minutes), the events people took part in, and signal counts."""

    start: datetime
    end: datetime
    notable: list[Event] = attrs.field(factory=list)
    signals: Counter[str] = attrs.field(factory=Counter)
    #: The first signal text of the row that no earlier row gave as its example ("" if none).
    first_signal: str = ""

    @property
    def has_people(self) -> bool:
        return bool(self.notable)

    def merge(self, other: Row) -> None:
        self.end = other.end
        self.notable.extend(other.notable)
        self.signals.update(other.signals)
        self.first_signal = self.first_signal or other.first_signal

    def label(self) -> str:
        """``02:19``, or ``02:20–02:22`` for a row of several minutes (UTC)."""
        if self.start == self.end:
            return _hm(self.start)
        return f"{_hm(self.start)}–{_hm(self.end)}"

    @property
    def shown(self) -> list[Event]:
        """The events a row names (at most :data:`PER_ROW`); :attr:`more` counts the rest."""
        return self.notable[:PER_ROW]

    @property
    def more(self) -> int:
        return max(0, len(self.notable) - PER_ROW)

    @property
    def signal_total(self) -> int:
        return sum(self.signals.values())

    def signals_by_service(self) -> list[tuple[str, int]]:
        """``(service, count)``, most signals first, then by name."""
        return sorted(self.signals.items(), key=lambda item: (-item[1], item[0]))


def condense(events: Sequence[Event], max_rows: int = MAX_ROWS) -> list[Row]:
    """Rows of a condensed timeline: one per minute, then merged until at most
    ``max_rows`` remain (signal-only runs first, then quiet stretches between people).

    A row's example signal is one the rows before it did not show: a log line that
    repeats for an hour is quoted once, where it starts, not on every row."""
    rows: list[Row] = []
    shown: set[str] = set()
    current: Row | None = None
    signal = EventKind.SIGNAL
    minute = timedelta(minutes=1)
    row_end = None
    for event in events:
        if row_end is None or event.at >= row_end:  # cheaper than truncating every time
            start = event.at.replace(second=0, microsecond=0)
            row_end = start + minute
            current = Row(start=start, end=start)
            rows.append(current)
        assert current is not None
        if event.kind is signal:
            current.signals[event.service or "unknown service"] += 1
            if not current.first_signal and event.summary not in shown:
                current.first_signal = event.summary
                shown.add(event.summary)
        else:
            current.notable.append(event)
    rows = _merge_runs(rows, lambda a, b: not a.has_people and not b.has_people)
    if len(rows) > max_rows:
        rows = _merge_runs(rows, lambda a, b: not b.has_people)
    while len(rows) > max_rows:  # still too many: pair up neighbours
        merged: list[Row] = []
        for i in range(0, len(rows), 2):
            row = rows[i]
            if i + 1 < len(rows):
                row.merge(rows[i + 1])
            merged.append(row)
        rows = merged
    return rows


def _merge_runs(rows: list[Row], mergeable: Callable[[Row, Row], bool]) -> list[Row]:
    out: list[Row] = []
    for row in rows:
        if out and mergeable(out[-1], row):
            out[-1].merge(row)
        else:
            out.append(row)
    return out


def row_finder(rows: Sequence[Row]) -> Callable[[datetime], int]:
    """A function giving the position in ``rows`` of the row an event at a given time was
    condensed into (the last row starting at or before it; -1 before the first row)."""
    starts = [row.start for row in rows]
    return lambda at: bisect.bisect_right(starts, at) - 1
