"""``misleading-signal``: a belief that steered a decision, contradicted by where the fix
landed. Each rule fires with the belief, the decision and the fix as evidence, and each
near miss stays silent."""

from __future__ import annotations

import pytest

from retroflow.default_plugins.conditions.misleading_signal import services_named
from retroflow.testing import make_event, make_incident

KEY = "misleading-signal"


def belief(minutes: float, summary: str, *services: str, kind: str = "message"):
    """A message stating a belief, as the Slack source maps one (or an event file writes it)."""
    details = {"belief": True, "services": list(services)} if services else {"belief": True}
    return make_event(
        kind, minutes, summary=summary, actor="bob", service=services[0] if services else None, details=details
    )


def decision(minutes: float, summary: str, *services: str):
    details = {"services": list(services)} if services else {}
    return make_event("decision", minutes, summary=summary, service=services[0] if services else None, details=details)


@pytest.fixture
def chased_the_database():
    """The responders believed orders-db, decided to fail it over; the rollback of checkout fixed it."""
    signal = make_event("signal", 0, summary="ERROR payment-client: pool exhausted", service="checkout")
    thought = belief(20, "payments dashboards look green, I think it is orders-db again", "payments", "orders-db")
    acted = decision(22, "Going to fail over orders-db to the replica", "orders-db")
    turned = decision(30, "Decision: roll back checkout to v2.13.2", "checkout")
    rollback = make_event("change", 36, summary="checkout: deploy of v2.13.2 to production started", service="checkout")
    fixed = make_event("mitigation", 44, summary="checkout 5xx back under 0.5%", service="checkout")
    return [signal, thought, acted, turned, rollback, fixed]


def test_a_belief_pointing_elsewhere_that_steered_a_decision_fires(factors_of, chased_the_database):
    signal, thought, acted, _, rollback, _ = chased_the_database
    factor = factors_of(chased_the_database)[KEY]
    assert factor.layer == "human"
    assert factor.evidence == (thought.id, acted.id, rollback.id), "the belief, the decision, the contradicting fix"
    assert factor.details["rule"] == "looked-elsewhere"
    assert factor.details["service"] == "checkout"
    assert factor.details["looked_at"] == ["payments", "orders-db"]
    assert factor.details["minutes"] == 10, "until a decision turned to checkout"
    assert factor.details["signal"] == signal.summary
    assert factor.title == "What the responders saw pointed at payments and orders-db; the failure was in checkout"
    assert "10 min passed before the response turned to checkout" in factor.explanation


def test_the_action_shows_the_right_signal_where_the_responders_looked(retro_of, chased_the_database):
    retro = retro_of(chased_the_database, incident=make_incident(teams=("storefront",)))
    (action,) = [a for a in retro.actions if KEY in a.factors]
    assert action.title == "Show checkout's errors and deploys on the payments and orders-db dashboards"
    assert "“ERROR payment-client: pool exhausted”" in action.change
    assert action.category == "reduce cognitive load" and action.owner == "storefront"
    assert (action.verify.metric, action.verify.service, action.verify.target) == (
        "time-to-restore",
        "checkout",
        "10 min shorter (median)",
    )
    assert not [f for f in retro.findings if f.target == action.id], "the review finds nothing to say"


def test_a_service_that_looked_healthy_where_the_fix_landed_fires(factors_of):
    thought = belief(5, "checkout dashboards look green to me, probably payments", "checkout", "payments")
    acted = decision(8, "Let's restart the payments workers", "payments")
    fixed = make_event("mitigation", 30, summary="Rolled back checkout; errors gone", service="checkout")
    factor = factors_of([thought, acted, fixed])[KEY]
    assert factor.evidence == (thought.id, acted.id, fixed.id), "no change: the mitigation says where the fix was"
    assert factor.details["rule"] == "looked-healthy"
    assert factor.details["looked_at"] == ["payments"]
    assert factor.title == "checkout looked healthy to the responders; the failure was there"


def test_a_message_that_is_both_the_belief_and_the_decision_fires(factors_of):
    both = belief(5, "I think it's orders-db, let's fail it over", "orders-db", kind="decision")
    change = make_event("change", 20, summary="Rollback of checkout", service="checkout")
    fixed = make_event("mitigation", 25)
    assert factors_of([both, change, fixed])[KEY].evidence == (both.id, change.id)


@pytest.mark.parametrize(
    ("events", "why"),
    [
        (
            [
                belief(5, "I think it is orders-db", "orders-db"),
                decision(7, "Going to fail over orders-db", "orders-db"),
                make_event("change", 15, summary="orders-db failover", service="orders-db"),
                make_event("mitigation", 20),
            ],
            "the belief was right: the fix landed where they looked",
        ),
        (
            [
                belief(5, "I think it is orders-db", "orders-db"),
                decision(7, "Decision: roll back checkout", "checkout"),
                decision(9, "Let's also fail over orders-db", "orders-db"),
                make_event("change", 15, summary="Rollback of checkout", service="checkout"),
                make_event("mitigation", 20),
            ],
            "the first decision after the belief turned to the right service: it steered nothing",
        ),
        (
            [
                belief(5, "I think it is orders-db", "orders-db"),
                make_event("change", 15, summary="Rollback of checkout", service="checkout"),
                make_event("mitigation", 20),
            ],
            "no decision followed the belief",
        ),
        (
            [
                make_event("message", 5, summary="orders-db is slow", service="orders-db"),
                decision(7, "Going to fail over orders-db", "orders-db"),
                make_event("change", 15, summary="Rollback of checkout", service="checkout"),
                make_event("mitigation", 20),
            ],
            "a plain message is no belief",
        ),
        (
            [
                belief(5, "I think it is the network"),
                decision(7, "Going to fail over orders-db", "orders-db"),
                make_event("change", 15, summary="Rollback of checkout", service="checkout"),
                make_event("mitigation", 20),
            ],
            "the belief names no service",
        ),
        (
            [
                belief(5, "I think it is orders-db", "orders-db"),
                decision(7, "Going to fail over orders-db", "orders-db"),
                make_event("resolution", 20, service="checkout"),
            ],
            "a resolution alone does not say where the fix landed",
        ),
        (
            [
                make_event("change", 1, summary="Deploy of checkout", service="checkout"),
                make_event("mitigation", 4),
                belief(5, "I think it is orders-db", "orders-db"),
                decision(7, "Going to fail over orders-db", "orders-db"),
            ],
            "the belief came after the mitigation",
        ),
        (
            [
                belief(5, "payments looks fine but checkout is slow, probably the pool", "payments", "checkout"),
                decision(7, "Let's scale payments", "payments"),
                make_event("change", 15, summary="Rollback of checkout", service="checkout"),
                make_event("mitigation", 20),
            ],
            "what looked healthy was payments, not checkout, and the belief named checkout",
        ),
    ],
)
def test_near_misses(factors_of, events, why):
    assert KEY not in factors_of(events), why


@pytest.mark.parametrize(
    ("details", "service", "named"),
    [
        ({"services": ["payments", "orders-db"]}, "payments", ("payments", "orders-db")),
        ({}, "checkout", ("checkout",)),
        ({"services": []}, "checkout", ("checkout",)),
        ({"services": "orders-db"}, None, ()),  # not a list: not read
    ],
)
def test_the_services_an_event_names(details, service, named):
    assert services_named(make_event("message", 0, service=service, details=details)) == named
