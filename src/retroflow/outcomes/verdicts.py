"""A verdict per done action: did its metric move, and can the data tell?

For an action done at ``D`` with a window of ``W`` days and a settle time ``S``:

* **before** = ``[D - W, D)``, leaving out the incident that produced the action (actions
  are born after a bad spell; counting it would show the return to normal as a gain);
* **after** = ``[D + S, D + S + W)``;

both cut to the history known (from its first incident to its last, or ``as_of``). The
metric is measured on the incidents of the action's service. Counts are compared as a rate
ratio (:func:`~retroflow.outcomes.statistics.rate_ratio`), durations as a ratio of medians
(:func:`~retroflow.outcomes.statistics.median_ratio`). Then, across the actions evaluated
together, Benjamini–Hochberg q-values, and:

* ``no-change`` — the interval sits inside ``1 ± equivalence``;
* ``improved`` / ``worse`` — the interval leaves out 1 and ``q <= fdr``, in the good or bad
  direction of the metric;
* ``inconclusive`` — anything else, with a rough number of further incidents that would
  decide it.

The control is the same metric over the same windows on every other service; when it
moved significantly the same way, ``fleet_moved`` says the action may not be the cause.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import accumulate

import attrs

from retroflow.model import (
    DoneAction,
    Exposure,
    IncidentRecord,
    MetricKind,
    Outcome,
    OutcomeControl,
    OutcomeWindow,
    Verdict,
    format_duration,
)
from retroflow.outcomes.settings import OutcomeSettings
from retroflow.outcomes.statistics import (
    RatioResult,
    benjamini_hochberg,
    log_mean_ratio,
    log_se_of_counts,
    log_se_of_interval,
    median_ratio,
    more_incidents_needed,
    quantile,
    rate_ratio,
)
from retroflow.roles import OutcomeMetric

__all__ = ["HistoryIndex", "evaluate", "window_of"]

#: Count rates in time are reported per this many days.
RATE_DAYS = 30

DAY = timedelta(days=1)


class _Series:
    """One metric's values over time-ordered incidents, with prefix sums: a window's count
    is two binary searches, whatever the history's size."""

    def __init__(
        self,
        records: Sequence[IncidentRecord],
        metric: OutcomeMetric,
        values: Sequence[float | None] | None = None,
        starts: Sequence[datetime] | None = None,
    ) -> None:
        self.records = records
        self.starts = list(starts) if starts is not None else [r.started for r in records]
        self.values = list(values) if values is not None else [metric.observe(r) for r in records]
        self.known = [0, *accumulate([v is not None for v in self.values])]
        if metric.kind is MetricKind.DURATION:  # for the control: geometric means in O(1)
            logs = [0.0 if v is None else math.log(v if v > 1.0 else 1.0) for v in self.values]
            self.logs = [0.0, *accumulate(logs)]
            self.squares = [0.0, *accumulate([x * x for x in logs])]
        else:
            self.sums = [0.0, *accumulate([v or 0.0 for v in self.values])]

    def log_moments(self, start: datetime, end: datetime) -> tuple[int, float, float]:
        """``(n, sum of logs, sum of squared logs)`` of the durations in a window (a
        duration under a second counts as one second)."""
        lo, hi = self.span(start, end)
        return self.known[hi] - self.known[lo], self.logs[hi] - self.logs[lo], self.squares[hi] - self.squares[lo]

    def span(self, start: datetime, end: datetime) -> tuple[int, int]:
        return bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end)

    def total(self, start: datetime, end: datetime) -> tuple[float, int]:
        lo, hi = self.span(start, end)
        return self.sums[hi] - self.sums[lo], self.known[hi] - self.known[lo]

    def observed(self, start: datetime, end: datetime) -> list[tuple[IncidentRecord, float]]:
        lo, hi = self.span(start, end)
        return [(r, v) for r, v in zip(self.records[lo:hi], self.values[lo:hi], strict=True) if v is not None]


class HistoryIndex:
    """The history known up to ``as_of``, indexed by time and service."""

    def __init__(self, incidents: Sequence[IncidentRecord], as_of: datetime | None = None) -> None:
        known = [r for r in incidents if as_of is None or r.started < as_of]
        self.incidents = sorted(known, key=lambda r: (r.started, r.id))
        self.starts = [r.started for r in self.incidents]
        self.by_id = {r.id: r for r in self.incidents}
        self.by_service: dict[str, list[IncidentRecord]] = {}
        self._positions: dict[str, list[int]] = {}  # each service's incidents in the fleet's order
        for position, record in enumerate(self.incidents):
            for service in record.services:
                self.by_service.setdefault(service, []).append(record)
                self._positions.setdefault(service, []).append(position)
        # The data is known to reach the last incident (or ``as_of``, if earlier): windows
        # are cut there, so time with no records yet never counts as a quiet spell.
        self.first = self.incidents[0].started if self.incidents else None
        last = self.incidents[-1].started + timedelta(seconds=1) if self.incidents else None
        self.horizon = last if as_of is None or last is None else min(as_of, last)
        self._series: dict[tuple[str, str | None], _Series] = {}

    def series(self, metric: OutcomeMetric, service: str | None) -> _Series:
        key = (metric.name, service)
        if key not in self._series:
            if service is None:
                self._series[key] = _Series(self.incidents, metric)
            else:  # each incident observed once, in the fleet's series
                fleet = self.series(metric, None)
                positions = self._positions.get(service, [])
                values = [fleet.values[i] for i in positions]
                starts = [fleet.starts[i] for i in positions]
                self._series[key] = _Series(self.by_service.get(service, []), metric, values, starts)
        return self._series[key]

    def services(self) -> list[str]:
        return sorted(self.by_service)


# --- one window ------------------------------------------------------------------------------


def _count_window(metric: OutcomeMetric, start: datetime, end: datetime, total: float, known: int) -> OutcomeWindow:
    exposure = (end - start) / DAY if metric.per is Exposure.DAYS else float(known)
    value = None
    if exposure > 0:
        value = total / exposure * (RATE_DAYS if metric.per is Exposure.DAYS else 1)
    return OutcomeWindow(start=start, end=end, n=known, value=value, count=total, exposure=exposure)


def _duration_window(start: datetime, end: datetime, values: Sequence[float]) -> OutcomeWindow:
    ordered = sorted(values)
    return OutcomeWindow(
        start=start,
        end=end,
        n=len(ordered),
        value=quantile(ordered, 0.5) if ordered else None,  # the median, without sorting again
        p90=quantile(ordered, 0.9) if ordered else None,
    )


def window_of(metric: OutcomeMetric, start: datetime, end: datetime, values: Sequence[float]) -> OutcomeWindow:
    """The metric over ``[start, end)`` from the values its incidents gave there."""
    if metric.kind is MetricKind.DURATION:
        return _duration_window(start, end, values)
    return _count_window(metric, start, end, sum(values), len(values))


# --- one action --------------------------------------------------------------------------------


@attrs.frozen
class _Comparison:
    """An action's windows and test, before the q-values are known."""

    action: DoneAction
    metric: OutcomeMetric
    before: OutcomeWindow
    after: OutcomeWindow
    result: RatioResult
    se: float | None
    method: str
    control: OutcomeControl | None
    note: str = ""  # why there is nothing to compare
    shortfall: int | None = None  # how many incidents at least are missing


def _windows(
    action: DoneAction, index: HistoryIndex, settings: OutcomeSettings, window_days: int
) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    width = timedelta(days=window_days)
    done = action.done_at
    first = index.first or done
    horizon = index.horizon or done
    before = (max(done - width, first), min(done, horizon))
    after_start = done + timedelta(days=settings.settle_days)
    after = (after_start, max(after_start, min(after_start + width, horizon)))
    return before, after


def _own_values(
    index: HistoryIndex, metric: OutcomeMetric, action: DoneAction, span: tuple[datetime, datetime]
) -> tuple[list[float], OutcomeWindow]:
    """The action's service's values in a window, without the incident that produced it."""
    series = index.series(metric, action.service)
    start, end = span
    if metric.kind is MetricKind.DURATION:
        values = [v for r, v in series.observed(start, end) if r.id != action.incident]
        return values, _duration_window(start, end, values)
    total, known = series.total(start, end)
    source = index.by_id.get(action.incident)
    if source is not None and start <= source.started < end and action.service in source.services:
        value = metric.observe(source)
        if value is not None:
            total, known = total - value, known - 1
    return [], _count_window(metric, start, end, total, known)


def _compare_counts(before: OutcomeWindow, after: OutcomeWindow, confidence: float) -> tuple[RatioResult, float]:
    k_before, k_after = round(before.count or 0), round(after.count or 0)
    result = rate_ratio(k_before, before.exposure or 0.0, k_after, after.exposure or 0.0, confidence=confidence)
    return result, log_se_of_counts(k_before, k_after)


def _control(
    index: HistoryIndex,
    metric: OutcomeMetric,
    action: DoneAction,
    spans: tuple[tuple[datetime, datetime], tuple[datetime, datetime]],
    effect: float | None,
    settings: OutcomeSettings,
) -> OutcomeControl | None:
    """The same metric on every other service, same windows."""
    service = action.service
    others = [s for s in index.services() if s != service]
    if service is None or not others:
        return None
    fleet, own = index.series(metric, None), index.series(metric, service)
    if metric.kind is MetricKind.DURATION:
        before, after, result = _control_durations(fleet, own, service, spans)
    else:  # every incident of the service is in its own series: subtract it
        windows = []
        for start, end in spans:
            (total, known), (mine, mine_known) = fleet.total(start, end), own.total(start, end)
            windows.append(_count_window(metric, start, end, total - mine, known - mine_known))
        before, after = windows
        result = _counts_only(before, after)
    moved = (
        result.p is not None
        and result.p < 1 - settings.confidence
        and effect is not None
        and result.effect is not None
        and (effect - 1) * (result.effect - 1) > 0
    )
    return OutcomeControl(
        services=len(others), before=before, after=after, effect=result.effect, p=result.p, fleet_moved=moved
    )


#: From this many durations on each side, the control compares geometric means (running
#: sums, constant time) instead of medians (a sort of every window: thousands of incidents
#: per action on a large fleet).
LARGE_CONTROL = 30


def _control_durations(
    fleet: _Series, own: _Series, service: str, spans: tuple[tuple[datetime, datetime], tuple[datetime, datetime]]
) -> tuple[OutcomeWindow, OutcomeWindow, RatioResult]:
    """The other services' durations: geometric means and Welch's z test on the logs when
    both windows are large, else medians and Mann–Whitney."""
    moments = []
    for start, end in spans:
        n, logs, squares = fleet.log_moments(start, end)
        mine_n, mine_logs, mine_squares = own.log_moments(start, end)
        moments.append((n - mine_n, logs - mine_logs, squares - mine_squares))
    if min(moments[0][0], moments[1][0]) >= LARGE_CONTROL:
        windows = [
            OutcomeWindow(start=start, end=end, n=n, value=math.exp(logs / n))
            for (start, end), (n, logs, _) in zip(spans, moments, strict=True)
        ]
        return windows[0], windows[1], log_mean_ratio(moments[0], moments[1])
    values = []
    for start, end in spans:
        observed = fleet.observed(start, end)
        values.append([v for r, v in observed if service not in r.services])
    before, after = (_duration_window(s, e, v) for (s, e), v in zip(spans, values, strict=True))
    return before, after, _medians_only(values[0], values[1])


def _counts_only(before: OutcomeWindow, after: OutcomeWindow) -> RatioResult:
    """The rate ratio and its p-value, without the interval (for the control: the flag
    needs only the test, and the interval of a fleet's thousands of incidents is narrow)."""
    k_before, k_after = round(before.count or 0), round(after.count or 0)
    return rate_ratio(k_before, before.exposure or 0.0, k_after, after.exposure or 0.0, interval=False)


def _medians_only(before: Sequence[float], after: Sequence[float]) -> RatioResult:
    """Ratio of medians and Mann–Whitney, without a bootstrap interval (for the control,
    as :func:`_counts_only`)."""
    from retroflow.outcomes.statistics import mann_whitney

    if not before or not after:
        return RatioResult(effect=None, ci=None, p=None)
    base = statistics.median(before)
    return RatioResult(
        effect=None if base == 0 else statistics.median(after) / base, ci=None, p=mann_whitney(after, before)
    )


def _compare(
    action: DoneAction, metric: OutcomeMetric, index: HistoryIndex, settings: OutcomeSettings, window_days: int
) -> _Comparison:
    spans = _windows(action, index, settings, window_days)
    (before_values, before), (after_values, after) = (_own_values(index, metric, action, span) for span in spans)
    note = ""
    if spans[1][1] <= spans[1][0]:
        note = "the after window has not begun in the history known"
    elif spans[0][1] <= spans[0][0]:
        note = "the history known begins after it was done"
    shortfall = None
    if metric.kind is MetricKind.DURATION:
        method = "ratio of medians, seeded bootstrap interval, Mann–Whitney test"
        least = settings.min_durations
        missing = max(0, least - len(before_values)) + max(0, least - len(after_values))
        if missing and not note:
            note = f"a median needs at least {least} incidents on each side"
            shortfall = missing
        result = (
            RatioResult(effect=None, ci=None, p=None)
            if note
            else median_ratio(
                before_values,
                after_values,
                resamples=settings.resamples,
                seed=f"{settings.seed}:{action.incident}:{action.id}:{metric.name}",
                confidence=settings.confidence,
            )
        )
        se = log_se_of_interval(result.ci, settings.confidence)
    else:
        method = "rate ratio, exact conditional (binomial) mid-p test and interval"
        result, se = _compare_counts(before, after, settings.confidence)
    if note:
        result = RatioResult(effect=None, ci=None, p=None)
    control = _control(index, metric, action, spans, result.effect, settings)
    return _Comparison(action, metric, before, after, result, se, method, control, note, shortfall)


# --- verdicts ------------------------------------------------------------------------------------


def _verdict(comparison: _Comparison, q: float | None, settings: OutcomeSettings) -> Verdict:
    ci = comparison.result.ci
    if ci is None or comparison.result.effect is None:
        return Verdict.INCONCLUSIVE
    low, high = ci
    if 1 - settings.equivalence <= low and high <= 1 + settings.equivalence:
        return Verdict.NO_CHANGE
    if q is not None and q <= settings.fdr and (high < 1 or low > 1):
        fell = high < 1
        return Verdict.IMPROVED if fell != comparison.metric.higher_is_better else Verdict.WORSE
    return Verdict.INCONCLUSIVE


def _shown(metric: OutcomeMetric, window: OutcomeWindow) -> str:
    if window.value is None:
        return "no data"
    if metric.kind is MetricKind.DURATION:
        return f"median {format_duration(timedelta(seconds=window.value))} (n = {window.n})"
    if metric.per is Exposure.DAYS:
        return f"{window.value:.3g} per {RATE_DAYS} days ({window.count:g} in {window.exposure:.0f} days)"
    return f"{window.value:.3g} per incident (n = {window.n})"


def _ratio(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.2f}"


def _reason(comparison: _Comparison, verdict: Verdict, q: float | None, needed: int | None, band: float) -> str:
    metric = comparison.metric
    before, after = _shown(metric, comparison.before), _shown(metric, comparison.after)
    text = f"{metric.title}: {before} before, {after} after"
    result = comparison.result
    if comparison.shortfall:
        return f"{text}; {comparison.note}: at least {comparison.shortfall} more would be needed."
    if comparison.note:
        return f"{text}; {comparison.note}: nothing to compare yet."
    if result.effect is None or result.ci is None:
        return f"{text}: too little data on one side to compare."
    text += f"; ×{_ratio(result.effect)} ({_ratio(result.ci[0])}–{_ratio(result.ci[1])})"
    if result.p is not None:
        text += f", p = {result.p:.2g}" + (f", q = {q:.2g}" if q is not None else "")
    if verdict is Verdict.NO_CHANGE:
        text += f": any change is within ±{band:.0%}."
    elif verdict is Verdict.INCONCLUSIVE:
        more = f"about {needed:,} more incidents would decide it" if needed else "more data would decide it"
        text += f": the data cannot tell yet; {more}."
    else:
        text += "."
    control = comparison.control
    if control is not None and control.fleet_moved:
        text += f" The other {control.services} services moved the same way (×{_ratio(control.effect or 0)})."
    return text


def _decide(comparison: _Comparison, q: float | None, settings: OutcomeSettings) -> Outcome:
    verdict = _verdict(comparison, q, settings)
    needed = comparison.shortfall
    if verdict is Verdict.INCONCLUSIVE and not comparison.note:
        incidents = comparison.before.n + comparison.after.n
        needed = more_incidents_needed(
            comparison.result.effect,
            comparison.se,
            incidents,
            band=settings.equivalence,
            confidence=settings.confidence,
        )
    return Outcome(
        action=comparison.action,
        verdict=verdict,
        before=comparison.before,
        after=comparison.after,
        effect=comparison.result.effect,
        ci=comparison.result.ci,
        p=comparison.result.p,
        q=q,
        method=comparison.method,
        needed=needed,
        reason=_reason(comparison, verdict, q, needed, settings.equivalence),
        control=comparison.control,
    )


def evaluate(
    actions: Sequence[DoneAction],
    index: HistoryIndex,
    metrics: Mapping[str, OutcomeMetric],
    settings: OutcomeSettings,
    *,
    window_days: int | None = None,
) -> tuple[list[Outcome], list[DoneAction]]:
    """A verdict for each action whose metric is known (q-values across them all), and
    the actions whose metric is not an outcome metric."""
    width = window_days or settings.window_days
    comparisons: list[_Comparison] = []
    unmeasured: list[DoneAction] = []
    for action in actions:
        metric = metrics.get(action.metric)
        if metric is None:
            unmeasured.append(action)
        else:
            comparisons.append(_compare(action, metric, index, settings, width))
    qs = benjamini_hochberg([c.result.p for c in comparisons])
    return [_decide(c, q, settings) for c, q in zip(comparisons, qs, strict=True)], unmeasured
