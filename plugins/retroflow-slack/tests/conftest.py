"""Shared fixtures: an incident channel (our own, covering every case the source types),
Slack's and other projects' published payloads, a fake Web API, an export writer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from retroflow_slack import SlackSource
from retroflow_slack.testing import FakeSlack, serve

from retroflow import Config, Incident, RetroRequest, SourceResult
from retroflow.testing import config_for

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "xoxb-1111-2222-testtokenvalue"
CHANNEL = "C0INC1042"
CREATED = datetime(2026, 11, 7, 2, 19, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 7, 3, 32, tzinfo=UTC)
LINK = f"https://acme.slack.com/archives/{CHANNEL}"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def ts(hour: int, minute: int, micro: int = 0) -> str:
    at = datetime(2026, 11, 7, hour, minute, tzinfo=UTC)
    return f"{int(at.timestamp())}.{micro:06d}"


USERS: dict[str, dict[str, Any]] = {
    "U01ALICE": {"id": "U01ALICE", "name": "alice", "profile": {"display_name": "alice", "real_name": "Alice Ng"}},
    "U02BOB": {"id": "U02BOB", "name": "bstone", "profile": {"display_name": "", "real_name": "Bob Stone"}},
    "U03CAROL": {"id": "U03CAROL", "name": "carol", "profile": {"display_name": "Carol", "real_name": "Carol Diaz"}},
    "U04DAVE": {"id": "U04DAVE", "name": "dave", "profile": {"display_name": "dave", "real_name": "Dave Ito"}},
    "U09DDOG": {"id": "U09DDOG", "name": "datadog", "is_bot": True, "profile": {"real_name": "Datadog"}},
}


def incident_channel() -> list[dict[str, Any]]:
    """An incident channel as Slack stores it: replies in it, noise, bots, pins."""
    return [
        {"type": "message", "ts": ts(1, 0), "user": "U01ALICE", "text": "quiet night before, out of the window"},
        {"type": "message", "subtype": "channel_join", "ts": ts(2, 15), "user": "U01ALICE",
         "text": "<@U01ALICE> has joined the channel"},
        {"type": "message", "subtype": "channel_topic", "ts": ts(2, 16), "user": "U01ALICE",
         "text": "set the channel topic: checkout errors", "topic": "checkout errors"},
        {"type": "message", "subtype": "bot_message", "ts": ts(2, 19), "bot_id": "B0DDOG", "username": "Datadog",
         "text": "", "attachments": [{"id": 1, "fallback": "[Triggered] Checkout 5xx rate > 5% on checkout",
                                      "title": "[Triggered] Checkout 5xx rate > 5%"}]},
        {"type": "message", "ts": ts(2, 20), "bot_id": "B0GEEK", "user": "U09GEEK",
         "bot_profile": {"name": "Geekbot"}, "text": "Standup time! What did you do yesterday?"},
        {"type": "message", "ts": ts(2, 21), "user": "U01ALICE", "thread_ts": ts(2, 21), "reply_count": 1,
         "text": "<@U02BOB> I think it's payments-api, looks like its latency spiked"},
        {"type": "message", "ts": ts(2, 24), "user": "U02BOB", "thread_ts": ts(2, 21), "parent_user_id": "U01ALICE",
         "text": "payments dashboard looks green to me &amp; p99 is flat"},
        {"type": "message", "ts": ts(2, 30), "user": "U01ALICE",
         "text": "Let's roll back payments-api because the 01:52 deploy changed its client pool",
         "reactions": [{"name": "pushpin", "users": ["U03CAROL"], "count": 1}]},
        {"type": "message", "ts": ts(2, 45), "user": "U03CAROL",
         "text": "Rollback done, errors still there.\nThe checkout v2.14.0 deploy cut the pool to 5, so we're reverting checkout",
         "edited": {"user": "U03CAROL", "ts": ts(2, 46)}},
        {"type": "message", "ts": ts(3, 0), "user": "U04DAVE",
         "text": "grafana token is xoxp-1234-5678-abcdef, try <https://admin:hunter2@grafana.example.com/d/1|the board>"},
        {"type": "message", "ts": ts(3, 10), "user": "USLACKBOT", "text": "Reminder: update the status page."},
        {"type": "message", "subtype": "pinned_item", "ts": ts(3, 29), "user": "U03CAROL",
         "text": "<@U03CAROL> pinned a message to this channel."},
        {"type": "message", "ts": ts(3, 30), "user": "U03CAROL", "text": "Checkout is healthy again",
         "pinned_to": [CHANNEL]},
        {"type": "message", "ts": ts(5, 0), "user": "U01ALICE", "text": "lunch? (after the window)"},
    ]  # fmt: skip


def incident(**fields: Any) -> Incident:
    values: dict[str, Any] = {
        "id": "INC-1042",
        "title": "Checkout card payments failing",
        "services": ("checkout", "payments-api"),
        "created": CREATED,
        "resolved": RESOLVED,
        "links": (LINK,),
    }
    values.update(fields)
    return Incident(**values)


default_incident = incident


def write_export(folder: Path, messages: list[dict[str, Any]], *, name: str = "inc-1042") -> Path:
    """A workspace export of one channel: one file per (UTC) day, as Slack writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "channels.json").write_text(json.dumps([{"id": CHANNEL, "name": name}]), encoding="utf-8")
    (folder / "users.json").write_text(json.dumps(list(USERS.values())), encoding="utf-8")
    days: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        day = datetime.fromtimestamp(float(message["ts"]), UTC).date().isoformat()
        days.setdefault(day, []).append(message)
    (folder / name).mkdir(exist_ok=True)
    for day, items in days.items():
        (folder / name / f"{day}.json").write_text(json.dumps(items, indent=1), encoding="utf-8")
    return folder


class Sleeps(list[float]):
    """A ``sleep`` that records how long it was asked to wait, and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def token_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fake() -> FakeSlack:
    return FakeSlack({CHANNEL: incident_channel()}, USERS, token=TOKEN)


@pytest.fixture
def live(fake: FakeSlack, sleeps: Sleeps) -> Iterator[Callable[..., SourceResult | None]]:
    """``live(toml=..., incident=...)``: collect from the fake Web API."""
    with serve(fake) as base_url:

        def collect(toml: str = 'token = "env:SLACK_BOT_TOKEN"\n', incident: Incident | None = None) -> Any:
            source = SlackSource(base_url=base_url, sleep=sleeps)
            config = slack_config(source, toml)
            return source.retroflow_timeline_source(config, incident or default_incident())

        yield collect


def slack_config(source: SlackSource, table: str, base_dir: Path | None = None) -> Config:
    return config_for(source, "[plugins.slack]\n" + table, base_dir)


def from_export(folder: Path, extra: str = "", incident_: Incident | None = None) -> SourceResult:
    source = SlackSource()
    config = slack_config(source, f'export = "{folder}"\n{extra}')
    result = source.retroflow_timeline_source(config, incident_ or incident())
    assert result is not None
    return result


#: The request the tests build retros for.
request = RetroRequest("INC-1042")
