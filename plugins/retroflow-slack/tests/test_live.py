"""Live through slack-sdk's WebClient, against a fake Web API on localhost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import structlog
from retroflow_slack import SlackSource
from retroflow_slack.testing import FakeSlack, serve

from retroflow import RetroRequest, SourceError
from retroflow.testing import check_secret_not_leaked, check_source_contract


def test_live_gives_the_same_events_as_the_export(live: Any, kit: Any, tmp_path: Path) -> None:
    result = live()
    exported = kit.from_export(kit.write_export(tmp_path / "export", kit.incident_channel()))
    assert sorted(
        (e.id, e.kind, e.summary, e.actor, e.service, e.link, str(e.details)) for e in result.events
    ) == sorted((e.id, e.kind, e.summary, e.actor, e.service, e.link, str(e.details)) for e in exported.events)
    assert not result.gaps


def test_history_is_read_for_the_window_and_replies_for_each_thread(live: Any, fake: FakeSlack, kit: Any) -> None:
    live('token = "env:SLACK_BOT_TOKEN"\nmargin_minutes = 10\n')
    methods = [method for method, _ in fake.requests]
    assert methods.count("conversations.history") == 1
    assert methods.count("conversations.replies") == 1
    history = next(params for method, params in fake.requests if method == "conversations.history")
    assert history["channel"] == kit.CHANNEL
    assert float(history["oldest"]) == kit.CREATED.timestamp() - 600
    assert float(history["latest"]) == kit.RESOLVED.timestamp() + 600
    replies = next(params for method, params in fake.requests if method == "conversations.replies")
    assert replies["ts"] == kit.ts(2, 21)


def test_names_come_from_one_users_info_per_person(live: Any, fake: FakeSlack) -> None:
    live()
    asked = [params["user"] for method, params in fake.requests if method == "users.info"]
    assert sorted(asked) == sorted(set(asked)), "each user is asked for once"
    assert set(asked) == {"U01ALICE", "U02BOB", "U03CAROL", "U04DAVE"}, "bots' posts carry their names"


def test_pages_are_followed_with_the_cursor(live: Any, fake: FakeSlack, kit: Any) -> None:
    base = kit.CREATED.timestamp()
    fake.messages[kit.CHANNEL] = [
        {"type": "message", "user": "U01ALICE", "ts": f"{int(base) + n}.000100", "text": f"note {n}"}
        for n in range(450)
    ]
    result = live()
    assert len(result.events) == 450
    cursors = [params.get("cursor") for method, params in fake.requests if method == "conversations.history"]
    assert cursors == [None, "200", "400"]


def test_429_waits_as_retry_after_says(live: Any, fake: FakeSlack, sleeps: list[float]) -> None:
    fake.rate_limits = ["3", "1"]
    result = live()
    assert sleeps == [3.0, 1.0]
    assert len(result.events) == 7


def test_429_retries_are_bounded(live: Any, fake: FakeSlack, sleeps: list[float]) -> None:
    fake.rate_limits = ["1"] * 10
    with pytest.raises(SourceError, match=r"rate limited.*or 2 retries were used up") as info:
        live('token = "env:SLACK_BOT_TOKEN"\nrate_limit_retries = 2\n')
    assert sleeps == [1.0, 1.0]
    check_secret_not_leaked("testtokenvalue", info.value)


def test_a_retry_after_longer_than_max_wait_is_not_slept_through(
    live: Any, fake: FakeSlack, sleeps: list[float]
) -> None:
    fake.rate_limits = ["60"]
    with pytest.raises(SourceError, match=r"Slack asked to wait 60 s, more than \[plugins.slack\] max_wait = 30"):
        live()
    assert sleeps == []


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("not_in_channel", "invite the app to the channel"),
        ("channel_not_found", "check \\[plugins.slack\\] channel"),
        ("missing_scope", "add the scope to the app"),
    ],
)
def test_slack_errors_say_what_to_do(live: Any, fake: FakeSlack, error: str, hint: str) -> None:
    fake.errors["conversations.history"] = error
    with pytest.raises(SourceError, match=f"Slack conversations.history: {error}; {hint}") as info:
        live()
    check_secret_not_leaked("testtokenvalue", info.value)


def test_a_wrong_token_is_an_error_that_never_shows_it(live: Any, fake: FakeSlack, kit: Any) -> None:
    fake.token = "xoxb-some-other-token"
    with structlog.testing.capture_logs() as logs, pytest.raises(SourceError, match="invalid_auth") as info:
        live()
    check_secret_not_leaked(kit.TOKEN, info.value, logs)


def test_users_slack_does_not_know_keep_their_id_and_are_counted(live: Any, fake: FakeSlack) -> None:
    del fake.users["U04DAVE"]
    result = live()
    (leaky,) = [e for e in result.events if "grafana" in e.summary]
    assert leaky.actor == "U04DAVE"
    assert [g.reason for g in result.gaps] == ["1 user(s) without a name (users.info)"]


def test_max_messages_bounds_the_reading_with_a_gap(live: Any) -> None:
    result = live('token = "env:SLACK_BOT_TOKEN"\nmax_messages = 3\n')
    assert len(result.events) <= 3
    assert any("stopped after 3 messages ([plugins.slack] max_messages)" in g.reason for g in result.gaps)


def test_without_the_incident_s_creation_time_the_history_is_not_read(live: Any, fake: FakeSlack, kit: Any) -> None:
    result = live(incident=kit.incident(created=None))
    assert not result.events and not fake.requests
    assert "no creation time" in result.gaps[0].reason


def test_the_channel_comes_from_the_incident_s_link_in_its_details(live: Any, fake: FakeSlack, kit: Any) -> None:
    """PagerDuty's raw external references, kept in the incident's details."""
    details = {"external_references": [{"summary": "Slack", "external_url": kit.LINK + "/p1234567890123456"}]}
    result = live(incident=kit.incident(links=(), details=details))
    assert len(result.events) == 7
    assert result.events[0].link.startswith("https://acme.slack.com/archives/")


def test_unconfigured_the_source_says_nothing(kit: Any) -> None:
    source = SlackSource()
    assert source.retroflow_timeline_source(kit.slack_config(source, ""), kit.incident()) is None


def test_the_source_contract_holds_live(fake: FakeSlack, kit: Any) -> None:
    with serve(fake) as base_url:
        source = SlackSource(base_url=base_url, sleep=lambda s: None)
        config = kit.slack_config(source, 'token = "env:SLACK_BOT_TOKEN"\n')
        result = check_source_contract(source, RetroRequest("INC-1042"), config, incident=kit.incident())
    assert len(result.events) == 7


def test_settings_errors_name_the_key(kit: Any) -> None:
    from retroflow import ConfigError

    source = SlackSource()
    with pytest.raises(ConfigError, match="workspace_url: expected an https:// URL"):
        kit.slack_config(source, 'workspace_url = "acme.slack.com"\n')
    with pytest.raises(ConfigError, match="token: expected an environment reference"):
        kit.slack_config(source, 'token = "xoxb-pasted-in"\n')
    assert kit.slack_config(source, 'key_reaction = ":rotating_light:"\n').settings_for("slack").key_reaction == (
        "rotating_light"
    )


def test_the_key_reaction_is_configurable(kit: Any, tmp_path: Path) -> None:
    messages = kit.incident_channel()
    messages[7]["reactions"] = [{"name": "rotating_light", "users": ["U03CAROL"], "count": 1}]
    folder = kit.write_export(tmp_path / "export", messages)
    default = kit.from_export(folder)
    chosen = kit.from_export(folder, 'key_reaction = ":rotating_light:"\n')
    marked = lambda r: sorted(e.details["ts"] for e in r.events if e.details.get("key_moment"))  # noqa: E731
    assert marked(default) == [kit.ts(3, 30)]
    assert marked(chosen) == [kit.ts(2, 30), kit.ts(3, 30)]


def test_alert_bots_picks_which_integrations_are_signals(kit: Any, tmp_path: Path) -> None:
    folder = kit.write_export(tmp_path / "export", kit.incident_channel())
    only_geekbot = kit.from_export(folder, 'alert_bots = ["Geekbot"]\n')
    bots = [e.details.get("bot") for e in only_geekbot.events if e.kind.value == "signal"]
    assert bots == ["Geekbot"]
    assert json.dumps([e.summary for e in only_geekbot.events]).count("Triggered") == 0


def test_names_failing_for_another_reason_are_a_gap_and_the_messages_stay(live: Any, fake: FakeSlack) -> None:
    fake.errors["users.info"] = "missing_scope"
    result = live()
    assert len(result.events) == 7
    assert [method for method, _ in fake.requests].count("users.info") == 1, "asked once, then not again"
    (gap,) = result.gaps
    assert "without a name (users.info): Slack users.info: missing_scope" in gap.reason
