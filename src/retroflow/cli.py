"""The ``retroflow`` command line. The one place errors become messages.

Exit codes: 0 success, 1 failure, 2 usage or configuration error. ``--debug`` shows the
traceback (with secrets redacted, without frame locals).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import click

from retroflow.app import (
    App,
    PluginManagerFactory,
    echo_error,
    incident_ref,
    pass_app,
    plugin_problems,
)
from retroflow.errors import ConfigError, PluginError, RetroflowError
from retroflow.logs import configure_logging, get_logger, redact_text

if TYPE_CHECKING:
    from pathlib import Path

    from retroflow.config import Config
    from retroflow.plugins import Plugins
    from retroflow.roles import Renderer

# Everything else is imported where it is used: `retroflow --help`, and every command,
# start with this module, and most of them need little of the engine.

log = get_logger(__name__)


#: Options of ``retroflow`` itself that may also follow the command (``retroflow retro X
#: -q``), by option string: the parameter's name, and whether it takes a value. No command
#: may have an option of the same name (tests/core/test_cli.py checks).
GLOBAL_OPTIONS: dict[str, tuple[str, bool]] = {
    "-q": ("quiet", False),
    "--quiet": ("quiet", False),
    "--debug": ("debug", False),
    "--trace": ("trace", False),
    "--config": ("config_path", True),
    "--log-format": ("log_format", True),
}


def terminal_columns() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` gives it: ``COLUMNS`` if it
    is a positive number, else the width of standard output's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns or 80


class RetroflowContext(click.Context):
    """click's context, but help text is wrapped to the terminal's width without importing
    :mod:`shutil`: click's formatter imports it (and with it bz2, lzma and zlib) only to
    ask that width, which was 3% of ``retroflow --help``."""

    def make_formatter(self) -> click.HelpFormatter:
        from click import formatting

        width = self.terminal_width
        if width is None and formatting.FORCED_WIDTH is None:  # click's test runner forces it
            width = max(min(terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


class RetroflowGroup(click.Group):
    """Adds the commands plugins register (``retroflow_register_commands``), takes global
    options given after the command, and exits 130 on Ctrl-C."""

    context_class = RetroflowContext

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\nretroflow: interrupted", err=True)
            ctx.exit(130)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # The group's own options were parsed before the command name; those written after
        # it are taken here, before the command (and, for a plugin command, the App) is made.
        return super().resolve_command(ctx, [*args[:1], *self._take_global_options(ctx, args[1:])])

    def _take_global_options(self, ctx: click.Context, args: list[str]) -> list[str]:
        params = {param.name: param for param in self.params}
        rest: list[str] = []
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                rest.append(token)
                rest.extend(tokens)
                break
            name, _, attached = token.partition("=")
            option = GLOBAL_OPTIONS.get(name)
            if option is None or (attached and not option[1]):
                rest.append(token)
                continue
            key, takes_value = option
            value: Any = True
            if takes_value:
                value = attached if attached else next(tokens, None)
                if value is None:
                    raise click.UsageError(f"Option {name!r} requires an argument.", ctx)
            ctx.params[key] = params[key].process_value(ctx, value)
        return rest

    def _plugin_commands(self, ctx: click.Context) -> click.Group:
        """The commands plugins add, each plugin's ``retroflow_register_commands`` called on
        its own: one that raises is recorded (see :meth:`_load_errors`) and the others'
        commands are still there, so ``retroflow --help`` works with a broken plugin.
        Made once per run (``--help`` asks for each command in turn)."""
        # Click resolves the subcommand before the group callback runs: the App is made here
        # from the parsed options, and the callback then reuses it.
        app = run_app(ctx)
        if app.plugin_commands is None:
            app.plugin_commands = self._collect_plugin_commands(app)
        return app.plugin_commands

    def _collect_plugin_commands(self, app: App) -> click.Group:
        group = click.Group()
        self._load_errors = []
        try:
            from retroflow.plugins import hook_implementations

            implementations = hook_implementations(app.command_manager, "retroflow_register_commands")
        except RetroflowError as exc:
            self._load_errors.append(exc)  # reported if the command asked for is not a built-in
            return group
        for impl in implementations:
            try:
                impl.function(*[{"cli": group}[name] for name in impl.argnames])
            except Exception as exc:
                from retroflow.engine import describe_error

                log.debug("plugin commands failed", plugin=impl.plugin_name, exc_info=exc)
                self._load_errors.append(
                    PluginError(
                        f"plugin {impl.plugin_name!r} failed in retroflow_register_commands: {describe_error(exc)}"
                    )
                )
        return group

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = sorted({*super().list_commands(ctx), *self._plugin_commands(ctx).list_commands(ctx)})
        for error in self._load_errors:  # --help lists what works, and says what does not
            click.echo(f"retroflow: {redact_text(str(error))}", err=True)
        return names

    #: Why plugin commands are missing, set by each :meth:`_plugin_commands` call.
    _load_errors: list[RetroflowError]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            command = self._plugin_commands(ctx).get_command(ctx, cmd_name)
            if command is None and self._load_errors:
                # The command may belong to a plugin that could not be loaded: say why.
                first = self._load_errors[0]
                if isinstance(first, PluginError) and "retroflow_register_commands" in str(first):
                    message = f"no command {cmd_name!r}; " + "; ".join(str(e) for e in self._load_errors)
                else:
                    message = str(first)
                click.echo(f"Error: {redact_text(message)}", err=True)
                ctx.exit(first.exit_code)
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
    run_app(ctx)


def run_app(ctx: click.Context) -> App:
    """The run's :class:`App`, made once from the group's parsed options and what the caller
    passed as ``obj``: ``{"plugin_manager_factory": factory}`` builds the plugin manager
    with ``factory`` (tests and embedders register their own plugins this way)."""
    app = ctx.find_object(App)
    if app is None:
        p = ctx.params
        given: Mapping[str, Any] = ctx.obj if isinstance(ctx.obj, Mapping) else {}
        factory: PluginManagerFactory | None = given.get("plugin_manager_factory")
        app = ctx.obj = App(
            p.get("config_path"),
            p.get("debug", False),
            p.get("trace", False),
            p.get("quiet", False),
            plugin_manager_factory=factory,
        )
    return app


@cli.command()
@click.argument("incident", callback=incident_ref)
@click.option(
    "--format",
    "-f",
    "formats",
    multiple=True,
    help="Output format (repeatable; default from config: markdown and json).",
)
@click.option("--out", "-o", help="Output directory (it must exist), or - for standard output (one format).")
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
@pass_app
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

    Human input (stored with 'retroflow input', and the retro-as-code file) is applied,
    and the build is stored as a new version of the retro unless --no-store is given.
    """
    from pathlib import Path

    from retroflow.engine import describe_gap
    from retroflow.publisher import Publisher
    from retroflow.request import RetroRequest
    from retroflow.store.build import build_and_store

    config = app.config
    plugins = app.plugins
    renderers = [_renderer(plugins, name) for name in formats or config.engine.formats]
    if out == "-" and len(renderers) != 1:
        raise click.UsageError("--out - writes one format to standard output; pick one with --format")
    directory = None if out == "-" else _output_directory(out, config)
    for path in (*event_files, *([incident_file] if incident_file else [])):
        if not Path(path).is_file():
            raise click.UsageError(f"{path}: file not found")
    missing = config.missing_inputs()
    if missing:
        raise ConfigError(*missing)
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
    publish = Publisher(config, plugins, renderers, directory, progress=app.progress)
    app.built = result = build_and_store(
        request, plugins=plugins, config=config, progress=app.progress, store=not no_store, publish=publish
    )
    for gap in result.gaps:
        app.progress("gaps", f"data gap: {describe_gap(gap)}")


def _renderer(plugins: Plugins, name: str) -> Renderer:
    if name not in plugins.renderers:
        raise click.UsageError(f"unknown format {name!r} (available: {', '.join(plugins.renderers.names())})")
    return plugins.renderers.get(name)


def _output_directory(out: str | None, config: Config) -> Path:
    """Where the documents go, checked before anything runs: ``--out``, which must be a
    directory that can be written to, else ``[retroflow] output`` (created if missing).

    :raises ConfigError: ``--out`` is not such a directory, or ``[retroflow] output``
        cannot be written to.
    """
    from pathlib import Path  # here: `retroflow --help` needs no paths

    if out is not None:
        problem = _unwritable(Path(out), create=False)
        if problem:
            raise ConfigError(f"--out {out}: {problem}")
        return Path(out)
    directory = config.engine.output
    problem = _unwritable(directory, create=True)
    if problem:
        raise ConfigError(f"{config.label}: [retroflow] output: {directory}: {problem}")
    return directory


def _unwritable(directory: Path, *, create: bool) -> str | None:
    """Why documents cannot be written into ``directory`` (``None``: they can). A missing
    one is a problem unless ``create``; then its nearest existing parent must be writable."""
    if not directory.is_dir():
        if directory.exists():
            return "not a directory"
        if not create:
            return "no such directory"
        from pathlib import Path

        directory = next((parent for parent in directory.parents if parent.exists()), Path("."))
        if not directory.is_dir():
            return f"cannot be created ({directory} is not a directory)"
    import tempfile

    try:  # the one sure test: what write_atomically does (os.access trusts root, not mounts)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".retroflow-probe-")
    except OSError as exc:
        return f"cannot write in {directory} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(probe)
    return None


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def plugins(app: App, as_json: bool) -> None:
    """List plugins with their version and the hooks they implement."""
    import json

    from retroflow.plugins import describe_plugins

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
@pass_app
def config_check(app: App) -> None:
    """Validate the config file and every plugin table, without running anything.

    Reports every problem, not only the first: wrong or unknown keys, unset environment
    references, input files that do not exist, plugin names that name no plugin, and a
    database URL that is not supported.
    """
    from retroflow.config import load_config
    from retroflow.plugins import Plugins
    from retroflow.store.database import database_problems

    problems: list[str] = []
    config = load_config(app.config_file, problems)
    plugins = Plugins(app.manager_for(config))
    problems += plugin_problems(config, plugins)
    problems += config.missing_inputs()
    problems += database_problems(config)
    if problems:
        raise ConfigError(*problems)
    where = config.path or "no config file (defaults)"
    tables = ", ".join(f"[plugins.{t}]" for t in sorted(config.plugin_tables)) or "no plugin tables"
    click.echo(f"{where}: OK ({tables}; scoring {config.engine.scoring})")


def main(obj: Mapping[str, Any] | None = None) -> None:
    """The ``retroflow`` command: :data:`cli`, then :func:`end_process`.

    :param obj: click's context object; ``{"plugin_manager_factory": factory}`` builds the
        plugin manager with ``factory`` (see :func:`run_app`).
    """
    try:
        cli(standalone_mode=True, obj=obj)
    except ConfigError as exc:  # pragma: no cover - reached only outside commands
        echo_error(exc)
        end_process(2)
    except SystemExit as exc:
        end_process(exc.code)
    end_process(0)  # pragma: no cover - click's standalone mode always exits


def end_process(code: str | int | None) -> NoReturn:
    """End the process once every output is written, the way the interpreter does (wait
    for threads that are not daemons, run the ``atexit`` handlers, flush standard output
    and error, ``sys.exit``'s code) but without tearing it down: freeing a retro of
    100,000 events object by object, then every module, cost a tenth of a second. Files
    are written and the store is committed and closed by then; only :func:`main` calls
    this, never library code.
    """
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    shutdown_threads = getattr(threading, "_shutdown", None)
    if shutdown_threads is not None:
        shutdown_threads()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # what the interpreter exits with when standard output fails
    os._exit(code or 0)
