"""Reading a workspace export: our incident channel, and real exports published by others."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from retroflow import EventKind, Incident, SourceError


def by_ts(result: Any) -> dict[str, Any]:
    return {e.details["ts"]: e for e in result.events}


def test_the_incident_channel_becomes_messages_beliefs_decisions_and_alert_signals(kit: Any, tmp_path: Path) -> None:
    result = kit.from_export(kit.write_export(tmp_path / "export", kit.incident_channel()))
    events = by_ts(result)
    ts = kit.ts
    assert sorted(events) == sorted([ts(2, 19), ts(2, 21), ts(2, 24), ts(2, 30), ts(2, 45), ts(3, 0), ts(3, 30)]), (
        "joins, topic, standup bot, Slackbot, the pin notice and messages outside the window are dropped"
    )

    alert = events[ts(2, 19)]
    assert (alert.kind, alert.actor, alert.details["bot"]) == (EventKind.SIGNAL, "Datadog", "Datadog")
    assert alert.summary == "[Triggered] Checkout 5xx rate > 5% — [Triggered] Checkout 5xx rate > 5% on checkout"
    assert alert.service == "checkout"

    belief = events[ts(2, 21)]
    assert (belief.kind, belief.actor, belief.details["belief"]) == (EventKind.MESSAGE, "alice", True)
    assert belief.summary == "@Bob Stone I think it's payments-api, looks like its latency spiked"
    assert belief.service == "payments-api"

    reply = events[ts(2, 24)]
    assert reply.details == {"ts": ts(2, 24), "thread_ts": ts(2, 21), "belief": True}
    assert reply.summary == "payments dashboard looks green to me & p99 is flat"
    assert reply.actor == "Bob Stone"

    decision = events[ts(2, 30)]
    assert decision.kind is EventKind.DECISION
    assert decision.details["why"] == "the 01:52 deploy changed its client pool"
    assert (decision.details["key_moment"], decision.details["marked_by"]) == (True, ["reaction"])
    assert decision.service == "payments-api"

    revert = events[ts(2, 45)]
    assert revert.kind is EventKind.DECISION
    assert revert.details["why"] == "The checkout v2.14.0 deploy cut the pool to 5"
    assert revert.details["services"] == ["checkout"] and revert.details["edited"] is True
    assert revert.details["text"].startswith("Rollback done, errors still there.\nThe checkout")

    pinned = events[ts(3, 30)]
    assert (pinned.kind, pinned.details["marked_by"]) == (EventKind.MESSAGE, ["pin"])


def test_ids_are_the_channel_and_ts_and_links_point_at_the_message(kit: Any, tmp_path: Path) -> None:
    result = kit.from_export(kit.write_export(tmp_path / "export", kit.incident_channel()))
    events = by_ts(result)
    reply = events[kit.ts(2, 24)]
    assert reply.id == f"slack:{kit.CHANNEL}-{kit.ts(2, 24)}"
    assert reply.link == (
        f"https://acme.slack.com/archives/{kit.CHANNEL}/p{kit.ts(2, 24).replace('.', '')}"
        f"?thread_ts={kit.ts(2, 21)}&cid={kit.CHANNEL}"
    )
    again = kit.from_export(kit.write_export(tmp_path / "export", kit.incident_channel()))
    assert [e.id for e in again.events] == [e.id for e in result.events]


def test_tokens_and_url_credentials_in_messages_are_masked(kit: Any, tmp_path: Path) -> None:
    result = kit.from_export(kit.write_export(tmp_path / "export", kit.incident_channel()))
    leaky = by_ts(result)[kit.ts(3, 0)]
    assert leaky.summary == (
        "grafana token is [redacted], try the board (https://admin:[redacted]@grafana.example.com/d/1)"
    )
    text = json.dumps([e.summary for e in result.events]) + json.dumps([dict(e.details) for e in result.events])
    assert "xoxp-" not in text and "hunter2" not in text


def test_user_ids_are_never_shown_where_a_name_is_known(kit: Any, tmp_path: Path) -> None:
    result = kit.from_export(kit.write_export(tmp_path / "export", kit.incident_channel()))
    shown = json.dumps([[e.summary, e.actor, dict(e.details)] for e in result.events])
    for user_id in kit.USERS:
        assert user_id not in shown


def test_a_configured_channel_by_name_wins_over_the_incident_link(kit: Any, tmp_path: Path) -> None:
    folder = kit.write_export(tmp_path / "export", kit.incident_channel())
    result = kit.from_export(folder, 'channel = "inc-1042"\n', kit.incident(links=()))
    assert len(result.events) == 7 and all(e.link is None for e in result.events), "no workspace, no links"


def test_the_export_is_read_whole_when_the_incident_has_no_times(kit: Any, tmp_path: Path) -> None:
    folder = kit.write_export(tmp_path / "export", kit.incident_channel())
    result = kit.from_export(folder, "", kit.incident(created=None, resolved=None))
    assert {kit.ts(1, 0), kit.ts(5, 0)} <= set(by_ts(result))


def test_only_the_day_files_around_the_window_are_read(kit: Any, tmp_path: Path) -> None:
    folder = kit.write_export(tmp_path / "export", kit.incident_channel())
    (folder / "inc-1042" / "2026-10-01.json").write_text("not json at all")  # far outside: never opened
    result = kit.from_export(folder)
    assert not result.gaps


def test_a_day_file_that_is_not_json_is_a_gap_naming_it_and_the_rest_still_counts(kit: Any, tmp_path: Path) -> None:
    folder = kit.write_export(tmp_path / "export", kit.incident_channel())
    bad = folder / "inc-1042" / "2026-11-06.json"
    bad.write_text('[{"ts": ')
    (folder / "inc-1042" / "2026-11-08.json").write_text('{"unexpected": true}')
    result = kit.from_export(folder)
    assert len(result.events) == 7
    reasons = [g.reason for g in result.gaps]
    assert any(str(bad) in r and "not readable JSON" in r for r in reasons)
    assert any("2026-11-08.json: neither a list of messages nor an API reply" in r for r in reasons)


def test_messages_without_a_ts_are_counted_not_fatal(kit: Any, tmp_path: Path) -> None:
    messages = [*kit.incident_channel(), {"type": "message", "user": "U01ALICE", "text": "no ts"}, "junk"]
    folder = kit.write_export(tmp_path / "export", [m for m in messages if isinstance(m, dict) and "ts" in m])
    day = folder / "inc-1042" / "2026-11-07.json"
    day.write_text(json.dumps([*json.loads(day.read_text()), messages[-2], messages[-1]]))
    result = kit.from_export(folder)
    assert len(result.events) == 7
    assert sorted((g.reason, g.count) for g in result.gaps) == [
        ("1 message(s) skipped: no valid 'ts'", 1),
        ("1 message(s) skipped: not a JSON object", 1),
    ]


def test_a_missing_export_or_channel_is_a_clear_error(kit: Any, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"is not a directory \(\[plugins.slack\] export\)"):
        kit.from_export(tmp_path / "nowhere")
    folder = kit.write_export(tmp_path / "export", kit.incident_channel())
    with pytest.raises(SourceError, match="no channel 'inc-9999'"):
        kit.from_export(folder, 'channel = "inc-9999"\n')


def test_without_a_channel_the_source_records_a_gap(kit: Any, tmp_path: Path) -> None:
    folder = kit.write_export(tmp_path / "export", kit.incident_channel())
    result = kit.from_export(folder, "", kit.incident(links=()))
    (gap,) = result.gaps
    assert not result.events and gap.plugin == "slack" and "no channel" in gap.reason


def test_a_real_export_zulip_s_slack_importer_fixture(kit: Any, tmp_path: Path) -> None:
    """zulip/zulip's Slack import test data: a real export's shape (see PROVENANCE.md)."""
    unbounded = Incident(id="X", links=("https://plan8team.slack.com/archives/C061A0WJG",))
    result = kit.from_export(kit.FIXTURES / "zulip-export", "", unbounded)
    events = {e.details["ts"]: e for e in result.events}
    assert not result.gaps
    assert "1498401043.277604" not in events, "channel_join is noise"
    assert events["1498401071.279035"].actor == "k._"
    assert events["1516454537.000093"].actor == "Steve"
    shared = events["1516457078.000065"]
    assert shared.summary == (
        "@k._ uploaded a file: dirac72.md (https://plan8team.slack.com/files/U6006P1CN/F8VSW87RR/dirac72.md) "
        "and commented: test upload attachment"
    )
    assert events["1516468529.000046"].summary == "@channel"
    assert shared.at.isoformat() == "2018-01-20T14:04:38.000065+00:00"
    assert shared.link == "https://plan8team.slack.com/archives/C061A0WJG/p1516457078000065"


def test_thread_replies_and_broadcasts_in_an_export_zulip_fixture(kit: Any, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    (folder / "random").mkdir(parents=True)
    shutil.copy(kit.FIXTURES / "zulip-export" / "channels.json", folder)
    shutil.copy(kit.FIXTURES / "zulip-thread_with_broadcast_reply.json", folder / "random" / "2015-06-12.json")
    mention = kit.load("zulip-message_with_user_mentions.json")
    (folder / "random" / "2026-02-26.json").write_text(json.dumps([mention]))
    result = kit.from_export(folder, 'channel = "random"\n', Incident(id="X"))
    events = {e.details["ts"]: e for e in result.events}
    assert events["1434139103.000002"].details["thread_ts"] == "1434139102.000002"
    assert events["1434139104.000002"].summary == "everyone should see this"
    assert "thread_ts" not in events["1434139102.000002"].details
    # users.json is missing here: the author's name comes from the profile the message carries
    assert events["1772112471.400529"].summary == "@Peter test user mention @U074VRHQ11T"
    assert events["1772112471.400529"].actor == "Peter"
    assert any("users.json" in g.reason for g in result.gaps)


def test_saved_api_replies_in_a_channel_folder_are_read_like_day_files(kit: Any, tmp_path: Path) -> None:
    """wee-slack's captured conversations.history reply, saved into an export folder."""
    folder = tmp_path / "export"
    (folder / "C0FC8BFQR").mkdir(parents=True)
    shutil.copy(kit.FIXTURES / "wee-slack" / "slack_conversations_history_channel_public.json", folder / "C0FC8BFQR")
    result = kit.from_export(folder, 'channel = "C0FC8BFQR"\n', Incident(id="X"))
    assert sorted(e.summary for e in result.events) == [
        "1", "a", "b", "c", "d", "https://github.com/golang/go/issues/45624", "https://vg.no", "shared Some post title",
    ]  # fmt: skip
