"""The plugin imports only retroflow's public API (``retroflow.testing.PUBLIC_MODULES``)."""

from __future__ import annotations

from pathlib import Path

from retroflow.testing import check_public_imports

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_otel"


def test_the_plugin_imports_only_retroflow_s_public_api():
    check_public_imports(SOURCE, test_kit=False)


def test_the_entry_point_registers_the_plugin_under_its_table_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "otel"]
    plugin = entry.load()
    assert plugin.__name__ == "otel"
    assert hasattr(plugin, "retroflow_timeline_source")
