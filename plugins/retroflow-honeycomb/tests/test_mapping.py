"""Honeycomb markers → change events; triggers → which fire now. Published examples and ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from retroflow_honeycomb.mapping import BadRecord, Skips, firing_triggers, marker_event, marker_events
from retroflow_honeycomb.settings import DatasetMap

from retroflow import EventKind

from .conftest import fixture

T = datetime(2026, 11, 2, 14, tzinfo=UTC)


def marker(minutes: float, *, marker_id: str = "a1b2c3", end_minutes: float | None = None) -> dict[str, object]:
    """A marker as the API lists it (written by us, in the shape of the documented one)."""
    at = int((T + timedelta(minutes=minutes)).timestamp())
    body: dict[str, object] = {"id": marker_id, "start_time": at, "message": "deploy payments 2.4.1", "type": "deploy"}
    if end_minutes is not None:
        body["end_time"] = int((T + timedelta(minutes=end_minutes)).timestamp())
    return body


def test_the_documented_marker_is_a_change_at_its_start_time() -> None:
    (published,) = fixture("hc_markers.docs.json")
    event = marker_event(published, dataset="payments", service="payments-api")
    assert event.kind is EventKind.CHANGE
    assert event.at == datetime.fromtimestamp(1471040808, UTC)
    assert (event.native_id, event.summary, event.service) == (
        "payments/d1c84ec0",
        "backend deploy #123",
        "payments-api",
    )
    assert event.details == {"dataset": "payments", "marker_type": "deploy"}


def test_a_marker_with_an_end_keeps_its_range_and_counts_while_it_overlaps_the_window() -> None:
    window = (T, T + timedelta(hours=1))
    long_deploy = marker(-30, marker_id="long", end_minutes=10)  # began before the window, ended inside it
    before = marker(-30, marker_id="before", end_minutes=-20)
    events = marker_events([long_deploy, before], dataset="payments", service=None, window=window, skips=Skips())
    (event,) = events
    assert event.native_id == "payments/long"
    assert event.details["minutes"] == 40.0
    assert event.details["end"] == "2026-11-02T14:10:00Z"


def test_environment_markers_say_so_when_they_have_no_message() -> None:
    event = marker_event({"id": "e1", "start_time": int(T.timestamp()), "type": "feature-flag"}, dataset="__all__",
                         service=None)  # fmt: skip
    assert event.summary == "feature-flag on the environment"


def test_markers_that_cannot_be_read_are_skipped_and_counted() -> None:
    skips = Skips()
    good = marker(0)
    events = marker_events([good, {"id": "x"}, "junk"], dataset="d", service=None, window=None, skips=skips)
    assert [e.native_id for e in events] == ["d/a1b2c3"]
    (gap,) = skips.gaps()
    assert (gap.count, gap.reason) == (2, "markers: 2 skipped (no start_time)")
    with pytest.raises(BadRecord, match="no marker id"):
        marker_event({"start_time": 1}, dataset="d", service=None)


def test_only_enabled_triggers_that_fire_now_are_named() -> None:
    documented = fixture("hc_triggers.docs.json")
    assert firing_triggers(documented) == ["string"]
    quiet = [{**documented[0], "name": "p99", "triggered": False}, {**documented[0], "name": "off", "disabled": True}]
    assert firing_triggers(quiet) == []
    assert firing_triggers({"error": "not a list"}) == []


def test_datasets_come_from_the_map_or_from_the_service_s_name() -> None:
    datasets = DatasetMap.parse(["payments-api=payments-prod", "payments-api=payments-edge", "search=search-prod"])
    assert datasets.datasets_of(["payments-api", "checkout"]) == [
        ("payments-prod", "payments-api"),
        ("payments-edge", "payments-api"),
        ("checkout", "checkout"),
    ]
    assert [d for d, _ in datasets.datasets_of([])] == ["payments-prod", "payments-edge", "search-prod"]
    with pytest.raises(ValueError, match=r"datasets\[0\]: expected"):
        DatasetMap.parse(["payments-prod"])
