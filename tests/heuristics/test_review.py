"""Action review: phrases that trip each rule and phrases that must not; never a rewrite."""

from __future__ import annotations

import attrs
import pytest

from retroflow import hookimpl
from retroflow.default_plugins.review.action_review import Reviewer, ReviewSettings
from retroflow.engine import build_retro
from retroflow.model import ActionItem, Factor, SourceResult, Verification
from retroflow.narrative import narrative_lines
from retroflow.request import RetroRequest
from retroflow.testing import build as build_with
from retroflow.testing import make_config, make_event, make_incident, make_plugins

GOOD_VERIFY = Verification(metric="time to detect", service="checkout", target="≤ 5 min")


def action(title: str, change: str = "", owner: str | None = "storefront", verify=GOOD_VERIFY) -> ActionItem:
    return ActionItem.create(incident_id="INC-1", title=title, change=change, owner=owner, verify=verify)


def rules(item: ActionItem, people=("bob",)) -> set[str]:
    return {finding.rule for finding in Reviewer(ReviewSettings(), people).review(item)}


@pytest.mark.parametrize(
    "title",
    [
        "Be more careful when deploying checkout",
        "Engineers must remember to check the pool size",
        "Double-check config changes before merging",
        "Make sure the runbook is followed",
        "Don't forget to announce deploys",
        "Pay closer attention to dashboards",
    ],
)
def test_relies_on_memory_trips(title):
    assert "relies-on-memory" in rules(action(title))


@pytest.mark.parametrize(
    "title",
    [
        "Reject pool sizes below 20 in CI",
        "Make the deploy pipeline compare error rates with the baseline",
        "Add a remember-me expiry alert on auth",
        "Automated canary check gates checkout deploys",
        "Careful rollout: 1% canary for 10 min",
    ],
)
def test_relies_on_memory_does_not_trip(title):
    assert "relies-on-memory" not in rules(action(title))


@pytest.mark.parametrize(
    "title",
    ["Improve monitoring", "Better alerting", "Add more monitoring", "Improve our observability", "Look into logging"],
)
def test_vague_trips(title):
    assert "vague" in rules(action(title, verify=Verification(metric="something")))


@pytest.mark.parametrize(
    "title",
    [
        "Improve monitoring: alert when checkout 5xx > 2% for 3 min",
        "Add alerting on 'payment-client pool wait' above 500 ms",
        "Add a canary stage to checkout deploys",
    ],
)
def test_vague_does_not_trip(title):
    assert "vague" not in rules(action(title, verify=Verification(metric="something")))


def test_vague_not_when_the_verification_gives_a_target():
    assert "vague" not in rules(action("Improve monitoring"))


@pytest.mark.parametrize("owner", [None, "", "TBD", " ? "])
def test_no_owner_trips(owner):
    assert "no-owner" in rules(action("Alert on pool wait > 500 ms", owner=owner))


def test_no_owner_does_not_trip_with_a_team():
    assert "no-owner" not in rules(action("Alert on pool wait > 500 ms", owner="storefront"))


def test_no_verification_when_the_metric_is_not_an_outcome_metric():
    names = ("time-to-detect", "incident-rate")
    reviewer = Reviewer(ReviewSettings(), (), names)
    findings = list(reviewer.review(action("Alert on pool wait > 500 ms")))  # metric "time to detect"
    assert [f.rule for f in findings] == ["no-verification"]
    assert "“time to detect” is not an outcome metric" in findings[0].message
    assert "incident-rate, time-to-detect" in findings[0].suggestion
    named = Verification(metric="time-to-detect", service="checkout", target="≤ 5 min")
    assert "no-verification" not in {
        f.rule for f in reviewer.review(action("Alert on pool wait > 500 ms", verify=named))
    }


def test_the_engine_gives_the_reviewer_the_registered_metric_names():
    written = Verification(metric="pool wait", service="checkout", target="≤ 500 ms")
    human = ActionItem.create(incident_id="INC-1", title="Alert on pool wait > 500 ms", owner="ana", verify=written)

    class Proposer:
        @hookimpl
        def retroflow_propose_actions(self):  # type: ignore[no-untyped-def]
            return [human]

    retro = build_with([make_event("alert", 0, service="checkout")], plugins=[Proposer()])
    reviewed = retro.actions_by_id()[human.id]
    assert any("“pool wait” is not an outcome metric" in f.message for f in reviewed.findings)


def test_every_proposed_action_names_an_outcome_metric(busy_events):
    from pathlib import Path

    from retroflow.default_plugins.sources.file import read_events, read_incident
    from retroflow.plugins import Plugins, get_plugin_manager

    names = set(Plugins(get_plugin_manager(load_entrypoints=False)).outcome_metrics.names())
    example = Path(__file__).parents[2] / "contrib" / "examples" / "checkout-outage"
    events, _ = read_events(example / "events.jsonl")
    retros = [
        build_with(busy_events),
        build_with(events, incident=read_incident(example / "incident.json", "CHK-1042")),
    ]
    proposed = [item for retro in retros for item in retro.actions]
    assert len({item.factors for item in proposed}) >= 8
    for item in proposed:
        assert item.verify is not None and item.verify.metric in names, (item.factors, item.verify)


def test_no_verification_without_metric_or_target():
    assert "no-verification" in rules(action("Alert on pool wait > 500 ms", verify=None))
    assert "no-verification" in rules(action("Alert on pool wait > 500 ms", verify=Verification(metric="p95")))
    assert "no-verification" not in rules(action("Alert on pool wait > 500 ms"))


@pytest.mark.parametrize(
    "text",
    [
        "Root cause: human error during the deploy",
        "The careless config change broke checkout",
        "bob should have checked the dashboard",
        "Bob failed to acknowledge the page",
        "The on-call failed to notice the alert",
        "We should have rolled back sooner",
        "It was negligence",
        "bob missed the page twice",
        "We missed the alert in the noise",
    ],
)
def test_blameless_language_trips(text):
    assert "blameless-language" in rules(action(text))


@pytest.mark.parametrize(
    "text",
    [
        "The deploy failed to start because the image was missing",
        "The alert should have fired at 5% but its threshold was 20%",
        "Error budget policy for checkout",
        "bob acknowledged at 02:41 after the phone call",
        "bob's deploy failed to start on two nodes",
        "We missed the SLO for 40 minutes",
        "we missed our availability target this quarter",
        "The team missed the error budget",
    ],
)
def test_blameless_language_does_not_trip(text):
    assert "blameless-language" not in rules(action(text))


def test_findings_carry_the_action_id_and_a_suggestion():
    item = action("Be more careful", owner=None, verify=None)
    findings = list(Reviewer(ReviewSettings()).review(item))
    assert {f.rule for f in findings} == {"relies-on-memory", "no-owner", "no-verification"}
    assert all(f.target == item.id and f.suggestion for f in findings)


class _Source:
    @hookimpl
    def retroflow_timeline_source(self) -> SourceResult:
        return SourceResult(incident=make_incident(), events=(make_event("log", 0),))


def test_review_runs_on_human_actions_and_never_rewrites():
    """Human-written actions arrive through ``amend``; review flags them, leaves them as written."""
    written = action("Remember to double-check deploys", owner=None, verify=None)
    plugins = make_plugins(_Source())
    retro = build_retro(
        RetroRequest(incident_ref="INC-1"),
        plugins=plugins,
        config=make_config(plugins=plugins),
        amend=lambda draft: attrs.evolve(draft, actions=(*draft.actions, written)),
    )
    reviewed = retro.actions_by_id()[written.id]
    assert (reviewed.title, reviewed.owner, reviewed.verify) == (written.title, None, None)
    assert {f.rule for f in reviewed.findings} >= {"relies-on-memory", "no-owner", "no-verification"}


def test_more_than_five_actions_is_a_retro_finding(retro_of, busy_events):
    retro = retro_of(busy_events)
    assert len(retro.actions) > 5
    finding = next(f for f in retro.findings if f.rule == "too-many-actions")
    assert finding.target == "retro"
    assert str(len(retro.actions)) in finding.message


def test_five_actions_or_fewer_is_fine(retro_of):
    retro = retro_of([make_event("log", 0, service="checkout"), make_event("alert", 20, service="checkout")])
    assert len(retro.actions) <= 5
    assert not any(f.rule == "too-many-actions" for f in retro.findings)


def test_max_actions_comes_from_config(retro_of):
    events = [make_event("log", 0, service="checkout"), make_event("alert", 20, service="checkout")]
    retro = retro_of(events, config="[plugins.action-review]\nmax_actions = 1")
    assert any(f.rule == "too-many-actions" for f in retro.findings)


def test_blameless_language_in_timeline_messages_targets_the_retro(retro_of):
    blame = make_event("message", 5, summary="honestly bob failed to read the alert", actor="carol")
    fine = make_event("message", 6, summary="the deploy failed to roll out on node 3", actor="bob")
    retro = retro_of([make_event("log", 0), blame, fine])
    findings = [f for f in retro.findings if f.rule == "blameless-language"]
    assert len(findings) == 1
    assert findings[0].target == "retro" and blame.id in findings[0].message


def test_default_proposals_pass_their_own_review(retro_of):
    """What retroflow proposes is specific, owned and verifiable (given a team)."""
    events = [
        make_event("deploy", -5, service="checkout"),
        make_event("log", 0, service="checkout"),
        make_event("alert", 15, service="checkout", details={"monitor": "m"}),
        make_event("page", 16, actor="bob", service="checkout"),
        make_event("ack", 40, actor="bob"),
        make_event("decision", 50, summary="Roll back"),
        make_event("mitigation", 90),
    ]
    retro = retro_of(events, incident=make_incident(teams=("storefront",)))
    assert retro.actions
    assert [f for a in retro.actions for f in a.findings] == []


class _BlamefulHeuristic:
    """A third-party heuristic whose factor title blames a person."""

    @hookimpl
    def retroflow_find_factors(self, timeline) -> list[Factor]:
        first = timeline.events[0]
        return [Factor(key="x", layer="human", title="bob failed to ack", explanation="", evidence=(first.id,))]


def test_blameless_language_in_the_narrative_targets_the_retro():
    retro = build_with([make_event("page", 0, actor="bob")], plugins=[_BlamefulHeuristic()])
    finding = next(f for f in retro.findings if f.rule == "blameless-language")
    assert finding.target == "retro"
    lines = narrative_lines(retro)
    number = next(i for i, line in enumerate(lines, start=1) if "bob failed to ack" in line)  # not rewritten
    assert f"Narrative line {number} says “bob failed to”" in finding.message
