"""The engine: runs the stages of a retro in order, each plugin isolated.

Error policy (pluggy stops a hook call at the first exception and drops what was already
collected, so the engine does not call collecting hooks through ``pm.hook``):

* timeline sources run concurrently, one thread each, each with its own timeout (those
  that ask for the incident or the timeline in a second round, once the others have
  described it);
* every other collecting hook is called one implementation at a time, each with a timeout;
* an implementation that raises or runs past its timeout becomes a :class:`Gap` in the
  retro and the retro is still built; except a timeline source raising
  :class:`~retroflow.errors.ConfigError` (its configuration or the request's input is
  wrong): that stops the build, since the retro would be built without what was asked for;
* errors at load time (a bad hook implementation) fail fast, before any of this.

The same inputs give the same retro, and so byte-identical documents.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import queue
import threading
import time
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs
import pluggy

from retroflow.config import Config
from retroflow.errors import ConfigError, RetroflowError
from retroflow.logs import bound_context, get_logger, redact_text
from retroflow.model import (
    ActionItem,
    Event,
    EventKind,
    Factor,
    Finding,
    Gap,
    Incident,
    PastActions,
    Retro,
    SourceResult,
    Timeline,
    TimelineOwner,
    action_rank,
    sorted_factors,
    stable_id,
)
from retroflow.narrative import narrate
from retroflow.plugins import Plugins
from retroflow.request import RetroRequest
from retroflow.roles import Renderer, ScoringContext, ScoringModel, document_bytes
from retroflow.validation import checked_result

__all__ = [
    "PastActionsLookup",
    "Progress",
    "build_retro",
    "call_isolated",
    "describe_error",
    "describe_gap",
    "paused_gc",
    "render_document",
    "timeline_owner",
]

log = get_logger(__name__)

T = TypeVar("T")

#: Receives ``(stage, message)`` while a retro is built (the CLI prints them on stderr).
Progress = Callable[[str, str], None]

#: Answers "which past retro actions measurably improved the system?" for an incident, on
#: the history known before ``as_of`` (the store gives one: :func:`retroflow.outcomes.report.past_actions_lookup`).
PastActionsLookup = Callable[[Incident, datetime | None], PastActions]


@attrs.frozen
class _CallResult:
    """What one isolated call of a plugin gave: a value, or a gap (and the error, when it
    is the user's to fix)."""

    plugin: str
    value: Any = None
    gap: Gap | None = None
    error: BaseException | None = None


def describe_error(exc: BaseException) -> str:
    """An exception in one line, ``Type: message``, with secrets masked."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact_text(text)


class _Call:
    """One implementation running in a daemon thread (a hung plugin cannot be killed, but
    it is abandoned, and a daemon thread does not keep the process alive)."""

    def __init__(self, plugin: str, stage: str, func: Callable[[], Any]) -> None:
        self.plugin = plugin
        self.stage = stage
        self._result: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, args=(func,), name=f"retroflow-{stage}-{plugin}", daemon=True)
        self._thread.start()

    def _run(self, func: Callable[[], Any]) -> None:
        try:
            result = func()
            if isinstance(result, Iterator):
                # A generator does its work when iterated: iterate it here, inside the
                # isolated, timed call, not later in the engine where it could sink the retro.
                result = list(result)
            self._result.put((True, result))
        except BaseException as exc:  # isolated: every failure becomes a gap
            self._result.put((False, exc))

    def wait(self, deadline: float) -> _CallResult:
        try:
            ok, value = self._result.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            seconds = deadline - self._started
            log.warning("plugin timed out", plugin=self.plugin, stage=self.stage, seconds=round(seconds, 3))
            return _CallResult(
                self.plugin,
                gap=Gap(self.plugin, self.stage, "timeout", f"no answer within {seconds:g} s"),
            )
        elapsed = time.monotonic() - self._started
        if ok:
            log.debug("plugin done", plugin=self.plugin, stage=self.stage, seconds=round(elapsed, 4))
            return _CallResult(self.plugin, value=value)
        if isinstance(value, ConfigError):  # the user's to fix, not a plugin failure to log
            return _CallResult(
                self.plugin, gap=Gap(self.plugin, self.stage, "error", describe_error(value)), error=value
            )
        log.warning("plugin failed", plugin=self.plugin, stage=self.stage, error=describe_error(value))
        log.debug("plugin failure traceback", plugin=self.plugin, stage=self.stage, exc_info=value)
        return _CallResult(self.plugin, gap=Gap(self.plugin, self.stage, "error", describe_error(value)))


def call_isolated(
    plugins: Plugins, hook_name: str, stage: str, timeout: float, *, skip: Container[str] = (), **kwargs: Any
) -> list[_CallResult]:
    """Call each implementation of a collecting hook one at a time, isolated (except those
    of the plugins named in ``skip``)."""
    results = []
    for impl in plugins.implementations(hook_name):
        if impl.plugin_name in skip:
            continue
        call = _Call(impl.plugin_name, stage, _bind(plugins, impl, kwargs))
        results.append(call.wait(time.monotonic() + timeout))
    return results


def render_document(
    renderer: Renderer, retro: Retro, *, owner: str, timeout: float, config: Config | None = None
) -> bytes:
    """The document ``renderer`` makes of ``retro``, rendered like every plugin call: in
    its own thread, with a timeout (``[retroflow] plugin_timeout``).

    :param owner: the plugin that registered the renderer, for messages.
    :param config: passed to a renderer that takes it (:func:`~retroflow.roles.document_bytes`).
    :raises RetroflowError: the renderer failed or ran past its timeout (there is then no
        document, and the build must not be stored as if there were).
    """
    result = _Call(owner, "render", lambda: document_bytes(renderer, retro, config)).wait(time.monotonic() + timeout)
    if result.gap is not None:
        raise RetroflowError(f"renderer {renderer.name!r} of plugin {owner!r} failed: {result.gap.reason}")
    data: bytes = result.value
    return data


def describe_gap(gap: Gap) -> str:
    """A gap in one line: ``plugin (stage, kind): reason``."""
    return f"{gap.plugin} ({gap.stage}, {gap.kind}): {gap.reason}"


def _bind(plugins: Plugins, impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Callable[[], Any]:
    return lambda: plugins.call(impl, **kwargs)


#: Arguments of ``retroflow_timeline_source`` that make a source wait for the others.
_SECOND_ROUND = frozenset({"incident", "timeline"})


@attrs.frozen
class _Provisional:
    """The timeline the second round of sources was given, and what it was built from."""

    events: list[Event]
    incident: Incident
    timeline: Timeline

    def reused_for(self, events: list[Event], incident: Incident) -> Timeline | None:
        """This timeline, if ``events`` are the very same (the second round added none and
        none was dropped): building a timeline of 100,000 events twice costs a tenth of a
        second, and the second-round sources are often installed but not configured."""
        same = len(events) == len(self.events) and all(map(operator.is_, events, self.events))
        return self.timeline if same and incident == self.incident else None


def _collect_sources(
    plugins: Plugins, request: RetroRequest, config: Config, given: Sequence[tuple[str, SourceResult]] = ()
) -> tuple[list[_CallResult], _Provisional | None]:
    """Run every source, in two rounds: those that ask for the ``incident`` or the
    ``timeline`` (to query their system for its services and window) run once the others
    have described it. ``given`` results count as first-round sources' (human input)."""
    impls = plugins.implementations("retroflow_timeline_source")
    later = [impl for impl in impls if _SECOND_ROUND.intersection(impl.argnames)]
    results = _run_sources(plugins, [impl for impl in impls if impl not in later], config, request=request)
    results += [_CallResult(name, value=result) for name, result in given]
    provisional = None
    if later:
        known = [(r.plugin, r.value) for r in results if isinstance(r.value, SourceResult)]
        incident = _merge_incident(request, known)
        more: dict[str, Any] = {"request": request, "incident": incident}
        if any("timeline" in impl.argnames for impl in later):  # built only when asked for
            first = [e for _plugin, r in known for e in r.events]
            provisional = _Provisional(first, incident, Timeline.from_events(first, incident))
            more["timeline"] = provisional.timeline
        results += _run_sources(plugins, later, config, **more)
    return results, provisional


def _run_sources(plugins: Plugins, impls: list[pluggy.HookImpl], config: Config, **kwargs: Any) -> list[_CallResult]:
    """Start these sources at once; wait for each until its own deadline."""
    calls = []
    for impl in impls:
        settings = config.settings_for(impl.plugin_name)
        timeout = getattr(settings, "timeout", None) or config.engine.source_timeout
        call = _Call(impl.plugin_name, "collect", _bind(plugins, impl, {**kwargs, "config": config}))
        calls.append((call, time.monotonic() + float(timeout)))
    results = [call.wait(deadline) for call, deadline in calls]
    for result in results:
        if isinstance(result.error, ConfigError):
            raise result.error
    return results


def _items(result: _CallResult, expected: type[T], gaps: list[Gap], stage: str) -> list[T]:
    """The values an implementation returned, checked for type; wrong ones become gaps."""
    if result.value is None:
        return []
    values = result.value
    if isinstance(values, expected) or not isinstance(values, Iterable):
        values = [values]
    good: list[T] = []
    wrong = 0
    for value in values:
        if isinstance(value, expected):
            good.append(value)
        else:
            wrong += 1
    if wrong:
        gaps.append(
            Gap(result.plugin, stage, "error", f"returned {wrong} value(s) that are not {expected.__name__}", wrong)
        )
    return good


def _noop(stage: str, message: str) -> None:
    pass


def build_retro(
    request: RetroRequest,
    *,
    plugins: Plugins,
    config: Config,
    progress: Progress = _noop,
    amend: Callable[[Retro], Retro] | None = None,
    past_actions: PastActionsLookup | None = None,
    given: Sequence[tuple[str, SourceResult]] = (),
) -> Retro:
    """Build a retro for ``request``: collect, merge, find factors, propose and review
    actions, score them.

    :param amend: applied to the draft after actions are proposed and before review and
        scoring (human input, retro-as-code).
    :param past_actions: looks up the verdicts of past done actions on the incident's
        services, once the incident is known; heuristics that ask for ``past_actions``
        get them and the retro shows them. Without it (no store) the retro says they were
        not looked up; a lookup that fails is a gap.
    :param given: ``(name, result)`` pairs merged as if first-round sources had returned
        them: this build's own input (the events people added). Passed here, never
        registered on the shared plugin manager, so builds running at once each see only
        their own.
    :raises RetroflowError: no source knows the incident, or the scoring model is unknown.
    """
    with bound_context(incident=request.incident_ref), paused_gc():
        return _build(request, plugins, config, progress, amend, past_actions, given)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a retro is built or rendered.

    Building a timeline allocates hundreds of thousands of objects and no cycles; the
    collector's generation-0 passes over them cost as much as parsing the events did
    (measured in bench/bench_build.py). Reference counting still frees everything.

    When the outermost pause ends, what it allocated is promoted to the oldest generation
    (``gc.freeze()`` then ``gc.unfreeze()``, which move objects without visiting them):
    left in generation 0, the first allocation after the pause would start a collection
    visiting every event of the retro just built, which lives on anyway. Any cyclic
    garbage is still found, by the next full collection. Skipped when something else in
    the process has frozen objects on purpose (``gc.get_freeze_count()``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _build(
    request: RetroRequest,
    plugins: Plugins,
    config: Config,
    progress: Progress,
    amend: Callable[[Retro], Retro] | None,
    past_actions: PastActionsLookup | None,
    given: Sequence[tuple[str, SourceResult]],
) -> Retro:
    scoring = plugins.scoring_models.get(config.engine.scoring)
    gaps: list[Gap] = []
    incident, timeline, history = _collect(plugins, request, config, given, gaps, progress)
    judged = _past_actions(past_actions, incident, timeline, gaps, progress)
    factors = _conditions(plugins, config, incident, timeline, history, judged, gaps, progress)
    actions = _actions(plugins, config, incident, timeline, factors, gaps, progress)
    retro = Retro(
        incident=incident,
        timeline=timeline,
        factors=factors,
        actions=actions,
        history=history,
        scoring_model=scoring.name,
        narrative=narrate(factors),
        past_actions=judged,
        timeline_owner=timeline_owner(incident, timeline, config),
    )
    if amend is not None:
        retro = amend(retro)
        # Human input may have confirmed, rejected or added factors: tell the story again.
        retro = attrs.evolve(retro, narrative=narrate(retro.factors))
    retro = _review(plugins, config, retro, gaps, progress)
    retro = _score(retro, scoring, config, gaps, progress)
    return attrs.evolve(retro, gaps=tuple(sorted(set(gaps), key=lambda g: (g.stage, g.plugin, g.reason))))


def _collect(
    plugins: Plugins,
    request: RetroRequest,
    config: Config,
    given: Sequence[tuple[str, SourceResult]],
    gaps: list[Gap],
    progress: Progress,
) -> tuple[Incident, Timeline, tuple[Incident, ...]]:
    """Stage 1, reconstruct: every source's events merged into one timeline, the incident
    they describe, and the past incidents before it.

    :raises RetroflowError: no source knows the incident (nothing collected, nothing failed).
    """
    progress("collect", "collecting from timeline sources")
    calls, provisional = _collect_sources(plugins, request, config, given)
    results = _source_results(calls, gaps, progress)
    if not results and not gaps:
        names = ", ".join(i.plugin_name for i in plugins.implementations("retroflow_timeline_source"))
        raise RetroflowError(
            f"no timeline source knows incident {request.incident_ref!r} "
            f"(sources: {names or 'none'}); configure one in retroflow.toml or pass --events"
        )
    incident = _merge_incident(request, results)
    events: list[Event] = []
    history: dict[str, Incident] = {}
    for _plugin, result in results:
        events.extend(result.events)
        gaps.extend(result.gaps)
        for past in result.history:
            if past.id != incident.id:
                history.setdefault(past.id, past)
    timeline = (provisional and provisional.reused_for(events, incident)) or Timeline.from_events(events, incident)
    progress("collect", f"timeline: {len(timeline)} events")
    return incident, timeline, _past(history.values(), incident, timeline)


def _source_results(calls: list[_CallResult], gaps: list[Gap], progress: Progress) -> list[tuple[str, SourceResult]]:
    """What each source returned, checked: a source is code retroflow does not control, so
    bad items become gaps here, not an "unexpected" failure of the whole retro later."""
    results: list[tuple[str, SourceResult]] = []
    for call in calls:
        if call.gap is not None:
            gaps.append(call.gap)
        elif isinstance(call.value, SourceResult):
            result, dropped = checked_result(call.plugin, call.value)
            gaps.extend(dropped)
            results.append((call.plugin, result))
            progress("collect", f"{call.plugin}: {len(result.events)} events")
        elif call.value is not None:
            gaps.append(Gap(call.plugin, "collect", "error", "returned something that is not a SourceResult"))
    return results


def _conditions(
    plugins: Plugins,
    config: Config,
    incident: Incident,
    timeline: Timeline,
    history: tuple[Incident, ...],
    judged: PastActions | None,
    gaps: list[Gap],
    progress: Progress,
) -> tuple[Factor, ...]:
    """Stage 2, contributing conditions: every heuristic's factors, the first of each key
    kept; a factor citing an event the timeline does not have is a gap."""
    progress("factors", "finding contributing conditions")
    known_ids = timeline.index
    factors: dict[str, Factor] = {}
    found = _gather(
        plugins,
        "retroflow_find_factors",
        "factors",
        Factor,
        config,
        gaps,
        incident=incident,
        timeline=timeline,
        history=history,
        past_actions=judged,
    )
    for plugin, factor in found:
        missing = [e for e in factor.evidence if e not in known_ids]
        if missing:
            reason = f"factor {factor.key!r} cites unknown event(s): {', '.join(missing[:3])}"
            gaps.append(Gap(plugin, "factors", "error", reason))
        elif factor.key not in factors:
            factors[factor.key] = factor
    return sorted_factors(list(factors.values()))


def _actions(
    plugins: Plugins,
    config: Config,
    incident: Incident,
    timeline: Timeline,
    factors: tuple[Factor, ...],
    gaps: list[Gap],
    progress: Progress,
) -> tuple[ActionItem, ...]:
    """Stage 3, system changes: every proposer's actions, the first of each id kept, each
    naming the plugin that proposed it."""
    progress("actions", "proposing actions")
    actions: dict[str, ActionItem] = {}
    proposed = _gather(
        plugins,
        "retroflow_propose_actions",
        "actions",
        ActionItem,
        config,
        gaps,
        incident=incident,
        timeline=timeline,
        factors=factors,
    )
    for plugin, action in proposed:
        if not action.proposed_by:
            action = attrs.evolve(action, proposed_by=plugin)
        actions.setdefault(action.id, action)
    return tuple(actions.values())


def _review(plugins: Plugins, config: Config, retro: Retro, gaps: list[Gap], progress: Progress) -> Retro:
    """Stage 4, review: every reviewer's findings, attached to the action they are about
    (or to the retro)."""
    progress("review", "reviewing actions")
    metric_names = tuple(plugins.outcome_metrics.names())
    findings = [
        finding
        for _plugin, finding in _gather(
            plugins,
            "retroflow_review_actions",
            "review",
            Finding,
            config,
            gaps,
            retro=retro,
            outcome_metrics=metric_names,
        )
    ]
    return _attach_findings(retro, findings)


def _gather(
    plugins: Plugins, hook_name: str, stage: str, expected: type[T], config: Config, gaps: list[Gap], **kwargs: Any
) -> Iterator[tuple[str, T]]:
    """Each ``expected`` value the implementations of ``hook_name`` return, with the plugin
    that returned it; each called isolated, with ``[retroflow] plugin_timeout``. A call that
    failed, and a value of the wrong type, become gaps."""
    timeout = config.engine.plugin_timeout
    for result in call_isolated(plugins, hook_name, stage, timeout, config=config, **kwargs):
        if result.gap is not None:
            gaps.append(result.gap)
            continue
        for value in _items(result, expected, gaps, stage):
            yield result.plugin, value


def timeline_owner(incident: Incident, timeline: Timeline, config: Config) -> TimelineOwner | None:
    """Who reconstructs the timeline: from ``[retroflow] timeline_owner_rota`` when it names
    people (picked by the incident id, so every build of one incident names the same
    person, and incidents spread evenly over the rota), else the first person who
    acknowledged a page; ``None`` when neither is known."""
    rota = config.engine.timeline_owner_rota
    if rota:
        return TimelineOwner(rota[int(stable_id("timeline-owner", incident.id), 16) % len(rota)], "rota")
    for event in timeline.of_kind(EventKind.ACK):
        if event.actor:
            return TimelineOwner(event.actor, "first to acknowledge")
    return None


def _past(history: Iterable[Incident], incident: Incident, timeline: Timeline) -> tuple[Incident, ...]:
    """The history every stage sees: incidents created before this one (its creation, else
    its first fact), oldest first, then those of unknown date. Sources may return later
    ones (a saved list is not cut at the incident); one place keeps recurrence, frequency
    and the stored retro from counting the future. Each source cannot: only the engine
    knows the merged incident and the whole timeline."""
    cutoff = incident.created or timeline.moments.start
    earlier = [p for p in history if p.created is None or cutoff is None or p.created < cutoff]
    return tuple(sorted(earlier, key=lambda i: (i.created is None, i.created, i.id)))


def _past_actions(
    lookup: PastActionsLookup | None, incident: Incident, timeline: Timeline, gaps: list[Gap], progress: Progress
) -> PastActions | None:
    """The verdicts of past done actions on the incident's services, as the history stood
    when it began (so that rebuilding the retro later gives the same answer, unless the
    history before it changed)."""
    if lookup is None:
        return None
    progress("outcomes", f"judging past actions on {', '.join(incident.services) or 'no service'}")
    try:
        return lookup(incident, incident.created or timeline.moments.start)
    except Exception as exc:  # a failed lookup is a gap, never a lost retro
        log.warning("past actions lookup failed", error=describe_error(exc))
        gaps.append(Gap("outcomes", "outcomes", "error", describe_error(exc)))
        return None


def _merge_incident(request: RetroRequest, results: Sequence[tuple[str, SourceResult]]) -> Incident:
    incident = Incident(id=request.incident_ref)
    merged: Incident | None = None
    for _plugin, result in results:
        if result.incident is not None:
            merged = result.incident if merged is None else merged.merged_with(result.incident)
    if merged is not None:
        incident = merged
    return request.override_incident(incident)


def _attach_findings(retro: Retro, findings: Sequence[Finding]) -> Retro:
    by_action: dict[str, list[Finding]] = {}
    retro_level: list[Finding] = list(retro.findings)
    ids = retro.actions_by_id()
    for finding in findings:
        if finding.target in ids:
            by_action.setdefault(finding.target, []).append(finding)
        else:
            retro_level.append(finding)
    key = lambda f: (f.rule, f.target, f.message)  # noqa: E731
    actions = tuple(
        attrs.evolve(a, findings=tuple(sorted({*a.findings, *by_action.get(a.id, ())}, key=key))) for a in retro.actions
    )
    return attrs.evolve(retro, actions=actions, findings=tuple(sorted(set(retro_level), key=key)))


def _score(retro: Retro, scoring: ScoringModel, config: Config, gaps: list[Gap], progress: Progress) -> Retro:
    """Stage 5, prioritise: every action scored by the configured model, then ranked; the
    first ``[retroflow] focus`` scored ones are the retro's focus."""
    progress("score", f"scoring with {scoring.name}")
    context = ScoringContext(
        incident=retro.incident,
        timeline=retro.timeline,
        factors=retro.factors,
        history=retro.history,
        settings=config.settings_for(scoring.name),
    )
    owner = "scoring:" + scoring.name
    scored = []
    for action in retro.actions:
        try:
            scored.append(attrs.evolve(action, score=scoring.score(action, context)))
        except Exception as exc:
            log.warning("scoring failed", model=scoring.name, action=action.id, error=describe_error(exc))
            gaps.append(Gap(owner, "score", "error", f"action {action.id}: {describe_error(exc)}"))
            scored.append(action)
    strengths = {factor.key: factor.strength for factor in retro.factors}
    ranked = sorted(scored, key=lambda action: action_rank(action, strengths))
    focus = config.engine.focus
    ranked = [attrs.evolve(a, focus=i < focus and a.score is not None) for i, a in enumerate(ranked)]
    return attrs.evolve(retro, actions=tuple(ranked))
