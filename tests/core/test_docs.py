"""The docs stay true: the hook reference matches hookspecs.py, every hook is exercised,
and the pages the README points to exist."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import click
import pytest
from click.testing import CliRunner

from retroflow import (
    ActionItem,
    Config,
    Exposure,
    Factor,
    IncidentEvent,
    Layer,
    MetricKind,
    Score,
    SourceResult,
    WebhookDelivery,
    hookimpl,
)
from retroflow import cli as cli_module
from retroflow._hookdocs import hook_functions, render
from retroflow.config import load_config
from retroflow.plugins import DEFAULT_PLUGINS, Plugins, get_plugin_manager
from retroflow.store.fake import FakeTrackerSink
from retroflow.testing import make_event, make_incident, running_service

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [name for name, _ in hook_functions()]


def test_hook_reference_is_generated_from_hookspecs() -> None:
    documented = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert documented == render(), "docs/hooks.md is stale: python -m retroflow._hookdocs > docs/hooks.md"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_full_docstring(name: str) -> None:
    fn = dict(hook_functions())[name]
    doc = fn.__doc__ or ""
    assert "Called" in doc, f"{name}: say when it is called"
    assert ":return:" in doc, f"{name}: say what a return means"
    for parameter in fn.__code__.co_varnames[: fn.__code__.co_argcount]:
        assert f":param {parameter}:" in doc, f"{name}: document {parameter}"


@attrs.frozen
class EverySettings:
    greeting: str = "hello"


class EveryHook:
    """Implements every hook and records which were *used*: for a ``register_*`` hook, not
    that retroflow called it but that what it registered was put to work (the settings
    read, the model scored, the renderer rendered, the sink got a ticket ...)."""

    __name__ = "every-hook"

    def __init__(self) -> None:
        self.called: set[str] = set()
        self.event = make_event("signal", 0, source="every", native_id="1")
        self.sink = FakeTrackerSink("every")

    @hookimpl
    def retroflow_register_settings(self, register: Any) -> None:
        register("every", EverySettings)

    @hookimpl
    def retroflow_register_commands(self, cli: click.Group) -> None:
        @cli.command("hello")
        def hello() -> None:
            self.called.add("retroflow_register_commands")
            click.echo("hello from a plugin")

    @hookimpl
    def retroflow_timeline_source(self, config: Config) -> SourceResult:
        self.called.add("retroflow_timeline_source")
        if isinstance(config.settings_for("every", EverySettings), EverySettings):
            self.called.add("retroflow_register_settings")
        return SourceResult(incident=make_incident(id="EVERY-1"), events=[self.event])

    @hookimpl
    def retroflow_find_factors(self) -> list[Factor]:
        self.called.add("retroflow_find_factors")
        return [Factor(key="every", layer=Layer.PROCESS, title="t", explanation="e", evidence=[self.event.id])]

    @hookimpl
    def retroflow_propose_actions(self) -> list[ActionItem]:
        self.called.add("retroflow_propose_actions")
        return [ActionItem.create(incident_id="EVERY-1", title="Page on p95 > 500 ms on checkout")]

    @hookimpl
    def retroflow_review_actions(self, outcome_metrics: tuple[str, ...]) -> list[Any]:
        self.called.add("retroflow_review_actions")
        if "every-metric" in outcome_metrics:
            self.called.add("retroflow_register_outcome_metrics")
        return []

    @hookimpl
    def retroflow_register_scoring_models(self, register: Any) -> None:
        register(EveryModel(self.called))

    @hookimpl
    def retroflow_register_tracker_sinks(self, register: Any) -> None:
        register(self.sink)

    @hookimpl
    def retroflow_register_outcome_metrics(self, register: Any) -> None:
        register(EveryMetric())

    @hookimpl
    def retroflow_register_renderers(self, register: Any) -> None:
        register(EveryRenderer(self.called))

    @hookimpl
    def retroflow_register_webhooks(self, register: Any) -> None:
        register(EveryReceiver(self.called))

    @hookimpl
    def retroflow_register_incident_feeds(self, register: Any) -> None:
        register(EveryFeed(self.called))

    @hookimpl
    def retroflow_retro_drafted(self, draft: Any) -> None:
        self.called.add("retroflow_retro_drafted")

    @hookimpl
    def retroflow_register_routes(self, register: Any) -> None:
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        def every(request: Any) -> PlainTextResponse:
            self.called.add("retroflow_register_routes")
            return PlainTextResponse("every")

        register(Route("/every", every))


@attrs.frozen
class EveryModel:
    called: set[str]
    name: str = "every"

    def score(self, action: ActionItem, context: Any) -> Score:
        self.called.add("retroflow_register_scoring_models")
        return Score(self.name, 1.0)


@attrs.frozen
class EveryRenderer:
    called: set[str]
    name: str = "every"
    extension: str = "every.txt"

    def render(self, retro: Any) -> str:
        self.called.add("retroflow_register_renderers")
        return retro.incident.id


@attrs.frozen
class EveryMetric:
    name: str = "every-metric"
    title: str = "every metric"
    kind: MetricKind = MetricKind.COUNT
    per: Exposure = Exposure.INCIDENTS
    higher_is_better: bool = False

    def observe(self, incident: Any) -> float | None:
        return 1.0


@attrs.frozen
class EveryFeed:
    called: set[str]
    name: str = "every"

    def configured(self, config: Any) -> bool:
        return True

    def resolved_between(self, since: datetime, until: datetime, config: Any) -> list[IncidentEvent]:
        self.called.add("retroflow_register_incident_feeds")
        return []


@attrs.frozen
class EveryReceiver:
    """Takes any body as the resolve of EVERY-1 (no signature: a test)."""

    called: set[str]
    name: str = "every"

    def configured(self, config: Any) -> bool:
        return True

    def verify(self, body: bytes, headers: Any, config: Any) -> None:
        pass

    def parse(self, body: bytes, headers: Any, config: Any) -> WebhookDelivery:
        self.called.add("retroflow_register_webhooks")
        event = IncidentEvent("every", "EVERY-1", "resolved", datetime.now(UTC), body.decode())
        return WebhookDelivery(body.decode(), "resolved", event)


def test_every_hook_is_used_by_retroflow(tmp_path: Path) -> None:
    """Each hook is called, and what each ``register_*`` hook registered is used: a hook
    retroflow only collected from would not count."""
    plugin = EveryHook()

    def with_plugin(**kwargs: Any) -> Any:
        return get_plugin_manager(**kwargs, extra_plugins=[plugin])

    database = f"sqlite:///{tmp_path / 'every.db'}"
    config_file = tmp_path / "retroflow.toml"
    config_file.write_text(
        f'[retroflow]\nscoring = "every"\ndatabase = "{database}"\n[service]\ndraft_delay = 0\nexport = ["every"]\n'
    )
    runner = CliRunner()
    obj = {"plugin_manager_factory": with_plugin}
    assert runner.invoke(cli_module.cli, ["hello"], obj=obj).stdout == "hello from a plugin\n"
    retro = ["-q", "--config", str(config_file), "retro", "EVERY-1", "-f", "every", "--out", str(tmp_path)]
    result = runner.invoke(cli_module.cli, retro, obj=obj)
    assert result.exit_code == 0, result.output
    watch = runner.invoke(cli_module.cli, ["-q", "--config", str(config_file), "watch", "--once"], obj=obj)
    assert watch.exit_code == 0, watch.output
    # The automation's hooks: a delivery to retroflow serve, drafted by its worker and
    # exported to the sink.
    plugins = Plugins(with_plugin(load_entrypoints=False))
    config = load_config(config_file)
    config.validate_plugins({name: plugins.settings.get(name) for name in plugins.settings.names()})
    with running_service(config, plugins, workers=1) as server:
        assert server.get("/every") == (200, "every")
        assert server.post("/webhooks/every", b"ev-1")[0] == 202
        deadline = time.monotonic() + 60
        while "retroflow_retro_drafted" not in plugin.called and time.monotonic() < deadline:
            time.sleep(0.05)
    if plugin.sink.tracker.tickets:
        plugin.called.add("retroflow_register_tracker_sinks")
    assert set(HOOKS) - plugin.called == set()


@pytest.mark.parametrize(
    "page",
    ["install.md", "configuration.md", "hooks.md", "writing-plugins.md", "testing-plugins.md", "event-format.md",
     "json-schema.md", "model.md", "outcomes.md", "automation.md", "architecture.md"],
)  # fmt: skip
def test_documentation_pages_exist_and_are_linked_from_the_index(page: str) -> None:
    assert (ROOT / "docs" / page).is_file()
    assert f"]({page})" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")


def test_the_layout_page_names_only_modules_that_exist() -> None:
    """docs/architecture.md draws src/retroflow/: every module and folder it names is there,
    and every default plugin's module is on it."""
    tree = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split("```")[1]
    package = ROOT / "src" / "retroflow"
    there = {str(p.relative_to(package)) + ("/" if p.is_dir() else "") for p in package.rglob("*")}
    named = set(re.findall(r"(?<![\w./])((?:\w+/)*\w+(?:\.py|/))(?![\w.-])", tree.split("\n", 2)[2]))
    missing = sorted(n for n in named if not any(p == n or p.endswith("/" + n) for p in there))
    assert not missing, f"docs/architecture.md names what is not there: {missing}"
    for module in DEFAULT_PLUGINS.values():
        path = module.removeprefix("retroflow.").replace(".", "/") + ".py"
        assert path.rsplit("/", 1)[-1] in tree, f"{path} is not on docs/architecture.md"


@pytest.mark.parametrize("table", ["retroflow", "service"])
def test_every_engine_setting_is_documented(table: str) -> None:
    from retroflow.config import EngineSettings, ServiceSettings

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split(f"## The `[{table}]` table")[1].split("\n## ")[0]
    settings = {"retroflow": EngineSettings, "service": ServiceSettings}[table]
    for field in settings.__attrs_attrs__:
        assert re.search(rf"^\| `{field.name}` \|", section, re.M), f"[{table}] {field.name} is not documented"


@pytest.mark.parametrize("page", sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]), ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_every_settings_table_and_key_is_documented(first_party_plugins: list[str]) -> None:
    """Default and first-party plugins: each table and each key appears in the docs or the
    plugin's README, as `key`, `key = ...` or a TOML line `key = ...`."""

    from retroflow.plugins import Plugins

    pages = [*(ROOT / "docs").glob("*.md"), *(ROOT / "plugins").glob("*/README.md")]
    docs = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    plugins = Plugins(get_plugin_manager())
    assert {"file", "pagerduty", "jira", "linear", "github"} <= set(plugins.settings.names())
    for table in plugins.settings.names():
        assert f"[plugins.{table}]" in docs, f"[plugins.{table}] is not documented"
        for where, field in _keys(plugins.settings.get(table)):
            key = re.escape(field.alias)
            documented = re.search(rf"`{key}( = [^`]*)?`|^[#\s]*{key} = |[,#]\s*{key} = ", docs, re.M)
            assert documented, f"[plugins.{table}] {where}{field.alias} is not documented"


def _keys(cls: type[Any], where: str = "") -> list[tuple[str, Any]]:
    """The fields of a settings class, and of the tables it nests (lists of tables too)."""
    import typing

    import attrs

    found = []
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        found.append((where, field))
        nested = [t for t in (hints[field.name], *typing.get_args(hints[field.name])) if attrs.has(t)]
        for inner in nested:
            if inner.__name__ != "Secret":
                found += _keys(inner, f"{where}{field.alias}: ")
    return found


def test_the_settings_check_ignores_other_installed_plugins(
    first_party_plugins: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An installed plugin that is not first-party (the plugin template installed as its
    README says) does not make the core's own suite fail."""
    import importlib.metadata

    from retroflow import plugins as plugins_module

    (tmp_path / "rf_undocumented.py").write_text(
        "import attrs\nfrom retroflow import hookimpl\n\n@attrs.frozen\nclass S:\n    zzz_nowhere: str = ''\n\n"
        "@hookimpl\ndef retroflow_register_settings(register):\n    register('undocumented', S)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    real = list(plugins_module._entry_points())
    extra = (
        "retroflow-undocumented 0.1",
        importlib.metadata.EntryPoint("undocumented", "rf_undocumented", "retroflow"),
    )
    monkeypatch.setattr(plugins_module, "_entry_points", lambda: iter([*real, extra]))
    test_every_settings_table_and_key_is_documented(first_party_plugins)
