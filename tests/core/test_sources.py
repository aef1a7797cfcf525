"""retroflow.sources: what timeline source plugins share."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest

from retroflow import Config, Incident, SourceResult, Timeline, hookimpl
from retroflow.sources import (
    BadRecord,
    ChangeSource,
    ChangeWindow,
    HttpSourceSettings,
    SkippedRecords,
    SourcePlugin,
    change_window,
    incident_window,
    open_ended_window,
    record_time,
)
from retroflow.testing import T0, config_for, make_event, make_incident


@attrs.frozen
class _Margins:
    before_minutes: float = 30
    after_minutes: float = 10


def test_the_incident_window_runs_from_before_its_creation_to_after_it_resolved() -> None:
    incident = make_incident(created=T0, resolved=T0 + timedelta(hours=1))
    assert incident_window(incident, _Margins(), T0) == (T0 - timedelta(minutes=30), T0 + timedelta(minutes=70))
    open_one = make_incident(created=T0, resolved=None)
    assert incident_window(open_one, _Margins(), T0 + timedelta(hours=2))[1] == T0 + timedelta(minutes=130)  # type: ignore[index]
    assert incident_window(make_incident(created=None), _Margins(), T0) is None


def test_the_open_ended_window_is_open_where_a_time_is_unknown() -> None:
    incident = make_incident(created=T0, resolved=T0 + timedelta(hours=1))
    assert open_ended_window(incident, 30, 10) == (T0 - timedelta(minutes=30), T0 + timedelta(minutes=70))
    assert open_ended_window(make_incident(created=None, resolved=None), 30, 10) == (None, None)
    assert open_ended_window(make_incident(created=T0, resolved=None), 30, 10) == (T0 - timedelta(minutes=30), None)


def test_an_open_window_is_the_open_ended_window_as_a_value() -> None:
    from retroflow.sources import OpenWindow

    @attrs.frozen
    class Kept(OpenWindow):
        pass

    window = Kept.around(make_incident(created=T0, resolved=None), 30, 10)
    assert window == Kept(T0 - timedelta(minutes=30), None) and window.known
    assert isinstance(window, Kept)
    assert not OpenWindow.around(make_incident(created=None, resolved=None), 30, 10).known


def test_the_change_window_starts_hours_before_the_first_signal() -> None:
    timeline = Timeline.from_events([make_event("signal", -20), make_event("resolution", 50)])
    window = change_window(make_incident(created=T0, resolved=None), timeline, 2, T0 + timedelta(days=1))
    assert window == ChangeWindow(T0 - timedelta(minutes=140), T0 + timedelta(minutes=50))
    assert T0 in window and T0 + timedelta(hours=1) not in window
    assert change_window(Incident(id="X", source="t"), Timeline.from_events([]), 2, T0) is None


def test_skipped_records_are_counted_by_kind_with_the_first_reason() -> None:
    class Skips(SkippedRecords):
        source = "acme"

    skips = Skips()
    skips.add("alerts", "no id")
    skips.add("alerts", "no time")
    skips.add("notes", "empty")
    assert [(g.plugin, g.reason, g.count) for g in skips.gaps()] == [
        ("acme", "alerts: 2 record(s) skipped (no id)", 2),
        ("acme", "notes: 1 record(s) skipped (empty)", 1),
    ]


def test_record_time_reads_iso_8601_with_an_offset_or_says_why_not() -> None:
    assert record_time({"at": "2026-11-02T15:00:00+01:00"}, "at") == T0
    with pytest.raises(BadRecord, match="missing 'at'"):
        record_time({}, "at")
    with pytest.raises(BadRecord, match="not an ISO 8601 time with an offset"):
        record_time({"at": "yesterday"}, "at")


@attrs.frozen
class _AcmeSettings(HttpSourceSettings):
    url: str | None = None

    @property
    def configured(self) -> bool:
        return self.url is not None


class _AcmeSource(SourcePlugin):
    table = "acme"
    settings_class = _AcmeSettings

    @hookimpl
    def retroflow_timeline_source(self, config: Config) -> SourceResult | None:
        settings: Any = self.configured(config)
        return None if settings is None else SourceResult(gaps=[self.gap(f"read {settings.url}")])


def test_a_source_plugin_registers_its_table_and_runs_only_when_configured() -> None:
    plugin = _AcmeSource()
    assert plugin.__name__ == "acme"
    unconfigured = config_for(plugin, "[plugins.acme]\nrequest_timeout = 5\n")
    assert plugin.retroflow_timeline_source(unconfigured) is None
    assert unconfigured.settings_for("acme").request_timeout == 5
    result = plugin.retroflow_timeline_source(config_for(plugin, '[plugins.acme]\nurl = "https://acme.example"\n'))
    assert result is not None and [(g.plugin, g.reason) for g in result.gaps] == [("acme", "read https://acme.example")]


def test_http_source_settings_check_their_values() -> None:
    with pytest.raises(ValueError, match="max_retries: expected 0 or more"):
        HttpSourceSettings(max_retries=-1)
    with pytest.raises(ValueError, match="request_timeout: expected a positive number"):
        HttpSourceSettings(request_timeout=0)


def test_saved_replies_are_read_in_page_order_with_errors_naming_the_file(tmp_path: Any) -> None:
    from retroflow import SourceError
    from retroflow.sources import load_saved_reply, page_order, saved_directory

    for name in ("logs.json", "logs.10.json", "logs.2.json"):
        (tmp_path / name).write_text('{"n": 1}', encoding="utf-8")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    assert [p.name for p in sorted(tmp_path.glob("logs*.json"), key=page_order)] == [
        "logs.json",
        "logs.2.json",
        "logs.10.json",
    ]
    assert load_saved_reply(saved_directory(tmp_path, "Acme", "acme") / "logs.json", "Acme") == {"n": 1}
    with pytest.raises(SourceError, match=r"saved Acme reply .*bad\.json: "):
        load_saved_reply(tmp_path / "bad.json", "Acme")
    with pytest.raises(SourceError, match=r"is not a directory \(\[plugins\.acme\] replies\)"):
        saved_directory(tmp_path / "nowhere", "Acme", "acme")


@attrs.frozen
class _ChangeSettings(HttpSourceSettings):
    window_hours: float = 2

    @property
    def configured(self) -> bool:
        return True


class _Changes(ChangeSource):
    table = "changes"
    settings_class = _ChangeSettings

    def collect(self, settings: Any, window: ChangeWindow, config: Config) -> SourceResult:
        return SourceResult(gaps=[self.gap(f"read {window}")])


def test_a_change_source_reads_its_window_or_says_there_is_none() -> None:
    plugin = _Changes(now=lambda: T0)
    config = config_for(plugin, "[plugins.changes]\n")
    timeline = Timeline.from_events([])
    read = plugin.retroflow_timeline_source(config, make_incident(created=T0, resolved=None), timeline)
    assert read is not None and [g.reason for g in read.gaps] == [f"read {ChangeWindow(T0 - timedelta(hours=2), T0)}"]
    unknown = plugin.retroflow_timeline_source(config, make_incident(created=None), timeline)
    assert unknown is not None and [(g.plugin, g.kind) for g in unknown.gaps] == [("changes", "skipped")]
    assert "no source says when the incident began" in unknown.gaps[0].reason


def test_a_record_reference_is_what_the_first_matching_pattern_gives() -> None:
    import re

    from retroflow.sources import RecordRef

    patterns = ((re.compile(r"^#?([0-9]+)$"), True), (re.compile(r"^[A-Z0-9]{5,}$"), False))
    assert RecordRef.first_match(" #42 ", patterns) == RecordRef("42", by_number=True), "the first that matches wins"
    assert RecordRef.first_match("PT4KHLK", patterns) == RecordRef("PT4KHLK"), "no group: the whole text"
    assert RecordRef.first_match("a-b", patterns) is None
    assert (str(RecordRef("42", by_number=True)), str(RecordRef("PT4KHLK"))) == ("#42", "PT4KHLK")


def test_saved_replies_must_be_of_the_record_asked_for() -> None:
    from retroflow import SourceError
    from retroflow.sources import RecordRef, check_saved_record

    record = {"id": "Q1", "url": "https://x/Q1", "number": 7}
    for asked, ref in (("Q1", RecordRef("Q1")), ("#7", None), ("7", None), (" https://x/Q1/ ", RecordRef("Q1"))):
        check_saved_record(record, asked, ref, names=("id", "url"), number="number", saved="saved Acme replies are for")
    with pytest.raises(SourceError, match=r"^saved Acme replies are for Q1 \(#7\), not '#8'$"):
        check_saved_record(
            record,
            "#8",
            RecordRef("8", by_number=True),
            names=("id",),
            number="number",
            saved="saved Acme replies are for",
        )


def test_read_record_closes_the_client_and_says_what_is_missing() -> None:
    from retroflow import SourceError
    from retroflow.sources import read_record

    class Client:
        closed = 0

        def close(self) -> None:
            self.closed += 1

    class Missing(Exception):
        pass

    def missing() -> None:
        raise Missing("HTTP 404")

    client = Client()
    assert read_record(client, lambda: "read", Missing, "alert #1 not found") == "read"
    with pytest.raises(SourceError, match=r"^alert #1 not found$") as info:
        read_record(client, missing, Missing, "alert #1 not found")
    assert info.value.__context__ is None or info.value.__suppress_context__
    assert client.closed == 2


def test_parsed_by_checks_a_setting_with_the_parser_that_reads_it() -> None:
    from retroflow.sources import parsed_by

    def parse(entries: list[str]) -> dict[str, str]:
        for i, entry in enumerate(entries):
            if "=" not in entry:
                raise ValueError(f"services[{i}]: expected service=value, got {entry!r}")
        return dict(entry.split("=", 1) for entry in entries)

    @attrs.frozen
    class Settings:
        services: list[str] = attrs.field(factory=list, validator=parsed_by(parse))

    assert Settings(["payments=pay"]).services == ["payments=pay"]
    with pytest.raises(ValueError, match=r"services\[1\]: expected service=value, got 'oops'"):
        Settings(["payments=pay", "oops"])


def test_service_entries_are_read_in_order_and_a_bad_one_is_named() -> None:
    from retroflow.sources import service_entries

    def team(rest: str) -> str | None:
        key, _, value = rest.partition(":")
        if key == "team" and not value.isdigit():
            raise ValueError(f"team id {value!r} is not a number")
        return value if key == "team" else None

    expected = '"service=team:ID"'
    assert service_entries([" payments = team:7 ", "search=team:9"], "services", expected, team) == [
        ("payments", "7"),
        ("search", "9"),
    ]
    for entries, message in [
        (["payments=team:7", "search"], r"""^services\[1\]: expected "service=team:ID", got 'search'$"""),
        (["=team:7"], r"^services\[0\]: expected"),
        (["payments= "], r"^services\[0\]: expected"),
        (["payments=tag:x"], r"""^services\[0\]: expected "service=team:ID", got 'payments=tag:x'$"""),
        (["payments=team:x"], r"^services\[0\]: team id 'x' is not a number$"),
    ]:
        with pytest.raises(ValueError, match=message):
            service_entries(entries, "services", expected, team)
