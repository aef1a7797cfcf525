"""The source, live (``responses`` plays JSM Operations and Opsgenie) and from saved replies."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from retroflow_jsm import parse_alert_ref

from retroflow import EventKind, RetroRequest, SourceError, SourceResult
from retroflow.testing import RecordingSleep, check_secret_not_leaked, check_source_contract, config_for, run_source

from .conftest import (
    CLOUD_ID,
    GENIE_KEY,
    JSM_ALERTS,
    JSM_LIVE,
    OPSGENIE_ALERTS,
    OPSGENIE_LIVE,
    TOKEN,
    fixture,
    save,
    source,
)
from .scenario import ALERT_ID, opsgenie_alert, opsgenie_logs, opsgenie_notes

DOCS_ID = "70413a06-38d6-4c85-92b8-5ebc900d42e2"


def collect(plugin: Any, toml: str, tmp_path: Path, ref: str) -> SourceResult | None:
    return run_source(plugin, toml, tmp_path, request=ref)


def query_of(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def opsgenie_account(logs: Any = None) -> None:
    """Opsgenie's documented alert, logs and (no) notes, at the documented endpoints."""
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}", json=fixture("og_alert.docs.json"))
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}/logs", json=logs or fixture("og_logs.docs.json"))
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}/notes", json={"data": [], "took": 0.01, "requestId": "r"})


@responses.activate
def test_opsgenie_alert_logs_and_notes_with_the_genie_key(session: requests.Session, tmp_path: Path) -> None:
    opsgenie_account()
    result = collect(source(session), OPSGENIE_LIVE, tmp_path, DOCS_ID)
    assert result is not None and result.incident is not None
    assert [urlsplit(c.request.url).path for c in responses.calls] == [
        f"/v2/alerts/{DOCS_ID}",
        f"/v2/alerts/{DOCS_ID}/logs",
        f"/v2/alerts/{DOCS_ID}/notes",
    ]
    assert {c.request.headers["Authorization"] for c in responses.calls} == {f"GenieKey {GENIE_KEY}"}
    assert query_of(responses.calls[1]) == {
        "order": ["asc"],
        "identifierType": ["id"],
        "direction": ["next"],
        "limit": ["100"],
    }
    assert [e.kind for e in result.events] == [EventKind.ALERT, EventKind.ACK]
    assert result.incident.id == DOCS_ID


@responses.activate
def test_a_tiny_id_is_looked_up_as_one_on_opsgenie_and_the_eu_host_is_used(
    session: requests.Session, tmp_path: Path
) -> None:
    eu = "https://api.eu.opsgenie.com/v2/alerts"
    responses.get(f"{eu}/1791", json=fixture("og_alert.docs.json"))
    responses.get(f"{eu}/{DOCS_ID}/logs", json=fixture("og_logs.docs.json"))
    responses.get(f"{eu}/{DOCS_ID}/notes", json={"data": []})
    result = collect(source(session), OPSGENIE_LIVE.replace('"opsgenie"', '"opsgenie-eu"'), tmp_path, "#1791")
    assert result is not None and result.incident is not None and result.incident.id == DOCS_ID
    assert query_of(responses.calls[0]) == {"identifierType": ["tiny"]}


@responses.activate
def test_jsm_operations_with_basic_auth_values_and_after_cursors(session: requests.Session, tmp_path: Path) -> None:
    logs = opsgenie_logs()
    first = [{**logs[i % len(logs)], "offset": f"o{i:03d}"} for i in range(100)]  # a full page
    responses.get(f"{JSM_ALERTS}/{ALERT_ID}", json=opsgenie_alert())  # a bare alert
    responses.get(
        f"{JSM_ALERTS}/{ALERT_ID}/logs",
        json={"values": first, "links": {"next": f"{JSM_ALERTS}/{ALERT_ID}/logs?size=100&after=cursor-2"}},
    )
    responses.get(f"{JSM_ALERTS}/{ALERT_ID}/logs", json={"values": logs[:2], "links": {}})
    responses.get(f"{JSM_ALERTS}/{ALERT_ID}/notes", json={"values": opsgenie_notes()})
    result = collect(source(session), JSM_LIVE, tmp_path, ALERT_ID)
    assert result is not None
    assert f"/jsm/ops/api/{CLOUD_ID}/v1/alerts/{ALERT_ID}" in responses.calls[0].request.url
    auth = base64.b64encode(f"retro@acme.com:{TOKEN}".encode()).decode()
    assert {c.request.headers["Authorization"] for c in responses.calls} == {f"Basic {auth}"}
    assert [query_of(c).get("after") for c in responses.calls[1:3]] == [None, ["cursor-2"]]
    assert query_of(responses.calls[1])["size"] == ["100"]
    assert len([e for e in result.events if "/log/" in e.native_id]) > 50
    assert any(e.kind is EventKind.MESSAGE for e in result.events)


def test_references_that_are_not_alerts_are_someone_else_s(tmp_path: Path) -> None:
    assert collect(source(), JSM_LIVE, tmp_path, "PT4KHLK") is None
    assert collect(source(), JSM_LIVE, tmp_path, "#1791") is None  # JSM looks alerts up by id only
    assert parse_alert_ref(f"https://acme.app.opsgenie.com/alert/detail/{DOCS_ID}/details", tiny_allowed=False) == (
        parse_alert_ref(DOCS_ID, tiny_allowed=False)
    )


def test_jsm_needs_its_cloud_id_and_email(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r'cloud_id and email are needed for api = "jsm"'):
        collect(source(), '[plugins.jsm]\ntoken = "env:JSM_TOKEN"\n', tmp_path, ALERT_ID)


@responses.activate
def test_an_unknown_alert_says_so(session: requests.Session, tmp_path: Path) -> None:
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}", status=404, json={"message": "Alert does not exist"})
    with pytest.raises(SourceError, match=rf"alert {DOCS_ID} not found \(\[plugins.jsm\] api = 'opsgenie'\)"):
        collect(source(session), OPSGENIE_LIVE, tmp_path, DOCS_ID)


@pytest.mark.parametrize(("toml", "secret"), [(OPSGENIE_LIVE, GENIE_KEY), (JSM_LIVE, TOKEN)])
@responses.activate
def test_a_refusal_names_the_settings_never_the_token(
    session: requests.Session, tmp_path: Path, caplog: pytest.LogCaptureFixture, toml: str, secret: str
) -> None:
    for base in (OPSGENIE_ALERTS, JSM_ALERTS):
        responses.get(f"{base}/{DOCS_ID}", status=401, json={"message": "Could not authenticate"})
    with pytest.raises(SourceError, match=r"refused alert .* \(HTTP 401\): Could not authenticate: check") as caught:
        collect(source(session), toml, tmp_path, DOCS_ID)
    check_secret_not_leaked(secret, caught.value, caplog.text)


@responses.activate
def test_rate_limits_and_server_errors_are_waited_out_within_the_budget(
    session: requests.Session, tmp_path: Path
) -> None:
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}", status=429, headers={"Retry-After": "2"})
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}", status=503)
    opsgenie_account()
    sleep = RecordingSleep()
    assert collect(source(session, sleep), OPSGENIE_LIVE, tmp_path, DOCS_ID) is not None
    assert sleep.calls == [2.0, 2.0]


@responses.activate
def test_a_rate_limit_over_the_budget_fails_at_once(session: requests.Session, tmp_path: Path) -> None:
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}", status=429, headers={"Retry-After": "600"})
    with pytest.raises(SourceError, match=r"Opsgenie is rate limiting .*600 s, over the 60 s budget"):
        collect(source(session), OPSGENIE_LIVE, tmp_path, DOCS_ID)


@responses.activate
def test_log_pages_are_bounded_and_what_is_left_out_is_a_gap(session: requests.Session, tmp_path: Path) -> None:
    full = {"data": [{**opsgenie_logs()[5], "offset": f"o{i:03d}"} for i in range(100)],
            "paging": {"next": f"{OPSGENIE_ALERTS}/{DOCS_ID}/logs?offset=o099&limit=100"}}  # fmt: skip
    opsgenie_account(logs=full)
    result = collect(source(session), OPSGENIE_LIVE + "max_pages = 1\n", tmp_path, DOCS_ID)
    assert result is not None
    assert "logs: more than 1 pages; the first 100 kept" in [g.reason for g in result.gaps]


def test_saved_replies_pass_the_source_contract(tmp_path: Path) -> None:
    replies = save(tmp_path / "jsm", {"alert.json": {"data": opsgenie_alert()},
                                      "logs.json": {"data": opsgenie_logs()[:4]},
                                      "logs.2.json": {"data": opsgenie_logs()[4:]},
                                      "notes.json": {"values": opsgenie_notes()}})  # fmt: skip
    plugin = source()
    config = config_for(plugin, f'[plugins.jsm]\nreplies = "{replies}"\n', tmp_path)
    result = check_source_contract(plugin, RetroRequest("4821"), config)
    assert len(result.events) == 7 and not result.gaps
    assert result.incident is not None and result.incident.services == ("payments-api",)


def test_saved_replies_for_another_alert_are_refused(tmp_path: Path) -> None:
    replies = save(tmp_path / "jsm", {"alert.json": opsgenie_alert(), "logs.json": [], "notes.json": []})
    with pytest.raises(SourceError, match=r"are for alert .* not '#1'"):
        collect(source(), f'[plugins.jsm]\nreplies = "{replies}"\n', tmp_path, "#1")


def test_an_alert_without_a_log_is_a_gap(tmp_path: Path) -> None:
    replies = save(tmp_path / "jsm", {"alert.json": fixture("og_alert.docs.json")})
    result = collect(source(), f'[plugins.jsm]\nreplies = "{replies}"\n', tmp_path, "1791")
    assert result is not None
    assert [g.reason for g in result.gaps] == [
        f"saved replies in {replies} lack logs.json",
        f"saved replies in {replies} lack notes.json",
        f"alert {DOCS_ID} has no log: no page, acknowledgement or escalation is known",
    ]
