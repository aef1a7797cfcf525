"""The kit plugin authors test with (and retroflow's own tests use).

* :func:`make_plugins`: a fresh plugin manager, entry-point autoload off, with the
  plugins you pass registered after the default ones.
* :func:`make_config`: a validated :class:`~retroflow.config.Config` from TOML text;
  :func:`config_for`: one for a plugin alone.
* :func:`make_incident`, :func:`make_event`: factories with sensible defaults.
* :func:`build`: build a retro in one call.
* :func:`check_source_contract`: what every timeline source must do, checked against yours;
  :func:`run_source`, :func:`collect_source`: your source run once, as the engine runs it;
  :func:`make_source`: your source plugin object on a test session and a fixed clock;
  :func:`json_fixtures`: a reader of your tests' JSON fixture files;
  :func:`environment_fixture`: an autouse fixture putting fake secrets in the environment.
* :func:`make_retro_for_export`, :func:`make_drafts`, :class:`RecordingSleep`,
  :func:`check_sink_contract`, :func:`check_secret_not_leaked`: the tracker sink kit.
* :func:`running_service`: ``retroflow serve``'s app on a loopback port, to send a webhook
  receiver real HTTP.
* :func:`check_public_imports`, :func:`check_entry_point`, :func:`check_import_stays_light`:
  a plugin package as installed: its imports, its entry point, what loading it costs.

The fixtures plugin tests share are in :mod:`retroflow.testing.pytest_plugin` (a pytest
plugin, loaded wherever retroflow is installed); the contract suite every tracker sink runs
is :class:`retroflow.testing.sink_contract.SinkContract`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from retroflow import hookimpl
from retroflow.config import Config, parse_config
from retroflow.engine import build_retro
from retroflow.errors import ConfigError
from retroflow.model import (
    ActionItem,
    Event,
    EventKind,
    Factor,
    Incident,
    PastActions,
    Retro,
    Score,
    SourceResult,
    Timeline,
    Verification,
)
from retroflow.plugins import Plugins, get_plugin_manager
from retroflow.request import RetroRequest
from retroflow.roles import TicketDraft, TrackerClient, TrackerSink
from retroflow.validation import checked_result

__all__ = [
    "NOW",
    "PAYMENTS_INCIDENT",
    "PUBLIC_MODULES",
    "T0",
    "RecordingSleep",
    "RunningService",
    "build",
    "check_entry_point",
    "check_import_stays_light",
    "check_public_imports",
    "check_secret_not_leaked",
    "check_sink_contract",
    "check_source_contract",
    "collect_source",
    "config_for",
    "environment_fixture",
    "json_fixtures",
    "json_refs",
    "make_config",
    "make_drafts",
    "make_event",
    "make_incident",
    "make_plugins",
    "make_retro_for_export",
    "make_source",
    "run_source",
    "running_service",
]

#: A fixed instant tests build timelines around.
T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
#: "Now" for a source under test (:func:`make_source`): the midnight after :data:`T0`.
NOW = datetime(2026, 11, 3, tzinfo=UTC)

_counter = itertools.count(1)


def make_plugins(*plugins: object, default_plugins: bool = True, block: Iterable[str] = ()) -> Plugins:
    """A fresh :class:`Plugins` without installed (entry-point) plugins.

    Pass ``(name, plugin)`` to register a plugin under a name (the name its settings
    table, timeout and gaps go by), as its entry point would.
    """
    pm = get_plugin_manager(
        load_entrypoints=False, extra_plugins=plugins, default_plugins=default_plugins, block=block, trace=False
    )
    return Plugins(pm)


def make_config(
    toml: str = "", *, plugins: Plugins | None = None, path: Path | None = None, base_dir: Path | None = None
) -> Config:
    """A validated config from TOML text, read as if from ``path`` (default
    ``<base_dir or cwd>/retroflow.toml``); plugin tables validated against ``plugins``."""
    config = parse_config(toml, path or (base_dir or Path.cwd()) / "retroflow.toml")
    if plugins is not None:
        config.validate_plugins({name: plugins.settings.get(name) for name in plugins.settings.names()})
    return config


def config_for(plugin: object, toml: str, base_dir: Path | None = None) -> Config:
    """A validated config for ``plugin`` alone (no default plugins) from TOML text, read as
    if from ``<base_dir or cwd>/retroflow.toml``."""
    return make_config(toml, plugins=make_plugins(plugin, default_plugins=False), base_dir=base_dir)


def make_incident(**overrides: Any) -> Incident:
    values: dict[str, Any] = {
        "id": "INC-1",
        "title": "Checkout errors",
        "source": "test",
        "services": ("checkout",),
        "created": T0,
        "resolved": T0 + timedelta(hours=1),
    }
    values.update(overrides)
    return Incident(**values)


#: An incident for a second-round source to read around: ``PD-1`` (as a paging tool numbers
#: one) of the ``payments`` service, created at :data:`T0` and resolved an hour later.
PAYMENTS_INCIDENT = make_incident(id="PD-1", services=("payments",))


def make_event(
    kind: EventKind | str = EventKind.SIGNAL,
    minutes: float = 0,
    *,
    summary: str | None = None,
    source: str = "test",
    native_id: str | None = None,
    **fields: Any,
) -> Event:
    """An event ``minutes`` after :data:`T0` (``at=`` overrides)."""
    at = fields.pop("at", T0 + timedelta(minutes=minutes))
    return Event.create(
        at=at,
        source=source,
        kind=kind,
        summary=summary or f"{kind} at +{minutes} min",
        native_id=native_id or f"e{next(_counter)}",
        **fields,
    )


class _StaticSource:
    """A source plugin returning fixed data (used by :func:`build`)."""

    def __init__(self, result: SourceResult) -> None:
        self.result = result

    @hookimpl
    def retroflow_timeline_source(self) -> SourceResult:
        return self.result


def build(
    events: Iterable[Event] = (),
    *,
    incident: Incident | None = None,
    history: Iterable[Incident] = (),
    plugins: Iterable[object] = (),
    config: str = "",
    default_plugins: bool = True,
    past_actions: PastActions | None = None,
) -> Retro:
    """Build a retro from in-memory events with the default plugins plus ``plugins``
    (``config`` is TOML text); ``past_actions`` stands in for the store's verdicts of past
    done actions (heuristics that ask for ``past_actions`` get it)."""
    incident = incident or make_incident()
    source = _StaticSource(SourceResult(incident=incident, events=tuple(events), history=tuple(history)))
    manager = make_plugins(source, *plugins, default_plugins=default_plugins)
    return build_retro(
        RetroRequest(incident_ref=incident.id),
        plugins=manager,
        config=make_config(config, plugins=manager),
        past_actions=None if past_actions is None else lambda _incident, _as_of: past_actions,
    )


def check_source_contract(
    plugin: object,
    request: RetroRequest,
    config: Config | None = None,
    *,
    incident: Incident | None = None,
    timeline: Timeline | None = None,
) -> SourceResult:
    """Run ``plugin``'s timeline source twice and check what every source must do:

    * it returns a :class:`SourceResult` (``None`` is allowed only when it does not know
      the incident; then this check fails, so pass a request it knows);
    * the engine would drop none of it (:mod:`retroflow.validation`: event types, times,
      text, details; incident, history and gap types);
    * every event is in UTC;
    * no two events share an identity ``(source, native_id)``;
    * the same request gives the same result (events, incident).

    A source that asks for the ``incident`` or the ``timeline`` (second-round sources) gets
    ``incident``, by default :func:`make_incident` with the request's reference as its id,
    and ``timeline``, by default an empty one.

    Returns the first result for further checks.
    """
    plugins = make_plugins(plugin, default_plugins=False)
    config = config or make_config(plugins=plugins)
    impls = plugins.implementations("retroflow_timeline_source")
    assert impls, f"{plugin!r} implements no retroflow_timeline_source"
    impl = impls[-1] if len(impls) > 1 else impls[0]
    arguments = {
        "request": request,
        "config": config,
        "incident": incident or make_incident(id=request.incident_ref),
        "timeline": timeline or Timeline.from_events(()),
    }
    first = plugins.call(impl, **arguments)
    second = plugins.call(impl, **arguments)
    assert isinstance(first, SourceResult), f"expected a SourceResult, got {first!r}"
    _checked, dropped = checked_result(impl.plugin_name, first)
    assert not dropped, f"the engine would drop part of the result: {[gap.reason for gap in dropped]}"
    keys = set()
    for event in first.events:
        assert event.at.tzinfo is UTC, f"{event.id}: time {event.at!r} is not aware UTC"
        assert event.key not in keys, f"duplicate event identity {event.key}"
        keys.add(event.key)
    assert isinstance(second, SourceResult)
    assert [attrs.astuple(e, recurse=False) for e in first.events] == [
        attrs.astuple(e, recurse=False) for e in second.events
    ], "the same request gave different events"
    assert first.incident == second.incident, "the same request gave a different incident"
    return first


def make_source(
    source_class: Callable[..., Any],
    session: Any = None,
    sleep: Callable[[float], None] | None = None,
    *,
    now: datetime = NOW,
) -> Any:
    """A source plugin object (a :class:`~retroflow.sources.SourcePlugin`) that sends
    through ``session`` (one ``responses`` serves), waits with ``sleep`` (by default it
    returns at once) and whose clock says ``now`` (by default :data:`NOW`)."""
    return source_class(session=session, sleep=sleep or (lambda seconds: None), now=lambda: now)


def json_fixtures(directory: Path) -> Callable[[str], Any]:
    """A reader of the JSON files in ``directory`` (your tests' fixtures): the decoded
    content of the one of a name."""

    def read(name: str) -> Any:
        import json

        return json.loads((directory / name).read_text(encoding="utf-8"))

    return read


def environment_fixture(**variables: str) -> Any:
    """A pytest fixture, used by every test where it is defined (``autouse``), that sets
    ``variables`` in the environment for the test: your fake secrets, where your settings
    read them (``token = "env:ACME_TOKEN"``). In a ``conftest.py``::

        secrets = environment_fixture(ACME_TOKEN=TOKEN)
    """
    import pytest  # the test kit's: retroflow itself does not depend on pytest

    @pytest.fixture(autouse=True)
    def environment(monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return environment


def run_source(
    plugin: object,
    toml: str = "",
    base_dir: Path | None = None,
    *,
    request: RetroRequest | str | None = None,
    incident: Incident | None = None,
    timeline: Timeline | None = None,
) -> SourceResult | None:
    """Run ``plugin``'s timeline source once, as the engine does: with a config for it alone
    from ``toml`` (:func:`config_for`, read in ``base_dir``) and the arguments it asks for,
    ``request`` (a :class:`RetroRequest` or its reference; by default the incident's id),
    ``incident`` (by default :func:`make_incident` with the request's reference) and
    ``timeline`` (by default an empty one). Returns what it returns: a :class:`SourceResult`,
    or ``None`` (not configured, not its incident)."""
    if isinstance(request, str) or request is None:
        request = RetroRequest(request if request is not None else incident.id if incident else "INC-1")
    plugins = make_plugins(plugin, default_plugins=False)
    impls = plugins.implementations("retroflow_timeline_source")
    assert impls, f"{plugin!r} implements no retroflow_timeline_source"
    result = plugins.call(
        impls[-1],
        request=request,
        config=make_config(toml, plugins=plugins, base_dir=base_dir),
        incident=incident or make_incident(id=request.incident_ref),
        timeline=timeline or Timeline.from_events(()),
    )
    assert result is None or isinstance(result, SourceResult), f"expected a SourceResult or None, got {result!r}"
    return result


def collect_source(plugin: object, toml: str = "", base_dir: Path | None = None, **given: Any) -> SourceResult:
    """:func:`run_source` (``given``: its ``request``, ``incident`` and ``timeline``), which
    must give a :class:`SourceResult` (not ``None``)."""
    result = run_source(plugin, toml, base_dir, **given)
    assert isinstance(result, SourceResult), f"expected a SourceResult, got {result!r}"
    return result


# --- tracker sinks ----------------------------------------------------------------------


def make_retro_for_export(actions: int = 1) -> Retro:
    """A retro of incident ``CHK-1042`` with ``actions`` scored actions (ids ``act000``,
    ``act001``, ...) answering one factor whose evidence is a deploy and a signal.

    Every action has a change, a category, a verification, an effort and a score of 4.5
    (``impact-math``); the first also has the owner ``alice`` and a due date (2026-12-15).
    """
    deploy = make_event("deploy", -6, summary="Deploy checkout v2.14.0 (pool size 50 → 5)", source="github")
    signal = make_event("signal", 0, summary="payment-client timed out waiting for a connection", source="otel")
    incident = make_incident(
        id="CHK-1042", title="Checkout card payments failing", links=("https://pd.example.com/incidents/CHK-1042",)
    )
    factor = Factor(
        key="change-before-incident",
        layer="technical",
        title="A change to checkout shortly before the first signal",
        explanation="The deploy landed 6 min before the first signal; nothing stopped it.",
        evidence=(deploy.id, signal.id),
    )
    items = tuple(
        ActionItem(
            id=f"act{i:03d}",
            title=f"Gate deploys of checkout on a canary check #{i}",
            change="Deploy to a canary first and roll back automatically when its error rate is worse.",
            category="automate a decision",
            owner="alice" if i == 0 else None,
            due=date(2026, 12, 15) if i == 0 else None,
            factors=("change-before-incident",),
            verify=Verification(metric="bad deploys reaching all traffic", service="checkout", target="0 per quarter"),
            effort="medium",
            score=Score(model="impact-math", value=4.5, explanation="frequency medium × impact high ÷ effort medium"),
        )
        for i in range(actions)
    )
    return Retro(incident=incident, timeline=Timeline.from_events([deploy, signal]), factors=(factor,), actions=items)


def make_drafts(retro: Retro, retro_url: str | None = "https://retros.example.com/CHK-1042") -> list[TicketDraft]:
    """One draft per action of ``retro``, keyed ``k-<action id>``."""
    return [
        TicketDraft(key=f"k-{action.id}", action=action, retro=retro, retro_url=retro_url) for action in retro.actions
    ]


class RecordingSleep:
    """A ``sleep`` for sinks that records the seconds asked for (in :attr:`calls`) and
    returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def check_secret_not_leaked(secret: str, error: BaseException, *outputs: object) -> None:
    """Assert that ``secret`` is nowhere in ``error``'s message, that ``error`` has no
    cause or context (which could carry it: raise outside the ``except`` block), and that it
    is in none of ``outputs`` (log text as ``str``; anything else, e.g. captured log
    entries, by its ``repr``)."""
    assert secret not in str(error), f"the secret is in the error: {error}"
    assert error.__cause__ is None, f"the error has a cause, which may carry the secret: {error.__cause__!r}"
    assert error.__context__ is None, f"the error has a context, which may carry the secret: {error.__context__!r}"
    for output in outputs:
        text = output if isinstance(output, str) else repr(output)
        assert secret not in text, "the secret is in the output"


def check_sink_contract(plugin: object, name: str, config: Config, *, required: str) -> TrackerClient:
    """Check what every tracker sink plugin must do:

    * it registers a :class:`~retroflow.TrackerSink` called ``name`` and the settings
      table ``[plugins.<name>]``;
    * ``open(config)`` gives a :class:`~retroflow.TrackerClient`;
    * ``open`` of a configuration without the table raises :class:`ConfigError` saying
      ``[plugins.<name>] is not configured: <required>``.

    ``config`` is a valid configuration of the sink. Returns the opened client.
    """
    plugins = make_plugins(plugin, default_plugins=False)
    sink = plugins.tracker_sinks.get(name)
    assert isinstance(sink, TrackerSink), f"{sink!r} does not follow the TrackerSink protocol"
    assert sink.name == name, f"the sink is called {sink.name!r}, not {name!r}"
    assert name in plugins.settings.names(), f"no settings table [plugins.{name}] is registered"
    client = sink.open(config)
    assert isinstance(client, TrackerClient), f"{client!r} does not follow the TrackerClient protocol"
    try:
        sink.open(make_config("", plugins=plugins))
    except ConfigError as exc:
        expected = f"[plugins.{name}] is not configured: {required}"
        assert expected in str(exc), f"expected {expected!r} in {str(exc)!r}"
    else:
        raise AssertionError(f"open() of a configuration without [plugins.{name}] did not raise ConfigError")
    return client


class RunningService:
    """``retroflow serve``'s app on a loopback port (see :func:`running_service`).

    :ivar url: ``http://127.0.0.1:PORT``.
    :ivar service: the running service (its ``database``, ``jobs``, ``inbox``, ``workers``).
    """

    def __init__(self, url: str, service: Any) -> None:
        self.url = url
        self.service = service

    def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one real HTTP request; the status and the answer (decoded JSON, else text)."""
        import http.client
        import json as _json
        from urllib.parse import urlsplit

        where = urlsplit(self.url)
        connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        try:
            return response.status, _json.loads(data) if data else None
        except ValueError:
            return response.status, data.decode("utf-8", "replace")

    def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
        return self.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)


@contextmanager
def running_service(config: Config, plugins: Plugins, *, workers: int = 0) -> Iterator[RunningService]:
    """Run ``retroflow serve``'s app (webhook intake, health, ``workers`` job threads) on a
    free loopback port in a thread of this process, with ``config`` and ``plugins``; stop
    it gracefully on exit. Send it real HTTP with :meth:`RunningService.post`.

    Needs the ``service`` extra (``pip install 'retroflow[service]'``).
    """
    import threading

    import uvicorn

    from retroflow.service.app import create_app
    from retroflow.service.server import bind, build_service

    service = build_service(config, plugins, intake=True, threads=workers)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(service), log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="retroflow-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        raise RuntimeError("the service did not start")
    host, port = sock.getsockname()[:2]
    try:
        yield RunningService(f"http://{host}:{port}", service)
    finally:
        server.should_exit = True
        thread.join(30)
        service.database.close()
        sock.close()


#: The modules plugins may import from: ``retroflow`` (the names in ``retroflow.__all__``),
#: the HTTP helpers, the source and tracker-sink helpers, what commands build on and this kit. The rest of retroflow is private
#: and may change.
PUBLIC_MODULES = (
    "retroflow",
    "retroflow.app",
    "retroflow.http",
    "retroflow.lazy",
    "retroflow.sources",
    "retroflow.trackers",
    "retroflow.testing",
)


def check_public_imports(package_dir: Path, *, test_kit: bool = True) -> None:
    """Assert that the modules under ``package_dir`` import from retroflow only its public
    API: ``from M import X`` with M one of :data:`PUBLIC_MODULES` and X in ``M.__all__``.
    ``import retroflow...`` statements are refused (they reach private modules through
    attributes).

    ``test_kit=False`` refuses ``retroflow.testing`` too: for a plugin's own package, as
    opposed to its tests.
    """
    import ast
    import importlib

    public = [m for m in PUBLIC_MODULES if test_kit or m != "retroflow.testing"]
    problems = []
    for path in sorted(package_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "retroflow":
                if node.module not in public:
                    problems.append(f"{path}:{node.lineno}: imports private module {node.module}")
                    continue
                exported = importlib.import_module(node.module).__all__
                problems.extend(
                    f"{path}:{node.lineno}: imports {alias.name}, which {node.module} does not export"
                    for alias in node.names
                    if alias.name not in exported
                )
            elif isinstance(node, ast.Import):
                problems.extend(
                    f"{path}:{node.lineno}: imports {alias.name} (write: from {alias.name} import ...)"
                    for alias in node.names
                    if alias.name.split(".")[0] == "retroflow"
                )
    if problems:  # raised, not asserted: the message is the list, however pytest rewrites asserts
        raise AssertionError("uses retroflow's private API:\n" + "\n".join(problems))


def check_entry_point(name: str, *, sink: bool = False, reads: Iterable[str] = ()) -> Plugins:
    """Load the installed plugin ``name`` from the ``retroflow`` entry-point group, as
    retroflow does, and check that it registers the settings table ``[plugins.<name>]`` and
    either (``sink``) a tracker sink called ``name``, or a timeline source that goes by
    ``name`` when registered directly, asks for the arguments ``reads`` (``("incident",)``
    for a second-round source) and, without its table, is not asked: it returns ``None``.
    Returns the plugins, for further checks."""
    import importlib.metadata

    found = [e for e in importlib.metadata.entry_points(group="retroflow") if e.name == name]
    assert len(found) == 1, f"{len(found)} entry points named {name!r} in the group 'retroflow'"
    plugin = found[0].load()
    plugins = make_plugins((name, plugin), default_plugins=False)
    assert name in plugins.settings.names(), f"no settings table [plugins.{name}] is registered"
    if sink:
        assert plugins.tracker_sinks.get(name).name == name
        return plugins
    assert getattr(plugin, "__name__", None) == name, f"{plugin!r} does not go by {name!r} when registered directly"
    (impl,) = plugins.implementations("retroflow_timeline_source")
    assert set(reads) <= set(impl.argnames), f"the source asks for {impl.argnames}, not all of {sorted(reads)}"
    declined = run_source(plugin)
    assert declined is None, f"without [plugins.{name}] the source returned {declined!r}, not None (not configured)"
    return plugins


def check_import_stays_light(modules: Iterable[str], heavy: str) -> None:
    """Importing ``modules`` in a fresh interpreter does not import ``heavy`` (an HTTP
    client, an SDK): every command loads every plugin, so a plugin imports what costs time
    only when it is used."""
    import subprocess
    import sys

    code = f"import sys, {', '.join(modules)}; print({heavy!r} in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", f"importing {', '.join(modules)} imports {heavy}"


def json_refs(node: Any, prefix: str) -> set[str]:
    """The ``$ref`` targets below ``node`` (an OpenAPI or Swagger document, or part of one)
    that start with ``prefix``, with the prefix removed: what a script extracting a vendor
    spec's operations follows to take the schemas they use."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            found.add(ref.removeprefix(prefix))
        for value in node.values():
            found |= json_refs(value, prefix)
    elif isinstance(node, list):
        for value in node:
            found |= json_refs(value, prefix)
    return found
