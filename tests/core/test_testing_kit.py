"""retroflow.testing: running a source once, as the engine does, and its test seams."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from retroflow import Config, Incident, RetroRequest, SourceResult, Timeline, hookimpl
from retroflow.testing import (
    NOW,
    check_entry_point,
    collect_source,
    environment_fixture,
    json_fixtures,
    make_event,
    make_incident,
    make_source,
    run_source,
)

#: Used by every test of this module (autouse), as a plugin's conftest.py uses it.
_secrets = environment_fixture(ACME_KIT_TOKEN="acme-FAKE-token")


@attrs.frozen
class _AskedSettings:
    on: bool = False


class _Asked:
    """A source that says what it was given, once ``[plugins.asked] on`` is set."""

    __name__ = "asked"

    def __init__(self, *, session: Any = None, sleep: Any = None, now: Any = None) -> None:
        self.session, self.sleep, self.now = session, sleep, now

    @hookimpl
    def retroflow_register_settings(self, register: Any) -> None:
        register("asked", _AskedSettings)

    @hookimpl
    def retroflow_timeline_source(
        self, request: RetroRequest, config: Config, incident: Incident, timeline: Timeline
    ) -> SourceResult | None:
        if not config.settings_for("asked").on:
            return None
        said = f"{request.incident_ref} {incident.id} {len(timeline.events)} {config.path.parent.name}"
        return SourceResult(gaps=[_gap(said)])


def _gap(reason: str) -> Any:
    from retroflow.sources import skipped

    return skipped("asked", reason)


def test_run_source_gives_the_source_what_it_asks_for_with_defaults(tmp_path: Path) -> None:
    result = collect_source(_Asked(), "[plugins.asked]\non = true\n", tmp_path)
    assert [g.reason for g in result.gaps] == [f"INC-1 INC-1 0 {tmp_path.name}"]
    timeline = Timeline.from_events([make_event("signal", 0)])
    given = collect_source(
        _Asked(), "[plugins.asked]\non = true\n", tmp_path, incident=make_incident(id="PAY-7"), timeline=timeline
    )
    assert [g.reason for g in given.gaps] == [f"PAY-7 PAY-7 1 {tmp_path.name}"], "the request follows the incident"
    asked = collect_source(_Asked(), "[plugins.asked]\non = true\n", tmp_path, request="PD-9")
    assert [g.reason for g in asked.gaps] == [f"PD-9 PD-9 0 {tmp_path.name}"], "the incident follows the request"


def test_a_source_that_declines_is_none_for_run_source_and_a_failure_for_collect_source(tmp_path: Path) -> None:
    assert run_source(_Asked(), "", tmp_path) is None
    with pytest.raises(AssertionError, match="expected a SourceResult, got None"):
        collect_source(_Asked(), "", tmp_path)


class _Installed:
    """An entry point of the ``retroflow`` group, found installed."""

    name = "asked"

    def __init__(self, plugin: object) -> None:
        self.plugin = plugin

    def load(self) -> object:
        return self.plugin


class _Eager(_Asked):
    """A source that answers whether or not its table is there."""

    @hookimpl
    def retroflow_timeline_source(self, request: RetroRequest) -> SourceResult:  # type: ignore[override]
        return SourceResult()


def test_check_entry_point_refuses_a_source_that_answers_without_its_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [_Installed(_Asked())])
    check_entry_point("asked", reads=("incident",))
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [_Installed(_Eager())])
    with pytest.raises(AssertionError, match=r"without \[plugins.asked\] the source returned SourceResult\("):
        check_entry_point("asked")


def test_make_source_passes_the_session_a_quiet_sleep_and_a_fixed_clock() -> None:
    source = make_source(_Asked, "session")
    assert (source.session, source.sleep(30), source.now()) == ("session", None, NOW)
    later = make_source(_Asked, now=NOW + timedelta(days=1))
    assert later.now() == NOW + timedelta(days=1)


def test_json_fixtures_reads_a_file_of_the_directory_by_name(tmp_path: Path) -> None:
    (tmp_path / "reply.json").write_text('{"data": [1, 2]}', encoding="utf-8")
    assert json_fixtures(tmp_path)("reply.json") == {"data": [1, 2]}


def test_environment_fixture_sets_the_secrets_for_every_test_where_it_is_defined() -> None:
    import os

    assert os.environ["ACME_KIT_TOKEN"] == "acme-FAKE-token"
