"""Datadog Events API v2 events → retroflow events, on published replies and our own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from retroflow_datadog.mapping import BadRecord, Skips, event_of, events_of
from retroflow_datadog.settings import ServiceMap

from retroflow import EventKind

from .conftest import fixture

NO_MAP = ServiceMap()
APP = "https://app.datadoghq.com"


def monitor_event(
    state: str = "Alert", *, tags: tuple[str, ...] = ("service:payments", "source:alert"), monitor_id: int = 4242
) -> dict[str, Any]:
    """A monitor event as the API sends it (written by us in the shape of the gist's)."""
    return {
        "id": f"AgAA-{state}-{monitor_id}",
        "type": "event",
        "attributes": {
            "timestamp": "2026-11-02T13:58:00Z",
            "message": "Error rate above 5%. Runbook: https://wiki.example.com/runbooks/payments-5xx",
            "tags": list(tags),
            "attributes": {
                "status": "error" if state == "Alert" else "success",
                "title": f"[{'Triggered' if state == 'Alert' else 'Recovered'} on {{service:payments}}] 5xx rate",
                "monitor_id": monitor_id,
                "monitor_groups": ["service:payments"],
                "monitor": {
                    "id": monitor_id,
                    "name": "5xx rate",
                    "transition": {"destination_state": state, "source_state": "OK" if state == "Alert" else "Alert"},
                    "result": {"alert_url": f"/monitors/{monitor_id}?group=service%3Apayments"},
                },
            },
        },
    }


def test_published_non_monitor_events_are_changes_with_datadog_ids() -> None:
    pages = fixture("dd_events_pages.client_cassette.json")["pages"]
    items = [item for page in pages for item in page["data"]]
    events = events_of(items, services=NO_MAP, app_url=APP, window=None, skips=Skips())
    assert [e.native_id for e in events] == [item["id"] for item in items]
    first = events[0]
    assert first.kind is EventKind.CHANGE
    assert first.at == datetime(2022, 6, 20, 17, 7, 32, tzinfo=UTC)
    assert first.summary == "[Synthetics] EVMGT pipeline test"
    assert first.details["change_source"] == "my_apps"
    assert first.service is None  # Datadog's "undefined" is not a service


def test_the_published_monitor_recovery_is_an_alert_reporting_a_recovery() -> None:
    (item,) = fixture("dd_monitor_recovery.gist.json")["data"]
    event = event_of(item, services=NO_MAP, app_url=APP)
    assert event.kind is EventKind.ALERT
    assert event.details["state"] == "recovered"
    assert (event.details["monitor"], event.details["monitor_id"]) == ("Test log monitor", 7061921)
    assert event.link is not None and event.link.startswith("https://app.datadoghq.com/monitors/7061921?")
    assert event.at == datetime(2022, 5, 19, 15, 29, 41, tzinfo=UTC)


def test_a_triggered_monitor_carries_its_state_service_and_runbook() -> None:
    event = event_of(monitor_event("Alert"), services=NO_MAP, app_url=APP)
    assert (event.kind, event.details["state"], event.service) == (EventKind.ALERT, "triggered", "payments")
    assert event.details["runbook"] == "https://wiki.example.com/runbooks/payments-5xx"
    assert event.details["groups"] == ["service:payments"]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["payments-api=service:payments"], "payments-api"),  # by tag
        (["payments-api=monitor:4242"], "payments-api"),  # by monitor
        (["checkout=monitor:1"], "payments"),  # not mapped: its own service tag
    ],
)
def test_services_come_from_the_map_first(entries: list[str], expected: str) -> None:
    event = event_of(monitor_event(), services=ServiceMap.parse(entries), app_url=APP)
    assert event.service == expected


def test_without_a_monitor_object_the_title_says_the_state_and_the_monitor() -> None:
    item = {
        "id": "x1",
        "attributes": {
            "timestamp": "2026-11-02T13:58:00Z",
            "tags": ["source:alert"],
            "attributes": {"title": "[P1] [Re-Triggered on {host:db-1}] Disk almost full"},
        },
    }
    event = event_of(item, services=NO_MAP, app_url=APP)
    assert (event.details["state"], event.details["monitor"]) == ("retriggered", "Disk almost full")


def test_the_inner_millisecond_timestamp_is_used_when_the_iso_one_is_missing() -> None:
    item = {"id": "x2", "attributes": {"attributes": {"title": "deploy", "timestamp": 1793973480000}}}
    assert event_of(item, services=NO_MAP, app_url=APP).at == datetime(2026, 11, 6, 13, 58, tzinfo=UTC)


def test_unreadable_events_are_skipped_and_counted_and_the_window_is_kept() -> None:
    skips = Skips()
    inside = monitor_event()
    outside = monitor_event(monitor_id=7)
    outside["attributes"]["timestamp"] = "2026-10-01T00:00:00Z"
    window = (datetime(2026, 11, 2, 12, tzinfo=UTC), datetime(2026, 11, 2, 16, tzinfo=UTC))
    events = events_of(
        [inside, outside, {"id": "no-time", "attributes": {}}, "junk"],
        services=NO_MAP,
        app_url=APP,
        window=window,
        skips=skips,
    )
    assert [e.native_id for e in events] == [inside["id"]]
    (gap,) = skips.gaps()
    assert (gap.count, gap.kind) == (2, "skipped")
    with pytest.raises(BadRecord, match="no timestamp"):
        event_of({"id": "no-time", "attributes": {}}, services=NO_MAP, app_url=APP)


def test_a_bad_service_entry_names_itself() -> None:
    with pytest.raises(ValueError, match=r"services\[1\]: expected"):
        ServiceMap.parse(["a=service:a", "b"])
    with pytest.raises(ValueError, match="monitor id 'abc'"):
        ServiceMap.parse(["a=monitor:abc"])
