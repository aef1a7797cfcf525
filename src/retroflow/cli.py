"""The ``retroflow`` command line. The one place errors become messages.

Exit codes: 0 success, 1 failure, 2 usage or configuration error. ``--debug`` shows the
traceback (with secrets redacted, without frame locals).
"""

from __future__ import annotations

import functools
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pluggy
import structlog

from retroflow.config import Config, find_config_file, load_config
from retroflow.engine import paused_gc
from retroflow.errors import ConfigError, RetroflowError
from retroflow.logs import configure_logging, redact_text
from retroflow.plugins import Plugins, describe_plugins, get_plugin_manager
from retroflow.request import RetroRequest
from retroflow.roles import document_bytes

log = structlog.get_logger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """What commands share: the config and the plugins, built once, on first use."""

    def __init__(self, config_option: str | None, debug: bool, trace: bool, quiet: bool = False) -> None:
        self.config_option = config_option
        self.debug = debug
        self.trace = trace
        self.quiet = quiet
        self._config: Config | None = None
        self._manager: pluggy.PluginManager | None = None
        self._plugins: Plugins | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(find_config_file(self.config_option))
        return self._config

    @property
    def manager(self) -> pluggy.PluginManager:
        """The plugin manager (plugins loaded, nothing validated yet)."""
        if self._manager is None:
            config = self.config
            self._manager = get_plugin_manager(
                only=config.engine.load_plugins,
                block=config.engine.block_plugins,
                trace=self.trace or None,
            )
        return self._manager

    @property
    def plugins(self) -> Plugins:
        """The plugins with their registries, every plugin table validated."""
        if self._plugins is None:
            config = self.config
            self._plugins = Plugins(self.manager)
            settings = self._plugins.settings
            config.validate_plugins({name: settings.get(name) for name in settings.names()})
            if config.engine.scoring not in self._plugins.scoring_models:
                raise ConfigError(
                    f"{config.label}: [retroflow] scoring: no scoring model named "
                    f"{config.engine.scoring!r} (available: {', '.join(self._plugins.scoring_models.names())})"
                )
            for name in config.engine.formats:
                if name not in self._plugins.renderers:
                    raise ConfigError(
                        f"{config.label}: [retroflow] formats: no renderer named {name!r} "
                        f"(available: {', '.join(self._plugins.renderers.names())})"
                    )
        return self._plugins

    def progress(self, stage: str, message: str) -> None:
        if not self.quiet:
            click.echo(f"retroflow: {message}", err=True)


def handle_errors(func: F) -> F:
    """Turn errors into one-line messages and exit codes; show tracebacks with --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        app: App | None = ctx.find_object(App)
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except RetroflowError as exc:
            if app is not None and app.debug:
                log.error("failed", exc_info=exc)
            click.echo(f"Error: {redact_text(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except Exception as exc:
            if app is not None and app.debug:
                log.error("unexpected failure", exc_info=exc)
                hint = ""
            else:
                hint = " (run with --debug for the traceback)"
            click.echo(f"Error: unexpected {type(exc).__name__}: {redact_text(str(exc))}{hint}", err=True)
            ctx.exit(1)

    return wrapper  # type: ignore[return-value]


class RetroflowGroup(click.Group):
    """Adds the commands plugins register (``retroflow_register_commands``)."""

    def _plugin_commands(self, ctx: click.Context) -> click.Group:
        group = click.Group()
        app = ctx.find_object(App)
        if app is None:
            # Click resolves the subcommand before the group callback runs, so build the
            # App here from the parsed options; the callback then reuses it.
            p = ctx.params
            app = ctx.obj = App(
                p.get("config_path"), p.get("debug", False), p.get("trace", False), p.get("quiet", False)
            )
        if app is not None:
            try:
                app.manager.hook.retroflow_register_commands(cli=group)
            except RetroflowError as exc:
                self._load_error = exc  # reported if the command asked for is not a built-in
        return group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands(ctx).list_commands(ctx)})

    _load_error: RetroflowError | None = None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_error = None
            command = self._plugin_commands(ctx).get_command(ctx, cmd_name)
            if command is None and self._load_error is not None:
                # The command may belong to a plugin that could not be loaded: say why.
                error = click.ClickException(redact_text(str(self._load_error)))
                error.exit_code = self._load_error.exit_code
                raise error
        return command


@click.group(cls=RetroflowGroup)
@click.version_option(package_name="retroflow")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $RETROFLOW_CONFIG, then ./retroflow.toml).",
)
@click.option("--debug", is_flag=True, help="Debug logs and tracebacks on errors.")
@click.option("--trace", is_flag=True, help="Log every hook call (also $RETROFLOW_TRACE=1).")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default="auto",
    show_default=True,
    help="Log lines on stderr: console on a terminal, JSON otherwise.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, debug: bool, trace: bool, quiet: bool, log_format: str) -> None:
    """retroflow: turn a resolved incident into a retrospective that changes the system."""
    configure_logging(
        level="debug" if debug or trace else "warning",
        json=None if log_format == "auto" else log_format == "json",
    )
    if not isinstance(ctx.obj, App):
        ctx.obj = App(config_path, debug=debug, trace=trace, quiet=quiet)


def _safe_name(incident_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", incident_id).strip("-.") or "retro"


def _file_mode(path: Path) -> int:
    """The permissions ``path`` should get: its own if it exists, else what ``open()``
    would give a new file (``mkstemp`` makes every file 0600, unreadable to the team)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write ``content`` (str as UTF-8, or bytes) to ``path`` so a crash leaves the old
    file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@cli.command()
@click.argument("incident")
@click.option(
    "--format",
    "-f",
    "formats",
    multiple=True,
    help="Output format (repeatable; default from config: markdown and json).",
)
@click.option("--out", "-o", help="Output directory, or - for standard output (one format).")
@click.option(
    "--events",
    "event_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A JSON Lines event file (repeatable).",
)
@click.option("--incident-file", type=click.Path(dir_okay=False), help="Incident metadata JSON file.")
@click.option("--title", help="Incident title (wins over the sources).")
@click.option("--service", "services", multiple=True, help="Affected service (repeatable; wins over the sources).")
@click.option("--severity", help="Incident severity (wins over the sources).")
@click.option(
    "--no-store",
    is_flag=True,
    help="Do not store this build (stored human input is then not applied; the .retro.toml file still is).",
)
@click.pass_obj
@handle_errors
def retro(
    app: App,
    incident: str,
    formats: tuple[str, ...],
    out: str | None,
    event_files: tuple[str, ...],
    incident_file: str | None,
    title: str | None,
    services: tuple[str, ...],
    severity: str | None,
    no_store: bool,
) -> None:
    """Build the retro of INCIDENT and write it as Markdown and JSON.

    Human input (stored with ``retroflow input``, and the retro-as-code file) is applied,
    and the build is stored as a new version of the retro unless ``--no-store`` is given.
    """
    config = app.config
    plugins = app.plugins
    chosen = list(formats) or list(config.engine.formats)
    renderers = []
    for name in chosen:
        if name not in plugins.renderers:
            raise click.UsageError(f"unknown format {name!r} (available: {', '.join(plugins.renderers.names())})")
        renderers.append(plugins.renderers.get(name))
    if out == "-" and len(renderers) != 1:
        raise click.UsageError("--out - writes one format to standard output; pick one with --format")
    for path in (*event_files, *([incident_file] if incident_file else [])):
        if not Path(path).is_file():
            raise click.UsageError(f"{path}: file not found")
    overrides: dict[str, Any] = {}
    if title:
        overrides["title"] = title
    if services:
        overrides["services"] = services
    if severity:
        overrides["severity"] = severity
    request = RetroRequest(
        incident_ref=incident,
        event_files=event_files,
        incident_file=Path(incident_file) if incident_file else None,
        overrides=overrides,
    )
    from retroflow.store.commands import build_and_store

    result = build_and_store(request, plugins=plugins, config=config, progress=app.progress, store=not no_store)
    with paused_gc():
        documents = [(renderer, document_bytes(renderer, result, config)) for renderer in renderers]
    if out == "-":
        click.echo(documents[0][1], nl=False)
        return
    directory = Path(out) if out else config.engine.output
    for renderer, text in documents:
        target = directory / f"{_safe_name(result.incident.id)}.{renderer.extension}"
        write_atomically(target, text)
        app.progress("write", f"wrote {target}")
    for gap in result.gaps:
        app.progress("gaps", f"data gap: {gap.plugin} ({gap.stage}, {gap.kind}): {gap.reason}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def plugins(app: App, as_json: bool) -> None:
    """List plugins with their version and the hooks they implement."""
    infos = describe_plugins(app.manager)  # listing needs no valid plugin tables
    if as_json:
        click.echo(
            json.dumps(
                [{"name": i.name, "version": i.version, "hooks": list(i.hooks), "default": i.default} for i in infos],
                indent=2,
            )
        )
        return
    for info in infos:
        kind = "default" if info.default else "installed"
        click.echo(f"{info.name} {info.version} ({kind})")
        for hook in info.hooks:
            click.echo(f"  {hook}")


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.pass_obj
@handle_errors
def config_check(app: App) -> None:
    """Validate the config file and every plugin table, without running anything."""
    config = app.config
    _ = app.plugins  # validates every plugin table, the scoring model and the formats
    where = config.path or "no config file (defaults)"
    tables = ", ".join(f"[plugins.{t}]" for t in sorted(config.plugin_tables)) or "no plugin tables"
    click.echo(f"{where}: OK ({tables}; scoring {config.engine.scoring})")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:  # pragma: no cover - reached only outside commands
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
