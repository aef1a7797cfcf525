"""Verdicts on fixed histories: windows, the incident that produced an action, each
verdict, the control, q-values, and the metrics themselves."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from retroflow.default_plugins.outcomes.metrics import METRICS
from retroflow.model import DoneAction, IncidentRecord, Verdict
from retroflow.outcomes.settings import OutcomeSettings
from retroflow.outcomes.statistics import benjamini_hochberg
from retroflow.outcomes.verdicts import HistoryIndex, evaluate

START = datetime(2025, 1, 1, tzinfo=UTC)
DONE = START + timedelta(days=120)
BY_NAME = {m.name: m for m in METRICS}
SETTINGS = OutcomeSettings()


def durations(n: int, median_minutes: float = 60.0, factor: float = 1.0) -> list[float]:
    """``n`` log-normal durations (σ 1) at evenly spaced quantiles, interleaved."""
    values = [median_minutes * 60 * factor * math.exp(statistics.NormalDist().inv_cdf((i + 0.5) / n)) for i in range(n)]
    return values[::2] + values[1::2]


def stream(
    service: str,
    start: datetime,
    end: datetime,
    every_days: float,
    *,
    seconds: list[float] | None = None,
    prefix: str = "",
    **fields: object,
) -> list[IncidentRecord]:
    records = []
    at = start
    while at < end:
        duration = seconds[len(records) % len(seconds)] if seconds else 3600.0
        records.append(
            IncidentRecord(
                id=f"{prefix or service}-{len(records)}",
                services=(service,),
                started=at,
                resolved=at + timedelta(seconds=duration),
                **fields,  # type: ignore[arg-type]
            )
        )
        at += timedelta(days=every_days)
    return records


def action(
    metric: str = "incident-rate", service: str = "checkout", incident: str = "checkout-100", **kw: object
) -> DoneAction:
    values: dict[str, object] = {
        "id": f"act-{metric}-{service}",
        "incident": incident,
        "title": "Canary deploys",
        "metric": metric,
        "service": service,
        "done_at": DONE,
    }
    values.update(kw)
    return DoneAction(**values)  # type: ignore[arg-type]


def judge(history: list[IncidentRecord], *actions: DoneAction, window: int = 90, as_of: datetime | None = None):  # type: ignore[no-untyped-def]
    outcomes, _unmeasured = evaluate(
        list(actions), HistoryIndex(history, as_of=as_of), BY_NAME, SETTINGS, window_days=window
    )
    return outcomes


def before_and_after(service: str, before_every: float, after_every: float, **kw: object) -> list[IncidentRecord]:
    return [
        *stream(service, START, DONE, before_every, **kw),
        *stream(service, DONE, START + timedelta(days=400), after_every, prefix=f"{service}-after", **kw),
    ]


def test_a_rate_that_fell_is_improved_and_the_producing_incident_is_left_out() -> None:
    history = before_and_after("checkout", 1, 4)
    (outcome,) = judge(history, action(incident="checkout-100"))
    assert outcome.verdict is Verdict.IMPROVED
    # 90 daily incidents in the 90 days before, less the one that produced the action.
    assert (outcome.before.count, outcome.before.exposure, outcome.before.n) == (89, 90, 89)
    assert outcome.before.start == DONE - timedelta(days=90) and outcome.before.end == DONE
    assert outcome.after.start == DONE + timedelta(days=7) and outcome.after.end == DONE + timedelta(days=97)
    assert outcome.after.count == 23
    assert outcome.effect == pytest.approx((23 / 90) / (89 / 90))
    assert outcome.ci is not None and outcome.ci[1] < 1
    assert outcome.p is not None and outcome.q is not None and outcome.q <= SETTINGS.fdr
    assert outcome.before.value == pytest.approx(89 / 90 * 30)  # per 30 days
    assert "incidents: 29.7 per 30 days" in outcome.reason


def test_a_rate_that_rose_is_worse() -> None:
    (outcome,) = judge(before_and_after("checkout", 4, 1), action())
    assert outcome.verdict is Verdict.WORSE


def test_equal_rates_with_much_data_are_no_change() -> None:
    (outcome,) = judge(before_and_after("checkout", 0.05, 0.05), action())
    assert outcome.verdict is Verdict.NO_CHANGE
    assert outcome.ci is not None and outcome.ci[0] >= 0.8 and outcome.ci[1] <= 1.2
    assert "within ±20%" in outcome.reason


def test_little_data_is_inconclusive_and_says_how_much_more_would_decide() -> None:
    (outcome,) = judge(before_and_after("checkout", 25, 60), action())
    assert outcome.verdict is Verdict.INCONCLUSIVE
    assert outcome.needed is not None and outcome.needed > 0
    assert f"about {outcome.needed:,} more incidents would decide it" in outcome.reason


def test_halved_restore_times_are_improved() -> None:
    history = [
        *stream("checkout", START, DONE, 1.5, seconds=durations(60)),
        *stream("checkout", DONE, START + timedelta(days=400), 1.5, seconds=durations(60, factor=0.4), prefix="x"),
    ]
    (outcome,) = judge(history, action("time-to-restore"))
    assert outcome.verdict is Verdict.IMPROVED
    assert outcome.effect == pytest.approx(0.4, rel=0.15)
    assert outcome.before.p90 is not None and outcome.before.p90 > outcome.before.value  # type: ignore[operator]
    assert "ratio of medians" in outcome.method
    assert "median 1 h" in outcome.reason


def test_too_few_durations_are_inconclusive_without_an_interval() -> None:
    history = before_and_after("checkout", 25, 25)
    (outcome,) = judge(history, action("time-to-restore"))
    assert outcome.verdict is Verdict.INCONCLUSIVE
    assert outcome.ci is None and outcome.p is None
    # A handful of durations on each side: the shortfall to 10 on each is the least needed.
    assert outcome.needed == (10 - outcome.before.n) + (10 - outcome.after.n)
    assert "a median needs at least 10 incidents on each side" in outcome.reason


def test_a_share_that_rose_is_improved_when_higher_is_better() -> None:
    history = [
        *stream("checkout", START, DONE, 1, auto_resolved=False),
        *stream("checkout", DONE, START + timedelta(days=400), 1, prefix="x", auto_resolved=True),
    ]
    (outcome,) = judge(history, action("auto-resolved"))
    assert outcome.verdict is Verdict.IMPROVED
    assert outcome.before.value == 0 and outcome.after.value == 1


def test_the_control_flags_a_fleet_that_moved_the_same_way() -> None:
    fleet_fell = [*before_and_after("checkout", 1, 4), *before_and_after("payments", 1, 4)]
    (moved,) = judge(fleet_fell, action())
    assert moved.control is not None and moved.control.services == 1
    assert moved.control.fleet_moved
    assert moved.verdict is Verdict.IMPROVED  # still the verdict; the flag says why to doubt it
    assert "The other 1 services moved the same way" in moved.reason
    fleet_flat = [*before_and_after("checkout", 1, 4), *before_and_after("payments", 1, 1)]
    (alone,) = judge(fleet_flat, action())
    assert alone.control is not None and not alone.control.fleet_moved
    assert alone.control.effect == pytest.approx(1.0, rel=0.05)


def test_the_control_of_durations_uses_geometric_means_on_a_large_fleet() -> None:
    history = [*before_and_after("checkout", 1, 1)]
    for number in range(4):
        service = f"svc{number}"
        history += stream(service, START, DONE, 0.5, seconds=durations(80))
        history += stream(
            service, DONE, START + timedelta(days=400), 0.5, seconds=durations(80, factor=0.5), prefix=f"{service}x"
        )
    history += stream("checkout", START, START + timedelta(days=400), 1, seconds=durations(40), prefix="c")
    (outcome,) = judge(history, action("time-to-restore"))
    control = outcome.control
    assert control is not None and control.services == 4
    assert control.effect == pytest.approx(0.5, rel=0.1)
    assert control.p is not None and control.p < 1e-6
    assert control.before.p90 is None  # a geometric mean, not a median


def test_windows_are_cut_to_the_history_known() -> None:
    history = before_and_after("checkout", 1, 4)
    (cut,) = judge(history, action(done_at=START + timedelta(days=30)))
    assert cut.before.start == START and cut.before.exposure == 30
    # The data is known to reach the last incident before as_of (here 36 days after
    # done_at): the quiet time after it is not counted as a quiet spell.
    (late,) = judge(before_and_after("checkout", 1, 1), action(), as_of=DONE + timedelta(days=37, hours=12))
    assert late.after.end == DONE + timedelta(days=37, seconds=1)
    assert late.after.exposure == pytest.approx(30)
    (early,) = judge(history, action(), as_of=DONE + timedelta(days=3))
    assert early.verdict is Verdict.INCONCLUSIVE and early.effect is None and early.needed is None
    assert "the after window has not begun in the history known" in early.reason


def test_q_values_are_benjamini_hochberg_across_the_actions_judged_together() -> None:
    history = [
        *before_and_after("checkout", 1, 4),
        *before_and_after("payments", 2, 2.5),
        *before_and_after("search", 3, 2),
    ]
    outcomes = judge(
        history, action(), action(service="payments", incident="x"), action(service="search", incident="x")
    )
    assert [o.q for o in outcomes] == pytest.approx(benjamini_hochberg([o.p for o in outcomes]))
    assert all(o.q >= o.p for o in outcomes)  # type: ignore[operator]


def test_an_action_whose_metric_is_not_an_outcome_metric_is_unmeasured() -> None:
    unknown = action("decision-to-mitigation time")
    outcomes, unmeasured = evaluate([unknown], HistoryIndex(before_and_after("checkout", 1, 4)), BY_NAME, SETTINGS)
    assert outcomes == [] and unmeasured == [unknown]


def test_the_same_history_gives_the_same_verdicts() -> None:
    history = [
        *stream("checkout", START, DONE, 2, seconds=durations(40)),
        *stream("checkout", DONE, START + timedelta(days=400), 2, seconds=durations(40, factor=0.7), prefix="x"),
    ]
    assert judge(history, action("time-to-restore")) == judge(list(reversed(history)), action("time-to-restore"))


def test_what_each_metric_reads_from_an_incident() -> None:
    at = START
    record = IncidentRecord(
        id="1",
        services=("checkout",),
        started=at,
        detected=at + timedelta(minutes=4),
        acknowledged=at + timedelta(minutes=10),
        resolved=at + timedelta(minutes=50),
        alerts=3,
        pages=2,
        pages_out_of_hours=1,
        auto_resolved=True,
    )
    seen = {name: metric.observe(record) for name, metric in BY_NAME.items()}
    assert seen == {
        "incident-rate": 1.0,
        "alerts-per-incident": 3.0,
        "pages-per-incident": 2.0,
        "out-of-hours-pages": 1.0,
        "auto-resolved": 1.0,
        "time-to-detect": 240.0,
        "time-to-acknowledge": 360.0,
        "time-to-restore": 3000.0,
    }
    bare = IncidentRecord(id="2", services=("checkout",), started=at, acknowledged=at + timedelta(minutes=7))
    assert BY_NAME["time-to-acknowledge"].observe(bare) == 420.0  # from the start when detection is unknown
    assert BY_NAME["time-to-detect"].observe(bare) is None
    assert BY_NAME["alerts-per-incident"].observe(bare) is None
    backwards = IncidentRecord(id="3", services=("x",), started=at, resolved=at - timedelta(minutes=1))
    assert BY_NAME["time-to-restore"].observe(backwards) is None
