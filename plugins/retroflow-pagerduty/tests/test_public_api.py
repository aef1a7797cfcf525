"""The plugin imports only retroflow's public API (``from retroflow import …``)."""

from __future__ import annotations

import ast
from pathlib import Path

import retroflow

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_pagerduty"


def test_the_plugin_imports_only_names_retroflow_exports():
    for path in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "retroflow":
                assert node.module == "retroflow", f"{path.name} imports private module {node.module}"
                for alias in node.names:
                    assert alias.name in retroflow.__all__, f"{path.name} imports {alias.name}, not exported"
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] != "retroflow" for a in node.names), f"{path.name}: import retroflow.*"


def test_the_entry_point_registers_the_plugin_under_its_table_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "pagerduty"]
    plugin = entry.load()
    assert plugin.__name__ == "pagerduty"
    assert hasattr(plugin, "retroflow_timeline_source")
