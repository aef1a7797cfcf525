"""The responder-side heuristics read an Opsgenie team's alert as they read the same
incident in PagerDuty: whole retros built from saved replies of each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retroflow import EventKind, Retro, RetroRequest
from retroflow.engine import build_retro
from retroflow.testing import make_config, make_plugins

from .conftest import save, source
from .scenario import ALERT_ID, opsgenie_alert, opsgenie_logs, opsgenie_notes, pagerduty_replies

pagerduty = pytest.importorskip("retroflow_pagerduty")

RESPONDING = {EventKind.PAGE, EventKind.ACK, EventKind.RESPONSE, EventKind.RESOLUTION}
RESPONDER_FACTORS = {"slow-acknowledgement", "late-escalation", "ownership-churn", "no-coordinator"}


def build(plugin: Any, table: str, ref: str, tmp_path: Path) -> Retro:
    plugins = make_plugins(plugin)
    config = make_config(table, plugins=plugins, path=tmp_path / "retroflow.toml")
    return build_retro(RetroRequest(ref), plugins=plugins, config=config)


@pytest.fixture
def both(tmp_path: Path) -> tuple[Retro, Retro]:
    jsm_dir = save(tmp_path / "jsm", {"alert.json": {"data": opsgenie_alert()}, "logs.json": {"data": opsgenie_logs()},
                                      "notes.json": {"data": opsgenie_notes()}})  # fmt: skip
    pd_dir = save(tmp_path / "pd", pagerduty_replies())
    jsm = build(source(), f'[plugins.jsm]\nreplies = "{jsm_dir}"\n', "#4821", tmp_path)
    pd = build(pagerduty.PagerDutySource(), f'[plugins.pagerduty]\nreplies = "{pd_dir}"\n', "PX4821", tmp_path)
    return jsm, pd


def test_slow_acknowledgement_and_late_escalation_fire_on_both_alike(both: tuple[Retro, Retro]) -> None:
    jsm, pd = both
    fired = {f.key for f in jsm.factors} & RESPONDER_FACTORS
    assert fired == {"slow-acknowledgement", "late-escalation"}
    assert fired == {f.key for f in pd.factors} & RESPONDER_FACTORS
    for key in fired:
        ours = next(f for f in jsm.factors if f.key == key)
        theirs = next(f for f in pd.factors if f.key == key)
        assert ours.details["minutes"] == theirs.details["minutes"], key
        assert ours.strength == theirs.strength, key
        assert ours.title == theirs.title, key


def test_the_key_moments_and_durations_are_the_same(both: tuple[Retro, Retro]) -> None:
    jsm, pd = both
    assert jsm.timeline.moments == pd.timeline.moments
    assert jsm.timeline.moments.durations()["acknowledge"] == pd.timeline.moments.durations()["acknowledge"]
    assert (jsm.incident.resolved, jsm.incident.services) == (pd.incident.resolved, pd.incident.services)


def test_the_same_people_respond_and_the_same_hand_offs_are_seen(both: tuple[Retro, Retro]) -> None:
    jsm, pd = both

    def shape(retro: Retro) -> list[tuple[EventKind, str | None]]:
        # PagerDuty tells the trigger twice (the alert and its trigger log entry): compare
        # what the responders did.
        return [(e.kind, e.details.get("action")) for e in retro.timeline.events if e.kind in RESPONDING]

    assert shape(jsm) == shape(pd)
    paged = [e.actor for e in jsm.timeline.events if e.kind is EventKind.PAGE]
    assert paged == ["alice@acme.com", "bob@acme.com"]
    assert jsm.incident.id == ALERT_ID
