"""The source, live (``responses`` plays the Events API v2) and from saved replies."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from retroflow import EventKind, RetroRequest
from retroflow.testing import (
    PAYMENTS_INCIDENT,
    T0,
    build,
    check_source_contract,
    collect_source,
    config_for,
    make_incident,
)

from .conftest import API_KEY, APP_KEY, LIVE, fixture, source
from .test_mapping import monitor_event

EVENTS = "https://api.datadoghq.com/api/v2/events"


def query_of(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


#: The source run once around the test incident (or the one given).
collect = partial(collect_source, incident=PAYMENTS_INCIDENT)


@responses.activate
def test_one_search_for_the_incident_s_services_and_window_with_both_keys(
    session: requests.Session, tmp_path: Path
) -> None:
    responses.get(EVENTS, json={"data": [monitor_event()]})
    result = collect(source(session), LIVE, tmp_path)
    (call,) = responses.calls
    assert query_of(call) == {
        "filter[query]": ["source:(alert OR deploy OR deployment OR change) (service:payments)"],
        "filter[from]": ["2026-11-02T12:00:00Z"],  # 120 min before it was created
        "filter[to]": ["2026-11-02T15:30:00Z"],  # 30 min after it was resolved
        "sort": ["timestamp"],
        "page[limit]": ["1000"],
    }
    assert (call.request.headers["DD-API-KEY"], call.request.headers["DD-APPLICATION-KEY"]) == (API_KEY, APP_KEY)
    (event,) = result.events
    assert (event.kind, event.service, event.details["state"]) == (EventKind.ALERT, "payments", "triggered")
    assert not result.gaps


#: The incident whose window the recorded pages (dd_events_pages.client_cassette.json) cover.
PAGED = make_incident(created=T0.replace(year=2022, month=6, day=20, hour=17), resolved=None)


def serve_recorded_pages() -> Any:
    """The recorded cursor pages, served in turn; the recording (its pages and cursors)."""
    recorded = fixture("dd_events_pages.client_cassette.json")
    for page in recorded["pages"]:
        responses.get(EVENTS, json=page)
    return recorded


@responses.activate
def test_cursor_pages_are_followed_until_a_page_has_no_cursor(session: requests.Session, tmp_path: Path) -> None:
    recorded = serve_recorded_pages()
    result = collect(source(session), LIVE, tmp_path, incident=PAGED)
    cursors = [query_of(c).get("page[cursor]") for c in responses.calls]
    assert cursors == [None, [recorded["cursors"][0]], [recorded["cursors"][1]]]
    assert len(result.events) == 3


@responses.activate
def test_pages_are_bounded_and_what_is_left_out_is_a_gap(session: requests.Session, tmp_path: Path) -> None:
    serve_recorded_pages()
    result = collect(source(session), LIVE + "max_pages = 1\n", tmp_path, incident=PAGED)
    assert len(responses.calls) == 1
    assert any("more events than 1 page(s) hold: the first 2 kept" in g.reason for g in result.gaps)


@pytest.mark.parametrize(
    ("site", "api"),
    [
        ("datadoghq.eu", "https://api.datadoghq.eu"),
        ("app.datadoghq.eu", "https://api.datadoghq.eu"),
        ("us3.datadoghq.com", "https://api.us3.datadoghq.com"),
        ("us5.datadoghq.com", "https://api.us5.datadoghq.com"),
        ("ap1.datadoghq.com", "https://api.ap1.datadoghq.com"),
        ("ddog-gov.com", "https://api.ddog-gov.com"),
    ],
)
@responses.activate
def test_the_site_setting_picks_the_api(session: requests.Session, tmp_path: Path, site: str, api: str) -> None:
    responses.get(api + "/api/v2/events", json={"data": [monitor_event()]})
    result = collect(source(session), LIVE + f'site = "{site}"\n', tmp_path)
    assert len(result.events) == 1


def test_a_site_that_is_not_datadog_is_a_config_error(tmp_path: Path) -> None:
    from retroflow import ConfigError

    with pytest.raises(ConfigError, match=r"site: expected one of datadoghq\.com"):
        config_for(source(), LIVE + 'site = "datadog.com"\n', tmp_path)


@responses.activate
def test_mapped_tags_and_monitors_are_searched_for_the_incident_s_services(
    session: requests.Session, tmp_path: Path
) -> None:
    responses.get(EVENTS, json={"data": []})
    incident = make_incident(services=("payments-api", "checkout"))
    table = LIVE + 'services = ["payments-api=team:pay", "payments-api=monitor:4242", "search=service:search"]\n'
    result = collect(source(session), table, tmp_path, incident=incident)
    assert query_of(responses.calls[0])["filter[query]"] == [
        "source:(alert OR deploy OR deployment OR change) (team:pay OR @monitor.id:4242 OR service:checkout)"
    ]
    (gap,) = result.gaps
    assert gap.reason.startswith("no monitor alerts or changes for payments-api, checkout between 2026-11-02T12:00:00Z")


@responses.activate
def test_events_without_a_service_of_their_own_belong_to_the_one_service_searched(
    session: requests.Session, tmp_path: Path
) -> None:
    deploy = {"id": "d1", "attributes": {"timestamp": "2026-11-02T13:40:00Z", "tags": ["source:deploy"],
                                         "attributes": {"title": "Deployed payments 2.4.1"}}}  # fmt: skip
    responses.get(EVENTS, json={"data": [deploy]})
    (event,) = collect(source(session), LIVE, tmp_path).events
    assert (event.kind, event.service, event.details["change_source"]) == (EventKind.CHANGE, "payments", "deploy")


def test_without_a_creation_time_there_is_no_window_and_no_request(tmp_path: Path) -> None:
    result = collect(source(), LIVE, tmp_path, incident=make_incident(id="X-1", created=None, resolved=None))
    assert not result.events
    (gap,) = result.gaps
    assert gap.reason == "no window to search: incident X-1 has no creation time"


def save_replies(directory: Path, *pages: Any) -> Path:
    directory.mkdir(exist_ok=True)
    for number, page in enumerate(pages, start=1):
        name = "events.json" if number == 1 else f"events.{number}.json"
        (directory / name).write_text(json.dumps(page), encoding="utf-8")
    return directory


def test_saved_replies_give_the_same_events_every_time(tmp_path: Path) -> None:
    recorded = fixture("dd_events_pages.client_cassette.json")["pages"]
    replies = save_replies(tmp_path / "dd", *recorded, {"errors": ["saved a 500 page"]})
    plugin = source()
    config = config_for(plugin, f'[plugins.datadog]\nreplies = "{replies}"\n', tmp_path)
    old = make_incident(id="OLD", created=None, resolved=None)  # no window: every saved event is kept
    result = check_source_contract(plugin, RetroRequest("OLD"), config, incident=old)
    assert len(result.events) == 3
    assert [g.reason for g in result.gaps] == ["saved reply events.4.json has no 'data' list"]


def test_saved_replies_outside_the_incident_window_are_left_out(tmp_path: Path) -> None:
    replies = save_replies(tmp_path / "dd", fixture("dd_events_pages.client_cassette.json")["pages"][0])
    result = collect(source(), f'[plugins.datadog]\nreplies = "{replies}"\n', tmp_path)
    assert not result.events
    assert "no monitor alerts or changes for payments" in result.gaps[0].reason


def test_a_deploy_and_a_monitor_from_saved_replies_fire_change_before_incident(tmp_path: Path) -> None:
    deploy = {"id": "d1", "attributes": {"timestamp": "2026-11-02T13:40:00Z",
                                         "tags": ["source:deploy", "service:payments"],
                                         "attributes": {"title": "Deployed payments 2.4.1"}}}  # fmt: skip
    replies = save_replies(tmp_path / "dd", {"data": [deploy, monitor_event()]})
    retro = build(incident=PAYMENTS_INCIDENT, plugins=[source()], config=f'[plugins.datadog]\nreplies = "{replies}"\n')
    factor = next(f for f in retro.factors if f.key == "change-before-incident")
    assert factor.evidence == ("datadog:d1", f"datadog:{monitor_event()['id']}")
    assert retro.timeline.moments.first_alert == T0 - timedelta(minutes=2)
