"""What the ``retroflow`` command and every command plugin share: :class:`App` (the config
and the plugins of one run), :func:`pass_app` (a command given the App, its errors become
messages and exit codes), :func:`write_atomically`, :func:`incident_ref` and the
:class:`Publisher` of documents.

Command plugins (``retroflow_register_commands``) import these from here, never from
:mod:`retroflow.cli`, which is the root command group and nothing a plugin builds on.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import click

from retroflow.errors import ConfigError, RetroflowError
from retroflow.lazy import lazy_exports
from retroflow.logs import get_logger, redact_text

if TYPE_CHECKING:
    from pathlib import Path

    import pluggy

    from retroflow.config import Config
    from retroflow.model import Retro
    from retroflow.plugins import Plugins
    from retroflow.publisher import Publisher

# Everything else is imported where it is used: `retroflow --help`, and every command,
# start with this module, and most of them need little of the engine.

__all__ = [
    "App",
    "PluginManagerFactory",
    "Publisher",
    "handle_errors",
    "incident_ref",
    "pass_app",
    "plugin_problems",
    "write_atomically",
]

log = get_logger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")

#: Builds a plugin manager from :func:`retroflow.plugins.get_plugin_manager`'s arguments.
#: The CLI takes one (``main(obj={"plugin_manager_factory": ...})``, or ``obj=`` of click's
#: test runner) so that tests and embedders register their own plugins.
PluginManagerFactory = Callable[..., "pluggy.PluginManager"]


def default_plugin_manager(**kwargs: Any) -> pluggy.PluginManager:
    """:func:`retroflow.plugins.get_plugin_manager`, imported when first called."""
    from retroflow.plugins import get_plugin_manager as build

    return build(**kwargs)


class App:
    """What commands share: the config and the plugins, built once, on first use."""

    def __init__(
        self,
        config_option: str | None,
        debug: bool,
        trace: bool,
        quiet: bool = False,
        *,
        plugin_manager_factory: PluginManagerFactory | None = None,
    ) -> None:
        self.config_option = config_option
        self.plugin_manager_factory = plugin_manager_factory or default_plugin_manager
        self.debug = debug
        self.trace = trace
        self.quiet = quiet
        self._config: Config | None = None
        self._manager: pluggy.PluginManager | None = None
        self._command_manager: pluggy.PluginManager | None = None
        self._plugins: Plugins | None = None
        #: The retro a command built, kept as long as the command's context: when main()
        #: ends the process (end_process), its objects are then never freed one by one.
        self.built: Retro | None = None
        #: The commands plugins add (``retroflow_register_commands``), made once per run.
        self.plugin_commands: click.Group | None = None

    @functools.cached_property
    def config_file(self) -> Path | None:
        """The config file of this run (``--config``, ``$RETROFLOW_CONFIG``, then
        ``./retroflow.toml``), looked for once; ``None``: there is none."""
        from retroflow.config_file import find_config_file

        return find_config_file(self.config_option)

    @property
    def config(self) -> Config:
        if self._config is None:
            from retroflow.config import load_config

            self._config = load_config(self.config_file)
        return self._config

    @property
    def manager(self) -> pluggy.PluginManager:
        """The plugin manager (plugins loaded, nothing validated yet)."""
        if self._manager is None:
            self._manager = self.manager_for(self.config)
        return self._manager

    @property
    def command_manager(self) -> pluggy.PluginManager:
        """A plugin manager to find commands with: :attr:`manager` once built, else one
        with, of the default plugins, only those that add commands
        (:data:`~retroflow.plugins.COMMAND_PLUGINS`), so that ``retroflow --help`` does not
        import every heuristic."""
        if self._manager is not None:
            return self._manager
        if self._command_manager is None:
            from retroflow.plugins import COMMAND_PLUGINS

            # Without a config file, nothing is read (nor retroflow.config imported): every
            # plugin is loaded, none blocked.
            config = self.config if self._config is not None or self.config_file is not None else None
            self._command_manager = self.manager_for(config, default_plugins=COMMAND_PLUGINS)
        return self._command_manager

    def manager_for(self, config: Config | None, **options: Any) -> pluggy.PluginManager:
        """A plugin manager loading and blocking the plugins ``config`` says (``None``: no
        config file, so all of them, none blocked; ``options``: more arguments of
        :func:`~retroflow.plugins.get_plugin_manager`)."""
        only = config.engine.load_plugins if config is not None else None
        block = config.engine.block_plugins if config is not None else []
        return self.plugin_manager_factory(only=only, block=block, trace=self.trace or None, **options)

    @property
    def plugins(self) -> Plugins:
        """The plugins with their registries, every plugin table validated."""
        if self._plugins is None:
            from retroflow.plugins import Plugins

            plugins = Plugins(self.manager)
            problems = plugin_problems(self.config, plugins)
            if problems:
                raise ConfigError(*problems)
            self._plugins = plugins
        return self._plugins

    def progress(self, stage: str, message: str) -> None:
        if not self.quiet:
            click.echo(f"retroflow: {message}", err=True)


def plugin_problems(config: Config, plugins: Plugins) -> list[str]:
    """Every problem of ``config`` with ``plugins``: the plugin tables, the scoring model,
    the formats, the sinks ``[service]`` exports to, and plugin names (to load or block)
    that name no plugin."""
    from retroflow.plugins import unknown_plugin_names

    settings = plugins.settings
    problems: list[str] = []
    config.validate_plugins({name: settings.get(name) for name in settings.names()}, problems)
    engine = config.engine
    if engine.scoring not in plugins.scoring_models:
        problems.append(
            f"{config.label}: [retroflow] scoring: no scoring model named {engine.scoring!r} "
            f"(available: {', '.join(plugins.scoring_models.names())})"
        )
    problems.extend(
        f"{config.label}: [retroflow] formats: no renderer named {name!r} "
        f"(available: {', '.join(plugins.renderers.names())})"
        for name in engine.formats
        if name not in plugins.renderers
    )
    problems.extend(
        f"{config.label}: [service] export: no tracker sink named {name!r} "
        f"(available: {', '.join(plugins.tracker_sinks.names()) or 'none'})"
        for name in config.service.export
        if name not in plugins.tracker_sinks
    )
    problems.extend(
        unknown_plugin_names(plugins.pm, only=engine.load_plugins, block=engine.block_plugins, label=config.label)
    )
    return problems


def echo_error(exc: RetroflowError) -> None:
    """One ``Error:`` line per problem of a :class:`ConfigError`; other errors print their
    message as it is (a first line, then any detail lines)."""
    for problem in exc.problems if isinstance(exc, ConfigError) else (str(exc),):
        click.echo(f"Error: {redact_text(problem)}", err=True)


def _debugging(ctx: click.Context) -> bool:
    """``--debug`` was given: the group's callback puts the :class:`App` on every context."""
    return bool(getattr(ctx.find_object(App), "debug", False))


def handle_errors(func: F) -> F:
    """Turn errors into one-line messages and exit codes; show tracebacks with --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, BrokenPipeError):
            raise  # click ends a broken pipe (``| head``) quietly, exit code 1
        except RetroflowError as exc:
            if _debugging(ctx):
                log.error("failed", exc_info=exc)
            echo_error(exc)
            ctx.exit(exc.exit_code)
        except Exception as exc:
            if _debugging(ctx):
                log.error("unexpected failure", exc_info=exc)
                hint = ""
            else:
                hint = " (run with --debug for the traceback)"
            click.echo(f"Error: unexpected {type(exc).__name__}: {redact_text(str(exc))}{hint}", err=True)
            ctx.exit(1)

    return wrapper  # type: ignore[return-value]


def pass_app(command: Callable[Concatenate[App, P], R]) -> Callable[P, R]:
    """A command's callback given the run's :class:`App` (click's ``obj``) as its first
    argument, its errors turned into messages and exit codes (:func:`handle_errors`): what
    every command of ``retroflow`` is, written once (``@click.pass_obj`` over ``@handle_errors``)."""
    return click.pass_obj(handle_errors(command))


def incident_ref(_ctx: click.Context | None, _param: click.Parameter | None, value: str) -> str:
    """Click callback for an INCIDENT argument: an empty id, or one with control
    characters, is a usage error."""
    from retroflow.filenames import check_incident_ref

    try:
        return check_incident_ref(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


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
    import tempfile  # with shutil, bz2 and lzma: not for commands that write nothing

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# The Publisher (an attrs class) is made when first used: `retroflow --help` imports this
# module and makes no attrs class (each costs it about 2 ms).
__getattr__ = lazy_exports(__name__, {"Publisher": "retroflow.publisher:Publisher"})
