"""Hook specifications: every extension point of retroflow, one docstring each.

These docstrings are the hook reference; ``docs/hooks.md`` repeats them and a test fails
when the two drift. Hooks that *collect* (sources, heuristics, proposers, reviewers) are
1:N and the engine calls their implementations one at a time, each isolated: an
implementation that raises or runs past its timeout becomes a :class:`~retroflow.model.Gap`
in the retro, never a lost retro. Hooks named ``retroflow_register_*`` run once when the
plugin manager is built, receive a ``register`` callable and return nothing; an error there
fails fast and names the plugin.

An implementation may accept any subset of a hook's arguments (pluggy passes only the
names it asks for), so hooks can gain arguments without breaking plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from retroflow.config import Config
    from retroflow.model import (
        ActionItem,
        Factor,
        Finding,
        Incident,
        PastActions,
        Retro,
        SourceResult,
        Timeline,
    )
    from retroflow.request import RetroRequest
    from retroflow.roles import IncidentFeed, OutcomeMetric, Renderer, ScoringModel, TrackerSink, WebhookReceiver
    from retroflow.service.events import DraftedRetro

hookspec = pluggy.HookspecMarker("retroflow")


@hookspec
def retroflow_register_settings(register: Callable[[str, type[Any]], None]) -> None:
    """Declare the configuration table this plugin reads.

    Called once when the plugin manager is built, before the config file is validated.

    :param register: call ``register(table, settings_class)``: ``table`` is the name under
        ``[plugins.<table>]`` in ``retroflow.toml``; ``settings_class`` is an attrs class
        whose fields (str, int, float, bool, list of str, :class:`pathlib.Path`,
        :class:`retroflow.config.Secret`, optionally ``None``) say what the table may hold.
        A field typed with another attrs class is a nested table (``[plugins.<table>.key]``)
        and ``list[ThatClass]`` a list of tables (``key = [{...}, {...}]`` or
        ``[[plugins.<table>.key]]``), validated the same way. The table is validated into an
        instance of it; every error names the file, the key (``repos[1] path``) and what was
        expected. Read it at run time with ``config.settings_for(table, settings_class)``.
    :return: nothing.
    """


@hookspec
def retroflow_register_commands(cli: click.Group) -> None:
    """Add commands to the ``retroflow`` command line.

    Called once when the CLI starts.

    :param cli: the top-level :class:`click.Group`; add commands with ``@cli.command()``.
    :return: nothing.
    """


@hookspec
def retroflow_timeline_source(
    request: RetroRequest, config: Config, incident: Incident, timeline: Timeline
) -> SourceResult | None:
    """Stage 1, reconstruct: collect what this source knows about an incident.

    Called once per retro for every implementation, concurrently, each in its own thread
    with its own timeout (``[retroflow] source_timeout``, or ``timeout`` in the plugin's
    table). A source that raises or times out becomes a data gap naming the plugin. A
    source raising :class:`~retroflow.errors.ConfigError` (its configuration or the
    request's input is wrong, e.g. a file it was given cannot be read) stops the build
    with that error instead: exit code 2, nothing stored.
    Implementations that accept ``incident`` or ``timeline`` are called in a second round,
    after the others have returned, so that they can ask their system about the incident's
    services and time window.

    :param request: the incident reference (id, number or URL) and the options given for
        this run (:class:`retroflow.request.RetroRequest`).
    :param config: the validated configuration; ``config.settings_for(table, cls)`` gives this
        plugin's settings.
    :param incident: the incident as the first round of sources described it (merged, with
        the command line's overrides); ``created`` and ``resolved`` are ``None`` when no
        source knew them. Only for implementations that ask for it.
    :param timeline: the first round's events, merged, and their key moments
        (``timeline.moments.first_signal``, ``resolve``): when the incident began as the
        facts show it, before anyone created it. Only for implementations that ask for it.
    :return: a :class:`~retroflow.model.SourceResult` with the incident as this source
        knows it (or ``None``), its events (identity ``(source, native_id)``: returning an
        event twice, or two sources returning the same identity, keeps one), past incidents
        of the same services (``history``) and gaps in its own data (skipped records); or
        ``None`` when this source does not know the incident or is not configured.
    """


@hookspec
def retroflow_find_factors(
    incident: Incident,
    timeline: Timeline,
    history: tuple[Incident, ...],
    config: Config,
    past_actions: PastActions | None,
) -> Iterable[Factor] | None:
    """Stage 2, contributing conditions: find the conditions that lined up.

    Called once per retro for every implementation, one at a time, after the timeline is
    merged.

    :param incident: the merged incident.
    :param timeline: the merged, ordered timeline with its key moments.
    :param history: past incidents the sources know of, created before this one (or of
        unknown date), oldest first; may be empty.
    :param config: the validated configuration.
    :param past_actions: the done actions of past retros on the incident's services, each
        with its outcome verdict (:class:`~retroflow.model.PastActions`: did its metric
        improve?), as the history stood when this incident began; ``None`` when the retro
        is built without the store. Only for implementations that ask for it.
    :return: factors (each on a layer, citing at least one event id of ``timeline`` as
        evidence), or ``None``. A factor citing no known event is dropped and recorded as a
        gap.
    """


@hookspec
def retroflow_propose_actions(
    incident: Incident,
    timeline: Timeline,
    factors: tuple[Factor, ...],
    config: Config,
) -> Iterable[ActionItem] | None:
    """Stage 3, system changes: propose actions that answer the factors.

    Called once per retro for every implementation, one at a time, after all heuristics.

    :param incident: the merged incident.
    :param timeline: the merged timeline.
    :param factors: every factor found, in order (technical, human, process).
    :param config: the validated configuration.
    :return: actions (give each a stable id, e.g. with :meth:`ActionItem.create`, so
        rebuilding a retro gives the same ids), or ``None``. Actions with an id already
        proposed are dropped.
    """


@hookspec
def retroflow_review_actions(
    retro: Retro, config: Config, outcome_metrics: tuple[str, ...]
) -> Iterable[Finding] | None:
    """Stage 3, review: find weak actions and blameful wording; never rewrite.

    Called once per retro for every implementation, one at a time, after actions are
    proposed and human input is applied, before scoring.

    :param retro: the draft retro (incident, timeline, factors, actions, narrative).
    :param config: the validated configuration.
    :param outcome_metrics: the names of the registered outcome metrics, which an action's
        ``verify.metric`` should name so that its outcome can be measured. Only for
        implementations that ask for it.
    :return: findings, each with a rule id, a message and a suggestion; ``target`` is the
        id of the action it is about, or ``"retro"`` for the retro as a whole; or ``None``.
    """


@hookspec
def retroflow_register_scoring_models(register: Callable[[ScoringModel], None]) -> None:
    """Stage 4, prioritise: offer named scoring models.

    Called once when the plugin manager is built. ``[retroflow] scoring`` picks one by
    name (default ``impact-math``).

    :param register: call ``register(model)`` with an object that has a ``name`` and a
        ``score(action, context) -> Score`` method
        (:class:`retroflow.roles.ScoringModel`); names must be unique.
    :return: nothing.
    """


@hookspec
def retroflow_register_tracker_sinks(register: Callable[[TrackerSink], None]) -> None:
    """Stage 5, close the loop: offer tracker sinks that turn actions into tickets.

    Called once when the plugin manager is built; a sink is used only when named
    (``retroflow export --sink NAME``).

    :param register: call ``register(sink)`` with an object following
        :class:`retroflow.roles.TrackerSink`; names must be unique.
    :return: nothing.
    """


@hookspec
def retroflow_register_outcome_metrics(register: Callable[[OutcomeMetric], None]) -> None:
    """Stage 5, close the loop: offer outcome metrics measured before and after an action.

    Called once when the plugin manager is built. An action's ``verify.metric`` names one;
    ``retroflow outcomes`` and every retro's "which past retro actions measurably improved
    the system?" judge done actions by it (``docs/outcomes.md``).

    :param register: call ``register(metric)`` with an object following
        :class:`retroflow.roles.OutcomeMetric` (``name``, ``title``, ``kind``, ``per``,
        ``higher_is_better``, ``observe(incident_record)``); names must be unique.
    :return: nothing.
    """


@hookspec
def retroflow_register_renderers(register: Callable[[Renderer], None]) -> None:
    """Offer document formats a retro can be rendered to.

    Called once when the plugin manager is built. ``--format`` and ``[retroflow] formats``
    pick renderers by name.

    :param register: call ``register(renderer)`` with an object following
        :class:`retroflow.roles.Renderer` (``name``, ``extension``, ``render(retro)``, and
        optionally ``render_bytes(retro)`` for the bytes written to a file); names must be
        unique.
    :return: nothing.
    """


@hookspec
def retroflow_register_webhooks(register: Callable[[WebhookReceiver], None]) -> None:
    """Automation: offer webhook receivers, each served at ``POST /webhooks/<name>``.

    Called once when the plugin manager is built. ``retroflow serve`` verifies and parses
    every delivery with the receiver named in its URL, then stores it durably (deduplicated
    by event id) before answering 2xx; a resolve schedules the retro's draft.

    :param register: call ``register(receiver)`` with an object following
        :class:`retroflow.roles.WebhookReceiver` (``name``, ``configured(config)``,
        ``verify(body, headers, config)``, ``parse(body, headers, config)`` returning a
        :class:`~retroflow.WebhookDelivery`); names must be unique.
    :return: nothing.
    """


@hookspec
def retroflow_register_incident_feeds(register: Callable[[IncidentFeed], None]) -> None:
    """Automation: offer feeds of resolved incidents, for ``retroflow watch`` to poll.

    Called once when the plugin manager is built. Every configured feed is asked for the
    incidents resolved since the last poll; each resolve schedules a draft the way a
    webhook does (a resolve both report is drafted once).

    :param register: call ``register(feed)`` with an object following
        :class:`retroflow.roles.IncidentFeed` (``name``, ``configured(config)``,
        ``resolved_between(since, until, config)``); names must be unique.
    :return: nothing.
    """


@hookspec
def retroflow_retro_drafted(draft: DraftedRetro, config: Config) -> None:
    """Automation: a retro was drafted when its incident resolved, and stored.

    Called by the draft job after the version is stored, its documents written and its
    actions exported, for every implementation, one at a time. An implementation that
    raises makes the job try again later (with backoff, up to ``[service] max_attempts``);
    those that succeeded are not called again for the same resolve. Tell people where
    they work (the PagerDuty plugin adds a note to the incident).

    :param draft: the incident, the stored retro and its version, the resolve it was
        drafted for, and the retro's link (:class:`~retroflow.DraftedRetro`).
    :param config: the validated configuration (``config.service`` is ``[service]``).
    :return: nothing.
    """


@hookspec
def retroflow_register_routes(register: Callable[[Any], None]) -> None:
    """Automation: add HTTP routes to the app ``retroflow serve`` runs.

    Called once when the app is built, after the core's routes (``/healthz``, ``/readyz``,
    ``/webhooks/<name>``) are in place.

    :param register: call ``register(route)`` with a Starlette route
        (``starlette.routing.Route`` or ``Mount``); an endpoint finds the service's
        configuration, plugins and database in ``request.app.state.service``.
    :return: nothing.
    """
