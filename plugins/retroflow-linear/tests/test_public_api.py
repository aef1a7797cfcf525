"""The plugin imports only retroflow's public API, and its entry point registers the sink."""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import retroflow
from retroflow.testing import make_plugins

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_linear"


def test_the_plugin_imports_only_names_retroflow_exports() -> None:
    for path in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "retroflow":
                assert node.module == "retroflow", f"{path.name} imports private module {node.module}"
                for alias in node.names:
                    assert alias.name in retroflow.__all__, f"{path.name} imports {alias.name}, not exported"
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] != "retroflow" for a in node.names), f"{path.name}: import retroflow.*"


def test_the_entry_point_registers_the_linear_sink_and_table() -> None:
    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "linear"]
    plugins = make_plugins(entry.load(), default_plugins=False)
    assert plugins.tracker_sinks.get("linear").name == "linear"
    assert "linear" in plugins.settings.names()
