"""The source, live (``responses`` plays the Honeycomb API) and from saved replies."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from retroflow import ConfigError, RetroRequest, SourceError
from retroflow.testing import (
    PAYMENTS_INCIDENT,
    T0,
    RecordingSleep,
    build,
    check_secret_not_leaked,
    check_source_contract,
    collect_source,
    config_for,
    make_event,
    make_incident,
)

from .conftest import API_KEY, LIVE, fixture, source
from .test_mapping import marker

US = "https://api.honeycomb.io"

#: The source run once around the test incident (or the one given).
collect = partial(collect_source, incident=PAYMENTS_INCIDENT)


@responses.activate
def test_markers_and_triggers_of_the_incident_s_datasets_with_the_key(
    session: requests.Session, tmp_path: Path
) -> None:
    responses.get(f"{US}/1/markers/payments", json=[marker(-20), marker(-600, marker_id="old")])
    responses.get(f"{US}/1/triggers/payments", json=[])
    result = collect(source(session), LIVE, tmp_path)
    assert [c.request.url for c in responses.calls] == [f"{US}/1/markers/payments", f"{US}/1/triggers/payments"]
    assert {c.request.headers["X-Honeycomb-Team"] for c in responses.calls} == {API_KEY}
    (event,) = result.events  # the 10-hour-old marker is outside the window
    assert (event.native_id, event.service, event.at) == ("payments/a1b2c3", "payments", T0 - timedelta(minutes=20))
    assert not result.gaps


@responses.activate
def test_eu_mapped_datasets_and_environment_markers(session: requests.Session, tmp_path: Path) -> None:
    eu = "https://api.eu1.honeycomb.io"
    responses.get(f"{eu}/1/markers/payments-prod", json=[marker(-5)])
    responses.get(f"{eu}/1/markers/__all__", json=[marker(-15, marker_id="env")])
    table = LIVE + 'api = "eu"\ndatasets = ["payments=payments-prod"]\nenvironment_markers = true\ntriggers = false\n'
    result = collect(source(session), table, tmp_path)
    assert {(e.native_id, e.service) for e in result.events} == {
        ("payments-prod/a1b2c3", "payments"),
        ("__all__/env", None),
    }


@responses.activate
def test_a_firing_trigger_is_a_note_not_an_event(session: requests.Session, tmp_path: Path) -> None:
    responses.get(f"{US}/1/markers/payments", json=[marker(-20)])
    responses.get(f"{US}/1/triggers/payments", json=fixture("hc_triggers.docs.json"))
    result = collect(source(session), LIVE, tmp_path)
    assert len(result.events) == 1
    (gap,) = result.gaps
    assert gap.reason.startswith("triggers of payments firing when collected: string (the API gives no history")


@responses.activate
def test_an_unknown_dataset_is_a_gap_and_the_others_are_still_read(session: requests.Session, tmp_path: Path) -> None:
    responses.get(f"{US}/1/markers/checkout", status=404, json={"error": "dataset not found"})
    responses.get(f"{US}/1/markers/payments", json=[marker(-1)])
    incident = make_incident(services=("checkout", "payments"), created=T0, resolved=T0)
    result = collect(source(session), LIVE + "triggers = false\n", tmp_path, incident=incident)
    assert [e.service for e in result.events] == ["payments"]
    assert [g.reason for g in result.gaps] == [
        "dataset 'checkout' not found (HTTP 404): check [plugins.honeycomb] datasets"
    ]


@responses.activate
def test_nothing_in_the_window_is_a_gap_that_says_where_and_when(session: requests.Session, tmp_path: Path) -> None:
    responses.get(f"{US}/1/markers/payments", json=fixture("hc_markers.docs.json"))  # a 2016 deploy
    result = collect(source(session), LIVE + "triggers = false\n", tmp_path)
    assert [g.reason for g in result.gaps] == [
        "no markers on payments between 2026-11-02T12:00:00Z and 2026-11-02T15:30:00Z"
    ]


def test_no_window_or_no_dataset_means_no_request_and_a_gap(tmp_path: Path) -> None:
    unknown_time = collect(source(), LIVE, tmp_path, incident=make_incident(id="X", created=None, resolved=None))
    assert [g.reason for g in unknown_time.gaps] == ["no window to read markers in: incident X has no creation time"]
    no_service = collect(source(), LIVE, tmp_path, incident=make_incident(services=()))
    assert "the incident names no service and none is mapped" in no_service.gaps[0].reason


def test_settings_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"api: expected \"us\", \"eu\""):
        config_for(source(), LIVE + 'api = "ap"\n', tmp_path)
    with pytest.raises(ConfigError, match=r"datasets\[0\]"):
        config_for(source(), LIVE + 'datasets = ["payments"]\n', tmp_path)


@responses.activate
def test_a_429_waits_what_retry_after_or_ratelimit_asks(session: requests.Session, tmp_path: Path) -> None:
    responses.get(f"{US}/1/markers/payments", status=429, headers={"Retry-After": "3"})
    responses.get(f"{US}/1/markers/payments", status=429, headers={"RateLimit": "limit=10, remaining=0, reset=5"})
    responses.get(f"{US}/1/markers/payments", status=500)
    responses.get(f"{US}/1/markers/payments", json=[marker(0)])
    sleep = RecordingSleep()
    result = collect(source(session, sleep), LIVE + "triggers = false\n", tmp_path)
    assert (sleep.calls, len(result.events)) == ([3.0, 5.0, 4.0], 1)


@responses.activate
def test_retries_are_bounded(session: requests.Session, tmp_path: Path) -> None:
    responses.get(f"{US}/1/markers/payments", status=429, headers={"Retry-After": "120"})
    with pytest.raises(SourceError, match=r"asked to wait 120 s, over the 60 s budget \(\[plugins.honeycomb\]"):
        collect(source(session), LIVE, tmp_path)


@responses.activate
def test_a_refused_key_is_named_never_shown(
    session: requests.Session, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(f"{US}/1/markers/payments", status=401, json={"error": "unknown API key - check your credentials"})
    with pytest.raises(
        SourceError, match=r"\(HTTP 401\): unknown API key.*check \[plugins.honeycomb\] api_key"
    ) as caught:
        collect(source(session), LIVE, tmp_path)
    check_secret_not_leaked(API_KEY, caught.value, caplog.text)


@responses.activate
def test_a_lost_connection_is_retried_then_reported_without_context(session: requests.Session, tmp_path: Path) -> None:
    responses.get(f"{US}/1/markers/payments", body=requests.ConnectionError("connection reset"))
    with pytest.raises(
        SourceError, match=r"Honeycomb unreachable \(markers of payments\): connection lost, 2 tries"
    ) as caught:
        collect(source(session), LIVE + "max_retries = 1\n", tmp_path)
    check_secret_not_leaked(API_KEY, caught.value)


def save(directory: Path, files: dict[str, Any]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, body in files.items():
        (directory / name).write_text(json.dumps(body), encoding="utf-8")
    return directory


def test_saved_replies_pass_the_source_contract(tmp_path: Path) -> None:
    replies = save(tmp_path / "hc", {"markers.payments-prod.json": [marker(-20), marker(-3, marker_id="b")],
                                     "markers.__all__.json": fixture("hc_markers.docs.json"),
                                     "triggers.payments-prod.json": fixture("hc_triggers.docs.json")})  # fmt: skip
    plugin = source()
    table = f'[plugins.honeycomb]\nreplies = "{replies}"\ndatasets = ["payments=payments-prod"]\n'
    result = check_source_contract(
        plugin, RetroRequest(PAYMENTS_INCIDENT.id), config_for(plugin, table, tmp_path), incident=PAYMENTS_INCIDENT
    )
    assert sorted((e.native_id, e.service) for e in result.events) == [
        ("payments-prod/a1b2c3", "payments"),
        ("payments-prod/b", "payments"),
    ]  # the 2016 environment marker is outside the window
    assert any("firing when collected" in g.reason for g in result.gaps)


def test_saved_replies_without_markers_are_an_error(tmp_path: Path) -> None:
    replies = save(tmp_path / "hc", {"triggers.x.json": []})
    with pytest.raises(SourceError, match=r"no markers\.<dataset>\.json"):
        collect(source(), f'[plugins.honeycomb]\nreplies = "{replies}"\n', tmp_path)


def test_a_deploy_marker_fires_change_before_incident_for_its_service(tmp_path: Path) -> None:
    replies = save(tmp_path / "hc", {"markers.payments.json": [marker(-20)]})
    alert = make_event("alert", 0, source="pager", native_id="a1", service="payments", summary="5xx rate")
    table = f'[plugins.honeycomb]\nreplies = "{replies}"\n'
    retro = build([alert], incident=PAYMENTS_INCIDENT, plugins=[source()], config=table)
    factor = next(f for f in retro.factors if f.key == "change-before-incident")
    assert factor.evidence == ("honeycomb:payments/a1b2c3", "pager:a1")
