"""``retroflow.toml``: finding it, reading it, validating it into typed settings.

The file has one ``[retroflow]`` table for the engine and one ``[plugins.<name>]`` table per
plugin. Each plugin declares its table with an attrs class
(:func:`~retroflow.hookspecs.retroflow_register_settings`); every error names the file, the
key and what was expected. Secrets are never written in the file: they are environment
references, ``token = "env:PAGERDUTY_TOKEN"``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs

from retroflow.config_file import CONFIG_ENV, find_config_file
from retroflow.errors import ConfigError, PluginError
from retroflow.logs import register_basic_auth, register_secret

__all__ = [
    "CONFIG_ENV",
    "INPUT_PATH",
    "AuthToken",
    "Config",
    "EngineSettings",
    "Secret",
    "ServiceAuth",
    "ServiceSettings",
    "find_config_file",
    "load_config",
    "parse_config",
]

T = TypeVar("T")

ENV_PREFIX = "env:"

#: Field metadata for a settings key naming input the plugin reads (a ``Path``, a list of
#: them, or ``None``): ``events: list[Path] = attrs.field(factory=list, metadata=INPUT_PATH)``.
#: ``retroflow retro`` and ``retroflow config check`` report each one that does not exist,
#: naming the table and key, before anything runs.
INPUT_PATH: Mapping[str, Any] = types.MappingProxyType({"retroflow.input_path": True})


@attrs.frozen(repr=False)
class Secret:
    """A secret read from the environment. Its ``repr`` and ``str`` never show the value."""

    env: str
    _value: str = attrs.field(alias="value")

    @classmethod
    def from_reference(cls, reference: str, *, where: str) -> Secret:
        if not reference.startswith(ENV_PREFIX) or not reference[len(ENV_PREFIX) :].strip():
            raise ConfigError(
                f'{where}: expected an environment reference like "env:NAME" '
                "(secrets are not written into config files)"
            )
        name = reference[len(ENV_PREFIX) :].strip()
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        register_secret(value)
        return cls(env=name, value=value)

    def reveal(self) -> str:
        """The secret itself, for the one call that sends it."""
        return self._value

    def basic_auth(self, user: str) -> tuple[str, str]:
        """``(user, secret)`` for HTTP Basic authentication, for the one call that sends it.
        The base64 of ``user:secret`` the header carries is masked from now on, like the
        secret itself (a server may echo it in an error)."""
        register_basic_auth(user, self._value)
        return (user, self._value)

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r})"

    __str__ = __repr__


@attrs.frozen
class EngineSettings:
    """The ``[retroflow]`` table.

    :ivar scoring: the scoring model to use, by name.
    :ivar formats: the renderers ``retroflow retro`` writes when ``--format`` is not given.
    :ivar output: the directory retros are written to when ``--out`` is not given.
    :ivar source_timeout: seconds each timeline source may take.
    :ivar plugin_timeout: seconds every other collecting hook implementation may take.
    :ivar focus: how many of the top-scored actions are marked as the retro's focus.
    :ivar load_plugins: only these installed (entry-point) plugins are loaded; ``[]`` loads
        none. Unset: all are loaded. ``RETROFLOW_LOAD_PLUGINS`` wins over it.
    :ivar block_plugins: plugins (default ones included) that are never registered.
    :ivar database: the store's database URL: ``sqlite:///PATH`` (a relative path is relative
        to this file's directory) or ``postgresql://...``; ``env:NAME`` reads the URL from
        the environment (for passwords). ``$RETROFLOW_DATABASE`` wins over it. Unset: a
        SQLite file in the user's data directory, the same from every working directory.
    :ivar input_dir: where retro-as-code files (``<INCIDENT>.retro.toml``, human input
        reviewed like code) are read from.
    :ivar timeline_owner_rota: people who take turns owning the timeline of a retro (each
        incident is given one of them, the same on every build); empty: the first person
        to acknowledge the incident owns it.
    """

    scoring: str = "impact-math"
    formats: list[str] = attrs.field(factory=lambda: ["markdown", "json"])
    output: Path = Path("retros")
    source_timeout: float = 60.0
    plugin_timeout: float = 30.0
    focus: int = 3
    load_plugins: list[str] | None = None
    block_plugins: list[str] = attrs.field(factory=list)
    database: str | None = None
    input_dir: Path = Path("retros")
    timeline_owner_rota: list[str] = attrs.field(factory=list)


# attrs validators for settings tables (plugins' too): the message names the key; ``None``
# (a setting left unset) passes.


def positive(instance: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    """An attrs validator: the value is above 0 (or ``None``)."""
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name}: expected a positive number, got {value!r}")


def not_negative(instance: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    """An attrs validator: the value is 0 or more (or ``None``)."""
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name}: expected 0 or more, got {value!r}")


_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
#: The shortest token ``[service.auth]`` accepts: a token is a password anyone can try.
MIN_TOKEN_LENGTH = 16


def _user_name(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{attribute.name}: expected a name without control characters, got {value!r}")


@attrs.frozen
class AuthToken:
    """One writer of ``retroflow serve``'s pages: ``user`` (recorded as the author of what
    they write) signs in with ``token``."""

    user: str = attrs.field(validator=_user_name)
    token: Secret = attrs.field()

    @token.validator
    def _long_enough(self, attribute: attrs.Attribute[Any], value: Secret) -> None:
        if len(value.reveal()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"token of {self.user!r} ({value.env}): shorter than {MIN_TOKEN_LENGTH} characters")


def _networks(instance: Any, attribute: attrs.Attribute[Any], value: list[str]) -> None:
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{attribute.name}: {item!r} is not an IP address or network") from None


@attrs.frozen
class ServiceAuth:
    """``[service.auth]``: who may write through ``retroflow serve``'s pages (reading needs
    nothing; see ``docs/html.md``). Nobody, unless configured.

    :ivar tokens: writers who sign in with a token (``{user = "alice", token = "env:NAME"}``).
    :ivar proxy_header: a header a trusted proxy in front sets to the signed-in user's name
        (e.g. ``X-Forwarded-User``); believed only from ``trusted_proxies``.
    :ivar trusted_proxies: the addresses (or networks) of that proxy.
    """

    tokens: list[AuthToken] = attrs.field(factory=list)
    proxy_header: str | None = attrs.field(default=None)
    trusted_proxies: list[str] = attrs.field(factory=lambda: ["127.0.0.1", "::1"], validator=_networks)

    @tokens.validator
    def _distinct(self, attribute: attrs.Attribute[Any], value: list[AuthToken]) -> None:
        users = [t.user for t in value]
        twice = sorted({u for u in users if users.count(u) > 1})
        if twice:
            raise ValueError(f"tokens: user {twice[0]!r} is listed twice")
        secrets = [t.token.reveal() for t in value]
        if len(set(secrets)) != len(secrets):
            raise ValueError("tokens: two users share a token (each writer needs their own)")

    @proxy_header.validator
    def _header(self, attribute: attrs.Attribute[Any], value: str | None) -> None:
        if value is not None and not _HEADER_NAME.match(value):
            raise ValueError(f"proxy_header: {value!r} is not an HTTP header name")

    @property
    def configured(self) -> bool:
        """Whether anyone can write at all."""
        return bool(self.tokens or self.proxy_header)


def region_url(urls: Mapping[str, str], value: str) -> str:
    """An ``api`` setting as a URL: a region's name (a key of ``urls``, any case) is its URL,
    an https:// URL is taken as given (trailing slash removed). For an attrs converter:
    a named function ``converter=_api_url`` that calls this."""
    url = urls.get(value.lower(), value).rstrip("/")
    if not url.startswith("https://"):
        names = ", ".join(f'"{name}"' for name in urls)
        raise ValueError(f"api: expected {names} or an https:// URL, got {value!r}")
    return url


def at_least_one(instance: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    """An attrs validator: the value is 1 or more (or ``None``)."""
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name}: expected 1 or more, got {value!r}")


@attrs.frozen
class ServiceSettings:
    """The ``[service]`` table: ``retroflow serve``, ``worker`` and ``watch``, and the job
    that drafts a retro when an incident resolves (``docs/automation.md``).

    :ivar host: / :ivar port: where ``retroflow serve`` listens (``--host``/``--port`` win).
    :ivar draft_delay: seconds after a resolve before its retro is drafted; a reopen within
        them cancels the draft.
    :ivar workers: job threads of ``retroflow serve`` and of each ``retroflow worker``.
    :ivar max_attempts: tries of a job before it ends ``failed``.
    :ivar retry_delay: seconds before the first retry of a failed job; doubled each time,
        up to ``max_retry_delay``.
    :ivar lease_seconds: how long a claimed job belongs to its worker without a heartbeat;
        a worker killed mid-job loses its jobs to another after this long.
    :ivar shutdown_grace: seconds a stopping worker lets running jobs finish before it gives
        their leases back.
    :ivar poll_interval: seconds between two polls of ``retroflow watch``.
    :ivar poll_lookback: how far back, in seconds, the first poll looks.
    :ivar export: tracker sinks the job exports each draft's actions to.
    :ivar pagerduty_note: add a note with the retro's link and timeline owner to the
        PagerDuty incident when its draft is stored.
    :ivar retro_url: the retro's link, with ``{incident}`` and ``{version}`` filled in.
    :ivar services: / :ivar urgencies: / :ivar priorities: draft only incidents of these
        (empty: all).
    :ivar max_body_bytes: the largest webhook body accepted (larger: 413).
    :ivar jobs: where jobs wait and which workers run them: ``"table"``, retroflow's own
        job table (any database), or ``"procrastinate"``, procrastinate's queue in the same
        PostgreSQL database (the ``procrastinate`` extra; scale-out, ``docs/automation.md``).
    :ivar auth: who may write (record human input) through the served pages.
    """

    host: str = "127.0.0.1"
    port: int = attrs.field(default=8787, validator=not_negative)
    draft_delay: float = attrs.field(default=600.0, validator=not_negative)
    workers: int = attrs.field(default=2, validator=not_negative)
    max_attempts: int = attrs.field(default=5, validator=positive)
    retry_delay: float = attrs.field(default=30.0, validator=positive)
    max_retry_delay: float = attrs.field(default=3600.0, validator=positive)
    lease_seconds: float = attrs.field(default=300.0, validator=positive)
    shutdown_grace: float = attrs.field(default=30.0, validator=not_negative)
    poll_interval: float = attrs.field(default=300.0, validator=positive)
    poll_lookback: float = attrs.field(default=86400.0, validator=positive)
    export: list[str] = attrs.field(factory=list)
    pagerduty_note: bool = False
    retro_url: str | None = None
    services: list[str] = attrs.field(factory=list)
    urgencies: list[str] = attrs.field(factory=list)
    priorities: list[str] = attrs.field(factory=list)
    max_body_bytes: int = attrs.field(default=1_048_576, validator=positive)
    jobs: Literal["table", "procrastinate"] = "table"
    auth: ServiceAuth = attrs.field(factory=ServiceAuth)


class Config:
    """A validated configuration. Built by :func:`load_config`, completed with the plugins'
    settings by :meth:`validate_plugins` once the plugin manager knows them."""

    def __init__(
        self,
        path: Path | None,
        engine: EngineSettings,
        plugin_tables: Mapping[str, Mapping[str, Any]],
        service: ServiceSettings | None = None,
    ) -> None:
        self.path = path
        self.engine = engine
        #: The ``[service]`` table (defaults when absent).
        self.service = service or ServiceSettings()
        self.plugin_tables = dict(plugin_tables)
        self._settings: dict[str, Any] = {}

    @classmethod
    def empty(cls) -> Config:
        return cls(None, EngineSettings(), {})

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "configuration"

    @property
    def base_dir(self) -> Path:
        """Relative paths in the file are relative to the file's directory (absolute)."""
        return self.path.parent.absolute() if self.path else Path.cwd()

    def validate_plugins(self, declared: Mapping[str, type[Any]], problems: list[str] | None = None) -> None:
        """Validate every ``[plugins.X]`` table against the settings class declared for X.

        A table no installed plugin declares is an error (it is most often a typo).

        :param problems: collect every problem here (a table that has one is then not
            configured) instead of raising :class:`ConfigError` naming them all.
        """
        found: list[str] = []
        known = ", ".join(sorted(declared)) or "none"
        for table in sorted(set(self.plugin_tables) - set(declared)):
            found.append(
                f"{self.label}: [plugins.{table}] is not read by any installed plugin (tables plugins read: {known})"
            )
        for table, cls in declared.items():
            if table in self.plugin_tables:
                settings, wrong = convert_table(
                    cls,
                    self.plugin_tables[table],
                    where=f"{self.label}: [plugins.{table}]",
                    base_dir=self.base_dir,
                )
                found.extend(wrong)
                self._settings[table] = None if wrong else settings
            else:
                try:
                    self._settings[table] = cls()
                except TypeError:
                    self._settings[table] = None  # has required keys: not configured
        _report(found, problems)

    @typing.overload
    def settings_for(self, table: str) -> Any: ...

    @typing.overload
    def settings_for(self, table: str, cls: type[T]) -> T | None: ...

    def settings_for(self, table: str, cls: type[T] | None = None) -> Any:
        """The validated settings of ``[plugins.<table>]``: an instance of the class the
        plugin declared, its defaults when the table is absent, or ``None`` when the table
        is absent and the class has required keys (the plugin is not configured).

        :param cls: the class the plugin declared the table with: the result is then typed
            (``T | None``), and a table declared with another class is an error.
        :raises PluginError: the table holds settings of a class other than ``cls``.
        """
        settings = self._settings.get(table)
        if cls is not None and settings is not None and not isinstance(settings, cls):
            raise PluginError(f"[plugins.{table}] holds {type(settings).__name__} settings, not {cls.__name__}")
        return settings

    def missing_inputs(self) -> list[str]:
        """A problem for each input path (a settings key marked :data:`INPUT_PATH`) of the
        validated plugin tables that does not exist, naming the table and the key."""
        problems = []
        for table, settings in sorted(self._settings.items()):
            if settings is None:
                continue
            for field in attrs.fields(type(settings)):
                if not field.metadata.get("retroflow.input_path"):
                    continue
                value = getattr(settings, field.name)
                for path in value if isinstance(value, list | tuple) else [value]:
                    if path is not None and not Path(path).exists():
                        problems.append(f"{self.label}: [plugins.{table}] {field.alias}: {path}: no such file")
        return problems


def load_config(path: Path | None, problems: list[str] | None = None) -> Config:
    """Read and validate the engine part of a config file (``None``: all defaults).

    :param problems: collect every problem here and return what can be read (defaults
        for what is wrong) instead of raising :class:`ConfigError` naming them all.
    """
    if path is None:
        return Config.empty()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _report([f"{path}: cannot read: {exc}"], problems)
        return Config(path, EngineSettings(), {})
    return parse_config(text, path, problems)


def parse_config(text: str, path: Path, problems: list[str] | None = None) -> Config:
    """Validate the engine part of config ``text`` as if read from ``path`` (errors name
    it; relative paths are relative to its directory). ``problems`` as in :func:`load_config`."""
    import tomllib  # here: most commands run without a config file (and `--help`)

    label = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        _report([f"{label}: invalid TOML: {exc}"], problems)
        return Config(path, EngineSettings(), {})
    found = [
        f"{label}: unknown top-level key {key!r} (expected [retroflow], [service] or [plugins.NAME])"
        for key in sorted(set(raw) - {"retroflow", "service", "plugins"})
    ]
    engine_table = raw.get("retroflow", {})
    if not isinstance(engine_table, dict):
        found.append(f"{label}: retroflow: expected a table")
        engine_table = {}
    base_dir = path.parent.absolute()
    engine, wrong = convert_table(EngineSettings, engine_table, where=f"{label}: [retroflow]", base_dir=base_dir)
    found.extend(wrong)
    engine = engine or EngineSettings()
    if engine.source_timeout <= 0 or engine.plugin_timeout <= 0:
        found.append(f"{label}: [retroflow] timeouts must be positive numbers of seconds")
    service = _table(raw, "service", ServiceSettings, label, base_dir, found)
    plugins = raw.get("plugins", {})
    if not isinstance(plugins, dict):
        found.append(f"{label}: plugins: expected a table of [plugins.NAME] tables")
        plugins = {}
    for name, table in plugins.items():
        if not isinstance(table, dict):
            found.append(f"{label}: plugins.{name}: expected a table ([plugins.{name}])")
    tables = {name: table for name, table in plugins.items() if isinstance(table, dict)}
    _report(found, problems)
    return Config(path, engine, tables, service)


def _table(raw: Mapping[str, Any], name: str, cls: type[Any], label: str, base_dir: Path, found: list[str]) -> Any:
    """The top-level table ``[name]`` validated into ``cls`` (its defaults when absent or
    wrong); each problem is added to ``found``."""
    table = raw.get(name, {})
    if not isinstance(table, dict):
        found.append(f"{label}: {name}: expected a table")
        table = {}
    settings, wrong = convert_table(cls, table, where=f"{label}: [{name}]", base_dir=base_dir)
    found.extend(wrong)
    return settings or cls()


def _report(found: list[str], problems: list[str] | None) -> None:
    """Add ``found`` to ``problems`` when collecting, else raise them all (if any)."""
    if problems is not None:
        problems.extend(found)
    elif found:
        raise ConfigError(*found)


# --- conversion of TOML tables into attrs settings classes -------------------------------

_TYPE_WORDS: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    Path: "a path (string)",
    Secret: 'an environment reference like "env:NAME"',
}


def convert(cls: type[Any], table: Mapping[str, Any], *, where: str, base_dir: Path) -> Any:
    """Build ``cls`` from ``table``, with errors that say ``where`` and the key.

    :raises ConfigError: naming every key that is wrong, unknown or missing.
    """
    settings, problems = convert_table(cls, table, where=where, base_dir=base_dir)
    _report(problems, None)
    return settings


def convert_table(cls: type[Any], table: Mapping[str, Any], *, where: str, base_dir: Path) -> tuple[Any, list[str]]:
    """Build ``cls`` from the keys of ``table`` that are right (defaults for the others);
    return it (``None`` when it cannot be built) and a problem for every key that is wrong."""
    fields = {f.name: f for f in attrs.fields(cls)}
    aliases = {f.alias: f.name for f in fields.values()}
    hints = typing.get_type_hints(cls)
    problems = [
        f"{where} {key}: unknown key (expected one of: {', '.join(sorted(aliases))})"
        for key in sorted(set(table) - set(aliases))
    ]
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        if key in aliases:
            try:
                kwargs[key] = _convert_value(hints[aliases[key]], value, where=f"{where} {key}", base_dir=base_dir)
            except ConfigError as exc:
                problems.extend(exc.problems)
    missing = [f.alias for f in fields.values() if f.default is attrs.NOTHING and f.alias not in table]
    problems.extend(f"{where} {key}: required key is missing" for key in missing)
    if missing:
        return None, problems
    try:
        return cls(**kwargs), problems
    except (TypeError, ValueError) as exc:
        return None, [*problems, f"{where}: {exc}"]


_PLURALS: dict[Any, str] = {str: "strings", int: "integers", float: "numbers", bool: "booleans", Path: "paths"}


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        item = typing.get_args(tp)[0]
        if attrs.has(item) and item is not Secret:
            return "a list of tables"
        return "a list of " + _PLURALS.get(item, f"{_describe(item)} values")
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if tp not in _TYPE_WORDS and attrs.has(tp):
        return "a table"
    return _TYPE_WORDS.get(tp, getattr(tp, "__name__", str(tp)))


def _convert_value(tp: Any, value: Any, *, where: str, base_dir: Path) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return _convert_value(options[0], value, where=where, base_dir=base_dir)
    if origin in (list, tuple):
        (item_type, *_rest) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {_shown(value)}")
        items = [
            _convert_value(item_type, item, where=f"{where}[{i}]", base_dir=base_dir) for i, item in enumerate(value)
        ]
        return items if origin is list else tuple(items)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {_shown(value)}")
        return value
    if tp is Secret:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected {_describe(tp)}, got a {type(value).__name__}")
        return Secret.from_reference(value, where=where)
    if attrs.has(tp):  # a nested table: [plugins.x.sub], or one item of a list of tables
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {_shown(value)}")
        return convert(tp, value, where=where, base_dir=base_dir)
    if tp is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {_shown(value)}")
        # Absolute, so that no later join with the config's directory can apply it twice.
        return Path(os.path.normpath(base_dir / Path(value).expanduser()))
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {_shown(value)}")
        return float(value)
    if tp in (str, int, bool):
        if type(value) is not tp:
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {_shown(value)}")
        return value
    if isinstance(tp, type) and issubclass(tp, str):  # enums of strings
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(repr(str(c)) for c in tp)  # type: ignore[attr-defined]
            raise ConfigError(f"{where}: expected one of {choices}, got {_shown(value)}") from None
    return value


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
