"""Human input is kept apart from the machine draft and applied on every build."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from retroflow.errors import ConfigError, RetroflowError
from retroflow.model import Category, Effort, Retro, Verification
from retroflow.store import (
    ActionEdit,
    AddedEvent,
    FactorVerdict,
    HumanInput,
    NewAction,
    Store,
    load_input_file,
)
from retroflow.testing import T0

Build = Callable[..., Retro]

DECISION = AddedEvent(
    at=datetime(2026, 11, 2, 14, 12, tzinfo=UTC),
    kind="decision",
    summary="Decided not to roll back yet",
    why="we believed the errors came from the payment provider",
    actor="alice",
    id="keep-v2",
)


def action_id(retro: Retro, title: str) -> str:
    return next(a.id for a in retro.actions if a.title == title)


def test_input_survives_a_rebuild(store: Store, build_sample: Build) -> None:
    alert_action = action_id(build_sample(), "Alert on checkout error rate")
    store.add_input("INC-1", FactorVerdict("late-alert", "rejected", reason="the alert was on time", author="bob"))
    store.add_input("INC-1", DECISION)
    store.add_input("INC-1", NewAction(title="Practise rollbacks monthly", owner="carol", id="drill"))
    for build in (1, 2):  # every build reads the input again
        human = store.human_input("INC-1")
        retro = build_sample(human)
        assert store.save_retro(retro, "INC-1", human=human) == build
        loaded = store.latest_retro("INC-1")
        keys = [f.key for f in loaded.factors]
        assert "late-alert" not in keys
        assert alert_action not in loaded.actions_by_id()  # it answered only the rejected factor
        decision = next(f for f in loaded.factors if f.key == "risky-decision")
        assert decision.evidence == ("human:keep-v2",)  # a heuristic cited the human event
        event = loaded.timeline.index["human:keep-v2"]
        assert event.details["why"].startswith("we believed")
        assert "Practise rollbacks monthly" in [a.title for a in loaded.actions]
    assert store.stored_input("INC-1", version=1) == store.human_input("INC-1")


def test_confirmed_factor_is_marked_and_edited_action_keeps_its_id(store: Store, build_sample: Build) -> None:
    alert_action = action_id(build_sample(), "Alert on checkout error rate")
    store.add_input("INC-1", FactorVerdict("late-alert", "confirmed", reason="seen in the graphs"))
    store.add_input("INC-1", ActionEdit(alert_action, owner="dan", effort="low"))
    store.add_input("INC-1", ActionEdit(alert_action, title="Page on checkout 5xx > 2%", due=date(2026, 12, 1)))
    retro = build_sample(store.human_input("INC-1"))
    factor = next(f for f in retro.factors if f.key == "late-alert")
    assert factor.details["human"]["status"] == "confirmed"
    action = retro.actions_by_id()[alert_action]
    assert (action.title, action.owner, action.effort, action.due) == (
        "Page on checkout 5xx > 2%",
        "dan",
        Effort.LOW,
        date(2026, 12, 1),
    )
    assert action.details["edited_by_human"] == ["due", "effort", "owner", "title"]


def test_input_naming_something_the_build_lacks_becomes_a_finding(build_sample: Build) -> None:
    retro = build_sample(HumanInput.from_items([ActionEdit("no-such-action", owner="x")]))
    assert any(f.rule == "human-input-unmatched" and "no-such-action" in f.message for f in retro.findings)


def test_stored_records_are_append_only_and_later_ones_win(store: Store) -> None:
    store.add_input("INC-1", FactorVerdict("late-alert", "rejected"))
    store.add_input("INC-1", FactorVerdict("late-alert", "confirmed", reason="changed my mind"))
    assert len(store.input_records("INC-1")) == 2
    assert store.human_input("INC-1").factors == (FactorVerdict("late-alert", "confirmed", reason="changed my mind"),)
    assert store.human_input("INC-2") == HumanInput()


def test_retro_as_code_file_round_trips(tmp_path: Path) -> None:
    human = HumanInput.from_items(
        [
            FactorVerdict("late-alert", "rejected", reason='said "no"\nreally'),
            DECISION,
            ActionEdit("abc123", owner="dan", due=date(2026, 12, 1)),
            NewAction(title="Practise rollbacks", effort="medium", factors=("risky-decision",)),
        ]
    )
    path = tmp_path / "INC-1.retro.toml"
    path.write_text(human.to_toml("INC-1"))
    assert load_input_file(path) == human


def test_file_is_applied_after_the_store(tmp_path: Path, build_sample: Build) -> None:
    path = tmp_path / "INC-1.retro.toml"
    path.write_text(
        """
incident = "INC-1"

[[factors]]
key = "late-alert"
status = "confirmed"
reason = "reviewed in the retro meeting"

[[events]]
at = 2026-11-02T14:12:00Z
kind = "decision"
summary = "Decided not to roll back yet"
id = "keep-v2"

[[actions]]
title = "Practise rollbacks monthly"
owner = "carol"
due = 2026-12-15
"""
    )
    stored = HumanInput.from_items([FactorVerdict("late-alert", "rejected")])
    merged = stored.merged_with(load_input_file(path))
    retro = build_sample(merged)
    assert next(f for f in retro.factors if f.key == "late-alert").details["human"]["status"] == "confirmed"
    added = next(a for a in retro.actions if a.title == "Practise rollbacks monthly")
    assert added.due == date(2026, 12, 15) and added.proposed_by == "human"
    assert "human:keep-v2" in retro.timeline.index
    assert retro.timeline.events[0].at <= T0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[factors]]\nkey = 'x'\nstatus = 'maybe'\n", "factors\\[0\\].*status"),
        ("[[events]]\nat = '2026-11-02T14:00:00'\nkind = 'decision'\nsummary = 's'\n", "events\\[0\\]: at"),
        ("[[actions]]\nowner = 'x'\n", "actions\\[0\\]: title is required"),
        ("[[actions]]\ntitle = 'x'\ncolour = 'red'\n", "unknown key 'colour'"),
        ("factors = [", "invalid TOML"),
    ],
)
def test_bad_files_say_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.retro.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_input_file(path)


def test_a_missing_file_is_no_input(tmp_path: Path) -> None:
    assert load_input_file(tmp_path / "nope.retro.toml") == HumanInput()


def test_withdrawn_input_is_no_longer_applied(store: Store) -> None:
    first = store.add_input("INC-1", FactorVerdict("late-alert", "rejected"))
    store.add_input("INC-1", NewAction(title="Practise rollbacks", id="drill"))
    store.withdraw_input("INC-1", first, author="bob")
    assert [r.item for r in store.input_records("INC-1")] == [NewAction(title="Practise rollbacks", id="drill")]
    assert store.human_input("INC-1").factors == ()
    with pytest.raises(RetroflowError, match="no input record #1 in force"):
        store.withdraw_input("INC-1", first)


def test_input_recorded_under_the_typed_reference_moves_to_the_incident_id(store: Store, build_sample: Build) -> None:
    verdict = FactorVerdict("late-alert", "rejected", reason="the alert was on time", author="bob")
    store.add_input("1042", verdict)
    assert store.resolve_incident("1042") == "1042", "nothing built yet"
    human = store.human_input("1042")
    store.save_retro(build_sample(human, incident_id="PQ1042"), "1042", human=human)
    assert store.resolve_incident("1042") == "PQ1042" and store.resolve_incident("PQ1042") == "PQ1042"
    assert store.human_input("1042") == HumanInput() and store.human_input("PQ1042") == human
    assert store.resolve_incident("unknown") == "unknown"


def test_a_reference_that_is_another_incidents_id_keeps_its_input(store: Store, build_sample: Build) -> None:
    store.save_retro(build_sample(incident_id="A"), "A")
    store.add_input("A", FactorVerdict("late-alert", "rejected", author="bob"))
    store.save_retro(build_sample(incident_id="B"), "A")  # asked for A, a source answered B
    assert store.human_input("A") != HumanInput() and store.human_input("B") == HumanInput()
    assert store.resolve_incident("A") == "A"


def test_a_rejected_factor_stays_visible_as_rejected_with_who_and_why(build_sample: Build) -> None:
    verdict = FactorVerdict("late-alert", "rejected", reason="the alert was on time", author="bob")
    retro = build_sample(HumanInput.from_items([verdict]))
    assert "late-alert" not in {f.key for f in retro.factors}, "kept out of the analysis"
    assert not any("late-alert" in a.factors for a in retro.actions)
    (rejected,) = retro.rejected_factors
    assert rejected.key == "late-alert"
    assert rejected.details["human"] == {"status": "rejected", "reason": "the alert was on time", "author": "bob"}
    assert "late-alert" not in [line.factor for line in retro.narrative]

    from retroflow.default_plugins.renderers.markdown import render_markdown
    from retroflow.serialize import from_document, to_document

    markdown = render_markdown(retro)
    assert "Rejected in review" in markdown
    rejected_line = next(line for line in markdown.splitlines() if "`late-alert`" in line)
    assert "rejected by bob: “the alert was on time”" in rejected_line
    document = to_document(retro)
    assert [f["key"] for f in document["rejected_factors"]] == ["late-alert"]
    assert document["rejected_factors"][0]["details"]["human"]["author"] == "bob"
    assert from_document(document) == retro


def test_a_confirmation_and_its_reason_are_shown_beside_the_factor(build_sample: Build) -> None:
    from retroflow.default_plugins.renderers.markdown import render_markdown

    verdict = FactorVerdict("late-alert", "confirmed", reason="seen in the graphs", author="alice")
    markdown = render_markdown(build_sample(HumanInput.from_items([verdict])))
    line = next(line for line in markdown.splitlines() if "`late-alert`" in line)
    assert "confirmed by alice: “seen in the graphs”" in line


def test_a_rejected_factor_is_stored_and_read_back(store: Store, build_sample: Build) -> None:
    human = HumanInput.from_items([FactorVerdict("late-alert", "rejected", reason="on time", author="bob")])
    store.save_retro(build_sample(human), "INC-1", human=human)
    loaded = store.latest_retro("INC-1")
    assert [f.key for f in loaded.rejected_factors] == ["late-alert"]
    assert loaded.rejected_factors[0].details["human"]["reason"] == "on time"


# -- how a person's action will be verified, and its category (issue 9, item 8) -------------


def rules_on(retro: Retro, action_id: str) -> list[str]:
    return [f.rule for f in retro.actions_by_id()[action_id].findings]


def test_an_added_action_can_say_how_it_will_be_verified_and_its_category(build_sample: Build) -> None:
    new = NewAction(
        title="Page on checkout 5xx above 2% for 3 min",
        owner="carol",
        id="page-5xx",
        category="detect faster",
        verify={"metric": "time-to-detect", "service": "checkout", "target": "≤ 5 min"},
    )
    retro = build_sample(HumanInput.from_items([new]))
    action = retro.actions_by_id()["page-5xx"]
    assert action.verify == Verification(metric="time-to-detect", service="checkout", target="≤ 5 min")
    assert action.category is Category.DETECT_FASTER
    assert "no-verification" not in rules_on(retro, "page-5xx")


def test_an_edit_can_give_a_machine_action_its_verification_and_category(build_sample: Build) -> None:
    alert_action = action_id(build_sample(), "Alert on checkout error rate")
    assert "no-verification" in rules_on(build_sample(), alert_action)
    edits = [
        ActionEdit(alert_action, verify={"metric": "time-to-detect", "target": "≤ 10 min"}, category="detect faster"),
        ActionEdit(alert_action, verify={"target": "≤ 5 min"}),  # a later edit changes the target only
    ]
    retro = build_sample(HumanInput.from_items(edits))
    action = retro.actions_by_id()[alert_action]
    assert action.verify == Verification(metric="time-to-detect", target="≤ 5 min")
    assert action.category is Category.DETECT_FASTER
    assert action.details["edited_by_human"] == ["category", "verify"]
    assert "no-verification" not in rules_on(retro, alert_action)


def test_a_target_without_any_metric_is_a_finding_not_lost_silently(build_sample: Build) -> None:
    alert_action = action_id(build_sample(), "Alert on checkout error rate")
    retro = build_sample(HumanInput.from_items([ActionEdit(alert_action, verify={"target": "≤ 5 min"})]))
    assert retro.actions_by_id()[alert_action].verify is None
    incomplete = [f for f in retro.findings if f.rule == "human-input-incomplete"]
    assert incomplete and alert_action in incomplete[0].message and "metric" in incomplete[0].message


def test_verification_and_category_round_trip_through_the_file_and_the_store(tmp_path: Path, store: Store) -> None:
    human = HumanInput.from_items(
        [
            ActionEdit("abc123", verify={"target": "≤ 5 min"}, category="limit blast radius", author="dan"),
            NewAction(title="Drill", id="drill", category="automate a decision", verify={"metric": "m", "target": "0"}),
        ]
    )
    path = tmp_path / "INC-1.retro.toml"
    path.write_text(human.to_toml("INC-1"))
    assert 'verify = { target = "≤ 5 min" }' in path.read_text()
    assert load_input_file(path) == human
    for item in [*human.edits, *human.new_actions]:
        store.add_input("INC-1", item)
    assert store.human_input("INC-1") == human


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[[actions]]\ntitle = 'x'\ncategory = 'faster'\n",
            "actions\\[0\\]: category 'faster' is not one of: detect faster, ",
        ),
        ("[[actions]]\nid = 'a1'\neffort = 'huge'\n", "actions\\[0\\]: effort 'huge' is not one of: low, medium, high"),
        ("[[actions]]\ntitle = 'x'\nverify = { metrc = 'm' }\n", "actions\\[0\\]: verify: unknown key 'metrc'"),
        ("[[actions]]\ntitle = 'x'\nverify = 'fast'\n", "actions\\[0\\]: verify: expected a table"),
        (
            "[[actions]]\ntitle = 'x'\nverify = { target = '0' }\n",
            "actions\\[0\\]: verify: a new action needs a metric",
        ),
    ],
)
def test_bad_verification_or_category_says_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.retro.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"bad.retro.toml: {message}"):
        load_input_file(path)


def test_when_every_factor_is_rejected_the_markdown_says_so(build_sample: Build) -> None:
    from retroflow.default_plugins.renderers.markdown import render_markdown

    keys = [f.key for f in build_sample(HumanInput.from_items([DECISION])).factors]
    human = HumanInput.from_items([DECISION, *(FactorVerdict(k, "rejected", author="bob") for k in keys)])
    retro = build_sample(human)
    assert retro.factors == () and {f.key for f in retro.rejected_factors} == set(keys)
    markdown = render_markdown(retro)
    assert "Every condition the heuristics found was rejected in review." in markdown
    assert "No contributing conditions were found" not in markdown
    assert "rejected by bob (no reason given)" in markdown
