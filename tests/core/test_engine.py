"""The engine: stage order, isolation of failing and hanging plugins, dedupe, determinism."""

from __future__ import annotations

import gc
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from retroflow import (
    ActionItem,
    Factor,
    Finding,
    Incident,
    Layer,
    RetroflowError,
    Score,
    SourceResult,
    hookimpl,
)
from retroflow.engine import build_retro, paused_gc
from retroflow.request import RetroRequest
from retroflow.serialize import dumps
from retroflow.testing import T0, build, make_config, make_event, make_incident, make_plugins


class Recorder:
    """Implements every stage hook and records the order of calls."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.event = make_event("signal", 0, source="rec", native_id="s1", service="checkout")

    @hookimpl
    def retroflow_timeline_source(self, request: RetroRequest) -> SourceResult:
        self.calls.append("source")
        return SourceResult(incident=make_incident(id=request.incident_ref), events=[self.event])

    @hookimpl
    def retroflow_find_factors(self) -> list[Factor]:
        self.calls.append("factors")
        return [Factor(key="k", layer=Layer.TECHNICAL, title="t", explanation="e", evidence=[self.event.id])]

    @hookimpl
    def retroflow_propose_actions(self, factors: tuple[Factor, ...]) -> list[ActionItem]:
        self.calls.append("actions")
        assert "k" in [f.key for f in factors]
        return [ActionItem.create(incident_id="INC-1", title="Alert on p95 > 500 ms on checkout", factors=["k"])]

    @hookimpl
    def retroflow_review_actions(self, retro: Any) -> list[Finding]:
        self.calls.append("review")
        assert all(a.score is None for a in retro.actions), "review runs before scoring"
        return [Finding(rule="r", message="m", suggestion="s", target=retro.actions[0].id)]


def _build(*plugins: object, config: str = "", ref: str = "INC-1") -> Any:
    manager = make_plugins(*plugins)
    return build_retro(RetroRequest(ref), plugins=manager, config=make_config(config, plugins=manager))


def test_stages_run_in_order_and_their_results_land_in_the_retro() -> None:
    recorder = Recorder()
    retro = _build(recorder)
    assert recorder.calls == ["source", "factors", "actions", "review"]
    assert "k" in [f.key for f in retro.factors]
    (action,) = [a for a in retro.actions if a.proposed_by == "recorder"]
    assert action.score is not None and action.score.model == "impact-math"
    assert "r" in [f.rule for f in action.findings]


class Raising:
    __name__ = "raising"

    @hookimpl
    def retroflow_timeline_source(self) -> None:
        raise RuntimeError("upstream said no")

    @hookimpl
    def retroflow_find_factors(self) -> None:
        raise ValueError("heuristic bug")


def test_a_raising_plugin_becomes_a_gap_and_the_retro_is_still_built() -> None:
    retro = _build(Recorder(), Raising())
    gaps = {(g.plugin, g.stage, g.kind): g.reason for g in retro.gaps}
    assert gaps[("raising", "collect", "error")] == "RuntimeError: upstream said no"
    assert gaps[("raising", "factors", "error")] == "ValueError: heuristic bug"
    assert "k" in [f.key for f in retro.factors], "the other heuristic's factor survives"
    assert len(retro.timeline) == 1


class Hanging:
    __name__ = "hanging"

    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl
    def retroflow_timeline_source(self) -> None:
        self.release.wait(30)

    @hookimpl
    def retroflow_propose_actions(self) -> None:
        self.release.wait(30)


def test_a_hanging_plugin_times_out_into_a_gap() -> None:
    hanging = Hanging()
    try:
        retro = _build(Recorder(), hanging, config="[retroflow]\nsource_timeout = 0.2\nplugin_timeout = 0.2\n")
    finally:
        hanging.release.set()
    kinds = {(g.plugin, g.stage): g.kind for g in retro.gaps}
    assert kinds[("hanging", "collect")] == "timeout"
    assert kinds[("hanging", "actions")] == "timeout"
    assert len(retro.timeline) == 1


def test_sources_run_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=5)

    class Waiter:
        def __init__(self, name: str) -> None:
            self.__name__ = name

        @hookimpl
        def retroflow_timeline_source(self) -> SourceResult:
            barrier.wait()  # only returns when both sources are running at once
            return SourceResult(events=[make_event("signal", 0, source=self.__name__, native_id="1")])

    retro = _build(Waiter("a"), Waiter("b"), config="[retroflow]\nsource_timeout = 5\n")
    assert not retro.gaps
    assert {e.source for e in retro.timeline.events} == {"a", "b"}


def test_a_source_asking_for_the_incident_gets_what_the_other_sources_said() -> None:
    seen: list[Any] = []

    class Follower:
        """Needs the incident's services and window, like a metrics or alerting source."""

        __name__ = "follower"

        @hookimpl
        def retroflow_timeline_source(self, incident: Any) -> SourceResult:
            seen.append(incident)
            return SourceResult(events=[make_event("change", -5, source="follower", native_id="d1")])

    retro = _build(Recorder(), Follower(), config="[retroflow]\nsource_timeout = 5\n")
    (incident,) = seen
    assert (incident.id, incident.services, incident.created) == ("INC-1", ("checkout",), make_incident().created)
    assert {e.source for e in retro.timeline.events} == {"rec", "follower"}
    assert not retro.gaps


def test_a_source_asking_for_the_timeline_sees_the_first_round_s_events_and_moments() -> None:
    seen: list[Any] = []

    class Deploys:
        """Reads around the incident's first signal, like a deploy-history source."""

        __name__ = "deploys"

        @hookimpl
        def retroflow_timeline_source(self, timeline: Any) -> SourceResult:
            seen.append(timeline)
            at = timeline.moments.first_signal - timedelta(minutes=5)
            return SourceResult(
                events=[make_event("deploy", at=at, source="deploys", native_id="d1", service="checkout")]
            )

    retro = _build(Deploys(), Recorder())
    (timeline,) = seen
    assert [e.id for e in timeline.events] == ["rec:s1"], "the first round's events, not its own"
    assert timeline.moments.first_signal == make_event("signal", 0).at
    assert [e.id for e in retro.timeline.events] == ["deploys:d1", "rec:s1"], "both rounds land in the retro"
    assert "change-before-incident" in [f.key for f in retro.factors]


def test_a_second_round_that_adds_nothing_reuses_the_timeline_it_was_given() -> None:
    """Building 100,000 events into a timeline twice cost a tenth of a second, for sources
    installed but not configured (they return None)."""
    given: list[Any] = []
    analysed: list[Any] = []

    class Idle:
        __name__ = "idle"

        @hookimpl
        def retroflow_timeline_source(self, timeline: Any) -> None:
            given.append(timeline)

    class Looker:
        __name__ = "looker"

        @hookimpl
        def retroflow_find_factors(self, timeline: Any) -> list[Any]:
            analysed.append(timeline)
            return []

    retro = _build(Idle(), Recorder(), Looker())
    assert given[0] is analysed[0] is retro.timeline
    assert [e.id for e in retro.timeline.events] == ["rec:s1"]


def test_the_second_round_gets_the_bare_reference_when_the_first_one_failed() -> None:
    seen: list[Any] = []

    class Broken:
        __name__ = "broken"

        @hookimpl
        def retroflow_timeline_source(self) -> SourceResult:
            raise RuntimeError("down")

    class Follower:
        __name__ = "follower"

        @hookimpl
        def retroflow_timeline_source(self, incident: Any) -> SourceResult:
            seen.append(incident)
            return SourceResult()

    retro = _build(Broken(), Follower(), ref="INC-9")
    assert [(i.id, i.created) for i in seen] == [("INC-9", None)]
    assert any(g.plugin == "broken" for g in retro.gaps)


def test_a_source_asking_for_the_incident_runs_after_the_others_and_gets_it_merged() -> None:
    order: list[str] = []

    class Pager:
        __name__ = "pager"

        @hookimpl
        def retroflow_timeline_source(self, request: RetroRequest) -> SourceResult:
            time.sleep(0.05)  # a slow first-round source is still waited for
            order.append("pager")
            return SourceResult(incident=make_incident(id=request.incident_ref, title="from the pager"))

    class Logs:
        __name__ = "logs"

        def __init__(self) -> None:
            self.seen: list[Incident] = []

        @hookimpl
        def retroflow_timeline_source(self, incident: Incident) -> SourceResult:
            order.append("logs")
            self.seen.append(incident)
            return SourceResult(events=[make_event("signal", 0, source="logs", native_id="1")])

    logs = Logs()
    manager = make_plugins(logs, Pager())
    request = RetroRequest("INC-1", overrides={"severity": "SEV1"})
    retro = build_retro(request, plugins=manager, config=make_config(plugins=manager))
    assert order == ["pager", "logs"]
    (incident,) = logs.seen
    assert (incident.title, incident.severity, incident.created) == ("from the pager", "SEV1", make_incident().created)
    assert "logs:1" in retro.timeline.index
    assert retro.incident.title == "from the pager"


def test_factor_citing_unknown_events_is_dropped_with_a_gap() -> None:
    class Liar:
        __name__ = "liar"

        @hookimpl
        def retroflow_find_factors(self) -> list[Factor]:
            return [Factor(key="made-up", layer=Layer.HUMAN, title="t", explanation="e", evidence=["nope:1"])]

    retro = _build(Recorder(), Liar())
    assert "made-up" not in {f.key for f in retro.factors}
    assert any(g.plugin == "liar" and "nope:1" in g.reason for g in retro.gaps)


def test_wrong_return_types_become_gaps() -> None:
    class Sloppy:
        __name__ = "sloppy"

        @hookimpl
        def retroflow_propose_actions(self) -> list[object]:
            return ["not an action"]

    retro = _build(Recorder(), Sloppy())
    assert any(g.plugin == "sloppy" and g.stage == "actions" for g in retro.gaps)


def test_a_source_returning_wrong_types_loses_only_its_bad_items() -> None:
    import attrs

    from retroflow import Event, Gap, Incident
    from retroflow.serialize import dumps as dump_json

    good = make_event("page", 1, source="sloppy", native_id="good")
    naive = attrs.evolve(good, native_id="naive", at=good.at.replace(tzinfo=None))

    class Sloppy:
        __name__ = "sloppy"

        @hookimpl
        def retroflow_timeline_source(self) -> SourceResult:
            return SourceResult(
                events=[
                    42,  # an int as an event
                    good,
                    naive,  # a naive datetime
                    attrs.evolve(good, native_id="str-at", at="2026-11-02T14:01:00Z"),  # 'at' as a string
                    attrs.evolve(good, native_id="far", at=good.at.replace(year=9999)),
                    attrs.evolve(good, native_id="word", kind="page"),  # a word, not an EventKind
                    attrs.evolve(good, native_id="nul", summary="paged\x00"),
                    attrs.evolve(good, native_id="nan", details={"ratio": float("nan")}),
                    attrs.evolve(good, native_id="n", actor=["alice"]),
                    Event.create(at=good.at, source="sloppy", kind="ack", summary="acked", native_id="ok2"),
                ],
                history=[make_incident(id="PAST-1", created=good.at - timedelta(days=3)), "PAST-2"],
                gaps=[Gap("sloppy", "collect", "skipped", "kept"), "a string", Gap(1, 2, 3, 4)],  # type: ignore[arg-type]
            )

    retro = _build(Recorder(), Sloppy())
    ids = {e.id for e in retro.timeline.events}
    assert {"sloppy:good", "sloppy:ok2", "rec:s1"} <= ids
    assert not ids & {f"sloppy:{n}" for n in ("naive", "str-at", "far", "word", "nul", "nan", "n")}
    reasons = {g.reason for g in retro.gaps if g.plugin == "sloppy"}
    assert "returned 8 event(s) it had to drop (int is not an Event)" in reasons
    assert "returned 1 past incident(s) it had to drop (str is not an Incident)" in reasons
    assert "returned 2 gap(s) it had to drop (str is not a Gap)" in reasons
    assert "kept" in reasons, "the source's own good gap is kept"
    assert [i.id for i in retro.history] == ["PAST-1"] and isinstance(retro.history[0], Incident)
    dump_json(retro)  # and the retro can be written


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"at": T0.replace(tzinfo=None)}, "has no UTC offset"),
        ({"at": "2026-11-02T14:01:00Z"}, "'at' is str, not a datetime"),
        ({"at": T0.replace(year=1)}, "is outside 1900-01-01 .. 2999-12-31"),
        ({"kind": "page"}, "'kind' 'page' is not an EventKind"),
        ({"summary": 3}, "'summary' is int, not a string"),
        ({"summary": "a\x00"}, "'summary' contains a NUL character"),
        ({"native_id": "\ud800"}, "'native_id' is not valid Unicode"),
        ({"source": "a:b"}, "'source' 'a:b' contains ':'"),
        ({"link": b"https://x"}, "'link' is bytes, not a string"),
        ({"details": [1]}, "'details' is list, not an object"),
        ({"details": {"x": float("inf")}}, "'details' hold inf"),
        ({"details": {"x": ["\x00"]}}, "'details' contains a NUL character"),
        ({"details": {(1,): 1}}, "'details' have a key that is tuple"),
    ],
)
def test_each_reason_an_event_is_dropped_is_named(change: dict[str, Any], reason: str) -> None:
    import attrs

    from retroflow.validation import event_problem

    good = make_event("page", 1, source="s", native_id="n")
    assert event_problem(good) is None
    assert reason in (event_problem(attrs.evolve(good, **change)) or "")


def test_details_may_nest_as_deep_as_json_writers_go_and_no_deeper() -> None:
    from retroflow.validation import MAX_DETAILS_DEPTH, checked_result, details_problem

    def nested(depth: int) -> dict[str, Any]:
        value: dict[str, Any] = {"leaf": 1}
        for _ in range(depth - 1):
            value = {"in": value}
        return value

    deepest, too_deep = nested(MAX_DETAILS_DEPTH), nested(MAX_DETAILS_DEPTH + 1)
    assert details_problem(deepest) is None and details_problem({"big": 2**80}) is None
    assert details_problem(too_deep) == f"'details' nest deeper than {MAX_DETAILS_DEPTH} levels"
    events = [make_event("signal", i, native_id=str(i), details=d) for i, d in enumerate([deepest, too_deep])]
    kept, gaps = checked_result("deep", SourceResult(events=events))
    assert [e.native_id for e in kept.events] == ["0"] and gaps[0].count == 1


def test_the_same_event_from_two_sources_is_kept_once() -> None:
    event = make_event("page", 1, source="pagerduty", native_id="LOG1")

    class Twin:
        def __init__(self, name: str) -> None:
            self.__name__ = name

        @hookimpl
        def retroflow_timeline_source(self) -> SourceResult:
            return SourceResult(events=[event, event])

    retro = _build(Recorder(), Twin("one"), Twin("two"))
    assert [e.id for e in retro.timeline.events].count("pagerduty:LOG1") == 1


class WithHistory:
    """A source whose history holds the incident itself, one before it, one two days after
    it (a saved ``incidents.json`` is not cut at the incident) and one with no date."""

    __name__ = "with-history"

    @hookimpl
    def retroflow_timeline_source(self, request: RetroRequest) -> SourceResult:
        incident = make_incident(id=request.incident_ref, created=T0 + timedelta(minutes=5))
        before = make_incident(id="PAST-1", created=T0 - timedelta(days=3))
        same_start = make_incident(id="PAST-2", created=T0 + timedelta(minutes=1))  # after the first signal
        after = make_incident(id="LATER-1", created=T0 + timedelta(days=2))
        undated = make_incident(id="UNDATED-1", created=None)
        return SourceResult(
            incident=incident,
            events=[make_event("signal", 0, service="checkout")],
            history=[incident, after, before, same_start, undated],
        )

    @hookimpl
    def retroflow_propose_actions(self) -> list[ActionItem]:
        return [ActionItem.create(incident_id="INC-1", title="Alert on checkout 5xx within 5 min")]


def test_history_is_the_incidents_created_before_this_one() -> None:
    retro = _build(WithHistory())
    # created before this incident (whatever its first signal), or of unknown date
    assert [past.id for past in retro.history] == ["PAST-1", "PAST-2", "UNDATED-1"]
    (action,) = [a for a in retro.actions if a.proposed_by == "with-history"]
    assert action.score is not None
    assert "(3 past incident(s) on checkout)" in action.score.explanation  # not LATER-1


def test_no_source_knowing_the_incident_is_an_error() -> None:
    with pytest.raises(RetroflowError, match="no timeline source knows incident 'X-1'"):
        _build(ref="X-1")


def test_same_inputs_give_byte_identical_documents() -> None:
    events = [make_event("deploy", -5, service="checkout", native_id="d"), make_event("signal", 0, native_id="s")]
    plugins = make_plugins()
    first, second = build(events), build(list(reversed(events)))
    for name in ("json", "markdown"):
        renderer = plugins.renderers.get(name)
        assert renderer.render(first) == renderer.render(second)
    assert dumps(first).encode() == dumps(build(events)).encode()


def test_actions_are_sorted_by_score_and_the_top_ones_are_the_focus() -> None:
    class Scorer:
        name = "by-length"

        def score(self, action: ActionItem, context: object) -> Score:
            return Score(model=self.name, value=len(action.title), explanation="length of the title")

    class Plugin:
        __name__ = "lengthy"

        @hookimpl
        def retroflow_register_scoring_models(self, register: Any) -> None:
            register(Scorer())

        @hookimpl
        def retroflow_propose_actions(self) -> list[ActionItem]:
            return [ActionItem.create(incident_id="I", title="x" * n) for n in (3, 9, 5, 7)]

    retro = _build(Recorder(), Plugin(), config='[retroflow]\nscoring = "by-length"\nfocus = 2\n')
    values = [a.score.value for a in retro.actions if a.score]
    assert values == sorted(values, reverse=True)
    assert [a.focus for a in retro.actions] == [True, True] + [False] * (len(retro.actions) - 2)


def test_a_failing_scoring_model_leaves_the_action_unscored_with_a_gap() -> None:
    class Broken:
        name = "broken"

        def score(self, action: ActionItem, context: object) -> Score:
            raise ZeroDivisionError("effort was zero")

    class Plugin:
        __name__ = "broken-scoring"

        @hookimpl
        def retroflow_register_scoring_models(self, register: Any) -> None:
            register(Broken())

    retro = _build(Recorder(), Plugin(), config='[retroflow]\nscoring = "broken"\n')
    assert retro.actions and all(a.score is None for a in retro.actions)
    assert any(g.stage == "score" and "effort was zero" in g.reason for g in retro.gaps)


def test_a_generator_that_fails_while_iterated_is_still_isolated() -> None:
    class Lazy:
        __name__ = "lazy"

        @hookimpl
        def retroflow_find_factors(self) -> Any:
            yield from ()
            raise RuntimeError("failed half way through")

    retro = _build(Recorder(), Lazy())
    assert any(g.plugin == "lazy" and "half way" in g.reason for g in retro.gaps)
    assert "k" in {f.key for f in retro.factors}


def test_equal_scores_are_ordered_by_the_strength_of_the_condition_they_answer() -> None:
    class Flat:
        name = "flat"

        def score(self, action: ActionItem, context: object) -> Score:
            return Score(model=self.name, value=1.0)

    class Plugin:
        __name__ = "ties"

        @hookimpl
        def retroflow_register_scoring_models(self, register: Any) -> None:
            register(Flat())

        @hookimpl
        def retroflow_find_factors(self, timeline: Any) -> list[Factor]:
            evidence = [timeline.events[0].id]
            return [
                Factor(key="weak", layer=Layer.HUMAN, title="w", explanation="e", evidence=evidence, strength=0.2),
                Factor(key="strong", layer=Layer.HUMAN, title="s", explanation="e", evidence=evidence, strength=0.9),
            ]

        @hookimpl
        def retroflow_propose_actions(self) -> list[ActionItem]:
            return [
                ActionItem.create(incident_id="I", title="A answers weak", factors=["weak"]),
                ActionItem.create(incident_id="I", title="B answers strong", factors=["strong"]),
            ]

    retro = _build(Recorder(), Plugin(), config='[retroflow]\nscoring = "flat"\n')
    titles = [a.title for a in retro.actions if a.proposed_by == "ties"]
    assert titles == ["B answers strong", "A answers weak"]


class _Node:
    def __init__(self) -> None:
        self.other: Any = self  # a reference cycle: only the cyclic collector frees it


def test_paused_gc_promotes_what_it_allocated_and_cycles_are_still_collected() -> None:
    gc.collect()
    with paused_gc():
        assert not gc.isenabled()
        kept = [_Node() for _ in range(5000)]
        _Node()  # garbage in a cycle, made while paused
    assert gc.isenabled()
    assert gc.get_count()[0] < 1000, "the 5,000 objects were not left in generation 0"
    assert gc.get_freeze_count() == 0
    assert gc.collect() >= 1, "the cycle made while paused is still found"
    assert len(kept) == 5000


def test_paused_gc_leaves_objects_someone_froze_alone() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused_gc():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_the_source_contract_refuses_what_the_engine_would_drop() -> None:
    from retroflow.testing import check_source_contract

    class Nul:
        __name__ = "nul"

        @hookimpl
        def retroflow_timeline_source(self) -> SourceResult:
            return SourceResult(events=[make_event("page", 1, summary="paged\x00")])

    with pytest.raises(AssertionError, match="'summary' contains a NUL character"):
        check_source_contract(Nul(), RetroRequest("INC-1"))
