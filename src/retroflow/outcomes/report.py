"""The outcome report: every metric per service and period, then every done action with
its metric before and after and the verdict (``retroflow outcomes``), as text and JSON
(schema ``retroflow.outcomes/1``, ``retroflow/schema/outcomes-1.schema.json``).

Also :func:`past_actions_for`: the section "Which past retro actions measurably improved
the system?" of a retro, from the same history and verdicts.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from retroflow.config import Config
from retroflow.engine import PastActionsLookup
from retroflow.model import (
    DoneAction,
    Exposure,
    Incident,
    MetricKind,
    Outcome,
    OutcomeWindow,
    PastActions,
    format_duration,
    format_timestamp,
)
from retroflow.outcomes.history import History, load_history
from retroflow.outcomes.settings import OutcomeSettings, outcome_settings
from retroflow.outcomes.verdicts import HistoryIndex, evaluate, window_of
from retroflow.plugins import Plugins
from retroflow.roles import OutcomeMetric
from retroflow.serialize import done_action_to_dict, outcome_to_dict
from retroflow.store.store import Store

__all__ = [
    "SCHEMA",
    "OutcomeReport",
    "PeriodRow",
    "build_report",
    "past_actions_for",
    "past_actions_lookup",
    "periods",
    "render_text",
    "table_rows",
    "to_json",
]

SCHEMA = "retroflow.outcomes/1"
PERIODS = ("month", "quarter")


@attrs.frozen
class PeriodRow:
    """One service over one period: each metric's window (by metric name)."""

    service: str
    period: str
    start: datetime
    end: datetime
    windows: Mapping[str, OutcomeWindow]


@attrs.frozen
class OutcomeReport:
    """What ``retroflow outcomes`` shows."""

    as_of: datetime | None
    period: str
    window_days: int
    settings: OutcomeSettings
    metrics: tuple[OutcomeMetric, ...]
    rows: tuple[PeriodRow, ...]
    outcomes: tuple[Outcome, ...]
    unmeasured: tuple[DoneAction, ...]


def _period_start(moment: datetime, period: str) -> datetime:
    month = moment.month if period == "month" else 3 * ((moment.month - 1) // 3) + 1
    return datetime(moment.year, month, 1, tzinfo=UTC)


def _next_period(start: datetime, period: str) -> datetime:
    months = start.month - 1 + (1 if period == "month" else 3)
    return start.replace(year=start.year + months // 12, month=months % 12 + 1)


def _label(start: datetime, period: str) -> str:
    return f"{start:%Y-%m}" if period == "month" else f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def periods(start: datetime, end: datetime, period: str) -> Iterator[tuple[str, datetime, datetime]]:
    """Calendar months or quarters (UTC) covering ``[start, end)``, the first and last cut
    to it: ``(label, start, end)``."""
    if period not in PERIODS:
        raise ValueError(f"period: expected month or quarter, not {period!r}")
    current = _period_start(start, period)
    while current < end:
        following = _next_period(current, period)
        yield _label(current, period), max(current, start), min(following, end)
        current = following


def table_rows(
    index: HistoryIndex,
    metrics: Sequence[OutcomeMetric],
    services: Sequence[str],
    *,
    since: datetime | None = None,
    period: str = "month",
) -> list[PeriodRow]:
    """Every metric per service and period, from ``since`` (or the first incident known)
    to the end of the history known: one pass over the history per metric, each value put
    in its service's and period's cell."""
    if index.first is None or index.horizon is None:
        return []
    start = max(since, index.first) if since else index.first
    spans = list(periods(start, index.horizon, period))
    bounds = [lo for _, lo, _ in spans]
    chosen = set(services)
    # Which incidents (positions in the history) fall in each service's period: once.
    cells: dict[tuple[str, int], list[int]] = defaultdict(list)
    first, last = bisect.bisect_left(index.starts, start), bisect.bisect_left(index.starts, index.horizon)
    for position in range(first, last):
        record = index.incidents[position]
        number = bisect.bisect_right(bounds, record.started) - 1
        for service in record.services:
            if service in chosen:
                cells[(service, number)].append(position)
    values = {m.name: index.series(m, None).values for m in metrics}
    rows = []
    for service in services:
        for number, (label, lo, hi) in enumerate(spans):
            positions = cells.get((service, number), ())
            windows = {}
            for metric in metrics:
                observed = values[metric.name]
                windows[metric.name] = window_of(
                    metric, lo, hi, [v for v in (observed[i] for i in positions) if v is not None]
                )
            rows.append(PeriodRow(service=service, period=label, start=lo, end=hi, windows=windows))
    return rows


def build_report(
    history: History,
    metrics: Mapping[str, OutcomeMetric],
    settings: OutcomeSettings,
    *,
    services: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    period: str = "month",
    window_days: int | None = None,
) -> OutcomeReport:
    """The report over the history known before ``until`` (default: all of it). ``since``
    and ``until`` bound the table's periods and which actions (by ``done_at``) are
    evaluated; an action's windows may reach before ``since`` (they are what its verdict
    needs). ``services`` limits both to those services."""
    index = HistoryIndex(history.incidents, as_of=until)
    chosen = list(dict.fromkeys(services)) or index.services()
    ordered = tuple(metrics[name] for name in sorted(metrics))
    rows = table_rows(index, ordered, chosen, since=since, period=period)
    wanted = [
        a
        for a in history.actions
        if (not services or a.service in chosen)
        and (since is None or a.done_at >= since)
        and (until is None or a.done_at < until)
    ]
    outcomes, unmeasured = evaluate(wanted, index, metrics, settings, window_days=window_days)
    return OutcomeReport(
        as_of=until,
        period=period,
        window_days=window_days or settings.window_days,
        settings=settings,
        metrics=ordered,
        rows=tuple(rows),
        outcomes=tuple(outcomes),
        unmeasured=tuple(unmeasured),
    )


def past_actions_for(
    incident: Incident,
    as_of: datetime | None,
    history: History,
    metrics: Mapping[str, OutcomeMetric],
    settings: OutcomeSettings,
) -> PastActions:
    """The done actions on ``incident``'s services, judged on the history known when it
    began (``as_of``), q-values across them."""
    services = tuple(incident.services)
    index = HistoryIndex([r for r in history.incidents if r.id != incident.id], as_of=as_of)
    actions = [
        a
        for a in history.actions
        if a.service in services and a.incident != incident.id and (as_of is None or a.done_at < as_of)
    ]
    outcomes, unmeasured = evaluate(actions, index, metrics, settings)
    known = sum(len(index.by_service.get(s, ())) for s in services)
    return PastActions(
        services=services, as_of=as_of, incidents=known, outcomes=tuple(outcomes), unmeasured=tuple(unmeasured)
    )


def past_actions_lookup(store: Store | None, config: Config, plugins: Plugins) -> PastActionsLookup:
    """What a retro build calls once it knows its incident (see
    :func:`retroflow.engine.build_retro`): the store's history and the registered metrics.
    ``store`` is ``None`` before the first retro is stored: no history yet."""

    def look_up(incident: Incident, as_of: datetime | None) -> PastActions:
        registry = plugins.outcome_metrics
        metrics = {name: registry.get(name) for name in registry.names()}
        history = (
            load_history(store, config, besides=incident.id) if store is not None else History(incidents=(), actions=())
        )
        return past_actions_for(incident, as_of, history, metrics, outcome_settings(config))

    return look_up


# --- JSON ------------------------------------------------------------------------------------


def to_json(report: OutcomeReport) -> dict[str, Any]:
    """The report as the ``retroflow.outcomes/1`` document."""
    settings = report.settings
    return {
        "schema": SCHEMA,
        "as_of": format_timestamp(report.as_of) if report.as_of else None,
        "window_days": report.window_days,
        "settle_days": settings.settle_days,
        "equivalence": settings.equivalence,
        "confidence": settings.confidence,
        "fdr": settings.fdr,
        "period": report.period,
        "metrics": [entry for row in report.rows for entry in _row_entries(row)],
        "actions": [outcome_to_dict(o) for o in report.outcomes],
        "unmeasured": [done_action_to_dict(a) for a in report.unmeasured],
    }


def _row_entries(row: PeriodRow) -> Iterator[dict[str, Any]]:
    """A row's windows as ``metrics`` entries (its times formatted once, not per metric)."""
    times = {"from": format_timestamp(row.start), "to": format_timestamp(row.end)}
    for name, window in row.windows.items():
        yield {
            "service": row.service,
            "period": row.period,
            "metric": name,
            **times,
            "n": window.n,
            "value": window.value,
            "count": window.count,
            "exposure": window.exposure,
            "p90": window.p90,
        }


# --- text --------------------------------------------------------------------------------------


def format_value(metric: OutcomeMetric, window: OutcomeWindow) -> str:
    """A window's value as the report's tables show it."""
    if window.value is None:
        return "—"
    if metric.kind is MetricKind.DURATION:
        median = format_duration(timedelta(seconds=window.value))
        p90 = format_duration(timedelta(seconds=window.p90 or 0))
        return f"{median} / {p90} ({window.n})"
    if metric.per is Exposure.DAYS:
        return f"{window.count:g}"
    return f"{window.value:.2g} ({window.n})"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _service_lines(report: OutcomeReport, service: str, rows: Sequence[PeriodRow]) -> list[str]:
    header = ["period", *(m.name for m in report.metrics)]
    body = [[row.period, *(format_value(m, row.windows[m.name]) for m in report.metrics)] for row in rows]
    return [service, *(f"  {line}" for line in _table([header, *body])), ""]


def _action_lines(outcome: Outcome) -> list[str]:
    action = outcome.action
    head = (
        f"{outcome.verdict.value:<13} {action.title} [{action.id}] — {action.metric} on {action.service or 'all services'}, "
        f"from {action.incident}, done {action.done_at:%Y-%m-%d} ({action.origin})"
    )
    lines = [head, f"{'':14}{outcome.reason}"]
    control = outcome.control
    if control is not None and control.effect is not None:
        p = f", p = {control.p:.2g}" if control.p is not None else ""
        lines.append(f"{'':14}control: the other {control.services} services ×{control.effect:.2f}{p}")
    return lines


def render_text(report: OutcomeReport) -> str:
    """The report for a terminal: a table per service, then the actions."""
    out = [
        "Durations: median / p90 (n). Counts per period; per-incident values with (n).",
        "",
    ]
    by_service: dict[str, list[PeriodRow]] = {}
    for row in report.rows:
        by_service.setdefault(row.service, []).append(row)
    for service, rows in by_service.items():
        out += _service_lines(report, service, rows)
    if not report.rows:
        out += ["No incident history yet (retroflow history import FILE, or build retros).", ""]
    settings = report.settings
    out.append(
        f"Completed actions: {len(report.outcomes)} measured "
        f"(windows {report.window_days} days before, and after {settings.settle_days} days to settle; "
        f"significant: {settings.confidence:.0%} interval leaves out 1 and q ≤ {settings.fdr:g}; "
        f"no-change: interval within ±{settings.equivalence:.0%})"
    )
    for outcome in report.outcomes:
        out += _action_lines(outcome)
    for action in report.unmeasured:
        out.append(
            f"{'unmeasured':<13} {action.title} [{action.id}] — {action.metric or 'no metric'!r} is not an outcome "
            f"metric, done {action.done_at:%Y-%m-%d}"
        )
    return "\n".join(out) + "\n"
