"""Every request the source makes is a method of Slack's Web API spec (an extract of
slackapi/slack-api-specs, see fixtures/PROVENANCE.md) with known, well-typed parameters;
the spec's own examples and captured replies map as the source says they do."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from retroflow_slack import SlackSource
from retroflow_slack.testing import FakeSlack, serve

from retroflow import EventKind, Incident, parse_timestamp

SPEC: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def spec(kit: Any) -> None:
    SPEC.update(kit.load("slack-web-api.extract.json"))


def operation(method: str) -> dict[str, Any]:
    path = f"/{method}"
    assert path in SPEC["paths"], f"{method} is not a method of the spec extract"
    return dict(SPEC["paths"][path]["get"])


def example(method: str) -> dict[str, Any]:
    return copy.deepcopy(operation(method)["responses"]["200"]["examples"]["application/json"])


def check(schema: dict[str, Any], instance: Any, what: str) -> None:
    root = {**schema, "definitions": SPEC["definitions"]}
    errors = sorted(jsonschema.Draft4Validator(root).iter_errors(instance), key=str)
    assert not errors, f"{what}: {errors[0].message} at {list(errors[0].absolute_path)}"


def typed(value: str, kind: str) -> Any:
    """A form value read as the spec's parameter type (slack-sdk sends booleans as 1/0)."""
    if kind == "number":
        return float(value)
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        assert value in ("0", "1", "true", "false"), value
        return value in ("1", "true")
    return value


def spec_workspace(kit: Any) -> FakeSlack:
    """The spec's examples as one channel: the history example (two messages) and the
    replies example (a thread of three), and the users.info example for their authors."""
    messages = example("conversations.history")["messages"] + example("conversations.replies")["messages"]
    user = example("users.info")["user"]
    users = {uid: {**user, "id": uid} for uid in ("U012AB3CDE", "U061F7AUR")}
    return FakeSlack({"C012AB3CD": messages}, users, token=kit.TOKEN)


def collect(fake: FakeSlack, kit: Any, incident: Incident) -> Any:
    with serve(fake) as base_url:
        source = SlackSource(base_url=base_url, sleep=lambda seconds: None)
        config = kit.slack_config(source, 'token = "env:SLACK_BOT_TOKEN"\nchannel = "C012AB3CD"\n')
        return source.retroflow_timeline_source(config, incident)


SPEC_WINDOW = Incident(
    id="X", created=parse_timestamp("2016-12-28T21:00:00Z"), resolved=parse_timestamp("2017-12-01T05:00:00Z")
)


def test_every_request_is_a_spec_method_with_known_well_typed_parameters(kit: Any) -> None:
    fake = spec_workspace(kit)
    fake.rate_limits = ["1"]
    collect(fake, kit, Incident(id="X", created=SPEC_WINDOW.created, resolved=SPEC_WINDOW.resolved))
    assert {method for method, _ in fake.requests} == {"conversations.history", "conversations.replies", "users.info"}
    for method, params in fake.requests:
        parameters = {p["name"]: p for p in operation(method)["parameters"]}
        assert set(params) <= set(parameters), f"{method}: unknown parameters {set(params) - set(parameters)}"
        for name, value in params.items():
            check(parameters[name], typed(value, parameters[name]["type"]), f"{method} {name}")
        assert "token" not in params, "the token travels in the Authorization header, never in the form"


def test_the_fake_s_replies_match_the_spec_s_reply_schemas(kit: Any) -> None:
    """Our fake answers as the spec says (messages of the spec's own examples)."""
    fake = spec_workspace(kit)
    history = fake.answer("conversations.history", {"channel": "C012AB3CD"}, f"Bearer {kit.TOKEN}")[2]
    replies = fake.answer(
        "conversations.replies", {"channel": "C012AB3CD", "ts": "1482960137.003543"}, f"Bearer {kit.TOKEN}"
    )[2]
    # The spec (2021) leaves response_metadata (the cursor) out of both reply schemas, though
    # its own examples of both carry it: checked without it.
    history.pop("response_metadata")
    replies.pop("response_metadata")
    check(operation("conversations.history")["responses"]["200"]["schema"], history, "history reply")
    check(operation("conversations.replies")["responses"]["200"]["schema"], replies, "replies reply")


@pytest.mark.parametrize("name", ["slack_users_info_person_1.json", "slack_users_info_bot.json"])
def test_captured_users_info_replies_give_names_and_bots(kit: Any, name: str) -> None:
    """wee-slack's captured users.info replies (a person, a bot) are what the source reads."""
    from retroflow_slack.mapping import Names

    reply = kit.load(f"wee-slack/{name}")
    names = Names(lambda user_id: reply["user"])
    user_id = reply["user"]["id"]
    assert names.name(user_id) == {"U017V7T2D40": "Test 1", "UU6635U31": "Polly"}[user_id]
    assert names.is_bot(user_id) is (user_id == "UU6635U31")


def test_the_spec_s_examples_become_events_with_names(kit: Any) -> None:
    result = collect(spec_workspace(kit), kit, SPEC_WINDOW)
    by_ts = {e.details["ts"]: e for e in result.events}
    assert sorted(by_ts) == [
        "1482960137.003543", "1483037603.017503", "1483051909.018632", "1483125339.020269",
        "1512085950.000216", "1512104434.000490",
    ]  # fmt: skip
    assert {e.actor for e in result.events} == {"spengler"}
    assert by_ts["1483037603.017503"].details["thread_ts"] == "1482960137.003543"
    assert all(e.kind is EventKind.MESSAGE for e in result.events)
    assert by_ts["1512085950.000216"].summary == "I find you punny and would like to smell your nose letter"


def test_the_spec_s_window_is_respected(kit: Any) -> None:
    only_2017_12 = Incident(
        id="X", created=parse_timestamp("2017-12-01T00:00:00Z"), resolved=parse_timestamp("2017-12-01T05:00:00Z")
    )
    result = collect(spec_workspace(kit), kit, only_2017_12)
    assert sorted(e.details["ts"] for e in result.events) == ["1512085950.000216", "1512104434.000490"]
