"""The timeline as a picture: inline SVG, one lane per kind of event, written by hand.

Time runs left to right; each lane holds one kind of event (changes, signals, alerts and
pages, responses, chat and decisions, mitigation and resolution); the key moments are
vertical markers. Events are counted into a fixed number of time bins per lane, so a
flood of 100,000 log lines is a density band of at most :data:`BINS` marks with counts,
and the picture's size does not grow with the timeline. Every mark is a link to the row
of the condensed timeline that holds its events, with a ``<title>`` that names them
(a tooltip, and the link's accessible name).

Hand-written rather than a charting library: a few kilobytes, no script, works offline
(``reference/RESEARCH.md`` §5.2).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs
from markupsafe import Markup, escape

from retroflow.default_plugins.renderers.texts import MOMENT_LABELS, actor_to_name
from retroflow.model import Event, EventKind, Moments

__all__ = ["BINS", "LANES", "Lane", "timeline_svg"]

#: Time bins per lane: the most marks one lane can hold.
BINS = 160
#: Events named in one mark's title; the rest are counted.
NAMED = 4

WIDTH = 960
LEFT = 170  # room for the lane labels
RIGHT = 14
LANE_HEIGHT = 34
LABEL_ROW = 15  # one row of key-moment labels above the lanes
AXIS = 26


@attrs.frozen
class Lane:
    """A lane of the chart: the kinds of event it shows."""

    key: str
    label: str
    kinds: frozenset[EventKind]


LANES: tuple[Lane, ...] = (
    Lane("changes", "Changes", frozenset({EventKind.CHANGE})),
    Lane("signals", "Signals", frozenset({EventKind.SIGNAL})),
    Lane("alerts", "Alerts & pages", frozenset({EventKind.ALERT, EventKind.PAGE})),
    Lane("responses", "Responses", frozenset({EventKind.ACK, EventKind.RESPONSE})),
    Lane("chat", "Chat & decisions", frozenset({EventKind.MESSAGE, EventKind.DECISION})),
    Lane("recovery", "Mitigation & resolution", frozenset({EventKind.MITIGATION, EventKind.RESOLUTION})),
)
_LANE_OF = {kind: position for position, lane in enumerate(LANES) for kind in lane.kinds}

_SHORT_MOMENTS = {
    "first_signal": "signal",
    "first_alert": "alert",
    "first_page": "page",
    "first_ack": "ack",
    "mitigation": "mitigated",
    "resolve": "resolved",
}

#: Tick steps of the time axis, in minutes: the first that gives at most ten ticks.
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 43200)


@attrs.define
class _Bin:
    """The events of one lane in one time bin."""

    first: Event
    last: Event
    count: int = 0
    named: list[Event] = attrs.field(factory=list)
    services: Counter[str] = attrs.field(factory=Counter)


@attrs.frozen
class _Scale:
    start: datetime
    end: datetime
    #: When the timeline begins long before the incident (a change window of hours, the
    #: git history of a day): its first event, whose time is gathered at the left edge.
    earliest: datetime | None = None

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    def x(self, at: datetime) -> float:
        """Where ``at`` is; a time before :attr:`start` is at the left edge."""
        return LEFT + (WIDTH - LEFT - RIGHT) * ((max(at, self.start) - self.start) / self.span)

    def bin_x(self, position: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * position / BINS


#: How far before the incident began the chart reaches at least, and as a share of the
#: incident's own length: earlier events are gathered at the left edge, so that a day of
#: changes before it does not squash the incident's minutes into a few pixels.
LEAD_MINIMUM = timedelta(minutes=30)
LEAD_SHARE = 0.5


def _scale(events: Sequence[Event], moments: Moments) -> _Scale:
    known = [m for m in attrs.astuple(moments, recurse=False) if m is not None]
    start = min([events[0].at, *known])
    end = max([events[-1].at, *known])
    earliest = None
    if moments.start is not None:
        lead = max(LEAD_MINIMUM, (end - moments.start) * LEAD_SHARE)
        if start < moments.start - lead:
            start, earliest = moments.start - lead, start
    if end - start < timedelta(minutes=2):  # one instant, or nearly: show some room around it
        start, end = start - timedelta(minutes=1), end + timedelta(minutes=1)
    return _Scale(start, end, earliest)


def _binned(events: Sequence[Event], scale: _Scale) -> list[dict[int, _Bin]]:
    """Each lane's bins (position → events), in one pass over the timeline; the hot loop
    at 100,000 events, hence written out by hand."""
    lanes: list[dict[int, _Bin]] = [{} for _ in LANES]
    lane_of, signal = _LANE_OF, EventKind.SIGNAL
    start, per_second, last = scale.start, BINS / scale.span.total_seconds(), BINS - 1
    for event in events:
        position = max(0, min(last, int((event.at - start).total_seconds() * per_second)))
        bins = lanes[lane_of[event.kind]]
        found = bins.get(position)
        if found is None:
            found = bins[position] = _Bin(first=event, last=event)
        found.count += 1
        found.last = event
        if event.kind is signal:
            found.services[event.service or "unknown service"] += 1
        elif len(found.named) < NAMED:
            found.named.append(event)
    return lanes


def _hms(at: datetime) -> str:
    return at.strftime("%H:%M:%S")


def _described(event: Event) -> str:
    actor = actor_to_name(event)
    return f"{_hms(event.at)} {event.kind.value}: {event.summary}" + (f" ({actor})" if actor else "")


def _title(found: _Bin) -> str:
    """What a mark's tooltip and accessible name say."""
    if found.count == 1 and found.named:
        return _described(found.first)
    when = f"{_hms(found.first.at)}–{_hms(found.last.at)}"
    if found.services:
        services = ", ".join(f"{s} {n:,}" for s, n in sorted(found.services.items(), key=lambda i: (-i[1], i[0])))
        noun = "signal" if found.count == 1 else "signals"
        return f"{found.count:,} {noun} {when} ({services})"
    listed = "; ".join(_described(e) for e in found.named)
    more = f"; … and {found.count - len(found.named):,} more" if found.count > len(found.named) else ""
    return f"{found.count:,} events {when}: {listed}{more}"


def _mark(found: _Bin, position: int, lane_y: float, scale: _Scale, peak: int, href: str) -> str:
    title = escape(_title(found))
    kind = found.first.kind.value
    if found.count == 1 and found.named:  # one event people can point at: a dot
        x = scale.x(found.first.at)
        shape = f'<circle class="dot k-{kind}" cx="{x:.1f}" cy="{lane_y + LANE_HEIGHT / 2:.1f}" r="5.5"/>'
    else:  # a flood, or several events at once: a band, darker the more it holds
        opacity = 0.3 + 0.7 * math.log1p(found.count) / math.log1p(peak)
        width = max(2.0, scale.bin_x(position + 1) - scale.bin_x(position) - 0.6)
        shape = (
            f'<rect class="band k-{kind}" x="{scale.bin_x(position):.1f}" y="{lane_y + 7:.1f}" '
            f'width="{width:.1f}" height="{LANE_HEIGHT - 14}" fill-opacity="{opacity:.2f}"/>'
        )
    return f'<a class="mark" href="#{escape(href)}"><title>{title}</title>{shape}</a>'


def _axis(scale: _Scale, bottom: float) -> list[str]:
    minutes = scale.span.total_seconds() / 60
    step = next((s for s in _STEPS if minutes / s <= 10), _STEPS[-1])
    delta = timedelta(minutes=step)
    first = scale.start.replace(second=0, microsecond=0)
    since_midnight = first - first.replace(hour=0, minute=0)
    tick = first - (since_midnight % delta)
    if tick < scale.start:
        tick += delta
    out = [f'<line class="axis" x1="{LEFT}" y1="{bottom:.1f}" x2="{WIDTH - RIGHT}" y2="{bottom:.1f}"/>']
    if scale.earliest is not None:  # the left edge holds everything since then
        since = scale.earliest.strftime("%d %b %H:%M")
        out.append(
            f'<text class="tick-label earlier" x="{LEFT - 8}" y="{bottom + 17:.1f}" text-anchor="end">'
            f"\u2190 since {since}</text>"
        )
    day = None
    while tick <= scale.end:
        x = scale.x(tick)
        if scale.earliest is not None and x < LEFT + 24:  # the "since" label's place
            tick += delta
            continue
        label = tick.strftime("%H:%M")
        if tick.date() != day:
            label = tick.strftime("%d %b %H:%M") if day is not None or step >= 1440 else label
            day = tick.date()
        out.append(f'<line class="tick" x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 5:.1f}"/>')
        out.append(f'<text class="tick-label" x="{x:.1f}" y="{bottom + 17:.1f}">{label}</text>')
        tick += delta
    return out


#: The width of a character of a key moment's label, in the chart's units (an estimate).
CHAR_WIDTH = 7


def _label_extent(x: float, text: str) -> tuple[float, float]:
    """Where a key moment's label at ``x`` reaches, left and right (as :func:`_moment_label`
    places it: right of its line, or left of it near the chart's right edge)."""
    width = 3 + CHAR_WIDTH * len(text)
    return (x - width, x) if x + width > WIDTH - RIGHT else (x, x + width)


def _moment_levels(labels: Sequence[tuple[float, str]], gap: float = 6) -> list[int]:
    """A label row for each key moment (``(x, text)``, in time order), so that no two
    labels on a row overlap."""
    rows: list[list[tuple[float, float]]] = []
    levels = []
    for x, text in labels:
        left, right = _label_extent(x, text)
        level = next(
            (i for i, row in enumerate(rows) if all(right + gap <= a or b + gap <= left for a, b in row)),
            len(rows),
        )
        if level == len(rows):
            rows.append([])
        rows[level].append((left, right))
        levels.append(level)
    return levels


def _moment_layout(moments: Moments, scale: _Scale) -> list[tuple[datetime, str, int]]:
    """The key moments known, in time order, each with its label row."""
    known = sorted(
        ((at, name) for name in MOMENT_LABELS if (at := getattr(moments, name)) is not None),
        key=lambda item: (item[0], list(MOMENT_LABELS).index(item[1])),
    )
    levels = _moment_levels([(scale.x(at), _SHORT_MOMENTS[name]) for at, name in known])
    return [(at, name, level) for (at, name), level in zip(known, levels, strict=True)]


def _moment_label(x: float, y: float, text: str) -> str:
    """A key moment's label, right of its line, or left of it near the chart's right edge."""
    left, _right = _label_extent(x, text)
    if left < x:
        return f'<text x="{x - 3:.1f}" y="{y:.1f}" text-anchor="end">{text}</text>'
    return f'<text x="{x + 3:.1f}" y="{y:.1f}">{text}</text>'


def _moments(
    layout: Sequence[tuple[datetime, str, int]],
    scale: _Scale,
    top: float,
    bottom: float,
    anchor: Callable[[datetime], str],
) -> list[str]:
    out = []
    for at, name, level in layout:
        x = scale.x(at)
        label_y = top - level * LABEL_ROW - 4
        title = escape(f"{MOMENT_LABELS[name]} {at.strftime('%Y-%m-%d %H:%M:%S')} UTC")
        out.append(
            f'<a class="moment m-{name}" href="#{escape(anchor(at))}"><title>{title}</title>'
            f'<line x1="{x:.1f}" y1="{label_y + 3:.1f}" x2="{x:.1f}" y2="{bottom:.1f}"/>'
            f"{_moment_label(x, label_y, _SHORT_MOMENTS[name])}</a>"
        )
    return out


def timeline_svg(events: Sequence[Event], moments: Moments, anchor: Callable[[datetime], str]) -> Markup:
    """The chart of ``events`` (in time order) as an ``<svg>`` element; ``anchor(at)`` gives
    the id of the condensed-timeline row holding an event at ``at``. Empty for no events."""
    if not events:
        return Markup("")
    scale = _scale(events, moments)
    lanes = _binned(events, scale)
    layout = _moment_layout(moments, scale)
    top = 6 + (max((level for *_, level in layout), default=-1) + 1) * LABEL_ROW
    bottom = top + LANE_HEIGHT * len(LANES)
    height = bottom + AXIS
    out = [
        f'<svg class="timeline-chart" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="chart-caption" role="group">'
    ]
    for position, (lane, bins) in enumerate(zip(LANES, lanes, strict=True)):
        y = top + position * LANE_HEIGHT
        total = sum(found.count for found in bins.values())
        out.append(f'<g class="lane lane-{lane.key}">')
        out.append(f'<rect class="lane-bg" x="{LEFT}" y="{y}" width="{WIDTH - LEFT - RIGHT}" height="{LANE_HEIGHT}"/>')
        out.append(
            f'<text class="lane-label" x="{LEFT - 8}" y="{y + LANE_HEIGHT / 2 + 4:.1f}">'
            f"{escape(lane.label)} ({total:,})</text>"
        )
        peak = max((found.count for found in bins.values()), default=1)
        for bin_position in sorted(bins):
            found = bins[bin_position]
            out.append(_mark(found, bin_position, y, scale, peak, anchor(found.first.at)))
        out.append("</g>")
    out += _moments(layout, scale, top, bottom, anchor)
    out += _axis(scale, bottom)
    out.append("</svg>")
    return Markup("".join(out))
