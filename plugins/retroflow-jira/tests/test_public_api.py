"""The plugin imports only retroflow's public API, and its entry point registers the sink."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from retroflow.testing import check_public_imports, make_plugins

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_jira"


def test_the_plugin_imports_only_retroflow_s_public_api() -> None:
    check_public_imports(SOURCE, test_kit=False)


def test_the_entry_point_registers_the_jira_sink_and_table() -> None:
    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "jira"]
    plugins = make_plugins(entry.load(), default_plugins=False)
    assert plugins.tracker_sinks.get("jira").name == "jira"
    assert "jira" in plugins.settings.names()
