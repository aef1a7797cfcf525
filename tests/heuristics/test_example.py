"""The bundled example (checkout outage CHK-1042) gives a convincing retro."""

from __future__ import annotations

from pathlib import Path

import pytest

from retroflow.default_plugins.file import read_events, read_incident
from retroflow.testing import build

EXAMPLE = Path(__file__).parents[2] / "contrib" / "examples" / "checkout-outage"


@pytest.fixture(scope="module")
def retro():
    events, gap = read_events(EXAMPLE / "events.jsonl")
    assert gap is None
    built = build(events, incident=read_incident(EXAMPLE / "incident.json", "CHK-1042"))
    assert built.gaps == ()
    return built


def test_the_conditions_that_lined_up(retro):
    assert {f.key for f in retro.factors} == {
        "change-before-incident",
        "detection-gap",
        "blast-radius",
        "slow-acknowledgement",
        "out-of-hours-page",
        "late-escalation",
        "missing-runbook",
        "slow-mitigation",
    }


def test_every_factor_cites_events_of_the_timeline(retro):
    known = retro.timeline.index
    for factor in retro.factors:
        assert factor.evidence and all(e in known for e in factor.evidence), factor.key


def test_key_evidence(retro):
    by_key = {f.key: f for f in retro.factors}
    assert by_key["detection-gap"].evidence == ("otel:log-00001", "datadog:alert-5xx-1")
    assert by_key["slow-acknowledgement"].evidence == ("pagerduty:pd-notify-1", "pagerduty:pd-ack-1")
    assert by_key["late-escalation"].evidence == ("pagerduty:pd-notify-1", "pagerduty:pd-escalate-1")
    assert "slack:slack-1699323540.000400" in by_key["slow-mitigation"].evidence


def test_each_factor_gets_a_specific_owned_verifiable_action(retro):
    answered = {key for action in retro.actions for key in action.factors}
    assert answered == {f.key for f in retro.factors}
    for action in retro.actions:
        assert action.category is not None and action.owner == "storefront"
        assert action.verify is not None and action.verify.target
    assert [f.rule for f in retro.findings] == ["too-many-actions"]
    assert sum(a.focus for a in retro.actions) == 3
