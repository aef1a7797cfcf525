"""Charts of outcome metrics as self-contained SVG strings (no plotting library, no
script, no stylesheet, no ids): ``retroflow outcomes --plot DIR`` writes them, and an HTML
page can inline several side by side.

:func:`time_chart` draws bars and lines over time with vertical marks (done actions); every
bar, point and mark carries a ``<title>`` (the browser's tooltip, and what a screen reader
reads). :func:`service_charts` makes the standard three per service: monthly median and
p90 time to restore, incident counts, alerts per incident.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from html import escape

import attrs

from retroflow.model import DoneAction, Outcome, OutcomeWindow, format_duration
from retroflow.outcomes.history import History
from retroflow.outcomes.report import OutcomeReport, PeriodRow, table_rows
from retroflow.outcomes.verdicts import HistoryIndex

__all__ = [
    "Mark",
    "Point",
    "Series",
    "duration_step",
    "number_step",
    "report_charts",
    "service_charts",
    "time_chart",
]

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 44
COLOURS = ("#2f6db5", "#d9822b", "#3a9a5b", "#8e44ad")
FONT = 'font-family="system-ui, sans-serif"'


@attrs.frozen
class Point:
    """One value over ``[start, end)`` (``None``: no data), with its tooltip."""

    start: datetime
    end: datetime
    value: float | None
    label: str


def _points(points: Iterable[Point]) -> tuple[Point, ...]:
    return tuple(points)


@attrs.frozen
class Series:
    """Points drawn as ``bars`` or as a ``line`` with dots."""

    name: str
    points: tuple[Point, ...] = attrs.field(converter=_points)
    style: str = "line"


@attrs.frozen
class Mark:
    """A vertical line at ``at`` (a done action), with its tooltip."""

    at: datetime
    label: str


#: Gridlines per chart (above zero).
TICKS = 4

#: Round steps for a time axis, in seconds: minutes, hours, days.
DURATION_STEPS = tuple(
    [m * 60.0 for m in (1, 2, 5, 10, 15, 20, 30, 45)] + [h * 3600.0 for h in (1, 2, 3, 4, 6, 8, 12, 18, 24, 36, 48, 72)]
)


def number_step(value: float) -> float:
    """A round gridline step (1, 2, 2.5 or 5 times a power of ten) that fits ``value`` in
    :data:`TICKS` steps."""
    if value <= 0:
        return 0.25
    share = value / TICKS
    magnitude: float = 10.0 ** math.floor(math.log10(share))
    return next(step * magnitude for step in (1.0, 2.0, 2.5, 5.0, 10.0) if step * magnitude >= share)


def duration_step(seconds: float) -> float:
    """A round gridline step for durations (5 min, 30 min, 2 h, 12 h, …)."""
    share = seconds / TICKS
    return next((step for step in DURATION_STEPS if step >= share), math.ceil(share / 86400) * 86400.0)


def _text(x: float, y: float, content: str, anchor: str = "middle", size: int = 11) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" {FONT}>{escape(content)}</text>'


def time_chart(
    title: str,
    series: Sequence[Series],
    *,
    marks: Sequence[Mark] = (),
    format_value: Callable[[float], str] = lambda v: f"{v:g}",
    axis_label: str = "",
    step: Callable[[float], float] = number_step,
) -> str:
    """An SVG chart of ``series`` over time with vertical ``marks``; ``step`` picks the
    gridline step for the largest value (:func:`number_step`, :func:`duration_step`)."""
    points = [p for s in series for p in s.points]
    if not points:
        return _empty(title)
    start, end = min(p.start for p in points), max(p.end for p in points)
    span = (end - start).total_seconds() or 1.0
    top = TICKS * step(max((p.value for p in points if p.value is not None), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + plot_w * (at - start).total_seconds() / span

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img"><title>{escape(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        _text(LEFT, 20, title, anchor="start", size=13),
    ]
    out += _axes(top, start, end, x, y, format_value, axis_label)
    for number, one in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        out += _bars(one, x, y, colour) if one.style == "bars" else _line(one, x, y, colour)
    out += _marks(marks, start, end, x)
    out += _legend(series)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _empty(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 60" width="{WIDTH}" height="60" role="img">'
        f"<title>{escape(title)}</title>{_text(LEFT, 20, title, anchor='start', size=13)}"
        f"{_text(LEFT, 44, 'no data', anchor='start')}</svg>\n"
    )


def _axes(
    top: float,
    start: datetime,
    end: datetime,
    x: Callable[[datetime], float],
    y: Callable[[float], float],
    format_value: Callable[[float], str],
    axis_label: str,
) -> list[str]:
    out = []
    for tick in range(TICKS + 1):
        value = top * tick / TICKS
        out.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{WIDTH - RIGHT}" y2="{y(value):.1f}" stroke="#e3e3e3"/>')
        out.append(_text(LEFT - 6, y(value) + 4, format_value(value), anchor="end", size=10))
    if axis_label:
        out.append(_text(14, TOP - 8, axis_label, anchor="start", size=10))
    labels = _month_labels(start, end)
    every = max(1, math.ceil(len(labels) / 8))
    for at in labels[::every]:
        out.append(_text(x(at), HEIGHT - BOTTOM + 16, f"{at:%Y-%m}", size=10))
    return out


def _month_labels(start: datetime, end: datetime) -> list[datetime]:
    at = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if at < start:
        at = (at + timedelta(days=32)).replace(day=1)
    labels = []
    while at < end:
        labels.append(at)
        at = (at + timedelta(days=32)).replace(day=1)
    return labels


def _bars(series: Series, x: Callable[[datetime], float], y: Callable[[float], float], colour: str) -> list[str]:
    out = []
    base = y(0)
    for point in series.points:
        if point.value is None:
            continue
        left, right = x(point.start) + 1, x(point.end) - 1
        top = y(point.value)
        out.append(
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{max(right - left, 1):.1f}" height="{base - top:.1f}" '
            f'fill="{colour}" fill-opacity="0.75"><title>{escape(point.label)}</title></rect>'
        )
    return out


def _line(series: Series, x: Callable[[datetime], float], y: Callable[[float], float], colour: str) -> list[str]:
    out = []
    runs: list[list[tuple[float, float]]] = [[]]
    for point in series.points:
        if point.value is None:
            runs.append([])  # a gap in the data is a gap in the line
            continue
        middle = point.start + (point.end - point.start) / 2
        runs[-1].append((x(middle), y(point.value)))
        out.append(
            f'<circle cx="{x(middle):.1f}" cy="{y(point.value):.1f}" r="3.5" fill="{colour}">'
            f"<title>{escape(point.label)}</title></circle>"
        )
    paths = [
        f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in run)}" fill="none" stroke="{colour}" '
        'stroke-width="2"/>'
        for run in runs
        if len(run) > 1
    ]
    return paths + out


def _marks(marks: Sequence[Mark], start: datetime, end: datetime, x: Callable[[datetime], float]) -> list[str]:
    out = []
    for mark in marks:
        if not start <= mark.at <= end:
            continue
        at = x(mark.at)
        out.append(
            f'<g><title>{escape(mark.label)}</title><line x1="{at:.1f}" y1="{TOP}" x2="{at:.1f}" '
            f'y2="{HEIGHT - BOTTOM}" stroke="#b03030" stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<path d="M{at - 5:.1f},{TOP - 2} L{at + 5:.1f},{TOP - 2} L{at:.1f},{TOP + 6} Z" fill="#b03030"/></g>'
        )
    return out


def _legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    out = []
    at = WIDTH - RIGHT
    for number, one in reversed(list(enumerate(series))):
        colour = COLOURS[number % len(COLOURS)]
        at -= 12 + 7 * len(one.name)
        out.append(f'<rect x="{at:.1f}" y="11" width="9" height="9" fill="{colour}"/>')
        out.append(_text(at + 13, 20, one.name, anchor="start", size=11))
    return out


# --- the standard charts of a service --------------------------------------------------------


def _seconds(value: float) -> str:
    return format_duration(timedelta(seconds=value))


def _action_marks(outcomes: Sequence[Outcome], unmeasured: Sequence[DoneAction], service: str) -> list[Mark]:
    marks = [
        Mark(o.action.done_at, f"{o.action.done_at:%Y-%m-%d} done: {o.action.title} ({o.action.metric}: {o.verdict})")
        for o in outcomes
        if o.action.service == service
    ]
    marks += [
        Mark(a.done_at, f"{a.done_at:%Y-%m-%d} done: {a.title} (not measured)")
        for a in unmeasured
        if a.service == service
    ]
    return marks


def _series(
    name: str,
    rows: Sequence[PeriodRow],
    metric: str,
    value: Callable[[OutcomeWindow], float | None],
    label: Callable[[OutcomeWindow], str],
    style: str = "line",
) -> Series:
    """One metric's monthly values as a series (a month without data is a gap)."""
    points = []
    for row in rows:
        window = row.windows.get(metric)
        known = None if window is None else value(window)
        text = (
            f"{row.period}: {label(window)}" if window is not None and known is not None else f"{row.period}: no data"
        )
        points.append(Point(row.start, row.end, known, text))
    return Series(name, points, style)


def service_charts(
    service: str,
    rows: Sequence[PeriodRow],
    outcomes: Sequence[Outcome] = (),
    unmeasured: Sequence[DoneAction] = (),
) -> Mapping[str, str]:
    """The three standard charts of ``service`` from its monthly ``rows``, its done
    actions marked: ``{"time-to-restore": svg, "incidents": svg, "alerts-per-incident": svg}``."""
    marks = _action_marks(outcomes, unmeasured, service)
    restore = "time-to-restore"
    medians = _series(
        "median", rows, restore, lambda w: w.value, lambda w: f"median {_seconds(w.value or 0)} (n = {w.n})"
    )
    p90s = _series("p90", rows, restore, lambda w: w.p90, lambda w: f"p90 {_seconds(w.p90 or 0)} (n = {w.n})")
    counts = _series(
        "incidents", rows, "incident-rate", lambda w: w.count, lambda w: f"{w.count:g} incidents", style="bars"
    )
    alerts = _series(
        "alerts per incident",
        rows,
        "alerts-per-incident",
        lambda w: w.value,
        lambda w: f"{w.value or 0:.2g} alerts per incident (n = {w.n})",
    )
    return {
        "time-to-restore": time_chart(
            f"{service}: time to restore, monthly median and p90",
            [medians, p90s],
            marks=marks,
            format_value=_seconds,
            step=duration_step,
        ),
        "incidents": time_chart(f"{service}: incidents per month", [counts], marks=marks),
        "alerts-per-incident": time_chart(
            f"{service}: alerts per incident, monthly", [alerts], marks=marks, format_value=lambda v: f"{v:.2g}"
        ),
    }


def report_charts(
    history: History, report: OutcomeReport, *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Mapping[str, str]]:
    """The standard charts of every service of ``report`` (monthly, whatever the report's
    period), by service: what ``retroflow outcomes --plot`` writes and ``/outcomes`` shows."""
    index = HistoryIndex(history.incidents, as_of=until)
    charts = {}
    for service in sorted({row.service for row in report.rows}):
        rows = table_rows(index, report.metrics, [service], since=since, period="month")
        charts[service] = service_charts(service, rows, report.outcomes, report.unmeasured)
    return charts
