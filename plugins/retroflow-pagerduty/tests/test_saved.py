"""Saved API replies: the same source, offline; and the bundled example built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from retroflow_pagerduty import PagerDutySource

from retroflow import EventKind, RetroRequest, SourceError
from retroflow.engine import build_retro
from retroflow.plugins import Plugins, get_plugin_manager
from retroflow.testing import check_source_contract, make_config, make_plugins

EXAMPLE = Path(__file__).parents[3] / "contrib" / "examples" / "checkout-outage"


def save(directory: Path, name: str, body: object) -> None:
    (directory / name).write_text(json.dumps(body), encoding="utf-8")


@pytest.fixture
def saved(tmp_path, kit):
    """A directory of replies as ``curl`` saves them, from the published payloads."""
    save(tmp_path, "incident.json", {"incident": kit.spec_incident()})
    save(tmp_path, "log_entries.json", {"log_entries": kit.published_log_entries()})
    save(tmp_path, "alerts.json", kit.load("pd_incident_alerts.spec.json"))
    save(tmp_path, "notes.json", kit.load("pd_incident_notes.spec.json"))
    return tmp_path


def config_for(source, directory: Path, extra: str = ""):
    toml = f'[plugins.pagerduty]\nreplies = "{directory}"\n{extra}'
    return make_config(toml, plugins=make_plugins(source, default_plugins=False))


def test_saved_replies_give_the_same_result_as_the_live_api(kit, saved, source_for):
    offline = PagerDutySource()
    result = check_source_contract(offline, RetroRequest("PT4KHLK"), config_for(offline, saved))
    live_source, live_config = source_for(kit.fake_account())
    live = live_source.retroflow_timeline_source(RetroRequest("PT4KHLK"), live_config)
    assert result.incident == live.incident
    assert sorted(e.key for e in result.events) == sorted(e.key for e in live.events)
    assert result.gaps == ()


@pytest.mark.parametrize("ref", ["PT4KHLK", "1234", "#1234", "https://subdomain.pagerduty.com/incidents/PT4KHLK"])
def test_saved_replies_answer_to_the_incident_id_number_or_url(saved, ref):
    source = PagerDutySource()
    assert source.retroflow_timeline_source(RetroRequest(ref), config_for(source, saved)).incident.id == "PT4KHLK"


def test_saved_replies_of_another_incident_are_refused(saved):
    source = PagerDutySource()
    with pytest.raises(SourceError, match=r"are for incident PT4KHLK \(#1234\), not 'PXXXXXX'"):
        source.retroflow_timeline_source(RetroRequest("PXXXXXX"), config_for(source, saved))


def test_replies_saved_page_by_page_are_read_in_order(kit, saved):
    entries = kit.published_log_entries()
    (saved / "log_entries.json").unlink()
    save(saved, "log_entries.100.json", {"log_entries": entries[2:]})
    save(saved, "log_entries.0.json", {"log_entries": entries[:2]})
    source = PagerDutySource()
    result = source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config_for(source, saved))
    ids = [e.native_id for e in result.events if "log_entry_type" in e.details]
    assert sorted(ids) == sorted(e["id"] for e in entries)


def test_a_missing_list_file_is_a_gap_and_a_missing_incident_an_error(saved):
    (saved / "notes.json").unlink()
    source = PagerDutySource()
    result = source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config_for(source, saved))
    assert [g.reason for g in result.gaps] == [f"saved replies in {saved} lack notes.json"]
    (saved / "incident.json").unlink()
    with pytest.raises(SourceError, match=r"incident\.json not found"):
        source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config_for(source, saved))


def test_a_saved_reply_that_is_not_json_names_the_file(saved):
    (saved / "alerts.json").write_text("<html>", encoding="utf-8")
    source = PagerDutySource()
    with pytest.raises(SourceError, match=r"alerts\.json"):
        source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config_for(source, saved))


def test_saved_replies_win_over_the_token_and_make_no_request(kit, saved, sleeps):
    fake = kit.fake_account()
    source = PagerDutySource(transport=fake.transport, sleep=sleeps)
    config = config_for(source, saved, 'token = "env:PAGERDUTY_TOKEN"\n')
    assert source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config).incident.id == "PT4KHLK"
    assert fake.requests == []


def test_the_bundled_example_builds_from_saved_pagerduty_replies(example_repo, monkeypatch):
    # Its deploys and chat come from the example's Git repository, saved GitHub replies and
    # Slack export, through the plugins that read them (installed by scripts/setup.sh).
    for module in ("retroflow_git", "retroflow_github", "retroflow_slack"):
        pytest.importorskip(module)
    monkeypatch.delenv("RETROFLOW_LOAD_PLUGINS", raising=False)
    config_path = EXAMPLE / "pagerduty" / "retroflow-pagerduty.toml"
    plugins = Plugins(get_plugin_manager(only=["pagerduty", "git", "github-deploys", "slack"]))
    config = make_config(config_path.read_text(encoding="utf-8"), plugins=plugins, path=config_path)
    retro = build_retro(RetroRequest("1042"), plugins=plugins, config=config)

    assert retro.incident.id == "Q0CHKRF1042PD"
    assert retro.incident.services == ("checkout",)
    assert (retro.incident.urgency, retro.incident.priority, retro.incident.teams) == ("high", "P2", ("storefront",))
    assert retro.gaps == ()
    pagerduty = [e for e in retro.timeline.events if e.source == "pagerduty"]
    story = [(e.at.strftime("%H:%M"), e.kind, e.actor) for e in pagerduty if e.kind is not EventKind.ALERT]
    assert story == [
        ("02:19", EventKind.RESPONSE, None),  # assigned to bob by the escalation policy
        ("02:19", EventKind.PAGE, "bob"),
        ("02:27", EventKind.RESPONSE, None),  # escalated to carol on timeout
        ("02:27", EventKind.PAGE, "carol"),
        ("02:41", EventKind.ACK, "bob"),
        ("02:45", EventKind.MESSAGE, "bob"),
        ("02:53", EventKind.MESSAGE, "carol"),  # the note; its annotate log entry is not repeated
        ("03:32", EventKind.RESOLUTION, "carol"),
    ]
    alerts = [e for e in pagerduty if e.kind is EventKind.ALERT]
    assert len(alerts) == 2  # the trigger with its own alert folded in, and the re-trigger
    assert alerts[0].details["alert_id"] == "PALCHK5XX0001"
    assert all(a.details["runbook"] == "https://wiki.example.com/runbooks/checkout-5xx" for a in alerts)
    # bob's automatic first assignment is no hand-off: only the escalation to carol is one
    assert "ownership-churn" not in {f.key for f in retro.factors}
    moments = retro.timeline.moments
    assert (moments.first_page.strftime("%H:%M:%S"), moments.first_ack.strftime("%H:%M")) == ("02:19:12", "02:41")
    assert moments.resolve.strftime("%H:%M") == "03:32"
    assert [i.id for i in retro.history] == ["Q0CHKRF0912PD", "Q0CHKRF0977PD"]
    # the file source still brings the logs; Git and GitHub the deploys; Slack the chat, in
    # the channel the incident's conference bridge links to
    assert {e.source for e in retro.timeline.events} >= {"git", "github", "otel", "slack", "pagerduty"}
    assert "https://shop-example.slack.com/archives/C05K8R2TQ1M" in retro.incident.links
    assert "misleading-signal" in {f.key for f in retro.factors}


def test_saved_history_is_cut_at_the_incident(tmp_path):
    """A saved ``incidents.json`` is what the curl asked for, not cut at the incident: one
    created two days later is no past incident of it."""
    for name in ("incident.json", "log_entries.json", "alerts.json", "notes.json"):
        (tmp_path / name).write_bytes((EXAMPLE / "pagerduty" / name).read_bytes())
    saved = json.loads((EXAMPLE / "pagerduty" / "incidents.json").read_text(encoding="utf-8"))
    later = {**saved["incidents"][0], "id": "Q0CHKRF1050PD", "incident_number": 1050}
    later["created_at"] = "2026-11-09T02:00:00Z"
    save(tmp_path, "incidents.json", {"incidents": [*saved["incidents"], later]})
    source = PagerDutySource()
    plugins = make_plugins(source)
    retro = build_retro(RetroRequest("1042"), plugins=plugins, config=config_for(source, tmp_path))
    assert [past.id for past in retro.history] == ["Q0CHKRF0912PD", "Q0CHKRF0977PD"]
