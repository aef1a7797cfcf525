"""The plugin imports only retroflow's public API (``retroflow.testing.PUBLIC_MODULES``)."""

from __future__ import annotations

from pathlib import Path

from retroflow.testing import check_public_imports

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_pagerduty"


def test_the_plugin_imports_only_retroflow_s_public_api():
    # The ``retroflow pagerduty`` commands take ``App`` and ``handle_errors`` from the public
    # ``retroflow.app``, as the core's own commands do; nothing imports ``retroflow.cli``.
    check_public_imports(SOURCE, test_kit=False)


def test_the_entry_point_registers_the_plugin_under_its_table_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "pagerduty"]
    plugin = entry.load()
    assert plugin.__name__ == "pagerduty"
    assert hasattr(plugin, "retroflow_timeline_source")
