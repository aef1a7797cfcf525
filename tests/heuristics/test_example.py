"""The bundled example (checkout outage CHK-1042) gives a convincing retro, built as the
Quick start builds it: from its event file, Git repository, saved GitHub replies and Slack
export."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def retro(example_built):
    assert example_built.gaps == ()
    return example_built


def test_deploys_and_chat_come_from_their_sources(retro):
    by_source: dict[str, list[str]] = {}
    for event in retro.timeline.events:
        by_source.setdefault(event.source, []).append(event.kind)
    assert set(by_source) == {"file", "otel", "datadog", "pagerduty", "git", "github", "slack"}
    assert set(by_source["git"]) == set(by_source["github"]) == {"change"}
    assert sorted(by_source["slack"]) == ["decision", "decision", *["message"] * 6, "signal"]
    assert [e.kind for e in retro.timeline.events if e.source == "file"] == ["mitigation"]


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
        "misleading-signal",
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
    decision = "slack:C05K8R2TQ1M-1794019980.667788"  # carol: roll back checkout
    rollback = "github:shop/checkout/run/771391/1/started"
    assert by_key["slow-mitigation"].evidence == ("pagerduty:pd-ack-1", decision, rollback, "file:mitigated")
    assert by_key["misleading-signal"].evidence == (
        "slack:C05K8R2TQ1M-1794019500.774411",  # bob: payments looks green, I think it is orders-db
        "slack:C05K8R2TQ1M-1794019590.112233",  # bob: going to fail over orders-db
        "github:shop/checkout/deployment/90412/status/184519",  # the rollback of checkout landed
    )
    assert by_key["misleading-signal"].details["looked_at"] == ["payments", "orders-db"]
    change = by_key["change-before-incident"]
    assert change.evidence[0] == "git:checkout@7a726bb1c82a5e8e963a78a81a19f22135ee3730", "the merge of #418"
    assert "github:shop/checkout/deployment/90398/status/184377" in change.evidence, "v2.14.0 deployed"


def test_each_factor_gets_a_specific_owned_verifiable_action(retro):
    answered = {key for action in retro.actions for key in action.factors}
    assert answered == {f.key for f in retro.factors}
    for action in retro.actions:
        assert action.category is not None and action.owner == "storefront"
        assert action.verify is not None and action.verify.target
    assert [f.rule for f in retro.findings] == ["too-many-actions"]
    assert sum(a.focus for a in retro.actions) == 3


# -- the example's Markdown reads well (issue 9, item 10) ----------------------------------


@pytest.fixture
def markdown(retro):
    from retroflow.default_plugins.renderers.markdown import render_markdown

    return render_markdown(retro)


def _section(markdown: str, heading: str) -> str:
    return markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]


def test_a_sample_log_line_is_shown_once_not_on_every_row(markdown):
    timeline = _section(markdown, "Timeline")
    rows = [line for line in timeline.splitlines() if "e.g. “ERROR payment-client: timed out" in line]
    assert len(rows) == 1, rows


def test_each_factor_is_listed_once(retro, markdown):
    conditions = _section(markdown, "Contributing conditions")
    assert conditions.lstrip().startswith("This incident needed these conditions to line up:")
    for factor in retro.factors:
        assert conditions.count(f"(`{factor.key}`") == 1, factor.key


def test_ties_in_score_say_why_one_ranks_above_another(retro, markdown):
    tied = [a for a in retro.actions if a.score and a.score.value == retro.actions[0].score.value]
    assert len(tied) == 5, "the example has five actions scored 3"
    actions = _section(markdown, "Actions")
    assert "same score are ranked by the strength of the strongest condition they answer" in actions
    note = actions.split("2. **Notify the checkout on-call", 1)[1].split("\n3. ", 1)[0]
    assert "tied at 3 with #1, #3, #4, #5" in note and "`slow-acknowledgement`, strength 0.73" in note


def test_a_duration_is_written_the_same_way_everywhere(markdown):
    assert "| Time to resolve (start → resolution) | 1 h 34 min |" in markdown
    assert "resolved after 1 h 34 min" in markdown and "94 min" not in markdown
    assert "| Time to acknowledge (page → ack) | 22 min |" in markdown
    assert "The first page waited 22 min for an acknowledgement" in markdown
    assert "(the first page waited 22 min)" in markdown
    assert "escalated only after 7 min 48 s" in markdown and "(this time the page waited 7 min 48 s)" in markdown
    # The last change before the first signal: the Deploy workflow run's conclusion at 01:52:07.
    assert "landed 6 min 2 s before the first signal" in markdown and "first error 6 min 2 s after" in markdown
    assert not re.search(r"\d\.\d+ min", markdown), "no decimal minutes beside whole ones"
