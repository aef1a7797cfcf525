"""The wait the waiting heuristics (detection-gap, slow-acknowledgement, late-escalation)
measure alike (conditions/wait.py)."""

from __future__ import annotations

from retroflow.default_plugins.conditions.wait import Wait
from retroflow.model import Layer
from retroflow.testing import make_event


def test_a_wait_is_too_long_only_past_its_threshold():
    page = make_event("page", 0)
    assert not Wait(page, make_event("ack", 10), 10).too_long
    assert Wait(page, make_event("ack", 10.5), 10).too_long


def test_a_wait_as_a_factor_cites_both_events_and_grows_to_certain_at_three_times_the_threshold():
    page, ack = make_event("page", 0), make_event("ack", 15.25)
    wait = Wait(page, ack, 10)
    factor = wait.factor("slow-acknowledgement", Layer.HUMAN, title="t", explanation="e", service="checkout")
    assert factor.evidence == (page.id, ack.id)
    assert factor.strength == 0.51  # 15.25 / 30
    assert list(factor.details.items()) == [("minutes", 15.25), ("threshold_minutes", 10), ("service", "checkout")]
    assert wait.took == "15 min" and wait.threshold == "threshold 10 min"
    assert Wait(page, make_event("ack", 45), 10).factor("k", Layer.HUMAN, title="t", explanation="e").strength == 1.0
