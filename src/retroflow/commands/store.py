"""Commands over the store: ``retros``, ``show``, ``input``, ``export``, ``followup``, ``db``.

Registered by the default plugin :mod:`retroflow.default_plugins.store_commands` through
:func:`~retroflow.hookspecs.retroflow_register_commands` like any plugin's commands. The database is ``$RETROFLOW_DATABASE``, else ``[retroflow] database``, else a
SQLite file in the user's data directory; see ``docs/persistence.md``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from retroflow.app import App, incident_ref, pass_app, write_atomically
from retroflow.errors import ConfigError, RetroflowError

if TYPE_CHECKING:
    from retroflow.roles import TrackerSink
    from retroflow.store.exports import ExportReport

# The store and the domain model are imported inside the commands: `retroflow --help` and
# retro builds without the store should not pay for SQLAlchemy, Alembic and attrs classes.


class _ModelChoice(click.Choice[str]):
    """A :class:`click.Choice` of values the domain model defines, read when first needed
    (to check a value or show help), not when the commands are defined."""

    def __init__(self, values: Callable[[], Iterable[str]]) -> None:
        super().__init__(())
        self._values = values

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._values())

    @choices.setter
    def choices(self, _value: object) -> None:
        pass


def _kinds() -> list[str]:
    from retroflow.model import KIND_ALIASES

    return sorted(KIND_ALIASES)


def _efforts() -> list[str]:
    from retroflow.model import Effort

    return [e.value for e in Effort]


def _categories() -> list[str]:
    from retroflow.model import Category

    return [c.value for c in Category]


@contextmanager
def _opened(app: App, *, create: bool = True) -> Iterator[Any]:
    """The store; ``create=False`` for commands that only read: a database that does not
    exist yet is then not created (:class:`~retroflow.store.NothingStored` is raised)."""
    from retroflow.store.build import store_for

    store = store_for(app.config, create=create)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _reading(app: App) -> Iterator[Any]:
    """The store for a listing, or ``None`` when nothing is stored yet (nothing to list)."""
    from retroflow.store import NothingStored
    from retroflow.store.build import store_for

    try:
        store = store_for(app.config, create=False)
    except NothingStored:
        yield None
        return
    try:
        yield store
    finally:
        store.close()


def _resolved(app: App, store: Any, incident: str) -> str:
    """The stored incident id that ``incident`` (as typed: an id, a number) names."""
    incident_ref(None, None, incident)  # an empty id, or control characters: a usage error
    incident_id: str = store.resolve_incident(incident)
    if incident_id != incident:
        app.progress("store", f"{incident} is incident {incident_id}")
    return incident_id


def _author(author: str | None) -> str:
    return author if author is not None else os.environ.get("USER", "")


def _echo_json(rows: Iterable[dict[str, Any]]) -> None:
    """A listing's ``--json`` output: its rows as one JSON array."""
    import json  # here: `retroflow --help` imports this module

    click.echo(json.dumps(list(rows), indent=2))


def _done_hint(app: App, incident: str) -> None:
    app.progress("input", f"recorded; it is applied on the next build (retroflow retro {incident})")


# -- retros, show -------------------------------------------------------------------------


@click.command("retros")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def retros_command(app: App, as_json: bool) -> None:
    """List the retros in the store, newest build first."""
    from retroflow.model import format_timestamp

    with _reading(app) as store:
        summaries = store.list_retros() if store is not None else []
    if as_json:
        _echo_json(
            {
                "incident": s.incident_id,
                "title": s.title,
                "versions": s.versions,
                "latest_version": s.latest_version,
                "latest_built_at": format_timestamp(s.latest_built_at),
                "actions": s.actions,
            }
            for s in summaries
        )
        return
    if not summaries:
        click.echo("no retros stored yet (build one: retroflow retro INCIDENT)")
        return
    for s in summaries:
        click.echo(
            f"{s.incident_id}\tv{s.latest_version} ({s.versions} version{'s' if s.versions != 1 else ''})"
            f"\t{s.latest_built_at:%Y-%m-%d %H:%M}Z\t{s.actions} actions\t{s.title}"
        )


@click.command("show")
@click.argument("incident")
@click.option("--version", "version", type=int, help="A stored version (default: the newest).")
@click.option("--format", "-f", "fmt", default="markdown", show_default=True, help="A renderer's name.")
@click.option("--versions", "list_versions", is_flag=True, help="List the stored versions instead.")
@pass_app
def show_command(app: App, incident: str, version: int | None, fmt: str, list_versions: bool) -> None:
    """Show a stored retro (rendered by any renderer, e.g. markdown or json)."""
    from retroflow.roles import document_bytes

    renderer = app.plugins.renderers.get(fmt)
    with _opened(app, create=False) as store:
        incident = _resolved(app, store, incident)
        if list_versions:
            versions = store.versions(incident)
            if not versions:
                raise RetroflowError(f"the store has no retro for incident {incident!r}")
            for v in versions:
                click.echo(f"v{v.version}\t{v.built_at:%Y-%m-%d %H:%M:%S}Z\t{v.event_count} events\t{v.scoring_model}")
            return
        retro = store.retro(incident, version)
    click.echo(document_bytes(renderer, retro, app.config), nl=False)


# -- input --------------------------------------------------------------------------------


@click.group("input")
def input_group() -> None:
    """Record human input (kept apart from the machine draft, applied on every build)."""


@input_group.command("factor")
@click.argument("incident")
@click.argument("key")
@click.option("--confirm/--reject", "confirm", required=True, help="Confirm or reject the factor.")
@click.option("--reason", default="", help="Why (shown in the retro).")
@click.option("--author", help="Who says so (default: $USER).")
@pass_app
def input_factor(app: App, incident: str, key: str, confirm: bool, reason: str, author: str | None) -> None:
    """Confirm or reject contributing factor KEY of INCIDENT.

    KEY must be a factor of the newest stored retro (kept or rejected); before the first
    build any KEY is recorded.
    """
    from retroflow.store import FactorVerdict
    from retroflow.store.human import unknown_factor

    verdict = FactorVerdict(key, "confirmed" if confirm else "rejected", reason=reason, author=_author(author))
    with _opened(app) as store:
        incident_id = _resolved(app, store, incident)
        problem = unknown_factor(store.factor_keys(incident_id), key, incident_id)
        if problem is not None:
            raise click.BadParameter(problem, param_hint="KEY")
        store.add_input(incident_id, verdict)
    _done_hint(app, incident)


def _timestamp(_ctx: Any, _param: Any, value: str | None) -> datetime | None:
    if value is None:
        return None
    from retroflow.model import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc} (e.g. 2026-11-02T14:05:00Z)") from None


@input_group.command("event")
@click.argument("incident")
@click.option("--at", "at", required=True, callback=_timestamp, help="When, ISO 8601 with an offset.")
@click.option("--kind", required=True, type=_ModelChoice(_kinds), help="decision, message (a belief), ...")
@click.option("--summary", required=True, help="What happened, was believed or decided.")
@click.option("--why", default="", help="For a decision: why it was made.")
@click.option("--actor", help="Who.")
@click.option("--id", "event_id", default="", help="A stable id factors can cite as human:ID.")
@click.option("--author", help="Who records it (default: $USER).")
@pass_app
def input_event(
    app: App,
    incident: str,
    at: datetime,
    kind: str,
    summary: str,
    why: str,
    actor: str | None,
    event_id: str,
    author: str | None,
) -> None:
    """Add an event to INCIDENT's timeline (a belief, a decision and why)."""
    from retroflow.store import AddedEvent

    event = AddedEvent(at=at, kind=kind, summary=summary, why=why, actor=actor, id=event_id, author=_author(author))
    with _opened(app) as store:
        store.add_input(_resolved(app, store, incident), event)
    click.echo(f"human:{event.native_id}")
    _done_hint(app, incident)


@input_group.command("action")
@click.argument("incident")
@click.argument("action_id", required=False)
@click.option("--title", help="The action's text (required for a new action).")
@click.option("--change", help="The system change it makes.")
@click.option("--owner", help="Who owns it.")
@click.option("--effort", type=_ModelChoice(_efforts), help="Effort.")
@click.option("--due", type=click.DateTime(formats=["%Y-%m-%d"]), help="Due date, YYYY-MM-DD.")
@click.option("--category", type=_ModelChoice(_categories), help="The kind of system change.")
@click.option(
    "--verify-metric", help="How to tell it worked: an outcome metric (e.g. 'time-to-detect'; see docs/outcomes.md)."
)
@click.option("--verify-service", help="The service the metric is measured on.")
@click.option("--verify-target", help="The value that means done (e.g. '≤ 5 min'); needs a metric.")
@click.option("--author", help="Who records it (default: $USER).")
@pass_app
def input_action(
    app: App,
    incident: str,
    action_id: str | None,
    title: str | None,
    change: str | None,
    owner: str | None,
    effort: str | None,
    due: datetime | None,
    category: str | None,
    verify_metric: str | None,
    verify_service: str | None,
    verify_target: str | None,
    author: str | None,
) -> None:
    """Edit action ACTION_ID of INCIDENT, or add a new action (no ACTION_ID, --title given).

    --verify-metric, --verify-service and --verify-target say how to tell the action worked
    (an edit may change one of them and keep the others).
    """
    from retroflow.store import NewAction
    from retroflow.store.human import InputRefused, action_input

    try:
        item = action_input(
            incident,
            action_id,
            author=_author(author),
            now=datetime.now(UTC),
            title=title,
            change=change,
            owner=owner,
            effort=effort,
            category=category,
            due=due.date() if due else None,
            verify={"metric": verify_metric, "service": verify_service, "target": verify_target},
        )
    except InputRefused as exc:
        raise click.UsageError(_ACTION_USAGE.get(exc.reason, str(exc))) from None
    with _opened(app) as store:
        store.add_input(_resolved(app, store, incident), item)
    if isinstance(item, NewAction):
        click.echo(item.id)
    _done_hint(app, incident)


#: ``retroflow input action``'s words for the input rules (:class:`InputRefused` reasons).
_ACTION_USAGE = {
    "nothing": "say what to change: --title, --change, --owner, --effort, --due, --category, "
    "--verify-metric, --verify-service or --verify-target",
    "title": "a new action needs --title (or give ACTION_ID to edit one)",
    "metric": "--verify-target and --verify-service need --verify-metric (what to measure)",
}


@input_group.command("withdraw")
@click.argument("incident")
@click.argument("record", type=int)
@click.option("--author", help="Who withdraws it (default: $USER).")
@pass_app
def input_withdraw(app: App, incident: str, record: int, author: str | None) -> None:
    """Withdraw input record RECORD of INCIDENT (numbers from: retroflow input list)."""
    with _opened(app) as store:
        store.withdraw_input(_resolved(app, store, incident), record, author=_author(author))
    _done_hint(app, incident)


@input_group.command("list")
@click.argument("incident")
@pass_app
def input_list(app: App, incident: str) -> None:
    """Show INCIDENT's stored input records and its retro-as-code file."""
    from retroflow.store.build import input_file_for
    from retroflow.store.human import load_input_file

    with _opened(app, create=False) as store:
        incident_id = _resolved(app, store, incident)
        records = store.input_records(incident_id)
    path = input_file_for(app.config, incident_id, incident)
    for record in records:
        click.echo(
            f"#{record.id}\t{record.created_at:%Y-%m-%d %H:%M}Z\t{record.author or '-'}\t{record.item.describe()}"
        )
    if not records:
        click.echo("no stored input")
    if path.is_file():
        entries = load_input_file(path).items()
        count = len(entries)
        click.echo(f"file {path}: {count} entr{'y' if count == 1 else 'ies'} (applied after the stored input)")
        for entry in entries:
            click.echo(f"  {entry.describe()}")
    else:
        click.echo(f"no file {path}")


@input_group.command("export")
@click.argument("incident")
@click.option("--out", "-o", help="Where to write (default: the retro-as-code path; - for standard output).")
@pass_app
def input_export(app: App, incident: str, out: str | None) -> None:
    """Write INCIDENT's input (stored and file, merged) as a retro-as-code file."""
    from retroflow.store.build import effective_input
    from retroflow.store.human import input_file_path

    with _opened(app, create=False) as store:
        incident_id = _resolved(app, store, incident)
        human = effective_input(app.config, incident_id, store, ref=incident)
    text = human.to_toml(incident_id)
    if out == "-":
        click.echo(text, nl=False)
        return
    from pathlib import Path

    target = Path(out) if out else input_file_path(app.config, incident_id)
    write_atomically(target, text)
    app.progress("input", f"wrote {target}")


# -- export -------------------------------------------------------------------------------


@click.command("export")
@click.argument("incident")
@click.option("--sink", "sink_name", required=True, help="A tracker sink's name (see retroflow plugins).")
@click.option("--dry-run", is_flag=True, help="Show what would be created; send and write nothing.")
@click.option("--action", "action_ids", multiple=True, help="Only this action id (repeatable).")
@click.option("--retro-url", help="A link to the retro, put into each ticket.")
@click.option("--reclaim", is_flag=True, help="Take over rows another (crashed) export left in flight.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def export_command(
    app: App,
    incident: str,
    sink_name: str,
    dry_run: bool,
    action_ids: tuple[str, ...],
    retro_url: str | None,
    reclaim: bool,
    as_json: bool,
) -> None:
    """Export the actions of INCIDENT's newest stored retro to a tracker, exactly once.

    Safe to re-run: actions already exported are skipped, and a run that failed part-way
    is reconciled by searching the tracker for each ticket's key before re-creating it.
    """
    from retroflow.store.exports import export_actions

    sink = _sinks(app, [sink_name])[sink_name]
    with _opened(app, create=False) as store:
        report = export_actions(
            store,
            _resolved(app, store, incident),
            sink,
            app.config,
            dry_run=dry_run,
            action_ids=action_ids or None,
            retro_url=retro_url,
            reclaim=reclaim,
        )
    if as_json:
        import json  # here: `retroflow --help` imports this module

        click.echo(json.dumps(_report_data(report), indent=2, default=str))
    else:
        _echo_report(report)
    if not dry_run and not report.complete:
        sys.exit(1)


def _sinks(app: App, names: Iterable[str]) -> dict[str, TrackerSink]:
    """The tracker sinks named (a name no plugin registered is a configuration error)."""
    from retroflow.errors import PluginError

    registry = app.plugins.tracker_sinks
    try:
        return {name: registry.get(name) for name in names}
    except PluginError as exc:
        raise ConfigError(str(exc)) from None


def _report_data(report: ExportReport) -> dict[str, Any]:
    """An export's report as ``--json`` writes it."""
    items = [
        {
            "action": i.action_id,
            "title": i.title,
            "key": i.key,
            "outcome": i.outcome,
            "external_id": i.external_id,
            "url": i.url,
            "error": i.error,
            "preview": i.preview,
        }
        for i in report.items
    ]
    return {"incident": report.incident_id, "sink": report.sink, "dry_run": report.dry_run, "items": items}


def _echo_report(report: ExportReport) -> None:
    """An export's report as lines: one per action (with its error or preview), then the
    counts on standard error."""
    for item in report.items:
        where = f" {item.external_id}" if item.external_id else ""
        where += f" {item.url}" if item.url else ""
        click.echo(f"{item.outcome}:{where} {item.title} [{item.action_id}]")
        if item.error:
            click.echo(f"    {item.error}")
        if item.preview is not None:
            import json  # here: `retroflow --help` imports this module

            for line in json.dumps(
                item.preview, indent=2, sort_keys=True, default=str, ensure_ascii=False
            ).splitlines():
                click.echo(f"    {line}")
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.counts().items()))
    click.echo(f"{report.sink}: {counts or 'no actions'}", err=True)


# -- followup -----------------------------------------------------------------------------


@click.group("followup", invoke_without_command=True)
@click.option("--owner", help="Only this owner's actions.")
@click.option("--all", "include_closed", is_flag=True, help="Include actions done or won't do.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def followup_group(ctx: click.Context, owner: str | None, include_closed: bool, as_json: bool) -> None:
    """List open actions across all retros, oldest first, by owner (subcommand: sync)."""
    if ctx.invoked_subcommand is not None:
        return
    ctx.invoke(_followup_list, owner=owner, include_closed=include_closed, as_json=as_json)


@pass_app
def _followup_list(app: App, owner: str | None, include_closed: bool, as_json: bool) -> None:
    with _reading(app) as store:
        items = store.follow_ups(include_closed=include_closed) if store is not None else []
    if owner is not None:
        items = [f for f in items if f.owner == owner]
    if as_json:
        _echo_json(
            {
                "incident": f.incident_id,
                "action": f.action_id,
                "title": f.title,
                "owner": f.owner,
                "due": f.due.isoformat() if f.due else None,
                "age_days": round(f.age.total_seconds() / 86400, 2),
                "state": f.state,
                "tracker": f.tracker,
                "external_id": f.external_id,
                "url": f.url,
            }
            for f in items
        )
        return
    if not items:
        click.echo("no open actions")
        return
    from retroflow.store.store import age_text, by_owner

    for name, owned in by_owner(items):
        click.echo(f"{name}:")
        for f in owned:
            ticket = f" {f.tracker} {f.external_id}" if f.external_id else ""
            due = f" due {f.due}" if f.due else ""
            click.echo(f"  {age_text(f.age):>5}  {f.state}{ticket}{due}  {f.incident_id}: {f.title}")


@followup_group.command("sync")
@click.option("--sink", "sink_names", multiple=True, help="Only this sink (repeatable; default: all).")
@pass_app
def followup_sync(app: App, sink_names: tuple[str, ...]) -> None:
    """Read each exported ticket's state back from its tracker and store it."""
    from retroflow.store.exports import sync_status

    sinks = _sinks(app, sink_names or app.plugins.tracker_sinks.names())
    with _reading(app) as store:
        if store is None:
            click.echo("nothing stored yet: no tickets to read")
            return
        linked = {link.sink for link in store.links()}
        report = sync_status(store, {n: s for n, s in sinks.items() if n in linked}, app.config)
    for error in report.errors:
        click.echo(f"Error: {error}", err=True)
    click.echo(f"{report.updated} ticket(s) read, {report.changed} changed state")
    if report.errors:
        sys.exit(1)


# -- db -----------------------------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """The store's database."""


@db_group.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Create or upgrade the schema to the newest migration."""
    from retroflow.store.database import current_revision, database_url, describe_url, open_store

    url = database_url(app.config)
    store = open_store(url)
    try:
        click.echo(f"{describe_url(url)}: at revision {current_revision(store.engine)}")
    finally:
        store.close()


@db_group.command("current")
@pass_app
def db_current(app: App) -> None:
    """Show the database URL (password hidden) and its schema revision."""
    from sqlalchemy.exc import SQLAlchemyError

    from retroflow.store.database import (
        current_revision,
        database_url,
        describe_url,
        head_revision,
        make_engine,
        missing_sqlite_file,
    )

    url = database_url(app.config)
    if missing_sqlite_file(url):
        click.echo(f"{describe_url(url)}: revision none (no database yet: the first retro, or db upgrade, creates it)")
        return
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        raise RetroflowError(f"database {describe_url(url)}: cannot connect ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if revision == head else f"behind (newest is {head}; run: retroflow db upgrade)"
    click.echo(f"{describe_url(url)}: revision {revision or 'none (empty)'}, {state}")


COMMANDS: tuple[click.Command, ...] = (
    retros_command,
    show_command,
    input_group,
    export_command,
    followup_group,
    db_group,
)
