"""``retroflow watch``: polling incident feeds from a stored checkpoint; webhook and poll
together still draft once per resolve (issue 10 item 8)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from retroflow import IncidentEvent, Lifecycle
from retroflow import cli as cli_module
from retroflow.plugins import get_plugin_manager
from retroflow.service.database import open_service_database
from retroflow.service.jobs import TableJobs
from retroflow.service.poller import OVERLAP, checkpoint, poll_once
from retroflow.testing import running_service


def resolved(incident: str, at: Any, event_id: str | None = None) -> IncidentEvent:
    return IncidentEvent("demo", incident, Lifecycle.RESOLVED, at, event_id or f"{incident}:resolved:{at.isoformat()}")


@pytest.fixture
def polling(db_url: str, configure: Any) -> Any:
    config, plugins = configure(db_url, "draft_delay = 0\npoll_lookback = 3600\n")
    database = open_service_database(config)
    yield config, plugins, database, TableJobs(database)
    database.close()


def test_the_first_poll_looks_back_and_later_polls_start_at_the_checkpoint(polling: Any, demo: Any, kit: Any) -> None:
    config, plugins, database, jobs = polling
    now = kit.T0 + timedelta(minutes=30)
    demo.feed.resolved = [resolved("OLD", now - timedelta(hours=2)), resolved("NEW", now - timedelta(minutes=20))]
    [result] = poll_once(config, plugins, database, jobs, now=now)
    assert (result.since, result.until) == (now - timedelta(hours=1), now)
    assert result.outcomes == {"scheduled": 1}
    assert [j.payload["incident_id"] for j in jobs.jobs("queued")] == ["NEW"]
    assert checkpoint(database, "demo") == now - OVERLAP
    later = now + timedelta(minutes=5)
    [again] = poll_once(config, plugins, database, jobs, now=later)
    assert again.since == now - OVERLAP
    assert again.outcomes == {}  # NEW was resolved before this window


def test_a_resolve_listed_by_two_overlapping_polls_is_a_duplicate(polling: Any, demo: Any, kit: Any) -> None:
    config, plugins, database, jobs = polling
    now = kit.T0 + timedelta(minutes=30)
    demo.feed.resolved = [resolved("A", now - timedelta(minutes=1))]
    poll_once(config, plugins, database, jobs, now=now)
    [again] = poll_once(config, plugins, database, jobs, now=now + timedelta(minutes=2))
    assert again.outcomes == {"duplicate": 1}
    assert len(jobs.jobs()) == 1


def test_a_feed_that_fails_keeps_its_checkpoint(polling: Any, demo: Any, kit: Any) -> None:
    config, plugins, database, jobs = polling

    def down(since: Any, until: Any, config: Any) -> Any:
        raise ConnectionError("feed down")

    demo.feed.resolved_between = down
    [result] = poll_once(config, plugins, database, jobs, now=kit.T0)
    assert result.error == "ConnectionError: feed down"
    assert checkpoint(database, "demo") is None


def test_a_resolve_both_webhooked_and_polled_is_drafted_once(
    sqlite_url: str, configure: Any, demo: Any, kit: Any
) -> None:
    config, plugins = configure(sqlite_url, "draft_delay = 600\n")
    with running_service(config, plugins) as server:
        body = kit.delivery("webhook-ev-1", "resolved", "INC-5", at=kit.T0)
        assert server.post("/webhooks/demo", body, kit.signed(body))[0] == 202
        # PagerDuty's resolved_at and the webhook's occurred_at need not be equal to the ms
        demo.feed.resolved = [resolved("INC-5", kit.T0 + timedelta(seconds=1))]
        [result] = poll_once(
            config, plugins, server.service.database, server.service.jobs, now=kit.T0 + timedelta(minutes=5)
        )
        assert result.outcomes == {"same resolve": 1}
        assert len(server.service.jobs.jobs()) == 1


def test_watch_once_on_the_command_line(
    sqlite_url: str, configure: Any, demo: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    from datetime import UTC, datetime

    demo.feed.resolved = [resolved("INC-8", datetime.now(UTC) - timedelta(minutes=3))]
    (tmp_path / "retroflow.toml").write_text(f'[retroflow]\ndatabase = "{sqlite_url}"\n[service]\ndraft_delay = 0\n')
    obj = {"plugin_manager_factory": lambda **kw: get_plugin_manager(extra_plugins=[("demo", demo)], **kw)}
    result = CliRunner().invoke(
        cli_module.cli, ["--config", str(tmp_path / "retroflow.toml"), "watch", "--once"], obj=obj
    )
    assert result.exit_code == 0, result.output
    assert "retroflow: demo " in result.stderr and ": 1 scheduled" in result.stderr
    jobs = CliRunner().invoke(cli_module.cli, ["--config", str(tmp_path / "retroflow.toml"), "jobs", "--json"])
    [job] = __import__("json").loads(jobs.stdout)
    assert (job["state"], job["payload"]["incident_id"]) == ("queued", "INC-8")


def test_watch_without_a_configured_feed_says_so(tmp_path: Any) -> None:
    result = CliRunner().invoke(cli_module.cli, ["watch", "--once"])
    assert result.exit_code == 2
    assert "no incident feed is configured (feeds: none installed)" in result.stderr
