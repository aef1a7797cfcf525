"""The narrative of conditions: a lead line, one line per factor grouped by layer, with evidence."""

from __future__ import annotations

from retroflow.model import Factor, Timeline
from retroflow.narrative import LEAD, narrate
from retroflow.testing import make_event


def test_one_line_per_factor_grouped_by_layer_with_linked_evidence():
    deploy = make_event("deploy", -5, summary="Deploy", link="https://ci/deploys/1")
    signal = make_event("log", 0)
    page = make_event("page", 20, actor="bob")
    timeline = Timeline.from_events([deploy, signal, page])
    factors = [
        Factor(key="late-escalation", layer="process", title="Late", explanation="", evidence=(page.id,)),
        Factor(key="slow-ack", layer="human", title="Slow", explanation="", evidence=(page.id,)),
        Factor(key="change", layer="technical", title="A change", explanation="", evidence=(deploy.id, signal.id)),
    ]
    lines = narrate(factors, timeline)
    assert lines[0] == LEAD == "This incident needed these conditions to line up:"
    assert [line.split(":")[0] for line in lines[1:]] == ["- Technical", "- Human", "- Process"]
    assert lines[1] == (
        f"- Technical: A change (`change`; evidence: [13:55 change](https://ci/deploys/1), 14:00 signal `{signal.id}`)"
    )


def test_long_evidence_is_counted_not_listed():
    events = [make_event("alert", i) for i in range(5)]
    factor = Factor(key="noise", layer="technical", title="Noise", explanation="", evidence=[e.id for e in events])
    (line,) = narrate([factor], Timeline.from_events(events))[1:]
    assert line.endswith(", 2 more)")


def test_no_factors_no_narrative():
    assert narrate([], Timeline.from_events([])) == ()


def test_the_engine_sets_the_narrative(retro_of):
    retro = retro_of([make_event("log", 0, service="checkout"), make_event("alert", 30, service="checkout")])
    assert retro.narrative[0] == LEAD
    assert any("`detection-gap`" in line for line in retro.narrative)
