"""The webhook subscription requests and the fake's replies are what PagerDuty's spec says.

``fixtures/spec_webhook_subscriptions.json`` is an extract of ``REST_openapiv3.json`` (see
``fixtures/PROVENANCE.md``): each operation's method, path, scope, query parameters and the
JSON Schema of its request body and replies. Every request the commands make is checked
against it (no read-only property sent, no parameter the spec lacks), and so is every reply
of the fake API they ran against, so the fake cannot drift from the real shapes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from retroflow_pagerduty import PagerDutySource
from retroflow_pagerduty.testing import reply
from retroflow_pagerduty.testing_subscriptions import FakeSubscriptions

import retroflow.cli as cli_module
from retroflow.plugins import get_plugin_manager

URL = "https://retro.example.com/webhooks/pagerduty"


@pytest.fixture
def extract(kit) -> dict[str, Any]:
    return kit.load("spec_webhook_subscriptions.json")


def operation(extract, request) -> dict[str, Any]:
    for op in extract["operations"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", op["path"]) + "$"
        if op["method"] == request.method and re.match(pattern, request.url.path):
            return op
    raise AssertionError(f"{request.method} {request.url.path} is not an operation of the spec extract")


def read_only_properties(schema: Any, value: Any, where: str = "") -> list[str]:
    """Properties of ``value`` the schema marks ``readOnly``: a client must not send them."""
    found = []
    if isinstance(schema, dict) and isinstance(value, dict):
        for name, inner in schema.get("properties", {}).items():
            if name in value:
                if inner.get("readOnly"):
                    found.append(f"{where}{name}")
                found += read_only_properties(inner, value[name], f"{where}{name}.")
    return found


def check_exchange(extract, request, response) -> str:
    op = operation(extract, request)
    for name in request.url.params:
        assert name in op["query"], f"{op['operationId']}: query parameter {name!r} is not in the spec"
        if op["query"][name]["type"] == "integer":
            assert request.url.params[name].isdigit()
    if op["request"] is not None:
        body = json.loads(request.content)
        jsonschema.validate(body, op["request"])
        assert read_only_properties(op["request"], body) == [], op["operationId"]
    else:
        assert not request.content, f"{op['operationId']} takes no body"
    status = str(response.status_code)
    assert status in op["replies"], f"{op['operationId']} does not answer {status}"
    schema = op["replies"][status] if response.status_code < 400 else extract["error"]
    if schema is not None:
        jsonschema.validate(response.json(), schema)
    else:
        assert not response.content, f"{op['operationId']} {status} has no body"
    return str(op["operationId"])


def test_the_extract_holds_the_operations_the_commands_use(extract):
    assert {(op["operationId"], op["scope"]) for op in extract["operations"]} == {
        ("listWebhookSubscriptions", "webhook_subscriptions.read"),
        ("createWebhookSubscription", "webhook_subscriptions.write"),
        ("deleteWebhookSubscription", "webhook_subscriptions.write"),
        ("enableWebhookSubscription", "webhook_subscriptions.write"),
        ("testWebhookSubscription", "webhook_subscriptions.write"),
    }


def test_the_spec_examples_fit_the_extracted_schemas(extract):
    ops = {op["operationId"]: op for op in extract["operations"]}
    examples = extract["examples"]
    jsonschema.validate(examples["ListSubscriptionExample"], ops["listWebhookSubscriptions"]["replies"]["200"])
    jsonschema.validate(examples["GetSubscriptionExample"], ops["createWebhookSubscription"]["replies"]["200"])
    jsonschema.validate(examples["CreateSubscriptionExample"], ops["createWebhookSubscription"]["request"])
    # the secret: null in every reply but the create's, which the schema allows
    assert examples["GetSubscriptionExample"]["webhook_subscription"]["delivery_method"]["secret"] is None


def test_the_extracted_schemas_catch_what_they_should(extract):
    create = next(op for op in extract["operations"] if op["operationId"] == "createWebhookSubscription")
    bad = {"webhook_subscription": {"type": "webhook_subscription", "events": [], "filter": {"type": "x"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, create["request"])
    sent = {"webhook_subscription": {"id": "P1", "delivery_method": {"secret": "s"}}}
    assert read_only_properties(create["request"], sent) == [
        "webhook_subscription.id",
        "webhook_subscription.delivery_method.secret",
    ]


def test_every_request_and_reply_of_the_commands_fits_the_spec(kit, extract, sleeps, tmp_path, monkeypatch):
    disabled = json.loads(json.dumps(extract["examples"]["ListSubscriptionExample"]["webhook_subscriptions"][0]))
    disabled["delivery_method"].update(url=URL, temporarily_disabled=True)
    fake = FakeSubscriptions([disabled], token=kit.TOKEN, read_only_token="read-only-key-0000")

    def manager(**kwargs):
        source = PagerDutySource(transport=fake.transport, sleep=sleeps)
        return get_plugin_manager(load_entrypoints=False, extra_plugins=[source], **kwargs)

    config = tmp_path / "retroflow.toml"
    config.write_text('[plugins.pagerduty]\ntoken = "env:PAGERDUTY_TOKEN"\n', encoding="utf-8")

    def run(*args):
        return CliRunner().invoke(
            cli_module.cli, ["--config", str(config), "pagerduty", *args], obj={"plugin_manager_factory": manager}
        )

    run("subscriptions", "--json")
    run("subscriptions", "--enable", disabled["id"])
    run("subscribe", "--url", URL, "--service", "P393ZNQ", "--replace")  # create, delete, ping
    run("subscribe", "--url", URL, "--team", "PTEAM1", "--add", "--no-ping")
    run("subscribe", "--url", "https://elsewhere.example.com/hook")  # the account filter
    run("subscriptions", "--enable", "PNOPE01")  # 404
    fake.script(
        "POST /webhook_subscriptions", reply(400, {"error": {"message": "Invalid Input Provided", "code": 2001}})
    )
    run("subscribe", "--url", "https://third.example.com/hook")  # 400
    monkeypatch.setenv("PAGERDUTY_TOKEN", "read-only-key-0000")
    run("subscribe", "--url", "https://fourth.example.com/hook")  # 403 on the create
    monkeypatch.setenv("PAGERDUTY_TOKEN", "wrong-key-000000")
    run("subscriptions")  # 401
    used = {check_exchange(extract, request, response) for request, response in fake.exchanges}
    assert used == {
        "listWebhookSubscriptions",
        "createWebhookSubscription",
        "deleteWebhookSubscription",
        "enableWebhookSubscription",
        "testWebhookSubscription",
    }
    statuses = {response.status_code for _, response in fake.exchanges}
    assert {200, 202, 204, 400, 401, 403, 404} <= statuses
