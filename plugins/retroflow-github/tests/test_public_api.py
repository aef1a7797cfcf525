"""The plugin imports only retroflow's public API, and its entry point registers the sink."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from retroflow.testing import check_public_imports, make_plugins

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_github"


def test_the_plugin_imports_only_retroflow_s_public_api() -> None:
    check_public_imports(SOURCE, test_kit=False)


def test_the_entry_point_registers_the_github_sink_and_table() -> None:
    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "github"]
    plugins = make_plugins(entry.load(), default_plugins=False)
    assert plugins.tracker_sinks.get("github").name == "github"
    assert "github" in plugins.settings.names()


def test_the_second_entry_point_registers_the_deploy_history_source_and_its_table() -> None:
    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "github-deploys"]
    plugin = entry.load()
    assert plugin.__name__ == "github-deploys"
    plugins = make_plugins(plugin, default_plugins=False)
    assert "github-deploys" in plugins.settings.names()
    (impl,) = plugins.implementations("retroflow_timeline_source")
    assert {"incident", "timeline"} <= set(impl.argnames), "it reads around the incident: a second-round source"


def test_loading_the_plugins_does_not_import_requests() -> None:
    import subprocess
    import sys

    code = "import sys, retroflow_github, retroflow_github.deploys; print('requests' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
