"""The live source against a fake API: what it returns, and what it costs."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from retroflow_pagerduty import PagerDutySource, parse_incident_ref
from retroflow_pagerduty.plugin import IncidentRef

from retroflow import EventKind, RetroRequest
from retroflow.testing import check_source_contract, make_config, make_plugins


def paths(fake):
    return [r.url.path for r in fake.requests]


def test_an_incident_by_id_becomes_a_timeline_that_keeps_the_source_contract(kit, source_for):
    fake = kit.fake_account()
    source, config = source_for(fake)
    result = check_source_contract(source, RetroRequest("PT4KHLK"), config)
    assert result.incident is not None
    assert result.incident.id == "PT4KHLK"
    assert result.incident.services == ("My Mail Service",)
    kinds = {e.native_id: e.kind for e in result.events}
    assert kinds["Q02JTSNZWHSEKV"] is EventKind.ALERT  # trigger
    assert kinds["RRPP3746OFFZZ742NSP1G67AWC"] is EventKind.ACK
    assert kinds["RNAJ8DLJGWHBXXYX1CC5G50C9O"] is EventKind.RESOLUTION
    assert kinds["PWL7QXS"] is EventKind.MESSAGE  # note
    assert kinds["PT4KHLK"] is EventKind.ALERT  # the spec's alert reuses the incident's id as its own
    assert result.gaps == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT4KHLK", IncidentRef("PT4KHLK")),
        ("Q02JTSNZWHSEKV", IncidentRef("Q02JTSNZWHSEKV")),
        ("1234", IncidentRef("1234", by_number=True)),
        ("#1234", IncidentRef("1234", by_number=True)),
        ("https://acme.pagerduty.com/incidents/PT4KHLK", IncidentRef("PT4KHLK")),
        ("https://acme.eu.pagerduty.com/incidents/PT4KHLK/timeline?x=1", IncidentRef("PT4KHLK")),
        ("CHK-1042", None),
        ("https://jira.example.com/browse/CHK-1042", None),
        ("https://evil.example.com/acme.pagerduty.com/incidents/PT4KHLK", None),
    ],
)
def test_incident_references(text, expected):
    assert parse_incident_ref(text) == expected


def test_by_number_and_by_url_give_the_same_incident(kit, source_for):
    fake = kit.fake_account()
    source, config = source_for(fake)
    by_id = source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    by_number = source.retroflow_timeline_source(RetroRequest("1234"), config)
    by_url = source.retroflow_timeline_source(RetroRequest("https://subdomain.pagerduty.com/incidents/PT4KHLK"), config)
    assert by_id == by_number == by_url
    assert "/incidents/1234" in paths(fake)  # GET /incidents/{id} accepts the number


def test_not_configured_or_not_a_pagerduty_reference_gives_none(kit, source_for):
    fake = kit.fake_account()
    source, _ = source_for(fake)
    plugins = make_plugins(source, default_plugins=False)
    assert source.retroflow_timeline_source(RetroRequest("PT4KHLK"), make_config(plugins=plugins)) is None
    _, config = source_for(fake)
    assert source.retroflow_timeline_source(RetroRequest("CHK-1042"), config) is None
    assert fake.requests == []


def test_the_key_is_sent_as_a_token_with_the_from_header_and_api_version(kit, source_for):
    fake = kit.fake_account()
    source, config = source_for(fake, kit.SETTINGS + 'from_email = "oncall@example.com"\napi = "eu"\n')
    source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    request = fake.requests[0]
    assert request.url.host == "api.eu.pagerduty.com"
    assert request.headers["authorization"] == f"Token token={kit.TOKEN}"
    assert request.headers["from"] == "oncall@example.com"
    assert request.headers["accept"] == "application/vnd.pagerduty+json;version=2"


@pytest.mark.parametrize(("log_entries", "alerts"), [(0, 0), (1, 1), (100, 100), (101, 250), (950, 120)])
def test_one_retro_costs_one_incident_request_the_pages_and_one_notes_request(kit, source_for, log_entries, alerts):
    fake = kit.big_account(log_entries, alerts)
    source, config = source_for(fake)
    result = source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    # without log entries, the incident's own first trigger stands in for the trigger entry
    assert len(result.events) == log_entries + alerts + 2 + (0 if log_entries else 1)
    expected = 1 + max(1, math.ceil(log_entries / 100)) + max(1, math.ceil(alerts / 100)) + 1
    assert len(fake.requests) == expected
    assert paths(fake).count("/incidents/PT4KHLK") == 1
    assert paths(fake).count("/incidents/PT4KHLK/notes") == 1
    pages = [r.url.params for r in fake.requests if r.url.path.endswith("/log_entries")]
    assert sorted(int(p["offset"]) for p in pages) == list(range(0, max(1, log_entries), 100))
    assert all(p["limit"] == "100" and p["is_overview"] == "false" for p in pages)
    assert all(p.get_list("include[]") == ["channels"] for p in pages)


class Tracker:
    """Records when each request started and finished, to count round trips."""

    def __init__(self, fake, latency: float) -> None:
        self.fake = fake
        self.latency = latency
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.spans: list[tuple[float, float]] = []

    def __call__(self, request):
        started = time.monotonic()
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.latency)
            return self.fake.handle(request)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.spans.append((started, time.monotonic()))

    def round_trips(self) -> int:
        """The longest chain of requests each started after the previous one finished:
        requests that could depend on each other. Independent of machine speed."""
        depth: dict[int, int] = {}
        spans = sorted(self.spans)
        for i, (start, _end) in enumerate(spans):
            before = [depth[j] for j, (_, end) in enumerate(spans[:i]) if end <= start]
            depth[i] = 1 + max(before, default=0)
        return max(depth.values(), default=0)


def test_the_pages_of_one_incident_are_fetched_in_two_round_trips(kit, sleeps):
    import httpx2

    fake = kit.big_account(950, 120)
    # A long latency keeps the two waves apart even on a loaded machine.
    tracker = Tracker(fake, latency=0.3)
    source = PagerDutySource(transport=httpx2.MockTransport(tracker), sleep=sleeps)
    toml = kit.SETTINGS + "concurrency = 16\n"
    config = make_config(toml, plugins=make_plugins(source, default_plugins=False))
    source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    assert len(fake.requests) == 14
    assert tracker.peak <= 16
    assert tracker.round_trips() == 2  # two waves, not fourteen


def test_concurrency_one_is_strictly_serial(kit, sleeps):
    import httpx2

    fake = kit.big_account(250, 10)
    tracker = Tracker(fake, latency=0.005)
    source = PagerDutySource(transport=httpx2.MockTransport(tracker), sleep=sleeps)
    config = make_config(kit.SETTINGS + "concurrency = 1\n", plugins=make_plugins(source, default_plugins=False))
    source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    assert tracker.peak == 1
    assert len(fake.requests) == 1 + 3 + 1 + 1


def _past(kit, n: int, created: datetime, service_id: str = "PIJ90N7") -> dict:
    incident = kit.spec_incident()
    incident.update(
        id=f"PPAST{n:05d}",
        incident_number=n,
        created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        service={**incident["service"], "id": service_id},
    )
    return incident


def test_history_lists_past_incidents_of_the_same_service_within_the_window(kit, source_for):
    fake = kit.fake_account()
    created = datetime(2015, 10, 6, 21, 30, 42, tzinfo=UTC)
    fake.incidents += [
        _past(kit, 1, created - timedelta(days=10)),
        _past(kit, 2, created - timedelta(days=40)),
        _past(kit, 3, created - timedelta(days=400)),  # outside the window
        _past(kit, 4, created - timedelta(days=5), service_id="POTHER"),  # another service
    ]
    source, config = source_for(fake, kit.SETTINGS.replace("history_days = 0", "history_days = 90"))
    result = source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    assert sorted(i.id for i in result.history) == ["PPAST00001", "PPAST00002"]
    assert all(i.services == ("My Mail Service",) and i.created for i in result.history)
    listing = [r.url.params for r in fake.requests if r.url.path == "/incidents"]
    assert len(listing) == 1
    assert listing[0].get_list("service_ids[]") == ["PIJ90N7"]
    assert listing[0]["until"] == "2015-10-06T21:30:42Z"
    assert listing[0]["since"] == "2015-07-08T21:30:42Z"


def test_a_long_history_window_is_split_into_ranges_the_api_accepts(kit, source_for):
    fake = kit.fake_account()
    source, config = source_for(fake, kit.SETTINGS.replace("history_days = 0", "history_days = 400"))
    source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    ranges = [
        (datetime.fromisoformat(p["since"]), datetime.fromisoformat(p["until"]))
        for p in (r.url.params for r in fake.requests if r.url.path == "/incidents")
    ]
    assert len(ranges) == 3
    assert all(until - since <= timedelta(days=180) for since, until in ranges)
    assert sum((until - since for since, until in ranges), timedelta()) == timedelta(days=400)


def test_a_window_with_more_than_ten_thousand_incidents_is_bisected(kit, source_for):
    fake = kit.fake_account()
    created = datetime(2015, 10, 6, 21, 30, 42, tzinfo=UTC)
    service = kit.spec_incident()["service"]
    busy = [
        {
            "id": f"PBUSY{n:05d}",
            "created_at": (created - timedelta(days=20, seconds=n * 60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "service": service,
        }
        for n in range(10_050)
    ]
    fake.incidents += busy
    source, config = source_for(fake, kit.SETTINGS.replace("history_days = 0", "history_days = 30"))
    result = source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    assert len(result.history) == 10_050
    for request in fake.requests:
        if request.url.path == "/incidents":
            assert int(request.url.params["offset"]) + int(request.url.params["limit"]) <= 10_000


def test_more_than_ten_thousand_log_entries_stop_at_the_api_limit_with_a_gap(kit, source_for):
    from retroflow_pagerduty.testing import FakePagerDuty

    incident = kit.spec_incident()
    entries = [
        {"id": f"R{n:07d}", "type": "notify_log_entry", "created_at": "2015-10-06T21:31:00Z"} for n in range(10_050)
    ]
    fake = FakePagerDuty([incident], log_entries={"PT4KHLK": entries}, token=kit.TOKEN)
    source, config = source_for(fake, kit.SETTINGS + "concurrency = 16\n")
    result = source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    assert len([e for e in result.events if e.kind is EventKind.PAGE]) == 10_000
    (gap,) = result.gaps
    assert gap.kind == "skipped"
    assert "10050 results" in gap.reason and "10000" in gap.reason
    assert max(int(r.url.params.get("offset", 0)) for r in fake.requests) == 9_900
