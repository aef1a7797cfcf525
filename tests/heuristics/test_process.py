"""Process-layer heuristics: each fires with the right evidence, and a near miss does not."""

from __future__ import annotations

from datetime import timedelta

from retroflow.testing import T0, make_event, make_incident


def test_slow_mitigation_from_the_decision(factors_of):
    decision = make_event("decision", 10, summary="Roll back checkout")
    started = make_event("deploy", 22, summary="Rollback started", service="checkout")
    done = make_event("rollback", 30, summary="Rollback complete", service="checkout")
    factor = factors_of([decision, started, done])["slow-mitigation"]
    assert factor.evidence == (decision.id, started.id, done.id)
    assert factor.layer == "process"
    assert factor.details["decision_minutes"] == 20
    assert "12 min until" in factor.explanation and "8 min for it to finish" in factor.explanation


def test_slow_mitigation_from_the_acknowledgement(factors_of):
    ack = make_event("ack", 0, actor="bob")
    done = make_event("mitigation", 31)
    factor = factors_of([ack, done])["slow-mitigation"]
    assert factor.evidence == (ack.id, done.id)
    assert factor.details["ack_minutes"] == 31


def test_slow_mitigation_near_miss(factors_of):
    events = [make_event("ack", 0), make_event("decision", 15), make_event("mitigation", 29)]
    assert "slow-mitigation" not in factors_of(events)
    assert "slow-mitigation" not in factors_of([make_event("ack", 0), make_event("resolve", 90)])


def test_missing_runbook_cites_the_bare_alerts(factors_of):
    bare = make_event("alert", 0, service="checkout", details={"monitor": "checkout-5xx"})
    again = make_event("alert", 3, service="checkout", details={"monitor": "checkout-5xx"})
    recovered = make_event("alert", 9, summary="recovered", details={"monitor": "checkout-5xx", "state": "ok"})
    factor = factors_of([bare, again, recovered])["missing-runbook"]
    assert factor.evidence == (bare.id, again.id)
    assert factor.details["monitors"] == ["checkout-5xx"]


def test_missing_runbook_near_miss_runbook_in_details_or_link(factors_of):
    in_details = make_event("alert", 0, details={"monitor": "a", "runbook": "https://wiki/runbooks/a"})
    in_link = make_event("alert", 1, details={"monitor": "b"}, link="https://wiki.example.com/runbook/b")
    in_other = make_event("alert", 2, details={"monitor": "c", "notes": "see https://x/runbooks/c"})
    assert "missing-runbook" not in factors_of([in_details, in_link, in_other])


def test_missing_runbook_near_miss_an_alert_a_person_raised_is_not_a_monitor(factors_of):
    # "Triggered through the website": there is no alert definition to link a runbook from.
    by_hand = make_event("alert", 0, summary="Checkout is down for EU", actor="laura", details={"manual": True})
    monitor = make_event("alert", 1, service="checkout", details={"monitor": "checkout-5xx"})
    factor = factors_of([by_hand, monitor])["missing-runbook"]
    assert factor.evidence == (monitor.id,)
    assert factor.details["monitors"] == ["checkout-5xx"]
    assert "missing-runbook" not in factors_of([by_hand])


def test_late_escalation_unacknowledged_page(factors_of):
    page = make_event("page", 0, actor="bob", service="checkout")
    escalation = make_event("escalate", 8, summary="Escalated to level 2: carol", actor="pagerduty")
    ack = make_event("ack", 20, actor="bob")
    factor = factors_of([page, escalation, ack])["late-escalation"]
    assert factor.evidence == (page.id, escalation.id)
    assert factor.details["escalated"] is True


def test_late_escalation_a_page_to_a_second_person_counts(factors_of):
    page = make_event("page", 0, actor="bob")
    second = make_event("page", 7, actor="carol")
    assert factors_of([page, second])["late-escalation"].evidence == (page.id, second.id)


def test_late_escalation_never_escalated(factors_of):
    page = make_event("page", 0, actor="bob")
    ack = make_event("ack", 12, actor="bob")
    factor = factors_of([page, ack])["late-escalation"]
    assert factor.evidence == (page.id, ack.id)
    assert factor.details["escalated"] is False


def test_late_escalation_near_misses(factors_of):
    page = make_event("page", 0, actor="bob")
    assert "late-escalation" not in factors_of([page, make_event("escalate", 4, summary="Escalated")])
    assert "late-escalation" not in factors_of([page, make_event("ack", 3, actor="bob")])
    # Escalated by the responder after acknowledging: a decision, not a late policy.
    after_ack = [page, make_event("ack", 2, actor="bob"), make_event("escalate", 30, summary="Escalated")]
    assert "late-escalation" not in factors_of(after_ack)


def past(id: str, days: float, **fields):
    return make_incident(id=id, created=T0 - timedelta(days=days), resolved=None, **fields)


def test_recurrence_same_service_and_alert_names_the_past_actions(factors_of):
    alert = make_event("alert", 0, summary="5xx > 5%", service="checkout", details={"monitor": "checkout-5xx"})
    before = past(
        "INC-900",
        30,
        title="Something else entirely",
        details={
            "alerts": ["checkout-5xx"],
            "actions": [
                {"title": "Alert on pool saturation", "status": "open", "owner": "storefront"},
                {"title": "Add canary", "status": "done"},
            ],
        },
    )
    factor = factors_of([alert], history=[before])["recurrence"]
    assert factor.evidence == (alert.id,)
    assert "INC-900" in factor.explanation
    assert "“Alert on pool saturation” (open)" in factor.explanation
    assert "“Add canary” (done)" in factor.explanation


def test_recurrence_similar_title(factors_of):
    signal = make_event("log", 0, service="checkout")
    before = past("INC-901", 10, title="Checkout errors")  # same title as make_incident's default
    factor = factors_of([signal], history=[before])["recurrence"]
    assert factor.evidence == (signal.id,)


def test_recurrence_near_misses(factors_of):
    signal = make_event("log", 0, service="checkout")
    too_old = past("INC-1", 91, title="Checkout errors")
    other_service = past("INC-2", 3, title="Checkout errors", services=("billing",))
    unlike = past("INC-3", 3, title="Search index rebuild stuck")
    assert "recurrence" not in factors_of([signal], history=[too_old, other_service, unlike])


def test_recurrence_action_reopens_the_open_actions_with_their_owner(retro_of):
    alert = make_event("alert", 0, service="checkout", details={"monitor": "checkout-5xx"})
    before = past(
        "INC-900",
        30,
        details={"alerts": ["checkout-5xx"], "actions": [{"title": "Pool alert", "status": "open", "owner": "ana"}]},
    )
    retro = retro_of([alert], history=[before])
    action = next(a for a in retro.actions if a.factors == ("recurrence",))
    assert "INC-900" in action.title and "“Pool alert”" in action.change
    assert action.owner == "ana"
    assert action.category == "automate a decision"


def test_process_actions_carry_the_service_and_threshold(retro_of):
    events = [
        make_event("page", 0, actor="bob", service="checkout"),
        make_event("escalate", 9, summary="Escalated"),
        make_event("alert", 0, service="checkout", details={"monitor": "checkout-5xx"}),
    ]
    retro = retro_of(events)
    escalation = next(a for a in retro.actions if a.factors == ("late-escalation",))
    assert escalation.title == "Escalate unacknowledged checkout pages to the next level after 5 min"
    runbook = next(a for a in retro.actions if a.factors == ("missing-runbook",))
    assert "'checkout-5xx'" in runbook.title
    assert runbook.verify is not None and runbook.verify.target == "a runbook link on 100% of paging alerts"


def test_recurrence_says_when_a_done_action_did_not_improve_its_metric(factors_of):
    from retroflow.model import DoneAction, Outcome, OutcomeWindow, PastActions, Verdict

    alert = make_event("alert", 0, service="checkout", details={"monitor": "checkout-5xx"})
    before = past("INC-900", 30, details={"alerts": ["checkout-5xx"]})
    window = OutcomeWindow(start=T0 - timedelta(days=90), end=T0, n=3, value=1.0)
    outcomes = tuple(
        Outcome(
            action=DoneAction(id, "INC-900", title, metric, "checkout", T0 - timedelta(days=20), "tracker:jira"),
            verdict=verdict,
            before=window,
            after=window,
        )
        for id, title, metric, verdict in (
            ("a1", "Alert on pool saturation", "time-to-detect", Verdict.INCONCLUSIVE),
            ("a2", "Canary checkout deploys", "incident-rate", Verdict.IMPROVED),
        )
    )
    judged = PastActions(services=("checkout",), as_of=T0, incidents=4, outcomes=outcomes)
    factor = factors_of([alert], history=[before], past_actions=judged)["recurrence"]
    assert (
        "“Alert on pool saturation”, marked done 2026-10-13, did not measurably improve time-to-detect (inconclusive)"
        in factor.explanation
    )
    assert (
        "“Canary checkout deploys”, marked done 2026-10-13, measurably improved incident-rate, yet it happened again"
        in (factor.explanation)
    )
    assert [o["verdict"] for o in factor.details["past"][0]["outcomes"]] == ["inconclusive", "improved"]
    without = factors_of([alert], history=[before])["recurrence"]
    assert "marked done" not in without.explanation and without.details["past"][0]["outcomes"] == []
