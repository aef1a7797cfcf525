"""Builds running at once share one plugin manager; each sees only its own human input
(issue 10 item 11: per-build input travels as arguments, never as plugin state)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from retroflow import Factor, Layer, SourceResult, Timeline, hookimpl
from retroflow.model import Retro
from retroflow.request import RetroRequest
from retroflow.store import AddedEvent, HumanInput, build_with_input
from retroflow.testing import make_config, make_event, make_incident, make_plugins


class BothAtOnce:
    """A source that answers only once two builds are collecting at the same time."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)

    @hookimpl
    def retroflow_timeline_source(self, request: RetroRequest) -> SourceResult:
        self.barrier.wait()
        incident = make_incident(id=request.incident_ref)
        return SourceResult(incident=incident, events=[make_event("alert", 0), make_event("resolve", 30)])


class CitesDecisions:
    """A heuristic: one factor per decision it is shown (so it proves what the factor
    stage saw, not only what ended on the timeline)."""

    @hookimpl
    def retroflow_find_factors(self, timeline: Timeline) -> list[Factor]:
        return [
            Factor(f"decided-{e.native_id}", Layer.HUMAN, e.summary, "a decision", [e.id])
            for e in timeline.events
            if e.kind == "decision"
        ]


def human(text: str) -> HumanInput:
    at = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)
    return HumanInput.from_items([AddedEvent(at=at, kind="decision", summary=text, id=text)])


def human_events(retro: Retro) -> set[str]:
    """The human events the factor stage saw (each one cited by a factor)."""
    on_timeline = {e.summary for e in retro.timeline.events if e.source == "human"}
    assert on_timeline == {f.title for f in retro.factors if f.key.startswith("decided-")}
    return on_timeline


def test_two_builds_at_once_each_apply_only_their_own_human_input() -> None:
    plugins = make_plugins(BothAtOnce(), CitesDecisions())
    config = make_config(plugins=plugins)
    names_before = {name for name, _ in plugins.pm.list_name_plugin()}

    def run(ref: str, text: str) -> Retro:
        return build_with_input(RetroRequest(incident_ref=ref), human(text), plugins=plugins, config=config)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(run, "INC-A", "rolled back checkout")
        second = pool.submit(run, "INC-B", "failed over payments")
        a, b = first.result(timeout=30), second.result(timeout=30)
    assert human_events(a) == {"rolled back checkout"}
    assert human_events(b) == {"failed over payments"}
    assert {name for name, _ in plugins.pm.list_name_plugin()} == names_before  # nothing registered


def test_two_builds_of_one_incident_at_once_keep_their_inputs_apart() -> None:
    plugins = make_plugins(BothAtOnce(), CitesDecisions())
    config = make_config(plugins=plugins)
    request = RetroRequest(incident_ref="INC-A")
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(build_with_input, request, human("one"), plugins=plugins, config=config)
        second = pool.submit(build_with_input, request, human("two"), plugins=plugins, config=config)
        assert human_events(first.result(timeout=30)) == {"one"}
        assert human_events(second.result(timeout=30)) == {"two"}
