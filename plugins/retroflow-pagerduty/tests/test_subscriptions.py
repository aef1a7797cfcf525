"""``retroflow pagerduty subscribe`` / ``subscriptions`` against a fake API built from the
spec's webhook subscription schemas and examples (``fixtures/spec_webhook_subscriptions.json``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx2
import pytest
import structlog
from click.testing import CliRunner, Result
from retroflow_pagerduty import PagerDutySource
from retroflow_pagerduty.subscriptions import EVENTS
from retroflow_pagerduty.testing import reply
from retroflow_pagerduty.testing_subscriptions import FakeSubscriptions

import retroflow.cli as cli_module
from retroflow.plugins import get_plugin_manager

URL = "https://retro.example.com/webhooks/pagerduty"
READ_ONLY = "read-only-key-9876543210"
CREATE = "POST /webhook_subscriptions"
CONFIG = '[plugins.pagerduty]\ntoken = "env:PAGERDUTY_TOKEN"\n'

#: Every incident event type PagerDuty's developer docs list for webhooks V3
#: (PagerDuty/developer-docs docs/webhooks/01-Overview.md, see shared/reference/RESEARCH.md §1.2).
DOCUMENTED_INCIDENT_EVENTS = {
    "incident.acknowledged", "incident.annotated", "incident.conference_bridge.updated",
    "incident.custom_field_values.updated", "incident.delegated", "incident.escalated",
    "incident.incident_type.changed", "incident.priority_updated", "incident.reassigned", "incident.reopened",
    "incident.resolved", "incident.responder.added", "incident.responder.replied", "incident.role.assigned",
    "incident.service_updated", "incident.status_update_published", "incident.task.completed",
    "incident.task.created", "incident.task.updated", "incident.triggered", "incident.unacknowledged",
    "incident.action_invocation.created", "incident.action_invocation.terminated",
    "incident.action_invocation.updated", "incident.workflow.started", "incident.workflow.completed",
}  # fmt: skip


def listed_example(kit, **changes):
    """The spec's listed subscription (``ListSubscriptionExample``), changed."""
    subscription = kit.load("spec_webhook_subscriptions.json")["examples"]["ListSubscriptionExample"]
    subscription = json.loads(json.dumps(subscription["webhook_subscriptions"][0]))
    for key, value in changes.items():
        if key == "url":
            subscription["delivery_method"]["url"] = value
        elif key == "disabled":
            subscription["delivery_method"]["temporarily_disabled"] = value
        else:
            subscription[key] = value
    return subscription


@pytest.fixture
def fake(kit) -> FakeSubscriptions:
    return FakeSubscriptions(token=kit.TOKEN, read_only_token=READ_ONLY)


@pytest.fixture
def run(fake, sleeps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``run(*args)``: ``retroflow pagerduty ARGS`` with the plugin on the fake API."""

    def manager(**kwargs):
        source = PagerDutySource(transport=fake.transport, sleep=sleeps)
        return get_plugin_manager(load_entrypoints=False, extra_plugins=[source], **kwargs)

    config = tmp_path / "retroflow.toml"
    config.write_text(CONFIG, encoding="utf-8")

    def invoke(*args: str, config_text: str | None = None) -> Result:
        if config_text is not None:
            config.write_text(config_text, encoding="utf-8")
        return CliRunner().invoke(
            cli_module.cli, ["--config", str(config), "pagerduty", *args], obj={"plugin_manager_factory": manager}
        )

    invoke.config = config
    return invoke


def created_requests(fake):
    return [
        json.loads(r.content)["webhook_subscription"] for r in fake.requests if f"{r.method} {r.url.path}" == CREATE
    ]


# -- subscribe ------------------------------------------------------------------------------


def test_subscribe_creates_a_subscription_prints_its_secret_once_and_pings(fake, run):
    result = run("subscribe", "--url", URL)
    assert result.exit_code == 0, result.output + result.stderr
    (made,) = fake.subscriptions
    (sent,) = created_requests(fake)
    assert sent["delivery_method"] == {"type": "http_delivery_method", "url": URL}
    assert sent["filter"] == {"type": "account_reference"}
    assert sent["events"] == list(EVENTS) and {"incident.resolved", "incident.reopened"} <= set(sent["events"])
    assert sent["description"].startswith("retroflow")
    secret = fake.secrets[made["id"]]
    assert result.stdout.count(secret) == 1
    assert f"PAGERDUTY_WEBHOOK_SECRET={secret}" in result.stdout
    assert 'webhook_secrets = ["env:PAGERDUTY_WEBHOOK_SECRET"]' in result.stdout
    assert fake.pings == [made["id"]]
    assert f"test delivery (pagey.ping) for {made['id']}" in result.stdout
    assert f"retroflow pagerduty subscriptions --ping {made['id']}" in result.stdout and "--enable ID" in result.stdout


def test_the_events_are_documented_webhook_event_types():
    assert set(EVENTS) <= DOCUMENTED_INCIDENT_EVENTS
    assert len(set(EVENTS)) == len(EVENTS)


def test_a_subscription_sends_every_event_that_moves_an_incident_lifecycle():
    """The intake starts and cancels drafts on these: a subscription without one of them
    would leave a resolve or a reopen unseen."""
    from retroflow_pagerduty.webhooks import LIFECYCLE

    assert set(LIFECYCLE) <= set(EVENTS)


def test_one_subscription_per_service_and_team_each_with_its_own_secret(fake, run):
    result = run("subscribe", "--url", URL, "--service", "PSVC1", "--service", "PSVC2", "--team", "PTEAM1")
    assert result.exit_code == 0, result.stderr
    assert [s["filter"] for s in fake.subscriptions] == [
        {"type": "service_reference", "id": "PSVC1"},
        {"type": "service_reference", "id": "PSVC2"},
        {"type": "team_reference", "id": "PTEAM1"},
    ]
    for made, name in zip(fake.subscriptions, ["PSVC1", "PSVC2", "PTEAM1"], strict=True):
        assert result.stdout.count(fake.secrets[made["id"]]) == 1
        assert f"PAGERDUTY_WEBHOOK_SECRET_{name}={fake.secrets[made['id']]}" in result.stdout
    assert (
        'webhook_secrets = ["env:PAGERDUTY_WEBHOOK_SECRET_PSVC1", "env:PAGERDUTY_WEBHOOK_SECRET_PSVC2", '
        '"env:PAGERDUTY_WEBHOOK_SECRET_PTEAM1"]'
    ) in result.stdout
    assert len(fake.pings) == 3


def test_a_url_already_subscribed_for_the_same_filter_is_refused_without_replace(kit, fake, run):
    fake.subscriptions.append(listed_example(kit, url=URL, id="POLD001"))  # service P393ZNQ
    result = run("subscribe", "--url", URL, "--service", "P393ZNQ")
    assert result.exit_code == 1
    assert "already has a webhook subscription for service P393ZNQ (subscription POLD001, active)" in result.stderr
    assert "--replace" in result.stderr and "new signing secret" in result.stderr
    assert created_requests(fake) == [] and fake.pings == []


def test_replace_makes_a_new_subscription_then_deletes_the_old_one(kit, fake, run):
    fake.subscriptions.append(listed_example(kit, url=URL + "/", id="POLD001"))  # a trailing / is the same URL
    result = run("subscribe", "--url", URL, "--service", "P393ZNQ", "--replace")
    assert result.exit_code == 0, result.stderr
    (made,) = fake.subscriptions
    assert made["id"] != "POLD001" and made["filter"] == {"type": "service_reference", "id": "P393ZNQ"}
    methods = [f"{r.method} {r.url.path}" for r in fake.requests]
    assert methods.index(CREATE) < methods.index("DELETE /webhook_subscriptions/POLD001")  # never without one
    assert "Deleted subscription POLD001" in result.stdout
    assert result.stdout.count(fake.secrets[made["id"]]) == 1


def test_another_filter_for_a_subscribed_url_needs_add(kit, fake, run):
    fake.subscriptions.append(listed_example(kit, url=URL, id="POLD001"))
    refused = run("subscribe", "--url", URL, "--team", "PTEAM1")
    assert refused.exit_code == 1
    assert "already receives PagerDuty webhooks from service P393ZNQ (subscription POLD001" in refused.stderr
    assert "--add" in refused.stderr and created_requests(fake) == []
    added = run("subscribe", "--url", URL, "--team", "PTEAM1", "--add")
    assert added.exit_code == 0, added.stderr
    assert fake.subscriptions[0]["id"] == "POLD001"  # kept
    assert "PAGERDUTY_WEBHOOK_SECRET_PTEAM1=" in added.stdout
    assert "Keep the secrets of the subscriptions to this URL that stay (POLD001: service P393ZNQ)" in added.stdout


def test_subscriptions_to_other_urls_do_not_matter(kit, fake, run):
    fake.subscriptions.append(listed_example(kit))  # https://example.com/receive_a_pagerduty_webhook
    assert run("subscribe", "--url", URL, "--service", "P393ZNQ").exit_code == 0
    assert len(fake.subscriptions) == 2


def test_subscribe_json_holds_the_secret_and_the_config_reference(fake, run):
    result = run("subscribe", "--url", URL, "--json", "--no-ping")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    (made,) = document["created"]
    assert made["secret"] == fake.secrets[made["id"]] and made["secret_env"] == "PAGERDUTY_WEBHOOK_SECRET"
    assert made["state"] == "active" and made["filter"] == {"type": "account", "id": None}
    assert document["webhook_secrets"] == ["env:PAGERDUTY_WEBHOOK_SECRET"]
    assert document["pinged"] == [] and fake.pings == []


def test_the_secret_is_never_written_to_the_config(fake, run):
    before = run.config.read_bytes()
    assert run("subscribe", "--url", URL).exit_code == 0
    assert run.config.read_bytes() == before


def test_a_url_that_is_not_https_is_a_usage_error(fake, run):
    result = run("subscribe", "--url", "http://retro.example.com/webhooks/pagerduty")
    assert result.exit_code == 2 and "https://" in result.stderr
    assert fake.requests == []


def test_without_a_token_the_commands_say_which_setting(fake, run):
    result = run("subscriptions", config_text="[plugins.pagerduty]\n")
    assert result.exit_code == 2
    assert "[plugins.pagerduty] token is not set" in result.stderr


def test_token_option_names_another_key(kit, fake, run, monkeypatch):
    monkeypatch.setenv("PAGERDUTY_ADMIN_TOKEN", kit.TOKEN)
    config = '[plugins.pagerduty]\ntoken = "env:READ_ONLY"\n'
    monkeypatch.setenv("READ_ONLY", READ_ONLY)
    assert run("subscribe", "--url", URL, config_text=config).exit_code == 1  # read-only: refused
    result = run("subscribe", "--url", URL, "--token", "env:PAGERDUTY_ADMIN_TOKEN", config_text=config)
    assert result.exit_code == 0, result.stderr
    assert len(fake.subscriptions) == 1


# -- subscriptions --------------------------------------------------------------------------


def test_subscriptions_lists_url_filter_events_and_state(kit, fake, run):
    fake.subscriptions += [listed_example(kit), listed_example(kit, id="PDIS001", url=URL, disabled=True)]
    result = run("subscriptions")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "PY1OL64\tactive\tservice P393ZNQ\thttps://example.com/receive_a_pagerduty_webhook" in lines
    assert f"PDIS001\ttemporarily disabled\tservice P393ZNQ\t{URL}" in lines
    assert "  re-enable: retroflow pagerduty subscriptions --enable PDIS001" in lines
    assert any(line.startswith("  events: incident.acknowledged, incident.annotated") for line in lines)
    listing = json.loads(run("subscriptions", "--json", "--url", URL).stdout)
    assert [(s["id"], s["state"], s["temporarily_disabled"]) for s in listing] == [
        ("PDIS001", "temporarily disabled", True)
    ]
    assert listing[0]["events"][0] == "incident.acknowledged"


def test_subscriptions_pages_through_a_long_list(kit, fake, run):
    fake.subscriptions += [listed_example(kit, id=f"PS{n:05d}") for n in range(230)]
    listing = json.loads(run("subscriptions", "--json").stdout)
    assert len(listing) == 230
    assert [r.url.params["offset"] for r in fake.requests] == ["0", "100", "200"]


def test_enable_re_enables_a_temporarily_disabled_subscription(kit, fake, run):
    fake.subscriptions.append(listed_example(kit, id="PDIS001", url=URL, disabled=True))
    result = run("subscriptions", "--enable", "PDIS001")
    assert result.exit_code == 0, result.stderr
    assert "Enabled PDIS001" in result.stdout and result.stdout.rstrip().endswith("active")
    assert fake.subscriptions[0]["delivery_method"]["temporarily_disabled"] is False
    assert [f"{r.method} {r.url.path}" for r in fake.requests] == ["POST /webhook_subscriptions/PDIS001/enable"]


def test_enable_and_ping_in_json(kit, fake, run):
    fake.subscriptions.append(listed_example(kit, id="PDIS001", url=URL, disabled=True))
    document = json.loads(run("subscriptions", "--enable", "PDIS001", "--ping", "PDIS001", "--json").stdout)
    assert document["enabled"][0]["state"] == "active" and document["pinged"] == ["PDIS001"]
    assert fake.pings == ["PDIS001"]


def test_enable_an_unknown_subscription_says_so(fake, run):
    result = run("subscriptions", "--enable", "PNOPE01")
    assert result.exit_code == 1
    assert "enabling webhook subscription PNOPE01 (HTTP 404)" in result.stderr and "no such" in result.stderr


# -- failures ----------------------------------------------------------------------------------


def test_a_read_only_key_is_told_which_scope_it_lacks(fake, run, monkeypatch):
    monkeypatch.setenv("PAGERDUTY_TOKEN", READ_ONLY)
    result = run("subscribe", "--url", URL)
    assert result.exit_code == 1
    assert "(HTTP 403): Access Denied. The key lacks the webhook_subscriptions.write scope" in result.stderr
    assert "read-only" in result.stderr
    assert READ_ONLY not in result.stderr and READ_ONLY[-4:] not in result.stderr
    assert fake.subscriptions == []


def test_listing_refused_names_the_read_scope(fake, run):
    fake.script("GET /webhook_subscriptions", reply(403, {"error": {"message": "Access Denied", "code": 2010}}))
    result = run("subscriptions")
    assert result.exit_code == 1 and "webhook_subscriptions.read" in result.stderr


def test_a_wrong_key_names_the_setting_never_the_key(kit, fake, run, monkeypatch):
    monkeypatch.setenv("PAGERDUTY_TOKEN", "wrong-key-abcdefghijkl")
    result = run("subscriptions")
    assert result.exit_code == 1
    assert "(HTTP 401)" in result.stderr and "[plugins.pagerduty] token" in result.stderr
    assert "wrong-key" not in result.stderr and "ijkl" not in result.stderr


def test_a_400_says_what_pagerduty_said(fake, run):
    body = {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Url is not a valid URL"]}}
    fake.script(CREATE, reply(400, body))
    result = run("subscribe", "--url", URL)
    assert result.exit_code == 1
    assert "creating a webhook subscription for account (HTTP 400): Invalid Input Provided: Url is not a valid URL" in (
        result.stderr
    )
    assert fake.subscriptions == []


def test_a_create_is_not_retried_after_a_network_error(fake, run, sleeps):
    fake.script(CREATE, httpx2.ConnectError("connection reset"))
    result = run("subscribe", "--url", URL)
    assert result.exit_code == 1
    assert "may have reached PagerDuty" in result.stderr and "retroflow pagerduty subscriptions" in result.stderr
    assert [f"{r.method} {r.url.path}" for r in fake.requests].count(CREATE) == 1 and sleeps == []


def test_a_create_is_not_retried_after_a_5xx(fake, run):
    fake.script(CREATE, reply(502, {}))
    result = run("subscribe", "--url", URL)
    assert result.exit_code == 1 and "(HTTP 502)" in result.stderr and "may have reached" in result.stderr
    assert [f"{r.method} {r.url.path}" for r in fake.requests].count(CREATE) == 1


def test_a_rate_limited_create_waits_and_succeeds(fake, run, sleeps):
    fake.script(CREATE, reply(429, {"error": {"code": 2020, "message": "Rate Limit Exceeded"}}, {"Retry-After": "3"}))
    assert run("subscribe", "--url", URL, "--no-ping").exit_code == 0
    assert sleeps == [3.0] and len(fake.subscriptions) == 1


def test_listing_is_retried_after_network_errors_within_the_bound(fake, run, sleeps):
    fake.script("/webhook_subscriptions", *[httpx2.ConnectError("down")] * 4)
    result = run("subscriptions")
    assert result.exit_code == 1
    assert "listing webhook subscriptions failed 4 time(s) (ConnectError)" in result.stderr
    assert len(sleeps) == 3


def test_a_failed_ping_still_shows_the_secret_and_fails_the_command(fake, run):
    fake.script("/webhook_subscriptions/PWHS001/ping", *[reply(500, {})] * 4)
    result = run("subscribe", "--url", URL)
    assert result.exit_code == 1
    secret = fake.secrets["PWHS001"]
    assert result.stdout.count(secret) == 1 and "webhook_secrets" in result.stdout
    assert "the subscriptions were made, but no test delivery for PWHS001" in result.stderr


def test_a_later_create_failing_still_prints_the_secrets_made_before_it_in_json(fake, run):
    original = fake.handle

    def second_create_fails(request):
        if f"{request.method} {request.url.path}" == CREATE and len(fake.secrets) == 1:
            raise httpx2.ReadTimeout("timed out")
        return original(request)

    fake.handle = second_create_fails
    result = run("subscribe", "--url", URL, "--service", "PSVC1", "--service", "PSVC2", "--json")
    assert result.exit_code == 1
    (made,) = json.loads(result.stdout)["created"]
    assert made["secret"] == fake.secrets[made["id"]]
    assert "may have reached PagerDuty" in result.stderr


def test_the_secret_never_appears_in_logs_or_errors(kit, fake, run, monkeypatch, caplog):
    fake.script("/webhook_subscriptions/PWHS001/ping", *[reply(500, {})] * 4)

    def every_level(**kwargs):  # instead of the CLI's set-up, which would replace capture_logs
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))

    monkeypatch.setattr(cli_module, "configure_logging", every_level)
    before = structlog.get_config()
    try:
        with structlog.testing.capture_logs() as logs, caplog.at_level(logging.DEBUG):
            result = run("subscribe", "--url", URL)
    finally:
        structlog.configure(**before)
    secret = fake.secrets["PWHS001"]
    assert result.exit_code == 1 and secret in result.stdout  # shown once, where it is meant to be
    assert any(entry["event"] == "pagerduty webhook subscription created" for entry in logs)
    assert secret not in repr(logs) and secret not in caplog.text
    assert secret not in result.stderr and kit.TOKEN not in result.stderr


def test_debug_logs_on_stderr_hold_no_secret(fake, run):
    result = run("subscribe", "--url", URL, "--debug", "--log-format", "json")
    secret = fake.secrets["PWHS001"]
    assert result.exit_code == 0 and "pagerduty webhook subscription created" in result.stderr
    assert secret not in result.stderr


def test_created_repr_hides_the_secret(kit, fake):
    from retroflow_pagerduty.settings import PagerDutySettings
    from retroflow_pagerduty.subscriptions import Filter
    from retroflow_pagerduty.subscriptions_api import SubscriptionsApi

    from retroflow import Secret

    api = SubscriptionsApi(PagerDutySettings(token=Secret(env="T", value=kit.TOKEN)), transport=fake.transport)
    created = api.create(URL, Filter("account"), EVENTS, "d", "PAGERDUTY_WEBHOOK_SECRET")
    assert fake.secrets[created.subscription.id] not in repr(created)
    assert created.secret.reveal() == fake.secrets[created.subscription.id]


@pytest.mark.parametrize(
    "args",
    [
        ["subscribe", "--url", URL, "--service", ""],
        ["subscribe", "--url", URL, "--team", "P1/../x"],
        ["subscriptions", "--enable", "P1?x=1"],
        ["subscriptions", "--ping", ""],
    ],
)
def test_ids_that_are_not_pagerduty_ids_are_usage_errors(fake, run, args):
    result = run(*args)
    assert result.exit_code == 2 and "expected a PagerDuty id" in result.stderr
    assert fake.requests == []
