"""Scoring models: impact-math reproduces the classic table, rice and wsjf follow their
formulas, every score shows its inputs and why, and actions are ordered with a focus."""

from __future__ import annotations

from datetime import timedelta

import pytest

from retroflow.default_plugins.scoring.impact_math import ImpactMath
from retroflow.default_plugins.scoring.rice import Rice
from retroflow.default_plugins.scoring.wsjf import Wsjf
from retroflow.model import ActionItem, Factor, Timeline
from retroflow.roles import ScoringContext
from retroflow.testing import T0, make_incident, make_plugins

IMPACT = {
    # (incident fields) giving each impact level
    "low": {"resolved": T0 + timedelta(minutes=10)},
    "medium": {"resolved": T0 + timedelta(minutes=30)},
    "high": {"resolved": T0 + timedelta(minutes=30), "urgency": "high"},
}


def context(impact: str = "high", history=(), factors=(), **incident) -> ScoringContext:
    inc = make_incident(**{**IMPACT[impact], **incident})
    return ScoringContext(incident=inc, timeline=Timeline.from_events([], inc), factors=tuple(factors), history=history)


def action(title: str, frequency: str | None = None, effort: str | None = "low", **fields) -> ActionItem:
    details = {"frequency": frequency} if frequency else {}
    return ActionItem.create(incident_id="INC-1", title=title, effort=effort, details=details, **fields)


# The classic table: Frequency × Impact ÷ Effort, low/medium/high = 1/2/3.
CLASSIC = [
    ("Add the missing alert", "high", "high", "low", 9),
    ("Link a runbook from the alert", "medium", "medium", "low", 4),
    ("Canary deploys", "medium", "high", "medium", 3),
    ("Circuit breaker", "low", "medium", "medium", 1),
    ("Re-architect the service", "low", "high", "high", 1),
    ("Rewrite the config system", "low", "low", "high", 0.33),
]


@pytest.mark.parametrize(("title", "frequency", "impact", "effort", "expected"), CLASSIC)
def test_impact_math_reproduces_the_classic_table(title, frequency, impact, effort, expected):
    score = ImpactMath().score(action(title, frequency, effort), context(impact))
    assert score.value == expected
    assert score.inputs == {"frequency": frequency, "impact": impact, "effort": effort}
    assert score.model == "impact-math"


def test_impact_math_explains_its_inputs():
    score = ImpactMath().score(action("Add the missing alert", "high", "low"), context("high"))
    assert score.explanation == (
        "frequency high (given) × impact high (resolved after 30 min, high urgency/severity) ÷ effort low "
        "= 3 × 3 ÷ 1 = 9"
    )


def test_frequency_counts_past_incidents_where_the_factor_appeared_on_the_service():
    def past(i, factors, services=("checkout",)):
        return make_incident(id=f"P-{i}", services=services, details={"factors": factors})

    history = (
        past(1, ["detection-gap"]),
        past(2, ["detection-gap", "slow-mitigation"]),
        past(3, ["detection-gap"]),
        past(4, ["slow-mitigation"]),
        past(5, ["detection-gap"], services=("search",)),
    )
    gap = action("Alert sooner", effort="low", factors=("detection-gap",))
    slow = action("Script the rollback", effort="low", factors=("slow-mitigation",))
    assert ImpactMath().score(gap, context("high", history)).inputs["frequency"] == "high"  # 3 on checkout
    score = ImpactMath().score(slow, context("high", history))
    assert score.inputs["frequency"] == "medium"  # 2
    assert "slow-mitigation in 2 of 4 past incident(s) on checkout" in score.explanation


def test_frequency_falls_back_to_past_incidents_of_the_service():
    history = tuple(make_incident(id=f"P-{i}", services=("checkout",)) for i in range(3))
    score = ImpactMath().score(action("Alert sooner", factors=("detection-gap",)), context("high", history))
    assert score.inputs["frequency"] == "high"
    assert "3 past incident(s) on checkout" in score.explanation


def test_effort_is_assumed_medium_when_nobody_said():
    score = ImpactMath().score(action("Do it", "low", effort=None), context("high"))
    assert score.inputs["effort"] == "medium" and "(assumed)" in score.explanation


def test_rice_is_reach_times_impact_times_confidence_over_effort():
    factor = Factor(key="detection-gap", layer="technical", title="t", explanation="e", evidence=("x:1",), strength=0.9)
    history = (make_incident(id="P-1", services=("checkout",)),)
    item = action("Alert sooner", effort="low", factors=("detection-gap",))
    score = Rice().score(item, context("high", history, factors=[factor]))
    # reach 1 + 1 similar, impact high 2, confidence 100% (strength 0.9), effort 0.5 weeks
    assert score.inputs == {"reach": 2, "impact": 2.0, "confidence": 1.0, "effort_weeks": 0.5}
    assert score.value == 8
    assert "confidence 100% (evidence strength 0.9)" in score.explanation


def test_rice_gives_human_actions_low_confidence_and_massive_impact_when_everything_is_bad():
    item = action("Something a person wrote", effort="medium")
    ctx = context("high", services=("checkout", "payments"), resolved=T0 + timedelta(hours=2))
    score = Rice().score(item, ctx)
    assert score.inputs == {"reach": 1, "impact": 3.0, "confidence": 0.5, "effort_weeks": 2.0}
    assert score.value == 0.75


def test_wsjf_is_cost_of_delay_over_job_size():
    item = action("Escalate after 5 min", frequency="medium", effort="low", category="automate a decision")
    score = Wsjf().score(item, context("high"))
    # (business value 8 + time criticality 5 + risk reduction 8) ÷ job size 2
    assert score.inputs == {"business_value": 8, "time_criticality": 5, "risk_reduction": 8, "job_size": 2}
    assert score.value == 10.5


def test_wsjf_time_criticality_rises_when_it_recurred():
    recurrence = Factor(key="recurrence", layer="process", title="t", explanation="e", evidence=("x:1",))
    item = action("Reopen past actions", frequency="medium", effort="medium", category="detect faster")
    plain = Wsjf().score(item, context("medium"))
    recurred = Wsjf().score(item, context("medium", factors=[recurrence]))
    assert plain.inputs["time_criticality"] == 5 and recurred.inputs["time_criticality"] == 8
    assert recurred.value > plain.value


def test_models_are_registered_by_name():
    plugins = make_plugins()
    assert {"impact-math", "rice", "wsjf"} <= set(plugins.scoring_models.names())


@pytest.mark.parametrize("model", ["impact-math", "rice", "wsjf"])
def test_actions_are_sorted_by_score_and_the_top_three_are_the_focus(retro_of, busy_events, model):
    retro = retro_of(busy_events, config=f'[retroflow]\nscoring = "{model}"')
    assert retro.scoring_model == model
    values = [a.score.value for a in retro.actions if a.score]
    assert len(values) == len(retro.actions) > 3
    assert values == sorted(values, reverse=True)
    assert [a.focus for a in retro.actions] == [True] * 3 + [False] * (len(values) - 3)
    assert all(a.score and a.score.model == model and a.score.inputs and a.score.explanation for a in retro.actions)


def test_a_cheap_alert_outranks_a_re_architecture(retro_of, busy_events):
    retro = retro_of(busy_events)
    titles = [a.title for a in retro.actions]
    alert = next(i for i, a in enumerate(retro.actions) if a.factors == ("detection-gap",))
    blast = next(i for i, a in enumerate(retro.actions) if a.factors == ("blast-radius",))
    assert alert < blast, titles


def test_scores_are_deterministic(retro_of, busy_events):
    first = retro_of(busy_events, config='[retroflow]\nscoring = "rice"')
    second = retro_of(busy_events, config='[retroflow]\nscoring = "rice"')
    assert [(a.id, a.score) for a in first.actions] == [(a.id, a.score) for a in second.actions]
