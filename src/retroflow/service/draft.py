"""The draft job: what happens when an incident's quiet period after a resolve is over.

In order, each step skipped when an earlier attempt already did it, so the job can be run
again after any failure or crash (a worker killed mid-job) with the same effect:

1. **Still wanted?** The incident's lifecycle must still be resolved at this job's
   resolve; a reopen or a later resolve supersedes it (nothing is done).
2. **Build and store**, exactly as ``retroflow retro`` does (:func:`build_and_store`: every
   configured source, the PagerDuty one fetching live; human input applied; the configured
   formats written to the output directory), the resolve marked drafted *in the
   transaction that stores the version*: one stored version per resolve, however often the
   job runs.
3. **Export** the actions to each sink of ``[service] export`` through the outbox
   (:func:`export_actions`): never a second ticket.
4. **Tell** the plugins (``retroflow_retro_drafted``), each once per resolve (twice only
   when two runs of one job overlap: a worker that stalled past its lease while another
   took the job; the PagerDuty note looks for itself before it is added).

A step that fails raises; the worker retries the job with backoff.

The ``rebuild`` job (:func:`run_rebuild`), queued by the served pages when people record
input, is step 2 alone, without a resolve: the next version built and stored as
``retroflow retro`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa
import structlog

from retroflow.config import Config
from retroflow.engine import call_isolated
from retroflow.errors import PluginError, RetroflowError
from retroflow.model import Retro, parse_timestamp
from retroflow.plugins import Plugins
from retroflow.publisher import Publisher
from retroflow.request import RetroRequest
from retroflow.service.database import ServiceDatabase
from retroflow.service.events import DraftedRetro
from retroflow.service.lifecycle import DRAFT, RESOLVED
from retroflow.store import schema as t
from retroflow.store.build import build_and_store, store_for
from retroflow.store.exports import export_actions

__all__ = [
    "JOB_FUNCTIONS",
    "REBUILD",
    "AlreadyDrafted",
    "JobContext",
    "publisher",
    "rebuild_key",
    "run_draft",
    "run_rebuild",
]

log = structlog.get_logger(__name__)


#: The job kind that rebuilds a stored retro after people recorded input (served pages).
REBUILD = "rebuild"


class AlreadyDrafted(RetroflowError):
    """Another run of the job stored this resolve's version first."""


@attrs.frozen
class JobContext:
    """What a job function runs with.

    :ivar attempt: this attempt's number (1 for the first; a later one may follow a crash).
    """

    config: Config
    plugins: Plugins
    database: ServiceDatabase
    attempt: int = 1


@attrs.frozen
class _Draft:
    """The resolve a draft job is for, and how far earlier attempts got."""

    source: str
    incident_id: str
    resolved_at: datetime

    def where(self) -> Any:
        c = t.incident_lifecycles.c
        return sa.and_(c.source == self.source, c.incident_id == self.incident_id)


def run_draft(payload: Mapping[str, Any], context: JobContext) -> str:
    """Draft the retro of the resolve in ``payload``; return what was done, in words."""
    draft = _Draft(str(payload["source"]), str(payload["incident_id"]), parse_timestamp(str(payload["resolved_at"])))
    structlog.contextvars.bind_contextvars(incident=draft.incident_id)
    try:
        state = _state(context.database, draft)
        if state is None or state.status != RESOLVED or state.resolved_at != draft.resolved_at:
            return "superseded: the incident was reopened or resolved again since"
        said: list[str] = []
        if state.drafted_resolved_at == draft.resolved_at:
            version, stored = int(state.drafted_version), False
        else:
            version, stored = _build_and_store(draft, context)
        said.append(f"stored version {version}" if stored else f"version {version} was stored by an earlier attempt")
        retro, incident_id = _stored(context.config, draft, version)
        url = retro_url(context.config, incident_id, version)
        said += _export(context, incident_id, url)
        said += _notify(
            context, draft, DraftedRetro(draft.source, draft.incident_id, retro, version, draft.resolved_at, url)
        )
        return f"{incident_id}: " + "; ".join(said)
    finally:
        structlog.contextvars.unbind_contextvars("incident")


def _state(database: ServiceDatabase, draft: _Draft) -> Any:
    with database.reading() as conn:
        return conn.execute(sa.select(t.incident_lifecycles).where(draft.where())).first()


def _build_and_store(draft: _Draft, context: JobContext) -> tuple[int, bool]:
    """The version of the draft, and whether this run stored it (``False``: another run
    of the job did, while this one was building)."""
    config, plugins = context.config, context.plugins
    write = publisher(config, plugins)

    def publish(retro: Retro) -> None:
        if _state(context.database, draft).drafted_resolved_at == draft.resolved_at:
            raise AlreadyDrafted("another attempt stored this draft first")  # leave its documents be
        write(retro)

    def mark_drafted(conn: sa.Connection, retro: Retro) -> None:
        c = t.incident_lifecycles.c
        marked = conn.execute(
            sa.update(t.incident_lifecycles)
            .where(draft.where(), sa.or_(c.drafted_resolved_at.is_(None), c.drafted_resolved_at != draft.resolved_at))
            .values(drafted_resolved_at=draft.resolved_at, drafted_version=retro.version, notified=[])
        ).rowcount
        if not marked:
            raise AlreadyDrafted("another attempt stored this draft first")

    request = RetroRequest(incident_ref=draft.incident_id)
    try:
        retro = build_and_store(
            request, plugins=plugins, config=config, progress=_progress, publish=publish, in_transaction=mark_drafted
        )
    except AlreadyDrafted:
        return int(_state(context.database, draft).drafted_version), False
    return retro.version, True


def publisher(config: Config, plugins: Plugins) -> Publisher:
    """Writes a retro's documents as ``retroflow retro`` does: the configured formats, into
    the configured output directory."""
    renderers = [plugins.renderers.get(name) for name in config.engine.formats]
    directory = config.engine.output
    if not directory.is_absolute():
        directory = config.base_dir / directory
    return Publisher(config, plugins, renderers, directory, progress=_progress)


def rebuild_key(incident_id: str) -> str:
    """The lock key of an incident's rebuild: one queued (quick inputs in a row give one
    rebuild) and one running at a time."""
    return f"{REBUILD}:{incident_id}"


def run_rebuild(payload: Mapping[str, Any], context: JobContext) -> str:
    """Build and store a new version of a stored retro (after people recorded input), as
    ``retroflow retro`` does: human input applied, documents written. ``payload``: the
    ``incident_id`` and the ``ref`` its newest version was built from."""
    incident_id = str(payload["incident_id"])
    structlog.contextvars.bind_contextvars(incident=incident_id)
    try:
        config, plugins = context.config, context.plugins
        request = RetroRequest(incident_ref=str(payload.get("ref") or incident_id))
        retro = build_and_store(
            request, plugins=plugins, config=config, progress=_progress, publish=publisher(config, plugins)
        )
        return f"{retro.incident.id}: stored version {retro.version}"
    finally:
        structlog.contextvars.unbind_contextvars("incident")


def _stored(config: Config, draft: _Draft, version: int) -> tuple[Retro, str]:
    store = store_for(config)
    try:
        incident_id = store.resolve_incident(draft.incident_id)
        return store.retro(incident_id, version), incident_id
    finally:
        store.close()


def retro_url(config: Config, incident_id: str, version: int) -> str | None:
    """``[service] retro_url`` with ``{incident}`` and ``{version}`` filled in."""
    template = config.service.retro_url
    return None if template is None else template.replace("{incident}", incident_id).replace("{version}", str(version))


def _export(context: JobContext, incident_id: str, url: str | None) -> list[str]:
    """Export to every sink of ``[service] export``; raise when one is not complete."""
    said, problems = [], []
    for name in context.config.service.export:
        try:
            sink = context.plugins.tracker_sinks.get(name)
        except PluginError as exc:
            problems.append(f"export {name}: {exc}")
            continue
        store = store_for(context.config)
        try:
            # A later attempt may follow a crash mid-export: its rows in flight are ours.
            report = export_actions(
                store, incident_id, sink, context.config, retro_url=url, reclaim=context.attempt > 1
            )
        finally:
            store.close()
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.counts().items())) or "no actions"
        said.append(f"exported to {name}: {counts}")
        if not report.complete:
            errors = "; ".join(item.error for item in report.items if item.error) or counts
            problems.append(f"export to {name} incomplete: {errors}")
    if problems:
        raise RetroflowError("; ".join(problems))
    return said


def _notify(context: JobContext, draft: _Draft, drafted: DraftedRetro) -> list[str]:
    """Call ``retroflow_retro_drafted`` of each plugin not yet told of this resolve."""
    told = set(_state(context.database, draft).notified or ())
    outcomes = call_isolated(
        context.plugins,
        "retroflow_retro_drafted",
        "notify",
        context.config.engine.plugin_timeout,
        skip=told,
        draft=drafted,
        config=context.config,
    )
    done = [o.plugin for o in outcomes if o.gap is None]
    if done:
        with context.database.transaction() as conn:
            conn.execute(
                sa.update(t.incident_lifecycles).where(draft.where()).values(notified=sorted(told | set(done)))
            )
    failed = [f"{o.gap.plugin}: {o.gap.reason}" for o in outcomes if o.gap is not None]
    if failed:
        raise RetroflowError("retroflow_retro_drafted failed: " + "; ".join(failed))
    return [f"told {', '.join(done)}"] if done else []


def _progress(stage: str, message: str) -> None:
    log.info(message, stage=stage)


#: The job functions by kind: what any backend runs (the embedded table, procrastinate).
JOB_FUNCTIONS: dict[str, Callable[[Mapping[str, Any], JobContext], str]] = {DRAFT: run_draft, REBUILD: run_rebuild}
