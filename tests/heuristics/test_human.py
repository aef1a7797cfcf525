"""Human-layer heuristics: each fires with the right evidence, and a near miss does not.

T0 (the testing kit's instant) is Monday 2026-11-02 14:00 UTC: inside working hours in UTC.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from retroflow.errors import ConfigError
from retroflow.testing import T0, make_event, make_incident


def test_slow_acknowledgement_cites_page_and_ack(factors_of):
    page = make_event("page", 0, actor="bob", service="checkout")
    ack = make_event("ack", 11, actor="bob")
    factor = factors_of([page, ack])["slow-acknowledgement"]
    assert factor.evidence == (page.id, ack.id)
    assert factor.layer == "human"
    assert factor.details["minutes"] == 11


def test_slow_acknowledgement_never_acknowledged_until_mitigation(factors_of):
    page = make_event("page", 0, actor="bob")
    mitigation = make_event("mitigation", 40)
    factor = factors_of([page, mitigation])["slow-acknowledgement"]
    assert factor.evidence == (page.id, mitigation.id)
    assert factor.details["acknowledged"] is False


def test_slow_acknowledgement_near_miss(factors_of):
    assert "slow-acknowledgement" not in factors_of([make_event("page", 0, actor="bob"), make_event("ack", 9.5)])


def test_ownership_churn_counts_handoffs_before_the_fix(factors_of):
    first = make_event("escalate", 5, summary="Escalated to level 2", actor="pagerduty")
    second = make_event("response", 9, summary="Reassigned to payments", details={"action": "reassign"})
    fix = make_event("mitigation", 30, summary="Failover done", actor="erin")
    factor = factors_of([first, second, fix])["ownership-churn"]
    assert factor.evidence == (first.id, second.id, fix.id)
    assert factor.details["fixer"] == "erin"
    assert factor.details["handoffs"] == 2


def test_ownership_churn_near_miss(factors_of):
    one = make_event("escalate", 5, summary="Escalated to level 2")
    note = make_event("response", 6, summary="Status update: investigating")  # not a hand-off
    fix = make_event("mitigation", 30)
    later = make_event("response", 31, summary="Reassigned for follow-up", details={"action": "reassign"})
    assert "ownership-churn" not in factors_of([one, note, fix, later])


def test_ownership_churn_near_miss_the_first_automatic_assignment_is_not_a_handoff(factors_of):
    # PagerDuty's escalation policy assigns the incident as it triggers: a first owner.
    first = make_event("response", 0, summary="Assigned to bob.", details={"action": "assign", "initial": True})
    escalated = make_event("escalate", 8, summary="Escalated to carol by timeout", details={"action": "escalate"})
    fix = make_event("mitigation", 30, actor="carol")
    assert "ownership-churn" not in factors_of([first, escalated, fix])
    again = make_event("response", 9, summary="Assigned to dave by carol", details={"action": "assign"})
    assert factors_of([first, escalated, again, fix])["ownership-churn"].details["handoffs"] == 2


def test_out_of_hours_page_in_the_default_zone(factors_of):
    night = make_event("page", 0, at=T0 - timedelta(hours=12), actor="bob")  # 02:00 UTC
    day = make_event("page", 0, actor="carol")  # 14:00 UTC Monday
    factor = factors_of([night, day])["out-of-hours-page"]
    assert factor.evidence == (night.id,)
    assert factor.details["people"] == ["bob"]


def test_out_of_hours_page_in_the_responders_zone(factors_of):
    page = make_event("page", 0, actor="bob")  # 14:00 UTC = 23:00 in Tokyo
    config = '[plugins.human-conditions]\nresponder_time_zones = ["bob=Asia/Tokyo"]'
    factor = factors_of([page], config=config)["out-of-hours-page"]
    assert "Asia/Tokyo" in factor.explanation


def test_out_of_hours_page_on_a_weekend(factors_of):
    saturday = make_event("page", 0, at=T0 + timedelta(days=5), actor="bob")
    assert "out-of-hours-page" in factors_of([saturday])


def test_out_of_hours_page_near_miss(factors_of):
    early_utc = make_event("page", 0, at=T0 - timedelta(hours=5, minutes=30), actor="bob")  # 08:30 UTC
    config = '[plugins.human-conditions]\nresponder_time_zones = ["bob=Europe/Berlin"]'  # 09:30 local
    assert "out-of-hours-page" not in factors_of([early_utc], config=config)


@pytest.mark.parametrize(
    "line",
    [
        'responder_time_zones = ["bob=Mars/Olympus"]',
        'responder_time_zones = ["bob"]',
        'working_hours = "9 to 5"',
        'working_days = ["funday"]',
    ],
)
def test_bad_human_settings_fail_with_the_key(retro_of, line):
    with pytest.raises(ConfigError, match="human-conditions"):
        retro_of([make_event("page", 0)], config=f"[plugins.human-conditions]\n{line}")


def test_responder_load_from_history(factors_of):
    page = make_event("page", 0, actor="bob")
    earlier = make_incident(id="INC-0", created=T0 - timedelta(hours=5), details={"responders": ["bob", "carol"]})
    factor = factors_of([page], history=[earlier])["responder-load"]
    assert factor.evidence == (page.id,)
    assert factor.details["people"] == {"bob": ["INC-0"]}
    assert "INC-0" in factor.explanation


def test_responder_load_near_miss(factors_of):
    page = make_event("page", 0, actor="bob")
    too_old = make_incident(id="INC-0", created=T0 - timedelta(hours=25), details={"responders": ["bob"]})
    others = make_incident(id="INC-1", created=T0 - timedelta(hours=2), details={"responders": ["dan"]})
    assert "responder-load" not in factors_of([page], history=[too_old, others])


def test_no_coordinator_with_many_responders(factors_of):
    events = [make_event("page", i, actor=name) for i, name in enumerate(["bob", "carol", "dan", "erin"])]
    bot = make_event("escalate", 5, summary="Escalated", actor="pagerduty")
    factor = factors_of([*events, bot])["no-coordinator"]
    assert factor.evidence == tuple(e.id for e in events)
    assert factor.details["responders"] == ["bob", "carol", "dan", "erin"]


def test_no_coordinator_near_misses(factors_of):
    four = [make_event("ack", i, actor=name) for i, name in enumerate(["bob", "carol", "dan", "erin"])]
    ic = make_event("response", 5, summary="carol is IC", actor="carol")
    assert "no-coordinator" not in factors_of([*four, ic])
    role = make_event("response", 5, summary="role assigned", details={"role": "Incident Commander"})
    assert "no-coordinator" not in factors_of([*four, role])
    assert "no-coordinator" not in factors_of(four[:3])


def test_human_actions_name_the_service_and_how_to_verify(retro_of):
    retro = retro_of([make_event("page", 0, actor="bob", service="checkout"), make_event("ack", 25, actor="bob")])
    action = next(a for a in retro.actions if a.factors == ("slow-acknowledgement",))
    assert "checkout" in action.title
    assert action.verify is not None and action.verify.metric == "time-to-acknowledge"
    assert "25" in action.change
