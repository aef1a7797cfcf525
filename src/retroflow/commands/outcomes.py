"""Commands ``retroflow outcomes`` (metrics per service and period, and a verdict per done
action) and ``retroflow history import FILE``; the ``[plugins.outcomes]`` settings table.

See ``docs/outcomes.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from retroflow import hookimpl
from retroflow.app import App, pass_app, write_atomically

if TYPE_CHECKING:
    from pathlib import Path

# The store, the statistics and the heuristics' kit are imported inside the commands:
# `retroflow --help` (which loads this plugin to list its commands) and retro builds
# should not pay for them.


@hookimpl
def retroflow_register_settings(register: Callable[[str, type[Any]], None]) -> None:
    # Imported here: `retroflow --help` imports this module to list its commands.
    from retroflow.outcomes.settings import TABLE, OutcomeSettings

    register(TABLE, OutcomeSettings)


@contextmanager
def _opened(app: App) -> Iterator[Any]:
    from retroflow.store.build import store_for

    store = store_for(app.config)
    try:
        yield store
    finally:
        store.close()


def _moment(_ctx: Any, param: click.Parameter, value: str | None) -> datetime | None:
    """A date (``YYYY-MM-DD``, midnight UTC) or an ISO 8601 timestamp with an offset."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        from retroflow.model import parse_timestamp

        return parse_timestamp(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: expected YYYY-MM-DD or a timestamp with an offset ({exc})") from None


def _metrics(app: App) -> dict[str, Any]:
    registry = app.plugins.outcome_metrics
    return {name: registry.get(name) for name in registry.names()}


@click.command("outcomes")
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--since", callback=_moment, help="From this date (YYYY-MM-DD) or time.")
@click.option("--until", callback=_moment, help="Up to this date or time: the history after it is ignored.")
@click.option(
    "--period", type=click.Choice(["month", "quarter"]), default="month", show_default=True, help="Table rows (UTC)."
)
@click.option("--window", "window_days", type=click.IntRange(min=1), help="Days compared before and after an action.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (schema retroflow.outcomes/1).")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), help="Write SVG charts per service here.")
@pass_app
def outcomes_command(
    app: App,
    services: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    period: str,
    window_days: int | None,
    as_json: bool,
    plot_dir: str | None,
) -> None:
    """Outcome metrics per service and period, and whether each done action improved its
    metric (improved, worse, no-change, inconclusive)."""
    from retroflow.outcomes.history import load_history
    from retroflow.outcomes.report import build_report, render_text, to_json

    metrics = _metrics(app)
    with _opened(app) as store:
        history = load_history(store, app.config)
    from retroflow.outcomes.settings import outcome_settings

    settings = outcome_settings(app.config)
    report = build_report(
        history,
        metrics,
        settings,
        services=services,
        since=since,
        until=until,
        period=period,
        window_days=window_days,
    )
    if plot_dir:
        from pathlib import Path

        _plot(app, Path(plot_dir), history, metrics, report, since, until)
    if as_json:
        import orjson  # here: `retroflow --help` imports this module to list its commands

        click.echo(orjson.dumps(to_json(report), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE), nl=False)
    else:
        click.echo(render_text(report), nl=False)


def _plot(app: App, directory: Path, history: Any, metrics: Any, report: Any, since: Any, until: Any) -> None:
    from retroflow.outcomes.plots import report_charts

    for service, charts in report_charts(history, report, since=since, until=until).items():
        safe = _file_name(service)
        for name, svg in charts.items():
            target = directory / f"{safe}-{name}.svg"
            write_atomically(target, svg)
            app.progress("plot", f"wrote {target}")


def _file_name(service: str) -> str:
    """A file name for a service's charts: the name itself when it is safe, else a safe
    spelling with a short hash of the name (two services never share a file)."""
    from retroflow.model import stable_id

    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in service).strip("-.")
    return safe if safe == service else f"{safe or 'service'}-{stable_id(service)[:6]}"


@click.group("history")
def history_group() -> None:
    """Incident history for outcome metrics, from other tools."""


@history_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_app
def history_import(app: App, file: str) -> None:
    """Import past incidents and done actions from a JSON Lines FILE (docs/outcomes.md).

    Bad lines are reported with their number and skipped, the rest imported (exit code 1
    when any line was skipped); importing the same file again changes nothing.
    """
    from retroflow.outcomes.history import parse_history, store_history

    with open(file, "rb") as handle:
        parsed = parse_history(handle, metrics=app.plugins.outcome_metrics.names())
    with _opened(app) as store:
        report = store_history(store, parsed)
    for error in report.errors:
        click.echo(f"{file}: {error}", err=True)
    click.echo(
        f"{file}: incidents {_counts(report.incidents)}; actions {_counts(report.actions)}"
        + (f"; {len(report.errors)} line(s) skipped" if report.errors else "")
    )
    if report.errors:
        click.get_current_context().exit(1)


def _counts(counts: tuple[int, int, int]) -> str:
    new, updated, unchanged = counts
    return f"{new} new, {updated} updated, {unchanged} unchanged"


@hookimpl
def retroflow_register_commands(cli: click.Group) -> None:
    cli.add_command(outcomes_command)
    cli.add_command(history_group)
