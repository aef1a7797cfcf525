"""Building the plugin manager, and a typed layer over its hooks.

There is no module-level plugin manager: :func:`get_plugin_manager` builds a fresh one per
run (and per test). Default plugins are registered like any other; installed plugins come
from the ``retroflow`` entry-point group.

Escape hatches:

* ``RETROFLOW_LOAD_PLUGINS=a,b`` loads only those installed plugins; an empty value loads
  none (default plugins are always registered unless blocked).
* ``[retroflow] block_plugins = ["name"]`` never registers a plugin, default ones included.
* ``RETROFLOW_TRACE=1`` (or ``retroflow --trace``) writes every hook call into the log.
"""

from __future__ import annotations

import importlib
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import pluggy

from retroflow import hookspecs
from retroflow.errors import PluginError
from retroflow.logs import get_logger

if TYPE_CHECKING:
    from retroflow.roles import IncidentFeed, OutcomeMetric, Renderer, ScoringModel, TrackerSink, WebhookReceiver

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "LOAD_PLUGINS_ENV",
    "PluginInfo",
    "PluginManager",
    "Plugins",
    "get_plugin_manager",
]

ENTRY_POINT_GROUP = "retroflow"
LOAD_PLUGINS_ENV = "RETROFLOW_LOAD_PLUGINS"
TRACE_ENV = "RETROFLOW_TRACE"
#: What the name of every hook (and so of every hook implementation) starts with.
HOOK_PREFIX = "retroflow_"

#: The default plugins, by plugin name (what ``retroflow plugins`` lists, gaps name and
#: ``block_plugins`` takes): the module that is the plugin. Grouped by the stage they
#: serve; a plugin's name stays when its module moves, since documents carry it.
DEFAULT_PLUGINS: dict[str, str] = {
    "file": "retroflow.default_plugins.sources.file",
    "change-before-incident": "retroflow.default_plugins.conditions.change_before_incident",
    "impact-math": "retroflow.default_plugins.scoring.impact_math",
    "markdown": "retroflow.default_plugins.renderers.markdown",
    "json-renderer": "retroflow.default_plugins.renderers.json",
    "html": "retroflow.default_plugins.renderers.html",
    "technical-conditions": "retroflow.default_plugins.conditions.technical",
    "human-conditions": "retroflow.default_plugins.conditions.human",
    "misleading-signal": "retroflow.default_plugins.conditions.misleading_signal",
    "process-conditions": "retroflow.default_plugins.conditions.process",
    "action-review": "retroflow.default_plugins.review.action_review",
    "rice": "retroflow.default_plugins.scoring.rice",
    "wsjf": "retroflow.default_plugins.scoring.wsjf",
    "store-commands": "retroflow.default_plugins.store_commands",
    "metrics": "retroflow.default_plugins.outcomes.metrics",
    "outcomes": "retroflow.commands.outcomes",
    "service-commands": "retroflow.default_plugins.service_commands",
}

#: The default plugins that add commands (``retroflow_register_commands``), by name: the
#: only ones loaded to list and find commands (``retroflow --help``), which then imports no
#: heuristic. The commands live in ``retroflow.commands``. A test checks that no other
#: default plugin adds commands.
COMMAND_PLUGINS: tuple[str, ...] = ("store-commands", "outcomes", "service-commands")

log = get_logger(__name__)

R = TypeVar("R")


class PluginManager(pluggy.PluginManager):
    """pluggy's plugin manager, which also knows the distribution each installed plugin
    came from (``"name version"`` by plugin name, for ``retroflow plugins``)."""

    def __init__(self, project_name: str = ENTRY_POINT_GROUP) -> None:
        super().__init__(project_name)
        self.distributions: dict[str, str] = {}

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        """Only names that start with ``retroflow_`` can implement a hook (as pytest does
        with ``pytest_``): every hook is named so, and pluggy's static look-up of each
        other attribute of a plugin (a module's imports, a class's methods) cost
        ``retroflow --help`` a tenth of its time. A hook implementation is therefore named
        after its hook (``specname=`` to another name is not supported)."""
        if not name.startswith(HOOK_PREFIX):
            return None
        return super().parse_hookimpl_opts(plugin, name)


def _only_from_env() -> list[str] | None:
    value = os.environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return [name.strip() for name in value.split(",") if name.strip()]


def get_plugin_manager(
    *,
    load_entrypoints: bool = True,
    only: Sequence[str] | None = None,
    block: Iterable[str] = (),
    extra_plugins: Iterable[object] = (),
    default_plugins: bool | Sequence[str] = True,
    trace: bool | None = None,
) -> PluginManager:
    """Build a plugin manager with the hook specs, default plugins and installed plugins.

    :param load_entrypoints: load plugins from the ``retroflow`` entry-point group.
    :param only: load only these installed plugins (``$RETROFLOW_LOAD_PLUGINS`` wins).
    :param block: names never registered (default plugins included).
    :param extra_plugins: plugin objects, or ``(name, plugin)`` pairs, registered after
        the others (tests, embedding).
    :param default_plugins: register the built-in plugins (or only these of them, by
        name, e.g. :data:`COMMAND_PLUGINS`).
    :param trace: write hook calls into the log (default: ``$RETROFLOW_TRACE``).
    :raises PluginError: a plugin cannot be imported, implements an unknown hook, or wraps
        a hook (``hookwrapper=True`` or ``wrapper=True``: see :func:`_refuse_wrappers`).
    """
    pm = PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for name in block:
        pm.set_blocked(name)
    if default_plugins:
        _register_defaults(pm, list(DEFAULT_PLUGINS) if default_plugins is True else default_plugins)
    env_only = _only_from_env()
    if env_only is not None:
        only = env_only
    if load_entrypoints and (only is None or only):
        _register_installed(pm, only)
    _register_extras(pm, extra_plugins)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(f"plugin {name!r}: {_without_object_reprs(str(exc), exc.plugin, name)}") from exc
    if trace if trace is not None else bool(os.environ.get(TRACE_ENV)):
        enable_tracing(pm)
    return pm


def _register_defaults(pm: PluginManager, names: Sequence[str]) -> None:
    """The default plugins named (keys of :data:`DEFAULT_PLUGINS`) that are not blocked."""
    for name in names:
        if not pm.is_blocked(name):
            _register(pm, importlib.import_module(DEFAULT_PLUGINS[name]), name)


def _register_installed(pm: PluginManager, only: Sequence[str] | None) -> None:
    """The plugins of the ``retroflow`` entry-point group (those in ``only``, if given)."""
    for dist, entry_point in _entry_points():
        if only is not None and entry_point.name not in only:
            continue
        if pm.is_blocked(entry_point.name) or pm.has_plugin(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise PluginError(f"plugin {entry_point.name!r} (from {dist}) failed to import: {exc}") from exc
        _register(pm, plugin, entry_point.name, dist=dist)


def _register_extras(pm: PluginManager, extra_plugins: Iterable[object]) -> None:
    for plugin in extra_plugins:
        extra_name: str | None
        if isinstance(plugin, tuple):  # (name, plugin)
            extra_name, plugin = plugin
        else:
            extra_name = getattr(plugin, "__name__", None) or type(plugin).__name__
            extra_name = extra_name if not pm.has_plugin(extra_name) else None
        _register(pm, plugin, extra_name)


def unknown_plugin_names(
    pm: pluggy.PluginManager, *, only: Sequence[str] | None, block: Iterable[str], label: str
) -> list[str]:
    """A problem for each name in ``only`` (``[retroflow] load_plugins``),
    ``$RETROFLOW_LOAD_PLUGINS`` and ``block`` (``[retroflow] block_plugins``) that names
    no plugin: a misspelt name would load or block nothing, silently. ``label`` names the
    config file."""
    lists = [(f"{label}: [retroflow] load_plugins", only or ()), (f"${LOAD_PLUGINS_ENV}", _only_from_env() or ())]
    blocked = list(block)
    if not any(names for _, names in lists) and not blocked:
        return []  # nothing to check: skip reading every installed distribution
    installed = {entry_point.name for _dist, entry_point in _entry_points()}
    known = installed | set(DEFAULT_PLUGINS) | {n for n, plugin in pm.list_name_plugin() if plugin is not None}
    problems = [
        f"{where}: no installed plugin named {name!r} (installed: {', '.join(sorted(installed)) or 'none'})"
        for where, names in lists
        for name in names
        if name not in installed
    ]
    problems += [
        f"{label}: [retroflow] block_plugins: no plugin named {name!r} (plugins: {', '.join(sorted(known))})"
        for name in blocked
        if name not in known
    ]
    return problems


class EntryPoint(NamedTuple):
    """An entry point of the ``retroflow`` group: what :mod:`importlib.metadata` gives,
    read without it (see :func:`_entry_points`)."""

    name: str
    value: str
    group: str = ENTRY_POINT_GROUP

    def load(self) -> Any:
        """Import the object ``value`` names (``module:attr.attr``)."""
        module, _, path = self.value.partition("[")[0].partition(":")
        found: Any = importlib.import_module(module.strip())
        for attr in filter(None, path.strip().split(".")):
            found = getattr(found, attr)
        return found


def _entry_points() -> Iterator[tuple[str, EntryPoint]]:
    """The ``retroflow`` entry points of every installed distribution (with its ``"name
    version"``), in the order :func:`importlib.metadata.distributions` finds them.

    Read from the ``*.dist-info`` and ``*.egg-info`` directories on ``sys.path`` directly:
    importing :mod:`importlib.metadata` (and the email parser it reads metadata with) costs
    ``retroflow --help`` a fifth of its time. Zips and eggs on the path, or another finder
    of distributions, are left to :mod:`importlib.metadata`.
    """
    if _unusual_path():
        yield from _entry_points_from_metadata()
        return
    seen: set[str] = set()  # as importlib.metadata.entry_points(): the first of a name wins
    for entry in sys.path:
        root = entry or "."
        try:
            children = os.listdir(root)
        except OSError:
            continue
        by_name: dict[str, list[str]] = {}
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")):
                name = low.rpartition(".")[0].partition("-")[0]
                by_name.setdefault(name.replace("-", "_").replace(".", "_"), []).append(child)
        for child in (c for name, found in by_name.items() if name not in seen for c in found):
            directory = os.path.join(root, child)
            points = _read_group(os.path.join(directory, "entry_points.txt"))
            if points:
                label = _distribution_label(directory)
                for point in points:
                    yield label, point
        seen.update(by_name)


def _unusual_path() -> bool:
    import importlib.machinery

    return any(os.path.isfile(entry) or entry.endswith(".egg") for entry in sys.path) or any(
        hasattr(finder, "find_distributions") and finder is not importlib.machinery.PathFinder
        for finder in sys.meta_path
    )


def _entry_points_from_metadata() -> Iterator[tuple[str, EntryPoint]]:
    import importlib.metadata

    for dist in importlib.metadata.distributions():
        for entry_point in dist.entry_points:
            if entry_point.group == ENTRY_POINT_GROUP:
                yield f"{dist.metadata['Name']} {dist.version}", EntryPoint(entry_point.name, entry_point.value)


def _read_group(path: str) -> list[EntryPoint]:
    """The ``[retroflow]`` section of an ``entry_points.txt``."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return []
    points: list[EntryPoint] = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == ENTRY_POINT_GROUP and "=" in line:
            name, _, value = line.partition("=")
            points.append(EntryPoint(name.strip(), value.strip()))
    return points


def _distribution_label(directory: str) -> str:
    """``"name version"`` from the metadata's headers (``METADATA``, or ``PKG-INFO``)."""
    headers: dict[str, str] = {}
    for file in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(directory, file), encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        break
                    key, _, value = line.partition(":")
                    headers.setdefault(key.strip().lower(), value.strip())
        except (OSError, UnicodeDecodeError):
            continue
        break
    return f"{headers.get('name')} {headers.get('version')}"


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None, dist: str | None = None) -> None:
    try:
        registered = pm.register(plugin, name=name)
    except ValueError as exc:  # duplicate name or object
        raise PluginError(f"plugin {name!r} cannot be registered: {exc}") from exc
    except pluggy.PluginValidationError as exc:
        shown = name or repr(plugin)
        raise PluginError(f"plugin {shown!r}: {_without_object_reprs(str(exc), exc.plugin, shown)}") from exc
    if registered is None:  # blocked
        return
    _refuse_wrappers(pm, plugin, registered)
    if dist is not None and isinstance(pm, PluginManager):
        pm.distributions[registered] = dist


def _refuse_wrappers(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Refuse a plugin that wraps a hook: retroflow calls the implementations of every hook
    one at a time, each isolated (:func:`hook_implementations`), so a wrapper would never
    run; better a clear error when the plugin loads than a wrapper silently ignored."""
    wrapped = sorted(
        caller.name
        for caller in pm.get_hookcallers(plugin) or ()
        for impl in caller.get_hookimpls()
        if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper)
    )
    if wrapped:
        pm.unregister(plugin)
        raise PluginError(
            f"plugin {name!r} wraps {', '.join(wrapped)} (hookwrapper=True or wrapper=True): retroflow calls each "
            "implementation of its hooks on its own, one at a time, so a hook wrapper would never run; "
            "implement the hook without hookwrapper/wrapper"
        )


def _without_object_reprs(message: str, plugin: object, name: str) -> str:
    return message.replace(repr(plugin), repr(name))


# Plugin managers whose hook calls are traced (the engine calls implementations one by
# one, bypassing pluggy's own tracing, so Plugins.call traces them itself).
_TRACED: weakref.WeakSet[pluggy.PluginManager] = weakref.WeakSet()


def enable_tracing(pm: pluggy.PluginManager) -> None:
    """Write every hook call into the log at debug level ("hook trace" events)."""
    pm.trace.root.setwriter(lambda message: log.debug("hook trace", message=message.rstrip()))
    pm.enable_tracing()
    _TRACED.add(pm)


class PluginInfo(NamedTuple):
    """A plugin as ``retroflow plugins`` lists it."""

    name: str
    version: str
    hooks: tuple[str, ...]
    default: bool


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Each registered plugin with its distribution version and the hooks it implements."""
    import retroflow

    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        dist = pm.distributions.get(name) if isinstance(pm, PluginManager) else None
        if name in DEFAULT_PLUGINS:
            version = retroflow.__version__
        elif dist:
            version = dist.rsplit(" ", 1)[-1]
        else:
            version = "unknown"
        infos.append(PluginInfo(name=name or "?", version=version, hooks=hooks, default=name in DEFAULT_PLUGINS))
    return sorted(infos, key=lambda i: (not i.default, i.name))


def hook_implementations(pm: pluggy.PluginManager, hook_name: str) -> list[pluggy.HookImpl]:
    """The implementations of ``hook_name`` in the order pluggy would call them (tryfirst
    first), to be called one at a time, each isolated (pluggy stops at the first raise)."""
    caller = getattr(pm.hook, hook_name)
    return [impl for impl in reversed(caller.get_hookimpls()) if not (impl.hookwrapper or impl.wrapper)]


class Registry(Generic[R]):
    """Named objects plugins registered for one role; records which plugin gave which.
    Typed by the role (``Registry[ScoringModel]``), as the hook that fills it is."""

    def __init__(self, role: str) -> None:
        self.role = role
        self._items: dict[str, R] = {}
        self._owners: dict[str, str] = {}

    def add(self, plugin_name: str, item: R, *, name: str | None = None) -> None:
        key = name if name is not None else getattr(item, "name", None)
        if not isinstance(key, str) or not key:
            raise PluginError(f"plugin {plugin_name!r} registered a {self.role} without a name")
        if key in self._items:
            raise PluginError(f"{self.role} {key!r} is registered by both {self._owners[key]!r} and {plugin_name!r}")
        self._items[key] = item
        self._owners[key] = plugin_name

    def get(self, name: str) -> R:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise PluginError(f"no {self.role} named {name!r} (available: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def owner(self, name: str) -> str:
        return self._owners[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items


class Plugins:
    """A typed facade over a plugin manager: the registries of named roles, and calls of
    collecting hooks one implementation at a time."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.settings: Registry[type[Any]] = self._settings()
        self.scoring_models: Registry[ScoringModel] = self._collect_register(
            "retroflow_register_scoring_models", "scoring model"
        )
        self.renderers: Registry[Renderer] = self._collect_register("retroflow_register_renderers", "renderer")
        self.tracker_sinks: Registry[TrackerSink] = self._collect_register(
            "retroflow_register_tracker_sinks", "tracker sink"
        )
        self.outcome_metrics: Registry[OutcomeMetric] = self._collect_register(
            "retroflow_register_outcome_metrics", "outcome metric"
        )
        self.webhooks: Registry[WebhookReceiver] = self._collect_register(
            "retroflow_register_webhooks", "webhook receiver"
        )
        self.incident_feeds: Registry[IncidentFeed] = self._collect_register(
            "retroflow_register_incident_feeds", "incident feed"
        )

    def _settings(self) -> Registry[type[Any]]:
        """The settings tables plugins declare (``register(table, attrs_class)``)."""
        import attrs

        registry: Registry[type[Any]] = Registry("settings table")

        def register(plugin_name: str, table: str, item: type[Any]) -> None:
            if not attrs.has(item):
                raise PluginError(
                    f"plugin {plugin_name!r} declared settings [plugins.{table}] with {item!r}, which is not an attrs class"
                )
            registry.add(plugin_name, item, name=table)

        self.call_register("retroflow_register_settings", register)
        return registry

    def _collect_register(self, hook_name: str, role: str) -> Registry[Any]:
        """The objects plugins register for ``role`` through ``hook_name`` (``register(obj)``)."""
        registry: Registry[Any] = Registry(role)
        self.call_register(hook_name, registry.add)
        return registry

    def call_register(self, hook_name: str, add: Callable[..., None]) -> None:
        """Call each implementation of a ``register_*`` hook with a ``register`` that passes
        the plugin's name and what it registers to ``add``; a failure (of the plugin, or an
        error ``add`` raises) fails the caller, naming the plugin."""
        for impl in self.implementations(hook_name):
            plugin_name = impl.plugin_name

            def register(*args: Any, _plugin: str = plugin_name) -> None:
                add(_plugin, *args)

            try:
                self.call(impl, register=register)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"plugin {plugin_name!r} failed in {hook_name}: {exc}") from exc

    def implementations(self, hook_name: str) -> list[pluggy.HookImpl]:
        """Implementations in the order pluggy would call them (tryfirst first)."""
        return hook_implementations(self.pm, hook_name)

    def call(self, impl: pluggy.HookImpl, **kwargs: Any) -> Any:
        """Call one implementation with the arguments it asks for."""
        if self.pm in _TRACED:
            log.debug(
                "hook trace", message=f"{self._hook_name(impl)} -> {impl.plugin_name}", args=sorted(impl.argnames)
            )
        return impl.function(*[kwargs[name] for name in impl.argnames])

    @staticmethod
    def _hook_name(impl: pluggy.HookImpl) -> str:
        return getattr(impl.function, "__name__", "hook")
