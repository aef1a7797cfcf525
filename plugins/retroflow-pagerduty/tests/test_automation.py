"""The PagerDuty side of the automation against the fake API (httpx2.MockTransport): a
signed resolve drafted with the incident fetched live, the note on the incident (issue
10 item 5), and the incident feed ``retroflow watch`` polls (item 8)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from retroflow_pagerduty import PagerDutySource
from retroflow_pagerduty.feed import resolved_incidents
from retroflow_pagerduty.notes import add_note, note_text
from retroflow_pagerduty.webhooks import sign

from retroflow import DraftedRetro, SourceError, TimelineOwner
from retroflow.testing import build, make_config, make_incident, make_plugins, running_service

SECRET = "whsec-automation-5d2c"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PD_WEBHOOK_SECRET", SECRET)


def setup(kit: Any, sleeps: Any, tmp_path: Path, fake: Any, service: str = "", plugin: str = "") -> tuple[Any, Any]:
    source = PagerDutySource(transport=fake.transport, sleep=sleeps)
    plugins = make_plugins(source)
    text = (
        f'[retroflow]\ndatabase = "sqlite:///{tmp_path / "retroflow.db"}"\noutput = "out"\n'
        f"[service]\ndraft_delay = 0\n{service}\n"
        f'[plugins.pagerduty]\ntoken = "env:PAGERDUTY_TOKEN"\nhistory_days = 0\n'
        f'webhook_secrets = ["env:PD_WEBHOOK_SECRET"]\n{plugin}\n'
    )
    return make_config(text, plugins=plugins, base_dir=tmp_path), plugins


def resolve_body(kit: Any, incident_id: str, at: str) -> bytes:
    document = json.loads((kit.FIXTURES / "pd_webhook_v3_incident.resolved.zulip_fixture.json").read_bytes())
    document["event"]["data"]["id"] = incident_id
    document["event"]["occurred_at"] = at
    return json.dumps(document).encode()


def wait_done(server: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = server.service.jobs.jobs()
        if jobs and jobs[0].state in ("done", "failed"):
            return jobs[0]
        time.sleep(0.05)
    raise AssertionError(f"no job finished: {server.service.jobs.jobs()}")


def posted_notes(fake: Any) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.url.path.endswith("/notes")]


def test_a_signed_resolve_is_drafted_from_the_live_api_and_noted_on_the_incident(
    kit: Any, sleeps: Any, tmp_path: Path
) -> None:
    fake = kit.fake_account()
    service = 'pagerduty_note = true\nretro_url = "https://retros.example.com/{incident}"\n'
    config, plugins = setup(kit, sleeps, tmp_path, fake, service, 'from_email = "retro-bot@example.com"')
    with running_service(config, plugins, workers=1) as server:
        body = resolve_body(kit, "PT4KHLK", "2015-10-06T21:38:23.000Z")
        headers = {"X-PagerDuty-Signature": sign(body, SECRET), "X-Webhook-Id": "wh-1"}
        assert server.post("/webhooks/pagerduty", body, headers)[0] == 202
        job = wait_done(server)
    assert job.state == "done", job.last_error
    assert "PT4KHLK: stored version 1" in job.result and "told pagerduty" in job.result
    assert "/incidents/PT4KHLK/log_entries" in [r.url.path for r in fake.requests]  # fetched live
    markdown = (tmp_path / "out" / "PT4KHLK.md").read_text()
    assert markdown.startswith("# Retrospective: The server is on fire.")
    [note] = posted_notes(fake)
    assert note.headers["from"] == "retro-bot@example.com"
    content = json.loads(note.content)["note"]["content"]
    assert content.startswith(
        "[retroflow] Draft retro v1 of “The server is on fire.”: https://retros.example.com/PT4KHLK"
    )
    owner = markdown.split("**Timeline owner** ")[1].split(" (")[0]
    assert f"Timeline owner: {owner} (first to acknowledge)" in content


def drafted(version: int = 1, incident: str = "PT4KHLK", owner: TimelineOwner | None = None) -> DraftedRetro:
    retro = build(incident=make_incident(id=incident, title="Checkout down"))
    if owner is not None:
        import attrs

        retro = attrs.evolve(retro, timeline_owner=owner)
    at = datetime(2015, 10, 6, 21, 38, tzinfo=UTC)
    return DraftedRetro("pagerduty", incident, retro, version, at, "https://retros.example.com/x")


def test_no_note_unless_asked_for_and_only_on_pagerduty_incidents(kit: Any, sleeps: Any, tmp_path: Path) -> None:
    fake = kit.fake_account()
    config, plugins = setup(kit, sleeps, tmp_path, fake, plugin='from_email = "bot@example.com"')
    source = plugins.pm.get_plugin("pagerduty")
    source.retroflow_retro_drafted(drafted(), config)  # pagerduty_note is off by default
    noting, _ = setup(kit, sleeps, tmp_path, fake, "pagerduty_note = true", 'from_email = "bot@example.com"')
    other = DraftedRetro("opsgenie", "X", drafted().retro, 1, drafted().resolved_at)
    source.retroflow_retro_drafted(other, noting)
    assert posted_notes(fake) == []
    source.retroflow_retro_drafted(drafted(owner=TimelineOwner("Alice", "rota")), noting)
    assert len(posted_notes(fake)) == 1


def test_a_note_is_added_once_per_version(kit: Any, sleeps: Any, tmp_path: Path) -> None:
    fake = kit.fake_account()
    config, plugins = setup(kit, sleeps, tmp_path, fake, "pagerduty_note = true", 'from_email = "bot@example.com"')
    api = plugins.pm.get_plugin("pagerduty").api
    settings = config.settings_for("pagerduty")
    assert add_note(settings, drafted(1), api=api) is True
    assert add_note(settings, drafted(1), api=api) is False  # the job ran again: no second note
    assert add_note(settings, drafted(2), api=api) is True  # a re-draft after a reopen
    assert len(posted_notes(fake)) == 2


def test_the_note_without_a_timeline_owner_or_a_link_still_says_where_and_who() -> None:
    draft = DraftedRetro("pagerduty", "PT4KHLK", drafted().retro, 3, drafted().resolved_at, None)
    text = note_text(draft)
    assert text.startswith("[retroflow] Draft retro v3 of “Checkout down”: stored: retroflow show PT4KHLK")
    assert "nobody acknowledged" in text


def test_a_note_without_from_email_or_refused_is_an_error_naming_what_to_fix(
    kit: Any, sleeps: Any, tmp_path: Path
) -> None:
    fake = kit.fake_account()
    config, plugins = setup(kit, sleeps, tmp_path, fake, "pagerduty_note = true")
    api = plugins.pm.get_plugin("pagerduty").api
    with pytest.raises(SourceError, match=r"needs \[plugins.pagerduty\] from_email"):
        add_note(config.settings_for("pagerduty"), drafted(), api=api)
    config, plugins = setup(kit, sleeps, tmp_path, fake, "pagerduty_note = true", 'from_email = "bot@example.com"')
    from retroflow_pagerduty.testing import reply

    fake.script("/incidents/PT4KHLK/notes", reply(200, {"notes": []}), reply(403, {"error": {"message": "Forbidden"}}))
    with pytest.raises(SourceError, match=r"refused the note on incident PT4KHLK \(HTTP 403\): Forbidden"):
        add_note(config.settings_for("pagerduty"), drafted(), api=api)


# -- the incident feed ------------------------------------------------------------------


def incident(kit: Any, incident_id: str, created: datetime, resolved: datetime | None) -> dict[str, Any]:
    spec = kit.spec_incident()
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        **spec,
        "id": incident_id,
        "created_at": created.strftime(stamp),
        "status": "resolved" if resolved else "acknowledged",
        "resolved_at": resolved.strftime(stamp) if resolved else None,
    }


def test_the_feed_lists_incidents_resolved_in_the_window(kit: Any, sleeps: Any, tmp_path: Path) -> None:
    from retroflow_pagerduty.testing import FakePagerDuty

    now = datetime(2026, 11, 7, 12, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    fake = FakePagerDuty(
        [
            incident(kit, "PIN1", now - 20 * 24 * hour, now - 2 * hour),  # open for weeks
            incident(kit, "PIN2", now - 3 * hour, now - 1 * hour),
            incident(kit, "POLD", now - 30 * hour, now - 26 * hour),  # resolved before the window
            incident(kit, "POPEN", now - 2 * hour, None),
            incident(kit, "PLATE", now - hour, now + hour),  # after the window
        ],
        token=kit.TOKEN,
    )
    config, plugins = setup(kit, sleeps, tmp_path, fake)
    [feed] = [plugins.incident_feeds.get(name) for name in plugins.incident_feeds.names()]
    events = feed.resolved_between(now - 24 * hour, now, config)
    assert [(e.incident_id, e.occurred_at) for e in events] == [("PIN2", now - hour), ("PIN1", now - 2 * hour)]
    assert events[0].event_id == "PIN2:resolved:2026-11-07T11:00:00Z" and events[0].service == "My Mail Service"
    [request] = fake.requests
    params = request.url.params
    assert params.get_list("statuses[]") == ["resolved"] and params["time_zone"] == "UTC"
    assert params["sort_by"] == "resolved_at:desc" and params["until"] == "2026-11-07T12:00:00Z"
    assert params["since"] == "2026-10-07T12:00:00Z"  # 30 days before the window: long incidents


def test_the_feed_stops_paging_at_the_first_resolve_before_the_window(kit: Any, sleeps: Any, tmp_path: Path) -> None:
    from retroflow_pagerduty.testing import FakePagerDuty

    now = datetime(2026, 11, 7, 12, 0, tzinfo=UTC)
    many = [incident(kit, f"P{n:04d}", now - timedelta(days=5), now - timedelta(minutes=n)) for n in range(1, 451)]
    fake = FakePagerDuty(many, token=kit.TOKEN)
    config, plugins = setup(kit, sleeps, tmp_path, fake)
    api = plugins.pm.get_plugin("pagerduty").api(config.settings_for("pagerduty"))
    events = list(resolved_incidents(api, now - timedelta(minutes=150), now))
    assert len(events) == 150
    assert len(fake.requests) == 2, "pages of older resolves are not read"


def test_a_resolve_webhooked_and_polled_is_drafted_once(kit: Any, sleeps: Any, tmp_path: Path) -> None:
    from retroflow.service.poller import poll_once

    fake = kit.fake_account()
    config, plugins = setup(kit, sleeps, tmp_path, fake, "poll_lookback = 315360000")
    with running_service(config, plugins) as server:
        body = resolve_body(kit, "PT4KHLK", "2015-10-06T21:38:23.412Z")
        assert server.post("/webhooks/pagerduty", body, {"X-PagerDuty-Signature": sign(body, SECRET)})[0] == 202
        now = datetime(2015, 10, 7, tzinfo=UTC)
        [result] = poll_once(config, plugins, server.service.database, server.service.jobs, now=now)
        assert result.outcomes == {"same resolve": 1}
        assert len(server.service.jobs.jobs()) == 1
