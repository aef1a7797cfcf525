"""End to end: a stored retro exported to Jira through retroflow's outbox, then synced.

Uses ``retroflow.store`` (``open_store``, ``export_actions``, ``sync_status``), which is
not part of ``retroflow.__all__``; these tests check the sink against the real outbox.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses
import retroflow_jira
from retroflow_jira import JiraSink

from retroflow import TicketDraft
from retroflow.store import open_store
from retroflow.store.exports import export_actions, export_key, sync_status
from retroflow.testing import make_config, make_plugins

from .fake_jira import BULK, SEARCH, SITE

CONFIG = f"""
[plugins.jira]
url = "{SITE}"
email = "bot@example.com"
token = "env:JIRA_TOKEN"
project = "OPS"
remote_link = false
"""


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str, retro_with: Any, sleep: Any) -> Any:
    monkeypatch.setenv("JIRA_TOKEN", token)
    store = open_store(f"sqlite:///{tmp_path / 'retroflow.db'}")
    store.save_retro(retro_with(3), request_ref="CHK-1042")
    config = make_config(CONFIG, plugins=make_plugins(retroflow_jira, default_plugins=False))
    yield store, JiraSink(sleep=sleep), config
    store.close()


def created(keys: list[str], start: int = 0) -> dict[str, Any]:
    return {
        "issues": [
            {"id": str(10000 + start + i), "key": f"OPS-{start + i + 1}", "self": "x"} for i in range(len(keys))
        ],
        "errors": [],
    }


def test_an_export_creates_each_ticket_once_carrying_the_outbox_key(
    setup: Any, mocked: responses.RequestsMock, sleep: Any
) -> None:
    store, sink, config = setup
    mocked.post(BULK, json=created(["a", "b", "c"]), status=201)

    report = export_actions(store, "CHK-1042", sink, config, sleep=sleep)
    again = export_actions(store, "CHK-1042", sink, config, sleep=sleep)

    assert report.counts() == {"created": 3}
    assert again.counts() == {"already exported": 3}
    (call,) = mocked.calls  # the second run sent nothing
    labels = [u["fields"]["labels"] for u in json.loads(call.request.body)["issueUpdates"]]
    key = export_key("CHK-1042", "act000", "jira")
    assert labels[0] == ["retroflow", key]  # the outbox key is the label, not prefixed twice
    assert [item.external_id for item in report.items] == ["10000", "10001", "10002"]


def test_an_ambiguous_failure_is_reconciled_by_key_without_a_second_create(
    setup: Any, mocked: responses.RequestsMock, sleep: Any
) -> None:
    store, sink, config = setup
    mocked.post(BULK, status=504)  # the gateway gave up; Jira may have created them

    first = export_actions(store, "CHK-1042", sink, config, sleep=sleep)

    assert first.counts() == {"needs reconcile": 3}

    def search(request: Any) -> tuple[int, dict[str, str], str]:
        label = parse_qs(urlparse(request.url).query)["jql"][0].split('"')[1]
        n = {export_key("CHK-1042", f"act00{i}", "jira"): i for i in range(3)}[label]
        issues = [{"id": str(20000 + n), "key": f"OPS-{n + 40}"}]
        return 200, {}, json.dumps({"isLast": True, "issues": issues})

    mocked.add_callback(responses.GET, SEARCH, callback=search)
    second = export_actions(store, "CHK-1042", sink, config, sleep=sleep)

    assert second.counts() == {"reconciled": 3}
    assert [c.request.method for c in mocked.calls].count("POST") == 1  # never created twice
    assert [item.url for item in second.items] == [f"{SITE}/browse/OPS-{n}" for n in (40, 41, 42)]


def test_dry_run_shows_the_body_a_create_would_send(setup: Any, mocked: responses.RequestsMock) -> None:
    store, sink, config = setup

    report = export_actions(store, "CHK-1042", sink, config, dry_run=True)

    assert report.counts() == {"would create": 3}
    retro = store.latest_retro("CHK-1042")
    draft = TicketDraft(key=export_key("CHK-1042", "act000", "jira"), action=retro.actions[0], retro=retro)
    assert report.items[0].preview == sink.open(config).preview(draft)
    assert not mocked.calls


def test_status_sync_stores_the_jira_state(setup: Any, mocked: responses.RequestsMock, sleep: Any) -> None:
    store, sink, config = setup
    mocked.post(BULK, json=created(["a", "b", "c"]), status=201)
    export_actions(store, "CHK-1042", sink, config, sleep=sleep)
    done = {"status": {"statusCategory": {"key": "done"}}, "resolution": {"name": "Done"}}
    done["statuscategorychangedate"] = "2026-11-20T09:30:00.000+0000"
    issues = [
        {"id": "10000", "key": "OPS-1", "fields": done},
        {"id": "10001", "key": "OPS-2", "fields": {"status": {"statusCategory": {"key": "indeterminate"}}}},
        {"id": "10002", "key": "OPS-3", "fields": {"status": {"statusCategory": {"key": "new"}}}},
    ]
    mocked.get(SEARCH, json={"isLast": True, "issues": issues})

    report = sync_status(store, [sink], config)

    assert report.errors == () and report.updated == 3
    assert sorted(link.state for link in store.links(["jira"])) == ["done", "in progress", "open"]


class Killed(BaseException):
    """The export's process dying (nothing in retroflow catches it)."""


def test_a_create_sent_after_a_long_rate_limit_is_not_created_again_after_a_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str, retro_with: Any, mocked: responses.RequestsMock
) -> None:
    from datetime import UTC, datetime, timedelta

    clock = [datetime(2026, 11, 25, 12, 0, tzinfo=UTC)]

    def now() -> datetime:
        return clock[0]

    def wait(seconds: float) -> None:
        clock[0] += timedelta(seconds=seconds)

    monkeypatch.setenv("JIRA_TOKEN", token)
    store = open_store(f"sqlite:///{tmp_path / 'retroflow.db'}")
    store.save_retro(retro_with(3), request_ref="CHK-1042")
    config = make_config(CONFIG, plugins=make_plugins(retroflow_jira, default_plugins=False))
    sink = JiraSink(sleep=wait, clock=now)
    made: list[datetime] = []

    def bulk(request: Any) -> tuple[int, dict[str, str], str]:
        if clock[0] < datetime(2026, 11, 25, 12, 0, 50, tzinfo=UTC):  # rate limited for 50 s
            return 429, {"Retry-After": "25"}, ""
        made.append(clock[0])
        return 201, {}, json.dumps(created(["a", "b", "c"]))

    def search(request: Any) -> tuple[int, dict[str, str], str]:
        # Jira Cloud search shows a new issue only some time (here 120 s) after it was made.
        label = parse_qs(urlparse(request.url).query)["jql"][0].split('"')[1]
        n = {export_key("CHK-1042", f"act00{i}", "jira"): i for i in range(3)}[label]
        visible = made and clock[0] - made[0] >= timedelta(seconds=sink.search_lag)
        issues = [{"id": str(10000 + n), "key": f"OPS-{n + 1}"}] if visible else []
        return 200, {}, json.dumps({"isLast": True, "issues": issues})

    mocked.add_callback(responses.POST, BULK, callback=bulk)
    mocked.add_callback(responses.GET, SEARCH, callback=search)

    def kill_after_send(stage: str) -> None:
        if stage == "sent":
            raise Killed

    with pytest.raises(Killed):  # the issues exist; the export died before recording them
        export_actions(store, "CHK-1042", sink, config, sleep=wait, now=now, checkpoint=kill_after_send)
    assert len(made) == 1 and made[0] - datetime(2026, 11, 25, 12, 0, tzinfo=UTC) == timedelta(seconds=50)
    wait(75)  # 125 s after the claim, 75 s after the create
    rerun = export_actions(store, "CHK-1042", sink, config, sleep=wait, now=now, reclaim=True)
    assert rerun.counts() == {"waiting for search lag": 3}
    wait(50)
    last = export_actions(store, "CHK-1042", sink, config, sleep=wait, now=now)
    assert last.counts() == {"reconciled": 3}
    assert len(made) == 1, "every action has exactly one ticket"
    store.close()


def test_jira_echoing_the_credentials_leaks_them_nowhere_an_error_is_kept(
    setup: Any, mocked: responses.RequestsMock, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from click.testing import CliRunner

    from retroflow.cli import cli

    store, sink, config = setup
    basic = base64.b64encode(f"bot@example.com:{token}".encode()).decode()
    from urllib.parse import quote

    said = [f"Bad header value {basic} for this site", f"request /rest?token={quote(token, safe='')}"]
    # The third message puts the token across the 300-character cut of Jira's error text.
    said.append("x" * (290 - len("; ".join(said)) - 2) + token)
    echo = {"errorMessages": said}
    mocked.post(BULK, json=echo, status=400)

    report = export_actions(store, "CHK-1042", sink, config)

    kept = [*(item.error or "" for item in report.items), *(row.last_error or "" for row in store.export_rows())]
    assert kept and all("Bad header value [redacted]" in text for text in kept)
    monkeypatch.setenv("RETROFLOW_DATABASE", str(store.engine.url))
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", "jira")
    (tmp_path / "retroflow.toml").write_text(CONFIG, encoding="utf-8")
    args = ["--config", str(tmp_path / "retroflow.toml"), "export", "CHK-1042", "--sink", "jira"]
    results = [CliRunner().invoke(cli, args), CliRunner().invoke(cli, [*args, "--json"])]
    assert [r.exit_code for r in results] == [1, 1]
    outputs = [r.stdout + r.stderr for r in results]
    assert all("Bad header value [redacted]" in text for text in outputs)
    for text in [*kept, *outputs]:
        assert basic[:-4] not in text and basic[-12:-2] not in text
        assert token[:8] not in text and quote(token, safe="")[:8] not in text, "no part of the token"
