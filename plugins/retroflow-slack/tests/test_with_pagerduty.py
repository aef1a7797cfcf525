"""With the PagerDuty source: the channel is the one the PagerDuty incident links to, the
window its creation and resolution (through the engine, both plugins as installed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from retroflow_slack import SlackSource

from retroflow import EventKind, RetroRequest
from retroflow.engine import build_retro
from retroflow.testing import make_config, make_plugins

pagerduty = pytest.importorskip("retroflow_pagerduty")
PD_FIXTURES = Path(pagerduty.__file__).parents[2] / "tests" / "fixtures"


def ts(hour: int, minute: int) -> str:
    return f"{int(datetime(2015, 10, 6, hour, minute, tzinfo=UTC).timestamp())}.000100"


def test_the_slack_source_reads_the_channel_the_pagerduty_incident_links_to(kit: Any, tmp_path: Path) -> None:
    if not (PD_FIXTURES / "pd_incident.spec.json").is_file():
        pytest.skip("the PagerDuty plugin's test fixtures are not installed here")
    # The spec's incident PT4KHLK (created 21:30:42, resolved 21:38:23), with its Slack
    # channel as an external reference in the summary/external_id/external_url shape.
    incident = json.loads((PD_FIXTURES / "pd_incident.spec.json").read_text())
    incident["external_references"] = [
        {"id": "PREF789", "type": "external_reference", "summary": "Slack #inc-mail",
         "external_id": "C0MAIL001", "external_url": "https://acme.slack.com/archives/C0MAIL001"},
    ]  # fmt: skip
    replies = tmp_path / "pagerduty"
    replies.mkdir()
    (replies / "incident.json").write_text(json.dumps({"incident": incident}))
    for name in ("log_entries", "alerts", "notes"):
        (replies / f"{name}.json").write_text(json.dumps({name: []}))
    export = tmp_path / "slack"
    (export / "inc-mail").mkdir(parents=True)
    (export / "channels.json").write_text(json.dumps([{"id": "C0MAIL001", "name": "inc-mail"}]))
    (export / "users.json").write_text(json.dumps([{"id": "U01ALICE", "name": "alice"}]))
    messages = [
        {"type": "message", "ts": ts(20, 0), "user": "U01ALICE", "text": "before the window"},
        {"type": "message", "ts": ts(21, 33), "user": "U01ALICE", "text": "I think the mail queue is stuck"},
        {"type": "message", "ts": ts(21, 36), "user": "U01ALICE", "text": "rolling back the mail relay config"},
        {"type": "message", "ts": ts(23, 0), "user": "U01ALICE", "text": "after the window"},
    ]
    (export / "inc-mail" / "2015-10-06.json").write_text(json.dumps(messages))

    plugins = make_plugins(("pagerduty", pagerduty.PagerDutySource()), SlackSource())
    config = make_config(
        f'[plugins.pagerduty]\nreplies = "{replies}"\nhistory_days = 0\n'
        f'[plugins.slack]\nexport = "{export}"\nmargin_minutes = 10\n',
        plugins=plugins,
    )
    retro = build_retro(RetroRequest("PT4KHLK"), plugins=plugins, config=config)
    slack = [e for e in retro.timeline.events if e.source == "slack"]
    assert [(e.kind, e.summary) for e in slack] == [
        (EventKind.MESSAGE, "I think the mail queue is stuck"),
        (EventKind.DECISION, "rolling back the mail relay config"),
    ]
    assert slack[0].link == f"https://acme.slack.com/archives/C0MAIL001/p{ts(21, 33).replace('.', '')}"
    assert not [g for g in retro.gaps if g.plugin == "slack"]
