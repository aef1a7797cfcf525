"""The named outcome metrics (:class:`retroflow.roles.OutcomeMetric`).

Counts, compared as rate ratios:

* ``incident-rate`` — incidents per 30 days.
* ``alerts-per-incident``, ``pages-per-incident`` — alerts, pages per incident.
* ``out-of-hours-pages`` — pages outside working hours, per 30 days.
* ``auto-resolved`` — the share of incidents resolved by automation (an integration's
  auto-resolve, an automatic rollback) with no person's response; a rise is the
  improvement.

Durations, compared as ratios of medians (reported as median, p90 and n):

* ``time-to-detect`` — start → detection (first alert or page).
* ``time-to-acknowledge`` — detection (or start, when detection is not known) → first
  acknowledgement.
* ``time-to-restore`` — start → resolution.

What each record holds, and where it comes from, is in ``docs/outcomes.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from retroflow import hookimpl
from retroflow.model import Exposure, IncidentRecord, MetricKind

if TYPE_CHECKING:
    from retroflow.roles import OutcomeMetric

__all__ = ["METRICS", "CountMetric", "DurationMetric"]


@attrs.frozen
class CountMetric:
    """A count per incident: ``field`` of the record (``None``: the incident itself)."""

    name: str
    title: str
    field: str | None
    per: Exposure
    higher_is_better: bool = False
    kind: MetricKind = MetricKind.COUNT

    def observe(self, incident: IncidentRecord) -> float | None:
        if self.field is None:
            return 1.0
        value = getattr(incident, self.field)
        return None if value is None else float(value)


@attrs.frozen
class DurationMetric:
    """Seconds from the first known of ``since`` (record fields) to ``until``."""

    name: str
    title: str
    since: tuple[str, ...]
    until: str
    per: Exposure = Exposure.INCIDENTS
    higher_is_better: bool = False
    kind: MetricKind = MetricKind.DURATION

    def observe(self, incident: IncidentRecord) -> float | None:
        end: datetime | None = getattr(incident, self.until)
        if end is None:
            return None
        for name in self.since:
            start: datetime | None = getattr(incident, name)
            if start is not None:
                break
        if start is None or end < start:
            return None
        seconds: float = (end - start).total_seconds()
        return seconds


METRICS = (
    CountMetric("incident-rate", "incidents", None, Exposure.DAYS),
    CountMetric("alerts-per-incident", "alerts per incident", "alerts", Exposure.INCIDENTS),
    CountMetric("pages-per-incident", "pages per incident", "pages", Exposure.INCIDENTS),
    CountMetric("out-of-hours-pages", "out-of-hours pages", "pages_out_of_hours", Exposure.DAYS),
    CountMetric("auto-resolved", "share auto-resolved", "auto_resolved", Exposure.INCIDENTS, higher_is_better=True),
    DurationMetric("time-to-detect", "time to detect", ("started",), "detected"),
    DurationMetric("time-to-acknowledge", "time to acknowledge", ("detected", "started"), "acknowledged"),
    DurationMetric("time-to-restore", "time to restore", ("started",), "resolved"),
)


@hookimpl
def retroflow_register_outcome_metrics(register: Callable[[OutcomeMetric], None]) -> None:
    for metric in METRICS:
        register(metric)
