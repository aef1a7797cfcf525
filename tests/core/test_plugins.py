"""Plugin loading: defaults, entry points, only/none/block controls, load-time validation, tracing."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from retroflow import PluginError, hookimpl
from retroflow import plugins as plugins_module
from retroflow.logs import configure_logging
from retroflow.plugins import DEFAULT_PLUGINS, Plugins, describe_plugins, get_plugin_manager

PLUGIN_SOURCE = """
from retroflow import hookimpl

@hookimpl
def retroflow_register_renderers(register):
    class Shout:
        name = "{name}"
        extension = "txt"
        def render(self, retro):
            return retro.incident.id.upper()
    register(Shout())
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two installed plugins, alpha and beta, visible through the entry-point group."""
    names = ["alpha", "beta"]
    for name in names:
        (tmp_path / f"rf_{name}.py").write_text(PLUGIN_SOURCE.format(name=name), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [
        (f"retroflow-{n} 1.2.{i}", importlib.metadata.EntryPoint(n, f"rf_{n}", "retroflow"))
        for i, n in enumerate(names)
    ]
    monkeypatch.setattr(plugins_module, "_entry_points", lambda: iter(points))
    monkeypatch.delenv("RETROFLOW_LOAD_PLUGINS", raising=False)
    yield names
    for name in names:
        sys.modules.pop(f"rf_{name}", None)


def _names(pm: Any) -> set[str]:
    return {name for name, plugin in pm.list_name_plugin() if plugin is not None}


def test_default_plugins_are_registered_like_any_other() -> None:
    pm = get_plugin_manager(load_entrypoints=False)
    assert set(DEFAULT_PLUGINS) <= _names(pm)
    for name, module in DEFAULT_PLUGINS.items():
        assert pm.get_plugin(name).__name__ == module


def test_default_plugins_keep_their_names() -> None:
    """Gaps in stored documents, ``block_plugins`` and ``retroflow plugins`` name them:
    moving a module must not rename its plugin."""
    assert set(DEFAULT_PLUGINS) == {
        "file", "change-before-incident", "impact-math", "markdown", "json-renderer", "html",
        "technical-conditions", "human-conditions", "misleading-signal", "process-conditions",
        "action-review", "rice", "wsjf", "store-commands", "metrics", "outcomes", "service-commands",
    }  # fmt: skip


def test_entry_point_plugins_load_with_their_versions(installed: list[str]) -> None:
    pm = get_plugin_manager()
    assert {"alpha", "beta"} <= _names(pm)
    info = {i.name: i for i in describe_plugins(pm)}
    assert info["beta"].version == "1.2.1"
    assert info["alpha"].hooks == ("retroflow_register_renderers",)
    assert "alpha" in Plugins(pm).renderers


def test_a_plugin_s_distribution_is_known_to_its_own_manager_only(installed: list[str]) -> None:
    """The distribution is kept on the manager, by plugin name: the same module registered
    by hand in another manager is not reported as installed (a global keyed by ``id()`` did,
    and ids are reused once an object is gone)."""
    pm = get_plugin_manager()
    assert pm.distributions["beta"] == "retroflow-beta 1.2.1"
    again = get_plugin_manager(load_entrypoints=False, extra_plugins=[("by-hand", pm.get_plugin("beta"))])
    info = {i.name: i for i in describe_plugins(again)}
    assert info["by-hand"].version == "unknown"


class _Wrapper:
    @hookimpl(wrapper=True)
    def retroflow_find_factors(self):  # type: ignore[no-untyped-def]
        return (yield)


class _OldStyleWrapper:
    @hookimpl(hookwrapper=True)
    def retroflow_register_renderers(self, register):  # type: ignore[no-untyped-def]
        yield


class _WrapsOneOfTwo:
    @hookimpl
    def retroflow_register_scoring_models(self, register):  # type: ignore[no-untyped-def]
        pass

    @hookimpl(wrapper=True)
    def retroflow_review_actions(self):  # type: ignore[no-untyped-def]
        return (yield)


@pytest.mark.parametrize(
    ("plugin", "hooks"),
    [
        (_Wrapper(), "retroflow_find_factors"),
        (_OldStyleWrapper(), "retroflow_register_renderers"),
        (_WrapsOneOfTwo(), "retroflow_review_actions"),
    ],
)
def test_a_hook_wrapper_is_refused_at_load_naming_the_plugin_and_the_hook(plugin: object, hooks: str) -> None:
    """The engine calls implementations one at a time, so a wrapper would silently never
    run: it is refused when the plugin loads."""
    with pytest.raises(PluginError, match=rf"plugin 'wrapping' wraps {hooks} \(hookwrapper=True or wrapper=True\)"):
        get_plugin_manager(load_entrypoints=False, extra_plugins=[("wrapping", plugin)])


def test_a_hook_wrapper_of_an_installed_plugin_is_refused(
    installed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rf_wrap.py").write_text(
        "from retroflow import hookimpl\n\n@hookimpl(wrapper=True)\ndef retroflow_find_factors():\n    return (yield)\n",
        encoding="utf-8",
    )
    point = ("retroflow-wrap 0.1", importlib.metadata.EntryPoint("wrap", "rf_wrap", "retroflow"))
    monkeypatch.setattr(plugins_module, "_entry_points", lambda: iter([point]))
    try:
        with pytest.raises(PluginError, match="plugin 'wrap' wraps retroflow_find_factors"):
            get_plugin_manager()
    finally:
        sys.modules.pop("rf_wrap", None)


def test_environment_variable_loads_only_some_or_none(installed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", "beta")
    assert "alpha" not in _names(get_plugin_manager()) and "beta" in _names(get_plugin_manager())
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", "")
    names = _names(get_plugin_manager())
    assert not {"alpha", "beta"} & names
    assert "markdown" in names, "default plugins still load"


def test_config_only_list_and_block_list(installed: list[str]) -> None:
    assert "alpha" not in _names(get_plugin_manager(only=["beta"]))
    blocked = _names(get_plugin_manager(block=["alpha", "markdown"]))
    assert "alpha" not in blocked and "markdown" not in blocked and "beta" in blocked


def test_a_misspelled_hook_fails_at_load_naming_the_plugin() -> None:
    class Typo:
        __name__ = "typo-plugin"

        @hookimpl
        def retroflow_timeline_sauce(self) -> None: ...

    with pytest.raises(PluginError, match="typo-plugin"):
        get_plugin_manager(load_entrypoints=False, extra_plugins=[Typo()])


def test_an_argument_the_hook_does_not_offer_fails_at_load() -> None:
    class Greedy:
        __name__ = "greedy"

        @hookimpl
        def retroflow_find_factors(self, timeline: Any, weather: Any) -> None: ...

    with pytest.raises(PluginError, match="greedy"):
        get_plugin_manager(load_entrypoints=False, extra_plugins=[Greedy()])


def test_an_entry_point_that_fails_to_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    points = [("retroflow-broken 0.1", importlib.metadata.EntryPoint("broken", "rf_missing_module", "retroflow"))]
    monkeypatch.setattr(plugins_module, "_entry_points", lambda: iter(points))
    monkeypatch.delenv("RETROFLOW_LOAD_PLUGINS", raising=False)
    with pytest.raises(PluginError, match=r"plugin 'broken' \(from retroflow-broken 0.1\) failed to import"):
        get_plugin_manager()


def test_two_plugins_registering_the_same_name_is_an_error() -> None:
    class Copycat:
        __name__ = "copycat"

        @hookimpl
        def retroflow_register_renderers(self, register: Any) -> None:
            class Fake:
                name = "markdown"
                extension = "md"

                def render(self, retro: Any) -> str:
                    return ""

            register(Fake())

    with pytest.raises(
        PluginError, match=r"renderer 'markdown' is registered by both '(markdown|copycat)' and '(markdown|copycat)'"
    ):
        Plugins(get_plugin_manager(load_entrypoints=False, extra_plugins=[Copycat()]))


def test_settings_must_be_attrs_classes() -> None:
    class Plain:
        __name__ = "plain"

        @hookimpl
        def retroflow_register_settings(self, register: Any) -> None:
            register("plain", dict)

    with pytest.raises(PluginError, match="not an attrs class"):
        Plugins(get_plugin_manager(load_entrypoints=False, extra_plugins=[Plain()]))


def test_tracing_writes_hook_calls_into_the_log() -> None:
    configure_logging(level="debug")
    with capture_logs() as logs:
        Plugins(get_plugin_manager(load_entrypoints=False, trace=True))
    traces = [entry["message"] for entry in logs if entry["event"] == "hook trace"]
    assert any("retroflow_register_renderers" in message for message in traces)


def test_unknown_names_list_what_exists() -> None:
    registry = Plugins(get_plugin_manager(load_entrypoints=False)).renderers
    with pytest.raises(PluginError, match=r"no renderer named 'pdf' \(available: html, json, markdown\)"):
        registry.get("pdf")


def test_loading_the_installed_plugins_imports_no_vendor_client(first_party_plugins: list[str]) -> None:
    """Every command loads every plugin; the vendor clients (pagerduty and httpx2, requests,
    jira) are imported only when a live fetch or an export uses one."""
    code = (
        "import sys\n"
        "from retroflow.plugins import Plugins, get_plugin_manager\n"
        "plugins = Plugins(get_plugin_manager())\n"
        "print(sorted(plugins.tracker_sinks.names()))\n"
        "print(sorted({'pagerduty', 'httpx2', 'requests', 'jira'} & set(sys.modules)))\n"
    )
    env = dict(os.environ)  # RETROFLOW_LOAD_PLUGINS: the first-party plugins only
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    sinks, imported = out.splitlines()
    assert {"github", "jira", "linear"} <= set(ast.literal_eval(sinks)), "the first-party plugins are installed"
    assert imported == "[]"
